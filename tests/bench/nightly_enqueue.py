"""Nightly refresh at scale: select and send 100,000 due rows (not a pytest test).

Run from the repository root (PostgreSQL and RabbitMQ running locally):

    .venv/bin/python tests/bench/nightly_enqueue.py [--rows 100000] [--batch-size 1000]
        [--via runscheduler|refresh_stale] [--keep-db]

It creates its own database ``paginamadre_bench`` (dropped at the end), migrates it,
COPYs in ``--rows`` due members (stale answers, old failures, never fetched) plus
20 % fresh rows and 2 % in flight that must not be sent, then runs the job in a
child process while sampling its RSS:

* ``--via runscheduler`` (default): ``manage.py runscheduler`` itself. On a fresh
  database the last 02:30 is unclaimed, so the start-up catch-up runs
  ``actors.scheduler.nightly_job`` in the scheduler's thread pool, exactly as the
  cron job does at 02:30 (pacing off). The child is stopped with SIGTERM once the
  run's summary line is out, so its peak RSS is the scheduler process's.
* ``--via refresh_stale``: ``manage.py refresh_stale`` (same service, no APScheduler).

The child publishes under its own queue prefix (``LOOKUP_QUEUE_PREFIX``, default
``bench.nightly.``, so neither a running worker nor another benchmark shares the
queues). The bench checks that exactly ``--rows`` messages reached the real
``<prefix>refresh`` queue, then deletes the prefix's queues.

Targets: ≤ 60 s and peak RSS ≤ 200 MB. The last line is machine-readable:
RESULT via=.. rows=.. seconds=.. peak_rss_mb=..
(seconds: the job itself, from its summary line; the child's wall time including
Django start-up is printed above it.)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[2]
BENCH_DB = "paginamadre_bench"
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
QUEUE_PREFIX = os.environ.get("BENCH_QUEUE_PREFIX", "bench.nightly.")
QUEUE = f"{QUEUE_PREFIX}refresh"
# Everything the child may declare under the prefix (Dramatiq adds .DQ delay and .XQ dead-letter queues).
PREFIX_QUEUES = [
    f"{QUEUE_PREFIX}{name}{suffix}" for name in ("lookups", "refresh") for suffix in ("", ".DQ", ".XQ")
]
SUMMARY = re.compile(r"nightly_refresh (done|failed|interrupted) .*")

USER_COLUMNS = [
    "id", "password", "is_superuser", "cedula", "nombre_completo", "telefono", "accepted_data_policy",
    "referral_code", "referral_goal", "role", "is_active", "is_staff", "date_joined",
]  # fmt: skip
INFO_COLUMNS = [
    "user_id", "status", "departamento", "municipio", "puesto", "direccion", "mesa", "novedad", "resolucion",
    "fecha_novedad", "source", "result_status", "message", "error_detail", "raw_response", "attempts",
    "claim_token", "fetched_at", "requested_at", "lease_expires_at", "created_at", "updated_at", "queue",
]  # fmt: skip


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        # Test settings: DEBUG off (no query log growing in memory), no secrets needed.
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "DATABASE_URL": f"{PG_SERVER}/{BENCH_DB}",
        "RABBITMQ_URL": RABBITMQ_URL,
        # Without it the child's test settings publish to test<childpid>.refresh.
        "LOOKUP_QUEUE_PREFIX": QUEUE_PREFIX,
        "PYTHONUNBUFFERED": "1",
    }


def scheduler_env(*, batch_size: int) -> dict[str, str]:
    """runscheduler that catches up the last 02:30 at start, unpaced, and does nothing else."""
    return {
        **child_env(),
        "SCHEDULER_MISFIRE_GRACE_SECONDS": str(2 * 86400),  # the last 02:30 is always within 2 days
        "REFRESH_PACING": "false",
        "REFRESH_BATCH_SIZE": str(batch_size),
        "SWEEPER_INTERVAL_MINUTES": "1440",  # no sweep or catch-up check tick during the bench
    }


def recreate_database() -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database() -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def populate(*, due: int) -> dict[str, int]:
    """COPY members in; returns how many rows of each kind."""
    now = datetime.now(UTC)
    fresh = due // 5
    in_flight = max(1, due // 50)
    total = due + fresh + in_flight

    def info(i: int) -> tuple:
        blank = ("",) * 13  # departamento .. raw_response
        if i < due:
            kind = i % 10
            if kind < 8:  # answers older than 30 days
                status, fetched = "found", now - timedelta(days=31 + i % 300)
            elif kind == 8:  # failures older than 24 h
                status, fetched = "error", now - timedelta(hours=25 + i % 100)
            else:  # never fetched
                status, fetched = "timeout", None
            requested, lease, queue = None, None, ""
        elif i < due + fresh:
            status, fetched, requested, lease, queue = "found", now - timedelta(days=i % 29), None, None, ""
        else:
            status, fetched = "processing", now - timedelta(days=90)
            requested, lease, queue = now, now + timedelta(minutes=3), QUEUE
        return (i + 1, status, *blank, 1, "", fetched, requested, lease, now, now, queue)

    user_tail = ("USER", True, False, now)  # role, is_active, is_staff, date_joined
    with psycopg.connect(f"{PG_SERVER}/{BENCH_DB}") as conn:
        _copy(
            conn,
            "accounts_user",
            USER_COLUMNS,
            (
                (i + 1, "!", False, str(1_100_000_000 + i), "Miembro", "", True, f"B{i:09d}", 10, *user_tail)
                for i in range(total)
            ),
        )
        _copy(conn, "accounts_cedulainfo", INFO_COLUMNS, (info(i) for i in range(total)))
        conn.execute("SELECT setval('accounts_user_id_seq', %s)", (total,))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE accounts_cedulainfo")
    return {"due": due, "fresh": fresh, "in_flight": in_flight}


def queue_state() -> tuple[int, int]:
    """(ready messages, consumers) of the refresh queue."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        method = connection.channel().queue_declare(QUEUE, passive=True).method
        return method.message_count, method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0, 0  # not declared yet: the job declares it as Dramatiq does
    finally:
        if connection.is_open:
            connection.close()


