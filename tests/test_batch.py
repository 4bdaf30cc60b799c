"""Batch coverage by units with halos: totals equal the whole-network run, the files do
not depend on the scheduler, a failing unit is reported, and --resume reuses units."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest

import stationplan.batch as batch
from stationplan._streets import network_from_segments, travel_mode
from stationplan.batch import batch_coverage, grid_units
from stationplan.coverage import CoverageRule, compute_coverage
from stationplan.halo import required_halo_m
from stationplan.network import StreetNetwork
from stationplan.stations import snap_stations

TO_LONLAT = pyproj.Transformer.from_crs("EPSG:32650", 4326, always_xy=True)
RULE = CoverageRule(radius_m=150.0, max_minutes=None)
SNAP_M = 30.0
FILES = ("pieces.csv", "league.csv", "league.xlsx", "failed.csv", "province_map.html",
         "province_map.png")


def _files(folder: Path) -> dict[str, bytes]:
    """Every output file of a batch run but the per-unit cache, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "units"}


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(500_000.0 + x, 4_400_000.0 + y)
    return float(lon), float(lat)


def _network() -> StreetNetwork:
    rng = np.random.default_rng(7)
    n = 9
    coords = {i * n + j: _lonlat(i * 120 + rng.uniform(-25, 25), j * 120 + rng.uniform(-25, 25))
              for i in range(n) for j in range(n)}
    segs: list[tuple[object, ...]] = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and rng.random() < 0.8:
                    one = rng.random() < 0.15
                    segs.append((len(segs) + 1, {"highway": "residential"},
                                 [i * n + j, (i + di) * n + j + dj], None, True, not one,
                                 int(one)))
    return network_from_segments(segs, coords, travel_mode("walk"), source="grid", stats={})


def _stations() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    pts = [_lonlat(*rng.uniform(-50, 1000, size=2)) for _ in range(12)]
    return gpd.GeoDataFrame({"station_id": [f"S{i}" for i in range(len(pts))], "status": "ok"},
                            geometry=gpd.points_from_xy([p[0] for p in pts],
                                                        [p[1] for p in pts]), crs=4326)


@pytest.fixture(scope="module")
def net() -> StreetNetwork:
    return _network()


def _run(net: StreetNetwork, out: Path, **kw: object) -> batch.BatchResult:
    return batch_coverage(net, _stations(), grid_units(net, km=0.3), rule=RULE,
                          max_snap_m=SNAP_M, out=out, **kw)  # type: ignore[arg-type]


def test_totals_equal_the_whole_network_run(net: StreetNetwork, tmp_path: Path) -> None:
    res = _run(net, tmp_path)
    whole = compute_coverage(net, snap_stations(net, _stations(), max_snap_m=SNAP_M), rule=RULE)
    total = res.league.iloc[-1]
    assert total["unit_id"] == "total"
    assert len(res.league) - 1 >= 9  # the 0.3 km tiles over ~1 km: several units
    assert total["covered_km"] * 1000 == pytest.approx(whole.covered_m, abs=1e-6)
    assert total["gap_km"] * 1000 == pytest.approx(whole.gap_m, abs=1e-6)
    assert res.league["covered_km"].iloc[:-1].sum() == pytest.approx(total["covered_km"],
                                                                     abs=1e-12)
    # every edge metre is owned once: per edge, owned lengths add up to the edge
    per_edge = res.pieces.groupby("edge_id")["length_m"].sum()
    edge_m = net.edges["length_m"].to_numpy()
    assert np.allclose(per_edge.to_numpy(), edge_m[per_edge.index.to_numpy()], atol=1e-6)
    assert len(per_edge) == len(net.edges)
    assert required_halo_m(reach_m=RULE.limit_m, max_snap_m=SNAP_M) == 210.0


def test_same_bytes_serial_inprocess_and_local_cluster(net: StreetNetwork,
                                                       tmp_path: Path) -> None:
    runs = {}
    for name, kw in (("serial", {"scheduler": "serial"}),
                     ("inprocess", {"scheduler": "inprocess"}),
                     ("local", {"scheduler": "local", "workers": 2})):
        res = _run(net, tmp_path / name, **kw)
        assert not res.failed
        runs[name] = _files(tmp_path / name)
    assert set(FILES) < set(runs["serial"])
    assert any(f.startswith("pieces/unit_id=") for f in runs["serial"])
    assert runs["serial"] == runs["inprocess"] == runs["local"]


