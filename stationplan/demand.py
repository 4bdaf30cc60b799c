"""Demand for siting: the demand streets cut into pieces, weighted, and which sites cover which.

The siting model is exact (:func:`exact_model`): the demand streets are cut at every point
where some candidate's or station's catchment begins or ends (the exact intervals of
:mod:`stationplan._route.catchment`, which measure coverage the way
:func:`~stationplan.compute_coverage` does), so each piece is covered by one fixed set of
sites, wholly. Covering a set of pieces is then covering those exact street metres, and
"optimal" means optimal for the real streets.

A coarser model cuts streets into units no longer than ``resolution_m`` that count as
covered when their midpoint is within the limit (:func:`demand_units`,
:func:`coverage_matrix`): its metres are right to within half a unit at each coverage
boundary. Siting uses it only when the exact model would not fit in memory, and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse import csc_array

from . import _route
from ._errors import InputError
from ._route import catchment as _catchment
from .carriageways import fold_catchments, on_paired, paired_points, paired_spans
from .coverage import station_distances
from .network import StreetNetwork

if TYPE_CHECKING:
    from .weights import DemandDensity

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


def demand_weights(network: StreetNetwork, class_weights: Mapping[str, float] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per edge: 1 on demand streets else 0, and that times the class weight.

    Edges are demand where the network's boolean ``demand`` column says so (every edge
    when there is none); ``class_weights`` maps road classes (``highway``) to multipliers,
    1 for classes not listed.
    """
    e = network.edges
    metres = (e["demand"].to_numpy(bool) if "demand" in e else np.ones(len(e), bool)).astype(float)
    mult = np.ones(len(e))
    if class_weights:
        mult = (pd.Series(e["highway"].to_numpy()).map(dict(class_weights))
                .fillna(1.0).to_numpy(float))
    return metres, metres * mult


