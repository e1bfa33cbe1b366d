"""Which census rows the nightly refresh selects, at the boundary ages, with frozen time.

Also the ``refresh_stale --dry-run`` report. Nothing here talks to RabbitMQ.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts.models import CedulaInfo, CedulaStatus
from accounts.selectors.refresh import (
    RefreshReason,
    refresh_due_count,
    refresh_due_sample,
    refresh_due_user_ids,
    refresh_plan,
    sweep_queue_for,
    sweep_stuck_q,
)
from actors.models import SchedulerRun
from tests.fixtures.rows import cedula_of, make_rows

pytestmark = pytest.mark.django_db

BOGOTA = ZoneInfo("America/Bogota")
NOW = datetime(2026, 11, 30, 2, 30, tzinfo=BOGOTA)
MINUTE = timedelta(minutes=1)


def due_ids(now: datetime = NOW) -> set[int]:
    return set(refresh_due_user_ids(now=now, chunk_size=7))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("status", sorted(CedulaStatus.results()))
def test_a_result_is_due_only_once_older_than_max_age(status, settings):
    settings.REFRESH_MAX_AGE_DAYS = 30
    age = timedelta(days=30)
    young, old = make_rows(
        {"status": status, "fetched_at": NOW - age + MINUTE},
        {"status": status, "fetched_at": NOW - age - MINUTE},
    )
    assert due_ids() == {old}
    assert young not in due_ids()
    assert refresh_plan(now=NOW).stale == 1


@pytest.mark.parametrize("status", sorted(CedulaStatus.failures()))
def test_a_failure_is_due_once_older_than_error_age(status, settings):
    settings.REFRESH_ERROR_AGE_HOURS = 24
    age = timedelta(hours=24)
    _young, old = make_rows(
        {"status": status, "fetched_at": NOW - age + MINUTE},
        {"status": status, "fetched_at": NOW - age - MINUTE},
    )
    assert due_ids() == {old}
    plan = refresh_plan(now=NOW)
    assert (plan.failure, plan.stale, plan.never) == (1, 0, 0)


def test_a_result_is_not_due_at_the_failure_age():
    # A week-old answer is fresh; a week-old failure is long due.
    _answer, failure = make_rows(
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=7)},
        {"status": CedulaStatus.ERROR, "fetched_at": NOW - timedelta(days=7)},
    )
    assert due_ids() == {failure}


def test_ages_follow_the_settings(settings):
    settings.REFRESH_MAX_AGE_DAYS = 3
    settings.REFRESH_ERROR_AGE_HOURS = 1
    stale, failed = make_rows(
        {"status": CedulaStatus.NOT_FOUND, "fetched_at": NOW - timedelta(days=3, minutes=1)},
        {"status": CedulaStatus.TIMEOUT, "fetched_at": NOW - timedelta(minutes=61)},
    )
    assert due_ids() == {stale, failed}


def test_never_fetched_rows_are_due_unless_in_flight():
    never, _pending, _processing = make_rows(
        {"status": CedulaStatus.ERROR, "fetched_at": None},
        {"status": CedulaStatus.PENDING, "fetched_at": None, "requested_at": NOW - timedelta(days=2)},
        {"status": CedulaStatus.PROCESSING, "fetched_at": None, "lease_expires_at": NOW - MINUTE},
    )
    assert due_ids() == {never}
    plan = refresh_plan(now=NOW)
    assert (plan.never, plan.in_flight) == (1, 2)


def test_rows_in_flight_are_skipped_however_old():
    ids = make_rows(
        {"status": CedulaStatus.PENDING, "fetched_at": NOW - timedelta(days=400)},
        {"status": CedulaStatus.PROCESSING, "fetched_at": NOW - timedelta(days=400)},
    )
    assert due_ids() == set()
    assert refresh_plan(now=NOW).in_flight == len(ids)
    assert refresh_due_count(now=NOW) == 0


def test_each_due_row_counts_for_one_reason_only():
    make_rows(
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=31)},
        {"status": CedulaStatus.CANCELLED_DECEASED, "fetched_at": NOW - timedelta(days=90)},
        {"status": CedulaStatus.BLOCKED, "fetched_at": NOW - timedelta(days=2)},
        {"status": CedulaStatus.ERROR, "fetched_at": None},
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=1)},
        {"status": CedulaStatus.PENDING},
    )
    plan = refresh_plan(now=NOW)
    assert (plan.stale, plan.failure, plan.never, plan.in_flight) == (2, 1, 1, 1)
    assert plan.due == refresh_due_count(now=NOW) == len(due_ids()) == 4


def test_due_ids_stream_never_fetched_first_then_oldest():
    newer, never, oldest = make_rows(
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=40)},
        {"status": CedulaStatus.ERROR, "fetched_at": None},
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=400)},
    )
    assert list(refresh_due_user_ids(now=NOW, chunk_size=2)) == [never, oldest, newer]


def test_sample_lists_rows_with_their_reason():
    stale, never = make_rows(
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=40)},
        {"status": CedulaStatus.ERROR, "fetched_at": None},
    )
    sample = refresh_due_sample(now=NOW, limit=5)
    assert [(user_id, reason) for user_id, _, reason in sample] == [
        (stale, RefreshReason.STALE),
        (never, RefreshReason.NEVER),
    ]
    assert refresh_due_sample(now=NOW, limit=1) == [(stale, cedula_of(stale), "stale")]


def test_dry_run_reports_counts_and_masked_cedulas_without_sending():
    stale, failed, never, in_flight = make_rows(
        {"status": CedulaStatus.FOUND, "fetched_at": NOW - timedelta(days=40)},
        {"status": CedulaStatus.BLOCKED, "fetched_at": NOW - timedelta(days=2)},
        {"status": CedulaStatus.TIMEOUT, "fetched_at": None},
        {"status": CedulaStatus.PROCESSING, "fetched_at": NOW - timedelta(days=40)},
    )
    before = list(CedulaInfo.objects.order_by("pk").values_list("status", "requested_at"))
    out = StringIO()
    call_command("refresh_stale", "--dry-run", "--show", "2", stdout=out)
    text = out.getvalue()
    assert "stale results:      1" in text
    assert "old failures:       1" in text
    assert "never fetched:      1" in text
    assert "would send:         3" in text
    assert "skipped in flight:  1" in text
    assert f"user_id={stale} cedula=*******{cedula_of(stale)[-3:]} reason=stale" in text
    assert f"user_id={failed} " in text
    assert f"user_id={never} " not in text  # --show 2
    for user_id in (stale, failed, never, in_flight):
        assert cedula_of(user_id) not in text
    assert list(CedulaInfo.objects.order_by("pk").values_list("status", "requested_at")) == before
    assert not SchedulerRun.objects.exists()


def test_refresh_stale_rejects_bad_arguments_clearly():
    with pytest.raises(CommandError, match="must be 1 or more"):
        call_command("refresh_stale", "--dry-run", "--show", "0")
    with pytest.raises(CommandError, match="not a whole number"):
        call_command("refresh_stale", "--batch-size", "lots")


QUEUES = ("p.lookups", "p.refresh")


@pytest.mark.parametrize(
    ("backlogged", "expected"),
    [
        ((), {"nightly_never", "signup", "own_refresh", "legacy_never", "legacy_fetched", "foreign", "dead"}),
        (("p.refresh",), {"signup", "own_refresh", "legacy_never", "foreign", "dead"}),
        (("p.lookups",), {"nightly_never", "legacy_fetched", "dead"}),
        (QUEUES, {"dead"}),
    ],
)
def test_sweeper_judges_each_pending_row_by_the_queue_it_waits_on(backlogged, expected, settings):
    long_ago = NOW - timedelta(seconds=2 * settings.LOOKUP_LEASE_SECONDS)
    old = NOW - timedelta(days=40)
    specs = {
        "nightly_never": {"fetched_at": None, "queue": "p.refresh"},  # the nightly run sent it to refresh
        "signup": {"fetched_at": None, "queue": "p.lookups"},
        "own_refresh": {"fetched_at": old, "queue": "p.lookups"},  # a member's own refresh
        "legacy_never": {"fetched_at": None, "queue": ""},  # from before the column: by fetched_at
        "legacy_fetched": {"fetched_at": old, "queue": ""},
        "foreign": {"fetched_at": None, "queue": "otherprefix.refresh"},  # unknown queue: by fetched_at
    }
    ids = make_rows(
        *({"status": CedulaStatus.PENDING, "requested_at": long_ago, **spec} for spec in specs.values()),
        {"status": CedulaStatus.PROCESSING, "queue": "p.refresh", "lease_expires_at": NOW - MINUTE},
    )
    names = dict(zip(ids, [*specs, "dead"], strict=True))
    condition = sweep_stuck_q(now=NOW, queues=QUEUES, backlogged=backlogged)
    selected = CedulaInfo.objects.filter(condition, user_id__in=ids).values_list("user_id", flat=True)
    assert {names[user_id] for user_id in selected} == expected


def test_sweeper_resends_to_the_rows_queue_or_the_fallback():
    assert sweep_queue_for(queue="p.refresh", fetched_at=None, queues=QUEUES) == "p.refresh"
    assert sweep_queue_for(queue="p.lookups", fetched_at=NOW, queues=QUEUES) == "p.lookups"
    assert sweep_queue_for(queue="", fetched_at=None, queues=QUEUES) == "p.lookups"
    assert sweep_queue_for(queue="", fetched_at=NOW, queues=QUEUES) == "p.refresh"
    assert sweep_queue_for(queue="x.lookups", fetched_at=NOW, queues=QUEUES) == "p.refresh"
