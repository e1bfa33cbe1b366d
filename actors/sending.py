"""The sending interface the services use: queue a lookup, queue many, count a backlog.

Services never import actor modules (those import the services) nor pika: they
call these three functions with a queue name from ``actors.queues``.
"""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq

from actors import broker
from actors.queues import QUEUES, actor_name_for


def send_lookup(*, user_id: int, queue: str, delay_ms: int | None = None) -> None:
    """Publish one lookup message (with publisher confirms); raises on broker failure."""
    message = broker.lookup_message(queue=queue, actor_name=actor_name_for(queue), user_id=user_id)
    dramatiq.get_broker().enqueue(message, delay=delay_ms)


def send_lookups(*, user_ids: Iterable[int], queue: str, batch_size: int = 500) -> int:
    """Publish many lookup messages in AMQP transactions; returns how many RabbitMQ committed.

    Raises on broker failure, so the caller knows the current batch was not sent.
    """
    with broker.BulkPublisher(queue=queue, actor_name=actor_name_for(queue), batch_size=batch_size) as pub:
        for user_id in user_ids:
            pub.publish(user_id)
        pub.flush()
        return pub.sent


def send_import(*, import_id: int, queue: str, actor_name: str) -> None:
    """Publish the message that runs one contact import (actors/contact_imports.py)."""
    message = dramatiq.Message(
        queue_name=queue, actor_name=actor_name, args=(import_id,), kwargs={}, options={}
    )
    dramatiq.get_broker().enqueue(message)


def ready_counts(queues: Iterable[str] = QUEUES) -> dict[str, int]:
    """Messages ready in each queue (0 for a queue never declared)."""
    return broker.queue_ready_counts(queues=queues)
