"""Queue and actor names of the lookup pipeline: a leaf module both apps import.

Two queues so a signup never waits behind the nightly backlog: ``lookups``
(signups, refresh by hand) and ``refresh`` (nightly and bulk). The prefix lets
several deployments or test runs share one RabbitMQ vhost.
"""

from django.conf import settings

QUEUE_LOOKUPS = f"{settings.LOOKUP_QUEUE_PREFIX}lookups"
QUEUE_REFRESH = f"{settings.LOOKUP_QUEUE_PREFIX}refresh"
QUEUES = (QUEUE_LOOKUPS, QUEUE_REFRESH)

# The contact import actor (actors/contact_imports.py): on the refresh queue, not a lookup.
IMPORT_ACTOR_NAME = "import_contacts"

# The actor consuming each queue (actors/lookups.py declares them with these names).
ACTOR_NAMES = {QUEUE_LOOKUPS: "lookup_cedula", QUEUE_REFRESH: "refresh_cedula"}


def actor_name_for(queue: str) -> str:
    """The actor name of a lookup queue; ValueError for any other queue."""
    try:
        return ACTOR_NAMES[queue]
    except KeyError:
        raise ValueError(f"unknown lookup queue {queue!r}") from None
