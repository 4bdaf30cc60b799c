"""Exact catchments: the street intervals each site reaches within the limit, and set
arithmetic on them (union length, what a site adds, what only one site covers).

A point covered by a set of sites is a point covered by at least one of them, so every
question about sets of sites is a question about unions of each site's own intervals.
Each site gets one bounded Dijkstra search on the reversed street graph (the one
:func:`~stationplan.coverage.compute_coverage` uses), so lengths agree with it to the
millimetre. Intervals are positions along an edge, in metres from its ``u`` end.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._intervals import union
from . import graph as _graph
from . import search as _search

if TYPE_CHECKING:
    from .._streets import StreetNetwork

_EPS = 1e-9


@dataclass(frozen=True)
class Intervals:
    """Street intervals per site: disjoint and sorted within each (site, edge).

    Parameters
    ----------
    site, edge
        Site index (into the arrays the intervals were built from) and edge row.
    start, end
        Metres from the edge's ``u`` end, ``start < end``.
    """

    site: np.ndarray
    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def of(self, sites: np.ndarray) -> Intervals:
        """The intervals of the given sites only."""
        keep = np.isin(self.site, sites)
        return Intervals(self.site[keep], self.edge[keep], self.start[keep], self.end[keep])


def site_intervals(
    network: StreetNetwork,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    limit_m: float | np.ndarray,
    batch_entries: int = 20_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> Intervals:
    """The street intervals from which each site is reached within ``limit_m``.

    Parameters
    ----------
    network
        The street network.
    edge_id, offset_m
        Each site's edge row and offset from the edge's ``u`` end.
    limit_m
        Coverage limit in metres: one for all sites, or one per site (each site's own
        reach; the searches run to the largest).
    batch_entries
        Size of one dense block of search results (sites x nodes); bounds memory.
    progress
        Called as ``progress(done, total)`` after each block of sites.

    Returns
    -------
    Intervals
        Every edge, demand or not; restrict with :func:`on_edges`.
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    n, k = len(network.nodes), len(edge_id)
    per_site = np.asarray(limit_m, dtype=float)
    if per_site.ndim == 0:
        per_site = np.full(k, float(per_site))
    elif len(per_site) != k and k:
        msg = f"limit_m: {len(per_site)} limits for {k} sites"
        raise ValueError(msg)
    search_m = float(per_site.max()) if k else 0.0
    e = network.edges
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    length = e["length_m"].to_numpy()
    fwd, bwd = e["fwd"].to_numpy(bool), e["bwd"].to_numpy(bool)
    # Leaving an edge through u needs travel v->u (bwd); through v needs u->v (fwd).
    by_u = _node_index(u, np.flatnonzero(bwd), n)
    by_v = _node_index(v, np.flatnonzero(fwd), n)
    parts = []
    if k:
        graph = _graph.site_graph(network, edge_id, offset_m)
        for lo, hi, block in _search.distance_blocks(graph, n + np.arange(k), limit_m=search_m,
                                                    block_entries=batch_entries):
            dist = block[:, :n]
            site, node = np.nonzero(np.isfinite(dist))
            rest = per_site[site + lo] - dist[site, node]
            site, node, rest = site[rest >= 0], node[rest >= 0], rest[rest >= 0]
            s, ed, r = _expand(by_u, node, site + lo, rest)
            parts.append((s, ed, np.zeros(len(ed)), np.minimum(length[ed], r)))
            s, ed, r = _expand(by_v, node, site + lo, rest)
            parts.append((s, ed, np.maximum(0.0, length[ed] - r), length[ed]))
            if progress is not None:
                progress(hi, k)
        # The site's own edge, reached directly.
        own_lo = np.where(fwd[edge_id], np.maximum(0.0, offset_m - per_site), offset_m)
        own_hi = np.where(bwd[edge_id], np.minimum(length[edge_id], offset_m + per_site),
                          offset_m)
        parts.append((np.arange(k), edge_id, own_lo, own_hi))
    site = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    edge = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    start = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    end = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0)
    keep = end - start > _EPS
    site, edge, start, end = site[keep], edge[keep], start[keep], end[keep]
    group, start, end = union(site.astype(np.int64) * len(e) + edge, start, end)
    return Intervals(group // max(len(e), 1), group % max(len(e), 1), start, end)


def on_edges(iv: Intervals, mask: np.ndarray) -> Intervals:
    """Only the intervals on edges where ``mask`` is true (e.g. the demand streets)."""
    keep = mask[iv.edge]
    return Intervals(iv.site[keep], iv.edge[keep], iv.start[keep], iv.end[keep])


@dataclass(frozen=True)
class Covered:
    """A union of intervals of every site, disjoint and sorted by (edge, start)."""

    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, iv: Intervals) -> Covered:
        """The union of all intervals in ``iv``."""
        return cls(*union(iv.edge, iv.start, iv.end))

    def add(self, iv: Intervals) -> Covered:
        """The union of this set and ``iv``."""
        return Covered(*union(np.concatenate([self.edge, iv.edge]),
                               np.concatenate([self.start, iv.start]),
                               np.concatenate([self.end, iv.end])))

    def length(self, weight: np.ndarray) -> float:
        """Total length, each edge's metres times ``weight[edge]``."""
        return float(((self.end - self.start) * weight[self.edge]).sum())

    def overlap(self, iv: Intervals, weight: np.ndarray) -> np.ndarray:
        """Weighted length of each interval of ``iv`` that this set already covers."""
        if len(self.edge) == 0 or len(iv.edge) == 0:
            return np.zeros(len(iv.edge))
        scale = _scale(self.end, iv.end)
        gs, ge = self.edge * scale + self.start, self.edge * scale + self.end
        cum = np.concatenate([[0.0], np.cumsum(ge - gs)])

        def below(x: np.ndarray) -> np.ndarray:  # covered length left of x
            i = np.searchsorted(gs, x, side="right")
            last = np.maximum(i - 1, 0)
            inside = np.where(i > 0, np.maximum(0.0, ge[last] - x), 0.0)
            return cum[i] - np.where(i > 0, inside, 0.0)

        a, b = iv.edge * scale + iv.start, iv.edge * scale + iv.end
        return (below(b) - below(a)) * weight[iv.edge]


