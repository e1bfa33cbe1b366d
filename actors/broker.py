"""Everything that opens its own AMQP connection: one connection helper, bulk
publishing, queue counts. (Single messages go through Dramatiq's broker.)

Bulk publishing: Dramatiq's ``send()`` waits for one publisher confirm per
message. The nightly refresh sends up to hundreds of thousands, so here messages
are published in AMQP transactions of ``batch_size``: ``tx_commit`` returns only
once RabbitMQ has taken the whole batch, the same guarantee per batch that
confirms give per message. Messages are ``mandatory``: one that no queue took
(the queue was deleted under us) comes back and the batch is reported as failed,
never counted as sent.
"""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq
import pika
from django.conf import settings
from dramatiq.brokers.rabbitmq import dq_name, xq_name


def amqp_connection() -> pika.BlockingConnection:
    """A new blocking connection to ``RABBITMQ_URL`` (its timeouts are bounded in settings)."""
    return pika.BlockingConnection(pika.URLParameters(settings.RABBITMQ_URL))


def declare_lookup_queue(queue: str) -> None:
    """Declare ``queue`` with its delay and dead-letter queues exactly as Dramatiq does.

    Every time, not once per process: the broker caches "declared", and a
    long-lived process must survive the queue being deleted between runs.
    """
    broker = dramatiq.get_broker()
    broker.queues_pending.add(queue)
    broker.declare_queue(queue, ensure=True)


def lookup_message(*, queue: str, actor_name: str, user_id: int) -> dramatiq.Message:
    """The Dramatiq message an actor's ``send(user_id)`` would build."""
    return dramatiq.Message(queue_name=queue, actor_name=actor_name, args=(user_id,), kwargs={}, options={})


class UnroutableMessages(Exception):
    """RabbitMQ returned messages no queue could take."""


class BulkPublisher:
    """Publish lookup messages for one queue in committed batches.

    Parameters:
      queue: the queue name (its actor is ``actor_name``).
      actor_name: the actor the messages are for.
      batch_size: messages per AMQP transaction.

    ``sent`` counts messages whose batch RabbitMQ committed.
    """

    def __init__(self, *, queue: str, actor_name: str, batch_size: int = 500) -> None:
        self.queue = queue
        self.actor_name = actor_name
        self.batch_size = batch_size
        self.sent = 0
        self._pending = 0
        self._returned = 0
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self._properties = pika.BasicProperties(delivery_mode=2)

    def __enter__(self) -> BulkPublisher:
        declare_lookup_queue(self.queue)
        self._connection = amqp_connection()
        self._channel = self._connection.channel()
        self._channel.add_on_return_callback(self._on_return)
        self._channel.tx_select()
        return self

    def _on_return(self, channel, method, properties, body) -> None:
        self._returned += 1

    def publish(self, user_id: int) -> None:
        message = lookup_message(queue=self.queue, actor_name=self.actor_name, user_id=user_id)
        self._channel.basic_publish(
            exchange="",
            routing_key=self.queue,
            body=message.encode(),
            properties=self._properties,
            mandatory=True,
        )
        self._pending += 1
        if self._pending >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._channel.tx_commit()
            # basic.return frames arrive before tx.commit-ok; dispatch them now.
            self._connection.process_data_events(0)
            if self._returned:
                returned, self._returned = self._returned, 0
                self._pending = 0
                raise UnroutableMessages(
                    f"{returned} message(s) for {self.queue!r} were not routed to any queue"
                )
            self.sent += self._pending
            self._pending = 0

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()


def _message_counts(connection: pika.BlockingConnection, queues: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for queue in queues:
        channel = connection.channel()
        try:
            counts[queue] = channel.queue_declare(queue=queue, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:  # 404: nothing was ever sent there
            counts[queue] = 0
        else:
            channel.close()
    return counts


def queue_ready_counts(*, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting (ready) in each RabbitMQ queue; a queue not declared yet counts 0."""
    connection = amqp_connection()
    try:
        return _message_counts(connection, queues)
    finally:
        connection.close()


def queue_counts(*, queues: Iterable[str]) -> dict[str, dict[str, int]]:
    """Ready, delayed (``.DQ``) and dead (``.XQ``) messages per queue."""
    queues = list(queues)
    names = [name for queue in queues for name in (queue, dq_name(queue), xq_name(queue))]
    connection = amqp_connection()
    try:
        raw = _message_counts(connection, names)
    finally:
        connection.close()
    return {
        queue: {"ready": raw[queue], "delayed": raw[dq_name(queue)], "dead": raw[xq_name(queue)]}
        for queue in queues
    }
