"""Lookups at the real site's pace: captcha solves of 20 s, one real worker process (not a pytest test).

    .venv/bin/python -m tests.bench.realistic_throughput [--lookups 600] [--captcha-delay 20]
        [--threads 200] [--pages 5] [--old-answers 100] [--old-seconds 240]

The replica (its 2captcha stand-in answering each solve after ``--captcha-delay`` seconds), a
PostgreSQL bench database, the real RabbitMQ and ONE ``manage.py rundramatiq --processes 1`` worker
(``--threads`` threads, one Chromium with ``--pages`` warm pages). In the same run, one after the
other, each with ``--lookups`` messages queued on ``refresh`` before its worker starts:

- **old**: ``CAPTCHA_TOKEN_FIRST=false``, today's order (a page is taken, then the captcha is
  solved while it waits). At ~0.3 lookups/s, 600 would take half an hour, so its steady rate is
  measured over a bounded window: from its first answer until ``--old-answers`` answers or
  ``--old-seconds`` seconds, whichever comes first;
- **new**: ``CAPTCHA_TOKEN_FIRST=true`` (token first, page last), until every lookup has its answer.

Rates are answers per second from the first answer to the last one counted (the first ~20 s, when
every lookup is still waiting on its first solve, is the same for both and left out). During the
new phase it samples the PSS of the worker's process tree (the dramatiq parent, its worker process,
Playwright's node driver, every Chromium process: the sum of ``Pss`` over ``/proc/<pid>/smaps_rollup``,
as smem does) and, in both phases, the database connections open to the bench database
(``pg_stat_activity``, our own sampling connection excluded). Solves per answer are the replica's
``in.php`` submissions of the new phase divided by its answers.

Last line:
RESULT captcha_delay_s=20 old_lookups_per_s=.. new_lookups_per_s=.. ratio=.. pss_mb=.. solves_per_answer=.. db_connections_max=..
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path

from tests.bench._harness import (
    Worker,
    bench_database,
    delete_lookup_queues,
    drop_database,
    purge_lookup_queues,
    setup_django,
    start_replica,
)

DB_NAME = "paginamadre_bench_realistic"
FOUND_CEDULAS = ["1000000001", "1000000002", "1000000003", "1000000004"]


def tree_pss(root_pid: int) -> list[tuple[float, str]]:
    """(Pss MB, what) of ``root_pid`` and each of its descendants (``Pss`` of smaps_rollup)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    found: list[tuple[float, str]] = []
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                pss_kb = next(int(line.split()[1]) for line in handle if line.startswith("Pss:"))
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                # Chromium rewrites its command line as one space-separated string.
                argv = handle.read().decode(errors="replace").replace("\0", " ").split()
        except (OSError, StopIteration):
            continue
        kind = next((arg.removeprefix("--type=") for arg in argv if arg.startswith("--type=")), "")
        name = Path(argv[0]).name if argv else "?"
        found.append((pss_kb / 1024, f"chromium {kind}" if kind else name))
    return found


class Sampler:
    """Samples PSS of a process tree and the bench database's connections in a thread."""

    # Once a second: reading every process's smaps_rollup twice a second took ~6 % of a core from
    # the CPU-bound worker it measures.
    def __init__(self, database_url: str, interval: float = 1.0) -> None:
        self.database_url = database_url.replace("postgres://", "postgresql://", 1)
        self.interval = interval
        self.root_pid = 0
        self.pss_max = 0.0
        self.pss_parts: list[tuple[float, str]] = []
        self.connections_max = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, root_pid: int) -> Sampler:
        self.root_pid = root_pid
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                self.connections_max = max(self.connections_max, count)
                if self.root_pid:
                    parts = tree_pss(self.root_pid)
                    total = sum(mb for mb, _ in parts)
                    if total > self.pss_max:
                        self.pss_max, self.pss_parts = total, parts

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def queue_members(count: int, offset: int) -> list[int]:
    """``count`` members with a pending row and a message on ``refresh`` each; returns their ids."""
    from accounts.models import CedulaInfo, CedulaStatus, User
    from actors.queues import QUEUE_REFRESH
    from actors.sending import send_lookups

    # A few replica citizens with a voting place, the rest not in the census (both are answers).
    cedulas = [str(70_000_000 + offset + i) for i in range(count)]
    if offset == 0:
        cedulas[: len(FOUND_CEDULAS)] = FOUND_CEDULAS
    users = User.objects.bulk_create(
        User(cedula=cedula, nombre_completo="Bench", password="!") for cedula in cedulas
    )
    CedulaInfo.objects.bulk_create(CedulaInfo(user=u, status=CedulaStatus.PENDING) for u in users)
    ids = [u.pk for u in users]
    sent = send_lookups(user_ids=ids, queue=QUEUE_REFRESH, batch_size=1000)
    assert sent == count, sent
    return ids


