"""A batch run checks the stations' coordinate system once, over all units, as the single
run does: a GCJ-02 sheet read as WGS-84 stops the run with the single run's finding, not
some units failing and the others stitched with stations 600 m off."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from stationplan import batch
from stationplan._errors import InputError
from stationplan._offset import check_offset
from stationplan.coverage import CoverageRule
from stationplan.pipeline import coverage_network
from stationplan.stations import read_stations


@pytest.fixture(scope="module")
def guixi(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, Path]:
    from handnet import shared_osm, shared_sheet

    tmp = tmp_path_factory.mktemp("offset")
    net = coverage_network(shared_osm("guixi_county_city.osm.bz2"))
    batch.partition(net, batch.grid_units(net, km=1.0), tmp / "units", halo_m=745.0)
    # the office sheet's stations as a bare CSV: Amap (GCJ-02) coordinates, no word of it
    sheet = pd.read_excel(shared_sheet("guixi_stations.xlsx"), header=1)
    sheet = sheet[pd.to_numeric(sheet["经度"], errors="coerce").notna()]
    plain = tmp / "stations.csv"
    sheet[["站点名称", "经度", "纬度"]].to_csv(plain, index=False)
    return net, tmp / "units", plain


@pytest.mark.parametrize("task", ["coverage", "plan"])
def test_a_gcj02_sheet_read_as_wgs84_stops_the_batch_run(guixi: tuple, tmp_path: Path,
                                                         task: str) -> None:
    net, units, plain = guixi
    stations = read_stations(plain)
    whole = check_offset(net, stations)  # the single run's check, on the whole network
    assert whole.suspected and whole.alternative == "gcj02"
    extracts = batch.read_units(units, lazy=True)
    assert len(extracts) > 10  # stations spread over many units, few in each
    kw = {"rule": CoverageRule(), "max_snap_m": 100.0, "out": tmp_path / "out",
          "scheduler": "serial"}
    with pytest.raises(InputError) as got:
        if task == "coverage":
            batch.batch_coverage_extracts(extracts, stations, **kw)  # type: ignore[arg-type]
        else:
            batch.batch_plan_extracts(extracts, stations,  # type: ignore[arg-type]
                                      options=batch.PlanOptions(ks=(0, 1), time_limit_s=5),
                                      **kw)
    assert whole.message in str(got.value)  # the same stations, distances and verdict
    # "stopped before writing anything": not even the units' store of results computed
    # from the refused coordinates
    assert not (tmp_path / "out").exists()


def test_a_refused_run_leaves_the_folder_of_an_earlier_run_as_it_was(guixi: tuple,
                                                                     tmp_path: Path) -> None:
    _, units, plain = guixi
    out = tmp_path / "out"
    kw = {"rule": CoverageRule(), "max_snap_m": 100.0, "out": out, "scheduler": "serial"}
    batch.batch_coverage_extracts(batch.read_units(units, lazy=True),
                                  read_stations(plain, crs="gcj02"), **kw)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(p.parent.name == "units" for p in before)  # the store of the good run
    with pytest.raises(InputError, match="GCJ-02"):
        batch.batch_coverage_extracts(batch.read_units(units, lazy=True),
                                      read_stations(plain), overwrite=True, **kw)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_named_system_that_looks_wrong_is_warned_once(guixi: tuple, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    net, units, plain = guixi
    stations = read_stations(plain, crs="wgs84")  # the user said WGS-84: a warning only
    whole = check_offset(net, stations)
    assert whole.suspected
    with caplog.at_level(logging.INFO, logger="stationplan"):
        res = batch.batch_coverage_extracts(batch.read_units(units, lazy=True), stations,
                                            rule=CoverageRule(), max_snap_m=100.0,
                                            out=tmp_path / "out", scheduler="serial")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [whole.message]
    assert not res.failed and (tmp_path / "out" / "league.csv").exists()


@pytest.mark.parametrize(("rows", "said"), [
    ("A,116.3,39.9\nB,116.31,39.91\n", "none of the 2 stations can be used: 2 in no unit's core"),
    ("A,abc,28.3\nB,,\n", "none of the 2 stations can be used: 2 without a usable location"),
])
def test_a_sheet_none_of_whose_stations_is_used_stops_the_batch_run(
        guixi: tuple, tmp_path: Path, rows: str, said: str) -> None:
    """A league at 0 % from a sheet of another town (Beijing's stations on Guixi's
    units) or of unreadable rows is not a result: refused as stationplan coverage
    refuses it, before the outputs are written."""
    _, units, _ = guixi
    sheet = tmp_path / "stations.csv"
    sheet.write_text("name,lng,lat\n" + rows, encoding="utf-8")
    with pytest.raises(InputError, match=said):
        batch.batch_coverage_extracts(batch.read_units(units, lazy=True),
                                      read_stations(sheet), rule=CoverageRule(),
                                      max_snap_m=100.0, out=tmp_path / "out",
                                      scheduler="serial")
    assert not (tmp_path / "out").exists()
