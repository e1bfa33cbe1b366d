"""Load: 300 signups over 60 s through gunicorn, with a worker and the scheduler running
and one broker restart in the middle (on a private RabbitMQ node).

    .venv/bin/python -m tests.bench.load [--signups 300] [--seconds 60]

Prints req/s, p95 latency and the time from the last signup until every lookup is
final; last line ``RESULT signups=.. errors=.. p95_ms=.. drain_s=..``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.bench._harness import bench_database, drop_database, percentile, setup_django, start_replica
from tests.fixtures.http import Browser
from tests.fixtures.processes import Scheduler, Web, Worker
from tests.fixtures.services import RabbitNode

DB_NAME = "bench_load"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signups", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    node = RabbitNode().start()
    replica, _process = start_replica()
    logs = Path(tempfile.mkdtemp(prefix="pm-load-"))
    url = bench_database(DB_NAME)
    env = {
        **os.environ,
        **replica.env(),
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "DATABASE_URL": url,
        "RABBITMQ_URL": node.url,
        "LOOKUP_QUEUE_PREFIX": "bench-load.",
        "SIGNUP_THROTTLE_IP_MAX": "1000000",
        "PYTHONUNBUFFERED": "1",
    }
    setup_django(url, {k: env[k] for k in ("RABBITMQ_URL", "LOOKUP_QUEUE_PREFIX", "SIGNUP_THROTTLE_IP_MAX")})
    from accounts.models import CedulaInfo, CedulaStatus

    web = Web(env, logs / "web.log").start()
    worker = Worker(env, logs / "worker.log", threads=8).start()
    scheduler = Scheduler(env, logs / "scheduler.log").start()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    try:
        cedulas = [str(75_000_000 + i) for i in range(args.signups)]

        def signup(i: int) -> None:
            nonlocal errors
            browser = Browser(web.url)
            start = time.monotonic()
            try:
                token = browser.token("/registro/")
                status = browser.post(
                    "/registro/",
                    {
                        "nombre_completo": "Miembro de Carga",
                        "cedula": cedulas[i],
                        "telefono": f"301{i:07d}",
                        "password1": "clave-segura-987",
                        "password2": "clave-segura-987",
                        "accepted_data_policy": "on",
                    },
                    token,
                )
            except Exception:  # a failed request is an error, counted
                status = 0
            with lock:
                latencies.append((time.monotonic() - start) * 1000)
                if status != 302:
                    errors += 1

        def restart_broker() -> None:
            time.sleep(args.seconds / 2)
            node.stop_app()
            time.sleep(5)
            node.start_app()

        threading.Thread(target=restart_broker, daemon=True).start()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for i in range(args.signups):
                pool.submit(signup, i)
                time.sleep(args.seconds / args.signups)
        sent_s = time.monotonic() - started
        done = time.monotonic()
        while time.monotonic() - done < 300:
            final = CedulaInfo.objects.filter(
                user__cedula__in=cedulas, status__in=CedulaStatus.final()
            ).count()
            if final == args.signups:
                break
            time.sleep(1)
        drain_s = time.monotonic() - done
        p95 = percentile(latencies, 95)
        print(f"signups={args.signups} over {sent_s:.1f}s req/s={args.signups / sent_s:.2f} errors={errors}")
        print(f"p50_ms={percentile(latencies, 50):.0f} p95_ms={p95:.0f} final={final}/{args.signups}")
        print(f"RESULT signups={args.signups} errors={errors} p95_ms={p95:.0f} drain_s={drain_s:.1f}")
    finally:
        scheduler.stop()
        worker.terminate()
        web.stop()
        replica.stop()
        node.stop()
        drop_database(DB_NAME)


if __name__ == "__main__":
    main()
