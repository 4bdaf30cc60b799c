"""Batch coverage by units with halos: totals equal the whole-network run, the files do
not depend on the scheduler, a failing unit is reported, and --resume reuses units."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

import stationplan.batch as batch
from stationplan._streets import network_from_segments, travel_mode
from stationplan.area import RoadClasses, with_demand
from stationplan.batch import batch_coverage, grid_units
from stationplan.coverage import CoverageRule, compute_coverage
from stationplan.halo import pair_distance_m, required_halo_m
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


def _network(*, demand: bool = False) -> StreetNetwork:
    """A 9 x 9 jittered grid; with ``demand``, also a dual carriageway across it (two
    one-way streets of one name, 16 m apart, running opposite) and a planning area over
    part of it, marked and paired as the loader does (:func:`with_demand`)."""
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
    if not demand:
        return network_from_segments(segs, coords, travel_mode("walk"), source="grid",
                                     stats={})
    road = {"highway": "primary", "name": "Dual Road", "oneway": "yes"}
    coords |= {1000: _lonlat(-60, 433), 1001: _lonlat(1020, 433), 1002: _lonlat(1020, 449),
               1003: _lonlat(470, 449), 1004: _lonlat(-60, 449), 1005: _lonlat(470, 600)}
    segs += [(500, road, [1000, 1001], None, True, False, 1),
             (501, road, [1002, 1003], None, True, False, 1),
             (502, road, [1003, 1004], None, True, False, 1),
             (503, {"highway": "residential"}, [1003, 1005], None, True, True, 0)]
    net = network_from_segments(segs, coords, travel_mode("walk"), source="grid", stats={})
    zone = shapely.Polygon([_lonlat(100, -100), _lonlat(1100, -100), _lonlat(1100, 800),
                            _lonlat(100, 800)])
    return with_demand(net, roads=RoadClasses(), area=zone)


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


def test_totals_equal_the_whole_network_run(tmp_path: Path) -> None:
    net = _network(demand=True)  # a planning area and a dual carriageway across tiles
    res = _run(net, tmp_path)
    whole = compute_coverage(net, snap_stations(net, _stations(), max_snap_m=SNAP_M), rule=RULE)
    status = whole.pieces["status"]
    assert {"paired", "ignored"} <= set(status) and whole.pieces["via_twin"].any()
    total = res.league.iloc[-1]
    assert total["unit_id"] == "total"
    assert len(res.league) - 1 >= 9  # the 0.3 km tiles over ~1 km: several units
    assert total["covered_km"] * 1000 == pytest.approx(whole.covered_m, abs=1e-6)
    assert total["gap_km"] * 1000 == pytest.approx(whole.gap_m, abs=1e-6)
    assert total["demand_km"] * 1000 == pytest.approx(whole.demand_m, abs=1e-6)
    for st in ("paired", "ignored"):  # what is not demand stays out, metre for metre
        assert res.pieces.loc[res.pieces["status"] == st, "length_m"].sum() == pytest.approx(
            whole.pieces.loc[status == st, "length_m"].sum(), abs=1e-6)
    assert res.pieces["via_twin"].sum() >= 1
    assert res.league["covered_km"].iloc[:-1].sum() == pytest.approx(total["covered_km"],
                                                                     abs=1e-12)
    # every edge metre is owned once: per edge, owned lengths add up to the edge
    per_edge = res.pieces.groupby("edge_id")["length_m"].sum()
    edge_m = net.edges["length_m"].to_numpy()
    assert np.allclose(per_edge.to_numpy(), edge_m[per_edge.index.to_numpy()], atol=1e-6)
    assert len(per_edge) == len(net.edges)
    assert required_halo_m(reach_m=RULE.limit_m, max_snap_m=SNAP_M,
                           pair_m=pair_distance_m(net)) == pytest.approx(226.0, abs=1e-6)


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


def test_without_dask_a_cluster_run_says_how_to_install_it(
        net: StreetNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Dask is the batch extra: without it a cluster run is a one-line error naming it (it
    # was an internal error, exit 70), and the serial scheduler still runs
    from stationplan._errors import StationplanError

    for name in ("dask", "distributed", "dask.distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ModuleNotFoundError
    with pytest.raises(StationplanError, match=r"pip install 'stationplan\[batch\]'"):
        _run(net, tmp_path / "local", scheduler="local")
    assert not _run(net, tmp_path / "serial", scheduler="serial").failed


def test_local_workers_allocate_memory_as_the_serial_run() -> None:
    # dask's default MALLOC_TRIM_THRESHOLD_ made the C allocator return and fetch memory
    # around every large array on the workers (10 % slower tasks); one numeric thread kept
    import os

    from dask.distributed import Client

    with batch.local_cluster(2) as cluster, Client(cluster) as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in
                                  ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")})
    assert len(env) == 2
    assert all(e == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
               for e in env.values())


def test_local_workers_take_the_calling_process_settings() -> None:
    # the command line raises the collector's thresholds (a tenth of a large run) and
    # picks Arrow's allocator; the local scheduler's workers, restarted ones too, take
    # the caller's
    import os
    import signal
    import time

    from stationplan._process import ProcessSettings, current, run_settings

    # (huge pages: where the system has the setting, the other way than this process's)
    own = current().huge_pages
    mine = ProcessSettings(gc_thresholds=(12_345, 7, 3), arrow_allocator="system",
                           huge_pages=None if own is None else not own)
    with run_settings(mine):
        client, close = batch._client("local", 2)
    try:
        assert current() != mine  # restored in this process
        assert set(client.run(current).values()) == {mine}
        pids = client.run(os.getpid)
        victim = next(iter(pids.values()))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = client.run(os.getpid, on_error="ignore")  # the dead one may be listed
            if len(now) == 2 and victim not in now.values():
                break
            time.sleep(0.2)
        assert victim not in client.run(os.getpid).values()
        assert set(client.run(current).values()) == {mine}
    finally:
        close()


def test_failed_unit_is_reported_and_others_finish(net: StreetNetwork, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch._unit_task
    bad = grid_units(net, km=0.3)[1].core

    def task(sub, rows, stations, core, rule, snap,  # type: ignore[no-untyped-def,unused-ignore]
             border):
        if core.equals(bad):
            raise RuntimeError("boom")
        return real(sub, rows, stations, core, rule, snap, border)

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


def _canonical(edge: np.ndarray, start: np.ndarray, end: np.ndarray, status: np.ndarray,
               station: np.ndarray, via: np.ndarray) -> pd.DataFrame:
    """Pieces in edge order with touching pieces of one edge, status, serving station
    (covered pieces only) and via_twin flag merged: where pieces are cut (at a core's
    boundary, where the nearest station beyond the reach changes) stops mattering."""
    order = np.lexsort((start, edge))
    edge, start, end, status = edge[order], start[order], end[order], status[order]
    via = via[order].astype(bool)
    station = np.array([s if st == "covered" and isinstance(s, str) else None
                        for s, st in zip(station[order], status, strict=True)], dtype=object)
    joins = np.zeros(len(edge), dtype=bool)
    joins[1:] = ((edge[1:] == edge[:-1]) & (status[1:] == status[:-1])
                 & (station[1:] == station[:-1]) & (via[1:] == via[:-1])
                 & (np.abs(start[1:] - end[:-1]) <= 1e-6))
    last = np.r_[np.flatnonzero(~joins)[1:] - 1, len(edge) - 1]
    keep = ~joins
    return pd.DataFrame({"edge_id": edge[keep], "start_m": start[keep], "end_m": end[last],
                         "status": status[keep], "station_id": station[keep],
                         "via_twin": via[keep]})


@pytest.mark.parametrize(("area", "demand_km"), [("auto", 57.9), ("none", 83.3),
                                                  ("guixi_core_wgs.geojson", None)])
def test_real_extract_cut_into_two_by_two_units(tmp_path: Path, area: str,
                                                demand_km: float | None) -> None:
    """guixi cut into 2 x 2 tiles equals ``stationplan coverage`` on the whole area: the
    planning area (auto, the default, or none), dual carriageways counted once, the
    default rule and snap."""
    from handnet import shared_osm, shared_sheet

    from stationplan import NetworkOptions, read_stations
    from stationplan._options import HALO_M, MAX_SNAP_M
    from stationplan.pipeline import coverage_network, run_coverage

    osm, sheet = shared_osm("guixi_county_city.osm.bz2"), shared_sheet("guixi_stations.xlsx")
    opts = NetworkOptions(area=area if demand_km is not None else shared_sheet(area))
    whole = run_coverage(osm, sheet, network_options=opts)  # pairs on by default
    wp = whole.coverage.pieces
    assert whole.network.demand.area_source == {"auto": "auto", "none": None}.get(area, "file")
    assert (wp["status"] == "paired").any() and wp["via_twin"].any()  # what is tested
    if demand_km is not None:
        assert whole.coverage.demand_m / 1000 == pytest.approx(demand_km, abs=0.05)
    net = coverage_network(osm, network_options=opts)  # what partition loads
    assert net.edges.geometry.geom_equals_exact(whole.network.edges.geometry, 0).all()
    x0, y0, x1, y1 = net.edges.total_bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2  # 2 x 2 quadrants sharing their sides
    xs, ys = (x0 - 1, xm, x1 + 1), (y0 - 1, ym, y1 + 1)
    units = [batch.Unit(f"r{r}c{c}", f"tile {r},{c}",
                        shapely.box(xs[c], ys[r], xs[c + 1], ys[r + 1]))
             for r in range(2) for c in range(2)]
    batch.partition(net, units, tmp_path / "units", halo_m=HALO_M)
    res = batch.batch_coverage_extracts(
        batch.read_units(tmp_path / "units"), read_stations(sheet), rule=whole.coverage.rule,
        max_snap_m=MAX_SNAP_M, out=tmp_path / "out", scheduler="serial")
    assert not res.failed
    got = res.pieces
    ref = _canonical(*(wp[c].to_numpy() for c in ("edge_id", "start_m", "end_m", "status",
                                                  "station_id", "via_twin")))
    mine = _canonical(*(got[c].to_numpy() for c in ("edge_id", "start_m", "end_m", "status",
                                                    "station_id", "via_twin")))
    assert len(mine) == len(ref)
    assert (mine["edge_id"].to_numpy() == ref["edge_id"].to_numpy()).all()
    for col in ("start_m", "end_m"):
        assert np.abs(mine[col].to_numpy() - ref[col].to_numpy()).max() < 1e-6
    for col in ("status", "station_id", "via_twin"):
        assert mine[col].tolist() == ref[col].tolist(), col
    # every edge metre is owned once
    per_edge = got.groupby("edge_id")["length_m"].sum()
    assert len(per_edge) == len(net.edges)
    assert np.allclose(per_edge.to_numpy(), net.edges["length_m"].to_numpy(), atol=1e-6)
    # the totals: covered and demand (covered + gap), the engine's (summary.json rounds
    # them to the millimetre)
    covered = float(got.loc[got["status"] == "covered", "length_m"].sum())
    demand = float(got.loc[got["status"].isin(["covered", "gap"]), "length_m"].sum())
    assert covered == pytest.approx(whole.coverage.covered_m, rel=1e-9)
    assert demand == pytest.approx(whole.coverage.demand_m, rel=1e-9)
    assert whole.summary["total_m"] == pytest.approx(demand, abs=1e-3)
    total = res.league.iloc[-1]
    assert total["demand_km"] * 1000 == pytest.approx(whole.coverage.demand_m, rel=1e-9)
    assert total["covered_km"] * 1000 == pytest.approx(whole.coverage.covered_m, rel=1e-9)
    # both carriageways counted once: less than the streets of served classes inside
    paired_m = float(wp.loc[wp["status"] == "paired", "length_m"].sum())
    assert paired_m > 1000
    print(f"guixi 2x2: league demand {total['demand_km']:.3f} km, covered "
          f"{total['covered_km']:.3f} km; coverage demand {whole.summary['total_m'] / 1000:.3f}"
          f" km, covered {whole.summary['covered_m'] / 1000:.3f} km; paired {paired_m / 1000:.1f}"
          " km")


def test_cli_partition_then_batch_and_a_halo_too_short(tmp_path: Path) -> None:
    import pandas as pd
    from handnet import shared_osm, shared_sheet

    from stationplan.cli import main

    osm, sheet = shared_osm("guixi_county_city.osm.bz2"), shared_sheet("guixi_stations.xlsx")
    units = tmp_path / "units"
    assert main(["partition", str(osm), "grid:2", "--out", str(units), "--quiet"]) == 0
    table = pd.read_csv(units / "units.csv")
    assert len(table) >= 4
    assert (table["halo_m"] == 745.0).all()
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
    # the sheet is Chinese, so is the closing line: every unit reused
    assert f"{len(table)} 个任务中失败 0 个、沿用 {len(table)} 个" in done.stdout
    assert league["covered_km"].iloc[:-1].sum() == pytest.approx(
        league["covered_km"].iloc[-1], abs=1e-6)
    # a 600 m reach needs 800 m of halo and the twin distance: a one-line error, exit 2
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


def test_a_misspelt_scheduler_is_a_usage_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``--scheduler locla`` was taken for a Dask address and ended in an internal error
    (exit 70) after the stations were read."""
    from stationplan._errors import InputError
    from stationplan.cli import main

    for lang, said in (("en", "not 'locla'; did you mean local?"),
                       ("zh", "须为 serial, inprocess, local 或 Dask 调度器的地址 "
                              "tcp://主机:端口，而不是 'locla'；是不是要用 local？")):
        assert main(["batch", "coverage", str(tmp_path / "units"), str(tmp_path / "s.csv"),
                     "--out", str(tmp_path / "out"), "--scheduler", "locla",
                     "--lang", lang]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and said in err
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="did you mean serial"):
        batch.batch_coverage_extracts([], _stations(), rule=RULE, max_snap_m=SNAP_M,
                                      scheduler="serail")


