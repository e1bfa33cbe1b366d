"""Worker metrics, end to end: the production start script (compose/production/worker/start)
runs a real worker with two processes; a lookup whose first captcha fails is retried and then
found; the exposition port serves dramatiq's metrics and ours, summed over both processes.
The retry is one WARNING line without a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from accounts.models import CedulaInfo, CedulaStatus, User
from tests.fixtures.broker import purge_queues
from tests.fixtures.processes import READY_LINE, free_port
from tests.fixtures.worker import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` (label order free); 0.0 when absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        sample, _, number = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', sample))
        if sample.split("{")[0] == name and all(found.get(k) == v for k, v in labels.items()):
            return float(number)
    return 0.0


@pytest.fixture
def metrics_worker(worker_env, replica, tmp_path):
    purge_queues()
    replica.reset()
    port = free_port()
    log = tmp_path / "worker.log"
    env = {
        **worker_env,
        "WORKER_METRICS": "true",
        "WORKER_METRICS_PORT": str(port),
        "WORKER_METRICS_HOST": "127.0.0.1",
        "WORKER_METRICS_DIR": str(tmp_path / "metrics"),
        "PYTHON": sys.executable,
        "DRAMATIQ_PROCESSES": "2",
        "DRAMATIQ_THREADS": "2",
        "BROWSER_PAGE_POOL_SIZE": "2",
        "DRAMATIQ_SHUTDOWN_TIMEOUT_MS": "30000",
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "compose/production/worker/start")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    text = lambda: log.read_text(errors="replace")  # noqa: E731
    try:
        wait_for(lambda: text().count(READY_LINE) >= 2, timeout=90, message="two worker processes")
        yield port, text
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        replica.reset()
        purge_queues()


def test_worker_exports_dramatiq_and_lookup_metrics_summed_over_its_processes(metrics_worker, replica):
    port, log = metrics_worker
    replica.set(captcha_fail=1)  # the captcha service refuses the first solve
    user = User.objects.create_user("1000000001", "clave-segura-123", nombre_completo="Ana Métrica")

    def found():
        info = CedulaInfo.objects.get(user=user)
        return info if info.status == CedulaStatus.FOUND else None

    info = wait_for(found, timeout=90, message="the retried lookup to find the voting place")
    assert info.attempts == 2

    def exported():
        text = scrape(port)
        return text if value(text, "paginamadre_lookups_total", status="found") >= 1 else None

    text = wait_for(exported, timeout=20, message="the lookup metrics")
    assert value(text, "dramatiq_messages_total", actor_name="lookup_cedula") == 2
    assert value(text, "dramatiq_message_retries_total", actor_name="lookup_cedula") == 1
    assert value(text, "dramatiq_message_errors_total", actor_name="lookup_cedula") == 1
    assert value(text, "paginamadre_lookups_total", source="wsp", status="found") == 1
    assert value(text, "paginamadre_lookups_total", source="wsp", status="captcha_rejected") == 1
    assert value(text, "paginamadre_lookup_outcomes_total", queue="lookups", outcome="retry") == 1
    assert value(text, "paginamadre_lookup_outcomes_total", queue="lookups", outcome="done") == 1
    assert value(text, "paginamadre_lookup_duration_seconds_count", source="wsp") == 2
    assert value(text, "paginamadre_captcha_solves_total", result="rejected") == 1
    assert value(text, "paginamadre_captcha_solves_total", result="ok") == 1
    assert value(text, "paginamadre_captcha_solve_seconds_count") == 1
    # Both processes report: 2 pages each; none lent out once the lookup is done.
    assert value(text, "paginamadre_browser_pages_capacity") == 4
    assert value(text, "paginamadre_browser_pages_in_use") == 0

    lines = log().splitlines()
    retries = [line for line in lines if "will be retried" in line]
    assert len(retries) == 1, retries
    assert " WARNING actors.lookups " in retries[0]
    assert "1000000001" not in log()  # the cédula is masked even in the retry's reason
    assert "Traceback" not in log() and "unhandled exception" not in log()
    assert "Retrying message" not in log()
    assert "worker metrics are not exported" not in log()
    # One format and one clock for every line, dramatiq's own processes included (settings' LOGGING).
    logged = [line for line in lines if line.strip() and not line.startswith(" * ")]
    odd = [line for line in logged if not re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ", line)]
    assert not odd, odd[:5]


def test_a_worker_without_the_metrics_directory_says_so(worker_env, tmp_path):
    """The pitfall: without PROMETHEUS_MULTIPROC_DIR at start the metrics would be silently empty."""
    env = {k: v for k, v in worker_env.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db")}
    env.update(WORKER_METRICS="true", dramatiq_prom_port=str(free_port()), dramatiq_prom_host="127.0.0.1")
    env["dramatiq_prom_db"] = str(tmp_path / "db")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: READY_LINE in log.read_text(errors="replace"), timeout=60, message="the worker")
        time.sleep(0.5)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    assert "ERROR actors.metrics" in log.read_text() and "worker metrics are not exported" in log.read_text()
