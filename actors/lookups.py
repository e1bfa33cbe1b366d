"""Lookup actors: ids in, one service call, policy on the decorator.

Two queues so a signup never waits behind the nightly backlog: ``lookups``
(signups, refresh by hand) has actor priority 0 and ``refresh`` (bulk) 100, so
inside a worker a lookups message jumps ahead of every prefetched refresh
message; operators may also run a worker for ``--queues lookups`` alone.

A worker process runs many threads (``DRAMATIQ_THREADS``, 160 by default): most
of them wait on the captcha service while a few pages do the browser work
(docs/pipeline.md#concurrency-apart-from-pages). Database connections stay bounded
whatever the number of threads: a thread takes one of ``LOOKUP_DB_CONNECTIONS``
slots to claim its row and to write its result, closes its connection before the
captcha wait and the browser, and takes a slot again afterwards.
"""

import contextlib
import logging
import random
import threading
from collections import OrderedDict
from datetime import timedelta

import dramatiq
from django.conf import settings
from django.db import connection
from django.utils import timezone
from dramatiq.middleware import CurrentMessage

from accounts.models import CedulaInfo
from accounts.services import cedulas
from actors import captcha_budget, metrics
from actors.errors import (
    LookupDeferred,
    LookupPermanentError,
    LookupRetriesExhausted,
    LookupTransientError,
)
from actors.queues import ACTOR_NAMES, QUEUE_LOOKUPS, QUEUE_REFRESH
from actors.registraduria import lookup_in_worker
from scrapers.masking import mask_cedula
from scrapers.registraduria import LookupResult
from scrapers.tokens import CaptchaUnavailable

log = logging.getLogger(__name__)

_POLICY = {
    "max_retries": settings.LOOKUP_MAX_RETRIES,
    "min_backoff": settings.LOOKUP_MIN_BACKOFF_MS,
    "max_backoff": settings.LOOKUP_MAX_BACKOFF_MS,
    "time_limit": settings.LOOKUP_TIME_LIMIT_MS,
    # Never retried: straight to the dead-letter queue.
    "throws": (LookupPermanentError, LookupRetriesExhausted),
}


def _user_id_from(args: tuple, kwargs: dict) -> int:
    """The one argument a lookup message may carry: a positive user id."""
    if len(args) == 1 and not kwargs:
        user_id = args[0]
    elif not args and set(kwargs) == {"user_id"}:
        user_id = kwargs["user_id"]
    else:
        user_id = None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise LookupPermanentError(f"malformed lookup message: args={args!r:.80} kwargs={kwargs!r:.80}")
    return user_id


# Results this process scraped but could not write (the database went away between
# the scrape and the write), by message id: the retry of that message writes the
# kept result instead of paying for a second scrape. Bounded; oldest dropped first.
_UNWRITTEN_MAX = 1000
_unwritten: OrderedDict[str, LookupResult] = OrderedDict()
_unwritten_lock = threading.Lock()


def _keep_unwritten(message_id: str, result: LookupResult) -> None:
    with _unwritten_lock:
        _unwritten[message_id] = result
        while len(_unwritten) > _UNWRITTEN_MAX:
            _unwritten.popitem(last=False)


def _take_unwritten(message_id: str) -> LookupResult | None:
    with _unwritten_lock:
        return _unwritten.pop(message_id, None)


_db_slots = threading.BoundedSemaphore(max(1, settings.LOOKUP_DB_CONNECTIONS))
_slot_held = threading.local()


def _close_connection() -> None:
    # A connection inside a transaction belongs to whoever opened it (a test's, a caller's
    # atomic block): closing it would break their next query.
    if not connection.in_atomic_block:
        connection.close()


@contextlib.contextmanager
def _database_slot():
    """Hold one of the process's database slots; the connection is closed when it is given up.

    Closed, not kept: with hundreds of threads, a kept connection per thread
    (``CONN_MAX_AGE``) would mean hundreds of connections per process.
    """
    _db_slots.acquire()
    _slot_held.value = True
    try:
        yield
    finally:
        try:
            _close_connection()
        finally:
            if getattr(_slot_held, "value", False):
                _slot_held.value = False
                _db_slots.release()


@contextlib.contextmanager
def _without_database():
    """Inside ``_database_slot``: give the slot and the connection up for a long wait."""
    _close_connection()
    _slot_held.value = False
    _db_slots.release()
    try:
        yield
    finally:
        # A time limit may interrupt this wait: the flag says whether the slot came back.
        _db_slots.acquire()
        _slot_held.value = True


def _defer_delay(seconds_left: float) -> float:
    """Seconds to delay a message while no captcha may be bought: the pause's end plus jitter,
    capped at the maximum backoff (Dramatiq holds delayed messages unacked, under RabbitMQ's
    consumer_timeout), so the fleet comes back gradually and checks again at least that often."""
    jitter = random.uniform(0, min(30.0, max(1.0, seconds_left / 4)))
    return max(1.0, min(seconds_left + jitter, settings.LOOKUP_MAX_BACKOFF_MS / 1000))


def _defer(user_id: int, queue: str, reason: str, seconds_left: float) -> None:
    delay = _defer_delay(seconds_left)
    metrics.observe_outcome(queue=queue, outcome="captcha_paused")
    log.info("lookup of user_id=%s delayed %.0fs: %s", user_id, delay, reason)
    cedulas.cedula_lookup_defer(
        user_id=user_id, queue=queue, until=timezone.now() + timedelta(seconds=delay - 1)
    )


