"""``manage.py lookup_cedula`` against the running replica, with a real Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def replica_settings(settings, replica, replica_clean):
    replica.set(captcha_delay=0)
    settings.REGISTRADURIA_WSP_URL = replica.wsp_url
    settings.REGISTRADURIA_CONSULTACENSO_URL = replica.consultacenso_url
    settings.REGISTRADURIA_ELECCIONESCOLOMBIA_URL = replica.eleccionescolombia_url
    settings.TWOCAPTCHA_SERVER = replica.captcha_server
    settings.TWOCAPTCHA_POLLING_INTERVAL = 0.05
    return settings


def run_command(*args) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("lookup_cedula", *args, stdout=out)
    except SystemExit as exit_:
        return out.getvalue(), exit_.code
    return out.getvalue(), 0


def test_json_output_carries_the_parsed_result(replica_settings):
    output, code = run_command("1000000004", "--json")

    data = json.loads(output)
    assert code == 0
    assert data["status"] == "found"
    assert data["source"] == "wsp"
    assert (data["departamento"], data["municipio"], data["puesto"], data["direccion"], data["mesa"]) == (
        "SUCRE",
        "SINCELEJO",
        "IE SAN JOSE C I P",
        "CL 22 No. 10A-380",
        "13",
    )
    assert data["is_transient"] is False
    assert "raw" not in data


def test_human_output_names_the_place(replica_settings):
    output, code = run_command("1000000002", "--source", "consultacenso")

    assert code == 0
    assert "status: found" in output
    assert "source: consultacenso" in output
    assert "departamento: NARIÑO" in output


def test_url_option_points_the_lookup_elsewhere(replica_settings, replica):
    replica_settings.REGISTRADURIA_WSP_URL = "http://127.0.0.1:9/nowhere/"

    output, code = run_command("2000000001", "--json", "--url", replica.wsp_url)

    assert code == 0
    assert json.loads(output)["status"] == "not_found"


def test_eleccionescolombia_can_be_asked_alone_and_prints_the_zona(replica_settings, replica):
    by_name, code = run_command("1000000004", "--source", "eleccionescolombia")
    by_url, _ = run_command("1000000004", "--json", "--url", replica.eleccionescolombia_url)

    assert code == 0
    assert "source: eleccionescolombia" in by_name and "zona: 03" in by_name
    data = json.loads(by_url)
    assert (data["source"], data["zona"], data["mesa"]) == ("eleccionescolombia", "03", "13")


def test_invalid_cedula_is_a_clear_error(replica_settings):
    with pytest.raises(CommandError, match="invalid cédula"):
        call_command("lookup_cedula", "12ab")


def test_transient_failure_exits_non_zero(replica, replica_clean):
    replica.set(waf=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "REGISTRADURIA_CONSULTACENSO_URL": replica.consultacenso_url,
        "REGISTRADURIA_ELECCIONESCOLOMBIA_URL": replica.eleccionescolombia_url,
        "TWOCAPTCHA_SERVER": replica.captcha_server,
        "SCRAPER_DEADLINE_SECONDS": "20",
    }

    proc = subprocess.run(
        [sys.executable, "manage.py", "lookup_cedula", "1000000004", "--json", "--url", replica.wsp_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "blocked"
    assert data["is_transient"] is True
