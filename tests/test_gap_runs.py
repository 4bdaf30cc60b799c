"""Gap runs: uncovered stretches of one street between cross streets, on a hand network.

The hand network (metres east and north of (X0, Y0)), walked both ways:

    解放路 (secondary)   alley (unnamed)    人民路 (secondary)   红旗路 (tertiary)
    JN (0, 300)          A2 (300, 200)      RN (800, 300)       HN (1200, 300)
        |                    |                  |                   |
    W (0, 0) ---建设路--- J1 (300, 0) --- J2 (800, 0) --- E (1200, 0) --- S --- E2 (1600, 0)
        |                    |                  |                   |
    JS (0, -300)         A1 (300, -200)     RS (800, -300)      HS (1200, -300)

and apart from it, unnamed streets with no station: K0 (3000, 0) — K1 (3200, 0) — K2
(3400, 0) residential, K1 — K3 (3200, 200) service, K2 — K4 (3600, 0) unclassified.
One station S at (1550, 0) on 建设路; the rule: 500 m along the streets.

So 建设路 is uncovered from W to x = 1050 (1550 − 500), 红旗路 from 150 m to 300 m either
side of E (350 m from S), every other street of the main part all along, the K streets
all along (no station in their part).
"""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, hand_lonlat

import stationplan as sp
from stationplan import gaps as gaps_mod
from stationplan._i18n import gap_text
from stationplan.outputs import gap_table

NODES = {"W": (0, 0), "J1": (300, 0), "J2": (800, 0), "E": (1200, 0), "E2": (1600, 0),
         "JS": (0, -300), "JN": (0, 300), "A1": (300, -200), "A2": (300, 200),
         "RS": (800, -300), "RN": (800, 300), "HS": (1200, -300), "HN": (1200, 300),
         "K0": (3000, 0), "K1": (3200, 0), "K2": (3400, 0), "K3": (3200, 200),
         "K4": (3600, 0)}
STATION_X = 1550.0
RULE = sp.CoverageRule(radius_m=500, max_minutes=None)


def _edges(alley_class: str) -> list[tuple[str, str, str, str | None]]:
    return [
        ("W", "J1", "residential", "建设路"), ("J1", "J2", "residential", "建设路"),
        ("J2", "E", "residential", "建设路"), ("E", "E2", "residential", "建设路"),
        ("JS", "W", "secondary", "解放路"), ("W", "JN", "secondary", "解放路"),
        ("A1", "J1", alley_class, None), ("J1", "A2", alley_class, None),
        ("RS", "J2", "secondary", "人民路"), ("J2", "RN", "secondary", "人民路"),
        ("HS", "E", "tertiary", "红旗路"), ("E", "HN", "tertiary", "红旗路"),
        ("K0", "K1", "residential", None), ("K1", "K2", "residential", None),
        ("K1", "K3", "service", None), ("K2", "K4", "unclassified", None),
    ]


def _graph(alley_class: str) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs=HAND_CRS)
    ids = {k: i + 1 for i, k in enumerate(NODES)}
    for k, (x, y) in NODES.items():
        g.add_node(ids[k], x=X0 + x, y=Y0 + y)
    for i, (u, v, hw, name) in enumerate(_edges(alley_class)):
        (x1, y1), (x2, y2) = NODES[u], NODES[v]
        attrs = {"osmid": 300 + i, "highway": hw, "length": math.hypot(x2 - x1, y2 - y1)}
        if name:
            attrs["name"] = name
        for a, b in ((u, v), (v, u)):
            g.add_edge(ids[a], ids[b], **attrs)
    return g


def _coverage(alley_class: str = "residential") -> sp.Coverage:
    net = sp.network_from_graph(_graph(alley_class))
    lon, lat = hand_lonlat(STATION_X, 0)
    frame = gpd.GeoDataFrame({"station_id": ["S"], "name": ["S"], "status": ["ok"],
                              "reason": [""]}, geometry=gpd.points_from_xy([lon], [lat]),
                             crs=4326)
    return sp.compute_coverage(net, sp.snap_stations(net, frame), rule=RULE)


