"""The compose stack, checked without a container engine: the files are valid Compose,
every script they run exists and parses, every management command they name exists,
the image installs production requirements only, and Prometheus accepts its files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.fixtures.tools import ensure_tool

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "compose" / "schema" / "compose-spec.json"
COMPOSE_FILES = sorted(ROOT.glob("docker-compose*.yml"))
START_SCRIPTS = [*sorted(ROOT.glob("compose/production/*/start")), ROOT / "compose/production/entrypoint"]
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def _load(text: str):
    return YAML(typ="safe").load(text)


def validate(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_there_is_a_production_and_a_local_compose_file():
    assert [f.name for f in COMPOSE_FILES] == ["docker-compose.local.yml", "docker-compose.production.yml"]


def test_every_compose_file_follows_the_compose_specification():
    result = validate(*COMPOSE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_file(tmp_path):
    """Positive control: the same check fails on a service with a misspelt key."""
    broken = tmp_path / "docker-compose.broken.yml"
    broken.write_text("services:\n  web:\n    image: x\n    restart_policy: always\n")
    result = validate(broken)
    assert result.returncode != 0
    assert "restart_policy" in result.stdout


def _compose(name: str) -> dict:
    return _load((ROOT / name).read_text())


def test_the_production_stack_has_every_service_the_issue_lists():
    services = _compose("docker-compose.production.yml")["services"]
    assert {"postgres", "rabbitmq", "release", "web", "worker", "scheduler", "prometheus", "nginx"} <= set(
        services
    )
    assert services["grafana"]["profiles"] == ["grafana"]
    # Scalable: no fixed container name or published port on the worker.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["release"]["condition"] == "service_completed_successfully"
    assert services["release"]["restart"] == "no"
    assert "postgres_data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "rabbitmq_data:/var/lib/rabbitmq" in services["rabbitmq"]["volumes"]


def test_worker_stop_grace_outlasts_its_shutdown_timeout():
    services = _compose("docker-compose.production.yml")["services"]
    grace = int(services["worker"]["stop_grace_period"].rstrip("s"))
    env = (ROOT / "compose/production/env/django.env.example").read_text()
    shutdown_ms = int(re.search(r"^DRAMATIQ_SHUTDOWN_TIMEOUT_MS=(\d+)", env, re.M).group(1))
    assert grace > shutdown_ms / 1000


DEFAULTS_PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.LOOKUP_MAX_BACKOFF_MS, s.LOOKUP_LEASE_SECONDS, s.LOOKUP_TIME_LIMIT_MS)"
)


def test_rabbitmq_consumer_timeout_covers_our_longest_unacked_hold():
    """Dramatiq holds a retry unacked until due (max backoff), a deferral until the lease
    ends, then runs it (time limit): consumer_timeout must outlast that, with margin."""
    conf = (ROOT / "compose/production/rabbitmq/rabbitmq.conf").read_text()
    timeout_ms = int(re.search(r"^consumer_timeout = (\d+)", conf, re.M).group(1))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKUP_", "DJANGO_SETTINGS"))}
    env["DJANGO_SETTINGS_MODULE"] = "site_config.settings.local"
    probe = subprocess.run(
        [sys.executable, "-c", DEFAULTS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    backoff_ms, lease_s, time_limit_ms = map(int, probe.stdout.split())
    longest = max(backoff_ms, lease_s * 1000) + time_limit_ms
    assert timeout_ms >= 2 * longest, (timeout_ms, longest)
    plugins = (ROOT / "compose/production/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins


def _referenced_paths() -> set[Path]:
    """Every file of this repository the compose files, Dockerfile and entrypoint run or mount."""
    found = set()
    for compose in COMPOSE_FILES:
        data = _load(compose.read_text())
        for service in data["services"].values():
            command = service.get("command") or []
            for part in command if isinstance(command, list) else command.split():
                if part.startswith("/app/"):
                    found.add(ROOT / part.removeprefix("/app/"))
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("./"):
                    found.add(ROOT / source)
            for env_file in service.get("env_file", []):
                found.add(ROOT / f"{env_file}.example")
        for value in (data.get("x-django") or {}).get("env_file", []):
            found.add(ROOT / f"{value}.example")
    dockerfile = (ROOT / "compose/production/Dockerfile").read_text()
    for path in re.findall(r"/app/(compose/\S+?)[\"\s]", dockerfile):
        found.add(ROOT / path)
    return found


def test_every_file_the_stack_references_exists():
    referenced = _referenced_paths()
    backups = ROOT / "var/backups"  # created by the host at first start
    missing = sorted(str(p.relative_to(ROOT)) for p in referenced if p != backups and not p.exists())
    assert not missing
    assert ROOT / "compose/production/release/start" in referenced
    assert ROOT / "compose/production/entrypoint" in referenced


@pytest.mark.parametrize("script", START_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_start_scripts_are_executable_strict_bash_that_parses(script):
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -o errexit -o pipefail -o nounset" in text
    assert re.search(r"^exec ", text, re.M), "the process must replace the shell (signals)"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_scripts_name_only_management_commands_that_exist():
    from django.core.management import get_commands

    commands = set(get_commands())
    named = set()
    for path in [*START_SCRIPTS, ROOT / "compose/production/Dockerfile", ROOT / "compose/local/Procfile"]:
        named |= set(re.findall(r"manage\.py\s+([a-z_]+)", path.read_text()))
    assert {"migrate", "createcachetable", "collectstatic", "rundramatiq", "runscheduler", "queues"} <= named
    assert named <= commands, named - commands


def test_the_web_process_no_longer_migrates_the_release_step_does():
    web = (ROOT / "compose/production/django/start").read_text()
    release = (ROOT / "compose/production/release/start").read_text()
    assert "migrate" not in web and "createcachetable" not in web
    assert "manage.py migrate" in release and "manage.py createcachetable" in release
    assert "--worker-class gthread" in web


def test_procfile_lines_exec_so_stop_signals_reach_the_process():
    for line in (ROOT / "compose/local/Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split(":", 1)[1].strip().startswith("exec "), line


def test_the_image_installs_production_requirements_without_honcho_or_build_tools():
    dockerfile = (ROOT / "compose/production/Dockerfile").read_text()
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS run$", dockerfile, re.M)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    final_stage = dockerfile.split(" AS run", 1)[1]
    assert "build-essential" not in final_stage and "gcc" not in final_stage
    assert "chromium" in final_stage and "USER app" in final_stage
    assert "requirements/production.txt" in dockerfile and "local.txt" not in dockerfile
    production = (ROOT / "requirements/production.txt").read_text() + (
        ROOT / "requirements/base.txt"
    ).read_text()
    assert "honcho" not in production and "honcho==" in (ROOT / "requirements/local.txt").read_text()


def test_env_templates_hold_no_secret():
    for template in ROOT.glob("compose/production/env/*.env.example"):
        for line in template.read_text().splitlines():
            key, _, value = line.partition("=")
            if any(word in key for word in ("SECRET", "PASSWORD", "PASS", "API_KEY")) and not line.startswith(
                "#"
            ):
                assert value in ("", "CHANGE-ME"), line
    assert "compose/production/env/*.env" in (ROOT / ".gitignore").read_text()


def test_prometheus_accepts_its_alert_rules_and_config():
    promtool = ensure_tool("promtool")
    folder = ROOT / "compose/production/prometheus"
    rules = subprocess.run(
        [promtool, "check", "rules", "alerts.yml"], cwd=folder, capture_output=True, text=True
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"], cwd=folder, capture_output=True, text=True
    )
    assert config.returncode == 0, config.stdout + config.stderr


def test_alert_rules_fire_on_the_situations_they_describe():
    """promtool's rule unit tests (alerts.test.yml): each alert fires on a synthetic series."""
    promtool = ensure_tool("promtool")
    folder = ROOT / "compose/production/prometheus"
    result = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"], cwd=folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_entry_in_the_operations_guide():
    rules = _load((ROOT / "compose/production/prometheus/alerts.yml").read_text())
    guide = (ROOT / "docs/operations.md").read_text()
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', guide))
    for rule in rules["groups"][0]["rules"]:
        runbook = rule["annotations"]["runbook"]
        assert runbook.startswith("docs/operations.md#"), rule["alert"]
        assert runbook.split("#", 1)[1] in anchors, rule["alert"]


