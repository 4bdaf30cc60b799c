"""The routing layer (stationplan._route) against networkx on the hand network: sites placed
mid-edge, one-way streets, the symmetric and undirected graphs, batched distances, and the
routing arrays cached on the network object."""

from __future__ import annotations

import dataclasses
import itertools
import math

import networkx as nx
import numpy as np
import pytest
from handnet import hand_graph
from scipy.sparse.csgraph import dijkstra

import stationplan as sp
from stationplan import _route

# Sites as (edge, fraction of its length) on the bike network below (footways dropped):
# mid-edge on the one-way B→C and Q1→R, near an end, two on Q—Q1, one on the isolated U—V.
SITES = [(1, 0.5), (0, 0.2), (4, 0.25), (4, 0.75), (5, 0.5), (7, 0.9)]


def _oneway_hand():
    """The hand network for bikes with B→C and Q1→R one-way (their reverse arcs removed)."""
    g = hand_graph()
    g.remove_edge(3, 2)
    g.remove_edge(14, 13)
    for a, b in ((2, 3), (13, 14)):
        g[a][b][0]["oneway"] = True
    return sp.network_from_graph(g, mode="bike")


@pytest.fixture(scope="module")
def oneway():
    net = _oneway_hand()
    e = net.edges
    assert not e["bwd"].all()  # the fixture really has one-way streets
    edge = np.array([s[0] for s in SITES])
    off = np.array([s[1] for s in SITES]) * e["length_m"].to_numpy()[edge]
    return net, edge, off


def _street_arcs(net):
    """(tail, head, metres) per allowed direction of travel, read from the edge table."""
    for row in net.edges.itertuples():
        if row.fwd:
            yield row.u, row.v, row.length_m
        if row.bwd:
            yield row.v, row.u, row.length_m


def _split_travel_graph(net, edge, off):
    """networkx DiGraph of travel arcs, each site inserted as a node on its edge."""
    g = nx.DiGraph()
    g.add_nodes_from(range(len(net.nodes)))
    by_edge = {}
    for s, (i, o) in enumerate(zip(edge, off, strict=True)):
        by_edge.setdefault(int(i), []).append((float(o), ("site", s)))
    for i, row in enumerate(net.edges.itertuples()):
        chain = [(0.0, row.u), *sorted(by_edge.get(i, [])), (row.length_m, row.v)]
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            for tail, head, ok in ((a, b, row.fwd), (b, a, row.bwd)):
                if ok and (not g.has_edge(tail, head) or g[tail][head]["w"] > o2 - o1):
                    g.add_edge(tail, head, w=o2 - o1)
    return g


def test_nearest_sites_one_way_against_networkx(oneway):
    net, edge, off = oneway
    limit = 900.0
    dist, site = _route.nearest_sites(net, edge, off, limit_m=limit)
    g = _split_travel_graph(net, edge, off)
    # distance from a node *to* a site: search from the sites on the reversed graph
    per_site = [nx.single_source_dijkstra_path_length(g.reverse(), ("site", s), weight="w")
                for s in range(len(edge))]
    for x in range(len(net.nodes)):
        d = [p.get(x, math.inf) for p in per_site]
        best = min(d)
        if best > limit:
            assert dist[x] == math.inf
            assert site[x] == -1
        else:
            assert dist[x] == pytest.approx(best, abs=1e-9)
            assert site[x] == d.index(best)  # ties go to the first site


def test_a_search_asked_again_is_kept_and_each_caller_gets_its_own_arrays(oneway):
    net, edge, off = oneway
    first, site = _route.nearest_sites(net, edge, off, limit_m=900.0)
    want, want_site = first.copy(), site.copy()
    first[:] = 0.0  # a caller changing its arrays changes no later caller's
    site[:] = -1
    again, again_site = _route.nearest_sites(net, edge, off, limit_m=900.0)
    np.testing.assert_array_equal(again, want)
    np.testing.assert_array_equal(again_site, want_site)
    kept = _route.routing(net).searches
    assert (900.0, edge.astype(np.int64).tobytes(), off.astype(float).tobytes()) in kept
    # only the latest few: as many other searches as it keeps push the first out
    for k in range(1, _route.search.KEPT_SEARCHES + 1):
        _route.nearest_sites(net, edge, off, limit_m=900.0 + k)
    assert len(kept) == _route.search.KEPT_SEARCHES
    assert 900.0 not in {key[0] for key in kept}
    np.testing.assert_array_equal(_route.nearest_sites(net, edge, off, limit_m=900.0)[0], want)


