"""`make run` stops gracefully: Ctrl-C lets a lookup in flight finish, nothing is killed,
and make does not end with "Error 130".

The real thing: `make run` (setup, migrate, the AMQP check, then compose/local/run.py with
the real Procfile: runserver, rundramatiq with Chromium, the replica, the scheduler) on
free ports, this run's own queues and a scratch SQLite database. The replica answers
each page slowly, so the lookup is still in the browser when Ctrl-C arrives, for longer
than honcho's own 5 s kill wait.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from tests.fixtures.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.browser]


def _control(port: int, **switches) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/__control__",
        data=json.dumps(switches).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).read()


def _wait(predicate, timeout: float, what: str, output) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{output()[-4000:]}")


def _status(db: Path, cedula: str) -> str | None:
    with sqlite3.connect(db, timeout=30) as conn:
        row = conn.execute(
            "SELECT c.status FROM accounts_cedulainfo c JOIN accounts_user u ON u.id = c.user_id "
            "WHERE u.cedula = ?",
            (cedula,),
        ).fetchone()
    return row[0] if row else None


def test_ctrl_c_lets_the_lookup_in_flight_finish_and_make_exits_quietly(tmp_path):
    web_port, replica_port, metrics_port = free_port(), free_port(), free_port()
    db = tmp_path / "run.sqlite3"
    prefix = f"runstop{os.getpid()}."
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DJANGO_SETTINGS_MODULE": "site_config.settings.local",
        "DATABASE_URL": f"sqlite:///{db}",
        "WEB_PORT": str(web_port),
        "REPLICA_PORT": str(replica_port),
        "WORKER_METRICS_PORT": str(metrics_port),
        "WORKER_METRICS_DIR": str(tmp_path / "worker-metrics"),
        "LOOKUP_QUEUE_PREFIX": prefix,
        "DRAMATIQ_SHUTDOWN_TIMEOUT_MS": "40000",
        "DRAMATIQ_THREADS": "2",
        "BROWSER_PAGE_POOL_SIZE": "2",
        # The nightly job and the sweeper stay out of the way of this one lookup.
        "SWEEPER_INTERVAL_MINUTES": "1440",
        "REFRESH_CRON": "0 3 1 1 *",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "make-run.log"
    with open(log, "wb") as out:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, like a terminal's foreground job
        )
    output = lambda: log.read_text(errors="replace")  # noqa: E731
    try:
        _wait(lambda: "Worker process is ready for action." in output(), 120, "the worker", output)
        _wait(
            lambda: f"127.0.0.1:{web_port}" in output() and "Quit the server" in output(), 60, "web", output
        )
        # Every page load of the replica takes 4 s: two loads + the POST keep the lookup
        # in the browser for ~10 s, twice honcho's 5 s kill wait.
        _control(replica_port, latency=4.0)
        created = subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "manage.py",
                "shell",
                "-c",
                "from accounts.models import User; "
                "User.objects.create_user('1000000001', 'clave-segura-123', nombre_completo='Ana Paro')",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stderr
        _wait(lambda: _status(db, "1000000001") == "processing", 60, "the lookup to start", output)
        time.sleep(1.0)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        code = make.wait(timeout=90)
    finally:
        if make.poll() is None:
            # Its children run in sessions of their own: let run.py stop them before giving up.
            os.killpg(make.pid, signal.SIGTERM)
            try:
                make.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait(timeout=30)
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-c", _DELETE_QUEUES.format(prefix=prefix)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
        )
    text = output()
    assert _status(db, "1000000001") == "found", text[-4000:]
    assert "SIGKILL" not in text, text[-4000:]
    assert "Killing worker process" not in text, text[-4000:]
    assert "Error 130" not in text and "Error 143" not in text, text[-4000:]
    assert "browser closed for worker shutdown" in text
    # One clock: honcho's line prefix shows the same time as the app's own log line (TIME_ZONE).
    stamped = re.search(r"^(\d\d:\d\d:\d\d) worker\.1 +\| \d{4}-\d\d-\d\d (\d\d:\d\d:\d\d),", text, re.M)
    assert stamped, text[-2000:]
    prefix, app = (datetime.strptime(value, "%H:%M:%S") for value in stamped.groups())
    assert abs((prefix - app).total_seconds()) <= 2
    # make died of the SIGINT it got itself (as in a terminal), after its recipe ended cleanly.
    assert code in (0, -signal.SIGINT), text[-4000:]


_DELETE_QUEUES = """
import pika
conn = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/"))
ch = conn.channel()
for q in ("lookups", "refresh"):
    for suffix in ("", ".DQ", ".XQ"):
        ch.queue_delete("{prefix}" + q + suffix)
conn.close()
"""
