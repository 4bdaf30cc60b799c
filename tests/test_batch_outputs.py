"""The stitched outputs of a batch run: the GeoParquet datasets partitioned by unit, the
league table against sums and the whole-network run, the province map, and the run
surviving a killed worker and a killed run (``--resume``) with the same bytes."""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
from test_batch import RULE, SNAP_M, _files, _network, _stations

import stationplan.batch as batch
from stationplan.batch import batch_coverage, grid_units, league_table
from stationplan.coverage import compute_coverage
from stationplan.network import StreetNetwork
from stationplan.stations import snap_stations

ROOT = Path(__file__).resolve().parents[1]
_REAL_TASK = batch._unit_task


@pytest.fixture(scope="module")
def net() -> StreetNetwork:
    return _network()


@pytest.fixture(scope="module")
def run(net: StreetNetwork, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[batch.BatchResult, Path]:
    out = tmp_path_factory.mktemp("batch")
    res = batch_coverage(net, _stations(), grid_units(net, km=0.3), rule=RULE,
                         max_snap_m=SNAP_M, out=out, scheduler="serial")
    assert not res.failed
    return res, out


def test_pieces_dataset_is_the_streets_cut_at_the_pieces(net: StreetNetwork,
                                                         run: tuple) -> None:
    res, out = run
    units = {u.unit_id: u for u in grid_units(net, km=0.3)}
    got = gpd.read_parquet(out / "pieces")  # the folder, read as one dataset
    assert got.crs.to_epsg() == 4326
    assert sorted(p.name for p in (out / "pieces").iterdir()) == sorted(
        f"unit_id={u}" for u in units)
    meta = pq.read_schema(next((out / "pieces").rglob("*.parquet"))).metadata
    assert b'"EPSG:32650"' in meta[b"stationplan:network_crs"]
    got["unit_id"] = got["unit_id"].astype(str)
    key = ["unit_id", "edge_id", "start_m"]
    got = got.sort_values(key).reset_index(drop=True)
    want = res.pieces.sort_values(key).reset_index(drop=True)
    assert len(got) == len(want)
    for col in ("unit_id", "edge_id", "status", "cross_border"):
        assert got[col].tolist() == want[col].tolist()
    assert np.array_equal(got["start_m"].to_numpy(), want["start_m"].to_numpy(float))
    # each geometry, back in metres: the street from start_m to end_m, by shapely's own
    # interpolation on the whole network's line
    geo = got.to_crs(net.crs)
    lines = net.edges.geometry.to_numpy()[got["edge_id"].to_numpy()]
    a = shapely.line_interpolate_point(lines, got["start_m"].to_numpy())
    b = shapely.line_interpolate_point(lines, got["end_m"].to_numpy())
    first = shapely.get_point(geo.geometry.to_numpy(), 0)
    last = shapely.get_point(geo.geometry.to_numpy(), -1)
    assert shapely.distance(first, a).max() < 1e-3
    assert shapely.distance(last, b).max() < 1e-3
    assert np.abs(geo.length.to_numpy() - got["length_m"].to_numpy()).max() < 1e-3
    # the midpoint of every piece lies in its unit's core
    mid = shapely.line_interpolate_point(geo.geometry.to_numpy(), 0.5, normalized=True)
    cores = np.array([units[u].core for u in got["unit_id"]])
    assert shapely.dwithin(cores, mid, 1e-6).all()
    gaps = gpd.read_parquet(out / "gaps")
    assert set(gaps["status"]) == {"gap"}
    assert len(gaps) == int((want["status"] == "gap").sum())
    assert gaps["length_m"].sum() == pytest.approx(res.league["gap_km"].iloc[-1] * 1000,
                                                   abs=1e-6)


def test_pieces_csv_reads_back_as_the_pieces(run: tuple, tmp_path: Path) -> None:
    res, out = run
    got = pd.read_csv(out / "pieces.csv", dtype={"unit_id": str, "station_id": str},
                      keep_default_na=False, na_values={"dist_m": [""]})
    want = res.pieces.reset_index(drop=True)
    assert list(got.columns) == ["unit_id", *batch.PIECE_COLUMNS, "cross_border"]
    assert len(got) == len(want)
    for col in ("unit_id", "edge_id", "status", "via_twin", "cross_border"):
        assert got[col].tolist() == want[col].tolist(), col
    assert got["station_id"].tolist() == want["station_id"].fillna("").tolist()
    for col in ("start_m", "end_m", "length_m", "dist_m"):
        a, b = got[col].to_numpy(float), want[col].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        assert np.abs(a - b)[~np.isnan(a)].max() <= 5e-10, col
    # text that needs quoting comes back whole (Python's csv module reads it)
    import csv
    frame = pd.DataFrame({"unit_id": ["a,b", 'q"r'], "edge_id": [1, 2],
                          "length_m": [0.1 + 0.2, 1e-12], "station_id": ["x\ny", None],
                          "via_twin": [True, False]})
    batch._csv_rows(frame, tmp_path / "rows.csv")
    with (tmp_path / "rows.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["a,b", "1", "0.3", "x\ny", "true"], ['q"r', "2", "0", "", "false"]]


def test_league_total_is_the_sum_and_the_whole_run(net: StreetNetwork, run: tuple) -> None:
    res, out = run
    league = pd.read_csv(out / "league.csv", dtype={"unit_id": str})
    assert list(league.columns) == batch.LEAGUE_COLUMNS
    body, total = league.iloc[:-1], league.iloc[-1]
    assert total["unit_id"] == "total"
    for col in ("demand_km", "covered_km", "gap_km", "stations", "proposed_sites",
                "cross_border_km"):
        assert total[col] == pytest.approx(body[col].sum(), abs=1e-8), col
    assert (league["proposed_sites"] == 0).all()  # a coverage run proposes nothing
    assert total["covered_share"] == pytest.approx(total["covered_km"] / total["demand_km"])
    whole = compute_coverage(net, snap_stations(net, _stations(), max_snap_m=SNAP_M),
                             rule=RULE)
    assert total["demand_km"] * 1000 == pytest.approx(whole.demand_m, abs=1e-6)
    assert total["covered_km"] * 1000 == pytest.approx(whole.covered_m, abs=1e-6)
    # stations per unit by hand: the tile's bounds in metres, numpy comparisons
    units = grid_units(net, km=0.3)
    xy = shapely.get_coordinates(_stations().to_crs(net.crs).geometry.to_numpy())
    for u, n in zip(units, body["stations"], strict=True):
        x0, y0, x1, y1 = u.core.bounds
        inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        assert n == inside.sum(), u.unit_id
    # cross-border km: covered pieces whose station stands outside the piece's tile
    st = dict(zip(_stations()["station_id"], xy.tolist(), strict=True))
    bounds = {u.unit_id: u.core.bounds for u in units}
    p = res.pieces[res.pieces["status"] == "covered"]

    def outside(uid: str, sid: str) -> bool:
        x0, y0, x1, y1 = bounds[uid]
        x, y = st[sid]
        return not (x0 <= x <= x1 and y0 <= y <= y1)

    far = [outside(u, s) for u, s in zip(p["unit_id"], p["station_id"], strict=True)]
    assert any(far)
    assert total["cross_border_km"] * 1000 == pytest.approx(p["length_m"][far].sum(),
                                                            abs=1e-6)
    # the league the run made from its units' sums (the pieces stayed on the workers) is
    # the one summed from the pieces, bit for bit
    pd.testing.assert_frame_equal(league_table(res.pieces, units, _stations(), net.crs),
                                  res.league, check_exact=True)
    # a plan's proposed sites fill their column and the total
    again = league_table(res.pieces, units, _stations(), net.crs,
                         proposed={units[0].unit_id: 3, units[2].unit_id: 1})
    assert again["proposed_sites"].tolist() == [3, 0, 1] + [0] * (len(units) - 3) + [4]


def test_province_map_colours_units_by_share_in_both_languages(net: StreetNetwork,
                                                               run: tuple) -> None:
    from stationplan._render.province import SHARE_COLOURS, province_map, province_png

    res, out = run
    page = (out / "province_map.html").read_text(encoding="utf-8")
    assert "<script src=" not in page and 'rel="stylesheet" href=' not in page  # offline
    units = grid_units(net, km=0.3)
    # each unit's colour class from its own pieces: covered / (covered + gap)
    p = res.pieces
    share = {u.unit_id: p.loc[(p["unit_id"] == u.unit_id) & (p["status"] == "covered"),
                              "length_m"].sum()
             / p.loc[(p["unit_id"] == u.unit_id) & p["status"].isin(["covered", "gap"]),
                     "length_m"].sum() for u in units}
    fmap = province_map(units, res.league, crs=net.crs, lang="en")
    rows = next(c.args[2] for c in _calls(fmap) if "L.geoJSON" in c.function)
    assert len(rows) == len(units)
    for u, row in zip(units, rows, strict=True):
        k = min(int(share[u.unit_id] // 0.2), 4)
        assert row[0] == k, (u.unit_id, share[u.unit_id])
        shown = re.search(r"Covered share</th><td>([0-9.]+) %", row[4])
        assert shown is not None
        assert abs(float(shown.group(1)) - 100 * share[u.unit_id]) <= 0.1
    assert len(SHARE_COLOURS) == 5
    en = fmap.get_root().render()
    zh = province_map(units, res.league, crs=net.crs, lang="zh").get_root().render()
    assert "Coverage by unit" in en and "各单元覆盖情况" in zh and "覆盖率" in zh
    assert en == province_map(units, res.league, crs=net.crs, lang="en").get_root().render()
    # a unit name is text, never markup
    bad = [batch.Unit(units[0].unit_id, "<img src=x onerror=alert(1)>", units[0].core)]
    page = province_map(bad, res.league.iloc[[0, -1]], crs=net.crs, lang="en")
    assert "<img src=x" not in page.get_root().render()
    png = province_png(units, res.league, crs=net.crs, lang="en")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == (out / "province_map.png").read_bytes()


def _calls(fmap: object) -> list:
    from stationplan.maps import MapCall

    stack, found = [fmap], []
    while stack:
        el = stack.pop()
        if isinstance(el, MapCall):
            found.append(el)
        stack.extend(el._children.values())  # type: ignore[attr-defined]
    return found


def _slow_task(markers: str, *args: object) -> object:
    """The unit task, announcing itself (``{pid}-{n}`` under ``markers``) and slowed."""
    Path(markers, f"{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(0.4)
    return _REAL_TASK(*args)


def test_a_worker_killed_mid_run_changes_no_byte(net: StreetNetwork, run: tuple,
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle
    from dask.distributed import Client, LocalCluster

    _, serial = run
    markers = tmp_path / "markers"
    markers.mkdir()
    # by value: the workers need not import this test module
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(batch, "_unit_task", functools.partial(_slow_task, str(markers)))
    killed: list[int] = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pids = set(client.run(os.getpid).values())
        assert len(pids) == 2

        def kill_first_busy_worker() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                started = sorted(markers.iterdir())
                if started:  # a task is running there now (it sleeps 0.4 s first)
                    pid = int(started[0].name.split("-")[0])
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.01)

        watcher = threading.Thread(target=kill_first_busy_worker)
        watcher.start()
        try:
            res = batch_coverage(net, _stations(), grid_units(net, km=0.3), rule=RULE,
                                 max_snap_m=SNAP_M, out=tmp_path / "out", scheduler=client)
        finally:
            watcher.join()
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert len(killed) == 1 and killed[0] in pids
    units = grid_units(net, km=0.3)
    # the killed task ran again elsewhere: more starts than units
    assert len(list(markers.iterdir())) > len(units)
    assert not res.failed
    assert _files(tmp_path / "out") == _files(serial)


_SLOW_CLI = """
import sys, time
import stationplan.batch as b
real = b._unit_task
done = []
def slow(*args):  # three units, then a wait the test always ends by its kill
    time.sleep(0.3 if len(done) < 3 else 120)
    done.append(1)
    return real(*args)
b._unit_task = slow
from stationplan.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _slow_run(cmd: list[str], stored: Path, **popen: object) -> subprocess.Popen[str]:
    """``stationplan *cmd`` with slow units (:data:`_SLOW_CLI`), once three units are
    stored in ``stored`` (or it ended, or two minutes passed)."""
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_CLI, *cmd], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)  # type: ignore[call-overload]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if stored.is_dir() and len(list(stored.glob("*.parquet"))) >= 3:
            break
        time.sleep(0.02)
    return proc


def test_a_killed_run_resumes_to_the_same_bytes(net: StreetNetwork, run: tuple,
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from stationplan.cli import main

    units_dir, out, fresh = tmp_path / "units", tmp_path / "out", tmp_path / "fresh"
    units = grid_units(net, km=0.3)
    batch.partition(net, units, units_dir, halo_m=210.0)
    st = _stations()
    sheet = tmp_path / "stations.csv"
    pd.DataFrame({"name": st["station_id"], "lng": st.geometry.x, "lat": st.geometry.y}
                 ).to_csv(sheet, index=False, float_format="%.10f")
    cmd = ["batch", "coverage", str(units_dir), str(sheet), "--out", str(out),
           "--scheduler", "serial", "--radius-m", "150", "--no-time-limit",
           "--max-snap-m", "30", "--quiet"]
    proc = _slow_run(cmd, out / "units")
    stored = out / "units"
    proc.send_signal(signal.SIGTERM)  # stopped like a user's kill
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    done = len(list(stored.glob("*.parquet")))
    assert 3 <= done < len(units)
    assert not (out / "league.csv").exists()  # nothing stitched from a part of the units

    assert main([*cmd, "--resume"]) == 0
    said = capsys.readouterr().out
    assert f"{len(units)} units" in said and f"{done} reused" in said
    assert main([*cmd[:5], str(fresh), *cmd[6:]]) == 0
    assert _files(out) == _files(fresh)
    assert pd.read_csv(out / "failed.csv").empty

    # a unit that fails: reported in failed.csv, exit code 1, the others stitched
    bad = units[4].core

    def task(sub, rows, stations, core, rule, snap, border):  # type: ignore[no-untyped-def]
        if core.equals(bad):
            raise ValueError("no streets here")
        return _REAL_TASK(sub, rows, stations, core, rule, snap, border)

    monkeypatch.setattr(batch, "_unit_task", task)
    assert main([*cmd[:5], str(tmp_path / "one-failed"), *cmd[6:], "--lang", "zh"]) == 1
    failed = pd.read_csv(tmp_path / "one-failed" / "failed.csv")
    assert failed.to_dict("list") == {"unit_id": [units[4].unit_id],
                                      "error": ["ValueError: no streets here"]}
    page = (tmp_path / "one-failed" / "province_map.html").read_text(encoding="utf-8")
    assert "1 个单元计算失败，未显示" in page and "各单元覆盖情况" in page
    league = pd.read_csv(tmp_path / "one-failed" / "league.csv")
    assert units[4].unit_id not in set(league["unit_id"])
    assert len(league) == len(units)  # the other units and the total


def test_units_read_lazily_are_loaded_by_the_workers_alone(net: StreetNetwork, run: tuple,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from dask.distributed import Client, LocalCluster

    _, serial = run
    units = grid_units(net, km=0.3)
    batch.partition(net, units, tmp_path / "units", halo_m=210.0)
    refs = batch.read_units(tmp_path / "units", lazy=True)
    assert all(isinstance(r, batch.UnitRef) for r in refs)
    # units.csv alone gives the cores exactly (network CRS) and the CRS
    assert [shapely.to_wkb(r.unit.core) for r in refs] == [shapely.to_wkb(u.core)
                                                           for u in units]
    assert all(r.crs == net.crs for r in refs)

    def refuse(self: batch.UnitRef) -> batch.UnitExtract:
        raise AssertionError("the main process loaded an extract")

    monkeypatch.setattr(batch.UnitRef, "load", refuse)  # here; the workers load theirs
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        res = batch.batch_coverage_extracts(refs, _stations(), rule=RULE, max_snap_m=SNAP_M,
                                            out=tmp_path / "out", scheduler=client)
    assert not res.failed
    assert _files(tmp_path / "out") == _files(serial)


def test_ctrl_c_on_a_local_cluster_is_one_line_and_leaves_no_worker(
        net: StreetNetwork, tmp_path: Path) -> None:
    """Ctrl-C reaches every process of the terminal's group: the workers ignore it (they
    printed a traceback each), the command stops the cluster and says it in one line."""
    pytest.importorskip("distributed")
    import psutil  # comes with distributed

    units_dir, out = tmp_path / "units", tmp_path / "out"
    batch.partition(net, grid_units(net, km=0.3), units_dir, halo_m=210.0)
    st = _stations()
    sheet = tmp_path / "stations.csv"
    pd.DataFrame({"name": st["station_id"], "lng": st.geometry.x, "lat": st.geometry.y}
                 ).to_csv(sheet, index=False, float_format="%.10f")
    cmd = ["batch", "coverage", str(units_dir), str(sheet), "--out", str(out),
           "--scheduler", "local", "--workers", "2", "--radius-m", "150", "--no-time-limit",
           "--max-snap-m", "30", "--quiet", "--lang", "en"]
    proc = _slow_run(cmd, out / "units", start_new_session=True)
    workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
               if "python" in p.name().lower()]
    assert len(workers) >= 2
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert err.strip() == ("stationplan: interrupted; nothing was half-written (an output "
                           "folder holds the earlier outputs, or none)"), err
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive
    assert not (out / "league.csv").exists()
