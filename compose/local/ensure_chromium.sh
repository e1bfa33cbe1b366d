#!/usr/bin/env bash
# Make sure a Chromium that Playwright can drive exists (`make chromium`).
# Looks where scrapers/chromium.py (find_chromium) looks, in the same order, so "found" here means
# the workers will find it too: $CHROMIUM_PATH, the system browser, a browser Playwright downloaded
# earlier ($PLAYWRIGHT_BROWSERS_PATH, else ~/.cache/ms-playwright). Only then does it install:
# Debian's package (as root), else Playwright's own download.
# Debian's chromium-headless-shell is the browser we want (lighter and ~1.5x faster for lookups
# than the full chromium, docs/benchmarks.md#headless-shell): as root with apt, a machine that
# only has the full browser gets it added once; without root the full browser is used.
# CHROMIUM_CANDIDATES (space-separated) replaces the system list; tests set it to "" to hide
# /usr/bin/chromium.
set -o errexit -o pipefail -o nounset
export LC_ALL=C # glob order by byte value, like Python's sorted()

found() { echo "chromium: $1"; exit 0; }

# Print $1 resolved when it is an executable file (a bare name is looked up on $PATH).
executable() {
  if [[ "$1" == */* ]]; then
    if [[ -f "$1" && -x "$1" ]]; then echo "$1"; fi
  else
    command -v -- "$1" 2> /dev/null || true
  fi
}

# Newest executable browser in Playwright's download folder (chrome-linux/ before 1.5x, chrome-linux64/ now).
playwright_own() {
  local root="${PLAYWRIGHT_BROWSERS_PATH:-${HOME}/.cache/ms-playwright}" pattern path
  local -a matches
  shopt -s nullglob
  for pattern in "chromium-*/chrome-linux*/chrome" "chromium_headless_shell-*/chrome-linux*/headless_shell"; do
    # shellcheck disable=SC2206 # the glob is meant to expand here
    matches=("${root}"/${pattern})
    for ((i = ${#matches[@]} - 1; i >= 0; i--)); do
      path="$(executable "${matches[i]}")"
      if [[ -n "$path" ]]; then
        echo "$path"
        return 0
      fi
    done
  done
}

if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  path="$(executable "$CHROMIUM_PATH")"
  if [[ -n "$path" ]]; then found "$path"; fi
  # find_chromium refuses a wrong CHROMIUM_PATH rather than picking another browser: so do we.
  echo "ERROR: CHROMIUM_PATH=${CHROMIUM_PATH} is not an executable file." >&2
  exit 1
fi
SHELL_PATH=/usr/bin/chromium-headless-shell
can_apt() { [[ "$(id -u)" == "0" ]] && command -v apt-get > /dev/null; }
install_debian() {
  echo "chromium: installing Debian's $* package..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" > /dev/null
}
candidates="${CHROMIUM_CANDIDATES-$SHELL_PATH chromium-headless-shell /usr/bin/chromium /usr/bin/chromium-browser chromium chromium-browser}"
if [[ -z "${CHROMIUM_CANDIDATES+set}" && ! -x "$SHELL_PATH" ]] && can_apt; then
  install_debian chromium-headless-shell || echo "chromium: apt-get could not install chromium-headless-shell" >&2
fi
for candidate in $candidates; do
  path="$(executable "$candidate")"
  if [[ -n "$path" ]]; then found "$path"; fi
done
path="$(playwright_own)"
if [[ -n "$path" ]]; then found "$path (downloaded by Playwright)"; fi

if can_apt; then
  if install_debian chromium; then
    path="$(executable /usr/bin/chromium)"
    if [[ -n "$path" ]]; then found "$path"; fi
  fi
  echo "chromium: apt-get could not install it" >&2
fi
if [[ -x .venv/bin/playwright ]] && .venv/bin/playwright install chromium > /dev/null 2>&1; then
  path="$(playwright_own)"
  if [[ -n "$path" ]]; then found "$path (just downloaded by Playwright)"; fi
fi
echo "ERROR: no Chromium found. Install one (Debian/Ubuntu: 'sudo apt-get install chromium')" \
     "or set CHROMIUM_PATH to a Chromium/Chrome binary." >&2
exit 1
