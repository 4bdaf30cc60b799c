"""The halo theorem: a unit computed on its core plus a halo equals the whole-network run.

Random street graphs (jittered grids with missing and one-way streets; a straight dead-end
spur that runs out of a core perpendicular to its boundary, with a station just beyond its
end; a dual carriageway, two one-way streets of one name running opposite, along a core
boundary, the counted side just inside the core and the other just outside, with a spur
from the outer one and a station just beyond its end, so that the core is covered only
through the twin), random stations, random cut lines and a random planning area (or
none), the demand marked and the carriageways paired on the whole network. The reference
is the coverage of the whole network, clipped to each core by the same rule; with the
halo 1 m shorter than reach + 2 x snap + the twin distance, hypothesis must find a case
where the two differ.
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
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from stationplan._streets import network_from_segments, travel_mode
from stationplan.area import RoadClasses, with_demand
from stationplan.coverage import CoverageRule, compute_coverage
from stationplan.halo import clip_to_core, pair_distance_m, required_halo_m, unit_coverage
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
    return make_case(
        seed=draw(st.integers(0, 2**32 - 1)), reach=draw(st.floats(40.0, 250.0)),
        snap=draw(st.floats(2.0, 40.0)), n_cuts=draw(st.integers(1, 3)),
        n_st=draw(st.integers(0, 8)),
        spur_eps=draw(st.floats(0.01, 0.5)),  # how much shorter than the reach the spurs are
        sep=draw(st.floats(8.0, 30.0)),  # between the two carriageways
        inset=draw(st.floats(0.01, 0.3)),  # of the counted carriageway inside its core
        area=draw(st.one_of(st.none(), st.tuples(st.floats(-80, 200), st.floats(-80, 200),
                                                 st.floats(300, 580), st.floats(300, 580)))))


def make_case(*, seed: int, reach: float, snap: float, n_cuts: int, n_st: int,
              spur_eps: float, sep: float, inset: float,
              area: tuple[float, float, float, float] | None) -> Case:
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
    way += 1
    # the dual carriageway along the first cut, 700-800 m from the first spur's centre
    # (away from the grid, so that the station snaps to its spur):
    # E (counted: the smaller way id) runs along d0 inset inside, F runs back sep outside,
    # joined at its middle by a spur out along the normal, reach - eps long, to a station
    q = c0 + rng.uniform(700, 800) * d0 - inset * normal
    qf = q + sep * normal
    road = {"highway": "primary", "name": "Dual Road", "oneway": "yes"}
    for k, pt in ((20_000, q - 60 * d0), (20_001, q + 60 * d0), (20_002, qf + 60 * d0),
                  (20_003, qf), (20_004, qf - 60 * d0), (20_005, qf + (reach - spur_eps)
                                                         * normal)):
        xy[k] = (float(pt[0]), float(pt[1]))
    segments += [(way, road, [20_000, 20_001], None, True, False, 1),
                 (way + 1, road, [20_002, 20_003], None, True, False, 1),
                 (way + 2, road, [20_003, 20_004], None, True, False, 1),
                 (way + 3, {"highway": "residential"}, [20_003, 20_005], None, True, True, 0)]
    coords = {k: _lonlat(*p) for k, p in xy.items()}
    net = network_from_segments(segments, coords, travel_mode("walk"), source="random",
                                stats={})
    # the demand: inside the planning area (cut at its boundary), carriageways paired
    zone = None if area is None else shapely.Polygon(
        [_lonlat(area[0], area[1]), _lonlat(area[2], area[1]), _lonlat(area[2], area[3]),
         _lonlat(area[0], area[3])])
    net = with_demand(net, roads=RoadClasses(), area=zone)
    # stations: random points, and one just beyond each spur's end (snap distance ~ snap)
    pts = [tuple(rng.uniform(-150, 650, size=2)) for _ in range(n_st)]
    pts.append(tuple(p1 + (snap - 1e-6) * normal))
    pts.append(tuple(np.array(xy[20_005]) + (snap - 1e-6) * normal))
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


def _halo(case: Case) -> float:
    return required_halo_m(reach_m=case.rule.limit_m, max_snap_m=case.snap_m,
                           pair_m=pair_distance_m(case.network))


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
        if ref["via_twin"].tolist() != got["via_twin"].tolist():
            return "covered through the twin differs"
        a, b = ref["dist_m"].to_numpy(float), got["dist_m"].to_numpy(float)
        if (np.isnan(a) != np.isnan(b)).any() or np.nanmax(np.abs(a - b), initial=0) > 1e-6:
            return "distance differs"
    total = float(serial.pieces["length_m"].sum())
    if abs(owned_m - total) > 1e-6:
        return f"owned lengths sum to {owned_m}, serial {total}"
    return None


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_unit_with_halo_equals_whole_network(case: Case) -> None:
    assert _disagreement(case, _halo(case)) is None


def test_cases_have_paired_carriageways_and_twin_coverage() -> None:
    """The cases hold what the property is about: the outer carriageway paired at the
    built distance, and the counted one covered only through its twin."""
    for seed in range(4):
        case = make_case(seed=seed, reach=150.0, snap=20.0, n_cuts=1 + seed % 3, n_st=0,
                         spur_eps=0.2, sep=12.0 + seed, inset=0.1,
                         area=None if seed % 2 else (-900.0, -900.0, 1400.0, 1400.0))
        pairs = case.network.carriageways
        assert pairs is not None and len(pairs) > 0
        assert pair_distance_m(case.network) == pytest.approx(12.0 + seed, abs=1e-6)
        snapped = snap_stations(case.network, case.stations, max_snap_m=case.snap_m)
        pieces = compute_coverage(case.network, snapped, rule=case.rule).pieces
        twin = pieces[pieces["via_twin"]]
        # the twin of the stretch the spur's station reaches: about spur_eps metres long
        assert 0.1 < float(twin["length_m"].sum()) < 0.3
        assert set(twin["station_id"]) == {f"S{len(case.stations) - 1}"}


def test_halo_one_metre_short_has_a_counterexample() -> None:
    def differs(case: Case) -> bool:
        return _disagreement(case, _halo(case) - 1.0) is not None

    found = find(cases(), differs,  # the first case found, not shrunk (it takes seconds)
                 settings=settings(max_examples=60, deadline=None, database=None,
                                   phases=[Phase.generate],
                                   suppress_health_check=list(HealthCheck)))
    assert pair_distance_m(found.network) > 1.0  # the twin distance is part of the halo
    assert _disagreement(found, _halo(found)) is None  # the full halo is exact on that case


def test_owned_pieces_tile_the_cut_edges() -> None:
    # a straight 300 m street crossed by the line x = 100: 100 m west, 200 m east
    segs = [(1, {"highway": "residential"}, [1, 2], None, True, True, 0)]
    coords = {1: _lonlat(0, 0), 2: _lonlat(300, 0)}
    net = network_from_segments(segs, coords, travel_mode("walk"), source="hand", stats={})
    x0, y0 = (float(c) for c in net.nodes[["x", "y"]].iloc[0])
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


def test_a_street_along_a_shared_side_has_one_owner() -> None:
    # two streets exactly on the meridian 117 E, which UTM 50N maps to x = 500000 exactly:
    # they run along the side shared by the western and eastern cores (and end at a
    # corner of four cores); a third street runs east from the first one's south end
    segs = [(1, {"highway": "residential"}, [1, 2], None, True, True, 0),
            (2, {"highway": "residential"}, [2, 3], None, True, True, 0),
            (3, {"highway": "residential"}, [1, 4], None, True, True, 0)]
    coords = {1: (117.0, 39.9), 2: (117.0, 39.902), 3: (117.0, 39.904), 4: (117.003, 39.9)}
    net = network_from_segments(segs, coords, travel_mode("walk"), source="hand", stats={})
    xy = shapely.get_coordinates(net.edges.geometry.to_numpy())
    assert (xy[:4, 0] == 500_000.0).all()  # the premise: exactly on the line x = 500000
    ymid = float(xy[1, 1])  # the corner where the two streets meet
    cores = {"sw": shapely.box(499_000, 4_416_000, 500_000, ymid),
             "se": shapely.box(500_000, 4_416_000, 501_000, ymid),
             "nw": shapely.box(499_000, ymid, 500_000, 4_418_000),
             "ne": shapely.box(500_000, ymid, 501_000, 4_418_000)}
    # every midpoint on the meridian lies on two cores (covers): the old rule owned it twice
    mid = shapely.line_interpolate_point(net.edges.geometry.to_numpy()[:1], 0.5,
                                         normalized=True)[0]
    assert sum(bool(c.covers(mid)) for c in cores.values()) == 2
    st_ = gpd.GeoDataFrame({"station_id": ["A"], "status": "ok"},
                           geometry=gpd.points_from_xy([117.0], [39.901]), crs=4326)
    rule = CoverageRule(radius_m=150.0, max_minutes=None)
    got = {k: unit_coverage(net, st_, c, rule=rule, max_snap_m=10.0) for k, c in cores.items()}
    # the tie goes east (and north at the corner): SE owns street 1, NE street 2
    assert got["sw"].empty and got["nw"].empty
    assert set(got["se"]["edge_id"]) == {0, 2} and set(got["ne"]["edge_id"]) == {1}
    owned_m = pd.concat(got.values()).groupby("edge_id")["length_m"].sum()
    assert np.allclose(owned_m.sort_index().to_numpy(), net.edges["length_m"].to_numpy(),
                       atol=1e-9)
    # street 1 (222 m) has the station in its middle: all of it within 150 m, cut there
    s1 = got["se"][got["se"]["edge_id"] == 0]
    length = float(net.edges["length_m"].iloc[0])
    assert s1["status"].tolist() == ["covered", "covered"]
    assert float(s1["end_m"].iloc[0]) == pytest.approx(length / 2, abs=0.01)
