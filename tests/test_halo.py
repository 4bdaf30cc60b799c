"""The halo theorem: a unit computed on its core plus a halo equals the whole-network run.

Random street graphs (jittered grids with missing and one-way streets, plus a straight
dead-end spur that runs out of a core perpendicular to its boundary, with a station just
beyond its end), random stations and random cut lines. The reference is the coverage of
the whole network, clipped to each core by the same rule; with the halo 1 m shorter than
reach + 2 x snap, hypothesis must find a case where the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
import shapely.ops
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from stationplan._streets import network_from_segments, travel_mode
from stationplan.coverage import CoverageRule, compute_coverage
from stationplan.halo import clip_to_core, required_halo_m, unit_coverage
from stationplan.network import StreetNetwork
from stationplan.stations import snap_stations

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_400_000.0
TO_LONLAT = pyproj.Transformer.from_crs(CRS, 4326, always_xy=True)


@dataclass(frozen=True)
class Case:
    network: StreetNetwork
    stations: gpd.GeoDataFrame
    cores: list[Any]
    rule: CoverageRule
    snap_m: float


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


@st.composite
def cases(draw: Any) -> Case:
    seed = draw(st.integers(0, 2**32 - 1))
    reach = draw(st.floats(40.0, 250.0))
    snap = draw(st.floats(2.0, 40.0))
    n_cuts = draw(st.integers(1, 3))
    n_st = draw(st.integers(0, 8))
    spur_eps = draw(st.floats(0.01, 0.5))  # how much shorter than the reach the spur is
    rng = np.random.default_rng(seed)
    n, step = 6, 100.0
    coords: dict[int, tuple[float, float]] = {}
    xy: dict[int, tuple[float, float]] = {}
    for i in range(n):
        for j in range(n):
            k = i * n + j
            xy[k] = (i * step + rng.uniform(-30, 30), j * step + rng.uniform(-30, 30))
    segments: list[tuple[Any, ...]] = []
    way = 1
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1), (1, 1)):
                if i + di >= n or j + dj >= n or rng.random() < (0.25 if di * dj == 0 else 0.8):
                    continue
                a, b = i * n + j, (i + di) * n + j + dj
                oneway = rng.random() < 0.2
                segments.append((way, {"highway": "residential"}, [a, b], None, True,
                                 not oneway, 1 if oneway else 0))
                way += 1
    # cut lines through the middle of the area at random angles: the cores tile the plane
    cores: list[Any] = [shapely.box(-2000, -2000, 2500, 2500)]
    lines = []
    for _ in range(n_cuts):
        cx, cy = rng.uniform(150, 350, size=2)
        ang = rng.uniform(0, np.pi)
        d = np.array([np.cos(ang), np.sin(ang)])
        line = shapely.LineString([(cx - 5000 * d[0], cy - 5000 * d[1]),
                                   (cx + 5000 * d[0], cy + 5000 * d[1])])
        lines.append((np.array([cx, cy]), d))
        cores = [g for c in cores for g in shapely.ops.split(c, line).geoms]
    # the spur: from 5 m inside one side of the first cut, perpendicular, reach - eps long
    (c0, d0) = lines[0]
    normal = np.array([-d0[1], d0[0]])
    foot = c0 + rng.uniform(-100, 100) * d0
    p0, p1 = foot - 5.0 * normal, foot + (reach - spur_eps) * normal
    k0, k1 = 10_000, 10_001
    xy[k0], xy[k1] = (float(p0[0]), float(p0[1])), (float(p1[0]), float(p1[1]))
    segments.append((way, {"highway": "residential"}, [k0, k1], None, True, True, 0))
    coords = {k: _lonlat(*p) for k, p in xy.items()}
    net = network_from_segments(segments, coords, travel_mode("walk"), source="random",
                                stats={})
    # stations: random points, and one just beyond the spur's end (snap distance ~ snap)
    pts = [tuple(rng.uniform(-150, 650, size=2)) for _ in range(n_st)]
    pts.append(tuple(p1 + (snap - 1e-6) * normal))
    lonlat = [_lonlat(x, y) for x, y in pts]
    stations = gpd.GeoDataFrame(
        {"station_id": [f"S{i}" for i in range(len(pts))], "status": "ok"},
        geometry=gpd.points_from_xy([p[0] for p in lonlat], [p[1] for p in lonlat]),
        crs=4326)
    # cores in the network's CRS (the network is projected to its own UTM zone)
    to_net = pyproj.Transformer.from_crs(CRS, net.crs, always_xy=True)
    cores = [shapely.transform(c, lambda a: np.column_stack(
        to_net.transform(a[:, 0] + X0, a[:, 1] + Y0))) for c in cores]
    rule = CoverageRule(radius_m=reach, max_minutes=None)
    return Case(net, stations, cores, rule, snap)


def _labels(column: pd.Series) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in column.tolist()]


def _disagreement(case: Case, halo_m: float) -> str | None:
    """Why the units differ from the whole-network run, or None when they agree."""
    snapped = snap_stations(case.network, case.stations, max_snap_m=case.snap_m)
    serial = compute_coverage(case.network, snapped, rule=case.rule)
    owned_m = 0.0
    for core in case.cores:
        ref = clip_to_core(serial, core)
        got = unit_coverage(case.network, case.stations, core, rule=case.rule,
                            max_snap_m=case.snap_m, halo_m=halo_m)
        owned_m += float(got["length_m"].sum())
        if len(ref) != len(got):
            return f"{len(got)} pieces, serial {len(ref)}"
        if not np.array_equal(ref["edge_id"].to_numpy(), got["edge_id"].to_numpy()):
            return "edges differ"
        for col in ("start_m", "end_m"):
            if np.max(np.abs(ref[col].to_numpy() - got[col].to_numpy()), initial=0) > 1e-6:
                return f"{col} differs"
        if _labels(ref["status"]) != _labels(got["status"]):
            return "status differs"
        if _labels(ref["station_id"]) != _labels(got["station_id"]):
            return "serving station differs"
        cov = (ref["status"] == "covered").to_numpy()
        if np.max(np.abs(ref["dist_m"].to_numpy()[cov] - got["dist_m"].to_numpy()[cov]),
                  initial=0) > 1e-6:
            return "distance differs"
    total = float(serial.pieces["length_m"].sum())
    if abs(owned_m - total) > 1e-6:
        return f"owned lengths sum to {owned_m}, serial {total}"
    return None


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_unit_with_halo_equals_whole_network(case: Case) -> None:
    halo = required_halo_m(reach_m=case.rule.limit_m, max_snap_m=case.snap_m)
    assert _disagreement(case, halo) is None


def test_halo_one_metre_short_has_a_counterexample() -> None:
    def differs(case: Case) -> bool:
        halo = required_halo_m(reach_m=case.rule.limit_m, max_snap_m=case.snap_m)
        return _disagreement(case, halo - 1.0) is not None

    found = find(cases(), differs,
                 settings=settings(max_examples=60, deadline=None, database=None,
                                   suppress_health_check=list(HealthCheck)))
    halo = required_halo_m(reach_m=found.rule.limit_m, max_snap_m=found.snap_m)
    assert _disagreement(found, halo) is None  # the full halo is exact on that case


def test_owned_pieces_tile_the_cut_edges() -> None:
    # a straight 300 m street crossed by the line x = 100: 100 m west, 200 m east
    segs = [(1, {"highway": "residential"}, [1, 2], None, True, True, 0)]
    coords = {1: _lonlat(0, 0), 2: _lonlat(300, 0)}
    net = network_from_segments(segs, coords, travel_mode("walk"), source="hand", stats={})
    x0, y0 = (float(c) for c in net.nodes.geometry.iloc[0].coords[0])
    west = shapely.box(x0 - 1000, y0 - 1000, x0 + 100, y0 + 1000)
    east = shapely.box(x0 + 100, y0 - 1000, x0 + 2000, y0 + 1000)
    st_ = gpd.GeoDataFrame({"station_id": ["A"], "status": "ok"},
                           geometry=gpd.points_from_xy([_lonlat(0, 0)[0]], [_lonlat(0, 0)[1]]),
                           crs=4326)
    rule = CoverageRule(radius_m=150.0, max_minutes=None)
    w = unit_coverage(net, st_, west, rule=rule, max_snap_m=10.0)
    e = unit_coverage(net, st_, east, rule=rule, max_snap_m=10.0)
    length = float(net.edges["length_m"].iloc[0])
    # hand geometry: covered 0-150 m from the station at 0; the cut at 100 m
    assert pd.Series(w["length_m"]).sum() == pytest.approx(100.0, abs=1e-6)
    assert list(w["status"]) == ["covered"]
    assert list(e["status"]) == ["covered", "gap"]
    assert e["start_m"].iloc[0] == pytest.approx(100.0, abs=1e-6)
    assert e["end_m"].iloc[0] == pytest.approx(150.0, abs=1e-6)
    assert e["dist_m"].iloc[0] == pytest.approx(100.0, abs=1e-6)
    assert w["length_m"].sum() + e["length_m"].sum() == pytest.approx(length, abs=1e-9)