@pytest.fixture(scope="module")
def cov() -> sp.Coverage:
    return _coverage()


@pytest.fixture(scope="module")
def runs(cov) -> gpd.GeoDataFrame:
    return sp.find_gaps(cov, search_limit_m=3000, lang="en")


def _row(runs, street, **where):
    sel = runs[runs["street"] == street]
    for key, value in where.items():
        sel = sel[np.isclose(sel[key].astype(float), value)]
    assert len(sel) == 1, (street, where, runs[["street", "length_m"]])
    return sel.iloc[0]


def test_runs_split_at_named_cross_streets_not_at_an_alley(runs):
    # 建设路 runs on through J1, where only an unnamed residential alley meets it, and
    # splits at J2, where 人民路 crosses; 解放路, 人民路, 红旗路 and the alley split where
    # 建设路 crosses them; the unnamed K streets chain by class (K0–K1–K2 residential)
    expect = sorted([800, 250, 300, 300, 300, 300, 200, 200, 150, 150, 400, 200, 200])
    assert sorted(runs["length_m"].round(6).tolist()) == pytest.approx(expect, abs=1e-6)
    first = runs.iloc[0]
    assert (first["gap_id"], first["street"], first["from_street"], first["to_street"]) == (
        1, "建设路", "解放路", "人民路")
    assert first["length_m"] == pytest.approx(800, abs=1e-6)
    assert (first["from_m"], first["to_m"]) == (pytest.approx(0, abs=1e-6),
                                                pytest.approx(0, abs=1e-6))
    # the run's line goes from W (its from end, the western one) to J2
    xy = shapely.get_coordinates(first.geometry)
    assert first.geometry.geom_type == "LineString"
    assert xy[0] == pytest.approx([X0, Y0], abs=1e-6)
    assert xy[-1] == pytest.approx([X0 + 800, Y0], abs=1e-6)
    # 建设路 from J2 to where the coverage starts (x = 1050): its end is 150 m short of
    # 红旗路 (at E), nearer than 人民路 behind it (250 m)
    rest = _row(runs, "建设路", length_m=250)
    assert (rest["from_street"], rest["from_m"]) == ("人民路", pytest.approx(0, abs=1e-6))
    assert (rest["to_street"], rest["to_m"]) == ("红旗路", pytest.approx(150, abs=1e-6))


def test_unnamed_streets_chain_by_class(runs):
    residential = _row(runs, "unnamed residential street", length_m=400)
    assert residential["pieces"] == 2  # K0–K1 and K1–K2, through K1 where a service road meets
    assert _row(runs, "unnamed service road")["length_m"] == pytest.approx(200)
    assert _row(runs, "unnamed minor road")["length_m"] == pytest.approx(200)
    # the alley: two runs, split where 建设路 crosses it
    alley = runs[runs["street"] == "unnamed residential street"]
    assert sorted(alley["length_m"].round(6)) == [200, 200, 400]


def test_cross_streets_of_the_side_streets(runs):
    for street in ("解放路", "人民路"):
        arms = runs[runs["street"] == street]
        assert len(arms) == 2
        # one end at 建设路, the other the dead end 300 m along the street from it
        assert set(arms["from_street"]) | set(arms["to_street"]) == {"建设路"}
        ends = sorted([*arms["from_m"], *arms["to_m"]])
        assert ends == pytest.approx([0, 0, 300, 300], abs=1e-6)
    # 红旗路's gap arms begin 150 m from E, where 建设路 crosses
    arms = runs[runs["street"] == "红旗路"]
    assert sorted([*arms["from_m"], *arms["to_m"]]) == pytest.approx([150, 150, 300, 300])


