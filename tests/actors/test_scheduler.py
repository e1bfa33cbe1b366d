"""The nightly refresh, the sweeper and the scheduler process, against the real RabbitMQ.

Messages are counted on the real ``refresh``/``lookups`` queues (purged before and
after each test that publishes) by consuming them with pika.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus
from accounts.selectors.refresh import refresh_due_count
from actors import scheduler as scheduler_module
from actors.models import SchedulerRun
from actors.queues import QUEUE_REFRESH
from actors.refresh import JOB_NIGHTLY, JOB_SWEEPER
from actors.runs import scheduler_period_for, scheduler_run_release
from tests.fixtures.broker import drain, queue_exists, ready
from tests.fixtures.processes import ROOT
from tests.fixtures.rows import stale_rows
from tests.fixtures.worker import database_url

BOGOTA = ZoneInfo("America/Bogota")


# ------------------------------------------------------------------------------
# Scheduler wiring: periods, catch-up, jobs
# ------------------------------------------------------------------------------
def at(hour: int, minute: int = 0, day: int = 30) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BOGOTA)


def test_nightly_trigger_fires_at_0230_bogota_time():
    trigger = scheduler_module.nightly_trigger()
    fire = trigger.get_next_fire_time(None, at(3))
    assert fire.isoformat() == "2026-12-01T02:30:00-05:00"
    assert scheduler_period_for(at(2, 30)) == "2026-11-30T02:30-05:00"
    assert scheduler_period_for(at(2, 30).astimezone(ZoneInfo("UTC"))) == "2026-11-30T02:30-05:00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "grace_hours", "expected"),
    [
        (at(3), 6, at(2, 30)),  # started half an hour after a missed run
        (at(8), 6, at(2, 30)),  # 5 h 30 late: inside a 6 h grace
        (at(10), 6, None),  # 7 h 30 late: beyond a 6 h grace
        (at(10), 8, at(2, 30)),  # ... but inside an 8 h one
        (at(2, 29), 6, None),  # tonight's run is not due yet; yesterday's is 24 h old
        (at(2, 29), 25, at(2, 30, day=29)),
        (at(3), 0, None),  # grace 0 disables the catch-up
    ],
)
def test_missed_nightly_run_is_caught_up_only_within_the_grace(now, grace_hours, expected, settings):
    settings.SCHEDULER_MISFIRE_GRACE_SECONDS = grace_hours * 3600
    with time_machine.travel(now, tick=False):
        assert scheduler_module.missed_nightly_fire_time(now=timezone.now()) == expected


@pytest.mark.django_db
def test_missed_run_already_claimed_is_not_caught_up_but_a_released_one_is(settings):
    settings.SCHEDULER_MISFIRE_GRACE_SECONDS = 6 * 3600
    run = SchedulerRun.objects.create(job=JOB_NIGHTLY, period="2026-11-30T02:30-05:00", claimed_by="other")
    with time_machine.travel(at(3), tick=False):
        assert scheduler_module.missed_nightly_fire_time(now=timezone.now()) is None
        scheduler_run_release(run=run, selected=5, sent=2, skipped=0)
        assert scheduler_module.missed_nightly_fire_time(now=timezone.now()) == at(2, 30)


@pytest.mark.django_db
def test_scheduler_started_after_a_missed_run_runs_it_for_that_period(settings):
    settings.SCHEDULER_MISFIRE_GRACE_SECONDS = 6 * 3600
    settings.REFRESH_WINDOW_SECONDS = 4 * 3600
    with time_machine.travel(at(3), tick=False):
        scheduler = scheduler_module.build_scheduler(stop_event=threading.Event(), now=timezone.now())
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {
            JOB_NIGHTLY,
            JOB_SWEEPER,
            scheduler_module.CATCH_UP_CHECK_JOB_ID,
            scheduler_module.CATCH_UP_JOB_ID,
        }
        catch_up = jobs[scheduler_module.CATCH_UP_JOB_ID]
        assert catch_up.kwargs["fire_time"] == at(2, 30)
        assert catch_up.trigger.run_date == at(3)
        # Run it as the executor would (no rows: nothing to send, nothing to sleep).
        summary = catch_up.func(**catch_up.kwargs)
    assert summary.claimed
    assert SchedulerRun.objects.filter(job=JOB_NIGHTLY, period="2026-11-30T02:30-05:00").exists()
    with time_machine.travel(at(3, 5), tick=False):
        again = scheduler_module.build_scheduler(stop_event=threading.Event(), now=timezone.now())
        assert scheduler_module.CATCH_UP_JOB_ID not in {job.id for job in again.get_jobs()}


@pytest.mark.django_db
@pytest.mark.parametrize("fate", ["abandoned", "released"])
def test_running_schedulers_catch_up_a_run_that_did_not_finish(fate, settings):
    # A scheduler claims 02:30 and is SIGKILLed (abandoned) or stopped by SIGTERM or a
    # broker failure (released); the others, running since before, take the period over.
    settings.SCHEDULER_MISFIRE_GRACE_SECONDS = 6 * 3600
    settings.SCHEDULER_RUN_LEASE_SECONDS = 3600
    settings.SWEEPER_INTERVAL_MINUTES = 5
    settings.REFRESH_PACING = False
    period = "2026-11-30T02:30-05:00"
    with time_machine.travel(at(2), tick=False):
        scheduler = scheduler_module.build_scheduler(stop_event=threading.Event(), now=timezone.now())
    assert scheduler.get_job(scheduler_module.CATCH_UP_JOB_ID) is None
    check = scheduler.get_job(scheduler_module.CATCH_UP_CHECK_JOB_ID)

    def tick(moment: datetime):
        with time_machine.travel(moment, tick=False):
            return check.func(**check.kwargs)

    # At 02:30 sharp the cron job has the first go at its own period.
    assert tick(at(2, 30) + timedelta(seconds=1)) is None
    with time_machine.travel(at(2, 30), tick=False):
        run = SchedulerRun.objects.create(job=JOB_NIGHTLY, period=period, claimed_by="other:1:t")
        if fate == "released":
            scheduler_run_release(run=run, selected=5, sent=2, skipped=0)
    if fate == "abandoned":
        assert tick(at(2, 35)) is None  # as far as anyone can tell it is still running
        assert scheduler.get_job(scheduler_module.CATCH_UP_JOB_ID) is None
        catch_up_at = at(3, 35)  # the first tick past the lease
    else:
        catch_up_at = at(2, 35)  # the next tick
    assert tick(catch_up_at) == at(2, 30)
    catch_up = scheduler.get_job(scheduler_module.CATCH_UP_JOB_ID)
    assert catch_up.kwargs["fire_time"] == at(2, 30)
    with time_machine.travel(catch_up_at, tick=False):
        summary = catch_up.func(**catch_up.kwargs)
    assert (summary.claimed, summary.period) == (True, period)
    assert SchedulerRun.objects.get(job=JOB_NIGHTLY, period=period).finished_at is not None
    assert tick(catch_up_at + timedelta(minutes=5)) is None  # done: nothing more to catch up


@pytest.mark.django_db
def test_scheduled_nightly_job_claims_its_own_fire_time(settings):
    settings.REFRESH_PACING = False
    with time_machine.travel(at(2, 30) + timedelta(milliseconds=40), tick=False):
        first = scheduler_module.nightly_job(stop_event=threading.Event())
        second = scheduler_module.nightly_job(stop_event=threading.Event())  # another scheduler
    assert (first.period, first.claimed) == ("2026-11-30T02:30-05:00", True)
    assert (second.period, second.claimed) == ("2026-11-30T02:30-05:00", False)


@pytest.mark.django_db
def test_sweeper_runs_once_per_slot_whichever_scheduler_fires(queues, settings):
    settings.SWEEPER_INTERVAL_MINUTES = 5
    with time_machine.travel(at(4, 10) + timedelta(seconds=1), tick=False):
        first = scheduler_module.sweeper_job(stop_event=threading.Event())
    with time_machine.travel(at(4, 14) + timedelta(seconds=59), tick=False):
        second = scheduler_module.sweeper_job(stop_event=threading.Event())
    with time_machine.travel(at(4, 15), tick=False):
        third = scheduler_module.sweeper_job(stop_event=threading.Event())
    assert (first.period, first.claimed) == ("2026-11-30T04:10-05:00", True)
    assert (second.period, second.claimed) == ("2026-11-30T04:10-05:00", False)
    assert (third.period, third.claimed) == ("2026-11-30T04:15-05:00", True)


# ------------------------------------------------------------------------------
# The process
# ------------------------------------------------------------------------------
class SchedulerProcess:
    """``manage.py runscheduler`` in its own process group, on this test's database and queues."""

    def __init__(self, log_path, **settings_env: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
            "DATABASE_URL": database_url(),
            # Our queues: the session fixture deletes them at the end. Without it the
            # child's test settings would publish to (and leave behind) test<childpid>.*.
            "LOOKUP_QUEUE_PREFIX": django_settings.LOOKUP_QUEUE_PREFIX,
            "PYTHONUNBUFFERED": "1",
            # The last 02:30 is always within two days: the start catches it up.
            "SCHEDULER_MISFIRE_GRACE_SECONDS": str(2 * 86400),
            "SWEEPER_INTERVAL_MINUTES": "1440",
            **settings_env,
        }
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runscheduler"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_until(self, predicate, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, f"{what}: timed out\n{self.output}"
            time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        try:
            self.process.send_signal(sig)
            return self.process.wait(timeout=30)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# Paced so slowly (one row per batch over a long window) that a run is mid-way for minutes.
