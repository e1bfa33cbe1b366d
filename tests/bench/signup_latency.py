"""Benchmark: what the lookup enqueue adds to a signup request.

Runs N registrations through the real view (Django test client, real
middleware, real form validation, real database) twice in one invocation,
interleaved so machine noise hits both equally: once with the lookup message
really published to RabbitMQ after commit (publisher confirms on), once with
the publish replaced by a no-op. Prints p50/p95 of both and the p95 difference.

Passwords use the test settings' fast hasher so PBKDF2's ~100 ms of CPU does not
drown a few milliseconds of enqueue in noise; the enqueue cost is the same either way.

    .venv/bin/python tests/bench/signup_latency.py [--signups 300]

Last line: RESULT signups=N p95_with_ms=.. p95_without_ms=.. enqueue_p95_ms=.. p50_with_ms=.. p50_without_ms=..
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.bench._harness import (
    bench_database,
    delete_lookup_queues,
    drop_database,
    percentile,
    purge_lookup_queues,
    setup_django,
)

DB_NAME = "paginamadre_bench_signup"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signups", type=int, default=300, help="per variant")
    args = parser.parse_args()

    # Every request comes from one address: lift the per-address sign-up budget.
    setup_django(
        bench_database(DB_NAME), {"DJANGO_ALLOWED_HOSTS": "testserver", "SIGNUP_THROTTLE_IP_MAX": "1000000"}
    )
    from django.test import Client
    from django.urls import reverse

    from accounts.services import cedulas

    real_send = cedulas.cedula_lookup_send
    purge_lookup_queues()
    # Warm up: the first publish per thread opens the AMQP connection.
    real_send(user_id=0, queue=cedulas.QUEUE_LOOKUPS)

    timings: dict[str, list[float]] = {"with": [], "without": []}
    client = Client()
    url = reverse("accounts:register")
    failures = 0
    for i in range(args.signups * 2):
        variant = "with" if i % 2 == 0 else "without"
        cedulas.cedula_lookup_send = real_send if variant == "with" else (lambda **kwargs: True)
        data = {
            "nombre_completo": "Persona de Prueba",
            "cedula": str(60_000_000 + i),
            "telefono": "3001234567",
            "password1": "Caracol-Azul-2026",
            "password2": "Caracol-Azul-2026",
            "accepted_data_policy": "on",
        }
        started = time.perf_counter()
        response = client.post(url, data)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 302:
            failures += 1
        timings[variant].append(elapsed)
        client.post(reverse("accounts:logout"))
    cedulas.cedula_lookup_send = real_send
    delete_lookup_queues()
    drop_database(DB_NAME)

    with_p95 = percentile(timings["with"], 95)
    without_p95 = percentile(timings["without"], 95)
    with_p50 = percentile(timings["with"], 50)
    without_p50 = percentile(timings["without"], 50)
    print(f"signups per variant: {args.signups}, failed requests: {failures}")
    print(f"with enqueue:    p50={with_p50:.2f} ms p95={with_p95:.2f} ms")
    print(f"without enqueue: p50={without_p50:.2f} ms p95={without_p95:.2f} ms")
    print(
        f"RESULT signups={args.signups} p95_with_ms={with_p95:.2f} p95_without_ms={without_p95:.2f} "
        f"enqueue_p95_ms={with_p95 - without_p95:.2f} p50_with_ms={with_p50:.2f} p50_without_ms={without_p50:.2f}"
    )
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
