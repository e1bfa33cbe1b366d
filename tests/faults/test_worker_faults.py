"""Workers under faults: kill -9 with 50 lookups in flight, SIGTERM with lookups in
flight, one cédula that hangs, a site that blocks every attempt, two refresh runs at
once, and a broker that is down at signup. All on a private RabbitMQ node."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from django.urls import reverse

from accounts.models import CedulaInfo, CedulaStatus, User
from actors.queues import ACTOR_NAMES, QUEUE_LOOKUPS, QUEUE_REFRESH
from tests.fixtures.http import Browser
from tests.fixtures.processes import ROOT, Scheduler, Web, Worker
from tests.fixtures.rows import cedula_of, make_rows, stale_rows
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.broker, pytest.mark.browser]
pytestmark.append(pytest.mark.django_db(transaction=True))

ACTOR = ACTOR_NAMES[QUEUE_LOOKUPS]


@pytest.fixture
def node(rabbit_node):
    rabbit_node.purge(QUEUE_LOOKUPS, QUEUE_REFRESH)
    yield rabbit_node
    rabbit_node.purge(QUEUE_LOOKUPS, QUEUE_REFRESH)


def _final_count(ids) -> int:
    return CedulaInfo.objects.filter(user_id__in=ids, status__in=CedulaStatus.final()).count()


def _browser_processes(worker: Worker) -> list[psutil.Process]:
    children = psutil.Process(worker.process.pid).children(recursive=True)
    return [p for p in children if "chrom" in (p.name() or "").lower() or "node" in (p.name() or "").lower()]


def _send(node, ids) -> None:
    for user_id in ids:
        node.publish_lookup(QUEUE_LOOKUPS, ACTOR, user_id)


def test_kill_9_of_the_worker_tree_with_50_lookups_in_flight(fault_env, node, replica_clean, tmp_path):
    env = {**fault_env, "LOOKUP_LEASE_SECONDS": "10"}
    ids = make_rows(*({"status": CedulaStatus.PENDING} for _ in range(50)))
    replica_clean.set(lookup_hold=0.5)  # long enough for two lookups of one cédula to overlap
    doomed = Worker(env, tmp_path / "doomed.log", threads=8).start()
    _send(node, ids)
    wait_for(
        lambda: CedulaInfo.objects.filter(user_id__in=ids, status=CedulaStatus.PROCESSING).count() >= 4,
        timeout=60,
        message="lookups in flight",
    )
    browsers = _browser_processes(doomed)
    done_before = _final_count(ids)
    doomed.kill()
    killed_at = time.monotonic()
    _gone, left = psutil.wait_procs(browsers, timeout=15)
    survivor = Worker(env, tmp_path / "survivor.log", threads=8).start()
    try:
        wait_for(lambda: _final_count(ids) == 50, timeout=180, interval=0.5, message="all 50 final")
        recovered = time.monotonic() - killed_at
        stats = replica_clean.stats()
        print(
            f"kill -9: final before kill={done_before}/50, all 50 final {recovered:.1f}s after the kill, "
            f"concurrent lookups of one cédula={stats['concurrent_lookups']}, "
            f"chromium/driver left behind={len(left)}, lookups={stats['lookups_total']}"
        )
        assert not left, [p.name() for p in left]
        assert stats["concurrent_lookups"] == {}
        assert all(stats["lookups"].get(cedula_of(i), 0) >= 1 for i in ids)
    finally:
        survivor.terminate()


def test_sigterm_with_lookups_in_flight_loses_none_and_leaves_no_browser(
    fault_env, node, replica_clean, tmp_path
):
    ids = make_rows(*({"status": CedulaStatus.PENDING} for _ in range(20)))
    replica_clean.set(lookup_hold=1.0)
    worker = Worker(fault_env, tmp_path / "worker.log", threads=4).start()
    _send(node, ids)
    wait_for(
        lambda: CedulaInfo.objects.filter(user_id__in=ids, status=CedulaStatus.PROCESSING).exists(),
        timeout=60,
        message="lookups in flight",
    )
    browsers = _browser_processes(worker)
    in_flight = set(
        CedulaInfo.objects.filter(user_id__in=ids, status=CedulaStatus.PROCESSING).values_list(
            "user_id", flat=True
        )
    )
    started = time.monotonic()
    assert worker.terminate(timeout=90) == 0
    stop_s = time.monotonic() - started
    _gone, left = psutil.wait_procs(browsers, timeout=15)
    finished = _final_count(in_flight)
    processing = CedulaInfo.objects.filter(user_id__in=ids, status=CedulaStatus.PROCESSING).count()
    replica_clean.set(lookup_hold=0)
    successor = Worker(fault_env, tmp_path / "successor.log").start()
    try:
        wait_for(lambda: _final_count(ids) == 20, timeout=120, message="all 20 final after the restart")
        print(
            f"sigterm: stopped in {stop_s:.1f}s, in flight at SIGTERM={len(in_flight)} finished={finished}, "
            f"left processing={processing}, browsers left={len(left)}, all 20 final after a new worker"
        )
        assert finished == len(in_flight)
        assert processing == 0
        assert not left
    finally:
        successor.terminate()


def test_one_hanging_cedula_times_out_in_bound_while_the_others_are_served(
    fault_env, node, replica_clean, tmp_path
):
    deadline, retries = 8, 2
    env = {**fault_env, "SCRAPER_DEADLINE_SECONDS": str(deadline), "LOOKUP_MAX_RETRIES": str(retries)}
    hung, *others = make_rows(*({"status": CedulaStatus.PENDING} for _ in range(7)))
    replica_clean.set(hang_nuip=cedula_of(hung))
    worker = Worker(env, tmp_path / "worker.log", threads=4).start()
    try:
        started = time.monotonic()
        _send(node, [hung, *others])
        wait_for(lambda: _final_count(others) == len(others), timeout=60, message="the others")
        others_s = time.monotonic() - started
        # Each attempt ends at the deadline; (retries + 1) attempts plus backoff (≤ 1 s in tests).
        bound = (retries + 1) * (deadline + 5) + retries * 1 + 10
        wait_for(lambda: _final_count([hung]) == 1, timeout=bound, message="the hung cédula's final state")
        hung_s = time.monotonic() - started
        status = CedulaInfo.objects.get(user_id=hung).status
        print(
            f"hang: others final after {others_s:.1f}s, hung cédula {status} after {hung_s:.1f}s "
            f"(bound {bound}s, deadline {deadline}s x {retries + 1} attempts)"
        )
        assert status == CedulaStatus.TIMEOUT
        assert others_s < hung_s
    finally:
        worker.terminate()


def test_a_site_that_blocks_every_attempt_gets_bounded_attempts_with_backoff_then_blocked(
    fault_env, node, replica_clean, tmp_path
):
    retries = 3
    env = {**fault_env, "LOOKUP_MAX_RETRIES": str(retries), "LOOKUP_MIN_BACKOFF_MS": "500"}
    (user_id,) = make_rows({"status": CedulaStatus.PENDING})
    # Every source answers with its WAF page, on every attempt.
    replica_clean.set(waf=True, consultacenso_waf=True, ec_waf=True)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        started = time.monotonic()
        _send(node, [user_id])
        wait_for(lambda: _final_count([user_id]) == 1, timeout=90, message="the final state")
        took = time.monotonic() - started
        stats = replica_clean.stats()
        posts = stats["requests"].get("POST /censo/consultar/", 0)
        waf_pages = stats["outcomes"].get("wsp:waf", 0)
        time.sleep(5)  # no hot loop: nothing more reaches the site after the final state
        later = replica_clean.stats()["requests"].get("POST /censo/consultar/", 0)
        info = CedulaInfo.objects.get(user_id=user_id)
        dead = node.message_count(f"{QUEUE_LOOKUPS}.XQ")
        print(
            f"waf: status={info.status} attempts={info.attempts} wsp_posts={posts} waf_pages={waf_pages} "
            f"posts_5s_later={later} took={took:.1f}s dead_letters={dead}"
        )
        assert info.status == CedulaStatus.BLOCKED
        assert info.attempts == retries + 1
        assert posts == later, "the site was still being hit after the final state"
        assert waf_pages == retries + 1  # one blocked wsp try per attempt, no more
        assert posts <= 2 * (retries + 1)
        # Backoff between attempts: at least the minimum backoff each time.
        assert took >= retries * 0.5
        assert dead == 1
    finally:
        worker.terminate()


def test_two_refresh_runs_at_once_send_each_due_row_once(fault_env, node):
    due = stale_rows(300)

    def run(_):
        return subprocess.run(
            [sys.executable, "manage.py", "refresh_stale", "--batch-size", "50"],
            cwd=ROOT,
            env=fault_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(2)))
    sent = node.message_count(QUEUE_REFRESH)
    print(
        f"two refresh runs: messages={sent} due={len(due)} "
        f"outputs={[r.stdout.strip()[-80:] for r in results]}"
    )
    assert sent == len(due)
    assert CedulaInfo.objects.filter(user_id__in=due, status=CedulaStatus.PENDING).count() == len(due)


def test_two_schedulers_send_each_due_row_once(fault_env, node, tmp_path):
    """Two real `runscheduler` processes with a nightly run due every minute."""
    due = stale_rows(300)
    env = {**fault_env, "REFRESH_CRON": "* * * * *", "REFRESH_PACING": "false", "REFRESH_BATCH_SIZE": "50"}
    schedulers = [Scheduler(env, tmp_path / f"scheduler{n}.log").start() for n in range(2)]
    try:
        # Both fire for the same minute (or catch up a missed one at start): one claims it.
        sent = wait_for(
            lambda: node.message_count(QUEUE_REFRESH) >= len(due) and node.message_count(QUEUE_REFRESH),
            timeout=100,
            interval=1,
            message="the nightly run of one of the two schedulers",
        )
        time.sleep(5)  # anything the other scheduler would send has arrived by now
        sent = node.message_count(QUEUE_REFRESH)
        done = [s.log().count("nightly_refresh done") for s in schedulers]
        skipped = [s.log().count("nightly_refresh skipped") for s in schedulers]
        print(f"two schedulers: messages={sent} due={len(due)} runs_done={done} runs_skipped={skipped}")
        assert sent == len(due)
    finally:
        for scheduler in schedulers:
            scheduler.stop()


def test_a_broker_down_at_signup_is_caught_up_after_it_returns(fault_env, node, replica_clean, tmp_path):
    env = {**fault_env, "UNSENT_RESEND_SECONDS": "30"}
    web = Web(env, tmp_path / "web.log").start()
    worker = Worker(env, tmp_path / "worker.log").start()
    scheduler = Scheduler(env, tmp_path / "scheduler.log").start()
    try:
        browser = Browser(web.url)
        token = browser.token(reverse("accounts:register"))
        node.stop_app()
        try:
            status = browser.post(
                reverse("accounts:register"),
                {
                    "nombre_completo": "Miembro Paciente",
                    "cedula": "76543210",
                    "telefono": "3007654321",
                    "password1": "clave-segura-987",
                    "password2": "clave-segura-987",
                    "accepted_data_policy": "on",
                },
                token,
            )
            user = User.objects.get(cedula="76543210")
            info = CedulaInfo.objects.get(user=user)
            assert (status, info.status) == (302, CedulaStatus.PENDING)
            assert info.unsent_since is not None
        finally:
            node.start_app()
        back = time.monotonic()
        wait_for(
            lambda: _final_count([user.pk]) == 1, timeout=90, message="the lookup after the broker returned"
        )
        print(
            f"broker down at signup: signup={status}, "
            f"final {time.monotonic() - back:.1f}s after the broker returned"
        )
    finally:
        scheduler.stop()
        worker.terminate()
        web.stop()
