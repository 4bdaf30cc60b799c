#!/usr/bin/env bash
# Install what the browser tests need: Debian's chromium (Playwright's own browser download
# cannot reach its host) and the pinned npm copies of the CDN files that folium maps load.
# Idempotent and quiet on success. Without STATIONPLAN_STRICT=1 a failed install only warns
# (the browser tests then skip); with it, the failure stops the run.
set -uo pipefail

assets="$(cd "$(dirname "$0")" && pwd)/_assets"
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

# Another run of this script (a colleague's, or CI's clone) may be installing right now:
# apt and `npm ci` into the same folder must not run twice at once.
exec 9>"${TMPDIR:-/tmp}/stationplan-browser-setup.lock"
flock -w 900 9 || problem "timed out waiting for another tests/browser/setup.sh"

if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        # fonts-liberation: the metric-compatible Arial/Helvetica that map labels ask for.
        if ! { apt-get update -qq &&
               DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                   chromium fonts-liberation; } >"$log" 2>&1; then
            problem "apt-get could not install chromium"
        fi
    else
        problem "$chromium is missing and apt-get cannot run here (needs root); install Debian's chromium"
    fi
fi

# fonts-noto-cjk: the Chinese text of the PNGs and of the maps in zh (without it the PNGs
# fall back to English). Only a warning when it cannot be installed: no test needs it.
if [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] && [ "$(id -u)" = 0 ] &&
        command -v apt-get >/dev/null; then
    if ! { apt-get install -y -qq --no-install-recommends fonts-noto-cjk ||
           { apt-get update -qq &&
             apt-get install -y -qq --no-install-recommends fonts-noto-cjk; }; } \
            >"$log" 2>&1; then
        echo "tests/browser/setup.sh: warning: apt-get could not install fonts-noto-cjk" >&2
    fi
fi

# node_modules is current when the stamp holds the hash of the lock file it was installed from.
stamp="$assets/node_modules/.stationplan-lock.sha256"
want="$(sha256sum "$assets/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    if ! command -v npm >/dev/null; then
        problem "npm is missing; install node and npm (Debian: apt-get install -y npm)"
    # --ignore-scripts: these packages are plain files; no install script needs to run.
    elif (cd "$assets" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
            >"$log" 2>&1; then
        echo "$want" >"$stamp"
    else
        problem "npm ci in tests/browser/_assets failed"
    fi
fi
exit 0
