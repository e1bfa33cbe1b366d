"""``compose/local/ensure_chromium.sh`` (``make chromium``) finds browsers where scrapers.chromium does.

The script runs for real under bash, in a scratch directory: HOME and PLAYWRIGHT_BROWSERS_PATH
point at fake Playwright download trees, ``CHROMIUM_CANDIDATES=""`` hides the system browser,
and PATH starts with a fake ``apt-get`` that only records being called (the tests run as root
here, where the script would otherwise install Debian's package).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "compose" / "local" / "ensure_chromium.sh"
TIMEOUT = 30


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def sandbox(tmp_path):
    """A scratch HOME, an empty work directory (no .venv) and a fake apt-get first on PATH."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    bin_dir = tmp_path / "bin"
    for folder in (home, work, bin_dir):
        folder.mkdir()
    calls = tmp_path / "apt-get.calls"
    fake_apt = bin_dir / "apt-get"
    fake_apt.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexit 1\n')
    fake_apt.chmod(0o755)
    env = {
        "HOME": str(home),
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "CHROMIUM_CANDIDATES": "",
        "LANG": "C.UTF-8",
    }

    def run(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(SCRIPT)],
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    run.home = home
    run.tmp = tmp_path
    run.apt_calls = calls
    return run


def test_finds_playwright_164_layout_under_playwright_browsers_path(sandbox):
    browsers = sandbox.tmp / "browsers"
    chrome = make_executable(browsers / "chromium-1234" / "chrome-linux64" / "chrome")
    done = sandbox(PLAYWRIGHT_BROWSERS_PATH=str(browsers))
    assert done.returncode == 0, done.stderr
    assert str(chrome) in done.stdout
    assert "install" not in done.stdout
    assert not sandbox.apt_calls.exists()


def test_finds_playwright_browser_in_the_default_cache_of_home(sandbox):
    chrome = make_executable(
        sandbox.home / ".cache" / "ms-playwright" / "chromium-1234" / "chrome-linux64" / "chrome"
    )
    done = sandbox()
    assert done.returncode == 0, done.stderr
    assert str(chrome) in done.stdout
    assert not sandbox.apt_calls.exists()


def test_older_chrome_linux_layout_and_newest_revision_win(sandbox):
    browsers = sandbox.tmp / "browsers"
    make_executable(browsers / "chromium-1100" / "chrome-linux" / "chrome")
    newest = make_executable(browsers / "chromium-1200" / "chrome-linux" / "chrome")
    done = sandbox(PLAYWRIGHT_BROWSERS_PATH=str(browsers))
    assert done.returncode == 0, done.stderr
    assert str(newest) in done.stdout


def test_a_non_executable_download_is_not_reported(sandbox):
    browsers = sandbox.tmp / "browsers"
    stub = browsers / "chromium-1234" / "chrome-linux64" / "chrome"
    stub.parent.mkdir(parents=True)
    stub.write_text("not a program")
    done = sandbox(PLAYWRIGHT_BROWSERS_PATH=str(browsers))
    assert done.returncode == 1
    assert "no Chromium found" in done.stderr


def test_the_same_tree_is_what_scrapers_chromium_finds(sandbox, monkeypatch):
    from scrapers import chromium

    browsers = sandbox.tmp / "browsers"
    chrome = make_executable(browsers / "chromium-1234" / "chrome-linux64" / "chrome")
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(browsers))
    monkeypatch.setattr(chromium, "SYSTEM_CANDIDATES", ())
    assert chromium.find_chromium() == str(chrome)
    assert str(chrome) in sandbox(PLAYWRIGHT_BROWSERS_PATH=str(browsers)).stdout


def test_chromium_path_wins_and_a_bad_one_is_an_error(sandbox):
    browsers = sandbox.tmp / "browsers"
    make_executable(browsers / "chromium-1234" / "chrome-linux64" / "chrome")
    mine = make_executable(sandbox.tmp / "my-chrome")
    done = sandbox(PLAYWRIGHT_BROWSERS_PATH=str(browsers), CHROMIUM_PATH=str(mine))
    assert done.returncode == 0 and str(mine) in done.stdout
    # Like find_chromium: a typo in CHROMIUM_PATH fails loudly instead of picking another browser.
    done = sandbox(PLAYWRIGHT_BROWSERS_PATH=str(browsers), CHROMIUM_PATH=str(sandbox.tmp / "typo"))
    assert done.returncode == 1
    assert "CHROMIUM_PATH" in done.stderr


def test_system_candidates_are_still_used_by_default(sandbox):
    system = shutil.which("chromium-headless-shell") or shutil.which("chromium") or "/usr/bin/chromium"
    assert os.access(system, os.X_OK), "the test machine has Debian's chromium (`make setup`)"
    env = {"PLAYWRIGHT_BROWSERS_PATH": str(sandbox.tmp / "empty")}
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=sandbox.tmp,
        env={"HOME": str(sandbox.home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert f"chromium: {system}" in done.stdout


def test_nothing_found_tries_debian_as_root_then_says_what_to_do(sandbox):
    done = sandbox(PLAYWRIGHT_BROWSERS_PATH=str(sandbox.tmp / "empty"))
    assert done.returncode == 1
    assert "no Chromium found" in done.stderr and "CHROMIUM_PATH" in done.stderr
    # Only root may install the package; the fake apt-get fails, so the script goes on and reports.
    assert sandbox.apt_calls.exists() is (os.geteuid() == 0)
