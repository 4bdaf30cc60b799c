"""The compiled reading paths (stationplan._read.kernels and the centerline noding built
on them) against independent computations: GEOS through shapely, brute force, and
shapely's own noding with networkx degree counts."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from stationplan import load_network
from stationplan._lines import points_along as lines_along
from stationplan._lines import points_at
from stationplan._read import centerlines
from stationplan._read.kernels import grid_sum, points_along

UTM_50N = "EPSG:32650"
X0, Y0 = 500_000.0, 4_400_000.0
ORIGIN = np.array([X0, Y0])


def _random_lines(rng: np.random.Generator, n: int) -> np.ndarray:
    lines = []
    for _ in range(n):
        k = int(rng.integers(2, 7))
        xy = rng.normal(size=(k, 2)) * rng.choice([1e-3, 1.0, 300.0, 1e5]) + (X0, Y0)
        if rng.random() < 0.3:
            xy[int(rng.integers(0, k))] = xy[0]  # a repeated vertex
        if rng.random() < 0.05:
            xy[:] = xy[0]  # no length at all
        lines.append(shapely.linestrings(xy))
    return np.array(lines, dtype=object)


def test_points_along_lines_are_geos_points_bit_for_bit():
    rng = np.random.default_rng(18)
    lines = _random_lines(rng, 3000)
    lengths = shapely.length(lines)
    n = rng.integers(1, 40, size=len(lines))
    rows = np.repeat(np.arange(len(lines)), n)
    frac = np.concatenate([(np.arange(k) + 0.5) / k for k in n])
    expected = shapely.get_coordinates(
        shapely.line_interpolate_point(lines[rows], frac, normalized=True))
    xy, which = shapely.get_coordinates(lines, return_index=True)
    starts = np.searchsorted(which, np.arange(len(lines) + 1))
    got = points_along(xy, starts, lengths, n)
    assert got.shape == expected.shape
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))  # every bit
    assert np.array_equal(lines_along(lines, lengths, n), got)


def test_points_at_distances_are_geos_points_bit_for_bit():
    # a gap run's farthest point: a distance along a street, from either end, at a
    # vertex, at the ends and past them
    rng = np.random.default_rng(19)
    lines = _random_lines(rng, 3000)
    lengths = shapely.length(lines)
    xy, which = shapely.get_coordinates(lines, return_index=True)
    first_leg = np.hypot(*(xy[np.searchsorted(which, np.arange(len(lines))) + 1]
                           - xy[np.searchsorted(which, np.arange(len(lines)))]).T)
    kind = rng.integers(0, 6, len(lines))
    d = np.select([kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
                  [rng.uniform(0, 1, len(lines)) * lengths, -rng.uniform(0, 1, len(lines))
                   * lengths, first_leg, lengths, lengths + 5.0], 0.0)
    expected = shapely.get_coordinates(shapely.line_interpolate_point(lines, d))
    got = points_at(lines, d)
    assert got.shape == expected.shape
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))  # every bit


def _lines_with_ends_on_others(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lines, and lines ending on them: at a vertex, inside a segment, a little off it
    (under, about and over a millimetre), or at a crossing of two of them."""
    base = [rng.uniform(0, 400, size=(int(rng.integers(2, 5)), 2)) + ORIGIN
            for _ in range(40)]
    crossings = shapely.get_coordinates(shapely.node(shapely.MultiLineString(base)))
    lines = list(base)
    for _ in range(120):
        xy = base[int(rng.integers(len(base)))]
        line = shapely.linestrings(xy)
        p = shapely.get_coordinates(line.interpolate(rng.uniform(0, line.length)))[0]
        kind = int(rng.integers(0, 4))
        if kind == 1:
            angle = rng.uniform(0, 2 * np.pi)
            p = p + rng.choice([5e-4, 9.99e-4, 1.001e-3, 3e-3]) * np.array(
                [np.cos(angle), np.sin(angle)])
        elif kind == 2:
            p = xy[int(rng.integers(len(xy)))].copy()
        elif kind == 3:  # a vertex of the noded linework: most are crossings
            p = crossings[int(rng.integers(len(crossings)))].copy()
        q = p + rng.uniform(-60, 60, size=2)
        lines.append(np.array([q, p]) if rng.random() < 0.5 else np.array([p, q]))
    xy = np.concatenate(lines)
    starts = np.r_[0, np.cumsum([len(c) for c in lines])]
    return xy, starts