def watch(ids: list[int], *, stop_after: int, max_seconds: float, hard_timeout: float) -> list[float]:
    """Monotonic times of answers among ``ids`` (polled every 0.25 s), until ``stop_after`` answers,
    ``max_seconds`` after the first one, or ``hard_timeout`` in all."""
    from django.db import connection

    from accounts.models import CedulaInfo, CedulaStatus

    answers_status = list(CedulaStatus.results())
    times: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < hard_timeout:
        done = CedulaInfo.objects.filter(user_id__in=ids, status__in=answers_status).count()
        connection.close()
        now = time.monotonic()
        times.extend([now] * (done - len(times)))
        if len(times) >= stop_after or (times and now - times[0] >= max_seconds):
            break
        time.sleep(0.25)
    return times


def rate(times: list[float]) -> float:
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def final_counts(ids: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from accounts.models import CedulaInfo

    rows = CedulaInfo.objects.filter(user_id__in=ids).values("status").annotate(n=Count("user_id"))
    return {row["status"]: row["n"] for row in rows}


def fresh_broker_connections() -> None:
    """Drop this process's AMQP connections: idle through a whole phase (pika only answers
    heartbeats when called), RabbitMQ has closed them; the next use opens new ones."""
    import dramatiq

    broker = dramatiq.get_broker()
    # A connection already dead is what we are replacing: its close may fail.
    with contextlib.suppress(Exception):
        broker.close()
    for name in ("connection", "channel"):  # dramatiq opens new ones when these are gone
        broker.state.__dict__.pop(name, None)


def wait_until_unconsumed(timeout: float = 30.0) -> None:
    """Wait until no consumer is left on the lookup queues.

    A killed worker's unacked messages (its 200 in flight and its prefetch) go back to the queue
    only once RabbitMQ has closed its connection. Purged before that, they came back afterwards and
    the next phase looked up ~370 of the old phase's rows as well (1.62 "solves per answer").
    """
    from actors.broker import amqp_connection
    from actors.queues import QUEUES

    deadline = time.monotonic() + timeout
    connection = amqp_connection()
    try:
        channel = connection.channel()
        while time.monotonic() < deadline:
            names = [n for q in QUEUES for n in (q, f"{q}.DQ")]
            if all(channel.queue_declare(n, passive=True).method.consumer_count == 0 for n in names):
                return
            time.sleep(0.2)
    finally:
        connection.close()
    raise RuntimeError("the killed worker still consumes the lookup queues")


def run_phase(name, *, env, log_dir, threads, ids_count, offset, sampler, stop_after, max_seconds, replica):
    fresh_broker_connections()
    purge_lookup_queues()
    replica.reset()
    ids = queue_members(ids_count, offset)
    worker = Worker(env, log_dir / f"worker-{name}.log", threads=threads).start(timeout=120)
    sampler.start(worker.process.pid)
    started = time.monotonic()
    try:
        times = watch(ids, stop_after=stop_after, max_seconds=max_seconds, hard_timeout=max_seconds + 240)
    finally:
        sampler.stop()
        captcha = replica.stats()["captcha"]
        worker.kill()  # the old order's backlog would take half an hour to drain: stop it now
        wait_until_unconsumed()
    elapsed = time.monotonic() - started
    counts = final_counts(ids)
    errors = sum(1 for line in worker.log().splitlines() if " ERROR " in line)
    print(
        f"[{name}] {len(times)} answers; {rate(times):.2f}/s from first to last answer; first answer after "
        f"{(times[0] - started) if times else float('nan'):.1f}s; {elapsed:.0f}s in all; rows {counts}; "
        f"in.php {captcha.get('submitted', 0)}, accepted {captcha.get('accepted', 0)}, "
        f"rejected {sum(v for k, v in captcha.items() if k.startswith('rejected'))}; "
        f"PSS max {sampler.pss_max:.0f} MB; DB connections max {sampler.connections_max}; "
        f"worker ERROR lines {errors}; load {os.getloadavg()}",
        flush=True,
    )
    by_kind: dict[str, list[float]] = {}
    for mb, kind in sampler.pss_parts:
        by_kind.setdefault(kind, []).append(mb)
    print(
        f"[{name}] PSS at its peak: "
        + ", ".join(
            f"{kind} {sum(v):.0f} MB ({len(v)})"
            for kind, v in sorted(by_kind.items(), key=lambda i: -sum(i[1]))
        ),
        flush=True,
    )
    return times, captcha, sampler.pss_max, sampler.connections_max


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lookups", type=int, default=600, help="messages queued per phase")
    parser.add_argument("--captcha-delay", type=float, default=20.0, help="seconds per 2captcha solve")
    parser.add_argument("--threads", type=int, default=200, help="Dramatiq threads of the worker")
    parser.add_argument("--pages", type=int, default=5, help="BROWSER_PAGE_POOL_SIZE")
    parser.add_argument("--db-connections", type=int, default=8, help="LOOKUP_DB_CONNECTIONS")
    # Production's interval (2captcha asks for 5 s); the first poll waits for most of a typical solve.
    parser.add_argument("--polling", type=float, default=5.0, help="TWOCAPTCHA_POLLING_INTERVAL")
    parser.add_argument(
        "--old-answers", type=int, default=100, help="old phase: stop after this many answers"
    )
    parser.add_argument(
        "--old-seconds", type=float, default=240, help="old phase: or this long after its first"
    )
    parser.add_argument("--skip-old", action="store_true", help="only the new order (development)")
    args = parser.parse_args()

    print(f"cpus {os.cpu_count()}, load average at start {os.getloadavg()}", flush=True)
    replica = start_replica("--captcha-delay", str(args.captcha_delay))[0]
    database_url = bench_database(DB_NAME)
    os.environ["LOOKUP_QUEUE_PREFIX"] = "bench.realistic."
    setup_django(database_url, replica.env())
    env = {
        **os.environ,
        **replica.env(),
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "PYTHONUNBUFFERED": "1",
        "WORKER_METRICS": "false",
        "LOG_LEVEL": "INFO",  # as in production (the ready line the launcher waits for is INFO)
        "TWOCAPTCHA_POLLING_INTERVAL": str(args.polling),
        "BROWSER_PAGE_POOL_SIZE": str(args.pages),
        "LOOKUP_DB_CONNECTIONS": str(args.db_connections),
        # Production's deadlines, not the test settings' short ones: a solve alone takes 20 s.
        "SCRAPER_DEADLINE_SECONDS": "60",
        "LOOKUP_TIME_LIMIT_MS": "120000",
        "LOOKUP_LEASE_SECONDS": "180",
        "LOOKUP_MIN_BACKOFF_MS": "15000",
        "LOOKUP_MAX_BACKOFF_MS": "300000",
        "LOOKUP_MAX_RETRIES": "5",
        # The old order's lookups time out waiting for a page (their own queue, not the site's
        # trouble); counted as site errors they would open wsp's breaker and move the old
        # phase to consultacenso. No rate limit is configured by default either.
        "REGISTRADURIA_BREAKER_ENABLED": "false",
    }
    log_dir = Path(tempfile.mkdtemp(prefix="bench-realistic-"))
    print(
        f"replica captcha {args.captcha_delay:g}s; worker: 1 process, {args.threads} threads, {args.pages} pages, "
        f"{args.db_connections} DB slots; {args.lookups} lookups queued per phase; logs in {log_dir}",
        flush=True,
    )
    sampler = Sampler(database_url)
    try:
        old_times: list[float] = []
        old_connections = 0
        if not args.skip_old:
            print(
                f"[old] CAPTCHA_TOKEN_FIRST=false, until {args.old_answers} answers or {args.old_seconds:g}s "
                "after the first",
                flush=True,
            )
            old_times, _, _, old_connections = run_phase(
                "old",
                env={**env, "CAPTCHA_TOKEN_FIRST": "false"},
                log_dir=log_dir,
                threads=args.threads,
                ids_count=args.lookups,
                offset=0,
                sampler=sampler,
                stop_after=args.old_answers,
                max_seconds=args.old_seconds,
                replica=replica,
            )
            sampler = Sampler(database_url)
        print("[new] CAPTCHA_TOKEN_FIRST=true, until every lookup has its answer", flush=True)
        new_times, captcha, pss, new_connections = run_phase(
            "new",
            env={**env, "CAPTCHA_TOKEN_FIRST": "true"},
            log_dir=log_dir,
            threads=args.threads,
            ids_count=args.lookups,
            offset=100_000,
            sampler=sampler,
            stop_after=args.lookups,
            max_seconds=1800,
            replica=replica,
        )
    finally:
        replica.stop()
        fresh_broker_connections()
        delete_lookup_queues()
        from django.db import connections

        connections.close_all()
        drop_database(DB_NAME)
    old_rate, new_rate = rate(old_times), rate(new_times)
    solves = captcha.get("submitted", 0)
    print(f"load average at end {os.getloadavg()}", flush=True)
    print(
        f"RESULT captcha_delay_s={args.captcha_delay:g} old_lookups_per_s={old_rate:.2f} "
        f"new_lookups_per_s={new_rate:.2f} ratio={(new_rate / old_rate) if old_rate else float('nan'):.1f} "
        f"pss_mb={pss:.0f} solves_per_answer={solves / max(1, len(new_times)):.3f} "
        f"db_connections_max={max(old_connections, new_connections)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
