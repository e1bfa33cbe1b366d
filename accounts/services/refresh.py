"""Writes for the nightly refresh and the sweeper.

Both jobs follow the same three rules, so any number of schedulers (and an
operator running ``refresh_stale`` by hand) can run at once:

1. A run is claimed once per period by inserting ``SchedulerRun(job, period)``;
   the unique constraint lets exactly one process win, the others skip.
2. Each batch is marked ``pending`` with a conditional update that re-checks the
   selection under a row lock, so a row that went in flight meanwhile (or that a
   concurrent run already took) is left alone.
3. Exactly the ids that were marked are sent. If the broker fails, the marked rows
   stay ``pending`` and the sweeper sends them again after a lease: nothing is lost.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus, SchedulerRun
from accounts.selectors.refresh import (
    cedula_infos_for_update,
    refresh_due_count,
    refresh_due_q,
    refresh_due_user_ids,
    refresh_in_flight_q,
    sweep_queue_for,
    sweep_stuck_q,
    sweep_stuck_user_ids,
)
from accounts.services.cedulas import (
    QUEUE_LOOKUPS,
    QUEUE_REFRESH,
    cedula_lookup_send_many,
    pending_fields,
)

log = logging.getLogger(__name__)

JOB_NIGHTLY = "nightly_refresh"
JOB_SWEEPER = "sweeper"


# ------------------------------------------------------------------------------
# Periods and claims
# ------------------------------------------------------------------------------
def scheduler_period_for(moment: datetime) -> str:
    """The period key of a run scheduled at ``moment``: local time to the minute.

    e.g. ``2026-11-30T02:30-05:00``. Every scheduler computes the same key for the
    same fire time, which is what makes the claim work across processes.
    """
    local = timezone.localtime(moment).replace(second=0, microsecond=0)
    return local.isoformat(timespec="minutes")


def scheduler_slot_start(*, now: datetime, minutes: int) -> datetime:
    """Start of the ``minutes``-long slot holding ``now`` (slots aligned on the epoch)."""
    width = minutes * 60
    return datetime.fromtimestamp(math.floor(now.timestamp() / width) * width, tz=now.tzinfo)


def scheduler_claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:120]


def _released_period(period: str, now: datetime) -> str:
    return f"{period}~{int(now.timestamp())}"[:40]


def scheduler_run_lease_cutoff(*, now: datetime) -> datetime:
    """Claims started before this and still unfinished are abandoned (their process died)."""
    return now - timedelta(seconds=settings.SCHEDULER_RUN_LEASE_SECONDS)


def scheduler_run_claim(*, job: str, period: str, claimed_by: str | None = None) -> SchedulerRun | None:
    """Claim ``job`` for ``period``; None when another live process already has it.

    A claim still unfinished ``SCHEDULER_RUN_LEASE_SECONDS`` after it started is
    abandoned (its scheduler was SIGKILLed or its machine lost): it is released
    under ``<period>~<epoch>`` (``finished_at`` left empty, so history shows it never
    finished) and the period claimed anew, in one transaction. The release is a
    conditional UPDATE on the stale row, so of several schedulers taking over at
    once exactly one renames it and claims; the others update nothing and skip.
    """
    claimed_by = claimed_by or scheduler_claimant()
    try:
        with transaction.atomic():
            return SchedulerRun.objects.create(job=job, period=period, claimed_by=claimed_by)
    except IntegrityError:
        pass
    now = timezone.now()
    try:
        with transaction.atomic():
            abandoned = SchedulerRun.objects.filter(
                job=job,
                period=period,
                finished_at__isnull=True,
                started_at__lt=scheduler_run_lease_cutoff(now=now),
            )
            previous = list(abandoned.values_list("claimed_by", "started_at")[:1])
            if not abandoned.update(period=_released_period(period, now)):
                return None
            run = SchedulerRun.objects.create(job=job, period=period, claimed_by=claimed_by)
    except IntegrityError:  # a release of the same period in the same second: let the other win
        return None
    log.warning(
        "%s period=%s: taking over the claim of %s (started %s, never finished)",
        job,
        period,
        *(previous[0] if previous else ("?", "?")),
    )
    return run


def scheduler_run_held(*, job: str, period: str, now: datetime | None = None) -> bool:
    """Whether ``period`` is done or being run: claimed, and finished or still within its lease."""
    now = now or timezone.now()
    return (
        SchedulerRun.objects.filter(job=job, period=period)
        .filter(Q(finished_at__isnull=False) | Q(started_at__gte=scheduler_run_lease_cutoff(now=now)))
        .exists()
    )


def scheduler_run_finish(*, run: SchedulerRun, selected: int, sent: int, skipped: int) -> None:
    SchedulerRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), selected=selected, sent=sent, skipped=skipped
    )


def scheduler_run_release(*, run: SchedulerRun, selected: int, sent: int, skipped: int) -> None:
    """Record an unfinished run under ``<period>~<epoch>`` so its period can be claimed again.

    A run stopped by SIGTERM or by a broker failure keeps its history row, and the
    next scheduler start can catch the period up (rows already sent are no longer due).
    """
    now = timezone.now()
    SchedulerRun.objects.filter(pk=run.pk).update(
        period=_released_period(run.period, now),
        finished_at=now,
        selected=selected,
        sent=sent,
        skipped=skipped,
    )


# ------------------------------------------------------------------------------
# Pacing
# ------------------------------------------------------------------------------
@dataclass
class Pacer:
    """Spread ``batches`` sends evenly over ``window_seconds``.

    Batch ``i`` is due at ``start + i * window / batches``; the wait is computed
    from the clock, so slow sends don't push the end past the window.

    Parameters:
      window_seconds: the span to spread over; 0 disables pacing.
      batches: how many batches are expected (from a COUNT before the run).
      sleep: ``sleep(seconds) -> stopped``; returns True to stop the run early.
        The scheduler passes ``threading.Event.wait`` so SIGTERM ends a wait at once.
      clock: monotonic seconds.
    """

    window_seconds: float
    batches: int
    sleep: Callable[[float], bool]
    clock: Callable[[], float] = time.monotonic
    _start: float | None = field(default=None, init=False)

    @property
    def interval(self) -> float:
        if self.window_seconds <= 0 or self.batches <= 1:
            return 0.0
        return self.window_seconds / self.batches

    def wait_turn(self, index: int) -> bool:
        """Wait until batch ``index`` (0-based) is due; False when told to stop."""
        if self._start is None:
            self._start = self.clock()
        if index == 0 or self.interval == 0:
            return True
        delay = self._start + index * self.interval - self.clock()
        if delay <= 0:
            return True
        return not self.sleep(delay)


def _batched(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for user_id in ids:
        batch.append(user_id)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------
@dataclass
class RunSummary:
    job: str
    period: str
    claimed: bool = True
    selected: int = 0
    sent: int = 0
    skipped: int = 0
    seconds: float = 0.0
    batches: int = 0
    interrupted: bool = False
    error: str = ""
    extra: dict[str, int] = field(default_factory=dict)

    def log_line(self) -> str:
        if not self.claimed:
            return f"{self.job} skipped period={self.period}: claimed by another scheduler"
        state = "interrupted" if self.interrupted else ("failed" if self.error else "done")
        extra = "".join(f" {key}={value}" for key, value in self.extra.items())
        line = (
            f"{self.job} {state} period={self.period} selected={self.selected} sent={self.sent} "
            f"skipped={self.skipped} batches={self.batches}{extra} seconds={self.seconds:.2f}"
        )
        return f"{line} error={self.error}" if self.error else line


@transaction.atomic
def _mark_pending(*, user_ids: list[int], condition: Q, queue: str) -> list[int]:
    """Mark the rows of ``user_ids`` still matching ``condition`` pending on ``queue``; return their ids.

    ``queue`` is recorded on the row so the sweeper resends a lost message to the
    queue it was sent to, and judges its backlog by that queue.
    """
    marked = list(
        cedula_infos_for_update(user_ids=user_ids, condition=condition).values_list("user_id", flat=True)
    )
    if marked:
        CedulaInfo.objects.filter(user_id__in=marked).update(**pending_fields(queue=queue))
    return marked


def _send(*, user_ids: list[int], queue: str) -> int:
    if not user_ids:
        return 0
    # One AMQP transaction per batch: all of it reaches RabbitMQ or the call raises.
    return cedula_lookup_send_many(user_ids=user_ids, queue=queue, batch_size=len(user_ids))


def _claimed_run(*, job: str, period: str, body: Callable[[RunSummary], None]) -> RunSummary:
    summary = RunSummary(job=job, period=period)
    run = scheduler_run_claim(job=job, period=period)
    if run is None:
        summary.claimed = False
        log.info(summary.log_line())
        return summary
    started = time.monotonic()
    try:
        body(summary)
    except Exception as exc:  # recorded as unfinished, then re-raised for the scheduler to log
        summary.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        summary.seconds = time.monotonic() - started
        counts = {"selected": summary.selected, "sent": summary.sent, "skipped": summary.skipped}
        if summary.interrupted or summary.error:
            scheduler_run_release(run=run, **counts)
            log.warning(summary.log_line())
        else:
            scheduler_run_finish(run=run, **counts)
            log.info(summary.log_line())
    return summary


def refresh_run_nightly(
    *,
    period: str,
    job: str = JOB_NIGHTLY,
    pace: bool | None = None,
    window_seconds: float | None = None,
    batch_size: int | None = None,
    stop_event: threading.Event | None = None,
    sleep: Callable[[float], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RunSummary:
    """Send every due row to the ``refresh`` queue once, in paced batches.

    Parameters:
      period: the claim key (``scheduler_period_for(fire_time)``, or ``manual-...``).
      pace: spread batches over ``window_seconds``; default ``settings.REFRESH_PACING``.
      window_seconds: default ``settings.REFRESH_WINDOW_SECONDS``.
      batch_size: ids per batch (cursor chunk, row update and AMQP transaction);
        default ``settings.REFRESH_BATCH_SIZE``.
      stop_event: set it to stop between batches (SIGTERM).
      sleep, clock: injected by tests; ``sleep`` defaults to ``stop_event.wait``.

    Returns the run's summary; ``claimed`` is False when another process has the period.
    Raises the broker's error after recording the run as unfinished.
    """
    stop_event = stop_event or threading.Event()
    pace = settings.REFRESH_PACING if pace is None else pace
    window = float(settings.REFRESH_WINDOW_SECONDS if window_seconds is None else window_seconds)
    size = max(1, batch_size or settings.REFRESH_BATCH_SIZE)

    def body(summary: RunSummary) -> None:
        now = timezone.now()
        due_condition = refresh_due_q(now=now)
        expected = refresh_due_count(now=now)
        in_flight = CedulaInfo.objects.filter(refresh_in_flight_q()).count()
        pacer = Pacer(
            window_seconds=window if pace else 0.0,
            batches=math.ceil(expected / size),
            sleep=sleep or stop_event.wait,
            clock=clock,
        )
        summary.extra = {"expected": expected, "in_flight": in_flight}
        summary.skipped = in_flight
        for index, batch in enumerate(_batched(refresh_due_user_ids(now=now, chunk_size=size), size)):
            if stop_event.is_set() or not pacer.wait_turn(index):
                summary.interrupted = True
                break
            summary.selected += len(batch)
            marked = _mark_pending(user_ids=batch, condition=due_condition, queue=QUEUE_REFRESH)
            summary.skipped += len(batch) - len(marked)
            summary.batches += 1
            summary.sent += _send(user_ids=marked, queue=QUEUE_REFRESH)

    return _claimed_run(job=job, period=period, body=body)


def queue_ready_counts(*, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting (ready) in each RabbitMQ queue; a queue not declared yet counts 0."""
    import pika

    counts: dict[str, int] = {}
    connection = pika.BlockingConnection(pika.URLParameters(settings.RABBITMQ_URL))
    try:
        for queue in queues:
            channel = connection.channel()
            try:
                counts[queue] = channel.queue_declare(queue=queue, passive=True).method.message_count
            except pika.exceptions.ChannelClosedByBroker:  # 404: nothing was ever sent there
                counts[queue] = 0
            else:
                channel.close()
    finally:
        connection.close()
    return counts