def lengths_by_site(iv: Intervals, weight: np.ndarray, n_sites: int) -> np.ndarray:
    """Weighted length of each site's intervals."""
    return np.bincount(iv.site, weights=(iv.end - iv.start) * weight[iv.edge],
                       minlength=n_sites)


def gains(iv: Intervals, covered: Covered, weight: np.ndarray, n_sites: int) -> np.ndarray:
    """Weighted length each site adds on its own to ``covered``."""
    new = (iv.end - iv.start) * weight[iv.edge] - covered.overlap(iv, weight)
    return np.maximum(np.bincount(iv.site, weights=new, minlength=n_sites), 0.0)


def greedy_order(
    iv: Intervals,
    covered: Covered,
    weight: np.ndarray,
    metres: np.ndarray,
    sites: list[int],
    *,
    decide: Callable[[int, float, float, list[int]], bool] | None = None,
) -> list[tuple[int, float, float, bool]]:
    """Take ``sites`` one by one, always the one that adds most to what is covered so far.

    Lazy greedy: what a site adds only shrinks as others are taken. Ties go to the lower
    site index, so the order is deterministic.

    Parameters
    ----------
    iv
        Intervals of the sites.
    covered
        What is covered before any of them (the existing stations).
    weight
        Weight per edge (0 off the demand streets): the greedy objective.
    metres
        1 on the demand streets, else 0: gains are also reported in metres.
    sites
        The site indices to order.
    decide
        ``decide(site, gain_weight, gain_m, taken)`` is asked for each site when its turn
        comes; the site is added to the covered set only if it returns true. By default
        every site is.

    Returns
    -------
    list of (site, gain_weight, gain_m, taken)
        In the order decided; the gains are what the site adds at its turn.
    """
    per_site = {s: iv.of(np.array([s])) for s in sites}

    def gain(s: int, w: np.ndarray) -> float:
        return float(gains(per_site[s], covered, w, s + 1)[s])

    # Heap keys are gains rounded to a micrometre, so that equal gains are exactly equal
    # and the site index decides between them.
    heap = [(-round(gain(s, weight), 6), s) for s in sites]
    heapq.heapify(heap)
    out: list[tuple[int, float, float, bool]] = []
    taken: list[int] = []
    while heap:
        _, s = heapq.heappop(heap)
        g = gain(s, weight)
        key = (-round(g, 6), s)
        if heap and heap[0] < key:
            heapq.heappush(heap, key)  # stale: another site may add more now
            continue
        g_m = gain(s, metres)
        ok = True if decide is None else decide(s, g, g_m, taken)
        if ok:
            covered = covered.add(per_site[s])
            taken.append(s)
        out.append((s, g, g_m, ok))
    return out


def sole_coverage(iv: Intervals, weight: np.ndarray, n_sites: int
                  ) -> tuple[np.ndarray, Intervals]:
    """What each site alone covers: the parts no other site reaches.

    Returns
    -------
    length
        Weighted length per site that only it covers (what closing it would uncover).
    pieces
        Those parts as intervals (``site`` = the only site covering them).
    """
    if len(iv.edge) == 0:
        return np.zeros(n_sites), iv
    scale = _scale(iv.end)
    x = np.concatenate([iv.edge * scale + iv.start, iv.edge * scale + iv.end])
    count = np.concatenate([np.ones(len(iv.edge)), -np.ones(len(iv.edge))])
    ids = np.concatenate([iv.site, -iv.site]).astype(np.int64)
    order = np.argsort(x, kind="stable")
    x, count, ids = x[order], np.cumsum(count[order]), np.cumsum(ids[order])
    span = np.diff(x)
    one = (np.abs(count[:-1] - 1) < 0.5) & (span > _EPS)
    lo, hi, site = x[:-1][one], x[1:][one], ids[:-1][one]
    edge = np.floor((lo + 0.5) / scale).astype(np.int64)  # starts are >= 0, ends <= scale - 1
    start, end = lo - edge * scale, hi - edge * scale
    sole = Intervals(site, edge, start, end)
    return lengths_by_site(sole, weight, n_sites), sole


# --- helpers ---------------------------------------------------------------------------

def _node_index(node: np.ndarray, edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style index: for each node, the listed edges whose end ``node`` is that node."""
    order = edges[np.argsort(node[edges], kind="stable")]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(ptr, node[order] + 1, 1)
    return np.cumsum(ptr), order


def _expand(index: tuple[np.ndarray, np.ndarray], node: np.ndarray, site: np.ndarray,
            rest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join (site, node, metres left) with the edges listed for each node."""
    ptr, order = index
    count = ptr[node + 1] - ptr[node]
    rep = np.repeat(np.arange(len(node)), count)
    pos = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + ptr[node][rep]
    return site[rep], order[pos], rest[rep]


def _scale(*ends: np.ndarray) -> float:
    """Spacing that lays edges out on one line, 1 m apart, so intervals never touch."""
    return float(max((float(e.max()) for e in ends if len(e)), default=0.0)) + 1.0


