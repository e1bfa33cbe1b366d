"""Benchmark: Territorio, Referidos and the XLSX export over a network of 100,000 members.

Builds its own PostgreSQL database (``paginamadre_bench_territory``, dropped at the
end unless --keep-db): one leader at the root of a tree 6 levels deep (100,000
members below them) spread over 1,200 puestos in 40 municipios of 5 departamentos,
with the census outcomes mixed as in a real campaign. Members are bulk-inserted
with explicit ids (no signals, no lookups).

Then, through the real views (Django test client: middleware, session, templates,
database), interleaved so machine noise hits every kind alike:

- Territorio at each level (departamentos, municipios of one departamento, puestos
  of one municipio, mesas of one puesto), sorted by count;
- filtered Referidos pages (municipio + outcome, puesto, level + sort, a name search);

and reports the p95 server time of each. Finally a child process downloads the XLSX
export of all 100,000 members, timing it to the last byte and measuring its peak RSS
(VmHWM of that child), and the parent reads the file back to
check every row is there.

    .venv/bin/python -m tests.bench.territory [--members 100000] [--contacts 0] [--runs 30] [--keep-db]

Last line: RESULT members=N territory_p95_ms=.. referidos_p95_ms=.. xlsx_s=.. xlsx_peak_rss_mb=..
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

from tests.bench._harness import ROOT, bench_database, drop_database, percentile, setup_django

DB_NAME = "paginamadre_bench_territory"
DEPTH = 6
DEPARTAMENTOS = 5
MUNICIPIOS = 40
PUESTOS = 1200
MESAS_PER_PUESTO = 20
ZONAS_PER_MUNICIPIO = 6
HAS_ZONA = False  # set in build(), once Django is set up (CedulaInfo.zona, issue 15)


def level_sizes(total: int) -> list[int]:
    """Members per level, growing like a real pyramid, summing to ``total``."""
    weights = [1, 6, 30, 120, 330, 513][:DEPTH]
    sizes = [max(1, total * w // sum(weights)) for w in weights]
    sizes[-1] += total - sum(sizes)
    return sizes


def build(members: int, seed: int = 12) -> dict:
    global HAS_ZONA
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from accounts.models import CedulaInfo, CedulaStatus, User

    rng = random.Random(seed)
    HAS_ZONA = any(f.name == "zona" for f in CedulaInfo._meta.get_fields())
    password = make_password("bench-no-login")
    from django.conf import settings

    # The leader has accepted the current data policy, or every page redirects to accept it.
    root = User.objects.create_user(
        "90000000",
        password="bench",
        nombre_completo="Líder Raíz",
        role="LEADER",
        data_policy_version=settings.DATA_POLICY_VERSION,
    )
    CedulaInfo.objects.filter(user=root).delete()  # the signal's row; the root's own census is not counted

    places = []
    for p in range(PUESTOS):
        municipio = p % MUNICIPIOS
        places.append(
            (
                f"DEPARTAMENTO {municipio % DEPARTAMENTOS:02d}",
                f"MUNICIPIO {municipio:03d}",
                f"{p % ZONAS_PER_MUNICIPIO:02d}",
                f"PUESTO {p:04d}",
            )
        )
    statuses = (
        [CedulaStatus.FOUND] * 70
        + [CedulaStatus.NOT_FOUND] * 8
        + [CedulaStatus.CANCELLED_DECEASED] * 2
        + [CedulaStatus.CANCELLED_OTHER] * 2
        + [CedulaStatus.PENDING_REGISTRADURIA] * 3
        + [CedulaStatus.ERROR] * 5
        + [CedulaStatus.PENDING] * 5
        + [CedulaStatus.TIMEOUT] * 5
    )
    next_id = root.pk + 1
    parents = [root.pk]
    paths = {root.pk: (root.network_path, root.network_level)}
    users, infos = [], []
    start = time.monotonic()
    for level, size in enumerate(level_sizes(members), start=1):
        level_ids = []
        for n in range(size):
            uid = next_id
            next_id += 1
            level_ids.append(uid)
            parent = parents[n % len(parents)]
            parent_path, parent_level = paths[parent]
            # bulk_create sends no signals: write the materialised path as the save would.
            paths[uid] = (f"{parent_path}{parent}/", parent_level + 1)
            users.append(
                User(
                    id=uid,
                    password=password,
                    cedula=str(10_000_000 + uid),
                    nombre_completo=f"Miembro {uid} Nivel {level}",
                    nombre_busqueda=f"miembro {uid} nivel {level}",
                    telefono=f"3{uid:09d}"[:10],
                    accepted_data_policy=True,
                    referral_code=f"B{uid:09d}",
                    referred_by_id=parent,
                    network_path=paths[uid][0],
                    network_level=paths[uid][1],
                    # A few sub-leaders at the upper levels, as in real campaigns.
                    role="LEADER" if level <= 3 and n % 10 == 0 else "USER",
                )
            )
            status = rng.choice(statuses)
            departamento, municipio, zona, puesto = rng.choice(places)
            found_like = status != CedulaStatus.PENDING or rng.random() < 0.5
            infos.append(
                CedulaInfo(
                    user_id=uid,
                    status=status,
                    result_status=CedulaStatus.FOUND if status == CedulaStatus.PENDING and found_like else "",
                    departamento=departamento if found_like else "",
                    municipio=municipio if found_like else "",
                    puesto=puesto if found_like else "",
                    **({"zona": zona if found_like else ""} if HAS_ZONA else {}),
                    mesa=str(rng.randint(1, MESAS_PER_PUESTO)) if found_like else "",
                    direccion="CALLE 1 # 2-3" if found_like else "",
                )
            )
        parents = level_ids
    with transaction.atomic():
        User.objects.bulk_create(users, batch_size=5000)
        CedulaInfo.objects.bulk_create(infos, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), (SELECT MAX(id) FROM accounts_user))"
            )
            cursor.execute("ANALYZE")
    print(f"built {members} members in {time.monotonic() - start:.1f} s", flush=True)
    sample = next(info for info in infos[len(infos) // 2 :] if info.puesto)  # a place to drill into
    return {
        "root": root.pk,
        "departamento": sample.departamento,
        "municipio": sample.municipio,
        "zona": getattr(sample, "zona", ""),
        "puesto": sample.puesto,
    }


def add_contacts(count: int, seed: int = 13) -> None:
    """``count`` imported contacts (issue 14) spread over the network's leaders, census settled.

    Through the import's own service (``contacts_create_batch``), 1,000 per leader in turn.
    """
    from django.db import connection

    from accounts.models import CedulaInfo, CedulaStatus, User
    from accounts.services.contacts import ContactRow, contacts_create_batch

    rng = random.Random(seed)
    start = time.monotonic()
    leaders = list(User.objects.filter(role="LEADER", is_contact=False).order_by("network_level", "pk")[:40])
    for first in range(0, count, 1000):
        leader = leaders[(first // 1000) % len(leaders)]
        rows = [
            ContactRow(str(80_000_000 + i), f"Contacto Importado {i}", f"3{i:09d}"[:10])
            for i in range(first, min(count, first + 1000))
        ]
        result = contacts_create_batch(leader=leader, rows=rows)
        settled = []
        for info in CedulaInfo.objects.filter(user_id__in=result.persons.values()).only("pk"):
            p = rng.randrange(PUESTOS)
            municipio = p % MUNICIPIOS
            info.status = info.result_status = CedulaStatus.FOUND
            info.departamento = f"DEPARTAMENTO {municipio % DEPARTAMENTOS:02d}"
            info.municipio = f"MUNICIPIO {municipio:03d}"
            info.puesto = f"PUESTO {p:04d}"
            info.mesa = str(rng.randint(1, MESAS_PER_PUESTO))
            if HAS_ZONA:
                info.zona = f"{p % ZONAS_PER_MUNICIPIO:02d}"
            settled.append(info)
        fields = ["status", "result_status", "departamento", "municipio", "puesto", "mesa"]
        CedulaInfo.objects.bulk_update(settled, [*fields, *(["zona"] if HAS_ZONA else [])], batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"added {count} contacts in {time.monotonic() - start:.1f} s", flush=True)


def timed_get(client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code}")
    if hasattr(response, "streaming_content"):
        for _ in response.streaming_content:
            pass
    return (time.perf_counter() - start) * 1000


def measure(sample: dict, runs: int) -> tuple[dict[str, float], dict[str, float]]:
    from urllib.parse import urlencode

    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=sample["root"]))
    d, m, z, p = sample["departamento"], sample["municipio"], sample["zona"], sample["puesto"]
    zona = {"zona": z} if HAS_ZONA else {}
    territory = {
        "departamentos": "/territorio/",
        "municipios": "/territorio/?" + urlencode({"departamento": d}),
        **({"zonas": "/territorio/?" + urlencode({"departamento": d, "municipio": m})} if HAS_ZONA else {}),
        "puestos": "/territorio/?" + urlencode({"departamento": d, "municipio": m, **zona}),
        "mesas": "/territorio/?" + urlencode({"departamento": d, "municipio": m, **zona, "puesto": p}),
    }
    referidos = {
        "municipio+puede_votar": "/referidos/?" + urlencode({"municipio": m, "resultado": "puede_votar"}),
        "puesto+orden_mesa": "/referidos/?" + urlencode({"municipio": m, "puesto": p, "orden": "mesa"}),
        "nivel3+orden_nombre+p3": "/referidos/?" + urlencode({"nivel": 3, "orden": "nombre", "page": 3}),
        "busqueda": "/referidos/?" + urlencode({"q": "miembro 4", "resultado": "sin_consultar"}),
    }
    for url in [*territory.values(), *referidos.values()]:
        timed_get(client, url)  # warm-up: connections, template cache, the session
    timings: dict[str, list[float]] = {name: [] for name in [*territory, *referidos]}
    for _ in range(runs):
        for name, url in [*territory.items(), *referidos.items()]:
            timings[name].append(timed_get(client, url))
    p95 = {name: percentile(values, 95) for name, values in timings.items()}
    for name, value in p95.items():
        print(f"  {name:28s} p50={percentile(timings[name], 50):7.1f} ms  p95={value:7.1f} ms", flush=True)
    return {k: p95[k] for k in territory}, {k: p95[k] for k in referidos}


def peak_rss_kb() -> int:
    """This process's peak RSS. VmHWM belongs to the address space, which exec replaces;
    ru_maxrss would carry over the parent's peak (the 100,000 objects it built)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


