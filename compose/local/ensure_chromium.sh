#!/usr/bin/env bash
# Make sure a Chromium that Playwright can drive exists.
# Order: $CHROMIUM_PATH, the system browser, Playwright's own download, Debian's package (as root).
set -o errexit -o pipefail -o nounset

found() { echo "chromium: $1"; exit 0; }

if [[ -n "${CHROMIUM_PATH:-}" && -x "${CHROMIUM_PATH}" ]]; then found "$CHROMIUM_PATH"; fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  if [[ -x "$candidate" ]]; then found "$candidate"; fi
done
if compgen -G "${HOME}/.cache/ms-playwright/chromium-*/chrome-linux/chrome" > /dev/null; then
  found "Playwright's own browser"
fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get > /dev/null; then
  echo "chromium: installing Debian's chromium package..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
  if [[ -x /usr/bin/chromium ]]; then found /usr/bin/chromium; fi
fi
if [[ -x .venv/bin/playwright ]] && .venv/bin/playwright install chromium > /dev/null 2>&1; then
  found "Playwright's own browser (just downloaded)"
fi
echo "ERROR: no Chromium found. Install one (Debian/Ubuntu: 'sudo apt-get install chromium')" \
     "or set CHROMIUM_PATH to a Chromium/Chrome binary." >&2
exit 1
