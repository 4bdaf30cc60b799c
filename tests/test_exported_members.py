"""The public API is exactly the sorted __all__."""

import subprocess
import sys
from pathlib import Path

import pytest

import stationplan


def test_all_is_sorted_and_complete():
    names = stationplan.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(stationplan, name), name
    public = {n for n in dir(stationplan) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(stationplan, n)).__name__ == "module"}
    assert public - modules == set(names) - {"__version__"}


def test_import_is_light():
    """``import stationplan`` loads no heavy dependency; names load on first use (PEP 562)."""
    heavy = ("geopandas", "numba", "numpy", "osmnx", "pandas", "pyrosm", "scipy", "sklearn")
    code = (
        "import sys, stationplan\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(stationplan.__file__).parent.parent)
    assert out.stdout.strip() == "[]"


def test_submodules_stay_reachable_as_attributes():
    assert stationplan.siting.plan_sites is not None
    assert "plan_sites" in dir(stationplan.siting)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = stationplan.no_such_name
