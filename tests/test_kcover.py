"""k-coverage (how many stations reach each street piece) and per-station reaches:
paper values on hand networks, and an independent networkx check on a real extract
(one Dijkstra per station, never a multi-source search)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, hand_lonlat, shared_osm

import stationplan as sp

RULE = {"radius_m": 500.0, "max_minutes": None}


def _line_net(xs):
    """A straight two-way street along y=0 through the given x positions (metres)."""
    return sp.network_from_graph(_line_graph(xs))


def _line_graph(xs):
    g = nx.MultiDiGraph(crs=HAND_CRS)
    for i, x in enumerate(xs):
        g.add_node(i, x=X0 + x, y=Y0)
    for i, (a, b) in enumerate(itertools.pairwise(xs)):
        for s, t in ((i, i + 1), (i + 1, i)):
            g.add_edge(s, t, osmid=100 + i, highway="residential", length=b - a, name="街")
    return g


def _stations(tmp_path, xs, reach=None):
    rows = []
    for i, x in enumerate(xs):
        lon, lat = hand_lonlat(x, 0)
        row = {"name": f"S{i + 1}", "lng": lon, "lat": lat}
        if reach is not None:
            row["服务半径"] = reach[i]
        rows.append(row)
    path = tmp_path / "stations.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _table(cov):
    p = cov.pieces
    return [(round(a, 2), round(b, 2), int(n), st) for a, b, n, st in
            zip(p["start_m"], p["end_m"], p["stations_reaching"], p["status"], strict=True)]


def test_two_stations_on_a_straight_street_paper_values(tmp_path):
    # A 2 km street, stations at 600 m and 1000 m, 500 m each way: S1 reaches 100-1100,
    # S2 500-1500. Two stations reach 500-1100 (600 m); the nearest station changes at
    # 800 m, and pieces are cut at each station.
    net = _line_net([0, 2000])
    st = sp.snap_stations(net, sp.read_stations(_stations(tmp_path, [600, 1000])))
    cov = sp.compute_coverage(net, st, rule=sp.CoverageRule(**RULE, cover=2))
    assert _table(cov) == [
        (0, 100, 0, "gap"), (100, 500, 1, "gap"), (500, 600, 2, "covered"),
        (600, 800, 2, "covered"), (800, 1000, 2, "covered"), (1000, 1100, 2, "covered"),
        (1100, 1500, 1, "gap"), (1500, 2000, 0, "gap"),
    ]
    assert cov.covered_m == pytest.approx(600, abs=1e-3)
    assert cov.gap_m == pytest.approx(1400, abs=1e-3)
    name = dict(zip(cov.stations["station_id"], cov.stations["name"], strict=True))
    assert [name[s] for s in cov.pieces["station_id"][2:6]] == ["S1", "S1", "S2", "S2"]
    # the same stations at cover=1 give the nearest-station coverage, 100-1500
    one = sp.compute_coverage(net, st, rule=sp.CoverageRule(**RULE))
    assert one.covered_m == pytest.approx(1400, abs=1e-3)
    assert "stations_reaching" not in one.pieces  # cover=1: today's columns only


def test_count_crosses_nodes_and_counts_a_station_once(tmp_path):
    # Street 0-400-1200 (two edges), stations at 100 and 1000, 500 m: S1 reaches 0-600,
    # S2 500-1200 (the node at 400 is 600 m from S2). Both: 500-600, cut at 550 where
    # the nearest station changes.
    net = _line_net([0, 400, 1200])
    st = sp.snap_stations(net, sp.read_stations(_stations(tmp_path, [100, 1000])))
    cov = sp.compute_coverage(net, st, rule=sp.CoverageRule(**RULE, cover=2))
    p = cov.pieces
    two = p[p["stations_reaching"] == 2]
    assert two["edge_id"].tolist() == [1, 1]
    assert two["start_m"].tolist() == pytest.approx([100, 150], abs=1e-3)
    assert two["end_m"].tolist() == pytest.approx([150, 200], abs=1e-3)
    assert cov.covered_m == pytest.approx(100, abs=1e-3)
    assert p.loc[p["stations_reaching"] == 1, "length_m"].sum() == pytest.approx(1100, abs=1e-3)


def test_loop_reaches_count_a_station_once(tmp_path):
    # A ring of 4 x 100 m around one station: every point is reached both ways round,
    # but by one station: the count is 1 everywhere, so cover=2 finds nothing covered.
    g = nx.MultiDiGraph(crs=HAND_CRS)
    corners = [(0, 0), (100, 0), (100, 100), (0, 100)]
    for i, (x, y) in enumerate(corners):
        g.add_node(i, x=X0 + x, y=Y0 + y)
    for i in range(4):
        j = (i + 1) % 4
        for s, t in ((i, j), (j, i)):
            g.add_edge(s, t, osmid=200 + i, highway="residential", length=100.0, name="环")
    net = sp.network_from_graph(g)
    lon, lat = hand_lonlat(50, 0)
    path = tmp_path / "s.csv"
    path.write_text(f"name,lng,lat\nS1,{lon},{lat}\n", encoding="utf-8")
    st = sp.snap_stations(net, sp.read_stations(path))
    cov = sp.compute_coverage(net, st, rule=sp.CoverageRule(**RULE, cover=2))
    assert set(cov.pieces["stations_reaching"]) == {1}
    assert cov.covered_m == 0


def test_per_station_reach_paper_values(tmp_path):
    # S1 at 600 m reaches 800 m (its own 服务半径): 0-1400; S2 at 1000 m has no valid value
    # ("x") and takes the rule's 500 m: 500-1500. S3 at 1900 m reaches 5 minutes' walk at
    # 6 km/h = 500 m: 1400-2000 (the street ends). S2 and S3 are equally near at 1450.
    net = _line_net([0, 2000])
    st = sp.snap_stations(net, sp.read_stations(
        _stations(tmp_path, [600, 1000, 1900], ["800米", "x", "5分钟"])))
    rule = sp.CoverageRule(radius_m=500.0, max_minutes=None, speed_kmh=6.0, reach_col="服务半径")
    cov = sp.compute_coverage(net, st, rule=rule)
    assert cov.stations["reach_m"].tolist() == pytest.approx([800, 500, 500])
    assert cov.stations["reach_note"].tolist() == ["own", "invalid: x", "own"]
    assert _table(cov) == [
        (0, 500, 1, "covered"), (500, 600, 2, "covered"), (600, 800, 2, "covered"),
        (800, 1000, 2, "covered"), (1000, 1450, 2, "covered"), (1450, 1500, 2, "covered"),
        (1500, 1900, 1, "covered"), (1900, 2000, 1, "covered"),
    ]  # no cut at 1400: S1's reach ends where S3's begins, the count stays 2
    assert cov.covered_m == pytest.approx(2000, abs=1e-3)
    two = sp.compute_coverage(net, st, rule=sp.CoverageRule(
        radius_m=500.0, max_minutes=None, reach_col="服务半径", cover=2))
    assert two.covered_m == pytest.approx(1000, abs=1e-3)  # 500-1500


def test_reach_beats_the_rule_for_far_points(tmp_path):
    # The nearest station (S1, reach 100 m) does not reach 300 m; S2 farther away does.
    net = _line_net([0, 2000])
    st = sp.snap_stations(net, sp.read_stations(_stations(tmp_path, [400, 1000], [100, 800])))
    rule = sp.CoverageRule(radius_m=500.0, max_minutes=None, reach_col="服务半径")
    cov = sp.compute_coverage(net, st, rule=rule)
    # S1: 300-500; S2: 200-1800; covered 200-1800
    assert cov.covered_m == pytest.approx(1600, abs=1e-3)
    p = cov.pieces
    at = p[(p["start_m"] < 250) & (p["end_m"] > 250)].iloc[0]
    assert at["status"] == "covered" and at["stations_reaching"] == 1
    assert at["dist_m"] <= 150  # the nearest station is S1, which does not reach it


def test_missing_reach_column_is_one_line_error(tmp_path):
    net = _line_net([0, 2000])
    st = sp.snap_stations(net, sp.read_stations(_stations(tmp_path, [600])))
    with pytest.raises(sp.InputError, match="no column '半径'"):
        sp.compute_coverage(net, st, rule=sp.CoverageRule(**RULE, reach_col="半径"))


@pytest.mark.parametrize("cover", [0, 1.5, True])
def test_cover_must_be_a_whole_number(cover):
    with pytest.raises(sp.InputError, match="cover must be a whole number"):
        sp.CoverageRule(cover=cover)


# --- independent check on a real extract ------------------------------------------------

def _random_stations(net, n, seed, tmp_path, reach=None):
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, len(net.edges), n)
    lines = net.edges.geometry.to_numpy()[edges]
    pts = shapely.line_interpolate_point(lines, rng.random(n), normalized=True)
    import geopandas as gpd

    lonlat = gpd.GeoSeries(pts, crs=net.crs).to_crs(4326)
    frame = pd.DataFrame({"name": [f"s{i}" for i in range(n)], "lng": lonlat.x, "lat": lonlat.y})
    if reach is not None:
        frame["reach"] = reach
    path = tmp_path / "stations.csv"
    frame.to_csv(path, index=False, float_format="%.9f")
    return path


def _per_station_counts(net, stations, reach, point_edge, point_m):
    """For each point, the stations whose own reach holds it: one networkx Dijkstra per
    station on the street graph with every station inserted as a node."""
    e = net.edges
    ok = stations[stations["status"] == "ok"]
    by_edge = {}
    names = []
    for sid, edge, off in zip(ok["station_id"], ok["edge_id"], ok["offset_m"], strict=True):
        by_edge.setdefault(int(edge), []).append((float(off), f"st:{sid}"))
        names.append(f"st:{sid}")
    g = nx.DiGraph()
    seg_of = {}  # edge -> [(o1, o2, a, b)]
    for i, row in enumerate(e.itertuples()):
        chain = [(0.0, row.u), *sorted(by_edge.get(i, [])), (row.length_m, row.v)]
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            seg_of.setdefault(i, []).append((o1, o2, a, b))
            for tail, head, allowed in ((b, a, row.fwd), (a, b, row.bwd)):  # reversed arcs
                w = o2 - o1
                if allowed and (not g.has_edge(tail, head) or g[tail][head]["w"] > w):
                    g.add_edge(tail, head, w=w)
    dist = [nx.single_source_dijkstra_path_length(g, s, cutoff=r, weight="w")
            for s, r in zip(names, reach, strict=True)]
    fwd, bwd = e["fwd"].to_numpy(bool), e["bwd"].to_numpy(bool)
    counts = np.zeros(len(point_edge), dtype=int)
    unsure = np.zeros(len(point_edge), dtype=bool)
    for j, (k, x) in enumerate(zip(point_edge.tolist(), point_m.tolist(), strict=True)):
        o1, o2, a, b = next(s for s in seg_of[k] if s[0] <= x <= s[1])
        for d, r in zip(dist, reach, strict=True):
            best = min((x - o1) + d.get(a, np.inf) if bwd[k] else np.inf,
                       (o2 - x) + d.get(b, np.inf) if fwd[k] else np.inf)
            counts[j] += best <= r
            unsure[j] |= abs(best - r) < 0.01
    return counts, unsure


def _engine_count(cov, point_edge, point_m):
    p = cov.pieces
    e, a, b = p["edge_id"].to_numpy(), p["start_m"].to_numpy(), p["end_m"].to_numpy()
    n = p["stations_reaching"].to_numpy()
    out = np.empty(len(point_edge), dtype=int)
    for j, (k, x) in enumerate(zip(point_edge.tolist(), point_m.tolist(), strict=True)):
        hit = np.flatnonzero((e == k) & (a <= x) & (x <= b))
        out[j] = n[hit[0]]
    return out


@pytest.mark.parametrize("own_reach", [False, True], ids=["rule-reach", "own-reach"])
def test_guixi_counts_match_networkx_per_station(own_reach, tmp_path):
    net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"), mode="walk",
                          roads=sp.RoadClasses(), pair_carriageways_m=0)
    n = 40
    rng = np.random.default_rng(3)
    reach_m = rng.choice([300.0, 500.0, 800.0], n) if own_reach else None
    st = sp.snap_stations(net, sp.read_stations(
        _random_stations(net, n, 11, tmp_path, None if reach_m is None else reach_m)))
    assert (st["status"] == "ok").all()
    rule = sp.CoverageRule(radius_m=500.0, max_minutes=None, cover=2,
                           reach_col="reach" if own_reach else None)
    cov = sp.compute_coverage(net, st, rule=rule)
    reach = reach_m if own_reach else np.full(n, 500.0)
    # sample points: 7 per edge at fixed fractions, and every piece's midpoint
    length = net.edges["length_m"].to_numpy()
    frac = np.array([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    pe = np.concatenate([np.repeat(np.arange(len(length)), len(frac)),
                         cov.pieces["edge_id"].to_numpy()])
    pm = np.concatenate([np.tile(frac, len(length)) * np.repeat(length, len(frac)),
                         ((cov.pieces["start_m"] + cov.pieces["end_m"]) / 2).to_numpy()])
    ref, unsure = _per_station_counts(net, st, reach, pe, pm)
    mine = _engine_count(cov, pe, pm)
    sure = ~unsure
    assert sure.mean() > 0.95
    assert np.array_equal(mine[sure], ref[sure])
    assert (ref >= 2).sum() > 50 and (ref == 1).sum() > 50  # the check has something to check
    # covered means reached by at least two stations
    assert np.array_equal((cov.pieces["status"] == "covered").to_numpy(),
                          cov.pieces["stations_reaching"].to_numpy() >= 2)


# --- per-station reaches in check and siting ---------------------------------------------

def test_check_counts_an_existing_station_with_its_own_reach(tmp_path):
    # S1 at 600 m reaches 800 m: 0-1400. A proposal at 1300 m (500 m: 800-1800) adds
    # 1400-1800 = 400 m; with the rule's 500 m for S1 (100-1100) it would add 700 m.
    net = _line_net([0, 2000])
    st = sp.snap_stations(net, sp.read_stations(_stations(tmp_path, [600], ["800"])))
    (tmp_path / "p").mkdir()
    props = sp.read_stations(_stations(tmp_path / "p", [1300]))
    own = sp.CoverageRule(radius_m=500.0, max_minutes=None, reach_col="服务半径")
    checked = sp.check_sites(net, st, props, rule=own, min_spacing_m=0)
    assert checked["gain_m"].tolist() == pytest.approx([400.0], abs=1e-3)
    plain = sp.check_sites(net, st, props, rule=sp.CoverageRule(**RULE), min_spacing_m=0)
    assert plain["gain_m"].tolist() == pytest.approx([700.0], abs=1e-3)


def test_plan_uses_the_existing_stations_own_reach(tmp_path):
    # Candidates at 100 m and 1500 m. S1 (at 600 m) reaching 800 m leaves 1400-2000, which
    # the candidate at 1500 m covers alone: one site for 100 %. At the rule's 500 m S1
    # leaves 0-100 and 1100-2000: both candidates are needed.
    from stationplan.candidates import snap_candidates
    from stationplan.siting import plan_sites

    net = _line_net([0, 2000])
    st = sp.snap_stations(net, sp.read_stations(_stations(tmp_path, [600], ["800"])))
    (tmp_path / "c").mkdir()
    pts = sp.read_stations(_stations(tmp_path / "c", [100, 1500])).to_crs(net.crs)
    cands = snap_candidates(net, pts[["name", "geometry"]], kind="file")
    own = sp.CoverageRule(radius_m=500.0, max_minutes=None, reach_col="服务半径")
    res = plan_sites(net, st, cands, rule=own, target_share=1.0, min_spacing_m=0, min_gain_m=0)
    assert res.summary["new_sites"] == 1
    assert res.summary["coverage_after"] == 1.0 and res.summary["certified"] == "optimal"
    assert res.proposals["name"].tolist() == ["S2"]
    plain = plan_sites(net, st, cands, rule=sp.CoverageRule(**RULE), target_share=1.0,
                       min_spacing_m=0, min_gain_m=0)
    assert plain.summary["new_sites"] == 2


def test_dual_carriageway_counts_each_station_once_over_both_sides(tmp_path):
    # tests/test_carriageways.py's dual road (north y=+10 counted, south y=-10 paired onto
    # it, 20 m cross streets at x = 0, 500, 1000), 300 m on foot. A on the south at x=200:
    # south x in [0, 500] (its twins on the north), north own [0, 80]. B on the north at
    # x=300: north [0, 600], and via Mid St the south [420, 580] (twins inside [0, 600]).
    # Distinct stations per north position: [0, 500] two, [500, 600] one. West St: A only
    # (B reaches its north end only); Mid St: B only. Two stations: 500 m; via twin (own
    # count 1, twins' stations make 2): north (80, 500].
    from tests.test_carriageways import _dual
    from tests.test_carriageways import _stations as dual_stations

    net = _dual(tmp_path)
    st = dual_stations(net, [(200, -14), (300, 14)], tmp_path)
    cov = sp.compute_coverage(net, st, rule=sp.CoverageRule(radius_m=300, max_minutes=None,
                                                            cover=2))
    p = cov.pieces
    north = p[(net.edges["osmid"].to_numpy()[p["edge_id"]] == 100) & (p["status"] != "paired")]
    assert cov.covered_m == pytest.approx(500, abs=0.01)
    assert north.loc[north["stations_reaching"] == 2, "length_m"].sum() == pytest.approx(
        500, abs=0.01)
    assert north.loc[north["stations_reaching"] == 1, "length_m"].sum() == pytest.approx(
        100, abs=0.01)
    assert p.loc[p["via_twin"], "length_m"].sum() == pytest.approx(420, abs=0.01)
    demand = p[p["demand"]]
    assert demand.loc[demand["stations_reaching"] == 1, "length_m"].sum() == pytest.approx(
        100 + 20 + 20, abs=0.01)


def test_cli_cover_two_reports_the_double_covered_share(tmp_path, capsys):
    import json

    import osmnx as ox

    from stationplan.cli import main

    net = tmp_path / "line.graphml"
    ox.save_graphml(_line_graph([0, 2000]), net)
    stations = _stations(tmp_path, [600, 1000], ["", "2 km"])
    out = tmp_path / "out"
    args = ["coverage", str(net), str(stations), "--out", str(out), "--quiet",
            "--no-time-limit", "--area", "none"]
    assert main([*args, "--cover", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["total_m"] == pytest.approx(2000, abs=0.01)
    assert summary["rule"]["cover"] == 2
    assert summary["covered_share"] == pytest.approx(0.3, abs=1e-5)  # 500-1100 (paper)
    assert summary["station_count"]["share_at_least"] == pytest.approx({"1": 0.7, "2": 0.3},
                                                                       abs=1e-5)
    assert summary["station_count"]["by_count_m"] == pytest.approx(
        {"0": 600, "1": 800, "2": 600}, abs=0.01)
    pieces = json.loads((out / "coverage.geojson").read_text(encoding="utf-8"))["features"]
    assert sorted({f["properties"]["stations_reaching"] for f in pieces}) == [0, 1, 2]
    # the map's panel says what "covered" means here, beside the 30 %
    page = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert "by at least 2 stations" in page or "须至少 2 个站点可达" in page
    # S2 reaches 2 km (the whole street): two stations on 100-1100
    assert main([*args, "--cover", "2", "--station-radius-col", "服务半径", "--overwrite"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["covered_m"] == pytest.approx(1000, abs=0.01)
    assert summary["rule"]["reach_col"] == "服务半径"
    capsys.readouterr()
    assert main([*args, "--station-radius-col", "半径", "--overwrite"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no column '半径'" in err and len(err.splitlines()) == 1
