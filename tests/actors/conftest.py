"""End-to-end fixtures: a real `manage.py rundramatiq` worker on the real RabbitMQ.

The worker is a separate process, so it must see what the tests write: tests that
use it run with ``transactional_db`` (committed rows) against the same test
database, whose URL is handed to the worker through DATABASE_URL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.fixtures.broker import purge_queues, queue_counts  # noqa: F401 (re-exported for tests)

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Worker process is ready for action."


def database_url() -> str:
    """The URL of the test database this pytest process uses."""
    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = s["HOST"] or "127.0.0.1"
    port = s["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


class Worker:
    """A `manage.py rundramatiq` process group with its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path, *, threads: int = 4, extra_args=()) -> None:
        self.env = env
        self.log_path = log_path
        self.threads = threads
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Worker:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "rundramatiq",
                "--processes",
                "1",
                "--threads",
                str(self.threads),
                "--worker-shutdown-timeout",
                "30000",
                *self.extra_args,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if READY_LINE in self.log():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()[-4000:]}")
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM the main process and wait: the graceful shutdown path.

        Only the main process, as an orchestrator does (docker stop, systemd's
        KillMode=mixed): it forwards the signal to its worker processes itself, and
        a second SIGTERM would tell Dramatiq to kill them hard.
        """
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()  # never leave a consumer behind for the next test
            raise
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL the whole group (worker, driver, Chromium): a crashed machine."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if not self._log.closed:
            self._log.close()


@pytest.fixture(scope="session")
def worker_env(replica, django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, str]:
    with django_db_blocker.unblock():
        url = database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "DATABASE_URL": url,
        "REGISTRADURIA_WSP_URL": replica.wsp_url,
        "REGISTRADURIA_CONSULTACENSO_URL": replica.consultacenso_url,
        "REGISTRADURIA_ELECCIONESCOLOMBIA_URL": replica.eleccionescolombia_url,
        "TWOCAPTCHA_SERVER": replica.captcha_server,
        "TWOCAPTCHA_POLLING_INTERVAL": "0.1",
        "PYTHONUNBUFFERED": "1",
        # The worker must consume this run's queues (test settings derive the
        # default prefix from the pid, which differs in the subprocess).
        "LOOKUP_QUEUE_PREFIX": settings.LOOKUP_QUEUE_PREFIX,
    }
    return env


@pytest.fixture(scope="module")
def worker(worker_env, tmp_path_factory):
    """One worker per e2e module; tests that kill workers start their own.

    Module scope: it must be gone before other modules count messages on the queues.
    """
    purge_queues()
    started = Worker(worker_env, tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield started
    if started.alive:
        started.terminate()


@pytest.fixture
def clean_queues():
    purge_queues()
    yield
    purge_queues()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
