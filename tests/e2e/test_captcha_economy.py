"""The captcha economy through the whole pipeline: a real `rundramatiq` worker, the real RabbitMQ,
Redis, the replica's 2captcha stand-in over HTTP.

- an account error (no balance) delays lookup messages, it does not fail them, and the service is
  asked once, not in a hot loop; one clear ERROR line;
- many lookups waiting on the captcha hold few database connections (LOOKUP_DB_CONNECTIONS).
"""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import CedulaInfo, CedulaStatus, User
from actors.queues import QUEUE_LOOKUPS
from tests.fixtures.broker import purge_queues, queue_counts
from tests.fixtures.processes import Worker
from tests.fixtures.worker import wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.broker,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _clear_fleet_state() -> None:
    import redis

    from actors.captcha_budget import key_prefix

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(key_prefix() + "*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def own_worker(worker_env, replica, tmp_path):
    """A worker of this module's own: short account back-off, few DB slots, many threads."""
    replica.reset()
    purge_queues()
    _clear_fleet_state()
    started = []

    def start(**env) -> Worker:
        merged = {**worker_env, "CAPTCHA_ACCOUNT_BACKOFF_SECONDS": "3", **env}
        threads = int(merged.pop("THREADS", "8"))
        worker = Worker(merged, tmp_path / f"worker{len(started)}.log", threads=threads).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.alive:
            worker.terminate()
    replica.reset()
    purge_queues()
    _clear_fleet_state()


def test_no_balance_delays_the_lookup_then_it_runs_once_topped_up(own_worker, replica):
    worker = own_worker()
    replica.set(captcha_delay=0, captcha_zero_balance=True)

    user = User.objects.create_user("1000000004", "Caracol-Azul-2026", nombre_completo="Ana")
    wait_for(lambda: replica.stats()["captcha"].get("ERROR_ZERO_BALANCE"), timeout=30, message="the error")
    time.sleep(2.0)  # inside the 3 s pause: the message is delayed, the row untouched

    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PENDING and info.attempts == 0 and not info.error_detail
    assert replica.stats()["captcha"]["ERROR_ZERO_BALANCE"] == 1  # asked once, no hot loop
    assert queue_counts(QUEUE_LOOKUPS)[2] == 0  # nothing dead-lettered

    replica.set(captcha_zero_balance=False)  # the operator tops the balance up
    wait_for(
        lambda: CedulaInfo.objects.get(user=user).status == CedulaStatus.FOUND,
        timeout=60,
        message="the delayed lookup to run",
    )
    info = CedulaInfo.objects.get(user=user)
    assert info.attempts == 1  # the delay used up no attempt
    errors = [line for line in worker.log().splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "ERROR_ZERO_BALANCE" in errors[0] and "delayed, not failed" in errors[0]


def _connections_to_test_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="counts connections in PostgreSQL's pg_stat_activity (SQLite has no server connections)",
)
def test_lookups_waiting_on_the_captcha_hold_no_database_connection(own_worker, replica):
    own_worker(THREADS="24", LOOKUP_DB_CONNECTIONS="2", BROWSER_PAGE_POOL_SIZE="2")
    replica.set(captcha_delay=2.0)
    cedulas = [str(7_100_000_000 + i) for i in range(24)]  # not in the census: quick answers
    users = [User.objects.create_user(c, "Caracol-Azul-2026", nombre_completo="Miembro") for c in cedulas]
    connection.close()

    peak = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        peak = max(peak, _connections_to_test_database())
        done = CedulaInfo.objects.filter(user__in=users, status=CedulaStatus.NOT_FOUND).count()
        connection.close()
        if done == len(users):
            break
        time.sleep(0.1)

    assert done == len(users)
    # 24 lookups were in flight at once (24 threads); the worker held at most its 2 slots.
    assert 1 <= peak <= 2, peak
