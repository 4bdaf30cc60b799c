"""mypy passes over the package, with the settings in pyproject.toml ([tool.mypy])."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes_on_the_package():
    if importlib.util.find_spec("mypy") is None:
        reason = "mypy is not installed (pip install -e '.[test]')"
        if os.environ.get("STATIONPLAN_STRICT"):
            pytest.fail(reason)
        pytest.skip(reason)
    out = subprocess.run([sys.executable, "-m", "mypy", "stationplan"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
