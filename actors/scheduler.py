"""APScheduler wiring: the nightly refresh and the sweeper.

Any number of these processes may run at once (HA). APScheduler's job stores
cannot be shared between processes, so each process keeps its jobs in memory and
every run is claimed in the database instead (``SchedulerRun(job, period)``, see
``actors.runs``): whichever process inserts the period first runs
it. A nightly run that did not happen or did not finish (every scheduler down,
a run stopped by SIGTERM or a broker failure, a scheduler SIGKILLed mid-run) is
caught up, within ``SCHEDULER_MISFIRE_GRACE_SECONDS``, at start and by a check
every ``SWEEPER_INTERVAL_MINUTES`` in every running scheduler. See docs/scheduler.md.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.db import connections
from django.utils import timezone

from actors.refresh import JOB_NIGHTLY, JOB_SWEEPER, refresh_run_nightly, refresh_run_sweeper
from actors.runs import RunSummary, scheduler_period_for, scheduler_run_held, scheduler_slot_start

log = logging.getLogger(__name__)

CATCH_UP_JOB_ID = f"{JOB_NIGHTLY}_catch_up"
CATCH_UP_CHECK_JOB_ID = f"{JOB_NIGHTLY}_catch_up_check"
# The periodic check leaves a fire time this young to the cron job itself, which
# claims it within milliseconds: the check and the cron job firing together would
# otherwise race for the claim and log a "skipped" line every night.
CATCH_UP_SETTLE = timedelta(minutes=1)


def scheduler_timezone() -> ZoneInfo:
    # Explicit: APScheduler would otherwise guess the host's zone, and servers run on UTC.
    return ZoneInfo(settings.TIME_ZONE)


def nightly_trigger() -> CronTrigger:
    return CronTrigger.from_crontab(settings.REFRESH_CRON, timezone=scheduler_timezone())


def previous_fire_time(trigger: CronTrigger, *, now: datetime, lookback: timedelta) -> datetime | None:
    """The last time ``trigger`` fired in ``[now - lookback, now]``, or None."""
    fire = trigger.get_next_fire_time(None, now - lookback)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(None, fire + timedelta(seconds=1))
    return last


def missed_nightly_fire_time(*, now: datetime, settle: timedelta = timedelta(0)) -> datetime | None:
    """The nightly fire time to catch up, or None.

    The last scheduled fire time before ``now`` counts if it is at most
    ``SCHEDULER_MISFIRE_GRACE_SECONDS`` old (and at least ``settle``) and its
    period is not held: never claimed, released (SIGTERM, broker failure: renamed
    ``<period>~<epoch>``), or claimed but unfinished past ``SCHEDULER_RUN_LEASE_SECONDS``
    (its scheduler died; the run's claim takes it over).
    """
    grace = settings.SCHEDULER_MISFIRE_GRACE_SECONDS
    if grace <= 0:
        return None
    fire = previous_fire_time(nightly_trigger(), now=now, lookback=timedelta(seconds=grace))
    if fire is None or now - fire < settle:
        return None
    if scheduler_run_held(job=JOB_NIGHTLY, period=scheduler_period_for(fire), now=now):
        return None
    return fire


# ------------------------------------------------------------------------------
# Jobs (run in the scheduler's thread pool)
# ------------------------------------------------------------------------------
def _release_connections() -> None:
    # Each pool thread has its own connections, idle for hours between runs: close
    # them around every job so a database restart never breaks the next run. A
    # connection inside an atomic block belongs to a caller (a test): left alone.
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def nightly_job(*, stop_event: threading.Event, fire_time: datetime | None = None) -> RunSummary | None:
    """One nightly refresh for the fire time at or just before now (or ``fire_time``)."""
    _release_connections()
    try:
        now = timezone.now()
        if fire_time is None:
            lookback = timedelta(seconds=max(settings.SCHEDULER_MISFIRE_GRACE_SECONDS, 3600))
            fire_time = previous_fire_time(nightly_trigger(), now=now, lookback=lookback)
            if fire_time is None:
                log.warning("%s: no scheduled fire time found before now; not running", JOB_NIGHTLY)
                return None
        # A late start (catch-up) keeps the original end of the window, so the
        # sends still finish by morning; past it, everything goes at once.
        window_end = fire_time + timedelta(seconds=settings.REFRESH_WINDOW_SECONDS)
        return refresh_run_nightly(
            period=scheduler_period_for(fire_time),
            window_seconds=max(0.0, (window_end - now).total_seconds()),
            stop_event=stop_event,
        )
    finally:
        _release_connections()


def sweeper_job(*, stop_event: threading.Event) -> RunSummary:
    """One sweep for the current slot of SWEEPER_INTERVAL_MINUTES."""
    _release_connections()
    try:
        slot = scheduler_slot_start(now=timezone.now(), minutes=settings.SWEEPER_INTERVAL_MINUTES)
        return refresh_run_sweeper(period=scheduler_period_for(slot), stop_event=stop_event)
    finally:
        _release_connections()


def schedule_catch_up(
    scheduler: BlockingScheduler, *, stop_event: threading.Event, now: datetime, settle: timedelta
) -> datetime | None:
    """Add a one-off run, now, of the missed nightly fire time (if any); return that fire time.

    A separate job rather than a run inline, so the check keeps its own short
    ticks and the sweeper is never held up by an hours-long paced catch-up.
    """
    missed = missed_nightly_fire_time(now=now, settle=settle)
    if missed is None:
        return None
    log.info("%s: catching up the missed run of %s", JOB_NIGHTLY, scheduler_period_for(missed))
    scheduler.add_job(
        nightly_job,
        trigger="date",
        run_date=timezone.localtime(now, scheduler_timezone()),
        id=CATCH_UP_JOB_ID,
        name="nightly refresh (catch-up)",
        kwargs={"stop_event": stop_event, "fire_time": missed},
        misfire_grace_time=None,
        replace_existing=True,
    )
    return missed


def catch_up_check_job(*, scheduler: BlockingScheduler, stop_event: threading.Event) -> datetime | None:
    """Every sweeper interval: catch up a nightly run nobody holds (released or abandoned)."""
    _release_connections()
    try:
        if stop_event.is_set():
            return None
        return schedule_catch_up(scheduler, stop_event=stop_event, now=timezone.now(), settle=CATCH_UP_SETTLE)
    finally:
        _release_connections()


# ------------------------------------------------------------------------------
# The process
# ------------------------------------------------------------------------------
def build_scheduler(*, stop_event: threading.Event, now: datetime | None = None) -> BlockingScheduler:
    """A BlockingScheduler with its three jobs, plus a catch-up run now if one is due.

    Jobs: the nightly cron, the sweeper and the catch-up check (both every
    ``SWEEPER_INTERVAL_MINUTES``, aligned on slot boundaries).
    """
    tz = scheduler_timezone()
    now = now or timezone.now()
    scheduler = BlockingScheduler(
        timezone=tz,
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    scheduler.add_job(
        nightly_job,
        trigger=nightly_trigger(),
        id=JOB_NIGHTLY,
        name="nightly refresh",
        kwargs={"stop_event": stop_event},
        # In-process only (a busy pool, a suspended VM); runs missed while the
        # process was down are handled by missed_nightly_fire_time at start.
        misfire_grace_time=max(1, settings.SCHEDULER_MISFIRE_GRACE_SECONDS),
    )
    minutes = settings.SWEEPER_INTERVAL_MINUTES
    slot_trigger = IntervalTrigger(
        minutes=minutes, start_date=scheduler_slot_start(now=now, minutes=minutes), timezone=tz
    )
    scheduler.add_job(
        sweeper_job,
        # Aligned on slot boundaries so every scheduler fires at the same moments.
        trigger=slot_trigger,
        id=JOB_SWEEPER,
        name="sweeper",
        kwargs={"stop_event": stop_event},
        misfire_grace_time=minutes * 60,
    )
    # Not only at start: a run released (SIGTERM, broker failure) or abandoned
    # (SIGKILL) while other schedulers keep running is taken over by one of them.
    scheduler.add_job(
        catch_up_check_job,
        trigger=slot_trigger,
        id=CATCH_UP_CHECK_JOB_ID,
        name="nightly catch-up check",
        kwargs={"scheduler": scheduler, "stop_event": stop_event},
        misfire_grace_time=minutes * 60,
    )
    schedule_catch_up(scheduler, stop_event=stop_event, now=now, settle=timedelta(0))
    return scheduler


def run_scheduler() -> None:
    """Run until SIGTERM/SIGINT; running jobs stop at their next batch boundary."""
    stop_event = threading.Event()
    scheduler = build_scheduler(stop_event=stop_event)

    def on_signal(signum, frame) -> None:
        name = signal.Signals(signum).name
        if stop_event.is_set():
            log.info("scheduler: %s received again, already stopping", name)
            return
        log.info("scheduler: %s received, stopping after running jobs finish their batch", name)
        stop_event.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _release_connections()  # the catch-up check ran on this thread's connection
    log.info(
        "scheduler started tz=%s nightly=%r sweeper_every=%smin grace=%ss",
        settings.TIME_ZONE,
        settings.REFRESH_CRON,
        settings.SWEEPER_INTERVAL_MINUTES,
        settings.SCHEDULER_MISFIRE_GRACE_SECONDS,
    )
    if not stop_event.is_set():
        scheduler.start()
    log.info("scheduler stopped")
