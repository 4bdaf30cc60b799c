"""Batch plans and the quota split across units.

- each unit's best-K curve is made of real plans: the covered metres at K are recomputed
  independently (the whole network, no unit cut, the existing stations and the K sites
  snapped from their written lon/lat, covered pieces intersected with the core by shapely)
  and the certified bounds are never below them;
- the files do not depend on the scheduler, and --resume reuses every unit;
- ``batch allocate`` (the command line) equals brute force over every split of the quota,
  with and without ``--fair``, reports stations that help nowhere, refuses bad quotas in one
  line; and all of it on three shared extracts used as three counties.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
import shapely.ops
from handnet import shared_osm, shared_sheet

import stationplan.batch as batch
from stationplan._streets import network_from_segments, travel_mode
from stationplan.batch import PlanOptions, Unit, batch_plan_extracts, grid_units, unit_extract
from stationplan.cli import main
from stationplan.coverage import CoverageRule, compute_coverage
from stationplan.network import StreetNetwork
from stationplan.stations import snap_stations

TO_LONLAT = pyproj.Transformer.from_crs("EPSG:32650", 4326, always_xy=True)
RULE = CoverageRule(radius_m=150.0, max_minutes=None)
SNAP_M = 30.0
HALO_M = 210.0
FILES = ("curves.csv", "sites.csv", "sites.xlsx", "failed.csv")
OPTS = PlanOptions(ks=(0, 1, 2, 3), candidate_spacing_m=60.0, min_gain_m=0.0,
                   time_limit_s=20.0)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(500_000.0 + x, 4_400_000.0 + y)
    return float(lon), float(lat)


def _network() -> StreetNetwork:
    rng = np.random.default_rng(3)
    n = 7
    coords = {i * n + j: _lonlat(i * 110 + rng.uniform(-20, 20), j * 110 + rng.uniform(-20, 20))
              for i in range(n) for j in range(n)}
    segs: list[tuple[object, ...]] = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and rng.random() < 0.85:
                    # two-way, as walking networks are: a site at a junction then covers
                    # the same whichever street it is snapped to
                    segs.append((len(segs) + 1, {"highway": "residential"},
                                 [i * n + j, (i + di) * n + j + dj], None, True, True, 0))
    return network_from_segments(segs, coords, travel_mode("walk"), source="grid", stats={})


def _stations() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(5)
    pts = [_lonlat(*rng.uniform(-30, 690, size=2)) for _ in range(4)]
    return gpd.GeoDataFrame({"station_id": [f"S{i}" for i in range(len(pts))], "status": "ok"},
                            geometry=gpd.points_from_xy([p[0] for p in pts],
                                                        [p[1] for p in pts]), crs=4326)


@pytest.fixture(scope="module")
def net() -> StreetNetwork:
    return _network()


def _extracts(net: StreetNetwork) -> list[batch.UnitExtract]:
    return [unit_extract(net, u, halo_m=HALO_M) for u in grid_units(net, km=0.35)]


def _plan(net: StreetNetwork, out: Path, options: PlanOptions = OPTS,
          **kw: object) -> batch.BatchPlan:
    return batch_plan_extracts(_extracts(net), _stations(), rule=RULE, max_snap_m=SNAP_M,
                               options=options, out=out, **kw)  # type: ignore[arg-type]


def _covered_in_core(net: StreetNetwork, stations: gpd.GeoDataFrame, core: Any,
                     rule: CoverageRule, snap_m: float) -> float:
    """Covered demand metres inside ``core``: the engine on the whole network (its dual
    carriageways paired, as the league counts them), each covered piece intersected with
    the core by shapely."""
    return _in_core(net, stations, core, rule, snap_m)[0]


def _in_core(net: StreetNetwork, stations: gpd.GeoDataFrame, core: Any,
             rule: CoverageRule, snap_m: float) -> tuple[float, float, float]:
    """Covered and demand metres inside ``core`` as :func:`_covered_in_core` finds them,
    and the paired metres there (counted on the twin carriageway)."""
    cov = compute_coverage(net, snap_stations(net, stations, max_snap_m=snap_m), rule=rule)
    lines = net.edges.geometry.to_numpy()
    total = {"covered": 0.0, "gap": 0.0, "paired": 0.0}
    p = cov.pieces[cov.pieces["status"].isin(list(total))]
    for e, a, b, st in zip(p["edge_id"], p["start_m"], p["end_m"], p["status"], strict=True):
        piece = shapely.ops.substring(lines[int(e)], float(a), float(b))
        total[st] += float(shapely.intersection(piece, core).length)
    return total["covered"], total["covered"] + total["gap"], total["paired"]


def _with_sites(stations: gpd.GeoDataFrame, sites: pd.DataFrame) -> gpd.GeoDataFrame:
    new = gpd.GeoDataFrame({"station_id": [f"new{i}" for i in range(len(sites))],
                            "status": "ok"},
                           geometry=gpd.points_from_xy(sites["wgs84_lon"], sites["wgs84_lat"]),
                           crs=4326)
    old = stations.to_crs(4326)[["station_id", "status", "geometry"]]
    return gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=4326)


def test_curves_are_real_plans_and_bounds_hold(net: StreetNetwork, tmp_path: Path) -> None:
    res = _plan(net, tmp_path, scheduler="serial")
    assert not res.failed
    units = {u.unit_id: u for u in grid_units(net, km=0.35)}
    assert len(units) == 4
    curves = pd.read_csv(tmp_path / "curves.csv", dtype={"unit_id": str})
    sites = pd.read_csv(tmp_path / "sites.csv", dtype={"unit_id": str})
    assert sorted(curves["unit_id"].unique()) == sorted(units)
    for row in _rows(curves):
        chosen = sites[(sites["unit_id"] == row["unit_id"]) & (sites["k"] == row["k"])]
        assert len(chosen) == row["sites"] <= row["k"]
        got = _covered_in_core(net, _with_sites(_stations(), chosen), units[row["unit_id"]].core,
                               RULE, SNAP_M)
        assert row["covered_m"] == pytest.approx(got, abs=1e-3), (row["unit_id"], row["k"])
        assert row["bound_m"] >= row["covered_m"] - 1e-9
        assert row["bound_m"] <= row["demand_m"] + 1e-6
    for _, g in curves.groupby("unit_id"):
        assert np.all(np.diff(g["covered_m"].to_numpy()) >= -1e-9)  # at most K sites
        assert g["bound_m"].iloc[0] == g["covered_m"].iloc[0]  # K = 0: nothing to choose
    # demand is what the cores own: the units' demands add up to the whole network's
    assert curves.groupby("unit_id")["demand_m"].first().sum() == pytest.approx(
        float(net.edges["length_m"].sum()), abs=1e-6)


SMALL = dataclasses.replace(OPTS, ks=(0, 1, 2), candidate_spacing_m=100.0)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {f: (folder / f).read_bytes() for f in FILES}


def test_same_bytes_serial_and_inprocess_and_resume(
        net: StreetNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = {}
    for name in ("serial", "inprocess"):
        res = _plan(net, tmp_path / name, SMALL, scheduler=name)
        assert not res.failed
        runs[name] = _bytes(tmp_path / name)
    assert runs["serial"] == runs["inprocess"]

    def task(*args: object) -> None:
        raise AssertionError("a finished unit was planned again")

    monkeypatch.setattr(batch, "_plan_task", task)
    again = _plan(_network(), tmp_path / "serial", SMALL, scheduler="serial", resume=True)
    assert len(again.reused) == 4
    assert _bytes(tmp_path / "serial") == runs["serial"]


@pytest.mark.slow  # about 30 s on 2 shared cores, most of it starting the workers
def test_same_bytes_on_a_two_worker_local_cluster(net: StreetNetwork, tmp_path: Path) -> None:
    _plan(net, tmp_path / "serial", SMALL, scheduler="serial")
    res = _plan(net, tmp_path / "local", SMALL, scheduler="local", workers=2)
    assert not res.failed
    assert _bytes(tmp_path / "local") == _bytes(tmp_path / "serial")


def _read_curves(path: Path) -> dict[str, list[tuple[float, float, float]]]:
    """unit -> [(covered_m, bound_m, demand_m) for K = 0, 1, ...] read with csv."""
    out: dict[str, list[tuple[float, float, float]]] = {}
    with path.open(encoding="utf-8-sig") as fh:  # Excel's BOM
        for row in csv.DictReader(fh):
            out.setdefault(row["unit_id"], []).append(
                (float(row["covered_m"]), float(row["bound_m"]), float(row["demand_m"])))
    return out


def _brute(curves: dict[str, list[tuple[float, float, float]]], quota: int, *, fair: bool,
           col: int = 0) -> tuple[float, float]:
    """(best total, its lowest share) or with ``fair`` (best lowest share, its best total)
    over every split of at most ``quota`` stations."""
    units = list(curves)
    best: tuple[float, float] | None = None
    for ks in itertools.product(*(range(len(curves[u])) for u in units)):
        if sum(ks) > quota:
            continue
        vals = [curves[u][k][col] for u, k in zip(units, ks, strict=True)]
        low = min(v / curves[u][0][2] for u, v in zip(units, vals, strict=True))
        key = (low, sum(vals)) if fair else (sum(vals), low)
        best = key if best is None or key > best else best
    assert best is not None
    return best


def _check_allocation(folder: Path, quota: int, capsys: pytest.CaptureFixture[str]) -> None:
    curves = _read_curves(folder / "curves.csv")
    for fair in (False, True):
        args = ["batch", "allocate", str(folder), "--quota", str(quota), "--lang", "en",
                "--overwrite"]
        assert main([*args, "--fair"] if fair else args) == 0
        capsys.readouterr()
        table = pd.read_csv(folder / "allocation.csv", dtype={"unit_id": str})
        summary = json.loads((folder / "allocation.json").read_text())
        units = table[~table["unit_id"].isin(["total", "unallocated"])]
        total = table[table["unit_id"] == "total"].iloc[0]
        best = _brute(curves, quota, fair=fair)
        top = _brute(curves, quota, fair=fair, col=1)
        if fair:
            assert summary["lowest_share"] == pytest.approx(best[0], abs=1e-12)
            assert units["share"].min() == pytest.approx(best[0], abs=1e-9)
            assert summary["upper_bound"] == pytest.approx(top[0], abs=1e-12)
        else:
            assert summary["upper_bound"] == pytest.approx(top[0], abs=1e-6)
            assert summary["upper_bound"] >= summary["covered_m"] - 1e-3
        assert total["covered_m"] == pytest.approx(best[1] if fair else best[0], abs=1e-6)
        assert total["covered_m"] == pytest.approx(units["covered_m"].sum(), abs=1e-9)
        assert total["stations"] == quota  # placed plus unallocated
        sites = pd.read_csv(folder / "allocation_sites.csv", dtype={"unit_id": str})
        for row in _rows(units):
            curve = curves[row["unit_id"]]
            assert row["covered_m"] == pytest.approx(curve[row["stations"]][0], abs=1e-6)
            prev = curve[row["stations"] - 1][0] if row["stations"] else row["covered_m"]
            assert row["marginal_m"] == pytest.approx(row["covered_m"] - prev, abs=1e-6)
            mine = sites[sites["unit_id"] == row["unit_id"]]
            assert set(mine["k"]) <= {row["stations"]}


def test_allocate_on_the_command_line_equals_brute_force(
        net: StreetNetwork, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _plan(net, tmp_path, scheduler="serial")
    for quota in (0, 2, 5):
        _check_allocation(tmp_path, quota, capsys)
    # an earlier allocation is replaced only with --overwrite, and then only it: the
    # curves, sites and the rest of the plan folder stay as they are
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    capsys.readouterr()
    assert main(["batch", "allocate", str(tmp_path), "--quota", "40", "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds allocation.csv" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    # more stations than any curve can use: the rest are unallocated and add 0 m
    assert main(["batch", "allocate", str(tmp_path), "--quota", "40", "--lang", "en",
                 "--overwrite"]) == 0
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert {n: b for n, b in after.items() if not n.startswith("allocation")} == {
        n: b for n, b in before.items() if not n.startswith("allocation")}
    assert after["allocation.json"] != before["allocation.json"]
    table = pd.read_csv(tmp_path / "allocation.csv", dtype={"unit_id": str})
    extra = table[table["unit_id"] == "unallocated"].iloc[0]
    assert extra["stations"] == 40 - 4 * 3
    assert extra["covered_m"] == 0.0 and extra["marginal_m"] == 0.0
    for bad in ("-1", "2.5", "two"):
        capsys.readouterr()
        assert main(["batch", "allocate", str(tmp_path), "--quota", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "quota" in err
    assert main(["batch", "allocate", str(tmp_path / "nowhere"), "--quota", "2"]) == 2
    assert "curves.csv" in capsys.readouterr().err


def test_allocate_refuses_a_curve_with_a_gap_in_k(net: StreetNetwork, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    batch_plan_extracts(_extracts(net)[:1], _stations(), rule=RULE, max_snap_m=SNAP_M,
                        options=dataclasses.replace(OPTS, ks=(0, 2)), out=tmp_path)
    assert main(["batch", "allocate", str(tmp_path), "--quota", "2"]) == 2
    assert "every K" in capsys.readouterr().err


def test_a_halo_too_short_for_plans(net: StreetNetwork) -> None:
    from stationplan._errors import InputError

    short = [unit_extract(net, u, halo_m=200.0) for u in grid_units(net, km=0.35)]
    with pytest.raises(InputError, match="--halo-m 210"):
        batch_plan_extracts(short, _stations(), rule=RULE, max_snap_m=SNAP_M, options=OPTS)


# --- three shared extracts as three counties --------------------------------------------

COUNTIES = ("guixi_county_city", "shenzhen_longgang_heao", "beijing_zhongguancun")
COUNTY_RULE = CoverageRule(radius_m=500.0, max_minutes=None)


@pytest.fixture(scope="module")
def counties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from stationplan.network import load_network
    from stationplan.stations import read_stations

    paths = {c: shared_osm(f"{c}.osm.bz2") for c in COUNTIES}
    sheet = shared_sheet("guixi_stations.xlsx")
    root = tmp_path_factory.mktemp("counties")
    units = root / "units"
    (units / "extracts").mkdir(parents=True)
    nets, cores, tables = {}, {}, []
    rng = np.random.default_rng(18)
    station_parts = [read_stations(sheet).to_crs(4326)[["station_id", "status", "geometry"]]]
    for c, path in paths.items():
        net = load_network(path, mode="walk")
        x0, y0, x1, y1 = net.edges.total_bounds
        dx, dy = 0.15 * (x1 - x0), 0.15 * (y1 - y0)
        core = shapely.box(x0 + dx, y0 + dy, x1 - dx, y1 - dy)  # streets beyond: the halo
        one = root / c
        tables.append(batch.partition(net, [Unit(c, c, core)], one, halo_m=745.0))
        shutil.copy(one / "extracts" / f"{c}.pkl", units / "extracts" / f"{c}.pkl")
        nets[c], cores[c] = net, core
        if c != "guixi_county_city":  # synthetic stations: points on random streets
            lines = net.edges.geometry.to_numpy()[rng.choice(len(net.edges), 3, replace=False)]
            pts = gpd.GeoSeries(shapely.line_interpolate_point(lines, 0.5, normalized=True),
                                crs=net.crs).to_crs(4326)
            station_parts.append(gpd.GeoDataFrame(
                {"station_id": [f"{c[:2]}{i}" for i in range(3)], "status": "ok"},
                geometry=pts.to_numpy(), crs=4326))
    pd.concat(tables, ignore_index=True).to_csv(units / "units.csv", index=False)
    stations = gpd.GeoDataFrame(pd.concat(station_parts, ignore_index=True), crs=4326)
    stations.to_file(root / "stations.geojson", driver="GeoJSON")
    return {"root": root, "units": units, "nets": nets, "cores": cores,
            "stations": root / "stations.geojson"}


def test_three_counties_curves_and_quota(counties: dict[str, object],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from stationplan.stations import read_stations

    root, units = Path(str(counties["root"])), Path(str(counties["units"]))
    out = root / "plans"
    assert main(["batch", "plan", str(units), str(counties["stations"]), "--out", str(out),
                 "--scheduler", "serial", "--quota-curve", "3", "--no-time-limit",
                 "--radius-m", "500", "--candidate-spacing-m", "100", "--time-limit-s", "2",
                 "--lang", "en", "--quiet"]) == 0
    capsys.readouterr()
    curves = pd.read_csv(out / "curves.csv", dtype={"unit_id": str})
    sites = pd.read_csv(out / "sites.csv", dtype={"unit_id": str})
    assert list(curves["unit_id"].unique()) == list(COUNTIES)
    stations = read_stations(Path(str(counties["stations"])))
    nets = counties["nets"]
    cores = counties["cores"]
    assert isinstance(nets, dict) and isinstance(cores, dict)
    paired_m = 0.0
    for row in _rows(curves):
        chosen = sites[(sites["unit_id"] == row["unit_id"]) & (sites["k"] == row["k"])]
        got, demand, paired = _in_core(nets[row["unit_id"]], _with_sites(stations, chosen),
                                       cores[row["unit_id"]], COUNTY_RULE, 100.0)
        assert row["covered_m"] == pytest.approx(got, abs=1e-2), (row["unit_id"], row["k"])
        assert row["demand_m"] == pytest.approx(demand, abs=1e-2), row["unit_id"]
        assert row["bound_m"] >= row["covered_m"] - 1e-9
        paired_m += paired
    assert paired_m > 100.0  # dual carriageways in the cores: the pairs are exercised
    # K = 0 is the league's figure of a batch coverage run on the same units
    assert main(["batch", "coverage", str(units), str(counties["stations"]), "--out",
                 str(root / "cov"), "--scheduler", "serial", "--radius-m", "500",
                 "--no-time-limit", "--lang", "en", "--quiet"]) == 0
    capsys.readouterr()
    league = pd.read_csv(root / "cov" / "league.csv", dtype={"unit_id": str})
    zero = curves[curves["k"] == 0].set_index("unit_id")
    for row in _rows(league.iloc[:-1]):
        assert row["covered_km"] * 1000 == pytest.approx(zero.loc[row["unit_id"], "covered_m"],
                                                         abs=1e-3), row["unit_id"]
        assert row["demand_km"] * 1000 == pytest.approx(zero.loc[row["unit_id"], "demand_m"],
                                                        abs=1e-3), row["unit_id"]
    for quota in (3, 6):
        _check_allocation(out, quota, capsys)


def test_bounds_hold_against_brute_force_over_every_site_pair(net: StreetNetwork,
                                                              tmp_path: Path) -> None:
    """On one tile, every set of at most K candidates (no spacing rule, so any set is a
    plan), its coverage by the engine on the whole network: the best is never above the
    certified bound, and equals the curve where the curve says optimal."""
    from stationplan.candidates import street_candidates

    opts = dataclasses.replace(OPTS, ks=(0, 1, 2), candidate_spacing_m=200.0,
                               min_spacing_m=0.0)
    x = _extracts(net)[0]
    res = batch_plan_extracts([x], _stations(), rule=RULE, max_snap_m=SNAP_M, options=opts)
    core = x.unit.core
    # the candidates: street positions of the streets the core owns (the plan's inputs)
    sub = batch.core_network(x.network, core)
    cands = street_candidates(sub, spacing_m=200.0)
    cands = cands[sub.edges["in_area"].to_numpy(bool)[cands["edge_id"].to_numpy(np.int64)]]
    pts = cands.geometry.to_crs(4326)
    sites = pd.DataFrame({"wgs84_lon": pts.x.to_numpy(), "wgs84_lat": pts.y.to_numpy()})
    assert 5 <= len(sites) <= 40
    best = {0: _covered_in_core(net, _stations(), core, RULE, SNAP_M)}
    for k in (1, 2):
        best[k] = max(_covered_in_core(net, _with_sites(_stations(), sites.iloc[list(c)]),
                                       core, RULE, SNAP_M)
                      for c in itertools.combinations(range(len(sites)), k))
    for row in _rows(res.curves):
        k = int(row["k"])
        assert best[k] <= row["bound_m"] + 1e-3, k
        assert row["covered_m"] <= best[k] + 1e-3, k
        if row["certified"] == "optimal":
            assert row["covered_m"] == pytest.approx(best[k], abs=1e-3), k


def test_plan_on_the_command_line(net: StreetNetwork, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    batch.partition(net, grid_units(net, km=0.35), tmp_path / "units", halo_m=HALO_M)
    _stations().to_file(tmp_path / "stations.geojson", driver="GeoJSON")
    argv = ["batch", "plan", str(tmp_path / "units"), str(tmp_path / "stations.geojson"),
            "--scheduler", "serial", "--radius-m", "150", "--no-time-limit",
            "--max-snap-m", "30", "--candidate-spacing-m", "100", "--lang", "en"]
    assert main([*argv, "--out", str(tmp_path / "two"), "--sites", "2"]) == 0
    curves = pd.read_csv(tmp_path / "two" / "curves.csv", dtype={"unit_id": str})
    assert set(curves["k"]) == {0, 2} and curves["unit_id"].nunique() == 4
    capsys.readouterr()
    assert main(["batch", "allocate", str(tmp_path / "two"), "--quota", "2"]) == 2
    assert "every K" in capsys.readouterr().err
    for bad, words in ((argv, "--out"),  # plan needs an output folder
                       ([*argv, "--out", str(tmp_path / "x"), "--quota", "3"], "allocate"),
                       (["batch", "allocate", str(tmp_path / "two"), str(tmp_path), "--quota",
                         "2"], "one folder"),
                       (["batch", "allocate", str(tmp_path / "two")], "--quota")):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    # a halo shorter than reach + 2 x snap: one line, exit 2
    assert main([*argv, "--out", str(tmp_path / "y"), "--max-snap-m", "40"]) == 2
    assert "--halo-m 230" in capsys.readouterr().err


def test_a_failing_unit_is_reported_and_the_others_finish(
        net: StreetNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch._plan_task
    bad = grid_units(net, km=0.35)[2].core

    def task(sub: Any, near: Any, core: Any, *rest: Any) -> Any:
        if core.equals(bad):
            raise RuntimeError("boom")
        return real(sub, near, core, *rest)

    monkeypatch.setattr(batch, "_plan_task", task)
    res = _plan(net, tmp_path, SMALL, scheduler="serial")
    uid = grid_units(net, km=0.35)[2].unit_id
    assert res.failed == {uid: "RuntimeError: boom"}
    assert uid not in set(res.curves["unit_id"]) and res.curves["unit_id"].nunique() == 3
    assert "boom" in (tmp_path / "failed.csv").read_text()


def test_a_willing_host_on_the_best_spot_is_proposed(net: StreetNetwork) -> None:
    opts = dataclasses.replace(SMALL, ks=(0, 1))
    x = _extracts(net)[:1]
    plain = batch_plan_extracts(x, _stations(), rule=RULE, max_snap_m=SNAP_M, options=opts)
    site = plain.sites[plain.sites["k"] == 1].iloc[0]
    assert site["kind"] != "file"
    hosts = gpd.GeoDataFrame({"name": ["Host shop"], "status": "ok"},
                             geometry=gpd.points_from_xy([site["wgs84_lon"]],
                                                         [site["wgs84_lat"]]), crs=4326)
    with_host = batch_plan_extracts(x, _stations(), rule=RULE, max_snap_m=SNAP_M,
                                    options=opts, hosts=hosts, candidate_snap_m=5.0)
    got = with_host.sites[with_host.sites["k"] == 1].iloc[0]
    assert (got["kind"], got["name"]) == ("file", "Host shop")
    assert with_host.curves["covered_m"].tolist() == pytest.approx(
        plain.curves["covered_m"].tolist(), abs=1e-6)


def test_units_read_lazily_plan_to_the_same_bytes(net: StreetNetwork, tmp_path: Path) -> None:
    _plan(net, tmp_path / "eager", SMALL, scheduler="serial")
    batch.partition(net, grid_units(net, km=0.35), tmp_path / "units", halo_m=HALO_M)
    refs = batch.read_units(tmp_path / "units", lazy=True)
    assert all(isinstance(r, batch.UnitRef) for r in refs)
    res = batch_plan_extracts(refs, _stations(), rule=RULE, max_snap_m=SNAP_M, options=SMALL,
                              out=tmp_path / "lazy", scheduler="inprocess")
    assert not res.failed and not res.reused
    assert _bytes(tmp_path / "lazy") == _bytes(tmp_path / "eager")
