"""Dual carriageways count once: pairs found on hand-made OSM files (answers on paper),
coverage and plans that count each road once, and the real extracts checked against
networkx."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

import stationplan as sp
from stationplan.candidates import street_candidates
from stationplan.carriageways import find_carriageway_pairs, road_positions
from stationplan.siting import plan_sites, stations_with_proposals
from tests.handnet import hand_lonlat, shared_osm

RULE = sp.CoverageRule(radius_m=300, max_minutes=None)


def _osm(path, nodes, ways):
    """Write an OSM XML file: nodes {id: (x, y) hand metres}, ways [(id, refs, tags)]."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for n, (x, y) in nodes.items():
        lon, lat = hand_lonlat(x, y)
        lines.append(f'<node id="{n}" lat="{lat:.9f}" lon="{lon:.9f}"/>')
    for w, refs, tags in ways:
        lines.append(f'<way id="{w}">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _road(name=None, **more):
    tags = {"highway": "secondary", "oneway": "yes", **more}
    if name:
        tags["name"] = name
    return tags


# A dual carriageway 1000 m long: north y=+10 runs west->east, south y=-10 east->west
# (20 m apart), joined by two-way cross streets at x=0, 500, 1000 (20 m each).
DUAL_NODES = {1: (0, 10), 2: (500, 10), 3: (1000, 10), 4: (1000, -10), 5: (500, -10),
              6: (0, -10)}


def _dual(tmp_path, north=None, south=None, name="Dual Road"):
    north = north or _road(name)
    south = south or _road(name)
    cross = {"highway": "residential"}
    ways = [(100, [1, 2, 3], north), (200, [4, 5, 6], south),
            (301, [1, 6], {**cross, "name": "West St"}), (302, [2, 5], {**cross, "name": "Mid St"}),
            (303, [3, 4], {**cross, "name": "East St"})]
    return sp.load_network(_osm(tmp_path / "dual.osm", DUAL_NODES, ways),
                           roads=sp.RoadClasses())


def _stations(net, points, tmp_path):
    rows = [f"S{i},{lon:.9f},{lat:.9f}" for i, (lon, lat) in
            enumerate(hand_lonlat(x, y) for x, y in points)]
    path = tmp_path / f"stations{len(points)}.csv"
    path.write_text("name,lng,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return sp.snap_stations(net, sp.read_stations(path))


def test_a_dual_carriageway_counts_once_and_is_covered_from_either_side(tmp_path):
    net = _dual(tmp_path)
    pairs = net.carriageways
    e = net.edges
    # the south carriageway (way 200, the larger id) is paired onto the north (way 100)
    assert set(e["osmid"].to_numpy()[pairs["edge_id"]]) == {200}
    assert set(e["osmid"].to_numpy()[pairs["twin_edge_id"]]) == {100}
    assert (pairs["end_m"] - pairs["start_m"]).sum() == pytest.approx(1000, abs=0.01)
    assert pairs["separation_m"].max() == pytest.approx(20, abs=0.01)
    # demand by hand: north 1000 m + three 20 m cross streets; the south counts on the north
    assert net.stats["demand_m"] == pytest.approx(1060, abs=0.01)
    assert net.demand_length_m == pytest.approx(1060, abs=0.01)
    assert net.stats["carriageway_pairs"] == 2  # one stretch per north edge (split at Mid St)

    # a station on the south carriageway at x=200; limit 300 m, on foot (both ways).
    # South (by hand): covered x in [0, 500]. North own: via West St, x=0 is 200+20 = 220
    # away, so [0, 80]; via Mid St, (500, 10) is 300+20 away: nothing. North via twin:
    # (80, 500]. West St: 200..220 away, all 20 m; Mid St: 300 at its south end: 0 m.
    stations = _stations(net, [(200, -14)], tmp_path)
    cov = sp.compute_coverage(net, stations, rule=RULE)
    assert cov.demand_m == pytest.approx(1060, abs=0.01)
    assert cov.covered_m == pytest.approx(500 + 20, abs=0.01)
    p = cov.pieces
    via = p[p["via_twin"]]
    assert set(e["osmid"].to_numpy()[via["edge_id"]]) == {100}
    assert via["length_m"].sum() == pytest.approx(420, abs=0.01)
    assert set(via["status"]) == {"covered"}
    assert set(via["station_id"]) == {stations["station_id"].iat[0]}
    assert p.loc[p["status"] == "paired", "length_m"].sum() == pytest.approx(1000, abs=0.01)
    assert not p.loc[p["status"] == "paired", "demand"].any()
    # summary.json counts once too
    from stationplan.summary import summarize

    summary = summarize(cov, sp.find_gaps(cov))
    assert summary["total_m"] == pytest.approx(1060, abs=0.01)
    assert summary["covered_m"] == pytest.approx(520, abs=0.01)
    assert summary["demand"]["paired_m"] == pytest.approx(1000, abs=0.01)
    assert summary["demand"]["covered_via_twin_m"] == pytest.approx(420, abs=0.01)
    assert sum(c["total_m"] for c in summary["by_road_class"].values()) == pytest.approx(
        1060, abs=0.01)

    # with pairing off, both carriageways count (hand: 600 of 2060 m)
    off = sp.load_network(tmp_path / "dual.osm", roads=sp.RoadClasses(), pair_carriageways_m=0)
    assert off.carriageways is None or len(off.carriageways) == 0
    cov0 = sp.compute_coverage(off, _stations(off, [(200, -14)], tmp_path), rule=RULE)
    assert cov0.demand_m == pytest.approx(2060, abs=0.01)
    assert cov0.covered_m == pytest.approx(500 + 80 + 20, abs=0.01)


def test_gaps_never_list_a_paired_side(tmp_path):
    net = _dual(tmp_path)
    cov = sp.compute_coverage(net, _stations(net, [(200, -14)], tmp_path), rule=RULE)
    gaps = sp.find_gaps(cov)
    # by hand: the north carriageway beyond x=500 (500 m), Mid St (20 m), East St (20 m)
    assert gaps["length_m"].sum() == pytest.approx(540, abs=0.01)
    # and none of it on the south carriageway (way 200), which counts on the north
    p = cov.pieces
    assert not (p.loc[p["status"] == "gap", "osmid"] == 200).any()


def test_the_separation_limit_decides(tmp_path):
    net = _dual(tmp_path)  # carriageways 20 m apart
    assert len(find_carriageway_pairs(net, max_separation_m=19.9)) == 0
    assert len(find_carriageway_pairs(net, max_separation_m=20.1)) > 0
    assert len(find_carriageway_pairs(net, max_separation_m=0)) == 0


def test_carriageways_with_different_names_stay_two_roads(tmp_path):
    nodes = {1: (0, 12.5), 2: (800, 12.5), 3: (800, -12.5), 4: (0, -12.5)}
    ways = [(1, [1, 2], _road("North Road")), (2, [3, 4], _road("South Road"))]
    net = sp.load_network(_osm(tmp_path / "two.osm", nodes, ways), roads=sp.RoadClasses())
    assert len(net.carriageways) == 0
    assert net.stats["demand_m"] == pytest.approx(1600, abs=0.01)


def test_dual_carriageway_tags_pair_ways_without_names(tmp_path):
    net = _dual(tmp_path, north=_road(dual_carriageway="yes"),
                south=_road(dual_carriageway="yes"))
    assert (net.carriageways["end_m"] - net.carriageways["start_m"]).sum() == pytest.approx(
        1000, abs=0.01)
    # unnamed main roads without a ref pair by their class (secondary here) ...
    plain = _dual(tmp_path, north=_road(), south=_road())
    assert (plain.carriageways["end_m"] - plain.carriageways["start_m"]).sum() == (
        pytest.approx(1000, abs=0.01))
    # ... but not across classes, nor minor roads (two unnamed one-way alleys)
    mixed = _dual(tmp_path, north=_road(), south=_road(highway="tertiary"))
    assert len(mixed.carriageways) == 0
    minor = _dual(tmp_path, north=_road(highway="residential"),
                  south=_road(highway="residential"))
    assert len(minor.carriageways) == 0


def test_same_ref_pairs_and_two_way_streets_do_not(tmp_path):
    net = _dual(tmp_path, north=_road("A", ref="G320"), south=_road("B", ref="G320"))
    assert len(net.carriageways) > 0
    two_way = _dual(tmp_path, north={"highway": "secondary", "name": "Dual Road"},
                    south={"highway": "secondary", "name": "Dual Road"})
    assert len(two_way.carriageways) == 0


def test_a_one_way_loop_is_not_a_pair(tmp_path):
    # one closed way: a narrow loop 600 x 20 m
    nodes = {1: (0, 0), 2: (600, 0), 3: (600, 20), 4: (0, 20)}
    closed = sp.load_network(_osm(tmp_path / "loop.osm", nodes,
                                  [(1, [1, 2, 3, 4, 1], _road("Loop Road"))]),
                             roads=sp.RoadClasses())
    assert len(closed.carriageways) == 0
    # a ring of three one-way ways of one name, joined end to start
    ring = sp.load_network(_osm(tmp_path / "ring.osm", nodes,
                                [(1, [1, 2], _road("Ring Road")),
                                 (2, [2, 3, 4], _road("Ring Road")),
                                 (3, [4, 1], _road("Ring Road"))]),
                           roads=sp.RoadClasses())
    assert len(ring.carriageways) == 0
    assert ring.stats["demand_m"] == pytest.approx(1240, abs=0.01)


def test_a_roundabout_is_not_a_pair(tmp_path):
    nodes = {1: (0, 0), 2: (30, 0), 3: (30, 20), 4: (0, 20)}
    tags = {"highway": "secondary", "junction": "roundabout", "name": "Circle"}
    net = sp.load_network(_osm(tmp_path / "rb.osm", nodes,
                               [(1, [1, 2, 3], tags), (2, [3, 4, 1], tags)]),
                          roads=sp.RoadClasses())
    assert len(net.carriageways) == 0


def test_bike_mode_finds_the_same_pairs(tmp_path):
    walk = _dual(tmp_path)
    bike = sp.load_network(tmp_path / "dual.osm", mode="bike", roads=sp.RoadClasses())
    assert (bike.carriageways["end_m"] - bike.carriageways["start_m"]).sum() == pytest.approx(
        (walk.carriageways["end_m"] - walk.carriageways["start_m"]).sum(), abs=0.01)


def test_the_option_is_checked():
    with pytest.raises(sp.InputError, match="pair_carriageways_m"):
        sp.NetworkOptions(pair_carriageways_m=-1)


@pytest.mark.parametrize("spacing", [0.0, 300.0])
def test_a_plan_never_puts_sites_on_both_carriageways_within_the_spacing(tmp_path, spacing):
    net = _dual(tmp_path)
    cands = street_candidates(net, spacing_m=25)
    none = _stations(net, [(5000, 5000)], tmp_path)  # one far away: not used
    res = plan_sites(net, none, cands, rule=RULE, new_sites=3, time_limit_s=5,
                     min_spacing_m=spacing, min_gain_m=0)
    props = res.proposals
    # the plan's figures are the engine's
    after = sp.compute_coverage(net, stations_with_proposals(none, props), rule=RULE)
    assert res.summary["covered_m_after"] == pytest.approx(after.covered_m, abs=1e-3)
    assert res.summary["demand_m"] == pytest.approx(1060, abs=0.01)
    # positions along the road (hand geometry: x of each site, both sides on one axis)
    xy = shapely.get_coordinates(props.to_crs(net.crs).geometry.to_numpy())
    from tests.handnet import X0, Y0
    x, y = xy[:, 0] - X0, xy[:, 1] - Y0
    north, south = np.abs(y - 10) < 1, np.abs(y + 10) < 1
    gaps = [abs(a - b) for a, sa in zip(x, south, strict=True) for b, nb in
            zip(x, north, strict=True) if sa and nb]
    if spacing > 0:
        assert all(g >= spacing - 1e-6 for g in gaps)
    else:
        # no spacing: a second site at the twin position of the first would add nothing,
        # so the solver never takes both
        assert all(g > 1 for g in gaps)


def test_road_positions_put_a_paired_site_on_its_twin(tmp_path):
    net = _dual(tmp_path)
    e = net.edges
    south = np.flatnonzero(e["osmid"].to_numpy() == 200)
    # a point 100 m from the south edge's u end (x = 1000 - 100 on the east half)
    k = south[np.argmax(shapely.get_coordinates(
        shapely.get_point(e.geometry.to_numpy()[south], 0))[:, 0])]
    edge, pos = road_positions(net, np.array([k]), np.array([100.0]))
    assert e["osmid"].iat[int(edge[0])] == 100
    at = shapely.line_interpolate_point(e.geometry.iat[int(edge[0])], pos[0])
    was = shapely.line_interpolate_point(e.geometry.iat[k], 100.0)
    assert shapely.distance(at, was) == pytest.approx(20, abs=0.01)


# --- real extracts ------------------------------------------------------------------------

def _nx_point_distance(net, stations, edge, pos):
    """Network distance (networkx, on foot) from the nearest station to a point."""
    g = nx.Graph()
    e = net.edges
    for k, (u, v, ln) in enumerate(zip(e["u"], e["v"], e["length_m"], strict=True)):
        g.add_edge(("n", u), ("e", k, 0.0), weight=0.0)
        g.add_edge(("n", v), ("e", k, float(ln)), weight=0.0)
    # split edges at the stations and the point
    marks: dict[int, list[float]] = {}
    ok = stations[stations["status"] == "ok"]
    for k, off in zip(ok["edge_id"], ok["offset_m"], strict=True):
        marks.setdefault(int(k), []).append(float(off))
    marks.setdefault(int(edge), []).append(float(pos))
    for k in range(len(e)):
        cuts = sorted({0.0, float(e["length_m"].iat[k]), *marks.get(k, [])})
        for a, b in itertools.pairwise(cuts):
            g.add_edge(("e", k, a), ("e", k, b), weight=b - a)
    sources = [("e", int(k), float(o)) for k, o in zip(ok["edge_id"], ok["offset_m"],
                                                         strict=True)]
    dist = nx.multi_source_dijkstra_path_length(g, sources, weight="weight")
    return dist.get(("e", int(edge), float(pos)), math.inf)


def test_guixi_counts_each_road_once_and_twins_cover_by_networkx():
    net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"))
    both = sp.load_network(shared_osm("guixi_county_city.osm.bz2"), pair_carriageways_m=0)
    pairs = net.carriageways
    e = net.edges
    assert len(pairs) > 0
    # 冶金大道: demand drops to about the road's length (one carriageway, about 6 km)
    name = e["name"].to_numpy()
    yj = e["demand"].to_numpy() & (name == "冶金大道")
    paired_yj = float((pairs["end_m"] - pairs["start_m"])[pairs["name"] == "冶金大道"].sum())
    total_yj = float(e.loc[yj, "length_m"].sum())
    assert 5500 < total_yj - paired_yj < 6700
    assert net.stats["demand_m"] == pytest.approx(
        both.stats["demand_m"] - float((pairs["end_m"] - pairs["start_m"]).sum()), abs=1e-6)
    # every pair is of one road: the same name (or ref), or both unnamed of one main class
    name = e["name"].to_numpy(object)
    same = [(name[a] == name[b]) if isinstance(name[a], str) else
            (not isinstance(name[b], str) and e["highway"].iat[a] == e["highway"].iat[b])
            for a, b in zip(pairs["edge_id"], pairs["twin_edge_id"], strict=True)]
    assert all(same)
    # and both sides are one-way ways
    assert (e["oneway"].to_numpy()[pairs["edge_id"]] != 0).all()
    assert (e["oneway"].to_numpy()[pairs["twin_edge_id"]] != 0).all()

    stations = sp.snap_stations(net, sp.read_stations(
        shared_osm("guixi_county_city.osm.bz2").parent.parent / "sheets" /
        "guixi_stations.xlsx", crs="gcj02"))
    rule = sp.CoverageRule(radius_m=500, max_minutes=None)
    cov = sp.compute_coverage(net, stations, rule=rule)
    p = cov.pieces
    via = p[p["via_twin"]].sort_values("length_m", ascending=False).head(4)
    assert len(via) >= 3
    for row in via.itertuples():
        mid = (row.start_m + row.end_m) / 2
        # independent: the point itself is out of reach, its twin point is within it
        own = _nx_point_distance(net, stations, row.edge_id, mid)
        assert own > rule.limit_m - 1e-6
        twin_line = pairs[pairs["twin_edge_id"] == row.edge_id]
        pt = shapely.line_interpolate_point(e.geometry.iat[row.edge_id], mid)
        best = math.inf
        for k in twin_line["edge_id"].unique():
            line = e.geometry.iat[int(k)]
            s = float(shapely.line_locate_point(line, pt))
            if shapely.distance(shapely.line_interpolate_point(line, s), pt) < 40.5:
                best = min(best, _nx_point_distance(net, stations, int(k), s))
        assert best <= rule.limit_m + 0.5  # linear map vs projection: within centimetres
    # gaps: no two gap pieces of one name side by side within 40 m along the road
    gaps = p[p["status"] == "gap"]
    for nm, grp in gaps.groupby("name"):
        if len(grp) < 2:
            continue
        geoms = grp.geometry.to_numpy()
        ed = grp["edge_id"].to_numpy()
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="dwithin", distance=40)
        for i, j in zip(a, b, strict=True):
            if i >= j or ed[i] == ed[j]:
                continue
            # side by side: a stretch of 50 m of one within 40 m of the other
            inter = shapely.intersection(geoms[i], shapely.buffer(geoms[j], 40))
            para = shapely.intersection(geoms[j], shapely.buffer(geoms[i], 40))
            assert min(inter.length, para.length) < 50, (nm, ed[i], ed[j])


def test_check_uses_the_plans_spacing_rule_on_both_carriageways(tmp_path):
    """Two proposals facing each other across the median (x = 300 north, x = 310 south):
    410 m apart along the streets (by hand: 200 to Mid St, 20 across, 190 back), 10 m
    apart along the road. With a 300 m spacing the second is too close."""
    from stationplan.check import check_sites
    from tests.handnet import HAND_CRS, X0, Y0

    net = _dual(tmp_path)
    far = _stations(net, [(5000, 5000)], tmp_path)  # no usable existing station
    props = gpd.GeoDataFrame(
        {"station_id": ["N", "S"], "name": ["north", "south"], "status": ["ok", "ok"],
         "reason": ["", ""]},
        geometry=[shapely.Point(X0 + 300, Y0 + 12), shapely.Point(X0 + 310, Y0 - 12)],
        crs=HAND_CRS)
    res = check_sites(net, far, props, rule=RULE, min_spacing_m=300, min_gain_m=0)
    assert res["dist_proposal_m"].min() == pytest.approx(10, abs=0.01)
    assert res["spacing_conflict"].all()
    assert (res["verdict"] == "accept").sum() == 1  # one of the two is refused
    # the plain network distance alone would allow both
    off = sp.load_network(tmp_path / "dual.osm", roads=sp.RoadClasses(), pair_carriageways_m=0)
    res0 = check_sites(off, _stations(off, [(5000, 5000)], tmp_path), props, rule=RULE,
                       min_spacing_m=300, min_gain_m=0)
    assert res0["dist_proposal_m"].min() == pytest.approx(410, abs=0.01)
    assert not res0["spacing_conflict"].any()


def test_both_siting_models_count_the_road_once(tmp_path):
    """The exact and the coarse siting models on the hand dual carriageway: demand 1060 m,
    the station on the south side covers 520 m (by hand, as in the first test); the
    coarse model to within a unit at each of its few coverage boundaries."""
    from stationplan.demand import exact_model, units_model

    net = _dual(tmp_path)
    st = _stations(net, [(200, -14)], tmp_path)
    se, so = st["edge_id"].to_numpy(np.int64), st["offset_m"].to_numpy(float)
    none_e, none_o = np.zeros(0, dtype=np.int64), np.zeros(0)
    exact = exact_model(net, se, so, none_e, none_o, limit_m=300)
    assert exact.units.length_m.sum() == pytest.approx(1060, abs=0.01)
    assert exact.units.length_m[exact.existing].sum() == pytest.approx(520, abs=0.01)
    coarse = units_model(net, se, so, none_e, none_o, limit_m=300, resolution_m=10)
    assert coarse.units.length_m.sum() == pytest.approx(1060, abs=0.01)
    assert coarse.units.length_m[coarse.existing].sum() == pytest.approx(520, abs=15)