CRAWL = {"REFRESH_WINDOW_SECONDS": str(3 * 86400), "REFRESH_PACING": "true", "REFRESH_BATCH_SIZE": "1"}


@pytest.mark.django_db(transaction=True)
def test_runscheduler_stops_cleanly_on_sigterm_in_the_middle_of_a_paced_run(clean_queues, tmp_path):
    due = stale_rows(3)
    scheduler = SchedulerProcess(tmp_path / "scheduler.log", **CRAWL)
    try:
        scheduler.wait_until(lambda: refresh_due_count(now=timezone.now()) < 3, "first batch sent")
        code = scheduler.stop(signal.SIGTERM)
    finally:
        scheduler.kill()
    output = scheduler.output
    assert code == 0, output
    assert "SIGTERM received" in output
    assert "nightly_refresh interrupted" in output
    assert "sent=1 " in output
    assert output.rstrip().endswith("scheduler stopped")
    run = SchedulerRun.objects.get(job=JOB_NIGHTLY)
    assert "~" in run.period and run.sent == 1  # released: the next start sends the other two
    assert refresh_due_count(now=timezone.now()) == 2
    assert CedulaInfo.objects.get(user_id=due[0]).status != CedulaStatus.FOUND
    assert drain(QUEUE_REFRESH) == due[:1]  # on our queue, which the session deletes
    assert not queue_exists(f"test{scheduler.process.pid}.refresh")


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_scheduler_was_sigkilled_is_taken_over_after_the_lease(clean_queues, tmp_path):
    due = stale_rows(3)
    first = SchedulerProcess(tmp_path / "first.log", **CRAWL)
    try:
        # On the queue, not just marked: killed between the two, the row would be left
        # pending for the sweeper, and this test is about the run's claim.
        first.wait_until(lambda: ready(QUEUE_REFRESH) >= 1, "first batch sent")
        first.stop(signal.SIGKILL)  # no handler, no release: the claim stays open
    finally:
        first.kill()
    abandoned = SchedulerRun.objects.get(job=JOB_NIGHTLY)
    assert abandoned.finished_at is None
    period = abandoned.period
    lease = timedelta(seconds=1)
    while timezone.now() <= abandoned.started_at + lease:  # bounded: at most a second
        time.sleep(0.05)

    # The next scheduler sees the claim older than the lease and takes the period over.
    second = SchedulerProcess(
        tmp_path / "second.log",
        SCHEDULER_RUN_LEASE_SECONDS=str(int(lease.total_seconds())),
        REFRESH_PACING="false",
    )
    try:
        second.wait_until(lambda: "nightly_refresh done" in second.output, "catch-up run done")
        code = second.stop(signal.SIGTERM)
    finally:
        second.kill()
    output = second.output
    assert code == 0, output
    assert "taking over the claim" in output
    abandoned.refresh_from_db()
    assert abandoned.period.startswith(f"{period}~") and abandoned.finished_at is None
    taken = SchedulerRun.objects.get(job=JOB_NIGHTLY, period=period)
    assert (taken.sent, taken.finished_at is not None) == (2, True)
    assert Counter(drain(QUEUE_REFRESH)) == Counter(due)  # each row once across both schedulers
    assert refresh_due_count(now=timezone.now()) == 0
    for child in (first, second):
        assert not queue_exists(f"test{child.process.pid}.refresh")
