"""Claims on scheduled runs, so any number of schedulers run each period once.

A run is claimed once per period by inserting ``SchedulerRun(job, period)``; the
unique constraint lets exactly one process win, the others skip. A claim left
unfinished past ``SCHEDULER_RUN_LEASE_SECONDS`` (its process died) is taken over.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from actors.models import SchedulerRun

log = logging.getLogger(__name__)


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
# Running under a claim
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


def claimed_run(*, job: str, period: str, body: Callable[[RunSummary], None]) -> RunSummary:
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
