"""Gap runs and their cross streets against independent computations: networkx shortest
paths and brute force, on random graphs and a random synthetic city.

- the compiled nearest-target search (``_route.nearest_targets``, behind the cross
  streets) against networkx's Dijkstra from each source, on random graphs with ties,
  zero-length arcs, targets exactly at the limit and empty target sets;
- a synthetic city's gap runs: their lengths against networkx's uncovered length of
  every edge, and every run end's cross street and distance against networkx's nearest
  junction of the run's street with another named street (unnamed runs: any named one).
"""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse import csr_array

import stationplan as sp
from stationplan import _route
from stationplan._synthetic import synthetic_city


def _random_graph(rng: np.random.Generator, n: int, *, integer: bool) -> nx.Graph:
    """A connected-ish random graph: a random tree plus extra chords; integer lengths
    (ties everywhere, some zero) or random ones."""
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for v in range(1, n):
        g.add_edge(int(rng.integers(0, v)), v)
    for _ in range(n):
        a, b = (int(x) for x in rng.integers(0, n, 2))
        if a != b:
            g.add_edge(a, b)
    for a, b in g.edges:
        g[a][b]["w"] = float(rng.integers(0, 6)) if integer else float(rng.uniform(0, 50))
    return g


def _csr(g: nx.Graph) -> csr_array:
    a, b, w = zip(*((a, b, d["w"]) for a, b, d in g.edges(data=True)), strict=True)
    rows, cols = np.r_[a, b], np.r_[b, a]
    n = g.number_of_nodes()
    return csr_array((np.r_[w, w], (rows, cols)), shape=(n, n))


def _nx_nearest(g: nx.Graph, source: int, targets: list[int], limit: float
                ) -> tuple[int, float]:
    """Brute force: every node's distance by networkx, then the nearest target (ties:
    the lowest node number)."""
    dist = nx.single_source_dijkstra_path_length(g, source, cutoff=limit, weight="w")
    reached = [(dist[t], t) for t in targets if t in dist and dist[t] <= limit]
    if not reached:
        return -1, math.inf
    d, t = min(reached)
    return t, d


@pytest.mark.parametrize(("seed", "integer"), [(0, True), (1, True), (2, False), (3, False)])
def test_nearest_targets_match_networkx(seed, integer):
    rng = np.random.default_rng(seed)
    g = _random_graph(rng, 300, integer=integer)
    graph = _csr(g)
    # target sets of every size, one empty; each ascending
    sets = [np.sort(rng.choice(300, size=k, replace=False)) for k in (0, 1, 3, 10, 40, 150)]
    set_ptr = np.r_[0, np.cumsum([len(s) for s in sets])]
    set_nodes = np.concatenate(sets)
    sources = rng.integers(0, 300, 400)
    source_set = rng.integers(0, len(sets), 400)
    limit = 3.0 if integer else 40.0
    node, dist = _route.nearest_targets(graph, sources, source_set, set_ptr, set_nodes,
                                        limit_m=limit)
    at_limit = 0
    for i, (s, k) in enumerate(zip(sources.tolist(), source_set.tolist(), strict=True)):
        want_node, want_dist = _nx_nearest(g, s, sets[k].tolist(), limit)
        assert (int(node[i]), float(dist[i])) == (want_node, want_dist), (i, s, k)
        at_limit += want_dist == limit
    assert (node >= 0).any() and (node < 0).any()
    if integer:
        assert at_limit > 0  # a target exactly at the limit is found


def test_nearest_targets_ties_and_zero_lengths():
    # 0 —5— 1 —0— 2 —5— 3 and 0 —10— 3: from 0, nodes 1 and 2 are both 5 away (the
    # lower one wins), 3 is 10 away both ways
    g = nx.Graph()
    for a, b, w in ((0, 1, 5.0), (1, 2, 0.0), (2, 3, 5.0), (0, 3, 10.0)):
        g.add_edge(a, b, w=w)
    graph = _csr(g)
    sets = [np.array([1, 2]), np.array([2, 3]), np.array([3]), np.array([], dtype=int)]
    set_ptr = np.r_[0, np.cumsum([len(s) for s in sets])]
    node, dist = _route.nearest_targets(graph, np.zeros(5, int), np.array([0, 1, 2, 2, 3]),
                                        set_ptr, np.concatenate(sets), limit_m=10.0)
    assert node.tolist() == [1, 2, 3, 3, -1]
    assert dist.tolist() == [5.0, 5.0, 10.0, 10.0, math.inf]
    node, _ = _route.nearest_targets(graph, np.zeros(1, int), np.array([2]), set_ptr,
                                     np.concatenate(sets), limit_m=9.999)
    assert node.tolist() == [-1]