def test_one_way_edge_reached_from_its_tail_only(oneway):
    net, _, _ = oneway
    e = net.edges
    i = int(np.flatnonzero(e["fwd"].to_numpy() & ~e["bwd"].to_numpy())[0])
    u, v, length = int(e["u"].iat[i]), int(e["v"].iat[i]), float(e["length_m"].iat[i])
    dist, _ = _route.nearest_sites(net, np.array([i]), np.array([0.5 * length]))
    assert dist[u] == pytest.approx(0.5 * length)
    assert dist[v] > 0.5 * length  # v may only ride round the block, not back along the edge


def test_site_graph_travel_against_networkx(oneway):
    net, edge, off = oneway
    n = len(net.nodes)
    graph = _route.site_graph(net, edge, off)
    assert graph.shape == (n + len(edge), n + len(edge))
    got = dijkstra(graph, indices=n + np.arange(len(edge)))
    rev = _split_travel_graph(net, edge, off).reverse()
    for s in range(len(edge)):
        want = nx.single_source_dijkstra_path_length(rev, ("site", s), weight="w")
        for x in range(n):
            assert got[s, x] == pytest.approx(want.get(x, math.inf), abs=1e-9)


def test_symmetric_graph_against_networkx(oneway):
    net, edge, off = oneway
    n = len(net.nodes)
    g = nx.Graph()
    g.add_nodes_from(range(n + len(edge)))
    for a, b, w in _street_arcs(net):
        if not g.has_edge(a, b) or g[a][b]["w"] > w:
            g.add_edge(a, b, w=w)
    e = net.edges
    for s, (i, o) in enumerate(zip(edge, off, strict=True)):
        # a site joins the ends it can be reached from, then arcs go both ways
        if e["fwd"].iat[i]:
            g.add_edge(n + s, int(e["u"].iat[i]), w=o)
        if e["bwd"].iat[i]:
            g.add_edge(n + s, int(e["v"].iat[i]), w=e["length_m"].iat[i] - o)
    graph = _route.site_graph(net, edge, off, kind="symmetric")
    assert (graph != graph.T).nnz == 0
    got = dijkstra(graph, indices=n + np.arange(len(edge)))
    for s in range(len(edge)):
        want = nx.single_source_dijkstra_path_length(g, n + s, weight="w")
        for x in range(n + len(edge)):
            assert got[s, x] == pytest.approx(want.get(x, math.inf), abs=1e-9)


def _split_undirected(net, edge, off):
    """networkx Graph of every street both ways, split at every site."""
    g = nx.Graph()
    by_edge = {}
    for s, (i, o) in enumerate(zip(edge, off, strict=True)):
        by_edge.setdefault(int(i), []).append((float(o), ("site", s)))
    for i, row in enumerate(net.edges.itertuples()):
        chain = [(0.0, row.u), *sorted(by_edge.get(i, [])), (row.length_m, row.v)]
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            if not g.has_edge(a, b) or g[a][b]["w"] > o2 - o1:
                g.add_edge(a, b, w=o2 - o1)
    return g


def test_undirected_pair_distances_against_networkx(oneway):
    net, edge, off = oneway
    n = len(net.nodes)
    graph = _route.site_graph(net, edge, off, kind="undirected")
    nodes = n + np.arange(len(edge))
    got = _route.pair_distances(graph, nodes)
    g = _split_undirected(net, edge, off)
    for a in range(len(edge)):
        want = nx.single_source_dijkstra_path_length(g, ("site", a), weight="w")
        for b in range(len(edge)):
            assert got[a, b] == pytest.approx(want.get(("site", b), math.inf), abs=1e-9)
    # two sites on one edge: the stretch between them, one-way or not
    assert got[2, 3] == pytest.approx(off[3] - off[2])
    assert np.array_equal(got, got.T)