def test_an_address_without_a_scheduler_is_one_line(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--scheduler tcp://HOST:PORT where no scheduler answers: after Dask's connect
    timeout, one line naming the address (it was a traceback, exit 1)."""
    import socket

    dask = pytest.importorskip("dask")
    from stationplan.cli import main

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    units = tmp_path / "units"
    batch.partition(_network(), grid_units(_network(), km=0.5), units, halo_m=230.0)
    sheet = tmp_path / "s.csv"
    st = _stations()
    pd.DataFrame({"name": st["station_id"], "lng": st.geometry.x, "lat": st.geometry.y}
                 ).to_csv(sheet, index=False)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["batch", "coverage", str(units), str(sheet), "--out", str(tmp_path / "o"),
                     "--scheduler", f"tcp://127.0.0.1:{port}", "--radius-m", "150",
                     "--no-time-limit", "--max-snap-m", "30", "--quiet", "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1 and f"tcp://127.0.0.1:{port}: no Dask scheduler answers" in err
    assert not (tmp_path / "o" / "league.csv").exists()


def test_an_os_error_without_a_number_is_an_internal_error_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An OSError with no error number (a library's timeout) was re-raised past the
    command line's handlers: a traceback. It is the one-line internal error (exit 70)."""
    import stationplan.cli as cli

    def boom(args: object) -> int:
        raise OSError("Timed out trying to connect")

    monkeypatch.setattr(cli, "_cmd_partition", boom)
    assert cli.main(["partition", "net.osm", "grid:1", "--out", "u"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Timed out trying to connect" in err
