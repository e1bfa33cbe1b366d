"""The nightly refresh and the sweeper (actors.refresh), against the real RabbitMQ.

Messages are counted on the real ``refresh``/``lookups`` queues (purged before and
after each test that publishes) by consuming them with pika.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pika
import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus
from accounts.selectors.refresh import refresh_due_count
from accounts.services.cedulas import cedula_lookup_send
from actors import refresh as refresh_jobs
from actors.models import SchedulerRun
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from actors.refresh import JOB_NIGHTLY, Pacer, refresh_run_nightly, refresh_run_sweeper
from tests.fixtures.broker import closed_port, drain, ready
from tests.fixtures.rows import make_rows, old, stale_rows

BOGOTA = ZoneInfo("America/Bogota")


class FakeTime:
    """A clock that only moves when the pacer sleeps; records the sleeps."""

    def __init__(self, stop_at_call: int | None = None, on_sleep=None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.stop_at_call = stop_at_call
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))
        return self.stop_at_call is not None and len(self.sleeps) >= self.stop_at_call


@pytest.fixture
def send_sizes(monkeypatch) -> list[tuple[str, int]]:
    """Spy (not a mock): records each batch handed to the real send_many."""
    sizes: list[tuple[str, int]] = []
    real = refresh_jobs.send_lookups

    def spy(*, user_ids, queue, batch_size):
        sizes.append((queue, len(user_ids)))
        return real(user_ids=user_ids, queue=queue, batch_size=batch_size)

    monkeypatch.setattr(refresh_jobs, "send_lookups", spy)
    return sizes


# ------------------------------------------------------------------------------
# Nightly run: batching, skipping, pacing
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_nightly_run_sends_every_due_row_once_in_batches(queues, send_sizes):
    due = stale_rows(23)
    fresh = make_rows(*({"status": CedulaStatus.FOUND, "fetched_at": old(1)} for _ in range(2)))
    started = timezone.now()

    summary = refresh_run_nightly(period="test-batches", pace=False, batch_size=5)

    assert send_sizes == [(QUEUE_REFRESH, 5)] * 4 + [(QUEUE_REFRESH, 3)]
    assert ready(QUEUE_REFRESH) == 23
    sent = drain(QUEUE_REFRESH)
    assert sent == due  # each once, oldest first
    assert drain(QUEUE_LOOKUPS) == []
    assert (summary.selected, summary.sent, summary.skipped, summary.batches) == (23, 23, 0, 5)
    for info in CedulaInfo.objects.filter(user_id__in=due):
        assert info.status == CedulaStatus.PENDING
        assert info.requested_at >= started
        assert info.claim_token == ""
        assert info.queue == QUEUE_REFRESH  # where the sweeper resends it if the message is lost
    assert set(CedulaInfo.objects.filter(user_id__in=fresh).values_list("status", flat=True)) == {
        CedulaStatus.FOUND
    }
    run = SchedulerRun.objects.get(job=JOB_NIGHTLY, period="test-batches")
    assert (run.selected, run.sent, run.skipped) == (23, 23, 0)
    assert run.finished_at is not None
    assert refresh_due_count(now=timezone.now()) == 0


@pytest.mark.django_db
def test_rows_in_flight_are_skipped_and_counted(queues):
    due = stale_rows(3)
    recent = timezone.now() - timedelta(seconds=5)
    pending, processing = make_rows(
        {"status": CedulaStatus.PENDING, "fetched_at": old(), "requested_at": recent},
        {
            "status": CedulaStatus.PROCESSING,
            "fetched_at": old(),
            "claim_token": "worker-token",
            "lease_expires_at": timezone.now() + timedelta(seconds=30),
        },
    )

    summary = refresh_run_nightly(period="test-in-flight", pace=False, batch_size=10)

    assert sorted(drain(QUEUE_REFRESH)) == sorted(due)
    assert (summary.sent, summary.skipped) == (3, 2)
    assert CedulaInfo.objects.get(user_id=pending).requested_at == recent
    busy = CedulaInfo.objects.get(user_id=processing)
    assert (busy.status, busy.claim_token) == (CedulaStatus.PROCESSING, "worker-token")


@pytest.mark.django_db
def test_a_row_that_goes_in_flight_during_the_run_is_not_sent(queues):
    due = stale_rows(10)
    taken = due[7]  # in the second batch

    def worker_claims_it(call: int) -> None:
        CedulaInfo.objects.filter(user_id=taken).update(status=CedulaStatus.PROCESSING, claim_token="w")

    fake = FakeTime(on_sleep=worker_claims_it)
    summary = refresh_run_nightly(
        period="test-race-worker",
        pace=True,
        window_seconds=60,
        batch_size=5,
        sleep=fake.sleep,
        clock=fake.clock,
    )

    assert drain(QUEUE_REFRESH) == [user_id for user_id in due if user_id != taken]
    assert (summary.selected, summary.sent, summary.skipped) == (10, 9, 1)
    assert CedulaInfo.objects.get(user_id=taken).status == CedulaStatus.PROCESSING


@pytest.mark.django_db
def test_pacing_spreads_the_batches_over_the_window(queues):
    due = stale_rows(50)
    fake = FakeTime()

    summary = refresh_run_nightly(
        period="test-pacing", pace=True, window_seconds=3600, batch_size=5, sleep=fake.sleep, clock=fake.clock
    )

    # 10 batches: the first at once, then one every 3600 / 10 seconds.
    assert fake.sleeps == [pytest.approx(360.0)] * 9
    assert sum(fake.sleeps) == pytest.approx(3600, abs=3600 / 10)
    assert summary.sent == 50
    assert sorted(drain(QUEUE_REFRESH)) == sorted(due)


@pytest.mark.django_db
def test_without_pacing_nothing_sleeps(queues):
    stale_rows(12)
    fake = FakeTime()
    summary = refresh_run_nightly(
        period="test-no-pacing",
        pace=False,
        window_seconds=3600,
        batch_size=5,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert fake.sleeps == []
    assert (summary.batches, summary.sent) == (3, 12)
    assert len(drain(QUEUE_REFRESH)) == 12


def test_pacer_deducts_the_time_spent_sending():
    fake = FakeTime()
    pacer = Pacer(window_seconds=100, batches=4, sleep=fake.sleep, clock=fake.clock)
    assert pacer.wait_turn(0)
    fake.now += 10  # the first batch took 10 s to send
    assert pacer.wait_turn(1)
    fake.now += 40  # the second one overran its slot: the third goes at once
    assert pacer.wait_turn(2)
    assert pacer.wait_turn(3)  # the fourth keeps its slot at 75 s
    assert fake.sleeps == [15.0, 10.0]


@pytest.mark.django_db
def test_stopping_mid_run_releases_the_period_and_a_rerun_sends_the_rest(queues):
    due = stale_rows(25)
    fake = FakeTime(stop_at_call=2)  # SIGTERM arrives during the second wait

    first = refresh_run_nightly(
        period="test-stop", pace=True, window_seconds=600, batch_size=5, sleep=fake.sleep, clock=fake.clock
    )

    assert first.interrupted
    assert first.sent == 10
    released = SchedulerRun.objects.get(job=JOB_NIGHTLY)
    assert released.period.startswith("test-stop~")
    assert refresh_due_count(now=timezone.now()) == 15

    second = refresh_run_nightly(period="test-stop", pace=False, batch_size=5)
    assert (second.claimed, second.sent) == (True, 15)
    assert Counter(drain(QUEUE_REFRESH)) == Counter(due)


@pytest.mark.django_db
def test_a_period_runs_only_once(queues):
    due = stale_rows(4)
    first = refresh_run_nightly(period="test-once", pace=False)
    CedulaInfo.objects.filter(user_id__in=due).update(status=CedulaStatus.FOUND)  # due again
    second = refresh_run_nightly(period="test-once", pace=False)
    assert (first.claimed, first.sent) == (True, 4)
    assert (second.claimed, second.sent) == (False, 0)
    assert len(drain(QUEUE_REFRESH)) == 4
    assert SchedulerRun.objects.filter(job=JOB_NIGHTLY, period="test-once").count() == 1


@pytest.mark.django_db
def test_a_broker_failure_loses_nothing_the_sweeper_resends_the_marked_batch(queues, settings):
    due = stale_rows(6)
    good_url = settings.RABBITMQ_URL
    settings.RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        refresh_run_nightly(period="test-broker-down", pace=False, batch_size=4)
    settings.RABBITMQ_URL = good_url

    # The first batch was marked pending before the send failed; the rest is still due.
    marked = list(CedulaInfo.objects.filter(status=CedulaStatus.PENDING).order_by("user_id"))
    assert [info.user_id for info in marked] == sorted(due[:4])
    assert refresh_due_count(now=timezone.now()) == 2
    assert SchedulerRun.objects.get(job=JOB_NIGHTLY).period.startswith("test-broker-down~")
    assert ready(QUEUE_REFRESH) == 0

    later = timezone.now() + timedelta(seconds=settings.LOOKUP_LEASE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        swept = refresh_run_sweeper(period="test-sweep-after-failure")
    assert swept.sent == 4
    assert sorted(drain(QUEUE_REFRESH)) == sorted(due[:4])


# ------------------------------------------------------------------------------
# Several schedulers at once
# ------------------------------------------------------------------------------
def _race(periods: list[str], **kwargs) -> list:
    barrier = threading.Barrier(len(periods))
    results: list = [None] * len(periods)

    def run(index: int, period: str) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = refresh_run_nightly(period=period, pace=False, **kwargs)
        except BaseException as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(periods)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing run did not finish"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_on_one_period_send_each_row_once(queues):
    due = stale_rows(120)
    results = _race(["2026-11-30T02:30-05:00", "2026-11-30T02:30-05:00"], batch_size=10)
    assert sorted(result.claimed for result in results) == [False, True]
    assert ready(QUEUE_REFRESH) == 120
    assert Counter(drain(QUEUE_REFRESH)) == Counter(due)
    assert SchedulerRun.objects.filter(job=JOB_NIGHTLY).count() == 1


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_of_different_periods_still_send_each_row_once(queues):
    # A manual run started while the nightly one is going: both claims succeed, and
    # the conditional update hands each row to exactly one of them.
    due = stale_rows(120)
    results = _race(["2026-11-30T02:30-05:00", "manual-20261130T023000.000000"], batch_size=10)
    assert all(result.claimed for result in results)
    assert sum(result.sent for result in results) == 120
    assert sum(result.selected - result.sent for result in results) == sum(
        result.skipped - result.extra["in_flight"] for result in results
    )
    assert Counter(drain(QUEUE_REFRESH)) == Counter(due)


@pytest.mark.django_db
def test_a_claim_left_unfinished_past_the_lease_is_taken_over(queues, settings):
    settings.SCHEDULER_RUN_LEASE_SECONDS = 3600
    period = "2026-11-30T02:30-05:00"
    due = stale_rows(3)
    dead = SchedulerRun.objects.create(
        job=JOB_NIGHTLY,
        period=period,
        claimed_by="host:1:killed",
        started_at=timezone.now() - timedelta(seconds=3600 - 30),
    )
    # Within its lease the run may be alive (just slow): nobody takes it over.
    assert not refresh_run_nightly(period=period, pace=False).claimed
    assert ready(QUEUE_REFRESH) == 0

    SchedulerRun.objects.filter(pk=dead.pk).update(started_at=timezone.now() - timedelta(seconds=3601))
    taken = refresh_run_nightly(period=period, pace=False)

    assert (taken.claimed, taken.sent) == (True, 3)
    assert sorted(drain(QUEUE_REFRESH)) == sorted(due)
    dead.refresh_from_db()
    assert dead.period.startswith(f"{period}~")
    assert dead.finished_at is None  # history: it never finished
    new = SchedulerRun.objects.get(job=JOB_NIGHTLY, period=period)
    assert new.finished_at is not None and new.sent == 3

    # A finished claim is never taken over, however old.
    SchedulerRun.objects.filter(pk=new.pk).update(started_at=timezone.now() - timedelta(days=2))
    CedulaInfo.objects.filter(user_id__in=due).update(status=CedulaStatus.FOUND)  # due again
    assert not refresh_run_nightly(period=period, pace=False).claimed
    assert ready(QUEUE_REFRESH) == 0


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_taking_over_one_abandoned_claim_send_each_row_once(queues, settings):
    settings.SCHEDULER_RUN_LEASE_SECONDS = 3600
    period = "2026-11-30T02:30-05:00"
    due = stale_rows(120)
    SchedulerRun.objects.create(
        job=JOB_NIGHTLY, period=period, claimed_by="host:1:killed", started_at=old(days=1)
    )
    results = _race([period, period], batch_size=10)
    assert sorted(result.claimed for result in results) == [False, True]
    assert Counter(drain(QUEUE_REFRESH)) == Counter(due)
    runs = SchedulerRun.objects.filter(job=JOB_NIGHTLY)
    assert runs.count() == 2
    assert runs.filter(period=period, finished_at__isnull=False, sent=120).count() == 1


# ------------------------------------------------------------------------------
# Sweeper
# ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sweeper_resends_lost_messages_and_rows_of_dead_workers(queues, settings):
    now = timezone.now()
    lease = timedelta(seconds=settings.LOOKUP_LEASE_SECONDS)
    long_ago = now - 2 * lease
    (
        lost_signup,
        lost_refresh,
        fresh,
        in_backoff,
        dead_signup,
        dead_refresh,
        live,
        never_requested,
    ) = make_rows(
        {"status": CedulaStatus.PENDING, "requested_at": long_ago},
        {"status": CedulaStatus.PENDING, "requested_at": long_ago, "fetched_at": old()},
        {"status": CedulaStatus.PENDING, "requested_at": now - timedelta(seconds=5)},
        {"status": CedulaStatus.PENDING, "requested_at": long_ago, "claimed_at": now - timedelta(seconds=5)},
        {
            "status": CedulaStatus.PROCESSING,
            "requested_at": long_ago,
            "claimed_at": long_ago,
            "claim_token": "dead",
            "lease_expires_at": now - timedelta(seconds=1),
        },
        {
            "status": CedulaStatus.PROCESSING,
            "requested_at": long_ago,
            "fetched_at": old(),
            "claim_token": "dead",
            "lease_expires_at": now - timedelta(seconds=1),
        },
        {
            "status": CedulaStatus.PROCESSING,
            "requested_at": long_ago,
            "claim_token": "alive",
            "lease_expires_at": now + timedelta(seconds=30),
        },
        {"status": CedulaStatus.PENDING, "requested_at": None},
    )

    summary = refresh_run_sweeper(period="test-sweep-1")

    assert sorted(drain(QUEUE_LOOKUPS)) == sorted([lost_signup, dead_signup, never_requested])
    assert sorted(drain(QUEUE_REFRESH)) == sorted([lost_refresh, dead_refresh])
    assert summary.sent == 5
    assert summary.extra["reset_processing"] == 2
    for user_id in (lost_signup, lost_refresh, dead_signup, dead_refresh, never_requested):
        info = CedulaInfo.objects.get(user_id=user_id)
        assert info.status == CedulaStatus.PENDING
        assert info.requested_at >= now
        assert (info.claim_token, info.lease_expires_at) == ("", None)
    assert CedulaInfo.objects.get(user_id=fresh).requested_at == now - timedelta(seconds=5)
    assert CedulaInfo.objects.get(user_id=in_backoff).requested_at == long_ago
    assert CedulaInfo.objects.get(user_id=live).claim_token == "alive"

    # The bump: the next sweep does not send the same rows again before a lease has passed.
    again = refresh_run_sweeper(period="test-sweep-2")
    assert again.sent == 0
    assert ready(QUEUE_LOOKUPS) == ready(QUEUE_REFRESH) == 0
    with time_machine.travel(timezone.now() + lease + timedelta(seconds=1), tick=False):
        third = refresh_run_sweeper(period="test-sweep-3")
    # A lease later nobody took any of them (no worker here): all eight are resent, once.
    assert (third.sent, third.extra["reset_processing"]) == (8, 1)
    drain(QUEUE_LOOKUPS)
    drain(QUEUE_REFRESH)


@pytest.mark.django_db
def test_sweeper_leaves_pending_rows_alone_while_their_queue_has_a_backlog(queues, settings):
    long_ago = timezone.now() - timedelta(seconds=2 * settings.LOOKUP_LEASE_SECONDS)
    waiting_refresh, lost_signup, dead_refresh = make_rows(
        {"status": CedulaStatus.PENDING, "requested_at": long_ago, "fetched_at": old()},
        {"status": CedulaStatus.PENDING, "requested_at": long_ago},
        {
            "status": CedulaStatus.PROCESSING,
            "fetched_at": old(),
            "lease_expires_at": timezone.now() - timedelta(seconds=1),
        },
    )
    assert cedula_lookup_send(user_id=waiting_refresh, queue=QUEUE_REFRESH)  # the nightly backlog
    assert ready(QUEUE_REFRESH) == 1

    summary = refresh_run_sweeper(period="test-sweep-backlog")

    assert summary.extra["ready_refresh"] == 1
    assert drain(QUEUE_LOOKUPS) == [lost_signup]
    assert drain(QUEUE_REFRESH) == [waiting_refresh, dead_refresh]  # the backlog message + the dead row
    assert CedulaInfo.objects.get(user_id=waiting_refresh).requested_at == long_ago


@pytest.mark.django_db
def test_sweeper_resends_each_row_to_the_queue_it_waits_on(queues, settings):
    # The nightly run sends never-fetched rows to refresh: while that queue has a
    # backlog they are waiting in line, not lost, and must not be duplicated onto lookups.
    lease = timedelta(seconds=settings.LOOKUP_LEASE_SECONDS)
    long_ago = timezone.now() - 2 * lease
    (never,) = make_rows({"status": CedulaStatus.TIMEOUT, "fetched_at": None})
    stale = stale_rows(1)
    # A member's own refresh of a fetched row goes to lookups; an old row names no queue,
    # another names a queue of another deployment: both fall back by fetched_at.
    own_refresh, legacy, foreign = make_rows(
        {
            "status": CedulaStatus.PENDING,
            "fetched_at": old(),
            "requested_at": long_ago,
            "queue": QUEUE_LOOKUPS,
        },
        {"status": CedulaStatus.PENDING, "fetched_at": old(), "requested_at": long_ago, "queue": ""},
        {
            "status": CedulaStatus.PENDING,
            "fetched_at": None,
            "requested_at": long_ago,
            "queue": "prod.lookups",
        },
    )
    refresh_run_nightly(period="test-queue-column", pace=False)
    assert set(CedulaInfo.objects.filter(user_id__in=[never, *stale]).values_list("queue", flat=True)) == {
        QUEUE_REFRESH
    }
    assert ready(QUEUE_REFRESH) == 2

    later = timezone.now() + lease + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        first = refresh_run_sweeper(period="test-queue-column-1")
    # refresh has a backlog: its rows wait; lookups is empty: its rows are lost and resent there.
    assert (first.extra["ready_refresh"], first.extra["lookups"], first.extra["refresh"]) == (2, 2, 0)
    assert sorted(drain(QUEUE_LOOKUPS)) == sorted([own_refresh, foreign])
    assert sorted(drain(QUEUE_REFRESH)) == sorted([never, *stale])  # the nightly messages, once
    assert CedulaInfo.objects.get(user_id=foreign).queue == QUEUE_LOOKUPS

    with time_machine.travel(later + timedelta(seconds=1), tick=False):
        second = refresh_run_sweeper(period="test-queue-column-2")
    # refresh is empty now: the rows still pending there were lost, and go back to refresh.
    assert (second.extra["lookups"], second.extra["refresh"]) == (0, 3)
    assert drain(QUEUE_LOOKUPS) == []
    assert sorted(drain(QUEUE_REFRESH)) == sorted([never, *stale, legacy])
    assert CedulaInfo.objects.get(user_id=legacy).queue == QUEUE_REFRESH