def test_undirected_site_graph_is_every_arc_once_at_its_shortest(oneway):
    # the street rows are built once per network and the sites' arcs merged in: the
    # graph must hold exactly the arcs of the streets both ways and of the sites (to both
    # ends of their edge, between neighbours on it), each at its shortest, zeros kept
    net, edge, off = oneway
    n = len(net.nodes)
    e = net.edges
    calls = [(edge, off), (np.r_[edge[:3], 4], np.r_[off[:3], 0.0])]  # again: cached rows
    for edge_id, offset in calls:
        want = {}

        def arc(a, b, w, want=want):
            for t, h in ((a, b), (b, a)):
                want[t, h] = min(want.get((t, h), math.inf), max(w, 0.0))

        for row in e.itertuples():
            arc(row.u, row.v, row.length_m)
        by_edge = {}
        for s, (i, o) in enumerate(zip(edge_id, offset, strict=True)):
            row = e.iloc[int(i)]
            arc(n + s, row["u"], o)
            arc(n + s, row["v"], row["length_m"] - o)
            by_edge.setdefault(int(i), []).append((float(o), s))
        for sites in by_edge.values():
            for (o1, a), (o2, b) in itertools.pairwise(sorted(sites)):
                arc(n + a, n + b, o2 - o1)
        graph = _route.site_graph(net, edge_id, offset, kind="undirected").tocoo()
        got = dict(zip(zip(graph.row.tolist(), graph.col.tolist(), strict=True),
                       graph.data.tolist(), strict=True))
        assert len(got) == graph.nnz  # no arc twice
        assert got == want
    assert 0.0 in got.values()  # the last call's site at an edge's end: a zero arc, kept


def test_distance_blocks_batch_without_changing_values(oneway):
    net, edge, off = oneway
    n = len(net.nodes)
    graph = _route.site_graph(net, edge, off, kind="undirected")
    sources = n + np.arange(len(edge))
    whole = dijkstra(graph, indices=sources, limit=700.0)
    blocks = list(_route.distance_blocks(graph, sources, limit_m=700.0,
                                         block_entries=2 * graph.shape[0]))
    assert [(lo, hi) for lo, hi, _ in blocks] == [(0, 2), (2, 4), (4, 6)]
    assert np.array_equal(np.vstack([d for _, _, d in blocks]), whole)


def test_nearest_distances_against_networkx(oneway):
    net, edge, off = oneway
    n = len(net.nodes)
    graph = _route.site_graph(net, edge, off, kind="undirected")
    sources = n + np.array([4, 0, 1])
    dist, which = _route.nearest_distances(graph, sources)
    g = _split_undirected(net, edge, off)
    per = [nx.single_source_dijkstra_path_length(g, ("site", s - n), weight="w")
           for s in sources]
    for x in range(n):
        d = [p.get(x, math.inf) for p in per]
        assert dist[x] == pytest.approx(min(d), abs=1e-9)
        if math.isinf(min(d)):
            assert which[x] == -1
        else:
            assert d[which[x]] == pytest.approx(min(d), abs=1e-9)


def test_routing_cache_lives_on_the_network():
    net = sp.network_from_graph(hand_graph())
    assert "_routing" not in vars(net)  # built on first use only
    first = _route.routing(net)
    assert _route.routing(net) is first
    assert vars(net)["_routing"] is first
    assert first.reversed_graph.shape == (len(net.nodes), len(net.nodes))
    other = sp.network_from_graph(hand_graph())
    assert _route.routing(other) is not first
    # a changed copy is another network: it gets its own arrays, not the original's
    fewer = dataclasses.replace(net, edges=net.edges.iloc[:3].reset_index(drop=True))
    assert len(_route.routing(fewer).u) == 3
    assert _route.routing(net) is first


def test_site_graph_rejects_an_unknown_kind(oneway):
    net, edge, off = oneway
    with pytest.raises(sp.InputError, match="kind"):
        _route.site_graph(net, edge, off, kind="reversed")
