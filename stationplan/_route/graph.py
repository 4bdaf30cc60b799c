"""The CSR graphs the searches run on, built in one place.

A network's routing arrays (edge ends, lengths, travel directions) and its reversed
street graph are built once per network and kept on the network object
(:attr:`StreetNetwork._routing <stationplan.network.StreetNetwork>`); every graph with
station or site nodes is built from them by :func:`site_graph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy.sparse import csr_array

from .._errors import InputError
from .kernels import shortest_arcs

if TYPE_CHECKING:
    from .._streets import StreetNetwork

GraphKind = Literal["travel", "symmetric", "undirected"]


@dataclass(frozen=True)
class Routing:
    """Arrays of a network that every search needs, built once per network.

    Parameters
    ----------
    u, v
        Node position of each edge's ends.
    length
        Edge length in metres.
    fwd, bwd
        Whether travel u→v / v→u is allowed.
    reversed_graph
        Street arcs only, travel direction reversed (an arc v→u for travel u→v), so a
        search from the sites finds distances *to* them.
    searches
        The latest nearest-site searches on it (:func:`~._route.search.nearest_sites`),
        by their sites and limit, kept for a caller that asks again (or whose search was
        made ahead on another thread).
    """

    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    fwd: np.ndarray
    bwd: np.ndarray
    reversed_graph: csr_array
    searches: dict[tuple[float, bytes, bytes], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False)

    @cached_property
    def undirected_graph(self) -> csr_array:
        """Street arcs both ways whatever the travel directions (the shorter of parallel
        ones), built on first use: the street rows of every ``undirected`` site graph."""
        n = len(self.reversed_graph.indptr) - 1
        return csr_min(np.concatenate([self.u, self.v]), np.concatenate([self.v, self.u]),
                       np.maximum(np.concatenate([self.length, self.length]), 0.0), n)


def build_routing(network: StreetNetwork) -> Routing:
    """Build the routing arrays of ``network`` (use :func:`routing`, which caches them).

    Parameters
    ----------
    network
        The street network.

    Returns
    -------
    Routing
    """
    n = len(network.nodes)
    e = network.edges
    u = e["u"].to_numpy(dtype=np.int64)
    v = e["v"].to_numpy(dtype=np.int64)
    length = e["length_m"].to_numpy(dtype=float)
    fwd = e["fwd"].to_numpy(dtype=bool)
    bwd = e["bwd"].to_numpy(dtype=bool)
    tails = np.concatenate([v[fwd], u[bwd]])
    heads = np.concatenate([u[fwd], v[bwd]])
    weights = np.concatenate([length[fwd], length[bwd]])
    graph = csr_min(tails, heads, np.maximum(weights, 0.0), n)
    return Routing(u, v, length, fwd, bwd, graph)


def routing(network: StreetNetwork) -> Routing:
    """The network's routing arrays, built on first use and kept on the network.

    A network is read-only (see :class:`~stationplan.StreetNetwork`), so its graph is
    built once, not once per call, and is dropped with the network.

    Parameters
    ----------
    network
        The street network.

    Returns
    -------
    Routing
    """
    return network._routing


def csr_min(tails: np.ndarray, heads: np.ndarray, weights: np.ndarray, n: int) -> csr_array:
    """CSR graph keeping the shortest of parallel arcs (scipy would add them up).

    Parameters
    ----------
    tails, heads, weights
        One entry per arc.
    n
        Number of rows (nodes that may have arcs).

    Returns
    -------
    scipy.sparse.csr_array
        Rows ``0 .. n-1``, columns sorted within each row.

    Examples
    --------
    >>> g = csr_min(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([5.0, 2.0, 3.0]), 2)
    >>> g.toarray().tolist()
    [[0.0, 2.0], [3.0, 0.0]]
    >>> csr_min(np.zeros(0, int), np.zeros(0, int), np.zeros(0), 1).nnz
    0
    """
    tails = np.asarray(tails, dtype=np.int64)
    heads = np.asarray(heads, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    width = int(max(n, heads.max() + 1 if len(heads) else 0))
    if len(tails) and not 0 <= int(tails.min()) <= int(tails.max()) < n:
        msg = f"arcs from nodes outside 0..{n - 1}"
        raise ValueError(msg)
    indptr, indices, data = shortest_arcs(tails, heads, weights, n)
    return csr_array((data, indices, indptr), shape=(n, max(n, width)))


def site_seeds(
    network: StreetNetwork, edge_id: np.ndarray, offset_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each site enters the reversed graph: the ends of its edge it can be reached from.

    A site on edge u→v at ``offset_m`` from ``u`` is reached from ``u`` (if travel u→v
    is allowed) at cost ``offset_m``, and from ``v`` (if v→u is allowed) at cost
    ``length - offset_m``.

    Parameters
    ----------
    network
        The street network.
    edge_id, offset_m
        Each site's edge (row of ``network.edges``) and offset from its ``u`` end.

    Returns
    -------
    node, cost
        Seed nodes and their costs in metres (never negative), site by site, ``u``
        before ``v``.
    ptr
        Site ``s`` has the seeds ``ptr[s]:ptr[s + 1]``.
    """
    prep = routing(network)
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    node = np.stack([prep.u[edge_id], prep.v[edge_id]], axis=1).ravel()
    cost = np.maximum(np.stack([offset_m, prep.length[edge_id] - offset_m], axis=1), 0.0)
    ok = np.stack([prep.fwd[edge_id], prep.bwd[edge_id]], axis=1).ravel()
    ptr = np.concatenate([[0], np.cumsum(ok.reshape(-1, 2).sum(axis=1))]).astype(np.int64)
    return node[ok], cost.ravel()[ok], ptr


