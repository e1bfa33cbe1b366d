"""The contact import actor (issue 14): an id in, one service call.

On the ``refresh`` queue with the bulk priority (100): inside a worker every signup
lookup (``lookups``, priority 0) jumps ahead of it, and the lookups it sends go to
``refresh`` as well, so an import never delays a signup. The service is resumable:
a redelivered message (a killed worker) skips the rows already written.
"""

import logging

import dramatiq
from dramatiq.middleware import CurrentMessage

from accounts.services.imports import contact_import_fail, contact_import_run
from actors.queues import IMPORT_ACTOR_NAME, QUEUE_REFRESH

log = logging.getLogger(__name__)

MAX_RETRIES = 3


def _import_id_from(args: tuple, kwargs: dict) -> int | None:
    value = args[0] if len(args) == 1 and not kwargs else kwargs.get("import_id")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    return value


@dramatiq.actor(
    actor_name=IMPORT_ACTOR_NAME,
    queue_name=QUEUE_REFRESH,
    priority=100,
    max_retries=MAX_RETRIES,
    min_backoff=5_000,
    max_backoff=60_000,
    # 20,000 rows take well under a minute; the limit only ends a run that hangs.
    time_limit=30 * 60 * 1000,
)
def import_contacts(*args, **kwargs) -> None:
    import_id = _import_id_from(args, kwargs)
    if import_id is None:
        log.error("malformed import message dropped: args=%r:.80 kwargs=%r:.80", args, kwargs)
        return
    message = CurrentMessage.get_current_message()
    retries = message.options.get("retries", 0) if message else 0
    try:
        contact_import_run(import_id=import_id)
    except Exception as exc:
        if retries >= MAX_RETRIES:
            # The last attempt: end the import so the leader is not left waiting (and may
            # start another). The rows already created stay; uploading the file again
            # creates the rest (the others are rejected as already in the network).
            contact_import_fail(import_id=import_id, detail=f"{type(exc).__name__}"[:255])
        raise
