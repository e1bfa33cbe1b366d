"""Reads for the nightly refresh and the sweeper: which census rows are due.

Three reasons make a row due for the nightly refresh, mutually exclusive:

* ``stale``: a Registraduría answer (``CedulaStatus.results()``, or one we could not
  read, ``UNREADABLE``) fetched more than
  ``REFRESH_MAX_AGE_DAYS`` ago;
* ``failure``: a final failure (``CedulaStatus.failures()``) fetched more than
  ``REFRESH_ERROR_AGE_HOURS`` ago;
* ``never``: never fetched (``fetched_at`` null) and not in flight.

Rows in flight (pending/processing) are never due: their message or the sweeper owns them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from accounts.models import CedulaInfo, CedulaStatus


class RefreshReason(enum.StrEnum):
    STALE = "stale"
    FAILURE = "failure"
    NEVER = "never"


def refresh_reason_q(*, reason: RefreshReason, now: datetime) -> Q:
    """The condition for one reason, evaluated at ``now``."""
    if reason == RefreshReason.STALE:
        cutoff = now - timedelta(days=settings.REFRESH_MAX_AGE_DAYS)
        return Q(status__in=CedulaStatus.results() | {CedulaStatus.UNREADABLE}, fetched_at__lt=cutoff)
    if reason == RefreshReason.FAILURE:
        cutoff = now - timedelta(hours=settings.REFRESH_ERROR_AGE_HOURS)
        return Q(status__in=CedulaStatus.failures(), fetched_at__lt=cutoff)
    return Q(fetched_at__isnull=True) & ~Q(status__in=CedulaStatus.in_flight())


def refresh_due_q(*, now: datetime) -> Q:
    """Every row the nightly refresh should send at ``now``; excludes rows in flight."""
    due = Q()
    for reason in RefreshReason:
        due |= refresh_reason_q(reason=reason, now=now)
    return due


def refresh_in_flight_q() -> Q:
    return Q(status__in=CedulaStatus.in_flight())


@dataclass(frozen=True)
class RefreshPlan:
    """What a refresh run at ``now`` would do, counted in one query."""

    stale: int
    failure: int
    never: int
    in_flight: int

    @property
    def due(self) -> int:
        return self.stale + self.failure + self.never


def refresh_plan(*, now: datetime) -> RefreshPlan:
    by_reason = {
        reason.value: Count("pk", filter=refresh_reason_q(reason=reason, now=now)) for reason in RefreshReason
    }
    counts = CedulaInfo.objects.aggregate(**by_reason, in_flight=Count("pk", filter=refresh_in_flight_q()))
    return RefreshPlan(**counts)


def refresh_due_count(*, now: datetime) -> int:
    return CedulaInfo.objects.filter(refresh_due_q(now=now)).count()


def refresh_due_user_ids(*, now: datetime, chunk_size: int) -> Iterator[int]:
    """Stream the user ids due at ``now``, oldest fetch first (never fetched first of all).

    On PostgreSQL ``iterator()`` reads through a named server-side cursor, so the
    process holds ``chunk_size`` ids at a time whatever the number of rows. The
    order means an interrupted run has at least sent the most outdated rows.
    """
    due = CedulaInfo.objects.filter(refresh_due_q(now=now))
    if _streams_with_server_cursor():
        return (
            due.order_by(F("fetched_at").asc(nulls_first=True), "user_id")
            .values_list("user_id", flat=True)
            .iterator(chunk_size=chunk_size)
        )
    return _keyset_by_fetched_at(due, chunk_size=chunk_size)


def _streams_with_server_cursor() -> bool:
    # SQLite has no server-side cursors: an open read keeps a snapshot, and the
    # first write by another process (a worker) after it makes every write on this
    # connection fail with "database is locked". There we page by key instead,
    # each page read in full before the batch is written.
    return connection.vendor == "postgresql"


def _keyset_by_user_id(queryset: QuerySet[CedulaInfo], *, chunk_size: int) -> Iterator[int]:
    last = None
    while True:
        page = queryset if last is None else queryset.filter(user_id__gt=last)
        ids = list(page.order_by("user_id").values_list("user_id", flat=True)[:chunk_size])
        yield from ids
        if len(ids) < chunk_size:
            return
        last = ids[-1]


def _keyset_by_fetched_at(queryset: QuerySet[CedulaInfo], *, chunk_size: int) -> Iterator[int]:
    yield from _keyset_by_user_id(queryset.filter(fetched_at__isnull=True), chunk_size=chunk_size)
    fetched = queryset.filter(fetched_at__isnull=False).order_by("fetched_at", "user_id")
    last = None
    while True:
        page = fetched
        if last is not None:
            page = fetched.filter(Q(fetched_at__gt=last[0]) | Q(fetched_at=last[0], user_id__gt=last[1]))
        rows = list(page.values_list("fetched_at", "user_id")[:chunk_size])
        yield from (user_id for _, user_id in rows)
        if len(rows) < chunk_size:
            return
        last = rows[-1]


def refresh_due_sample(*, now: datetime, limit: int) -> list[tuple[int, str, str]]:
    """The first ``limit`` due rows as ``(user_id, cedula, reason)``; the cédula is unmasked."""
    sample: list[tuple[int, str, str]] = []
    for reason in RefreshReason:
        if len(sample) >= limit:
            break
        rows = (
            CedulaInfo.objects.filter(refresh_reason_q(reason=reason, now=now))
            .order_by(F("fetched_at").asc(nulls_first=True), "user_id")
            .values_list("user_id", "user__cedula")[: limit - len(sample)]
        )
        sample.extend((user_id, cedula, reason.value) for user_id, cedula in rows)
    return sample


# ------------------------------------------------------------------------------
# Sweeper
# ------------------------------------------------------------------------------
def sweep_queue_q(*, queue: str, queues: Iterable[str]) -> Q:
    """Rows whose pending request waits on ``queue`` (one of ``queues``).

    That is the row's ``queue`` column. Rows from before the column existed (blank)
    or naming a queue this deployment does not use (another prefix) fall back to
    where they would have been sent: ``queues[0]`` (lookups) when never fetched,
    ``queues[1]`` (refresh) otherwise. Must agree with ``sweep_queue_for``.
    """
    lookups, refresh = tuple(queues)
    unknown = ~Q(queue__in=(lookups, refresh))
    if queue == lookups:
        return Q(queue=lookups) | (unknown & Q(fetched_at__isnull=True))
    if queue == refresh:
        return Q(queue=refresh) | (unknown & Q(fetched_at__isnull=False))
    raise ValueError(f"unknown lookup queue {queue!r}")


def sweep_queue_for(*, queue: str, fetched_at: datetime | None, queues: Iterable[str]) -> str:
    """The queue a stuck row is resent to: its own, or the fallback of ``sweep_queue_q``."""
    lookups, refresh = tuple(queues)
    if queue in (lookups, refresh):
        return queue
    return lookups if fetched_at is None else refresh


def sweep_stuck_q(*, now: datetime, queues: Iterable[str], backlogged: Iterable[str] = ()) -> Q:
    """Rows whose message was lost or whose worker died.

    * ``processing`` past its lease: the worker died (always included);
    * ``pending`` whose request is older than a lease, and whose last claim is too
      (a row waiting out its retry backoff was claimed recently), unless the queue
      it waits on (``sweep_queue_q``) is in ``backlogged``: while a queue still has
      messages ready, its pending rows may simply be waiting in line, and resending
      them every sweep would snowball the backlog.

    ``queues`` is ``(lookups, refresh)``, the deployment's full queue names.
    """
    queues = tuple(queues)
    backlogged = set(backlogged)
    cutoff = now - timedelta(seconds=settings.LOOKUP_LEASE_SECONDS)
    dead_worker = Q(status=CedulaStatus.PROCESSING) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    lost_pending = (
        Q(status=CedulaStatus.PENDING)
        & (Q(requested_at__isnull=True) | Q(requested_at__lt=cutoff))
        & (Q(claimed_at__isnull=True) | Q(claimed_at__lt=cutoff))
    )
    idle = [sweep_queue_q(queue=queue, queues=queues) for queue in queues if queue not in backlogged]
    if not idle:
        return dead_worker
    if len(idle) == len(queues):
        return dead_worker | lost_pending
    waits_on_idle_queue = Q()
    for condition in idle:
        waits_on_idle_queue |= condition
    return dead_worker | (lost_pending & waits_on_idle_queue)


def sweep_stuck_user_ids(*, condition: Q, chunk_size: int) -> Iterator[int]:
    stuck = CedulaInfo.objects.filter(condition)
    if _streams_with_server_cursor():
        return stuck.order_by("user_id").values_list("user_id", flat=True).iterator(chunk_size=chunk_size)
    return _keyset_by_user_id(stuck, chunk_size=chunk_size)


def cedula_infos_for_update(*, user_ids: list[int], condition: Q) -> QuerySet[CedulaInfo]:
    """Rows among ``user_ids`` still matching ``condition``, locked in id order.

    Locking in one order means two runs locking overlapping batches wait for each
    other instead of deadlocking. Must be evaluated inside a transaction.
    """
    return CedulaInfo.objects.select_for_update().filter(condition, user_id__in=user_ids).order_by("user_id")
