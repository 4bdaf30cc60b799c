#!/usr/bin/env bash
# Install what the browser tests need: Debian's chromium (Playwright's own browser download
# cannot reach its host), with fonts-liberation (the Arial/Helvetica metrics map labels ask
# for) and fonts-noto-cjk (so Chinese renders in screenshots, not as boxes). The maps hold
# their own scripts and styles, so nothing else is needed.
# Idempotent and quiet on success. Without STATIONPLAN_STRICT=1 a failed install only warns
# (the browser tests then skip); with it, a missing chromium stops the run. Missing fonts
# only warn: the tests pass without them.
set -uo pipefail

chromium=/usr/bin/chromium
strict="${STATIONPLAN_STRICT:-0}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

problem() {
    if [ "$strict" = 1 ]; then
        echo "tests/browser/setup.sh: error: $1" >&2
        [ -s "$log" ] && head -n 20 "$log" >&2
        exit 1
    fi
    echo "tests/browser/setup.sh: warning: $1; the browser tests will be skipped" >&2
    : >"$log"
}

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Another run of this script (a colleague's, or CI's clone) may be installing right now:
# apt must not run twice at once.
exec 9>"${TMPDIR:-/tmp}/stationplan-browser-setup.lock"
flock -w 900 9 || problem "timed out waiting for another tests/browser/setup.sh"

want=()
[ -x "$chromium" ] || want+=(chromium)
if command -v dpkg-query >/dev/null; then
    for font in fonts-liberation fonts-noto-cjk; do
        installed "$font" || want+=("$font")
    done
fi
[ "${#want[@]}" = 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if ! { apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
               "${want[@]}"; } >"$log" 2>&1; then
        if [ -x "$chromium" ]; then
            echo "tests/browser/setup.sh: warning: apt-get could not install ${want[*]}" >&2
        else
            problem "apt-get could not install ${want[*]}"
        fi
    fi
elif [ ! -x "$chromium" ]; then
    problem "$chromium is missing and apt-get cannot run here (needs root); install Debian's chromium"
else
    echo "tests/browser/setup.sh: warning: ${want[*]} missing (apt-get needs root)" >&2
fi
exit 0