def test_farthest_distances_by_hand(runs):
    # along the streets to S at x = 1550: W 1550; J2 750; 解放路's tips 1550 + 300;
    # 人民路's 750 + 300; the alley's 1250 + 200; 红旗路's 350 + 300
    expect = {("建设路", 800): 1550, ("建设路", 250): 750, ("解放路", 300): 1850,
              ("人民路", 300): 1050, ("unnamed residential street", 200): 1450,
              ("红旗路", 150): 650}
    for (street, length), far in expect.items():
        rows = runs[(runs["street"] == street) & np.isclose(runs["length_m"], length)]
        assert len(rows) >= 1
        assert rows["farthest_m"].tolist() == pytest.approx([far] * len(rows), abs=1e-6)
    # the K streets reach no station: only "more than the search"
    k = runs[runs["component"] != runs.iloc[0]["component"]]
    assert len(k) == 3
    assert k["farthest_m"].isna().all()
    assert (k["farthest_more_than_m"] == 3000).all()
    # the farthest point of run 1 is W, and the map link goes there
    first = runs.iloc[0]
    lon, lat = hand_lonlat(0, 0)
    assert (first["farthest_lon"], first["farthest_lat"]) == (pytest.approx(lon, abs=1e-7),
                                                              pytest.approx(lat, abs=1e-7))
    assert f"position={lon:.6f},{lat:.6f}" in first["amap_url"]


def test_longest_first_ties_farther_first(runs):
    assert runs["gap_id"].tolist() == list(range(1, len(runs) + 1))
    assert list(runs["street"].iloc[:5]) == ["建设路", "unnamed residential street",
                                            "解放路", "解放路", "人民路"]


def _networkx_gap_m(cov) -> float:
    """Uncovered length per edge from networkx distances on a graph of its own."""
    g = nx.Graph()
    for u, v, _, _ in _edges("residential"):
        (x1, y1), (x2, y2) = NODES[u], NODES[v]
        if (u, v) == ("E", "E2"):  # the station splits its edge
            g.add_edge("E", "S", w=STATION_X - 1200)
            g.add_edge("S", "E2", w=1600 - STATION_X)
        else:
            g.add_edge(u, v, w=math.hypot(x2 - x1, y2 - y1))
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="w")
    limit = RULE.limit_m
    total = 0.0
    for u, v, data in g.edges(data=True):
        du, dv, length = dist.get(u, math.inf), dist.get(v, math.inf), data["w"]
        reach = max(0.0, min(length, limit - du)) + max(0.0, min(length, limit - dv))
        total += max(0.0, length - reach)
    return total


def test_every_gap_piece_in_exactly_one_run(cov, runs):
    gap = cov.pieces[cov.pieces["status"] == "gap"]
    assert runs["pieces"].sum() == len(gap)
    mids = shapely.line_interpolate_point(gap.geometry.to_numpy(), 0.5, normalized=True)
    inside = shapely.dwithin(mids[:, None], runs.geometry.to_numpy()[None, :], 1e-6)
    assert (inside.sum(axis=1) == 1).all()
    # the lengths add up: to the coverage's gap_m, and to networkx's own count
    assert runs["length_m"].sum() == pytest.approx(cov.gap_m, abs=1e-6)
    assert runs["length_m"].sum() == pytest.approx(_networkx_gap_m(cov), abs=1e-6)
    assert _networkx_gap_m(cov) == pytest.approx(1050 + 600 + 600 + 400 + 300 + 800, abs=1e-6)


def test_an_unnamed_main_road_does_not_split_a_named_street():
    # an unnamed crossing could not be told from the next one: 建设路 runs on through J1
    runs = sp.find_gaps(_coverage("tertiary"), search_limit_m=3000, lang="zh")
    jianshe = runs[runs["street"] == "建设路"].sort_values("from_m")
    assert sorted(jianshe["length_m"].round(6)) == [250, 800]
    west = _row(runs, "建设路", length_m=800)
    assert (west["from_street"], west["from_m"], west["to_street"], west["to_m"]) == (
        "解放路", 0, "人民路", 0)
    assert "无名居住区道路" in set(runs["street"])  # the K streets, unnamed, by class