def piece_weights(per_edge: np.ndarray, edge_id: np.ndarray, start_m: np.ndarray,
                  end_m: np.ndarray, density: DemandDensity | None = None) -> np.ndarray:
    """Demand of street pieces: their metres, or the integral of ``density`` over them,
    times their edge's weight (``per_edge``, the class weight on demand streets).

    >>> piece_weights(np.array([0.0, 2.0]), np.array([1, 1]), np.array([0.0, 5.0]),
    ...               np.array([5.0, 7.5])).tolist()
    [10.0, 5.0]
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    if density is None:
        return (np.asarray(end_m) - np.asarray(start_m)) * per_edge[edge_id]
    return density.integral(edge_id, start_m, end_m) * per_edge[edge_id]


@dataclass(frozen=True)
class SitingModel:
    """Demand pieces, which of them the existing stations cover, and which sites cover which.

    Parameters
    ----------
    units
        The demand pieces (edge, start, end, weight), sorted by edge and position.
    existing
        Per piece, whether the existing stations cover it.
    cover
        ``pieces x sites`` 0/1 matrix (``int8``, sorted rows in each column).
    kind
        "exact" (pieces between catchment boundaries) or "units" (midpoint units).
    """

    units: DemandUnits
    existing: np.ndarray
    cover: csc_array
    kind: str


def exact_model(
    network: StreetNetwork,
    station_edge: np.ndarray,
    station_offset_m: np.ndarray,
    site_edge: np.ndarray,
    site_offset_m: np.ndarray,
    *,
    limit_m: float | np.ndarray,
    class_weights: Mapping[str, float] | None = None,
    density: DemandDensity | None = None,
    eps_m: float = 1e-9,
    progress: Callable[[int, int], None] | None = None,
) -> SitingModel:
    """The exact siting model: demand streets cut at every catchment boundary.

    Parameters
    ----------
    network
        The street network (demand edges as in :func:`demand_weights`).
    station_edge, station_offset_m
        The existing stations' positions (edge row, metres from ``u``).
    site_edge, site_offset_m
        The candidate sites' positions.
    limit_m
        Coverage limit in metres; or, without stations, one per site (the sites' own
        reaches: k-coverage siting passes the stations as sites).
    class_weights
        Demand multiplier per road class.
    density
        Demand weights (:mod:`stationplan.weights`): a piece weighs the exact integral of
        the density over it (times its class weight) instead of its metres.
    eps_m
        Boundaries closer than this are one point.
    progress
        ``progress(done, total)`` while the candidates' catchments are searched.

    Returns
    -------
    SitingModel
        Pieces whose lengths add up to the demand street length; a piece is covered by a
        site exactly when every point of it is within ``limit_m`` of the site.
    """
    metres, per_edge = demand_weights(network, class_weights)
    length = network.edges["length_m"].to_numpy(float)
    demand = (metres > 0) & (length > 0)
    stations_iv = _catchment.on_edges(_catchment.site_intervals(
        network, station_edge, station_offset_m, limit_m=limit_m), demand)
    sites = _catchment.on_edges(_catchment.site_intervals(
        network, site_edge, site_offset_m, limit_m=limit_m, progress=progress), demand)
    # --- dual carriageways count once (stationplan.carriageways): a reach on a paired
    # carriageway covers the twin positions of the counted one; the paired intervals are
    # cut out below and are not demand.
    stations_iv, sites = fold_catchments(network, stations_iv), fold_catchments(network, sites)
    pair_edge, pair_start, pair_end = paired_spans(network)
    # ---
    stations = _catchment.Covered.of(stations_iv)
    dem = np.flatnonzero(demand)
    m, q = len(sites.edge), len(stations.edge)
    # Every boundary as a point (edge, position): the demand edges' ends, then the
    # candidates' intervals' starts and ends, then the stations' covered starts and ends.
    p_edge = np.concatenate([dem, dem, sites.edge, sites.edge, stations.edge, stations.edge,
                             pair_edge, pair_edge])
    p_pos = np.concatenate([np.zeros(len(dem)), length[dem], sites.start, sites.end,
                            stations.start, stations.end, pair_start, pair_end])
    order = np.lexsort((p_pos, p_edge))
    se, sp = p_edge[order], p_pos[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (se[1:] != se[:-1]) | (sp[1:] - sp[:-1] > eps_m)
    cluster = np.empty(len(order), dtype=np.int64)
    cluster[order] = np.cumsum(new) - 1
    c_edge, c_pos = se[new], sp[new]
    # A piece runs from one boundary to the next on the same edge; piece_of[c] numbers
    # the piece that starts at boundary c (pieces of an edge are numbered in a row).
    starts = np.flatnonzero(c_edge[:-1] == c_edge[1:])
    piece_of = np.cumsum(np.append(c_edge[:-1] == c_edge[1:], False)) - 1
    units = DemandUnits(c_edge[starts], c_pos[starts], c_pos[starts + 1],
                        piece_weights(per_edge, c_edge[starts], c_pos[starts],
                                      c_pos[starts + 1], density))
    n = len(starts)

    def ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First piece and piece count of intervals given by their boundary points."""
        first = piece_of[cluster[lo]]
        return first, np.maximum(cluster[hi] - cluster[lo], 0)

    base = 2 * len(dem)
    s_first, s_count = ranges(base + 2 * m + np.arange(q), base + 2 * m + q + np.arange(q))
    mark = np.zeros(n + 1, dtype=np.int64)
    np.add.at(mark, s_first, 1)
    np.add.at(mark, s_first + s_count, -1)
    existing = np.cumsum(mark[:-1]) > 0

    k = len(site_edge)
    first, count = ranges(base + np.arange(m), base + m + np.arange(m))
    # Intervals come sorted by site, then edge and position, so each column's rows are
    # sorted: the column is the concatenation of its intervals' piece ranges.
    ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(sites.site, weights=count, minlength=k).astype(np.int64),
              out=ptr[1:])
    rep = np.repeat(np.arange(m), count)
    rows = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count,
                                                                   count) + first[rep]
    cover = _route.reach_matrix(ptr, rows.astype(np.int32 if n < 2**31 - 1 else np.int64), n)
    if len(pair_edge):  # dual carriageways: the paired intervals are not demand
        units, existing, cover = _without_paired(network, units, existing, cover)
        n = len(units)
    log.info("exact siting model: %d pieces, %d sites, %d pairs", n, k, cover.nnz)
    return SitingModel(units, existing, cover, "exact")