def site_graph(
    network: StreetNetwork,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    kind: GraphKind = "travel",
) -> csr_array:
    """The street graph with one extra node per site (nodes ``n .. n+k-1``).

    Parameters
    ----------
    network
        The street network (``n`` nodes).
    edge_id, offset_m
        Each site's edge (row of ``network.edges``) and offset from its ``u`` end.
    kind
        "travel": the reversed street graph (one-way rules kept), each site joined to
        the edge ends it can be reached from, so a search from a site finds the distance
        *to* it. "symmetric": that graph with every arc also reversed (the shorter of
        two parallel arcs kept), a distance apart rather than a trip; a site still joins
        only the ends it can be reached from. "undirected": every street both ways
        whatever its one-way rules, each site joined to both ends of its edge, and sites
        on one edge chained in offset order, so the distance between two of them is the
        stretch between.

    Returns
    -------
    scipy.sparse.csr_array
        ``(n + k) x (n + k)`` graph, weights in metres.
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    if kind == "undirected":
        return _undirected(network, edge_id, offset_m)
    if kind not in ("travel", "symmetric"):
        msg = f"kind must be 'travel', 'symmetric' or 'undirected', got {kind!r}"
        raise InputError(msg)
    graph = _travel(network, edge_id, offset_m)
    if kind == "travel":
        return graph
    # Adding the matrix to its transpose would double two-way streets: keep the shorter.
    arcs = graph.tocoo()
    return csr_min(np.concatenate([arcs.row, arcs.col]), np.concatenate([arcs.col, arcs.row]),
                   np.concatenate([arcs.data, arcs.data]), graph.shape[0])


def _travel(network: StreetNetwork, edge_id: np.ndarray, offset_m: np.ndarray) -> csr_array:
    """The reversed street graph plus one row per site (arcs site → seed nodes)."""
    n = len(network.nodes)
    k = len(edge_id)
    node, cost, ptr = site_seeds(network, edge_id, offset_m)
    site_rows = csr_min(np.repeat(np.arange(k), np.diff(ptr)), node, cost, k)
    # The street rows do not depend on the sites: reuse them, append one row per site.
    base = routing(network).reversed_graph
    indptr = np.concatenate([base.indptr, base.indptr[-1] + site_rows.indptr[1:]])
    indices = np.concatenate([base.indices, site_rows.indices.astype(base.indices.dtype)])
    data = np.concatenate([base.data, site_rows.data])
    return csr_array((data, indices, indptr), shape=(n + k, n + k))


def _undirected(network: StreetNetwork, edge_id: np.ndarray, offset_m: np.ndarray) -> csr_array:
    """Every street both ways, sites joined to both ends of their edge and chained.

    The street rows come from :attr:`Routing.undirected_graph`, built once; each node's
    arcs to sites (all numbered above the nodes) follow its street arcs, so the rows are
    those of one :func:`csr_min` of all arcs (no arc between two nodes involves a site).
    """
    n = len(network.nodes)
    prep = routing(network)
    u, v, length = prep.u, prep.v, prep.length
    k = len(edge_id)
    sites = n + np.arange(k)
    order = np.lexsort((offset_m, edge_id))
    same = edge_id[order][1:] == edge_id[order][:-1]
    a, b = order[:-1][same], order[1:][same]
    t = np.concatenate([sites, sites, sites[a]])
    h = np.concatenate([u[edge_id], v[edge_id], sites[b]])
    w = np.concatenate([offset_m, length[edge_id] - offset_m, offset_m[b] - offset_m[a]])
    extra = csr_min(np.concatenate([t, h]), np.concatenate([h, t]),
                    np.maximum(np.concatenate([w, w]), 0.0), n + k)
    base = prep.undirected_graph
    base_count = np.zeros(n + k, dtype=np.int64)
    base_count[:n] = np.diff(base.indptr)
    extra_count = np.diff(extra.indptr)
    indptr = np.zeros(n + k + 1, dtype=np.int64)
    np.cumsum(base_count + extra_count, out=indptr[1:])
    rows = np.repeat(np.arange(n + k), base_count)
    at_base = indptr[rows] + np.arange(len(rows)) - np.asarray(base.indptr)[rows]
    rows = np.repeat(np.arange(n + k), extra_count)
    at_extra = indptr[rows] + base_count[rows] + np.arange(len(rows)) - extra.indptr[rows]
    indices = np.empty(indptr[-1], dtype=np.int64)
    data = np.empty(indptr[-1])
    indices[at_base], data[at_base] = base.indices, base.data
    indices[at_extra], data[at_extra] = extra.indices, extra.data
    return csr_array((data, indices, indptr), shape=(n + k, n + k))