def test_the_crossing_of_a_dual_carriageway_street_is_not_a_run_of_its_own():
    # 建设路 along y = 0 from x = 0 to 1000 crosses 人民路's two carriageways at x = 500 and
    # x = 520; one station far away on a street of its own: everything here is a gap
    xs = {"W": (0, 0), "C1": (500, 0), "C2": (520, 0), "E": (1000, 0),
          "N1": (500, 300), "S1": (500, -300), "N2": (520, 300), "S2": (520, -300),
          "F0": (0, 5000), "F1": (300, 5000)}
    edges = [("W", "C1", "建设路"), ("C1", "C2", "建设路"), ("C2", "E", "建设路"),
             ("S1", "C1", "人民路"), ("C1", "N1", "人民路"), ("S2", "C2", "人民路"),
             ("C2", "N2", "人民路"), ("F0", "F1", "远路")]
    g = nx.MultiDiGraph(crs=HAND_CRS)
    ids = {k: i + 1 for i, k in enumerate(xs)}
    for k, (x, y) in xs.items():
        g.add_node(ids[k], x=X0 + x, y=Y0 + y)
    for i, (u, v, name) in enumerate(edges):
        (x1, y1), (x2, y2) = xs[u], xs[v]
        for a, b in ((u, v), (v, u)):
            g.add_edge(ids[a], ids[b], osmid=500 + i, highway="residential", name=name,
                       length=math.hypot(x2 - x1, y2 - y1))
    net = sp.network_from_graph(g)
    lon, lat = hand_lonlat(150, 5000)
    frame = gpd.GeoDataFrame({"station_id": ["S"], "name": ["S"], "status": ["ok"],
                              "reason": [""]}, geometry=gpd.points_from_xy([lon], [lat]),
                             crs=4326)
    cov = sp.compute_coverage(net, sp.snap_stations(net, frame), rule=RULE)
    runs = sp.find_gaps(cov, search_limit_m=3000, lang="zh")
    jianshe = runs[runs["street"] == "建设路"]
    # the 20 m between the carriageways joins the longer side: 500 + 20 and 480, by hand
    assert sorted(jianshe["length_m"].round(6)) == [480, 520]
    assert runs["length_m"].sum() == pytest.approx(cov.gap_m, abs=1e-6)
    assert cov.gap_m == pytest.approx(1000 + 4 * 300, abs=1e-6)


def test_gap_areas_are_the_touching_runs(runs):
    areas = sp.gap_areas(runs)
    # 建设路 with 解放路, the alley and 人民路; the K streets; 红旗路's two arms apart
    assert areas["length_m"].round(6).tolist() == [2650, 800, 150, 150]
    assert areas["runs"].tolist() == [8, 3, 1, 1]
    assert areas["area_id"].tolist() == [1, 2, 3, 4]
    assert runs.groupby("area_id")["length_m"].sum().round(6).tolist() == [2650, 800, 150, 150]
    assert set(areas["streets"].iat[0].split("; ")) == {"建设路", "解放路", "人民路"}
    assert areas["farthest_m"].iat[0] == pytest.approx(1850, abs=1e-6)
    assert math.isnan(areas["farthest_m"].iat[1])
    assert areas["farthest_more_than_m"].iat[1] == 3000


def test_no_gaps_gives_empty_frames(cov):
    whole = sp.compute_coverage(cov.network, cov.stations,
                                rule=sp.CoverageRule(radius_m=1e6, max_minutes=None))
    # only the K part (no station) is left
    runs = sp.find_gaps(whole)
    assert set(runs["component"]) == {runs["component"].iat[0]}
    empty = sp.find_gaps(sp.compute_coverage(
        sp.network_from_graph(_graph("residential").subgraph(
            [i + 1 for i, k in enumerate(NODES) if not k.startswith("K")]).copy()),
        cov.stations, rule=sp.CoverageRule(radius_m=1e6, max_minutes=None)))
    assert empty.empty
    assert list(empty.columns) == [*gaps_mod.GAP_COLUMNS, "geometry"]
    assert sp.gap_areas(empty).empty