def delete_queues() -> None:
    """Delete every queue under the bench's prefix (messages included): nothing is left behind."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        for name in PREFIX_QUEUES:
            with contextlib.suppress(pika.exceptions.ChannelClosedByBroker):  # never declared
                connection.channel().queue_delete(name)
    finally:
        connection.close()


def run_job(*, via: str, batch_size: int, timeout: float = 900) -> tuple[float, float, str]:
    """Run the job in a child; returns (wall seconds to the summary line, peak RSS MB, output)."""
    if via == "runscheduler":
        command, env = [sys.executable, "manage.py", "runscheduler"], scheduler_env(batch_size=batch_size)
    else:
        command = [sys.executable, "manage.py", "refresh_stale", "--batch-size", str(batch_size)]
        env = child_env()
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sampled = [0]
    lines: list[str] = []
    summary_seen = threading.Event()
    done = threading.Event()

    def sample() -> None:
        proc = psutil.Process(child.pid)
        while not done.is_set():
            try:
                sampled[0] = max(sampled[0], proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def read() -> None:
        for raw in child.stdout:
            line = raw.decode(errors="replace")
            lines.append(line)
            if SUMMARY.search(line):
                summary_seen.set()
        summary_seen.set()  # EOF: the child exited

    sampler = threading.Thread(target=sample, daemon=True)
    reader = threading.Thread(target=read, daemon=True)
    sampler.start()
    reader.start()
    try:
        if not summary_seen.wait(timeout):
            raise SystemExit(f"{via}: no summary line after {timeout:.0f}s:\n{''.join(lines)}")
        wall = time.monotonic() - started
        if via == "runscheduler" and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # the scheduler runs until told to stop
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if child.returncode is None and child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    done.set()
    sampler.join(timeout=5)
    reader.join(timeout=5)
    output = "".join(lines)
    if child.returncode != 0:
        raise SystemExit(f"{via} failed ({child.returncode}):\n{output}")
    # ru_maxrss is in KB on Linux: the kernel's own peak, which sampling could miss.
    peak = max(usage.ru_maxrss * 1024, sampled[0])
    return wall, peak / 2**20, output


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="due rows to send (default 100000)")
    parser.add_argument("--batch-size", type=int, default=1000, help="ids per batch (default 1000)")
    parser.add_argument(
        "--via",
        choices=("runscheduler", "refresh_stale"),
        default="runscheduler",
        help="the child that runs the job (default runscheduler: the scheduler's own code path)",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave paginamadre_bench in place")
    args = parser.parse_args()

    recreate_database()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=child_env(),
            check=True,
        )
        t0 = time.monotonic()
        counts = populate(due=args.rows)
        print(f"populated {counts} in {time.monotonic() - t0:.1f}s", flush=True)

        delete_queues()
        ready, consumers = queue_state()
        if consumers:
            raise SystemExit(
                f"{consumers} consumer(s) on {QUEUE!r}: stop the workers, they would eat the messages"
            )
        assert ready == 0, ready

        wall, peak_mb, output = run_job(via=args.via, batch_size=args.batch_size)
        print(output.strip(), flush=True)
        line = SUMMARY.search(output)
        summary = line and re.search(r"sent=(\d+) .*seconds=([\d.]+)", line.group(0))
        if summary is None or not line.group(0).startswith("nightly_refresh done"):
            raise SystemExit("no summary line in the job's output")
        sent, seconds = int(summary.group(1)), float(summary.group(2))
        ready, _ = queue_state()
        print(f"sent={sent} on_queue={ready} child_wall_seconds={wall:.1f} msgs_per_s={sent / seconds:.0f}")
        if sent != args.rows or ready != args.rows:
            raise SystemExit(f"expected {args.rows} messages, sent {sent}, {ready} on the queue")
    finally:
        delete_queues()
        if not args.keep_db:
            drop_database()
    print(f"RESULT via={args.via} rows={args.rows} seconds={seconds:.1f} peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    main()