def _without_paired(network: StreetNetwork, units: DemandUnits, existing: np.ndarray,
                    cover: csc_array) -> tuple[DemandUnits, np.ndarray, csc_array]:
    """The model without its pieces on paired carriageways (counted on their twins)."""
    keep = ~on_paired(network, units.edge_id, units.mid_m)
    units = DemandUnits(units.edge_id[keep], units.start_m[keep], units.end_m[keep],
                        units.weight[keep])
    return units, existing[keep], csc_array(cover[keep])


def units_model(
    network: StreetNetwork,
    station_edge: np.ndarray,
    station_offset_m: np.ndarray,
    site_edge: np.ndarray,
    site_offset_m: np.ndarray,
    *,
    limit_m: float,
    resolution_m: float,
    class_weights: Mapping[str, float] | None = None,
    density: DemandDensity | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SitingModel:
    """The coarse siting model: units of at most ``resolution_m``, covered at their midpoint.

    Same parameters and result as :func:`exact_model`, plus ``resolution_m``.
    """
    units = demand_units(network, resolution_m=resolution_m, class_weights=class_weights,
                         density=density)
    # dual carriageways count once: no units on paired intervals; a unit whose midpoint
    # has a point on the paired carriageway is also reached through that point
    units, points = _with_twin_points(network, units)
    # the searches want points sorted by edge and position; ``order`` puts them back
    order = np.lexsort((points.mid_m, points.edge_id))
    sorted_points = DemandUnits(points.edge_id[order], points.start_m[order],
                                points.end_m[order], points.weight[order])
    existing = np.empty(len(points), dtype=bool)
    existing[order] = unit_distances(
        network, sorted_points, np.asarray(station_edge, dtype=np.int64),
        np.asarray(station_offset_m, dtype=float), limit_m=limit_m) <= limit_m + 1e-9
    cover = coverage_matrix(network, sorted_points, np.asarray(site_edge, dtype=np.int64),
                            np.asarray(site_offset_m, dtype=float), limit_m=limit_m,
                            progress=progress)
    if len(points) > len(units):
        existing, cover = _fold_twin_points(network, units, existing, cover, order)
    return SitingModel(units, existing, cover, "units")


def _with_twin_points(network: StreetNetwork, units: DemandUnits
                      ) -> tuple[DemandUnits, DemandUnits]:
    """The units without those on paired intervals; and those units followed by (as
    zero-length units at the points) the paired carriageway's points of their midpoints."""
    if network.carriageways is None or len(network.carriageways) == 0:
        return units, units
    keep = ~on_paired(network, units.edge_id, units.mid_m)
    units = DemandUnits(units.edge_id[keep], units.start_m[keep], units.end_m[keep],
                        units.weight[keep])
    _which, edge, pos = paired_points(network, units.edge_id, units.mid_m)
    return units, DemandUnits(np.concatenate([units.edge_id, edge]),
                       np.concatenate([units.start_m, pos]),
                       np.concatenate([units.end_m, pos]),
                       np.concatenate([units.weight, np.zeros(len(edge))]))


def _fold_twin_points(network: StreetNetwork, units: DemandUnits, existing: np.ndarray,
                      cover: csc_array, order: np.ndarray) -> tuple[np.ndarray, csc_array]:
    """Rows of the twin points merged into their units' rows (covered if either is);
    ``cover``'s rows are the points in ``order``."""
    n = len(units)
    which, _, _ = paired_points(network, units.edge_id, units.mid_m)
    row_of = np.concatenate([np.arange(n), which])[order]
    coo = cover.tocoo()
    merged = csc_array((np.ones(len(coo.row), dtype=np.int8), (row_of[coo.row], coo.col)),
                       shape=(n, cover.shape[1]))
    merged.sum_duplicates()
    merged.data[:] = 1
    merged.sort_indices()
    ex = existing[:n].copy()
    ex[which] |= existing[n:]
    return ex, merged


def demand_units(
    network: StreetNetwork,
    *,
    resolution_m: float = 25.0,
    class_weights: Mapping[str, float] | None = None,
    density: DemandDensity | None = None,
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
    density
        Demand weights (:mod:`stationplan.weights`): a unit weighs the integral of the
        density over it instead of its metres.

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
    weight = end - start if density is None else density.integral(edge_of, start, end)
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