CTE_TERRITORY = """
WITH RECURSIVE net(id, depth) AS (
    SELECT id, 1 FROM accounts_user WHERE referred_by_id = %(root)s
    UNION ALL
    SELECT u.id, net.depth + 1 FROM accounts_user u JOIN net ON u.referred_by_id = net.id WHERE net.depth < 50
)
SELECT ci.departamento, ci.status, ci.result_status, COUNT(*)
FROM net LEFT JOIN accounts_cedulainfo ci ON ci.user_id = net.id
GROUP BY ci.departamento, ci.status, ci.result_status
"""


def measure_cte_baseline(sample: dict, runs: int) -> float:
    """The top territory level as a recursive CTE walk (the design not taken), same data, same run."""
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(runs + 1):
            start = time.perf_counter()
            cursor.execute(CTE_TERRITORY, {"root": sample["root"]})
            cursor.fetchall()
            timings.append((time.perf_counter() - start) * 1000)
    return percentile(timings[1:], 95)


def xlsx_child(root_id: int, out_path: str) -> None:
    """In a fresh process: download the whole network as XLSX, report seconds and peak RSS."""
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(pk=root_id))
    start = time.perf_counter()
    response = client.get("/territorio/exportar.xlsx")
    size = 0
    with open(out_path, "wb") as out:
        for chunk in response.streaming_content:
            size += len(chunk)
            out.write(chunk)
    seconds = time.perf_counter() - start
    peak_kb = peak_rss_kb()
    print(json.dumps({"status": response.status_code, "seconds": seconds, "bytes": size, "peak_kb": peak_kb}))


