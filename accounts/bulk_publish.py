"""Fast, safe publishing of many Dramatiq messages to RabbitMQ.

Dramatiq's ``send()`` waits for one publisher confirm per message. The nightly
refresh sends up to hundreds of thousands, so here messages are published in
AMQP transactions of ``batch_size``: ``tx_commit`` returns only once RabbitMQ
has taken the whole batch, the same guarantee per batch that confirms give per
message. Messages are ``mandatory``: one that no queue took (the queue was
deleted under us) comes back and the batch is reported as failed, never counted
as sent.
"""

from __future__ import annotations

import pika
from django.conf import settings


class UnroutableMessages(Exception):
    """RabbitMQ returned messages no queue could take."""


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
        # Declare the queue, its delay queue and its dead-letter queue exactly as
        # Dramatiq does, every time: the broker caches "declared" per process, and a
        # long-lived scheduler must survive the queue being deleted between runs.
        broker = self.actor.broker
        broker.queues_pending.add(self.actor.queue_name)
        broker.declare_queue(self.actor.queue_name, ensure=True)
        self._connection = pika.BlockingConnection(pika.URLParameters(settings.RABBITMQ_URL))
        self._channel = self._connection.channel()
        self._returned = 0
        self._channel.add_on_return_callback(self._on_return)
        self._channel.tx_select()
        return self

    def _on_return(self, channel, method, properties, body) -> None:
        self._returned += 1

    def publish(self, *args) -> None:
        message = self.actor.message(*args)
        self._channel.basic_publish(
            exchange="",
            routing_key=self.actor.queue_name,
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
                    f"{returned} message(s) for {self.actor.queue_name!r} were not routed to any queue"
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