def test_nginx_accepts_its_config(tmp_path):
    nginx = ensure_tool("nginx")
    conf = _nginx_conf(tmp_path, upstream="127.0.0.1:9", port=18080)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def _nginx_conf(folder: Path, *, upstream: str, port: int) -> Path:
    """A runnable nginx.conf around the stack's server block, with its ${...} filled in."""
    template = (ROOT / "compose/production/nginx/default.conf.template").read_text()
    server = template.replace("${WEB_UPSTREAM}", upstream).replace("${NGINX_PORT}", f"127.0.0.1:{port}")
    (folder / "logs").mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(
        "pid nginx.pid;\nerror_log logs/error.log warn;\nevents { worker_connections 256; }\n"
        "http {\n  access_log off;\n  client_body_temp_path tmp_body;\n  proxy_temp_path tmp_proxy;\n"
        f"{server}\n}}\n"
    )
    return conf


def test_podman_is_not_needed_and_not_assumed():
    """The optional `make image` target builds with podman or docker when one can; the
    test only checks that the target exists and says why when neither can build."""
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^image:", makefile, re.M)
    if shutil.which("podman") is None and shutil.which("docker") is None:
        result = subprocess.run(["make", "-s", "image"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode != 0
        assert "podman" in result.stderr


def test_helpers_the_start_scripts_call_exist():
    """The entrypoint and the worker call Python helpers next to them ($here/...)."""
    called = []
    for script in START_SCRIPTS:
        for relative in re.findall(r'"\$here/([^"]+)"', script.read_text()):
            called.append((script.parent / relative).resolve())
    assert ROOT / "compose/local/check_rabbitmq.py" in called
    assert ROOT / "compose/production/wait_for_postgres.py" in called
    assert all(path.is_file() for path in called), called
