#!/usr/bin/env bash
# One command that installs the test extras (and the browser-test tools) and runs the tests.
# Usage: bash tests/run.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
if [ -f tests/browser/setup.sh ]; then
    bash tests/browser/setup.sh
fi
exec python -m pytest "$@"
