"""Shared plumbing for the pipeline benchmarks: a bench database, the replica and workers.

Benchmarks are plain scripts (not collected by pytest). They use their own
PostgreSQL database (created and dropped here) or a SQLite file, their own
replica on a free port, and real `rundramatiq` workers on the real RabbitMQ.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Worker process is ready for action."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def bench_database(name: str) -> str:
    """(Re)create PostgreSQL database ``name`` and return its URL; SQLite if BENCH_SQLITE=1."""
    if os.environ.get("BENCH_SQLITE") == "1":
        path = ROOT / "var" / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    if os.environ.get("BENCH_SQLITE") == "1":
        return
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Replica:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scrapers.replica", "--port", str(self.port), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if "listening on" in line:
                return
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("replica did not start")

    def env(self) -> dict[str, str]:
        return {
            "REGISTRADURIA_WSP_URL": f"{self.base_url}/censo/consultar/",
            "REGISTRADURIA_CONSULTACENSO_URL": f"{self.base_url}/consultar/",
            "REGISTRADURIA_ELECCIONESCOLOMBIA_URL": f"{self.base_url}/identificacion",
            "TWOCAPTCHA_SERVER": self.base_url,
            "TWOCAPTCHA_POLLING_INTERVAL": "0.05",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if READY_LINE in log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        text = log_path.read_text(errors="replace")[-3000:]
        self.stop()  # never leave a half-started worker consuming
        raise RuntimeError(f"worker did not start:\n{text}")

    def stop(self) -> None:
        try:
            os.kill(self.process.pid, signal.SIGTERM)  # the main process forwards it
            self.process.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if not self._log.closed:
            self._log.close()


def setup_django(database_url: str, extra_env: dict[str, str] | None = None) -> None:
    """Configure Django in this process against ``database_url`` and migrate it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "site_config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    # Own queues, shared with the workers this bench starts (they inherit os.environ).
    os.environ.setdefault("LOOKUP_QUEUE_PREFIX", "bench.")
    os.environ.update(extra_env or {})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def purge_lookup_queues() -> None:
    from tests.fixtures.broker import purge_queues

    purge_queues()


def delete_lookup_queues() -> None:
    """Drop the bench's queues (its prefix is its own) so nothing is left on the broker."""
    from tests.fixtures.broker import delete_queues

    delete_queues()