def test_failed_unit_is_reported_and_others_finish(net: StreetNetwork, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch._unit_task
    bad = grid_units(net, km=0.3)[1].core

    def task(sub, rows, stations, core, rule, snap):  # type: ignore[no-untyped-def,unused-ignore]
        if core.equals(bad):
            raise RuntimeError("boom")
        return real(sub, rows, stations, core, rule, snap)

    monkeypatch.setattr(batch, "_unit_task", task)
    res = _run(net, tmp_path)
    units = grid_units(net, km=0.3)
    assert res.failed == {units[1].unit_id: "RuntimeError: boom"}
    assert list(res.league["unit_id"].iloc[:-1]) == [u.unit_id for u in units
                                                     if u.unit_id != units[1].unit_id]
    assert "boom" in (tmp_path / "failed.csv").read_text()


def test_resume_reuses_finished_units(net: StreetNetwork, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = _run(net, tmp_path)
    before = _files(tmp_path)

    def task(*args: object) -> None:
        raise AssertionError("a finished unit was computed again")

    monkeypatch.setattr(batch, "_unit_task", task)
    again = _run(_network(), tmp_path, resume=True)  # read again: new objects, same hashes
    assert set(again.reused) == set(first.league["unit_id"].iloc[:-1])
    assert _files(tmp_path) == before


def test_real_extract_cut_into_two_by_two_units(tmp_path: Path) -> None:
    import dataclasses

    import pandas as pd
    from handnet import shared_osm, shared_sheet

    from stationplan import load_network, read_stations
    from stationplan.halo import clip_to_core

    net = load_network(shared_osm("guixi_county_city.osm.bz2"))
    net = dataclasses.replace(net, carriageways=None)  # units do not pair carriageways yet
    stations = read_stations(shared_sheet("guixi_stations.xlsx"))
    rule = CoverageRule(radius_m=500.0, max_minutes=None)
    x0, y0, x1, y1 = net.edges.total_bounds
    units = grid_units(net, km=max(x1 - x0, y1 - y0) / 2000 + 0.001)
    assert len(units) == 4
    res = batch_coverage(net, stations, units, rule=rule, max_snap_m=100.0, out=tmp_path)
    assert not res.failed
    whole = compute_coverage(net, snap_stations(net, stations, max_snap_m=100.0), rule=rule)
    ref = pd.concat([clip_to_core(whole, u.core).assign(unit_id=u.unit_id) for u in units],
                    ignore_index=True)
    got = res.pieces
    assert len(got) == len(ref)
    assert (got["edge_id"].to_numpy() == ref["edge_id"].to_numpy()).all()
    assert np.abs(got["start_m"].to_numpy(float) - ref["start_m"].to_numpy(float)).max() < 1e-6
    assert np.abs(got["end_m"].to_numpy(float) - ref["end_m"].to_numpy(float)).max() < 1e-6
    assert list(got["station_id"].where(got["station_id"].notna(), None)) == list(
        ref["station_id"].where(ref["station_id"].notna(), None))
    total = res.league.iloc[-1]
    assert total["covered_km"] * 1000 == pytest.approx(whole.covered_m, abs=1e-6)
    assert total["gap_km"] * 1000 == pytest.approx(whole.gap_m, abs=1e-6)
    assert total["covered_km"] > 10  # the county city: tens of km covered


def test_cli_partition_then_batch_and_a_halo_too_short(tmp_path: Path) -> None:
    import pandas as pd
    from handnet import shared_osm, shared_sheet

    from stationplan.cli import main

    osm, sheet = shared_osm("guixi_county_city.osm.bz2"), shared_sheet("guixi_stations.xlsx")
    units = tmp_path / "units"
    assert main(["partition", str(osm), "grid:2", "--out", str(units), "--quiet"]) == 0
    table = pd.read_csv(units / "units.csv")
    assert len(table) >= 4
    assert (table["halo_m"] == 700.0).all()
    out = tmp_path / "out"
    assert main(["batch", "coverage", str(units), str(sheet), "--out", str(out),
                 "--scheduler", "serial", "--quiet"]) == 0
    league = pd.read_csv(out / "league.csv")
    assert league["unit_id"].iloc[-1] == "total"
    # another process: the content hashes must not depend on where objects sit in memory
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "stationplan", "batch", "coverage", str(units),
                           str(sheet), "--out", str(out), "--scheduler", "serial", "--resume",
                           "--quiet"], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert f"{len(table)} reused" in done.stdout
    assert league["covered_km"].iloc[:-1].sum() == pytest.approx(
        league["covered_km"].iloc[-1], abs=1e-6)
    # a 600 m reach needs 800 m of halo: a one-line error, exit 2
    assert main(["batch", "coverage", str(units), str(sheet), "--out", str(out),
                 "--scheduler", "serial", "--radius-m", "600", "--no-time-limit",
                 "--quiet"]) == 2


def test_osm_admin_units_are_the_complete_boundaries(tmp_path: Path) -> None:
    from handnet import shared_osm

    from stationplan import load_network
    from stationplan._read.osm import read_osm_areas
    from stationplan.batch import region_units

    osm = shared_osm("guixi_county_city.osm.bz2")
    net = load_network(osm)
    units = region_units(net, "osm-admin:8", source=osm)
    # pyosmium reads the same file: the level-8 relations it could assemble
    want = sorted(str(b.osmid) for b in read_osm_areas(osm).boundaries
                  if b.admin_level == "8" and b.geometry is not None)
    assert sorted(u.unit_id for u in units) == want == ["6662718"]
    assert units[0].name == "东门街道"
