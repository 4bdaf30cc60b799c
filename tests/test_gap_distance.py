"""How far each gap's farthest point is from a station (find_gaps: ``farthest_m``,
``farthest_more_than_m``, ``farthest_lon`` / ``farthest_lat``), checked on paper and
against networkx shortest paths on graphs built here, with dense samples along the gaps.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from handnet import hand_graph, hand_lonlat, shared_osm, shared_sheet

import stationplan as sp
from stationplan._render import mapstyle
from stationplan._render.reportdoc import render_html, render_markdown
from stationplan.report import report_data

GUIXI = "guixi_county_city.osm.bz2"


# --- an independent reference: networkx on the street segments split at the stations ---

class Reference:
    """Distances from every street point to the nearest station, with networkx.

    Each edge is split at its stations into segments (a, b, from_m, to_m); the graph has
    one arc per allowed direction, reversed (a rider travels *to* the station), so one
    multi-source Dijkstra from the stations gives each segment end's distance. A point
    ``x`` metres along an edge leaves its segment through ``a`` (needs travel v→u) or
    ``b`` (needs u→v).
    """

    def __init__(self, net, stations):
        e = net.edges
        ok = stations[stations["status"] == "ok"]
        by_edge: dict[int, list] = {}
        for sid, edge, off in zip(ok["station_id"], ok["edge_id"], ok["offset_m"], strict=True):
            by_edge.setdefault(int(edge), []).append((float(off), f"st:{sid}"))
        g = nx.DiGraph()
        g.add_nodes_from(range(len(net.nodes)))
        self.segments: dict[int, list] = {}
        for i, row in enumerate(e.itertuples()):
            chain = [(0.0, int(row.u)), *sorted(by_edge.get(i, [])), (row.length_m, int(row.v))]
            segs = []
            for (o1, a), (o2, b) in itertools.pairwise(chain):
                segs.append((a, b, o1, o2))
                for tail, head, allowed in ((b, a, row.fwd), (a, b, row.bwd)):
                    if allowed and (not g.has_edge(tail, head) or g[tail][head]["w"] > o2 - o1):
                        g.add_edge(tail, head, w=o2 - o1)
            self.segments[i] = segs
        self.fwd = e["fwd"].to_numpy(bool)
        self.bwd = e["bwd"].to_numpy(bool)
        sources = [f"st:{s}" for s in ok["station_id"]]
        self.dist = nx.multi_source_dijkstra_path_length(g, sources, weight="w") if sources \
            else {}

    def _ends(self, edge, p, q):
        """The segment holding the piece [p, q] and its ends' distances (inf: no way)."""
        mid = (p + q) / 2
        a, b, o1, o2 = next(s for s in self.segments[edge] if s[2] <= mid <= s[3])
        da = self.dist.get(a, math.inf) if self.bwd[edge] else math.inf
        db = self.dist.get(b, math.inf) if self.fwd[edge] else math.inf
        return da, db, o1, o2

    def at(self, edge, p, q, x):
        """Distance to the nearest station from the points ``x`` of the piece [p, q]."""
        da, db, o1, o2 = self._ends(edge, p, q)
        return np.minimum(da + (np.asarray(x) - o1), db + (o2 - np.asarray(x)))

    def piece_max(self, edge, p, q):
        """Largest distance over [p, q], by hand: at an end, or where the two ways meet."""
        da, db, o1, o2 = self._ends(edge, p, q)
        candidates = [p, q]
        if math.isfinite(da) and math.isfinite(db):
            # da + (x - o1) = db + (o2 - x)
            candidates.append(min(max((db + o2 - da + o1) / 2, p), q))
        return float(max(self.at(edge, p, q, candidates)))


def _cluster_of_pieces(gaps, pieces):
    """Row position in ``gaps`` of the cluster each gap piece belongs to (by geometry)."""
    mid = shapely.line_interpolate_point(pieces.geometry.to_numpy(), 0.5, normalized=True)
    dist = shapely.distance(mid[:, None], gaps.geometry.to_numpy()[None, :])
    assert (dist.min(axis=1) < 1e-6).all()
    return dist.argmin(axis=1)


def _check_against_reference(cov, gaps, search_m, *, sample_m=1.0):
    """Every gap row agrees with the networkx reference; returns (known, beyond) counts."""
    ref = Reference(cov.network, cov.stations)
    pieces = cov.pieces[cov.pieces["status"] == "gap"]
    cluster = _cluster_of_pieces(gaps, pieces)
    best = np.full(len(gaps), -np.inf)
    sampled = np.full(len(gaps), -np.inf)
    for c, edge, p, q in zip(cluster, pieces["edge_id"], pieces["start_m"], pieces["end_m"],
                             strict=True):
        best[c] = max(best[c], ref.piece_max(edge, p, q))
        xs = np.linspace(p, q, max(2, int(np.ceil((q - p) / sample_m)) + 1))
        sampled[c] = max(sampled[c], float(ref.at(edge, p, q, xs).max()))
    known = beyond = 0
    for i, g in enumerate(gaps.itertuples()):
        if best[i] > search_m:
            beyond += 1
            assert math.isnan(g.farthest_m), g.gap_id
            assert g.farthest_more_than_m == search_m
            assert math.isnan(g.farthest_lon) and math.isnan(g.farthest_lat)
        else:
            known += 1
            assert g.farthest_m == pytest.approx(best[i], abs=1e-6), g.gap_id
            assert math.isnan(g.farthest_more_than_m)
            # dense samples never exceed it, and come within a sample step of it
            assert best[i] - sample_m - 1e-6 <= sampled[i] <= g.farthest_m + 1e-6
            _check_point(ref, cov, pieces[cluster == i], g)
    return known, beyond


