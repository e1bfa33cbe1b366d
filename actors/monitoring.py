"""Read-only views of the lookup queues for operators, /healthz and Prometheus.

Everything here opens its own short AMQP connection with bounded timeouts and
declares queues *passively*: looking never creates a queue (a typo in a prefix
must show up as "missing", not as a fresh empty queue), and never changes one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pika
import pika.exceptions
from django.conf import settings
from dramatiq.brokers.rabbitmq import dq_name, xq_name
from dramatiq.message import Message

from actors.queues import QUEUE_LOOKUPS, QUEUES

# A health probe or a metrics scrape must answer within its own timeout (a few
# seconds): these bound every wait on the broker.
PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class QueueDepth:
    """Message counts of one lookup queue and its delay/dead-letter companions.

    ``consumers`` is the number of consumers on the main queue (workers
    listening), ``None`` when the queue does not exist.
    """

    queue: str
    ready: int | None
    delayed: int | None
    dead: int | None
    consumers: int | None

    @property
    def short_name(self) -> str:
        return self.queue.removeprefix(settings.LOOKUP_QUEUE_PREFIX)

    @property
    def exists(self) -> bool:
        return self.ready is not None


def _parameters(timeout: float) -> pika.URLParameters:
    params = pika.URLParameters(settings.RABBITMQ_URL)
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    params.connection_attempts = 1
    params.retry_delay = 0
    return params


@contextmanager
def amqp_connection(timeout: float = PROBE_TIMEOUT_SECONDS) -> Iterator[pika.BlockingConnection]:
    """A fresh, short-lived AMQP connection (raises pika's exceptions when it fails)."""
    connection = pika.BlockingConnection(_parameters(timeout))
    try:
        yield connection
    finally:
        if connection.is_open:
            connection.close()


def _passive_count(connection: pika.BlockingConnection, name: str) -> tuple[int, int] | None:
    """(messages ready, consumers) of queue ``name``, or None when it does not exist.

    A passive declare of a missing queue closes the channel (404), so each
    queue gets its own channel.
    """
    channel = connection.channel()
    try:
        ok = channel.queue_declare(queue=name, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    try:
        return ok.method.message_count, ok.method.consumer_count
    finally:
        if channel.is_open:
            channel.close()


def queue_depths(connection: pika.BlockingConnection | None = None) -> list[QueueDepth]:
    """Ready, delayed (``.DQ``) and dead (``.XQ``) counts of every lookup queue."""
    if connection is None:
        with amqp_connection() as fresh:
            return queue_depths(fresh)
    depths = []
    for queue in QUEUES:
        main = _passive_count(connection, queue)
        delayed = _passive_count(connection, dq_name(queue))
        dead = _passive_count(connection, xq_name(queue))
        depths.append(
            QueueDepth(
                queue=queue,
                ready=main[0] if main else None,
                delayed=delayed[0] if delayed else None,
                dead=dead[0] if dead else None,
                consumers=main[1] if main else None,
            )
        )
    return depths


def oldest_ready_age_seconds(
    connection: pika.BlockingConnection | None = None, *, queue: str = QUEUE_LOOKUPS
) -> float | None:
    """How long the message at the head of ``queue`` has been waiting, in seconds.

    0.0 when the queue is empty, None when it does not exist. The head is read
    with ``basic_get`` and handed straight back (``nack`` with requeue), so no
    message is lost or consumed; RabbitMQ puts it back at the head. Its wait
    starts when it was sent, or when its retry became due (``eta``).
    """
    if connection is None:
        with amqp_connection() as fresh:
            return oldest_ready_age_seconds(fresh, queue=queue)
    channel = connection.channel()
    try:
        try:
            method, _properties, body = channel.basic_get(queue, auto_ack=False)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return None
            raise
        if method is None:
            return 0.0
        channel.basic_nack(method.delivery_tag, requeue=True)
    finally:
        if channel.is_open:
            channel.close()
    try:
        message = Message.decode(body)
    except Exception:  # noqa: BLE001 — an undecodable head still counts as waiting, age unknown
        return 0.0
    since_ms = max(message.message_timestamp or 0, int(message.options.get("eta") or 0))
    return max(0.0, time.time() - since_ms / 1000) if since_ms else 0.0