def _retry_reason(user_id: int) -> str:
    """What the row says about the failed attempt, with the cédula masked."""
    row = CedulaInfo.objects.filter(user_id=user_id).values_list("error_detail", "user__cedula").first()
    if not row:
        return "-"
    detail, cedula = row
    return (detail or "-").replace(cedula, mask_cedula(cedula))[:300]


def _run(args: tuple, kwargs: dict, *, queue: str) -> None:
    user_id = _user_id_from(args, kwargs)
    code, left = captcha_budget.fleet_pause()
    if left > 0:
        # No captcha may be bought (budget spent, account refused): do not even claim the row.
        with _database_slot():
            _defer(user_id, queue, f"captcha paused ({code})", left)
        return
    with _database_slot():
        _run_claimed(user_id, queue=queue)


def _run_claimed(user_id: int, *, queue: str) -> None:
    message = CurrentMessage.get_current_message()
    retries = message.options.get("retries", 0) if message else 0
    message_id = message.message_id if message else ""
    final_attempt = retries >= settings.LOOKUP_MAX_RETRIES
    kept = _take_unwritten(message_id) if message_id else None
    scraped: list[LookupResult] = []

    def perform(cedula: str) -> LookupResult:
        if kept is not None:
            log.info("lookup result kept from the previous attempt written user_id=%s", user_id)
            result = kept
        else:
            # The captcha wait and the browser take seconds to a minute: no connection meanwhile.
            with _without_database():
                try:
                    result = lookup_in_worker(cedula)
                except CaptchaUnavailable as exc:
                    raise LookupDeferred(str(exc), _defer_delay(exc.retry_after)) from None
        scraped.append(result)
        return result

    try:
        claim, outcome = cedulas.cedula_lookup_run(
            user_id=user_id,
            final_attempt=final_attempt,
            perform=perform,
            message_id=message_id,
            retries=retries,
        )
    except LookupDeferred as deferred:
        # The row is pending again (the service released the claim); the message comes back later.
        metrics.observe_outcome(queue=queue, outcome="captcha_paused")
        log.info("lookup of user_id=%s delayed %.0fs: %s", user_id, deferred.delay_seconds, deferred.reason)
        cedulas.cedula_lookup_defer(
            user_id=user_id,
            queue=queue,
            until=timezone.now() + timedelta(seconds=deferred.delay_seconds - 1),
        )
        return
    except (LookupPermanentError, LookupRetriesExhausted):
        metrics.observe_outcome(queue=queue, outcome="rejected")
        raise
    except Exception as exc:
        if scraped and message_id and not scraped[-1].deferred:
            _keep_unwritten(message_id, scraped[-1])
        metrics.observe_outcome(queue=queue, outcome="error")
        # Not the site's doing (a database error, a bug): retried like any failure,
        # and on the last attempt the row is ended so it never waits forever.
        if final_attempt:
            cedulas.cedula_mark_failed(
                user_id=user_id, detail=f"{type(exc).__name__}: {exc}", message_id=message_id
            )
        raise
    if claim.result == cedulas.ClaimResult.LEASE_HELD:
        # Another worker holds the row (a duplicate delivery, or a killed worker's
        # lease still running): look again once the lease has expired.
        metrics.observe_outcome(queue=queue, outcome="deferred")
        cedulas.cedula_lookup_defer(user_id=user_id, queue=queue, until=claim.lease_expires_at)
        return
    metrics.observe_outcome(queue=queue, outcome=str(outcome) if outcome else "skipped")
    if outcome == cedulas.RecordOutcome.PAUSED:
        # Every source's circuit is open, or no rate-limit permit came in time: a new message
        # for later, acknowledged now; the retries stay for the site's real failures.
        cedulas.cedula_lookup_defer(
            user_id=user_id, queue=queue, until=timezone.now() + cedulas.paused_delay(scraped[-1])
        )
        return
    if outcome == cedulas.RecordOutcome.RETRY:
        # Expected (the site failed us this time): one WARNING line, no traceback.
        # LookupTransientError is a dramatiq Retry, which the worker does not log as an error.
        log.warning(
            "lookup of user_id=%s will be retried (attempt %s of %s): %s",
            user_id,
            retries + 1,
            settings.LOOKUP_MAX_RETRIES + 1,
            _retry_reason(user_id),
        )
        raise LookupTransientError(f"transient lookup failure for user {user_id}")
    if outcome == cedulas.RecordOutcome.EXHAUSTED:
        raise LookupRetriesExhausted(f"retries exhausted for user {user_id}")


# The signature takes anything so that a malformed message reaches our own check
# (and the dead-letter queue without retries) instead of failing in the call itself.
@dramatiq.actor(actor_name=ACTOR_NAMES[QUEUE_LOOKUPS], queue_name=QUEUE_LOOKUPS, priority=0, **_POLICY)
def lookup_cedula(*args, **kwargs) -> None:
    _run(args, kwargs, queue=QUEUE_LOOKUPS)


@dramatiq.actor(actor_name=ACTOR_NAMES[QUEUE_REFRESH], queue_name=QUEUE_REFRESH, priority=100, **_POLICY)
def refresh_cedula(*args, **kwargs) -> None:
    _run(args, kwargs, queue=QUEUE_REFRESH)
