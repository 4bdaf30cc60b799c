"""Demand for siting: streets cut into short units, weighted, and which sites cover which.

A unit is a stretch of street no longer than ``resolution_m``; it counts as covered when
its midpoint is within the limit, so the objective is street metres to within half a
unit at each coverage boundary. Coverage sets come from bounded Dijkstra searches from
each site (in batches) on the same reversed graph the coverage computation uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csc_array

from . import _route
from ._errors import InputError
from .coverage import station_distances
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
    ptr, found = _route.reached_points(network, edge_id, offset_m, units.edge_id, units.mid_m,
                                       limit_m=limit_m, batch_entries=batch_entries,
                                       progress=progress)
    mat = _route.reach_matrix(ptr, found, len(units))
    log.info("coverage sets: %d sites x %d units, %d pairs", len(ptr) - 1, len(units), mat.nnz)
    return mat


def _same_edge_pairs(network: StreetNetwork, units: DemandUnits, edge_id: np.ndarray,
                     offset_m: np.ndarray, limit: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
