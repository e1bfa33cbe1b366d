"""Production settings refuse to boot without their secrets; defaults point at the real site."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.REGISTRADURIA_WSP_URL, s.TWOCAPTCHA_SERVER, s.DEBUG)"
)
REQUIRED = {"DJANGO_SECRET_KEY": "s3cr3t", "DJANGO_ALLOWED_HOSTS": "example.org", "TWOCAPTCHA_API_KEY": "k"}


def boot(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED and k != "DATABASE_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "site_config.settings.production", **env_overrides})
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_boots_with_its_secrets_and_targets_the_real_site():
    result = boot(REQUIRED)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "https://wsp.registraduria.gov.co/censo/consultar/",
        "https://2captcha.com",
        "False",
    ]


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_production_refuses_to_boot_without(missing):
    result = boot({k: v for k, v in REQUIRED.items() if k != missing})
    assert result.returncode != 0
    assert missing in result.stderr


def test_broker_connection_waits_are_bounded():
    import dramatiq

    broker = dramatiq.get_broker()
    params = broker.parameters[0] if isinstance(broker.parameters, list) else broker.parameters
    assert params.blocked_connection_timeout == 30
    assert params.socket_timeout == 5
    assert params.stack_timeout == 10


SQLITE_PROBE = """
import django, tempfile, os
from django.conf import settings
django.setup()
from django.db import connection
options = settings.DATABASES["default"]["OPTIONS"]
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout")
    busy = cursor.fetchone()[0]
print(settings.DATABASES["default"]["ENGINE"], journal, busy, options["transaction_mode"])
print(settings.LANGUAGE_CODE, settings.TIME_ZONE)
"""


def test_default_database_is_sqlite_ready_for_concurrent_writers(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="site_config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    engine_line, locale_line = result.stdout.strip().splitlines()
    assert engine_line.split() == ["django.db.backends.sqlite3", "wal", "30000", "IMMEDIATE"]
    assert locale_line.split() == ["es-co", "America/Bogota"]


def test_default_database_url_is_the_sqlite_file_in_var():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "site_config.settings.local"
    probe = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['NAME'])"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(ROOT / "var" / "db.sqlite3")


def test_pages_load_scripts_and_styles_only_from_our_static_files():
    import re

    templates = list((ROOT / "site_config" / "templates").rglob("*.html")) + list(
        (ROOT / "accounts" / "templates").rglob("*.html")
    )
    assert templates
    external = re.compile(r"""<(script|link)[^>]+(src|href)=["'](https?:)?//""", re.IGNORECASE)
    offenders = [str(p) for p in templates if external.search(p.read_text())]
    assert offenders == []
