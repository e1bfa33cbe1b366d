"""Benchmark: signup → final state visible, through the whole real pipeline.

One `rundramatiq` worker process (8 threads, one Chromium), the real RabbitMQ,
the replica with captcha delay 0, a PostgreSQL bench database (BENCH_SQLITE=1
for SQLite). Each signup is a real user creation (the post_save signal sends
the lookup on commit); latency runs from the commit to the moment the final
status is readable in the database — what the member's card polls.

  (2) 100 signups arriving at --rate per second (default 4/s, half of what one
      worker process sustains) → p95 latency; also reported: the same 100
      arriving at once (burst), which is bounded by throughput, not latency.
  (3) 5,000 messages waiting on the `refresh` queue (the nightly backlog), then
      20 signups at 1/s → p95 latency of the signups.

    .venv/bin/python tests/bench/pipeline_latency.py

Last line: RESULT signups=100 rate_per_s=.. p95_s=.. burst_p95_s=.. backlog=5000 backlog_signups=20 backlog_p95_s=..
"""

from __future__ import annotations

import argparse
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
    percentile,
    purge_lookup_queues,
    setup_django,
    start_replica,
)

DB_NAME = "paginamadre_bench_pipeline"
FOUND_CEDULAS = ["1000000001", "1000000002", "1000000003", "1000000004"]


def wait_final(created: dict[int, float], timeout: float, expected: int | None = None) -> dict[int, float]:
    """Poll until ``expected`` users (default: all of ``created``) have a final status.

    ``created`` may still be filling up from another thread: each signup's latency
    is measured from its own commit to the first poll that sees it final.
    """
    from accounts.models import CedulaInfo, CedulaStatus

    expected = len(created) if expected is None else expected
    latencies: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(latencies) < expected and time.monotonic() < deadline:
        waiting = [uid for uid in list(created) if uid not in latencies]
        if waiting:
            done = CedulaInfo.objects.filter(
                user_id__in=waiting, status__in=CedulaStatus.final()
            ).values_list("user_id", flat=True)
            now = time.monotonic()
            for uid in done:
                latencies[uid] = now - created[uid]
        time.sleep(0.05)
    return latencies


def signup(n: int) -> tuple[int, float]:
    from accounts.models import User

    # Replica citizens with a voting place for most, others "not in census".
    cedula = FOUND_CEDULAS[n % len(FOUND_CEDULAS)] if n % 2 == 0 else str(70_000_000 + n)
    if User.objects.filter(cedula=cedula).exists():
        cedula = str(80_000_000 + n)
    user = User.objects.create_user(cedula, "Caracol-Azul-2026", nombre_completo="Bench")
    return user.pk, time.monotonic()


def measured_signups(count: int, rate: float, offset: int, timeout: float = 300) -> dict[int, float]:
    """Sign ``count`` members up at ``rate`` per second (0: all at once) in a thread while
    this thread watches for their final states; returns each one's latency."""
    created: dict[int, float] = {}

    def produce() -> None:
        from django.db import connection

        start = time.monotonic()
        for i in range(count):
            due = start + i / rate if rate > 0 else start
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            uid, at = signup(offset + i)
            created[uid] = at
        connection.close()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    latencies = wait_final(created, timeout, expected=count)
    producer.join(timeout=5)
    return latencies


def backlog(count: int) -> None:
    from accounts.models import CedulaInfo, CedulaStatus, User
    from actors.queues import QUEUE_REFRESH
    from actors.sending import send_lookups

    users = User.objects.bulk_create(
        User(cedula=str(90_000_000 + i), nombre_completo="Backlog", password="!") for i in range(count)
    )
    if users[0].pk is None:  # databases that don't return ids from bulk_create
        users = list(User.objects.filter(nombre_completo="Backlog"))
    CedulaInfo.objects.bulk_create(CedulaInfo(user=u, status=CedulaStatus.PENDING) for u in users)
    sent = send_lookups(user_ids=[u.pk for u in users], queue=QUEUE_REFRESH, batch_size=1000)
    assert sent == count, sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signups", type=int, default=100)
    parser.add_argument("--rate", type=float, default=4.0)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--backlog-signups", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    replica = start_replica("--captcha-delay", "0")[0]
    database_url = bench_database(DB_NAME)
    setup_django(database_url, replica.env())
    purge_lookup_queues()
    env = {
        **os.environ,
        **replica.env(),
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "BROWSER_PAGE_POOL_SIZE": str(args.threads),
    }
    log_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    worker = Worker(env, log_dir / "worker.log", threads=args.threads).start()
    try:
        # Warm the browser so the first signup doesn't pay Chromium's start.
        measured_signups(args.threads, 0, offset=10_000)

        paced = measured_signups(args.signups, args.rate, offset=0)
        paced_p95 = percentile(list(paced.values()), 95)
        print(
            f"(2) {len(paced)}/{args.signups} signups at {args.rate}/s: p50={percentile(list(paced.values()), 50):.2f}s p95={paced_p95:.2f}s"
        )

        burst = measured_signups(args.signups, 0, offset=20_000)
        burst_p95 = percentile(list(burst.values()), 95)
        print(f"    same {len(burst)} at once (burst): p95={burst_p95:.2f}s max={max(burst.values()):.2f}s")

        backlog(args.backlog)
        time.sleep(3)  # let the worker fill its threads with refresh work
        from accounts.services.cedulas import QUEUE_REFRESH
        from tests.fixtures.broker import queue_counts

        before = queue_counts(QUEUE_REFRESH)
        late = measured_signups(args.backlog_signups, 1.0, offset=30_000)
        after = queue_counts(QUEUE_REFRESH)
        backlog_p95 = percentile(list(late.values()), 95)
        print(
            f"(3) refresh queue ready before/after: {before[0]}/{after[0]}; "
            f"{len(late)}/{args.backlog_signups} signups: p50={percentile(list(late.values()), 50):.2f}s "
            f"p95={backlog_p95:.2f}s"
        )
    finally:
        worker.terminate()
        replica.stop()
        delete_lookup_queues()
        from django.db import connections

        connections.close_all()
        drop_database(DB_NAME)
    print(
        f"RESULT signups={args.signups} rate_per_s={args.rate:g} p95_s={paced_p95:.2f} burst_p95_s={burst_p95:.2f} "
        f"backlog={args.backlog} backlog_signups={args.backlog_signups} backlog_p95_s={backlog_p95:.2f}"
    )


if __name__ == "__main__":
    main()
