"""Property-based tests of the coverage core on random small street networks."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stationplan as sp
from stationplan.coverage import station_distances

X0, Y0 = 500_000.0, 4_400_000.0


@st.composite
def networks(draw):
    """A random planar-ish graph: nodes on a jittered grid, random edges, some one-way."""
    n = draw(st.integers(3, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    xy = rng.uniform(0, 1500, (n, 2))
    g = nx.MultiDiGraph(crs="EPSG:32650")
    for i, (x, y) in enumerate(xy):
        g.add_node(i, x=X0 + x, y=Y0 + y)
    pairs = {(min(a, b), max(a, b)) for a, b in rng.integers(0, n, (2 * n, 2)) if a != b}
    if not pairs:
        pairs = {(0, 1)}
    oneway = draw(st.booleans())
    for k, (a, b) in enumerate(sorted(pairs)):
        length = float(np.hypot(*(xy[a] - xy[b])))
        g.add_edge(a, b, osmid=k, highway="residential", length=length)
        if not (oneway and rng.random() < 0.4):
            g.add_edge(b, a, osmid=k, highway="residential", length=length)
    mode = "bike" if oneway else "walk"
    return sp.network_from_graph(g, mode=mode)


@st.composite
def stations_on(draw, net):
    k = draw(st.integers(0, 5))
    edges = draw(st.lists(st.integers(0, len(net.edges) - 1), min_size=k, max_size=k))
    fracs = draw(st.lists(st.floats(0, 1), min_size=k, max_size=k))
    lengths = net.edges["length_m"].to_numpy()
    offsets = [f * lengths[e] for e, f in zip(edges, fracs, strict=True)]
    return np.array(edges, dtype=np.int64), np.array(offsets, dtype=float)


def _stations_frame(net, edges, offsets):
    import geopandas as gpd
    import shapely

    lines = net.edges.geometry.to_numpy()[edges] if len(edges) else np.array([], dtype=object)
    pts = shapely.line_interpolate_point(lines, offsets) if len(edges) else []
    frame = gpd.GeoDataFrame(
        {"station_id": [f"s{i}" for i in range(len(edges))], "name": "", "status": "ok",
         "reason": "", "edge_id": edges, "offset_m": offsets},
        geometry=list(pts), crs=net.crs,
    )
    return frame.to_crs(4326)


def _coverage(net, edges, offsets, radius):
    rule = sp.CoverageRule(radius_m=radius, max_minutes=None)
    return sp.compute_coverage(net, _stations_frame(net, edges, offsets), rule=rule)


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(data=st.data(), radius=st.floats(50, 1500))
def test_pieces_tile_the_network(data, radius):
    net = data.draw(networks())
    edges, offsets = data.draw(stations_on(net))
    cov = _coverage(net, edges, offsets, radius)
    assert cov.covered_m + cov.gap_m == pytest.approx(net.total_length_m, abs=1e-6)
    # pieces of one edge are contiguous and span it exactly
    for eid, grp in cov.pieces.groupby("edge_id"):
        grp = grp.sort_values("start_m")
        assert grp["start_m"].iat[0] == pytest.approx(0, abs=1e-9)
        assert grp["end_m"].iat[-1] == pytest.approx(net.edges["length_m"].iat[eid], abs=1e-9)
        assert np.allclose(grp["start_m"].to_numpy()[1:], grp["end_m"].to_numpy()[:-1])


@PROPS
@given(data=st.data(), radius=st.floats(50, 1500))
def test_adding_a_station_never_reduces_coverage(data, radius):
    net = data.draw(networks())
    edges, offsets = data.draw(stations_on(net))
    extra_e, extra_o = data.draw(stations_on(net))
    before = _coverage(net, edges, offsets, radius).covered_m
    after = _coverage(net, np.concatenate([edges, extra_e]), np.concatenate([offsets, extra_o]),
                      radius).covered_m
    assert after >= before - 1e-6


@PROPS
@given(data=st.data(), radius=st.floats(50, 1500))
def test_station_order_does_not_matter(data, radius):
    net = data.draw(networks())
    edges, offsets = data.draw(stations_on(net))
    perm = np.random.default_rng(0).permutation(len(edges))
    a = _coverage(net, edges, offsets, radius)
    b = _coverage(net, edges[perm], offsets[perm], radius)
    assert a.covered_m == pytest.approx(b.covered_m, abs=1e-6)
    assert np.allclose(a.node_dist_m, b.node_dist_m, equal_nan=True)


@PROPS
@given(data=st.data())
def test_distances_equal_networkx(data):
    net = data.draw(networks())
    edges, offsets = data.draw(stations_on(net))
    mine, _ = station_distances(net, edges, offsets)
    g = nx.DiGraph()
    e = net.edges
    lengths = e["length_m"].to_numpy()
    for i, row in enumerate(e.itertuples()):
        on_edge = [(float(o), f"s{k}") for k, (ee, o) in enumerate(zip(edges, offsets, strict=True))
                   if ee == i]
        cuts = [(0.0, row.u), *sorted(on_edge, key=lambda t: t[0]), (row.length_m, row.v)]
        for (o1, a), (o2, b) in itertools.pairwise(cuts):
            # travel towards the station: search from stations on reversed arcs
            for tail, head, ok in ((b, a, row.fwd), (a, b, row.bwd)):
                if ok and (not g.has_edge(tail, head) or g[tail][head]["w"] > o2 - o1):
                    g.add_edge(tail, head, w=o2 - o1)
    assert lengths.sum() > 0
    sources = [f"s{k}" for k in range(len(edges)) if f"s{k}" in g]
    ref = nx.multi_source_dijkstra_path_length(g, sources, weight="w") if sources else {}
    for node in range(len(net.nodes)):
        want = ref.get(node, math.inf)
        both_inf = math.isinf(want) and math.isinf(mine[node])
        assert both_inf or mine[node] == pytest.approx(want, abs=1e-6)
