"""Benchmark: Importar with a 20,000-row XLSX (issue 14).

Builds its own database (PostgreSQL ``paginamadre_bench_import``, dropped at the end;
``BENCH_SQLITE=1`` for a SQLite file) with one leader and 2,000 members elsewhere
(so part of the file is rejected as "a member of another network"), and writes a
20,000-row XLSX (formatted cédulas, accented names, phones; 1 % duplicates and 1 %
bad cédulas) in openpyxl's write-only mode.

1. **Upload + validation**, in a child process started for it (so its peak RSS,
   VmHWM, is the upload's alone): through the real views with Django's test client
   (middleware, session, templates, database), the upload POST (read, checked,
   its rows kept in the database cache, as in production) and the review page
   (every row checked against the database, the
   preview and the rejected rows rendered). ``validate_s`` is the time of both;
   ``validate_peak_rss_mb`` the child's peak RSS.
2. **Confirm → all rows created and all messages on the queue**: the confirm POST
   (consent recorded, lookups reserved, the import message published to the real
   ``refresh`` queue), then the import actor's body (``contact_import_run``, what the
   worker runs for that message) in a second child process, until every row is
   written and every new cédula's lookup message is on the real ``refresh`` queue
   (counted on RabbitMQ). A ``rundramatiq`` worker is not used for this step: it
   would start consuming the very lookup messages being counted.

    .venv/bin/python -m tests.bench.bulk_import [--rows 20000] [--keep-db]

Last line: RESULT rows=20000 validate_s=.. validate_peak_rss_mb=.. enqueue_s=..
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

from tests.bench._harness import ROOT, bench_database, drop_database, setup_django

DB_NAME = "paginamadre_bench_import"
# Production's cache (the test settings' LocMem would hide what storing 20,000 rows costs).
DB_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}
QUEUE_PREFIX = "bench_import."
LEADER_CEDULA = "90000001"
FIRST_NAMES = ["José", "María", "Lucía", "Ana", "Pedro", "Andrés", "Sofía", "Camilo", "Valentina", "Núñez"]
LAST_NAMES = ["Pérez", "Gómez", "Rodríguez", "Muñoz", "Peña", "Castaño", "Ibáñez", "Londoño", "Ruíz", "Díaz"]


def peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def fmt_cedula(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def write_file(path: str, rows: int, seed: int = 14) -> dict:
    from tests.fixtures.spreadsheets import xlsx_stream_bytes

    rng = random.Random(seed)

    def people():
        yield ["N°", "Cédula", "Nombres y apellidos", "Celular", "Barrio"]
        for i in range(rows):
            cedula = 60_000_000 + i
            if i % 100 == 7:
                cedula_text = fmt_cedula(60_000_000 + i - 3)  # a duplicate of an earlier row
            elif i % 100 == 13:
                cedula_text = f"{cedula}x"  # a typo
            elif i % 10 == 0:
                cedula_text = str(50_000_000 + i)  # a member of another network (below)
            else:
                cedula_text = fmt_cedula(cedula) if i % 2 else str(cedula)
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
            phone = f"3{rng.randrange(10**9):09d}" if i % 3 else ""
            yield [i + 1, cedula_text, name, phone, f"Barrio {i % 50}"]

    data = xlsx_stream_bytes(people())
    with open(path, "wb") as out:
        out.write(data)
    return {"bytes": len(data)}


def build(rows: int) -> int:
    from django.conf import settings

    from accounts.models import CedulaInfo, User

    leader = User.objects.create_user(
        LEADER_CEDULA,
        password="bench",
        nombre_completo="Líder Importadora",
        role="LEADER",
        data_policy_version=settings.DATA_POLICY_VERSION,
    )
    other = User.objects.create_user(
        "90000002", password="bench", nombre_completo="Otro Líder", role="LEADER"
    )
    members = [
        User(
            cedula=str(50_000_000 + i),
            nombre_completo="Miembro Ajeno",
            password="!",
            referred_by_id=other.pk,
            network_path=f"{other.pk}/",
            network_level=1,
            referral_code=f"B{i:07d}",
        )
        for i in range(0, rows, 10)
    ]
    User.objects.bulk_create(members, batch_size=2000)
    CedulaInfo.objects.all().delete()  # the signal's rows; nothing here is looked up
    return leader.pk


def _client(leader_id: int):
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=leader_id))
    return client


def validate_child(leader_id: int, path: str) -> None:
    """Upload the file and open the review page; print timing, counts and peak RSS."""
    from django.urls import reverse

    client = _client(leader_id)
    with open(path, "rb") as upload:
        started = time.perf_counter()
        response = client.post(reverse("accounts:imports"), {"archivo": upload})
        assert response.status_code == 302, response.status_code
        review = client.get(reverse("accounts:import_review"))
        elapsed = time.perf_counter() - started
    assert review.status_code == 200, review.status_code
    page = review.content.decode()
    accepted = int(page.split('data-testid="accepted">')[1].split("<")[0].replace(",", "").replace(".", ""))
    started = time.perf_counter()
    confirm = client.post(
        reverse("accounts:import_review"),
        {
            "columna_cedula": "1",
            "columna_nombre": "2",
            "columna_telefono": "3",
            "confirmar": "1",
            "autorizacion": "on",
        },
    )
    confirm_s = time.perf_counter() - started
    assert confirm.status_code == 302, confirm.status_code
    import_id = int(confirm["Location"].rstrip("/").split("/")[-1])
    print(
        json.dumps(
            {
                "validate_s": elapsed,
                "peak_rss_kb": peak_rss_kb(),
                "accepted": accepted,
                "confirm_s": confirm_s,
                "import_id": import_id,
            }
        ),
        flush=True,
    )


def run_child(import_id: int) -> None:
    from accounts.services.imports import contact_import_run

    started = time.perf_counter()
    contact_import_run(import_id=import_id)
    print(json.dumps({"run_s": time.perf_counter() - started, "peak_rss_kb": peak_rss_kb()}), flush=True)


def _child(args: list[str], env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.bulk_import", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit(f"child {args[0]} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] in ("--validate-child", "--run-child"):
        import django

        django.setup()
        if sys.argv[1] == "--validate-child":
            from django.test.utils import override_settings

            with override_settings(CACHES=DB_CACHE):
                validate_child(int(sys.argv[2]), sys.argv[3])
        else:
            run_child(int(sys.argv[2]))
        return

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    uploads = tempfile.mkdtemp(prefix="bench-imports-")  # the generated file only
    url = bench_database(DB_NAME)
    env_extra = {
        "LOOKUP_QUEUE_PREFIX": QUEUE_PREFIX,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "IMPORT_MAX_ROWS": str(max(20_000, args.rows)),
        "IMPORT_DAILY_LOOKUP_BUDGET": str(max(20_000, args.rows)),
    }
    setup_django(url, env_extra)
    from django.core.management import call_command
    from django.test.utils import override_settings

    with override_settings(CACHES=DB_CACHE):
        call_command("createcachetable", verbosity=0)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "DATABASE_URL": url,
        **env_extra,
    }
    from accounts.models import ContactImport, ImportRow
    from actors.queues import QUEUE_REFRESH
    from tests.fixtures.broker import delete_queues, purge_queues, queue_counts

    try:
        purge_queues()
        leader_id = build(args.rows)
        path = os.path.join(uploads, "lista.xlsx")
        info = write_file(path, args.rows)
        print(f"file: {args.rows} rows, {info['bytes'] / 1e6:.2f} MB; load {os.getloadavg()}", flush=True)

        validated = _child(["--validate-child", str(leader_id), path], env)
        started = time.perf_counter()
        ran = _child(["--run-child", str(validated["import_id"])], env)
        imp = ContactImport.objects.get(pk=validated["import_id"])
        ready = queue_counts(QUEUE_REFRESH)[0]
        enqueue_s = validated["confirm_s"] + (time.perf_counter() - started)
        rows_written = ImportRow.objects.filter(contact_import=imp).count()
        # The import's own message is on the queue too (nobody consumed it here).
        lookups_on_queue = ready - 1
        print(
            f"validate: {validated['validate_s']:.2f} s, peak RSS {validated['peak_rss_kb'] / 1024:.0f} MB, "
            f"{validated['accepted']} accepted; confirm POST {validated['confirm_s']:.2f} s; "
            f"run {ran['run_s']:.2f} s (peak RSS {ran['peak_rss_kb'] / 1024:.0f} MB)",
            flush=True,
        )
        print(
            f"import: status={imp.status} rows={rows_written}/{imp.rows_total} created={imp.created} "
            f"rejected={imp.rejected} lookups_sent={imp.lookups_sent} on_queue={lookups_on_queue}; "
            f"load {os.getloadavg()}",
            flush=True,
        )
        assert imp.status == "done" and rows_written == args.rows == imp.rows_total
        assert imp.created == validated["accepted"] == imp.lookups_sent == lookups_on_queue
        print(
            f"RESULT rows={args.rows} validate_s={validated['validate_s']:.2f} "
            f"validate_peak_rss_mb={validated['peak_rss_kb'] / 1024:.0f} enqueue_s={enqueue_s:.2f}",
            flush=True,
        )
    finally:
        delete_queues()
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            drop_database(DB_NAME)


if __name__ == "__main__":
    main()