# --- a random synthetic city -------------------------------------------------------------

@pytest.fixture(scope="module")
def city(tmp_path_factory):
    net = synthetic_city(4_000, seed=11)
    rng = np.random.default_rng(4)
    edges = net.edges
    pick = rng.choice(len(edges), 6, replace=False)
    pts = shapely.line_interpolate_point(edges.geometry.to_numpy()[pick],
                                         rng.uniform(0.1, 0.9, len(pick)), normalized=True)
    lonlat = shapely.get_coordinates(gpd.GeoSeries(pts, crs=net.crs).to_crs(4326))
    path = tmp_path_factory.mktemp("exact") / "stations.csv"
    path.write_text("name,lon,lat\n" + "".join(
        f"s{i},{float(x)!r},{float(y)!r}\n" for i, (x, y) in enumerate(lonlat)),
        encoding="utf-8")
    stations = sp.snap_stations(net, sp.read_stations(path))
    assert (stations["status"] == "ok").all()
    rule = sp.CoverageRule(radius_m=400, max_minutes=None)
    cov = sp.compute_coverage(net, stations, rule=rule)
    return net, cov, sp.find_gaps(cov, lang="en")


def _street_graph(net) -> tuple[nx.Graph, dict[int, set[str]]]:
    """The streets as an undirected networkx graph (shortest of parallel edges), and the
    names meeting at each node."""
    edges = net.edges
    g = nx.Graph()
    at: dict[int, set[str]] = {}
    for u, v, length, name in zip(edges["u"].tolist(), edges["v"].tolist(),
                                  edges["length_m"].tolist(), edges["name"].tolist(),
                                  strict=True):
        if not g.has_edge(u, v) or g[u][v]["w"] > length:
            g.add_edge(u, v, w=length)
        if isinstance(name, str) and name.strip():
            at.setdefault(u, set()).add(name.strip())
            at.setdefault(v, set()).add(name.strip())
    return g, at


def test_gap_lengths_match_networkx(city):
    """The runs add up to the uncovered length that networkx's distances give, edge by
    edge (stations spliced into their edges)."""
    net, cov, runs = city
    g, _ = _street_graph(net)
    edges = net.edges
    stations = cov.stations[cov.stations["status"] == "ok"]
    for k, (e, off) in enumerate(zip(stations["edge_id"].tolist(),
                                     stations["offset_m"].tolist(), strict=True)):
        u, v, length = int(edges["u"].iat[e]), int(edges["v"].iat[e]), edges["length_m"].iat[e]
        g.remove_edge(u, v)
        g.add_edge(u, ("s", k), w=off)
        g.add_edge(("s", k), v, w=length - off)
    dist = nx.multi_source_dijkstra_path_length(g, [("s", k) for k in range(len(stations))],
                                                weight="w")
    limit = cov.rule.limit_m
    gap = 0.0
    for a, b, data in g.edges(data=True):
        da, db, length = dist.get(a, math.inf), dist.get(b, math.inf), data["w"]
        reach = max(0.0, min(length, limit - da)) + max(0.0, min(length, limit - db))
        gap += max(0.0, length - reach)
    assert gap > 10_000
    assert runs["length_m"].sum() == pytest.approx(gap, abs=1e-6)
    assert runs["pieces"].sum() == int((cov.pieces["status"] == "gap").sum())


