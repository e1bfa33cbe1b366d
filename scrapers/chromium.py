"""Find a Chromium binary Playwright can drive.

Playwright cannot download its own browsers on our machines, so we use the system's Chromium
(Debian ships 156, the version playwright 1.64.x speaks). Order: an explicit path, ``$CHROMIUM_PATH``,
the usual system locations, then a browser Playwright downloaded earlier, if any.

Debian's ``chromium-headless-shell`` comes first: it is the same Chromium without the desktop
browser around it (what Playwright itself launches for headless runs), and on our 2-core machines
it does ~1.5x the lookups per second of the full ``chromium`` in headless mode at ~25 % less
memory (docs/benchmarks.md#headless-shell). The full browser is the fall-back.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

SYSTEM_CANDIDATES = (
    "/usr/bin/chromium-headless-shell",
    "chromium-headless-shell",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "chromium",
    "chromium-browser",
)


class ChromiumNotFound(RuntimeError):
    """No usable Chromium: the message says how to get one."""


def _executable(path: str) -> str:
    """Return ``path`` resolved through ``$PATH`` when it is executable, else ``""``."""
    if os.sep in path:
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else ""
    return shutil.which(path) or ""


def _playwright_own() -> str:
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache" / "ms-playwright")
    patterns = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-linux*/headless_shell")
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, pattern)), reverse=True):
            if _executable(path):
                return path
    return ""


def find_chromium(explicit: str = "") -> str:
    """Return the path of the Chromium to launch.

    :param explicit: a configured path (``ClientConfig.chromium_path``); when set it must exist,
        a typo there is an error rather than a silent fall-back to another browser.
    :raises ChromiumNotFound: when nothing usable is found.
    """
    if explicit:
        if _executable(explicit):
            return _executable(explicit)
        raise ChromiumNotFound(f"configured chromium_path {explicit!r} is not an executable file")
    from_env = os.environ.get("CHROMIUM_PATH", "")
    if from_env:
        if _executable(from_env):
            return _executable(from_env)
        raise ChromiumNotFound(f"CHROMIUM_PATH={from_env!r} is not an executable file")
    for candidate in SYSTEM_CANDIDATES:
        found = _executable(candidate)
        if found:
            return found
    own = _playwright_own()
    if own:
        return own
    raise ChromiumNotFound(
        "no Chromium found: install one (Debian/Ubuntu: 'apt-get install chromium') "
        "or set CHROMIUM_PATH to a Chromium/Chrome binary"
    )
