"""Production settings as an operator runs them: `check --deploy` is silent, HSTS is a year,
logs are JSON lines with personal data still masked."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "site_config.settings.production",
            # check --deploy rejects short or "django-insecure" keys: a real-looking one.
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "portal.example.org",
            "TWOCAPTCHA_API_KEY": "test-key",
            "DATABASE_URL": "postgres://paginamadre@127.0.0.1:5432/paginamadre",
            **extra,
        }
    )
    return env


def run(args: list[str], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_would_speak_up(tmp_path):
    """Positive control: the same run with DEBUG on is refused."""
    probe = tmp_path / "debug_settings.py"
    probe.write_text("from site_config.settings.production import *  # noqa\nDEBUG = True\n")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**production_env(DJANGO_SETTINGS_MODULE="debug_settings"), "PYTHONPATH": f"{tmp_path}:{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


HSTS_PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
    " s.SILENCED_SYSTEM_CHECKS)"
)


def test_hsts_defaults_to_a_year_with_subdomains_and_preload_as_settings():
    default = run(["-c", HSTS_PROBE])
    assert default.stdout.split(" ", 3)[:3] == ["31536000", "False", "False"], default.stderr
    opted_in = run(
        ["-c", HSTS_PROBE], DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="True", DJANGO_SECURE_HSTS_PRELOAD="True"
    )
    assert opted_in.stdout.strip() == "31536000 True True []", opted_in.stderr


LOG_PROBE = """
import django, logging
django.setup()
from scrapers.masking import mask_cedula
logging.getLogger("accounts.services.cedulas").warning("lookup recorded cedula=%s", mask_cedula("52345678"))
"""


def test_production_logs_are_json_lines_with_the_cedula_masked():
    result = run(["-c", LOG_PROBE])
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["level"] == "WARNING"
    assert line["logger"] == "accounts.services.cedulas"
    assert line["message"] == "lookup recorded cedula=*****678"
    assert "52345678" not in result.stderr
    # The app's clock: local Bogotá time with its offset.
    assert line["time"].endswith("-0500")


def test_production_database_is_instrumented_for_metrics():
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s;"
            " print(s.DATABASES['default']['ENGINE'])",
        ]
    )
    assert result.stdout.strip() == "django_prometheus.db.backends.postgresql", result.stderr
