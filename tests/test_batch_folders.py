"""The folders of partition, batch and allocate are transactions, as every other command's:
an earlier folder is replaced only with --overwrite (batch: or --resume), and a run stopped
anywhere leaves the earlier folder byte for byte, never a mix of two runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_batch import RULE, SNAP_M, _network, _stations

import stationplan.batch as batch
from stationplan._errors import InputError
from stationplan.batch import batch_coverage_extracts, grid_units, partition, read_units
from stationplan.network import StreetNetwork

HALO_M = 230.0


@pytest.fixture(scope="module")
def net() -> StreetNetwork:
    return _network()


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too), by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _outputs(folder: Path) -> dict[str, bytes]:
    """The batch outputs: every file but the per-unit store kept for --resume."""
    return {k: v for k, v in _tree(folder).items() if not k.startswith("units/")}


def test_partition_replaces_a_folder_whole_or_not_at_all(
        net: StreetNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "units"
    partition(net, grid_units(net, km=0.3), out, halo_m=HALO_M)
    before = _tree(out)
    coarse = grid_units(net, km=0.5)
    assert len(coarse) < len(before) - 1  # fewer units: old extracts would be left over
    with pytest.raises(InputError, match=r"already holds units.csv, extracts; pass --overwrite"):
        partition(net, coarse, out, halo_m=HALO_M)
    assert _tree(out) == before

    real, calls = batch.unit_extract, []

    def stopped(*args: object, **kw: object) -> batch.UnitExtract:
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C with two of the new extracts written
            raise KeyboardInterrupt
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "unit_extract", stopped)
    with pytest.raises(KeyboardInterrupt):
        partition(net, coarse, out, halo_m=HALO_M, overwrite=True)
    assert _tree(out) == before  # no staging folder, lock or half-written extract either
    monkeypatch.setattr(batch, "unit_extract", real)

    table = partition(net, coarse, out, halo_m=HALO_M, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["extracts", "units.csv"]
    assert sorted(p.name for p in (out / "extracts").iterdir()) == sorted(
        f"{u.unit_id}.pkl" for u in coarse)
    assert table["unit_id"].tolist() == [u.unit_id for u in coarse]
    assert [x.unit.unit_id for x in read_units(out)] == [u.unit_id for u in coarse]


def test_batch_outputs_are_replaced_whole_and_the_store_is_kept(
        net: StreetNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stationplan._render import province

    units_dir, out, fresh = tmp_path / "units", tmp_path / "out", tmp_path / "fresh"
    partition(net, grid_units(net, km=0.3), units_dir, halo_m=HALO_M)
    extracts = read_units(units_dir, lazy=True)
    st = _stations()

    def run(folder: Path, stations: object = st, **kw: object) -> batch.BatchResult:
        return batch_coverage_extracts(extracts, stations, rule=RULE,  # type: ignore[arg-type]
                                       max_snap_m=SNAP_M, out=folder, scheduler="serial",
                                       **kw)  # type: ignore[arg-type]

    run(out)
    before = _tree(out)
    assert "league.csv" in before and any(k.startswith("units/") for k in before)
    with pytest.raises(InputError, match=r"already holds pieces.csv, pieces, gaps, league"):
        run(out)
    assert _tree(out) == before

    # fewer stations: other outputs; stopped while the province map is drawn, after the
    # pieces, the datasets and the league were written
    fewer = st.iloc[: len(st) // 2]

    def stopped(*args: object, **kw: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(province, "province_png", stopped)
    with pytest.raises(KeyboardInterrupt):
        run(out, fewer, overwrite=True)
    assert _outputs(out) == _outputs(tmp_path / "out") == {
        k: v for k, v in before.items() if not k.startswith("units/")}
    stored = set(_tree(out)) - set(before)
    assert stored and all(k.startswith("units/") for k in stored)  # the new units' results
    monkeypatch.undo()

    res = run(out, fewer, resume=True)  # --resume continues the stopped run
    assert len(res.reused) == len(extracts)
    run(fresh, fewer)
    assert _outputs(out) == _outputs(fresh)
    assert _outputs(out)["league.csv"] != before["league.csv"]


def test_batch_refuses_to_write_into_its_units_folder(
        net: StreetNetwork, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stationplan.cli import main

    units_dir = tmp_path / "units"
    partition(net, grid_units(net, km=0.3), units_dir, halo_m=HALO_M)
    before = _tree(units_dir)
    sheet = tmp_path / "stations.csv"
    st = _stations()
    pd.DataFrame({"name": st["station_id"], "lng": st.geometry.x, "lat": st.geometry.y}
                 ).to_csv(sheet, index=False, float_format="%.10f")
    cmd = ["batch", "coverage", str(units_dir), str(sheet), "--scheduler", "serial",
           "--radius-m", "150", "--no-time-limit", "--max-snap-m", "30", "--lang", "en"]
    for out in (units_dir, units_dir / "." / ""):
        assert main([*cmd, "--out", str(out), "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is the units folder, an input of this run" in err
    # the library refuses too, whatever overwrite says
    with pytest.raises(OSError, match="is an input of this run"):
        batch_coverage_extracts(read_units(units_dir, lazy=True), st, rule=RULE,
                                max_snap_m=SNAP_M, out=units_dir, scheduler="serial",
                                overwrite=True)
    assert _tree(units_dir) == before

    # partition says at once, before reading the network, that the folder is taken
    assert main(["partition", "no-such-network.osm", "grid:1", "--out", str(units_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds units.csv, extracts" in err


@pytest.mark.parametrize("scheduler", ["serial", "inprocess"])
def test_the_extracts_own_figures_are_not_logged_as_the_units(
        net: StreetNetwork, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        scheduler: str) -> None:
    """A unit's pipeline computes on its extract, halo included: its own log lines
    ("coverage at 150 m: 2.1 of 3.0 km ...") are not the unit's figures and stay back
    while the units run in this process; warnings pass, the level is restored."""
    import logging

    pytest.importorskip("distributed")
    with caplog.at_level(logging.INFO, logger="stationplan"):
        res = batch.batch_coverage(net, _stations(), grid_units(net, km=0.3), rule=RULE,
                                   max_snap_m=SNAP_M, out=tmp_path / "out",
                                   scheduler=scheduler)
        assert logging.getLogger("stationplan").level == logging.INFO
        logging.getLogger("stationplan.coverage").info("after the run")
    assert len(res.league) > 3
    said = [r.getMessage() for r in caplog.records if r.name.startswith("stationplan")]
    assert said == ["after the run"]


def test_workbooks_are_the_csv_tables_in_the_run_language(
        net: StreetNetwork, tmp_path: Path) -> None:
    """league.xlsx (and the other batch workbooks) hold the CSV's values as typed cells,
    headers and sheet in the run's language, shares shown as percentages; a unit name that
    looks like a formula stays text."""
    import openpyxl

    units = grid_units(net, km=0.5)
    named = [batch.Unit(u.unit_id, n, u.core)
             for u, n in zip(units, ["=1+1", "东门", *(f"片区{i}" for i in range(9))],
                             strict=False)]
    res = batch.batch_coverage(net, _stations(), named, rule=RULE, max_snap_m=SNAP_M,
                               out=tmp_path / "zh", scheduler="serial")
    # the CSV opens in Excel on a Chinese PC: UTF-8 with a BOM (else read as GBK)
    assert (tmp_path / "zh" / "league.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    csv = pd.read_csv(tmp_path / "zh" / "league.csv", dtype={"unit_id": str, "name": str},
                      keep_default_na=False)
    ws = openpyxl.load_workbook(tmp_path / "zh" / "league.xlsx").active
    assert ws.title == "各单元覆盖情况"
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]] == ["单元编号", "名称", "需覆盖街道(公里)", "已覆盖(公里)",
                                          "覆盖率", "覆盖空白(公里)", "驿站数", "拟建站点",
                                          "由单元外驿站覆盖(公里)"]
    assert len(rows) - 1 == len(csv) == len(res.league)
    for row, (_, want) in zip(rows[1:], csv.iterrows(), strict=True):
        for cell, code in zip(row, csv.columns, strict=True):
            if isinstance(want[code], str):
                assert cell.value == want[code] and cell.data_type == "s"
            else:  # the CSV's 9 decimals: the cell is the exact value
                assert cell.value == pytest.approx(float(want[code]), abs=1e-9)
    share = rows[1][4]
    assert share.number_format == "0.0%" and rows[1][1].value == "=1+1"
    # English: the CSV's codes
    batch.batch_coverage(net, _stations(), named, rule=RULE, max_snap_m=SNAP_M,
                         out=tmp_path / "en", scheduler="serial", lang="en")
    ws = openpyxl.load_workbook(tmp_path / "en" / "league.xlsx").active
    assert ws.title == "league" and [c.value for c in ws[1]] == list(csv.columns)


def test_every_station_row_is_in_stations_csv_with_its_status(
        net: StreetNetwork, tmp_path: Path) -> None:
    """stations.csv holds every row of the station table: the reader's status for a row it
    could not use, outside_units, too_far_from_street, or ok with its unit; the snap
    distance is the one stationplan coverage finds on the whole network."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from test_batch import _lonlat

    from stationplan.stations import snap_stations

    st = _stations()
    extra = gpd.GeoDataFrame(
        {"station_id": ["bad", "far away", "mid-block"], "status": ["invalid", "ok", "ok"],
         "reason": ["no coordinates", "", ""]},
        geometry=[None, shapely.Point(_lonlat(30_000, 30_000)),
                  shapely.Point(_lonlat(540, 540))], crs=4326)
    stations = gpd.GeoDataFrame(pd.concat([st, extra], ignore_index=True), crs=4326)
    units = grid_units(net, km=0.3)
    res = batch.batch_coverage(net, stations, units, rule=RULE, max_snap_m=SNAP_M,
                               out=tmp_path / "out", scheduler="serial")
    table = pd.read_csv(tmp_path / "out" / "stations.csv", dtype={"station_id": str,
                                                                  "unit_id": str},
                        keep_default_na=False, na_values=[""])
    assert (tmp_path / "out" / "stations.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    assert table["station_id"].tolist() == stations["station_id"].tolist()
    by_id = table.set_index("station_id")
    assert by_id.loc["bad", "status"] == "invalid"
    assert by_id.loc["bad", "reason"] == "no coordinates"
    assert by_id.loc["far away", "status"] == "outside_units"
    # the single run's snap on the whole network, station by station
    whole = snap_stations(net, stations, max_snap_m=None, check_offset=False)
    inside = table["status"].isin(["ok", "too_far_from_street"]).to_numpy()
    got = table["snap_dist_m"].to_numpy(float)[inside]
    want = whole["snap_dist_m"].to_numpy(float)[inside]
    assert np.abs(got - want).max() < 1e-6
    assert ((table["status"].to_numpy()[inside] == "too_far_from_street")
            == (want > SNAP_M)).all()
    assert (want > SNAP_M).any() and (want <= SNAP_M).any()  # both statuses are tested
    # each ok station in the unit whose core holds it: the league's count per unit
    ok = table[table["status"] != "invalid"]
    counts = ok[ok["unit_id"].notna()].groupby("unit_id").size()
    league = res.league.set_index("unit_id")["stations"].iloc[:-1]
    assert counts.reindex(league.index, fill_value=0).tolist() == league.tolist()


@pytest.mark.parametrize("scheduler", ["serial", "inprocess"])
def test_each_unit_is_reported_once_as_it_ends(net: StreetNetwork, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               scheduler: str) -> None:
    """on_unit (the command line's progress bar) hears of every unit once, a failed one
    too, and of each before the run returns."""
    pytest.importorskip("distributed")
    units = grid_units(net, km=0.3)
    real, bad = batch._unit_task, units[2].core

    def task(sub, rows, stations, core, rule, snap, border):  # type: ignore[no-untyped-def]
        if core.equals(bad):
            raise RuntimeError("boom")
        return real(sub, rows, stations, core, rule, snap, border)

    monkeypatch.setattr(batch, "_unit_task", task)
    heard: list[str] = []
    res = batch.batch_coverage(net, _stations(), units, rule=RULE, max_snap_m=SNAP_M,
                               out=tmp_path / "out", scheduler=scheduler,
                               on_unit=heard.append)
    assert sorted(heard) == sorted(u.unit_id for u in units)
    assert list(res.failed) == [units[2].unit_id]
