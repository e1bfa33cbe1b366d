"""Shared plumbing for the pipeline benchmarks: a bench database, the replica and workers.

Benchmarks are plain scripts (not collected by pytest), run from the repository
root as ``python -m tests.bench.<name>``. The replica and workers come from
tests/fixtures/processes.py, the same launchers the tests use. They use their own
PostgreSQL database (created and dropped here) or a SQLite file, their own
replica on a free port, and real `rundramatiq` workers on the real RabbitMQ.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.fixtures.processes import ROOT, Replica, Worker, free_port, start_replica  # noqa: F401 (for the benches)


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


def setup_django(database_url: str, extra_env: dict[str, str] | None = None) -> None:
    """Configure Django in this process against ``database_url`` and migrate it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "site_config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    # Own queues, shared with the workers this bench starts (they inherit os.environ).
    os.environ.setdefault("LOOKUP_QUEUE_PREFIX", "bench.")
    os.environ.update(extra_env or {})
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