def run_xlsx(database_url: str, root_id: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "export.xlsx")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "tests.bench.territory", "--xlsx-child", str(root_id), out],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        if report["status"] != 200:
            raise RuntimeError(f"xlsx export answered {report['status']}")
        from openpyxl import load_workbook

        sheet = load_workbook(out, read_only=True).active
        rows = sum(1 for _ in sheet.iter_rows(values_only=True)) - 1  # minus the header
    return report["seconds"], report["peak_kb"] / 1024, rows


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--xlsx-child":
        import django

        django.setup()
        xlsx_child(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep-db", action="store_true")
    # Imported contacts (issue 14) on top of the members; they count in every page and export.
    parser.add_argument("--contacts", type=int, default=0)
    args = parser.parse_args()

    database_url = bench_database(DB_NAME)
    setup_django(database_url, {"DJANGO_ALLOWED_HOSTS": "testserver"})
    try:
        sample = build(args.members)
        if args.contacts:
            add_contacts(args.contacts)
        territory_p95, referidos_p95 = measure(sample, args.runs)
        cte_p95 = measure_cte_baseline(sample, args.runs)
        print(
            f"  recursive-CTE query alone (top level, no page around it): p95={cte_p95:.1f} ms, "
            f"{cte_p95 / territory_p95['departamentos']:.1f}x the whole materialised-path page",
            flush=True,
        )
        xlsx_s, xlsx_rss, rows = run_xlsx(database_url, sample["root"])
        if rows != args.members + args.contacts:
            raise RuntimeError(f"xlsx has {rows} rows, expected {args.members + args.contacts}")
        print(f"  xlsx: {rows} rows in {xlsx_s:.1f} s, peak RSS {xlsx_rss:.0f} MB", flush=True)
        print(
            f"RESULT members={args.members}{f' contacts={args.contacts}' if args.contacts else ''} territory_p95_ms={max(territory_p95.values()):.0f} "
            f"referidos_p95_ms={max(referidos_p95.values()):.0f} xlsx_s={xlsx_s:.1f} xlsx_peak_rss_mb={xlsx_rss:.0f}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(DB_NAME)


if __name__ == "__main__":
    main()
