"""The scheduler's jobs: the nightly refresh and the sweeper.

Both follow the same three rules, so any number of schedulers (and an operator
running ``refresh_stale`` by hand) can run at once:

1. A run is claimed once per period (``actors.runs``).
2. Each batch is marked ``pending`` with a conditional update that re-checks the
   selection under a row lock (``accounts.services.refresh``), so a row that went
   in flight meanwhile (or that a concurrent run already took) is left alone.
3. Exactly the ids that were marked are sent. If the broker fails, the marked rows
   stay ``pending`` and the sweeper sends them again after a lease: nothing is lost.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from accounts.models import CedulaInfo
from accounts.selectors.refresh import (
    refresh_due_count,
    refresh_due_q,
    refresh_due_user_ids,
    refresh_in_flight_q,
    sweep_stuck_q,
    sweep_stuck_user_ids,
)
from accounts.services.refresh import refresh_mark_pending, refresh_sweep_mark
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from actors.runs import RunSummary, claimed_run
from actors.sending import ready_counts as sending_ready_counts
from actors.sending import send_lookups

log = logging.getLogger(__name__)

JOB_NIGHTLY = "nightly_refresh"
JOB_SWEEPER = "sweeper"


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
def _send(*, user_ids: list[int], queue: str) -> int:
    if not user_ids:
        return 0
    # One AMQP transaction per batch: all of it reaches RabbitMQ or the call raises.
    return send_lookups(user_ids=user_ids, queue=queue, batch_size=len(user_ids))


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
            marked = refresh_mark_pending(user_ids=batch, condition=due_condition, queue=QUEUE_REFRESH)
            summary.skipped += len(batch) - len(marked)
            summary.batches += 1
            summary.sent += _send(user_ids=marked, queue=QUEUE_REFRESH)

    return claimed_run(job=job, period=period, body=body)


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
    ready_counts = ready_counts or (lambda: sending_ready_counts(queues))

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
            swept = refresh_sweep_mark(user_ids=batch, condition=condition, queues=queues)
            by_queue = swept.by_queue
            summary.skipped += len(batch) - swept.marked
            summary.batches += 1
            summary.extra["reset_processing"] += swept.reset_processing
            sent_lookups = _send(user_ids=by_queue[QUEUE_LOOKUPS], queue=QUEUE_LOOKUPS)
            summary.extra["lookups"] += sent_lookups
            sent_refresh = _send(user_ids=by_queue[QUEUE_REFRESH], queue=QUEUE_REFRESH)
            summary.extra["refresh"] += sent_refresh
            summary.sent += sent_lookups + sent_refresh

    return claimed_run(job=job, period=period, body=body)
