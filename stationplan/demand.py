"""Demand for siting: streets cut into short units, weighted, and which sites cover which.

A unit is a stretch of street no longer than ``resolution_m``; it counts as covered when
its midpoint is within the limit, so the objective is street metres to within half a
unit at each coverage boundary. Coverage sets come from bounded Dijkstra searches from
each site (in batches) on the same reversed graph the coverage computation uses.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csc_array

from . import _kernels
from ._errors import InputError
from .coverage import _prepared, station_distances
from .network import StreetNetwork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemandUnits:
    """Street units to be served (arrays, one entry per unit).

    Parameters
    ----------
    edge_id, start_m, end_m
        Where each unit lies: edge row and metres from the edge's ``u`` end.
    weight
        Demand of the unit (metres times its weights).
    """

    edge_id: np.ndarray
    start_m: np.ndarray
    end_m: np.ndarray
    weight: np.ndarray

    @property
    def mid_m(self) -> np.ndarray:
        """Midpoint of each unit along its edge."""
        return (self.start_m + self.end_m) / 2

    @property
    def length_m(self) -> np.ndarray:
        """Length of each unit."""
        return self.end_m - self.start_m

    def __len__(self) -> int:
        return len(self.edge_id)


def demand_units(
    network: StreetNetwork,
    *,
    resolution_m: float = 25.0,
    class_weights: Mapping[str, float] | None = None,
) -> DemandUnits:
    """Cut the demand streets into units no longer than ``resolution_m``.

    Parameters
    ----------
    network
        The street network; if its edges have a boolean ``demand`` column, only those
        edges are demand (others still carry paths).
    resolution_m
        Longest unit; each edge is cut into equal units.
    class_weights
        Multiplier per road class (``highway``), default 1 for classes not listed.

    Returns
    -------
    DemandUnits
    """
    if not resolution_m > 0:
        msg = f"resolution_m must be positive, got {resolution_m}"
        raise InputError(msg)
    edges = network.edges
    mask = edges["demand"].to_numpy(bool) if "demand" in edges else np.ones(len(edges), bool)
    eid = np.flatnonzero(mask & (edges["length_m"].to_numpy() > 0))
    length = edges["length_m"].to_numpy()[eid]
    count = np.maximum(np.ceil(length / resolution_m - 1e-9).astype(np.int64), 1)
    edge_of = np.repeat(eid, count)
    first = np.repeat(np.cumsum(count) - count, count)
    step = np.arange(len(edge_of)) - first
    size = np.repeat(length / count, count)
    start = step * size
    end = np.where(step == np.repeat(count, count) - 1, np.repeat(length, count), start + size)
    weight = end - start
    if class_weights:
        classes = edges["highway"].fillna("").to_numpy()[edge_of]
        mult = pd.Series(classes).map(dict(class_weights)).fillna(1.0).to_numpy()
        weight = weight * mult
    return DemandUnits(edge_of, start, end, weight)


def unit_distances(
    network: StreetNetwork, units: DemandUnits, edge_id: np.ndarray, offset_m: np.ndarray,
    *, limit_m: float,
) -> np.ndarray:
    """Distance from each unit's midpoint to the nearest of the given sites (inf if beyond)."""
    node_dist, _ = station_distances(network, edge_id, offset_m, limit_m=limit_m)
    e = network.edges
    u, v = e["u"].to_numpy()[units.edge_id], e["v"].to_numpy()[units.edge_id]
    fwd, bwd = e["fwd"].to_numpy()[units.edge_id], e["bwd"].to_numpy()[units.edge_id]
    mid, length = units.mid_m, e["length_m"].to_numpy()[units.edge_id]
    best = np.minimum(np.where(bwd, mid + node_dist[u], np.inf),
                      np.where(fwd, length - mid + node_dist[v], np.inf))
    site_units, _, cost = _same_edge_pairs(network, units, edge_id, offset_m, limit_m)
    np.minimum.at(best, site_units, cost)
    return best


