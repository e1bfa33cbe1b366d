"""Operator tools for the dead-letter queues (``lookups.XQ``, ``refresh.XQ``).

Messages are read with ``basic_get`` on a dedicated connection and either
acknowledged (removed) or rejected back to the queue, so listing never loses a
message and replaying moves each one exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dramatiq
import pika
from django.conf import settings
from dramatiq.brokers.rabbitmq import xq_name
from dramatiq.message import Message

from accounts.models import CedulaInfo, CedulaStatus, User
from accounts.services.cedulas import pending_fields
from actors.broker import amqp_connection
from actors.queues import IMPORT_ACTOR_NAME, QUEUES
from scrapers.masking import mask_cedula


@dataclass(frozen=True)
class DeadLetter:
    delivery_tag: int
    queue: str
    message: Message
    age_seconds: float
    masked_cedula: str
    failure: str

    @property
    def message_id(self) -> str:
        return self.message.message_id

    @property
    def user_id(self):
        if self.message.actor_name == IMPORT_ACTOR_NAME:
            return None  # an import's id, not a member's
        return self.message.args[0] if self.message.args else None


def _failure_of(message: Message, info: CedulaInfo | None, user_exists: bool) -> str:
    """Why the message died.

    The dead-lettered body is the one last published, so its stored traceback is
    the previous attempt's (or none, for messages that were never retried); the
    real cause of a lookup's last failure is on its row.
    """
    user_id = message.args[0] if message.args else None
    if not isinstance(user_id, int):
        return "malformed message (expected one user id)"
    if not user_exists:
        return "user does not exist"
    if info is not None and info.status in CedulaStatus.failures() and info.error_detail:
        return f"{info.status}: {info.error_detail}"[:200]
    trace = (message.options.get("traceback") or "").strip()
    return trace.splitlines()[-1][:200] if trace else "(no traceback)"


def _describe(message: Message) -> tuple[str, str]:
    """(masked cédula, failure) of a dead letter."""
    if message.actor_name == IMPORT_ACTOR_NAME:
        # A contact import's message (actors/contact_imports.py) shares the refresh queue.
        # Its last attempt already marked the import failed, so a replay does nothing.
        trace = (message.options.get("traceback") or "").strip()
        return f"(importación {message.args[0] if message.args else '?'!s:.12})", (
            trace.splitlines()[-1][:200] if trace else "(no traceback)"
        )
    user_id = message.args[0] if message.args else None
    if not isinstance(user_id, int):
        return f"(argumento inválido {user_id!r:.30})", _failure_of(message, None, False)
    user = User.objects.filter(pk=user_id).select_related("cedula_info").first()
    if user is None:
        return "(usuario eliminado)", _failure_of(message, None, False)
    info = getattr(user, "cedula_info", None)
    return mask_cedula(user.cedula), _failure_of(message, info, True)


def queue_names(queue: str | None) -> list[str]:
    """Broker queue names for an operator's ``lookups``/``refresh``/``all`` (prefix applied)."""
    if queue in (None, "", "all"):
        return list(QUEUES)
    by_short_name = {name.removeprefix(settings.LOOKUP_QUEUE_PREFIX): name for name in QUEUES}
    if queue in QUEUES:
        return [queue]
    if queue not in by_short_name:
        raise ValueError(f"unknown queue {queue!r}; choose one of lookups, refresh, all")
    return [by_short_name[queue]]


@contextmanager
def _channel():
    broker = dramatiq.get_broker()
    for queue in QUEUES:  # the dead-letter queues exist even before the first failure
        broker.declare_queue(queue, ensure=True)
    connection = amqp_connection()
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        yield channel
    finally:
        if connection.is_open:
            connection.close()


def _drain(channel, queue: str) -> Iterator[DeadLetter]:
    """Get every message of ``queue``'s XQ once (unacked until the caller decides)."""
    now_ms = time.time() * 1000
    while True:
        method, _properties, body = channel.basic_get(xq_name(queue), auto_ack=False)
        if method is None:
            return
        try:
            message = Message.decode(body)
        except Exception:  # noqa: BLE001 — an undecodable body is reported, not fatal
            message = Message(queue_name=queue, actor_name="(ilegible)", args=(), kwargs={}, options={})
        masked, failure = _describe(message)
        yield DeadLetter(
            delivery_tag=method.delivery_tag,
            queue=queue,
            message=message,
            age_seconds=max(0.0, (now_ms - (message.message_timestamp or now_ms)) / 1000),
            masked_cedula=masked,
            failure=failure,
        )


def deadletters_list(*, queue: str | None = None) -> list[DeadLetter]:
    """Every dead letter, left in place."""
    found: list[DeadLetter] = []
    with _channel() as channel:
        for name in queue_names(queue):
            letters = list(_drain(channel, name))
            found.extend(letters)
            # Reject all at once at the end: rejecting one by one would let
            # basic_get hand the same message back forever.
            for letter in letters:
                channel.basic_nack(letter.delivery_tag, requeue=True)
    return found


def deadletters_replay(*, queue: str | None = None, message_ids: set[str] | None = None) -> int:
    """Send dead letters back to their queue with fresh retries; returns how many.

    A lookup's row is marked pending first, so the worker claims it again even
    though the failure left it in a final error state.
    """
    replayed = 0
    with _channel() as channel:
        for name in queue_names(queue):
            letters = list(_drain(channel, name))
            for letter in letters:
                if message_ids and letter.message_id not in message_ids:
                    channel.basic_nack(letter.delivery_tag, requeue=True)
                    continue
                _mark_pending(letter.user_id, queue=name)
                fresh = letter.message.copy(
                    queue_name=name,
                    options={
                        k: v
                        for k, v in letter.message.options.items()
                        if k not in {"retries", "traceback", "requeue_timestamp", "eta", "dead_letter"}
                    },
                )
                channel.basic_publish(
                    exchange="",
                    routing_key=name,
                    body=fresh.encode(),
                    properties=pika.BasicProperties(delivery_mode=2),
                )
                channel.basic_ack(letter.delivery_tag)
                replayed += 1
    return replayed


def _mark_pending(user_id, *, queue: str) -> None:
    if not isinstance(user_id, int):
        return
    CedulaInfo.objects.filter(user_id=user_id).exclude(status=CedulaStatus.PROCESSING).update(
        **pending_fields(queue=queue)
    )


def deadletters_purge(*, queue: str | None = None) -> int:
    """Delete every dead letter of the queue(s); returns how many were dropped."""
    dropped = 0
    with _channel() as channel:
        for name in queue_names(queue):
            dropped += channel.queue_purge(xq_name(name)).method.message_count
    return dropped