def test_the_table_a_field_team_prints(runs):
    codes, table = gap_table(runs, lang="zh")
    assert len(table) == len(runs) + 1
    row = dict(zip(codes, table[1], strict=True))
    assert row["description"] == "建设路（解放路—人民路）800 米，最远点距最近站点 1,550 米"
    assert row["gap_id"] == 1
    assert table[0][codes.index("wgs84_lon")] == "最远点经度(WGS-84)"
    lon, _ = hand_lonlat(0, 0)
    assert row["wgs84_lon"] == pytest.approx(lon, abs=1e-6)
    rest = _row(runs, "建设路", length_m=250)
    assert gap_text(rest, "en") == ("建设路 (人民路 – 150 m from 红旗路), 250 m; farthest point "
                                    "750 m from a station")


# --- a real extract ---------------------------------------------------------------------

def test_guixi_runs_read_sensibly():
    from handnet import shared_osm, shared_sheet

    net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"))
    sheet = sp.read_stations(shared_sheet("guixi_stations.xlsx"), crs="gcj02")
    cov = sp.compute_coverage(net, sp.snap_stations(net, sheet))
    runs = sp.find_gaps(cov)
    gap = cov.pieces[cov.pieces["status"] == "gap"]
    assert runs["length_m"].sum() == pytest.approx(cov.gap_m, abs=1e-6)
    assert runs["pieces"].sum() == len(gap)
    # each gap piece lies in exactly one run, and that run is its street
    mids = shapely.line_interpolate_point(gap.geometry.to_numpy(), 0.5, normalized=True)
    tree = shapely.STRtree(runs.geometry.to_numpy())
    pi, ri = tree.query(mids, predicate="dwithin", distance=1e-6)
    assert np.array_equal(np.sort(pi), np.arange(len(gap)))
    named = gap["name"].notna().to_numpy()[pi]
    assert (runs["street"].to_numpy()[ri][named] == gap["name"].to_numpy()[pi][named]).all()
    assert not runs["named"].to_numpy()[ri][~named].any()
    # an end said to be at its cross street touches an edge of that name
    lines = net.edges.geometry.to_numpy()
    names = net.edges["name"].to_numpy()
    checked = 0
    for run in runs[runs["named"] & (runs.geometry.geom_type == "LineString")].itertuples():
        xy = shapely.get_coordinates(run.geometry)
        for end, cross, metres in ((xy[0], run.from_street, run.from_m),
                                   (xy[-1], run.to_street, run.to_m)):
            if cross and metres == 0:
                near = shapely.dwithin(lines, shapely.Point(end), 1e-3)
                assert cross in set(names[near]), (run.gap_id, cross)
                assert cross != run.street
                checked += 1
    assert checked > 15
    # a run is one street, not a district-wide cluster of them; the areas hold the runs
    assert runs["length_m"].max() < 10_000
    areas = sp.gap_areas(runs)
    assert areas["length_m"].sum() == pytest.approx(cov.gap_m, abs=1e-6)
    assert areas["runs"].sum() == len(runs)
    assert areas["length_m"].iat[0] > 5 * runs["length_m"].max()