def coverage_matrix(
    network: StreetNetwork,
    units: DemandUnits,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    limit_m: float,
    batch_entries: int = 20_000_000,
    progress: Callable[[int, int], None] | None = None,
) -> csc_array:
    """Which units each site covers, as a sparse ``units x sites`` 0/1 matrix.

    Each site gets its own bounded search that touches only the nodes it reaches (no
    per-site work proportional to the whole network), run in compiled code on all cores.

    Parameters
    ----------
    network, units
        Network and demand units.
    edge_id, offset_m
        Site positions (edge row, metres from ``u``).
    limit_m
        Coverage limit in metres.
    batch_entries
        Bounds the work between two progress reports (sites x nodes reached).
    progress
        Called as ``progress(done, total)`` after each batch.

    Returns
    -------
    scipy.sparse.csc_array
        ``int8`` matrix; column ``j`` holds the units site ``j`` covers (sorted rows).
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    k = len(edge_id)
    prep = _prepared(network)
    graph = prep.reversed_graph
    (ptr_u, order_u, base_u), (ptr_v, order_v, base_v) = _incidence(network, units)
    # A site is a source at the edge ends it can be reached from (as in search_graph).
    u, v, length = prep.u[edge_id], prep.v[edge_id], prep.length[edge_id]
    s_fwd, s_bwd = prep.fwd[edge_id], prep.bwd[edge_id]
    seed_node = np.stack([u, v], axis=1).ravel()
    seed_cost = np.maximum(np.stack([offset_m, length - offset_m], axis=1), 0.0).ravel()
    seed_ok = np.stack([s_fwd, s_bwd], axis=1).ravel()
    seed_ptr = np.concatenate([[0], np.cumsum(seed_ok.reshape(-1, 2).sum(axis=1))])
    seed_node, seed_cost = seed_node[seed_ok], seed_cost[seed_ok]
    same_lo = np.searchsorted(units.edge_id, edge_id, side="left")
    same_hi = np.searchsorted(units.edge_id, edge_id, side="right")
    mid = units.mid_m
    indptr = graph.indptr.astype(np.int64)
    indices = graph.indices.astype(np.int64)
    weights = graph.data.astype(float)

    def run(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return _kernels.coverage_sets(
            indptr, indices, weights, seed_node[seed_ptr[lo]:seed_ptr[hi]],
            seed_cost[seed_ptr[lo]:seed_ptr[hi]], seed_ptr[lo:hi + 1] - seed_ptr[lo],
            float(limit_m), ptr_u, order_u, base_u, ptr_v, order_v, base_v,
            same_lo[lo:hi], same_hi[lo:hi], mid, offset_m[lo:hi], s_fwd[lo:hi],
            s_bwd[lo:hi], len(units),
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
    col_ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(count, out=col_ptr[1:])
    found = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    index_dtype = np.int32 if len(found) < np.iinfo(np.int32).max else np.int64
    mat = csc_array((np.ones(len(found), dtype=np.int8), found.astype(index_dtype, copy=False),
                     col_ptr.astype(index_dtype)), shape=(len(units), k))
    mat.has_sorted_indices = True
    log.info("coverage sets: %d sites x %d units, %d pairs", k, len(units), mat.nnz)
    return mat


def _workers() -> int:
    """Threads for the compiled searches: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _incidence(network: StreetNetwork, units: DemandUnits):
    """Per node, the units reachable by leaving the node along their edge, and the cost base.

    A rider on a unit leaves through ``u`` (needs bwd) at cost ``mid``, or through ``v``
    (needs fwd) at cost ``length - mid``; searches arrive at the node the other way round.
    """
    prep = _prepared(network)
    n = len(network.nodes)
    eu, ev = prep.u[units.edge_id], prep.v[units.edge_id]
    fwd, bwd = prep.fwd[units.edge_id], prep.bwd[units.edge_id]
    length = prep.length[units.edge_id]
    out = []
    for node, ok, base in ((eu, bwd, units.mid_m), (ev, fwd, length - units.mid_m)):
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(node[idx], kind="stable")]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(node[order], minlength=n), out=ptr[1:])
        out.append((ptr, order.astype(np.int64), np.asarray(base, dtype=float)))
    return out


def _same_edge_pairs(network, units, edge_id, offset_m, limit):
    """Units on a site's own edge that it reaches directly: (unit, site, cost)."""
    e = network.edges
    starts = np.searchsorted(units.edge_id, edge_id, side="left")
    ends = np.searchsorted(units.edge_id, edge_id, side="right")
    count = ends - starts
    rep = np.repeat(np.arange(len(edge_id)), count)
    unit = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count) + starts[rep]
    mid = units.mid_m[unit]
    s = offset_m[rep]
    fwd = e["fwd"].to_numpy()[edge_id][rep]
    bwd = e["bwd"].to_numpy()[edge_id][rep]
    cost = np.where(mid < s, np.where(fwd, s - mid, np.inf), np.where(bwd, mid - s, np.inf))
    ok = cost <= limit + 1e-9
    return unit[ok], rep[ok], cost[ok]
