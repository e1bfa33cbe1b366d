"""Bad broker settings are refused up front, in one line with the fix: by the AMQP login
check (`make run`, `make test`) and by the worker's start script, instead of a worker
printing reconnect tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "compose/local/check_rabbitmq.py"
pytestmark = pytest.mark.broker


def check(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RABBITMQ_URL": url}
    return subprocess.run(
        [sys.executable, str(CHECK), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_good_credentials_pass_silently():
    result = check("amqp://guest:guest@127.0.0.1:5672/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""


def test_a_wrong_password_is_one_line_naming_the_fix():
    result = check("amqp://guest:not-the-password@127.0.0.1:5672/")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "refused the login of user 'guest'" in lines[0]
    assert "RABBITMQ_URL" in lines[0] and "rabbitmqctl add_user" in lines[0]
    assert "not-the-password" not in result.stderr


def test_a_missing_vhost_is_one_line_naming_the_fix():
    result = check("amqp://guest:guest@127.0.0.1:5672/no-such-vhost")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "vhost 'no-such-vhost'" in result.stderr and "rabbitmqctl add_vhost" in result.stderr


def test_an_unreachable_broker_is_waited_for_within_the_bound_then_one_line():
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = check(f"amqp://guest:guest@127.0.0.1:{port}/", "--wait", "2")
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert 2 <= elapsed < 15
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"not reachable at 127.0.0.1:{port}" in result.stderr


def test_a_refused_login_is_not_waited_for():
    started = time.monotonic()
    result = check("amqp://guest:wrong@127.0.0.1:5672/", "--wait", "30")
    assert result.returncode == 1
    assert time.monotonic() - started < 10


def test_the_worker_start_script_refuses_bad_credentials_in_one_line(tmp_path):
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DJANGO_SETTINGS_MODULE": "site_config.settings.test",
        "RABBITMQ_URL": "amqp://guest:wrong@127.0.0.1:5672/",
        "WORKER_METRICS_DIR": str(tmp_path / "metrics"),
    }
    result = subprocess.run(
        [str(ROOT / "compose/production/worker/start")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1 and output[0].startswith("ERROR: RabbitMQ at 127.0.0.1:5672 refused the login")


def test_make_run_checks_the_login_before_starting_anything():
    makefile = (ROOT / "Makefile").read_text()
    assert "run: setup migrate check-rabbitmq" in makefile
    assert "compose/local/check_rabbitmq.py" in makefile


def test_the_entrypoint_waits_for_postgres_and_rabbitmq_with_a_bound(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/nothing",
        "WAIT_FOR_SERVICES_SECONDS": "2",
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "compose/production/entrypoint"), "true"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert 2 <= time.monotonic() - started < 20
    assert result.stderr.strip().startswith(f"ERROR: PostgreSQL at 127.0.0.1:{port}/nothing is not usable")
    # With both up, it runs the command it was given.
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
    ok = subprocess.run(
        [str(ROOT / "compose/production/entrypoint"), "echo", "started"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "started"
