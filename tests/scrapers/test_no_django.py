"""The scrapers package runs outside Django (workers, the replica, benches): importing it loads none.

Checked in a fresh interpreter, because this test process has Django loaded already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = (
    "scrapers",
    "scrapers.registraduria",
    "scrapers.client",
    "scrapers.browser",
    "scrapers.captcha",
    "scrapers.chromium",
    "scrapers.masking",
    "scrapers.sources",
    "scrapers.sources.base",
    "scrapers.sources.wsp",
    "scrapers.sources.consultacenso",
    "scrapers.sources.eleccionescolombia",
    "scrapers.replica",
    "scrapers.replica.eleccionescolombia",
    "scrapers.replica.server",
    "scrapers.replica.__main__",
)
CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    assert name in sys.modules, name
loaded = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
assert not loaded, loaded
print("ok", len(sys.argv) - 1)
"""


def run_check(*modules: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    return subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{CHECK}", *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_the_scrapers_loads_no_django():
    done = run_check(*MODULES)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {len(MODULES)}"


def test_the_check_does_catch_a_django_import():
    # The same check on a module that does pull Django in must fail, or the test above proves nothing.
    done = run_check("scrapers.registraduria", "django.conf")
    assert done.returncode != 0
    assert "django" in done.stderr
