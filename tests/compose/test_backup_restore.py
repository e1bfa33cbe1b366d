"""The backup and restore of docs/operations.md, done once for real: pg_dump a migrated
database with members in it, pg_restore it into an empty one, and find the same data.

Scratch databases of this test's own (named after the pytest pid) on the local PostgreSQL,
dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("BACKUP_TEST_PG", "postgres://postgres@127.0.0.1:5432")
SEED = """
from accounts.models import CedulaInfo, CedulaStatus, User
leader = User.objects.create_user("52345678", "clave-segura-123", nombre_completo="Líder Copia")
for n in range(5):
    User.objects.create_user(
        str(1000000001 + n), "clave-segura-123", nombre_completo=f"Miembro {n}", referred_by=leader
    )
CedulaInfo.objects.filter(user=leader).update(status=CedulaStatus.FOUND, municipio="BOGOTÁ D.C.", mesa="7")
"""


def _admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _rows(dbname: str) -> tuple:
    with psycopg.connect(f"{SERVER}/{dbname}") as conn:
        users = conn.execute("SELECT cedula, nombre_completo FROM accounts_user ORDER BY cedula").fetchall()
        info = conn.execute(
            "SELECT u.cedula, c.status, c.municipio, c.mesa FROM accounts_cedulainfo c "
            "JOIN accounts_user u ON u.id = c.user_id ORDER BY u.cedula"
        ).fetchall()
        migrations = conn.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
    return users, info, migrations


@pytest.fixture
def scratch_databases():
    try:
        _admin("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.skip(f"no local PostgreSQL at {SERVER}: {exc}")
    names = (f"wt_backup_src_{os.getpid()}", f"wt_backup_dst_{os.getpid()}")
    for name in names:
        _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _admin(f'CREATE DATABASE "{names[0]}"')
    yield names
    for name in names:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_pg_dump_and_pg_restore_bring_back_every_member(scratch_databases, tmp_path):
    assert shutil.which("pg_dump") and shutil.which("pg_restore"), "postgresql-client is needed"
    source, target = scratch_databases
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.local",
        "DATABASE_URL": f"{SERVER}/{source}",
    }
    for args in (["migrate", "--noinput", "--verbosity", "0"], ["shell", "-c", SEED]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    dump = tmp_path / "paginamadre.dump"
    # The commands of docs/operations.md ("Backups and restore").
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", f"{SERVER}/{source}"], check=True
    )
    _admin(f'CREATE DATABASE "{target}"')
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={SERVER}/{target}", str(dump)], check=True
    )

    before, after = _rows(source), _rows(target)
    assert after == before
    users, info, migrations = after
    assert len(users) == 6 and ("52345678", "Líder Copia") in users
    assert ("52345678", "found", "BOGOTÁ D.C.", "7") in info
    assert ("accounts", "0001_initial") in migrations
    # The restored database is one Django can use as it is: no migration left to run.
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"{SERVER}/{target}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