def _check_point(ref, cov, pieces, g):
    """The reported farthest point lies on the gap, and is that far from a station."""
    pt = gpd.GeoSeries(gpd.points_from_xy([g.farthest_lon], [g.farthest_lat]), crs=4326)
    pt = pt.to_crs(cov.network.crs).iat[0]
    lines = cov.network.edges.geometry.to_numpy()
    values = []
    for edge, p, q, geom in zip(pieces["edge_id"], pieces["start_m"], pieces["end_m"],
                                pieces.geometry, strict=True):
        if geom.distance(pt) < 1e-3:
            x = min(max(lines[edge].project(pt), p), q)
            values.append(float(ref.at(edge, p, q, x)))
    assert values, g.gap_id
    assert max(values) == pytest.approx(g.farthest_m, abs=1e-3)


# --- the hand network, on paper ---------------------------------------------------------

@pytest.fixture
def hand_cov(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    return sp.compute_coverage(net, sp.snap_stations(net, sp.read_stations(hand_stations_csv)))


def test_hand_network_on_paper(hand_cov):
    gaps = sp.find_gaps(hand_cov)
    # U—V: no station in its component; Q1—R: 100 m + 700 m to the middle, where the
    # ways to S3 and S6 meet; A and D: 300 m + 350 m to S1 in the middle of B—C
    assert gaps["street"].tolist() == ["road 9", "road 6", "road 2", "road 0"]
    assert math.isnan(gaps["farthest_m"].iat[0])
    assert gaps["farthest_more_than_m"].iat[0] == 1500.0  # three times 500 m
    assert gaps["farthest_m"].iloc[1:].tolist() == pytest.approx([800, 650, 650], abs=1e-3)
    assert gaps["farthest_more_than_m"].iloc[1:].isna().all()
    # the farthest points: the middle of Q1—R, D and A
    expect = [hand_lonlat(1700, 5000), hand_lonlat(1300, 0), hand_lonlat(0, 0)]
    got = list(zip(gaps["farthest_lon"].iloc[1:], gaps["farthest_lat"].iloc[1:], strict=True))
    for (lon, lat), (elon, elat) in zip(got, expect, strict=True):
        assert lon == pytest.approx(elon, abs=1e-7)
        assert lat == pytest.approx(elat, abs=1e-7)
    assert _check_against_reference(hand_cov, gaps, 1500.0) == (3, 1)


def test_hand_network_more_than_a_smaller_search(hand_cov):
    gaps = sp.find_gaps(hand_cov, search_limit_m=700)
    # Q1—R's 800 m is now beyond the search; A and D (650 m) are not
    assert gaps["farthest_more_than_m"].iloc[:2].tolist() == [700.0, 700.0]
    assert gaps["farthest_m"].iloc[:2].isna().all()
    assert gaps["farthest_m"].iloc[2:].tolist() == pytest.approx([650, 650], abs=1e-3)
    assert _check_against_reference(hand_cov, gaps, 700.0) == (2, 2)


def test_search_limit_is_checked(hand_cov):
    with pytest.raises(sp.InputError, match="search_limit_m"):
        sp.find_gaps(hand_cov, search_limit_m=400)  # below the 500 m limit
    with pytest.raises(sp.InputError, match="search_limit_m"):
        sp.find_gaps(hand_cov, search_limit_m=float("nan"))


def _loop_graph():
    """One-way A→B→C (400 + 400 m), back from C to A by a two-way detour C—D—E—A."""
    g = nx.MultiDiGraph(crs="EPSG:32650")
    xy = {1: (0, 0), 2: (400, 0), 3: (800, 0), 4: (800, 100), 5: (0, 100)}
    for n, (x, y) in xy.items():
        g.add_node(n, x=500_000.0 + x, y=4_400_000.0 + y)
    g.add_edge(1, 2, osmid=1, highway="residential", length=400.0, oneway=True, name="east")
    g.add_edge(2, 3, osmid=2, highway="residential", length=400.0, oneway=True, name="east")
    for i, (a, b, length) in enumerate(((3, 4, 100.0), (4, 5, 800.0), (5, 1, 100.0))):
        for u, v in ((a, b), (b, a)):
            g.add_edge(u, v, osmid=10 + i, highway="residential", length=length, name="back")
    return g


@pytest.mark.parametrize("mode", ["walk", "bike"])
def test_one_way_streets(tmp_path, mode):
    net = sp.network_from_graph(_loop_graph(), mode=mode)
    lon, lat = hand_lonlat(500, 0)  # 100 m past B on the one-way B→C
    (tmp_path / "s.csv").write_text(f"name,lon,lat\nS,{lon:.9f},{lat:.9f}\n", encoding="utf-8")
    stations = sp.snap_stations(net, sp.read_stations(tmp_path / "s.csv"))
    rule = sp.CoverageRule(radius_m=300, max_minutes=None)
    cov = sp.compute_coverage(net, stations, rule=rule)
    gaps = sp.find_gaps(cov, search_limit_m=3000)
    # runs of "east" and "back", touching: one gap area, whose farthest is checked here
    areas = sp.gap_areas(gaps)
    assert len(areas) == 1
    if mode == "bike":
        # just past the station a rider must go on to C and round: 300 + 100 + 800 + 100
        # + 400 + 100 = 1,800 m, the farthest; from E it is 100 + 500 = 600 m
        assert areas["farthest_m"].iat[0] == pytest.approx(1800, abs=1e-3)
        lon0, lat0 = hand_lonlat(500, 0)
        assert areas["farthest_lon"].iat[0] == pytest.approx(lon0, abs=1e-7)
        assert areas["farthest_lat"].iat[0] == pytest.approx(lat0, abs=1e-7)
    else:
        # walking both ways: C is 300 m away, A 500 m; D—E (800 m) is reached from D at
        # 400 m and from E at 600 m, so the two ways meet 500 m from D, 900 m away
        assert areas["farthest_m"].iat[0] == pytest.approx(900, abs=1e-3)
    assert _check_against_reference(cov, gaps, 3000.0) == (len(gaps), 0)


# --- a real extract, against networkx ----------------------------------------------------

def _street_points(net, n, seed):
    """Stations at random points of random streets (a few share one)."""
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, len(net.edges), n)
    edges[: n // 4] = edges[0]
    pts = shapely.line_interpolate_point(net.edges.geometry.to_numpy()[edges], rng.random(n),
                                         normalized=True)
    frame = gpd.GeoDataFrame({"station_id": [f"s{i}" for i in range(n)], "name": "x",
                              "status": "ok", "reason": ""}, geometry=pts, crs=net.crs)
    return sp.snap_stations(net, frame.to_crs(4326))


@pytest.mark.parametrize("mode", ["walk", "bike"])
def test_real_extract_sheet_stations_match_networkx(mode):
    net = sp.load_network(shared_osm(GUIXI), mode=mode)
    sheet = sp.read_stations(shared_sheet("guixi_stations.xlsx"), crs="gcj02")
    cov = sp.compute_coverage(net, sp.snap_stations(net, sheet))
    gaps = sp.find_gaps(cov)
    known, beyond = _check_against_reference(cov, gaps, 3 * cov.rule.limit_m)
    assert known > 5
    assert beyond > 0
    # farther than the limit, or the piece would not be a gap
    assert (gaps["farthest_m"].dropna() > cov.rule.limit_m - 1e-6).all()


@pytest.mark.parametrize(("mode", "seed"), [("walk", 1), ("bike", 2), ("bike", 3)])
def test_real_extract_street_points_match_networkx(mode, seed):
    net = sp.load_network(shared_osm(GUIXI), mode=mode)
    cov = sp.compute_coverage(net, _street_points(net, 16, seed),
                              rule=sp.CoverageRule(radius_m=300, max_minutes=None))
    gaps = sp.find_gaps(cov, search_limit_m=1200)
    known, beyond = _check_against_reference(cov, gaps, 1200.0)
    assert known >= 5
    assert beyond > 0


# --- rendering: the report's gap table and the map's gap popups say the same -------------

def test_report_and_map_say_the_same(hand_cov):
    gaps = sp.find_gaps(hand_cov)
    summary = sp.summarize(hand_cov, gaps)
    for lang, beyond, known in (("zh", "超过 1,500 米", "800 米"),
                                ("en", "more than 1,500 m", "800 m")):
        data = report_data(hand_cov, gaps, summary, lang=lang)
        rows = data["largest_gaps"]
        assert rows[0]["farthest_m"] is None
        assert rows[0]["farthest_more_than_m"] == 1500.0
        assert rows[1]["farthest_m"] == pytest.approx(800, abs=1e-3)
        assert rows[1]["farthest_more_than_m"] is None
        text = render_markdown(data, {})
        assert beyond in text
        assert known in text
        # "more than" cells stay right-aligned with the numbers of their column
        prefix = beyond.split(" 1,500")[0]
        assert f'<td class="n">{prefix} <span class="num"' in render_html(data, {})
        words = [mapstyle.fmt_farthest(g.farthest_m, g.farthest_more_than_m, lang)
                 for g in gaps.itertuples()]
        assert words[:2] == [beyond, known]