def test_cross_streets_match_networkx(city):
    """Each end of a one-piece run: the cross street named and its distance are
    networkx's nearest junction of the run's street with another named street (an
    unnamed run: the nearest node with a name), searched from the end both ways."""
    net, _, runs = city
    g, at = _street_graph(net)
    edges = net.edges
    lines = edges.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    checked = {"named": 0, "unnamed": 0, "away": 0}
    one = runs[(runs.geometry.geom_type == "LineString") & (runs["pieces"] == 1)]
    # 150 named and 150 unnamed runs at random (a networkx search per end is slow)
    one = one.groupby("named").sample(n=150, random_state=3)
    for run in one.itertuples():
        xy = shapely.get_coordinates(run.geometry)
        for end, cross, metres in ((xy[0], run.from_street, run.from_m),
                                   (xy[-1], run.to_street, run.to_m)):
            p = shapely.Point(end)
            e = int(tree.query_nearest(p)[0])
            off = float(lines[e].project(p))
            u, v = int(edges["u"].iat[e]), int(edges["v"].iat[e])
            g.add_edge("end", u, w=off)
            g.add_edge("end", v, w=float(edges["length_m"].iat[e]) - off)
            dist = nx.single_source_dijkstra_path_length(g, "end", cutoff=3000.0, weight="w")
            g.remove_node("end")
            if run.named:
                targets = [x for x in dist if x != "end" and run.street in at.get(x, ())
                           and len(at[x]) >= 2]
            else:
                targets = [x for x in dist if x != "end" and at.get(x)]
            if not targets:
                assert (cross, math.isnan(metres)) == ("", True)
                continue
            best = min(dist[x] for x in targets)
            there = set().union(*(at[x] for x in targets if dist[x] <= best + 1e-6))
            assert metres == pytest.approx(best, abs=1e-6), (run.gap_id, cross)
            assert cross in there - ({run.street} if run.named else set())
            checked["named" if run.named else "unnamed"] += 1
            checked["away"] += metres > 1e-6
    assert min(checked.values()) >= 20, checked


def test_run_lines_are_geos_merged_pieces_from_the_from_end():
    # GEOS's line merge of each run's pieces (as a MultiLineString), a path turned to start
    # at the end nearer the run's ``from`` point: runs of one plain piece skip GEOS, so
    # check them (and rings, repeated points, several pieces) against it byte for byte;
    # the pieces come in any order, the runs are asked for in any order
    from stationplan.gaps import _run_lines

    rng = np.random.default_rng(3)
    for _ in range(100):
        lines, run = [], []
        for r in range(int(rng.integers(1, 12))):
            for _ in range(int(rng.integers(1, 4))):
                xy = rng.integers(0, 5, size=(int(rng.integers(2, 5)), 2)).astype(float)
                if rng.random() < 0.1:
                    xy[-1] = xy[0]  # a ring
                lines.append(shapely.LineString(xy))
                run.append(r)
        lines, run = np.array(lines, dtype=object), np.array(run)
        from_xy = rng.integers(0, 5, size=(run[-1] + 1, 2)).astype(float)
        shuffled = rng.permutation(len(lines))  # the pieces as find_gaps has them
        pieces = lines[shuffled]
        order = rng.permutation(run[-1] + 1)
        got = dict(zip(order.tolist(), _run_lines(
            pieces, shapely.get_coordinates(pieces),
            np.r_[0, np.cumsum(shapely.get_num_coordinates(pieces))],
            np.argsort(shuffled), run, from_xy, order), strict=True))
        for r in range(run[-1] + 1):
            want = shapely.line_merge(shapely.multilinestrings(lines[run == r]))
            if want.geom_type == "LineString":
                head, tail = shapely.get_coordinates(want)[[0, -1]]
                if np.hypot(*(tail - from_xy[r])) < np.hypot(*(head - from_xy[r])):
                    want = shapely.reverse(want)
            elif want.geom_type != "MultiLineString":
                want = shapely.MultiLineString(list(shapely.get_parts(want)))
            assert got[r].wkb == want.wkb, (r, [g.wkt for g in lines[run == r]])


def test_first_largest_of_each_run_is_the_brute_force_one():
    # the piece that gives a run its farthest point and its middle: the first largest,
    # NaN below every number, signed zeros and infinities as they compare
    from stationplan.gaps import _first_largest

    rng = np.random.default_rng(11)
    for _ in range(500):
        n = int(rng.integers(1, 40))
        group = np.sort(rng.integers(0, max(1, n // 3), n))
        group = np.unique(group, return_inverse=True)[1]
        starts = np.flatnonzero(np.r_[True, np.diff(group) > 0])
        values = rng.choice([0.0, -0.0, 1.0, 2.5, np.nan, np.inf, -np.inf], n)
        want = []
        for g in range(group.max() + 1):
            at = np.flatnonzero(group == g)
            numbers = [i for i in at if not np.isnan(values[i])]
            if not numbers:
                want.append(at[0])
                continue
            best = max(values[i] for i in numbers)
            want.append(next(i for i in numbers if values[i] == best))
        assert _first_largest(values, group, starts).tolist() == want
