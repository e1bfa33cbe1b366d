"""``scrapers.chromium.find_chromium``: which browser a worker launches, with fake executables."""

from __future__ import annotations

import os

import pytest

from scrapers import chromium
from scrapers.chromium import ChromiumNotFound, find_chromium


def make_executable(path, mode: int = 0o755):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No CHROMIUM_PATH, an empty Playwright download folder."""
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-downloads"))
    return monkeypatch


def test_the_system_browser_is_found_by_default(clean_env):
    found = find_chromium()
    assert os.path.isfile(found) and os.access(found, os.X_OK)


def test_chromium_path_overrides_the_system_browser(clean_env, tmp_path):
    fake = make_executable(tmp_path / "bin" / "my-chromium")
    assert find_chromium() != str(fake)  # the system one wins without the override
    clean_env.setenv("CHROMIUM_PATH", str(fake))
    assert find_chromium() == str(fake)


def test_chromium_path_may_be_a_name_on_path(clean_env, tmp_path):
    fake = make_executable(tmp_path / "bin" / "chromium-nightly")
    clean_env.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    clean_env.setenv("CHROMIUM_PATH", "chromium-nightly")
    assert find_chromium() == str(fake)


@pytest.mark.parametrize("kind", ["missing", "not executable", "directory"])
def test_a_bad_chromium_path_is_an_error_not_a_silent_fallback(clean_env, tmp_path, kind):
    target = tmp_path / "chrome"
    if kind == "not executable":
        make_executable(target, mode=0o644)
    elif kind == "directory":
        target.mkdir()
    clean_env.setenv("CHROMIUM_PATH", str(target))
    with pytest.raises(ChromiumNotFound, match="CHROMIUM_PATH"):
        find_chromium()


def test_an_explicit_path_beats_chromium_path(clean_env, tmp_path):
    from_env = make_executable(tmp_path / "env-chrome")
    explicit = make_executable(tmp_path / "explicit-chrome")
    clean_env.setenv("CHROMIUM_PATH", str(from_env))
    assert find_chromium(str(explicit)) == str(explicit)
    with pytest.raises(ChromiumNotFound, match="chromium_path"):
        find_chromium(str(tmp_path / "typo"))


def test_a_playwright_download_is_used_when_there_is_no_system_browser(clean_env, tmp_path):
    browsers = tmp_path / "browsers"
    make_executable(browsers / "chromium-1100" / "chrome-linux" / "chrome")
    newest = make_executable(browsers / "chromium-1200" / "chrome-linux64" / "chrome")
    clean_env.setenv("PLAYWRIGHT_BROWSERS_PATH", str(browsers))
    clean_env.setattr(chromium, "SYSTEM_CANDIDATES", ())
    assert find_chromium() == str(newest)


def test_nothing_found_says_how_to_get_a_browser(clean_env):
    clean_env.setattr(chromium, "SYSTEM_CANDIDATES", ())
    with pytest.raises(ChromiumNotFound, match="apt-get install chromium"):
        find_chromium()