def refresh_run_sweeper(
    *,
    period: str,
    job: str = JOB_SWEEPER,
    batch_size: int | None = None,
    stop_event: threading.Event | None = None,
    ready_counts: Callable[[], dict[str, int]] | None = None,
) -> RunSummary:
    """Send again the rows whose message was lost or whose worker died.

    ``pending`` rows older than a lease and ``processing`` rows past their lease
    (reset to ``pending``) get ``requested_at=now`` and a new message on the queue
    they were sent to (``CedulaInfo.queue``; for rows without one, ``lookups`` when
    never fetched, ``refresh`` otherwise). The bump means a row is sent again at
    most once per lease.

    A ``pending`` row is resent only while *its* queue has no message ready: until
    then it may just be waiting in line behind the nightly backlog (see
    ``sweep_stuck_q``). ``ready_counts`` is injectable for tests.
    """
    stop_event = stop_event or threading.Event()
    size = max(1, batch_size or settings.REFRESH_BATCH_SIZE)
    queues = (QUEUE_LOOKUPS, QUEUE_REFRESH)
    ready_counts = ready_counts or (lambda: queue_ready_counts(queues=queues))

    def body(summary: RunSummary) -> None:
        now = timezone.now()
        ready = ready_counts()
        condition = sweep_stuck_q(
            now=now, queues=queues, backlogged=[queue for queue in queues if ready.get(queue, 0) > 0]
        )
        summary.extra = {
            "lookups": 0,
            "refresh": 0,
            "reset_processing": 0,
            "ready_lookups": ready.get(QUEUE_LOOKUPS, 0),
            "ready_refresh": ready.get(QUEUE_REFRESH, 0),
        }
        for batch in _batched(sweep_stuck_user_ids(condition=condition, chunk_size=size), size):
            if stop_event.is_set():
                summary.interrupted = True
                break
            summary.selected += len(batch)
            by_queue: dict[str, list[int]] = {queue: [] for queue in queues}
            with transaction.atomic():
                rows = list(
                    cedula_infos_for_update(user_ids=batch, condition=condition).values_list(
                        "user_id", "status", "fetched_at", "queue"
                    )
                )
                for user_id, _, fetched_at, queue in rows:
                    by_queue[sweep_queue_for(queue=queue, fetched_at=fetched_at, queues=queues)].append(
                        user_id
                    )
                for queue, ids in by_queue.items():
                    if ids:  # the row's queue is filled in for rows from before the column
                        CedulaInfo.objects.filter(user_id__in=ids).update(**pending_fields(queue=queue))
            summary.skipped += len(batch) - len(rows)
            summary.batches += 1
            summary.extra["reset_processing"] += sum(
                1 for _, status, _, _ in rows if status == CedulaStatus.PROCESSING
            )
            sent_lookups = _send(user_ids=by_queue[QUEUE_LOOKUPS], queue=QUEUE_LOOKUPS)
            summary.extra["lookups"] += sent_lookups
            sent_refresh = _send(user_ids=by_queue[QUEUE_REFRESH], queue=QUEUE_REFRESH)
            summary.extra["refresh"] += sent_refresh
            summary.sent += sent_lookups + sent_refresh

    return _claimed_run(job=job, period=period, body=body)
