"""A PostgreSQL restart while lookups are mid-scrape: the workers recover without a
restart and no finished lookup is scraped twice (counted on the replica)."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest

from actors.queues import ACTOR_NAMES, QUEUE_LOOKUPS
from tests.fixtures.processes import ROOT, Worker
from tests.fixtures.services import PostgresCluster

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.broker, pytest.mark.browser]

LOOKUPS = 6
FINAL = (
    "found",
    "not_found",
    "cancelled_deceased",
    "cancelled_other",
    "pending_registraduria",
    "error",
    "timeout",
    "blocked",
)


@pytest.fixture
def cluster():
    pg = PostgresCluster().start()
    try:
        yield pg
    finally:
        pg.stop()


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _statuses(url: str) -> dict[int, str]:
    with psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=5) as conn:
        return dict(conn.execute("SELECT user_id, status FROM accounts_cedulainfo").fetchall())


def test_a_database_restart_mid_scrape_neither_stalls_nor_scrapes_twice(
    worker_env, rabbit_node, replica_clean, cluster, tmp_path
):
    env = {**worker_env, "RABBITMQ_URL": rabbit_node.url, "DATABASE_URL": cluster.url}
    _manage(env, "migrate", "--noinput", "--verbosity", "0")
    created = _manage(
        env,
        "shell",
        "-c",
        "from accounts.models import User, CedulaInfo\n"
        f"users = User.objects.bulk_create(User(cedula=str(74_200_000 + i), nombre_completo='Miembro', "
        f"password='!') for i in range({LOOKUPS}))\n"
        "CedulaInfo.objects.bulk_create(CedulaInfo(user_id=u.pk) for u in users)\n"
        "print(' '.join(str(u.pk) for u in users))",
    )
    ids = [int(value) for value in created.strip().splitlines()[-1].split()]
    worker = Worker(env, tmp_path / "worker.log", threads=LOOKUPS).start()
    try:
        # Slow pages: every lookup is mid-scrape when the database goes away.
        replica_clean.set(latency=1.5)
        for user_id in ids:
            rabbit_node.publish_lookup(QUEUE_LOOKUPS, ACTOR_NAMES[QUEUE_LOOKUPS], user_id)
        time.sleep(2.5)
        restart_took = cluster.restart()
        restarted = time.monotonic()
        statuses: dict[int, str] = {}
        while time.monotonic() - restarted < 90:
            statuses = _statuses(cluster.url)
            if all(statuses.get(user_id) in FINAL for user_id in ids):
                break
            time.sleep(0.5)
        recovered = time.monotonic() - restarted
        lookups = replica_clean.stats()["lookups"]
        scrapes = {user_id: lookups.get(str(74_200_000 + i), 0) for i, user_id in enumerate(ids)}
        kept = worker.log().count("lookup result kept from the previous attempt written")
        print(
            f"database restart: took={restart_took:.1f}s all_final_after={recovered:.1f}s "
            f"scrapes_per_cedula={sorted(scrapes.values())} kept_results_written={kept} "
            f"worker_alive={worker.alive}"
        )
        assert all(statuses.get(user_id) in FINAL for user_id in ids), statuses
        assert max(scrapes.values()) == 1, f"a finished lookup was scraped again: {scrapes}"
        assert worker.alive
        # Far under a lease (60 s in tests, 180 s in production): nothing waited one out.
        assert recovered < 45
    finally:
        replica_clean.reset()
        worker.terminate()
