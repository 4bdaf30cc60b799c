"""Searches on the routing graphs: nearest site, bounded searches from sites, batched
distances, and cutting edges where the distance along them crosses a limit.

Sites (stations, candidates, proposals) lie on edges at an offset from the edge's ``u``
end; they enter a search through :func:`~stationplan._route.graph.site_seeds` or as
the extra nodes of :func:`~stationplan._route.graph.site_graph`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csc_array, csr_array
from scipy.sparse.csgraph import dijkstra

from .._errors import InputError
from . import kernels
from .graph import routing, site_seeds

if TYPE_CHECKING:
    from .._streets import StreetNetwork

# Entries of one dense block of search results (sources x nodes): bounds memory.
BLOCK_ENTRIES = 5_000_000
# Nearest-site searches a network keeps (the latest; two arrays of a number per node each).
KEPT_SEARCHES = 2


def nearest_sites(
    network: StreetNetwork,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    limit_m: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every node to its nearest site, by one bounded multi-source search.

    The search starts at the sites' edge ends (with the distance along the edge to the
    site) and runs on the reversed graph, so distances are in the travel direction
    towards the site; it touches only the nodes it reaches. A node equally far from two
    sites gets the first of them.

    Parameters
    ----------
    network
        The street network.
    edge_id, offset_m
        Each site's edge (row of ``network.edges``) and offset from its ``u`` end.
    limit_m
        Stop the search at this distance; farther nodes get ``inf``.

    Returns
    -------
    dist_m
        Per node, metres to the nearest site (``inf`` if beyond ``limit_m``).
    site
        Per node, the index (into ``edge_id``) of that site, or -1.
    """
    n = len(network.nodes)
    k = len(edge_id)
    if k == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if max(n, k) >= 2**31:  # the search packs a site and a node in one heap key
        msg = f"{n:,} nodes and {k:,} stations: too many for one search (limit 2**31)"
        raise InputError(msg)
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    kept = routing(network).searches
    key = (float(limit_m), edge_id.tobytes(), offset_m.tobytes())
    found = kept.get(key)
    if found is None:
        node, cost, ptr = site_seeds(network, edge_id, offset_m)
        site = np.repeat(np.arange(k), np.diff(ptr))
        graph = routing(network).reversed_graph
        found = kernels.nearest_source(graph.indptr, graph.indices, graph.data, node, cost,
                                       site, float(limit_m))
        kept[key] = found
        for old in list(kept)[:-KEPT_SEARCHES]:  # the oldest go (dicts keep their order)
            kept.pop(old, None)
    return found[0].copy(), found[1].copy()  # the caller's own


