"""Fast, safe publishing of many Dramatiq messages to RabbitMQ.

Dramatiq's ``send()`` waits for one publisher confirm per message. The nightly
refresh sends up to hundreds of thousands, so here messages are published in
AMQP transactions of ``batch_size``: ``tx_commit`` returns only once RabbitMQ
has taken the whole batch, the same guarantee per batch that confirms give per
message.
"""

from __future__ import annotations

import pika
from django.conf import settings


class BulkPublisher:
    """Publish messages for one actor in committed batches.

    Parameters:
      actor: the Dramatiq actor the messages are for (its queue and name are used).
      batch_size: messages per AMQP transaction.

    ``sent`` counts messages whose batch RabbitMQ committed.
    """

    def __init__(self, *, actor, batch_size: int = 500) -> None:
        self.actor = actor
        self.batch_size = batch_size
        self.sent = 0
        self._pending = 0
        self._connection: pika.BlockingConnection | None = None
        self._channel = None
        self._properties = pika.BasicProperties(delivery_mode=2)

    def __enter__(self) -> BulkPublisher:
        # Declares the queue, its delay queue and its dead-letter queue exactly as
        # Dramatiq does, so the first bulk send works on a fresh broker too.
        self.actor.broker.declare_queue(self.actor.queue_name, ensure=True)
        self._connection = pika.BlockingConnection(pika.URLParameters(settings.RABBITMQ_URL))
        self._channel = self._connection.channel()
        self._channel.tx_select()
        return self

    def publish(self, *args) -> None:
        message = self.actor.message(*args)
        self._channel.basic_publish(
            exchange="",
            routing_key=self.actor.queue_name,
            body=message.encode(),
            properties=self._properties,
        )
        self._pending += 1
        if self._pending >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._channel.tx_commit()
            self.sent += self._pending
            self._pending = 0

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