def test_grid_sums_are_numpy_add_at_bit_for_bit():
    # the built-up area's street density: numpy's floor division (1.0 // 0.1 is 9, not
    # the 10 of floor(1.0 / 0.1)), points outside clipped to the edge cells, and the sum
    # in the points' order (weights of very different sizes, so the order shows)
    rng = np.random.default_rng(7)
    for cell in (0.1, 0.3, 7.0, 123.456):
        xy = rng.random((50_000, 2)) * 60 * cell - 5 * cell
        xy[:500] = np.round(xy[:500] / cell) * cell  # on cell edges
        xy[500:520] = [1.0, 0.3]
        w = 10.0 ** rng.uniform(-8, 8, len(xy))
        for x0, y0 in ((0.0, 0.0), (-1.7, 2.2)):
            shape = (40, 55)
            want = np.zeros(shape)
            ix = np.clip(((xy[:, 0] - x0) // cell).astype(np.int64), 0, shape[1] - 1)
            iy = np.clip(((xy[:, 1] - y0) // cell).astype(np.int64), 0, shape[0] - 1)
            np.add.at(want, (iy, ix), w)
            got = grid_sum(xy, w, x0, y0, cell, *shape)
            assert got.tobytes() == want.tobytes()
    assert grid_sum(np.array([[1.0, 0.0]]), np.array([1.0]), 0.0, 0.0, 0.1, 1, 11)[0, 9] == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ends_on_lines_are_the_brute_force_pairs(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    xy, starts = _lines_with_ends_on_others(rng)
    n = len(starts) - 1
    ends = xy[np.column_stack([starts[:-1], starts[1:] - 1]).ravel()]
    geoms = np.array([shapely.linestrings(xy[starts[i]:starts[i + 1]]) for i in range(n)])
    # brute force: every end against every line, by GEOS
    e_all, l_all = np.divmod(np.arange(2 * n * n), n)
    near = shapely.dwithin(shapely.points(ends[e_all]), geoms[l_all], centerlines._ON_LINE_M)
    own = l_all == e_all // 2
    at_end = (np.all(ends[2 * l_all] == ends[e_all], axis=1)
              | np.all(ends[2 * l_all + 1] == ends[e_all], axis=1))
    keep = near & ~own & ~at_end
    expected = set(zip(e_all[keep].tolist(), l_all[keep].tolist(), strict=True))
    assert len(expected) > 50  # the set has ends on lines to find
    for max_cells in (4096, 1):  # through the grid; every line through the STRtree
        monkeypatch.setattr(centerlines, "_GRID_MAX_CELLS", max_cells)
        e, line = centerlines._ends_on_lines(xy, starts, ends)
        assert set(zip(e.tolist(), line.tolist(), strict=True)) == expected
        assert len(e) == len(expected)
        assert np.all(np.diff(e) >= 0)
        # an end on several lines lists them as a query of an STRtree of the lines does
        tree = shapely.STRtree(geoms)
        several = np.unique(e[np.r_[False, e[1:] == e[:-1]]]).tolist()
        assert several  # ends at crossings
        for end in several:
            hits = tree.query(shapely.points(ends[end]), predicate="dwithin",
                              distance=centerlines._ON_LINE_M)
            assert line[e == end].tolist() == [h for h in hits.tolist()
                                               if (end, h) in expected]


def _save(lines: list[list[tuple[float, float]]], oneway: list[str], path):
    geoms = [shapely.LineString([(X0 + x, Y0 + y) for x, y in c]) for c in lines]
    frame = gpd.GeoDataFrame({"highway": ["residential"] * len(geoms), "oneway": oneway},
                             geometry=geoms, crs=UTM_50N)
    frame.to_file(path, engine="pyogrio")
    return frame


# A grid of streets drawn as planners do: a crossing without a shared vertex (a bridge
# unless split), T junctions drawn onto a road without a vertex there, a vertex shared
# inside two lines, a doubled vertex, a one-way street, a loose end.
HAND_LINES = [
    [(0, 0), (100, 0), (200, 0)],  # 0 a main road, vertex at 100
    [(100, -80), (100, 0), (100, 130)],  # 1 meets 0 at a shared vertex, crosses 4, 6
    [(50, 60), (50, 0)],  # 2 T onto 0 inside a segment, no vertex there
    [(150, 0), (150, 50), (150, 50), (150, 120)],  # 3 T onto 0, a doubled vertex
    [(0, 100), (200, 100)],  # 4 crosses 1 and 3 without a vertex (bridges)
    [(200, 0), (200, 100)],  # 5 end to end with 0 and 4
    [(20, -40), (180, -40)],  # 6 crosses 1 without a vertex, one-way
    [(60, -40), (60, -90)],  # 7 T onto 6 (one-way road)
]
HAND_ONEWAY = ["no", "no", "no", "no", "no", "no", "yes", "no"]


def _graph(edges: list[tuple[tuple[float, float], tuple[float, float], float]]) -> nx.MultiGraph:
    g = nx.MultiGraph()
    for a, b, length in edges:
        g.add_edge(a, b, length=length)
    return g


def _network_graph(net) -> tuple[nx.MultiGraph, list[float]]:
    x, y = net.nodes["x"].to_numpy(), net.nodes["y"].to_numpy()
    key = {i: (round(float(x[i]) - X0, 3), round(float(y[i]) - Y0, 3)) for i in range(len(x))}
    e = net.edges
    lengths = sorted(round(float(v), 3) for v in e["length_m"])
    return _graph([(key[u], key[v], 0.0) for u, v in zip(e["u"], e["v"], strict=True)]), lengths


def test_hand_drawn_centerlines_split_at_crossings_equal_shapely_noding(tmp_path):
    path = tmp_path / "hand.gpkg"
    frame = _save(HAND_LINES, HAND_ONEWAY, path)
    net = load_network(path, area="none", mode="bike", split_at_crossings=True)
    # independent: GEOS nodes the linework at every intersection; pieces and degrees
    pieces = shapely.get_parts(shapely.node(shapely.MultiLineString(
        [shapely.remove_repeated_points(g) for g in frame.geometry])))
    expected = _graph([(tuple(np.round(np.asarray(p.coords[0]) - (X0, Y0), 3)),
                        tuple(np.round(np.asarray(p.coords[-1]) - (X0, Y0), 3)), p.length)
                       for p in pieces])
    got, lengths = _network_graph(net)
    assert lengths == sorted(round(p.length, 3) for p in pieces)
    assert Counter(dict(got.degree()).values()) == Counter(dict(expected.degree()).values())
    assert set(got.nodes) == set(expected.nodes)
    assert sorted(d for _, d in got.degree()) == sorted(d for _, d in expected.degree())
    # the one-way road's pieces (all on y = -40) go one way only
    y = net.nodes["y"].to_numpy() - Y0
    on_oneway = (np.abs(y[net.edges["u"]] + 40) < 1e-3) & (np.abs(y[net.edges["v"]] + 40) < 1e-3)
    assert on_oneway.sum() == 3  # cut by lines 7 (T) and 1 (crossing)
    assert not net.edges.loc[on_oneway, "bwd"].any()
    assert net.edges.loc[~on_oneway, "bwd"].all()


def test_hand_drawn_centerlines_keep_bridges_apart(tmp_path):
    path = tmp_path / "hand.gpkg"
    _save(HAND_LINES, HAND_ONEWAY, path)
    net = load_network(path, area="none", mode="bike")
    got, lengths = _network_graph(net)
    # by hand: line 0 cut at 50 (T), 100 (shared vertex), 150 (T): 4 pieces; line 1 at
    # (100, 0): 2; lines 2, 3, 5: 1 each; line 4 and 5 meet end to end; line 6 cut at 60
    # (T of line 7): 2; line 7: 1. Line 4 crosses 1 and 3, line 6 crosses 1: bridges.
    assert len(net.edges) == 4 + 2 + 1 + 1 + 1 + 1 + 2 + 1
    assert lengths == sorted([50.0, 50.0, 50.0, 50.0, 80.0, 130.0, 60.0, 120.0, 200.0,
                              100.0, 40.0, 120.0, 50.0])
    assert got.degree[(50.0, 0.0)] == 3 and got.degree[(150.0, 0.0)] == 3
    assert got.degree[(100.0, 0.0)] == 4  # the shared vertex
    assert got.degree[(60.0, -40.0)] == 3
    assert (100.0, 100.0) not in got and (100.0, -40.0) not in got  # bridges stay apart
    assert got.degree[(200.0, 0.0)] == 2 and got.degree[(200.0, 100.0)] == 2


@pytest.mark.parametrize("tol", [0.0, 0.5, 2.0])
def test_snapped_ends_are_networkx_components_of_near_ends(tol):
    rng = np.random.default_rng(7)
    ends = rng.uniform(0, 60, size=(400, 2)) + ORIGIN
    ends[rng.integers(0, 400, 150)] = ends[rng.integers(0, 400, 150)]  # shared ends
    g = nx.Graph()
    g.add_nodes_from(range(len(ends)))
    if tol > 0:
        d = np.hypot(*(ends[:, None, :] - ends[None, :, :]).transpose(2, 0, 1))
        g.add_edges_from(zip(*np.nonzero(np.triu(d <= tol, 1)), strict=True))
    expected = np.empty(len(ends), dtype=np.int64)
    for part in nx.connected_components(g):
        expected[sorted(part)] = min(part)
    assert np.array_equal(centerlines._snap_roots(ends, tol), expected)


def test_snapped_ends_over_a_wide_extent_are_the_brute_force_groups():
    """Ends a millimetre apart over thousands of kilometres: the search grid's squares are
    then wider than the tolerance (at most 2**30 a side), the groups the same."""
    rng = np.random.default_rng(8)
    centres = rng.uniform(-3e6, 3e6, size=(60, 2)) + ORIGIN
    ends = centres[rng.integers(0, 60, 300)] + rng.uniform(-2e-3, 2e-3, size=(300, 2))
    tol = 1e-3
    d2 = ((ends[:, None, :] - ends[None, :, :]) ** 2).sum(axis=2)
    g = nx.Graph()
    g.add_nodes_from(range(len(ends)))
    g.add_edges_from(zip(*np.nonzero(np.triu(d2 <= tol * tol, 1)), strict=True))
    expected = np.empty(len(ends), dtype=np.int64)
    for part in nx.connected_components(g):
        expected[sorted(part)] = min(part)
    assert np.array_equal(centerlines._snap_roots(ends, tol), expected)
    assert len(set(expected.tolist())) < len(ends)  # some ends are joined


def test_grid_sums_along_lines_are_geos_points_added_by_numpy_bit_for_bit():
    """The built-up area's street metres per cell without the array of points: the same
    sums, in the same order, as GEOS's points along the lines (shapely.line_interpolate_point)
    added by np.add.at."""
    from stationplan._lines import grid_sum_along

    rng = np.random.default_rng(11)
    lines = _random_lines(rng, 300)
    lengths = shapely.length(lines)
    n = np.maximum(1, np.ceil(lengths / 37.0).astype(np.int64))
    x0, y0, cell = X0 - 2e5, Y0 - 2e5, 250.0
    shape = (1600, 1600)
    owner = np.repeat(np.arange(len(lines)), n)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
    at = (k + 0.5) * (lengths / n)[owner]  # each piece's middle, as points_along takes them
    pts = shapely.get_coordinates(shapely.line_interpolate_point(lines[owner], at))
    want = np.zeros(shape)
    ix = np.clip(((pts[:, 0] - x0) // cell).astype(np.int64), 0, shape[1] - 1)
    iy = np.clip(((pts[:, 1] - y0) // cell).astype(np.int64), 0, shape[0] - 1)
    np.add.at(want, (iy, ix), (lengths / n)[owner])
    got = grid_sum_along(lines, lengths, n, x0, y0, cell, shape)
    assert got.tobytes() == want.tobytes()


def test_wkb_lines_parsed_by_the_kernel_are_geos_lines():
    """2-D little-endian WKB LineStrings parsed by the compiled loop: GEOS's vertices; any
    other geometry, byte order or dimension is refused (read by geopandas instead)."""
    from stationplan._read.kernels import wkb_linestrings

    rng = np.random.default_rng(5)
    lines = [*_random_lines(rng, 200), shapely.LineString()]
    wkb = shapely.to_wkb(np.array(lines), byte_order=1)
    data = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    at = np.r_[0, np.cumsum([len(w) for w in wkb])]
    ok, n_points, xy = wkb_linestrings(data, at, np.ones(len(lines), dtype=np.bool_))
    assert ok
    assert n_points.tolist() == shapely.get_num_coordinates(np.array(lines)).tolist()
    assert xy.tobytes() == shapely.get_coordinates(np.array(lines)).tobytes()
    for other in (shapely.to_wkb(lines[0], byte_order=0),  # big-endian
                  shapely.to_wkb(shapely.force_3d(lines[0], 1.0), flavor="iso"),
                  shapely.to_wkb(shapely.Point(1, 2))):
        one = np.frombuffer(other, dtype=np.uint8)
        assert not wkb_linestrings(one, np.array([0, len(one)]), np.ones(1, np.bool_))[0]


def test_edge_components_are_scipys_connected_components():
    """The network's connected pieces: scipy's numbering (by lowest node) and dtype, with
    nodes without edges, loops and repeated edges."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    from stationplan._read.kernels import edge_components

    rng = np.random.default_rng(4)
    for n_nodes in (1, 2, 7, 50, 3000):
        for n_edges in (0, 1, n_nodes // 2, 2 * n_nodes):
            u = rng.integers(0, n_nodes, n_edges)
            v = np.where(rng.random(n_edges) < 0.1, u, rng.integers(0, n_nodes, n_edges))
            graph = csr_array((np.ones(n_edges), (u, v)), shape=(n_nodes, n_nodes))
            want_n, want = connected_components(graph, directed=False)
            got_n, got = edge_components(u, v, n_nodes)
            assert got_n == want_n
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_points_by_cell_are_a_stable_argsort():
    from stationplan._read.kernels import by_cell

    rng = np.random.default_rng(6)
    for n, n_cells in ((0, 1), (1, 1), (1000, 7), (20_000, 50_000)):
        cells = rng.integers(0, n_cells, n)
        cell_start = np.r_[0, np.cumsum(np.bincount(cells, minlength=n_cells))]
        assert np.array_equal(by_cell(cells, cell_start), np.argsort(cells, kind="stable"))


def test_radix_argsort_is_numpys_stable_argsort():
    from stationplan._read.kernels import stable_argsort

    rng = np.random.default_rng(9)
    for n, top in ((0, 1), (1, 1), (5, 1), (1000, 3), (50_000, 2**31), (50_000, 2**62)):
        keys = rng.integers(0, top, n)
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    keys = np.full(100, 2**40 + 5)  # every digit shared
    assert np.array_equal(stable_argsort(keys), np.arange(100))