def distance_blocks(
    graph: csr_array,
    sources: np.ndarray,
    *,
    limit_m: float = np.inf,
    block_entries: int = BLOCK_ENTRIES,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Distances from each source to every node, a block of sources at a time.

    Parameters
    ----------
    graph
        A graph from :func:`~stationplan._route.graph.site_graph` (weights in metres).
    sources
        Source nodes.
    limit_m
        Nodes farther than this get ``inf``.
    block_entries
        Most entries (sources x nodes) in one block.

    Yields
    ------
    lo, hi, dist
        ``dist[i - lo, node]`` is the distance from ``sources[i]`` for ``lo <= i < hi``.
    """
    sources = np.asarray(sources)
    k = len(sources)
    batch = max(1, min(k, block_entries // max(graph.shape[0], 1)))
    for lo in range(0, k, batch):
        hi = min(k, lo + batch)
        yield lo, hi, dijkstra(graph, indices=sources[lo:hi], limit=limit_m)


def nearest_distances(
    graph: csr_array, sources: np.ndarray, *, limit_m: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every node to the nearest of ``sources``, and which one.

    Parameters
    ----------
    graph
        A graph from :func:`~stationplan._route.graph.site_graph`.
    sources
        Source nodes.
    limit_m
        Nodes farther than this get ``inf``.

    Returns
    -------
    dist_m
        Per node, metres to the nearest source (``inf`` if none in reach).
    source
        Per node, the position in ``sources`` of that source, or -1.
    """
    sources = np.asarray(sources, dtype=np.int64)
    dist, _, src = dijkstra(graph, indices=sources, min_only=True, limit=limit_m,
                            return_predecessors=True)
    position = np.full(graph.shape[0], -1, dtype=np.int64)
    position[sources] = np.arange(len(sources))
    return dist, np.where(src >= 0, position[np.maximum(src, 0)], -1)


def nearest_targets(
    graph: csr_array,
    sources: np.ndarray,
    source_set: np.ndarray,
    set_ptr: np.ndarray,
    set_nodes: np.ndarray,
    *,
    limit_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per source, the nearest node of its own target set, within ``limit_m``.

    Each source gets a bounded search that stops as soon as its nearest target is
    settled (compiled), so its cost is the neighbourhood up to that target,
    not the graph. Distances are the numbers :func:`scipy.sparse.csgraph.dijkstra` gives.

    Parameters
    ----------
    graph
        A graph from :func:`~stationplan._route.graph.site_graph` (weights in metres).
    sources
        Source nodes.
    source_set
        Per source, the number ``s`` of its target set.
    set_ptr, set_nodes
        Target set ``s`` is ``set_nodes[set_ptr[s]:set_ptr[s + 1]]``, ascending.
    limit_m
        Targets farther than this are not found (one exactly this far is).

    Returns
    -------
    node
        Per source, its nearest target (of several equally near: the lowest number), or -1.
    dist_m
        Per source, metres to that target (``inf`` where none).

    Examples
    --------
    A path 0 - 1 - 2 - 3 of 10 m steps; from node 0 the nearest of {2, 3}, and of {3}
    within 25 m (none):

    >>> g = csr_array((np.full(6, 10.0), ([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2])),
    ...               shape=(4, 4))
    >>> node, dist = nearest_targets(g, np.array([0, 0]), np.array([0, 1]),
    ...                              np.array([0, 2, 3]), np.array([2, 3, 3]), limit_m=25.0)
    >>> node.tolist(), dist.tolist()
    ([2, -1], [20.0, inf])
    """
    sources = np.asarray(sources, dtype=np.int64)
    source_set = np.asarray(source_set, dtype=np.int64)
    set_ptr = np.asarray(set_ptr, dtype=np.int64)
    set_nodes = np.asarray(set_nodes, dtype=np.int64)
    indptr = graph.indptr.astype(np.int64)
    indices = graph.indices.astype(np.int64)
    weights = graph.data.astype(float)
    k = len(sources)

    def run(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return kernels.nearest_in_sets(indptr, indices, weights, sources[lo:hi],
                                       source_set[lo:hi], set_ptr, set_nodes, float(limit_m))

    # a few batches per core: both cores share the work
    batch = max(1, -(-k // (4 * _workers())))
    bounds = [(lo, min(k, lo + batch)) for lo in range(0, k, batch)]
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        parts = list(pool.map(lambda b: run(*b), bounds))
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def pair_distances(graph: csr_array, nodes: np.ndarray) -> np.ndarray:
    """Distances between every two of ``nodes`` (``inf`` when not connected).

    Parameters
    ----------
    graph
        A graph from :func:`~stationplan._route.graph.site_graph`.
    nodes
        The nodes, ``k`` of them.

    Returns
    -------
    numpy.ndarray
        ``k x k``; row ``i`` holds the distances from ``nodes[i]`` (0 on the diagonal).
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    out = np.full((len(nodes), len(nodes)), np.inf)
    for lo, hi, dist in distance_blocks(graph, nodes):
        out[lo:hi] = dist[:, nodes]
    return out


def reached_points(
    network: StreetNetwork,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    point_edge: np.ndarray,
    point_m: np.ndarray,
    *,
    limit_m: float,
    batch_entries: int = 20_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which points on edges each site reaches within ``limit_m`` (travelling to the site).

    Each site gets its own bounded search that touches only the nodes it reaches (no
    per-site work proportional to the whole network), run in compiled code on all cores.

    Parameters
    ----------
    network
        The street network.
    edge_id, offset_m
        Site positions (edge row, metres from ``u``).
    point_edge, point_m
        Point positions, sorted by edge.
    limit_m
        Distance limit in metres (a point exactly this far, within 1e-9 m, is reached).
    batch_entries
        Bounds the work between two progress reports (sites x nodes reached).
    progress
        Called as ``progress(done, total)`` after each batch.

    Returns
    -------
    ptr, points
        Site ``s`` reaches the points ``points[ptr[s]:ptr[s + 1]]`` (sorted).
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    point_edge = np.asarray(point_edge, dtype=np.int64)
    point_m = np.asarray(point_m, dtype=float)
    k = len(edge_id)
    prep = routing(network)
    graph = prep.reversed_graph
    (ptr_u, order_u, base_u), (ptr_v, order_v, base_v) = _incidence(network, point_edge,
                                                                    point_m)
    seed_node, seed_cost, seed_ptr = site_seeds(network, edge_id, offset_m)
    s_fwd, s_bwd = prep.fwd[edge_id], prep.bwd[edge_id]
    same_lo = np.searchsorted(point_edge, edge_id, side="left")
    same_hi = np.searchsorted(point_edge, edge_id, side="right")
    indptr = graph.indptr.astype(np.int64)
    indices = graph.indices.astype(np.int64)
    weights = graph.data.astype(float)

    def run(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return kernels.coverage_sets(
            indptr, indices, weights, seed_node[seed_ptr[lo]:seed_ptr[hi]],
            seed_cost[seed_ptr[lo]:seed_ptr[hi]], seed_ptr[lo:hi + 1] - seed_ptr[lo],
            float(limit_m), ptr_u, order_u, base_u, ptr_v, order_v, base_v,
            same_lo[lo:hi], same_hi[lo:hi], point_m, offset_m[lo:hi], s_fwd[lo:hi],
            s_bwd[lo:hi], len(point_edge),
        )

    # Batches small enough for a progress bar, and for both cores to share the work.
    per_site = max(1, min(len(network.nodes), 4 * int(limit_m)))  # rough nodes reached
    batch = int(min(max(1, k // 8), max(64, batch_entries // per_site)))
    bounds = [(lo, min(k, lo + batch)) for lo in range(0, k, batch)]
    counts, rows = [], []
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        for (_, hi), (count, found) in zip(bounds, pool.map(lambda b: run(*b), bounds),
                                            strict=True):
            counts.append(count)
            rows.append(found)
            if progress is not None:
                progress(hi, k)
    count = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(count, out=ptr[1:])
    found = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    return ptr, found


def reach_matrix(ptr: np.ndarray, points: np.ndarray, n_points: int) -> csc_array:
    """The output of :func:`reached_points` as a sparse ``points x sites`` 0/1 matrix.

    Examples
    --------
    >>> reach_matrix(np.array([0, 2, 2]), np.array([0, 2], np.int32), 3).toarray().tolist()
    [[1, 0], [0, 0], [1, 0]]
    >>> reach_matrix(np.zeros(1, np.int64), np.zeros(0, np.int32), 2).shape
    (2, 0)
    """
    index_dtype = np.int32 if len(points) < np.iinfo(np.int32).max else np.int64
    mat = csc_array((np.ones(len(points), dtype=np.int8), points.astype(index_dtype, copy=False),
                     ptr.astype(index_dtype)), shape=(n_points, len(ptr) - 1))
    mat.has_sorted_indices = True
    return mat


def _workers() -> int:
    """Threads for the compiled searches: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _incidence(network: StreetNetwork, point_edge: np.ndarray, point_m: np.ndarray
               ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per node, the points reachable by leaving the node along their edge, and the cost base.

    A rider at a point leaves through ``u`` (needs bwd) at cost ``point_m``, or through
    ``v`` (needs fwd) at cost ``length - point_m``; searches arrive at the node the other
    way round.
    """
    prep = routing(network)
    n = len(network.nodes)
    eu, ev = prep.u[point_edge], prep.v[point_edge]
    fwd, bwd = prep.fwd[point_edge], prep.bwd[point_edge]
    length = prep.length[point_edge]
    out = []
    for node, ok, base in ((eu, bwd, point_m), (ev, fwd, length - point_m)):
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(node[idx], kind="stable")]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(node[order], minlength=n), out=ptr[1:])
        out.append((ptr, order.astype(np.int64), np.asarray(base, dtype=float)))
    return out


def edge_pieces(
    network: StreetNetwork,
    node_dist: np.ndarray,
    node_src: np.ndarray,
    st_edge: np.ndarray,
    st_off: np.ndarray,
    *,
    limit_m: float,
    eps_m: float,
) -> tuple[np.ndarray, ...]:
    """Cut every edge into pieces with one nearest station and one coverage status.

    Parameters
    ----------
    network
        The street network.
    node_dist, node_src
        Output of :func:`nearest_sites` for the stations.
    st_edge, st_off
        The stations' edges and offsets.
    limit_m
        Coverage limit in metres.
    eps_m
        Breakpoints closer than this are one point.

    Returns
    -------
    tuple of numpy.ndarray
        Per piece: edge id, start and end (metres from ``u``), distance to the nearer
        end, the nearest station (index into the station arrays, -1 if none), and whether
        the piece is covered (pieces never straddle the limit, so the midpoint decides).
    """
    prep = routing(network)
    st_edge = np.asarray(st_edge, dtype=np.int64)
    order = np.argsort(st_edge, kind="stable")  # stations on one edge keep their order
    args = (prep.u, prep.v, prep.length, prep.fwd, prep.bwd, node_dist,
            np.asarray(node_src, dtype=np.int64), st_edge[order], order,
            np.asarray(st_off, dtype=float), float(limit_m), eps_m)
    m = len(prep.u)
    # Room for one piece per edge and a quarter more; pages never written cost nothing.
    out = _piece_arrays(m + m // 4 + 16 * len(st_edge) + 16)
    edge = k = at_st = 0
    while True:
        edge, k, at_st, need = kernels.cut_edges(*args, *out, edge, k, at_st)
        if edge == m:
            return tuple(a[:k] for a in out)
        more = _piece_arrays(max(need, len(out[0]) // 2))
        out = tuple(np.concatenate([a[:k], b]) for a, b in zip(out, more, strict=True))


def _piece_arrays(n: int) -> tuple[np.ndarray, ...]:
    """Empty piece columns: edge, start, end, distance, station, covered."""
    return (np.empty(n, dtype=np.int64), np.empty(n), np.empty(n), np.empty(n),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=bool))


def piece_farthest(
    network: StreetNetwork,
    node_dist: np.ndarray,
    site_edge: np.ndarray,
    site_off: np.ndarray,
    piece_edge: np.ndarray,
    start_m: np.ndarray,
    end_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The largest distance to the nearest site over each edge piece, and where it lies.

    Along an edge, the distance from a point ``x`` metres from ``u`` to the nearest site
    is the least of leaving through ``u`` (``node_dist[u] + x``, if travel v→u is
    allowed), leaving through ``v`` (``node_dist[v] + length - x``, if u→v is) and
    riding to a site on the edge (``|x - s|``, in an allowed direction). On a piece with
    no site inside, that is ``min(a + x, b - x)``: concave, so it is largest where the
    two meet, or at the piece end nearer that point. Computed exactly, not sampled.

    Parameters
    ----------
    network
        The street network.
    node_dist
        Per node, the distance to the nearest site (:func:`nearest_sites`). From a search
        bounded at ``limit_m``, a maximum up to ``limit_m`` is exact, and one beyond it
        (or ``inf``) only says that some point of the piece is farther than ``limit_m``.
    site_edge, site_off
        The sites' edges and offsets from ``u`` (the same sites as ``node_dist``).
    piece_edge, start_m, end_m
        The pieces: edge rows and their ends in metres from ``u``; no site may lie
        strictly inside a piece (as on coverage's gap pieces).

    Returns
    -------
    dist_m
        Per piece, the largest distance (``inf`` if some point reaches no site).
    at_m
        Per piece, where it is, in metres from the edge's ``u`` end (NaN where ``inf``).

    Examples
    --------
    A piece 100–400 m along an edge of 500 m whose ``u`` end is 50 m from a site and
    whose ``v`` end is 250 m from one: the two meet at 350 m, 400 m from a site.

    >>> from types import SimpleNamespace
    >>> net = SimpleNamespace(_routing=SimpleNamespace(u=np.array([0]), v=np.array([1]),
    ...     length=np.array([500.0]), fwd=np.array([True]), bwd=np.array([True])))
    >>> d, at = piece_farthest(net, np.array([50.0, 250.0]), np.zeros(0, int), np.zeros(0),
    ...                        np.array([0]), np.array([100.0]), np.array([400.0]))
    >>> d.tolist(), at.tolist()
    ([400.0], [350.0])
    >>> piece_farthest(net, np.array([np.inf, np.inf]), np.zeros(0, int), np.zeros(0),
    ...                np.array([0]), np.array([0.0]), np.array([500.0]))[0].tolist()
    [inf]
    """
    prep = routing(network)
    piece_edge = np.asarray(piece_edge, dtype=np.int64)
    start_m = np.asarray(start_m, dtype=float)
    end_m = np.asarray(end_m, dtype=float)
    fwd, bwd = prep.fwd[piece_edge], prep.bwd[piece_edge]
    length = prep.length[piece_edge]
    # distance = min(left + x, right - x)
    left = np.where(bwd, node_dist[prep.u[piece_edge]], np.inf)
    right = np.where(fwd, node_dist[prep.v[piece_edge]] + length, np.inf)
    site_edge = np.asarray(site_edge, dtype=np.int64)
    site_off = np.asarray(site_off, dtype=float)
    order = np.lexsort((site_off, site_edge))
    site_edge, site_off = site_edge[order], site_off[order]
    lo = np.searchsorted(site_edge, piece_edge, side="left")
    hi = np.searchsorted(site_edge, piece_edge, side="right")
    # Few pieces share an edge with a site: a loop over them is cheap.
    for i in np.flatnonzero(hi > lo):
        offs = site_off[lo[i]:hi[i]]
        k = int(np.searchsorted(offs, (start_m[i] + end_m[i]) / 2, side="right"))
        if k > 0 and bwd[i]:  # the nearest site before the piece, reached riding back
            left[i] = min(left[i], -offs[k - 1])
        if k < len(offs) and fwd[i]:  # the nearest site after it, riding on
            right[i] = min(right[i], offs[k])
    both = np.isfinite(left) & np.isfinite(right)
    meet = np.divide(np.subtract(right, left, out=np.zeros(len(left)), where=both), 2.0)
    at = np.where(both, np.clip(meet, start_m, end_m),
                  np.where(np.isfinite(left), end_m, start_m))
    dist = np.minimum(left + at, right - at)
    return dist, np.where(np.isfinite(dist), at, np.nan)