def _nx_cross_streets(net, runs):
    """Per run end not at its cross street: (given name, given metres, the nearest cross
    street distance by networkx, the names there) on an undirected graph of the streets
    with the end spliced into its edge."""
    edges = net.edges
    names = [n.strip() if isinstance(n, str) and n.strip() else None for n in edges["name"]]
    at: dict[int, set] = {}
    g = nx.Graph()
    for u, v, length, name in zip(edges["u"], edges["v"], edges["length_m"], names,
                                  strict=True):
        if not g.has_edge(u, v) or g[u][v]["weight"] > length:
            g.add_edge(u, v, weight=float(length))
        if name:
            at.setdefault(u, set()).add(name)
            at.setdefault(v, set()).add(name)
    lines = edges.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    out = []
    # runs of one piece: their line's two ends are the ends searched from (a run of
    # several may close on itself and start its line elsewhere)
    for run in runs[(runs.geometry.geom_type == "LineString") & (runs["pieces"] == 1)
                    ].itertuples():
        xy = shapely.get_coordinates(run.geometry)
        for end, cross, metres in ((xy[0], run.from_street, run.from_m),
                                   (xy[-1], run.to_street, run.to_m)):
            if not cross or metres == 0:
                continue
            p = shapely.Point(end)
            e = int(tree.query_nearest(p)[0])
            off = float(lines[e].project(p))
            u, v, length = int(edges["u"].iat[e]), int(edges["v"].iat[e]), edges["length_m"].iat[e]
            g.add_edge("end", u, weight=off)
            if v != u:
                g.add_edge("end", v, weight=float(length) - off)
            dist = nx.single_source_dijkstra_path_length(g, "end", cutoff=3000.0)
            g.remove_node("end")
            if run.named:
                targets = [n for n in dist if n != "end" and run.street in at.get(n, ())
                           and len(at[n]) >= 2]
            else:
                targets = [n for n in dist if n != "end" and at.get(n)]
            best = min(dist[n] for n in targets)
            there = set().union(*(at[n] for n in targets if dist[n] <= best + 1e-6))
            out.append((cross, metres, best, there))
    return out


@pytest.mark.parametrize("extract", ["guixi_county_city.osm.bz2", "chengdu_center.osm.bz2"])
def test_cross_streets_are_the_nearest_by_networkx(extract, tmp_path):
    """Run ends away from their cross street: the distance given is networkx's to the
    nearest junction of the run's street with another (unnamed runs: any named junction),
    and the street named meets there. The widening searches must find what one wide
    search finds."""
    from handnet import shared_osm

    net = sp.load_network(shared_osm(extract))
    rng = np.random.default_rng(5)
    picked = net.edges.iloc[rng.choice(len(net.edges), 12, replace=False)]
    pts = shapely.line_interpolate_point(picked.geometry.to_numpy(), 0.5, normalized=True)
    lonlat = shapely.get_coordinates(gpd.GeoSeries(pts, crs=net.crs).to_crs(4326))
    path = tmp_path / "stations.csv"
    # float(): a numpy float's repr is "np.float64(...)", which is no coordinate
    path.write_text("name,lon,lat\n" + "".join(f"s{i},{float(x)!r},{float(y)!r}\n"
                                                for i, (x, y) in enumerate(lonlat)),
                    encoding="utf-8")
    stations = sp.snap_stations(net, sp.read_stations(path))
    assert (stations["status"] == "ok").sum() == len(lonlat)  # every station is used
    cov = sp.compute_coverage(net, stations)
    runs = sp.find_gaps(cov)
    ends = _nx_cross_streets(net, runs)
    assert len(ends) >= 20
    for cross, metres, best, there in ends:
        assert metres == pytest.approx(best, abs=1e-6)
        assert cross in there


def test_pieces_joined_where_their_ends_meet_are_networkx_components():
    """The union-find kernel behind gap runs and gap areas: pieces whose ends meet at one
    point with one kind (-1: joins nothing) get one label, labels numbered by each group's
    first piece; against networkx's connected components."""
    from stationplan._route import join_pieces

    rng = np.random.default_rng(9)
    for m, n_points in ((1, 1), (40, 12), (500, 300), (2000, 90)):
        point = rng.integers(0, n_points, 2 * m)  # starts, then ends
        kind = rng.integers(-1, 3, 2 * m)
        graph = nx.Graph()
        graph.add_nodes_from(range(m))
        meet: dict[tuple[int, int], list[int]] = {}
        for e in range(2 * m):
            if kind[e] >= 0:
                meet.setdefault((int(point[e]), int(kind[e])), []).append(e % m)
        for pieces in meet.values():
            nx.add_path(graph, pieces)
        groups = sorted((sorted(c) for c in nx.connected_components(graph)), key=min)
        want = np.empty(m, dtype=np.int64)
        for label, group in enumerate(groups):
            want[group] = label
        assert join_pieces(point, kind, n_points).tolist() == want.tolist()
