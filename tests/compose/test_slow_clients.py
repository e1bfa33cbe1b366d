"""Slow clients cannot starve the health probe (the issue's finding, reproduced and fixed).

Clients that send their headers at 1 byte/s each hold whatever reads their request. Against
gunicorn's sync workers (the old setup: 3 workers) four of them take every worker and
/healthz stops answering: that run is the control, and it must fail. Against the
production setup, gunicorn gthread workers from compose/production/django/start, behind
the stack's nginx (which buffers whole requests before passing them on), /healthz answers
throughout: with the same four slow clients straight at gunicorn, and behind nginx with as many
slow clients as gunicorn has threads in all (2 workers x 8).

Everything is on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from actors.broker import declare_lookup_queue
from actors.queues import QUEUE_LOOKUPS
from tests.compose.test_compose_files import _nginx_conf
from tests.fixtures.processes import free_port
from tests.fixtures.tools import ensure_tool
from tests.fixtures.worker import database_url

ROOT = Path(__file__).resolve().parents[2]
SLOW_SECONDS = 8.0
pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def _wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on {port}")


def _slow_client(port: int, stop: threading.Event) -> None:
    """Send a request's headers one byte per second until ``stop`` or SLOW_SECONDS."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return
    try:
        sock.sendall(b"GET /ingresar/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        deadline = time.monotonic() + SLOW_SECONDS + 2
        while not stop.is_set() and time.monotonic() < deadline:
            sock.sendall(b"a")
            stop.wait(1.0)
    except OSError:
        pass  # the server gave up on us: what a good server does
    finally:
        sock.close()


def _probe_while_slow_clients(port: int, clients: int) -> tuple[int, int]:
    """(answered, failed) /healthz probes (2 s timeout each) while ``clients`` trickle in."""
    stop = threading.Event()
    threads = [threading.Thread(target=_slow_client, args=(port, stop), daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # let them connect and start trickling
    answered = failed = 0
    deadline = time.monotonic() + SLOW_SECONDS - 2
    for _ in range(40):
        if time.monotonic() >= deadline:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                answered += response.status == 200
        except OSError:
            failed += 1
        time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    return answered, failed


@pytest.fixture
def web_env(django_db_blocker, tmp_path):
    declare_lookup_queue(QUEUE_LOOKUPS)
    with django_db_blocker.unblock():
        url = database_url()
    from django.conf import settings

    return {
        **os.environ,
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "DATABASE_URL": url,
        "LOOKUP_QUEUE_PREFIX": settings.LOOKUP_QUEUE_PREFIX,
        "WEB_METRICS_DIR": str(tmp_path / "web-metrics"),
    }


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_slow_clients_starve_sync_workers_but_not_the_production_setup(web_env, tmp_path):
    nginx = ensure_tool("nginx")
    # Control: the old web process, 3 sync workers, 4 slow clients.
    sync_port = free_port()
    (tmp_path / "sync-metrics").mkdir()
    sync = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "site_config.wsgi:application",
            "--bind",
            f"127.0.0.1:{sync_port}",
            "--workers",
            "3",
            "--worker-class",
            "sync",
            "--timeout",
            "30",
        ],
        {**web_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "sync-metrics")},
        tmp_path / "sync.log",
    )
    try:
        _wait_until_up(sync_port)
        sync_answered, sync_failed = _probe_while_slow_clients(sync_port, clients=4)
    finally:
        _stop(sync)

    # Production: the start script's gthread workers behind the stack's nginx.
    web_port, proxy_port = free_port(), free_port()
    threads = 8  # the start script's default (WEB_THREADS)
    web = _start(
        [str(ROOT / "compose/production/django/start")],
        {**web_env, "WEB_BIND": f"127.0.0.1:{web_port}", "WEB_CONCURRENCY": "2", "WEB_THREADS": str(threads)},
        tmp_path / "web.log",
    )
    conf = _nginx_conf(tmp_path, upstream=f"127.0.0.1:{web_port}", port=proxy_port)
    proxy = _start(
        [nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"], web_env, tmp_path / "nginx.log"
    )
    try:
        _wait_until_up(web_port)
        _wait_until_up(proxy_port)
        direct_answered, direct_failed = _probe_while_slow_clients(web_port, clients=4)
        proxied_answered, proxied_failed = _probe_while_slow_clients(proxy_port, clients=2 * threads)
    finally:
        _stop(proxy)
        _stop(web)

    print(
        f"RESULT sync: answered={sync_answered} failed={sync_failed}; gthread direct, 4 slow clients: "
        f"answered={direct_answered} failed={direct_failed}; nginx+gthread, {2 * threads} slow clients: "
        f"answered={proxied_answered} failed={proxied_failed}"
    )
    # The control reproduces the finding: the probe times out while the slow clients hold on.
    assert sync_failed >= 1 and sync_answered <= sync_failed
    # gthread alone already keeps answering with the same four clients...
    assert direct_failed == 0 and direct_answered >= 5
    # ...and behind nginx, as many slow clients as gunicorn has threads in all do not matter.
    assert proxied_failed == 0 and proxied_answered >= 5
