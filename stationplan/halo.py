"""Coverage of one unit of a partition, computed on its core plus a halo.

Coverage is local: a path of length at most ``reach_m`` that ends at a street point ``p``
never leaves the disc of radius ``reach_m`` around ``p`` (a street is never shorter than
the straight line). A station reaches ``p`` from its snapped point, which lies at most
``max_snap_m`` from where the station is, and a station snaps to the nearest street
within ``max_snap_m``. So a unit is computed exactly when it keeps

- every street within ``halo_m`` of its core, whole (not cut), in the network's order,
- every station within ``halo_m - max_snap_m`` of its core, in the input order,

with ``halo_m >= reach_m + 2 * max_snap_m`` (:func:`required_halo_m`): a station that
reaches the core lies within ``reach_m + max_snap_m`` of it, and every street it could
snap to within ``reach_m + 2 * max_snap_m``, so it snaps as in the whole network; and a
station dropped cannot reach the core. The coverage of the unit, clipped to the core, is
then the coverage of the whole network on the core: the same cut points, the same
serving station.

Ownership at the core boundary: pieces are cut where their street crosses the core's
boundary (as :func:`stationplan.area.with_demand` cuts at a planning area), and a part
belongs to the unit whose core covers its midpoint. Cores that tile the plane therefore
share out every street metre once, and the units' lengths add up to the whole.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _route
from .area import _cut_positions
from .coverage import Coverage, CoverageRule, compute_coverage, station_sites
from .coverage import _point_distance as point_distance
from .network import StreetNetwork
from .stations import snap_stations

__all__ = ["clip_to_core", "required_halo_m", "unit_coverage", "unit_network",
           "unit_stations"]

PIECE_COLUMNS = ["edge_id", "start_m", "end_m", "length_m", "status", "dist_m", "station_id"]


def required_halo_m(*, reach_m: float, max_snap_m: float) -> float:
    """The least halo that makes a unit exact: the reach plus twice the snap distance.

    Examples
    --------
    >>> required_halo_m(reach_m=500.0, max_snap_m=100.0)
    700.0
    """
    return float(reach_m) + 2.0 * float(max_snap_m)


def unit_network(network: StreetNetwork, core: Any, *, halo_m: float
                 ) -> tuple[StreetNetwork, np.ndarray]:
    """The streets within ``halo_m`` of ``core`` (network CRS), whole and in order.

    Returns
    -------
    StreetNetwork
        The sub-network (nodes renumbered, edge order kept, no carriageway pairs).
    numpy.ndarray
        For each of its edges, the row of that edge in ``network.edges``.
    """
    lines = network.edges.geometry.to_numpy()
    shapely.prepare(core)
    rows = np.flatnonzero(shapely.dwithin(lines, core, halo_m))
    edges = network.edges.iloc[rows].reset_index(drop=True)
    u, v = edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)
    used, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
    edges["u"] = inverse[: len(rows)].astype(np.int64)
    edges["v"] = inverse[len(rows):].astype(np.int64)
    nodes = network.nodes.iloc[used].reset_index(drop=True)
    sub = dataclasses.replace(network, nodes=nodes, edges=edges, carriageways=None,
                              stats={**network.stats, "edges": len(rows), "nodes": len(used)})
    return sub, rows


def unit_stations(stations: gpd.GeoDataFrame, core: Any, *, halo_m: float,
                  max_snap_m: float, crs: Any) -> gpd.GeoDataFrame:
    """The stations (unsnapped, any CRS) within ``halo_m - max_snap_m`` of ``core``.

    ``core`` is in ``crs`` (the network's); the rows keep their input order.
    """
    pts = stations.geometry.to_crs(crs).to_numpy()
    ok = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
    near = np.zeros(len(pts), dtype=bool)
    near[ok] = shapely.dwithin(pts[ok], core, halo_m - max_snap_m)
    return stations.iloc[np.flatnonzero(near)]


def clip_to_core(cov: Coverage, core: Any, edge_rows: np.ndarray | None = None
                 ) -> pd.DataFrame:
    """The pieces of ``cov`` owned by ``core``: cut at its boundary, midpoint inside.

    A part cut off keeps its piece's status and station; its ``dist_m`` is that of its
    nearer end, as for every piece. ``edge_rows`` maps the network's edges to the whole
    network's (from :func:`unit_network`); the ``edge_id`` column is then the whole
    network's.

    Returns
    -------
    pandas.DataFrame
        ``edge_id``, ``start_m``, ``end_m``, ``length_m``, ``status``, ``dist_m``,
        ``station_id``, ordered by edge and start.
    """
    net = cov.network
    lines = net.edges.geometry.to_numpy()
    boundary = shapely.boundary(core)
    shapely.prepare(boundary)
    shapely.prepare(core)
    p = cov.pieces
    edge = p["edge_id"].to_numpy(np.int64)
    start, end = p["start_m"].to_numpy(float), p["end_m"].to_numpy(float)
    dist = p["dist_m"].to_numpy(float)
    status = p["status"].to_numpy(object)
    station = p["station_id"].to_numpy(object)
    crossing = np.flatnonzero(shapely.intersects(boundary, lines))
    cuts = {int(k): _cut_positions(lines[k], boundary) for k in crossing.tolist()}
    prep = _route.routing(net)
    _, st_edge, st_off = station_sites(cov.stations)
    rows: list[tuple[int, float, float, str, float, Any]] = []
    for i in range(len(p)):
        k, a, b = int(edge[i]), float(start[i]), float(end[i])
        inner = [x for x in cuts.get(k, ()) if a < x < b]
        if not inner:
            rows.append((k, a, b, status[i], dist[i], station[i]))
            continue
        bounds = [a, *inner, b]
        for x, y in itertools.pairwise(bounds):
            d = min(point_distance(prep, cov.node_dist_m, st_edge, st_off, k, x),
                    point_distance(prep, cov.node_dist_m, st_edge, st_off, k, y))
            rows.append((k, x, y, status[i], d if np.isfinite(d) else np.nan, station[i]))
    out = pd.DataFrame(rows, columns=["edge_id", "start_m", "end_m", "status", "dist_m",
                                      "station_id"])
    mid = shapely.line_interpolate_point(lines[out["edge_id"].to_numpy(np.int64)],
                                         ((out["start_m"] + out["end_m"]) / 2).to_numpy())
    out = _beyond_reach_merged(out.loc[shapely.covers(core, mid)].reset_index(drop=True))
    if edge_rows is not None:
        out["edge_id"] = np.asarray(edge_rows, dtype=np.int64)[out["edge_id"].to_numpy()]
    out["length_m"] = out["end_m"] - out["start_m"]
    out = out.sort_values(["edge_id", "start_m"], kind="stable").reset_index(drop=True)
    return out[PIECE_COLUMNS]


def _beyond_reach_merged(pieces: pd.DataFrame) -> pd.DataFrame:
    """Pieces not covered lose their station and distance, and touching ones merge.

    Beyond the reach, the nearest station and its distance are not local (they may come
    along a path that leaves the halo), and the whole-network run cuts there where that
    far station changes; a unit owns only what lies within the reach.
    """
    out = pieces.sort_values(["edge_id", "start_m"], kind="stable").reset_index(drop=True)
    beyond = (out["status"] != "covered").to_numpy()
    out.loc[beyond, "dist_m"] = np.nan
    out["station_id"] = out["station_id"].astype(object)
    out.loc[beyond, "station_id"] = None
    edge, status = out["edge_id"].to_numpy(), out["status"].to_numpy(object)
    start, end = out["start_m"].to_numpy(float), out["end_m"].to_numpy(float)
    joins = np.zeros(len(out), dtype=bool)
    joins[1:] = (beyond[1:] & beyond[:-1] & (edge[1:] == edge[:-1])
                 & (status[1:] == status[:-1]) & (np.abs(start[1:] - end[:-1]) <= 1e-9))
    if not joins.any():
        return out
    group = np.cumsum(~joins) - 1
    last = np.r_[np.flatnonzero(~joins)[1:] - 1, len(out) - 1]
    merged = out.loc[~joins].reset_index(drop=True)
    merged["end_m"] = end[last]
    assert len(merged) == group[-1] + 1
    return merged


def unit_coverage(network: StreetNetwork, stations: gpd.GeoDataFrame, core: Any, *,
                  rule: CoverageRule, max_snap_m: float, halo_m: float | None = None
                  ) -> pd.DataFrame:
    """Coverage of the streets in ``core`` computed from the core and its halo only.

    Parameters
    ----------
    network
        The whole street network.
    stations
        Unsnapped stations (any CRS, a ``status`` column).
    core
        The unit's core polygon in the network CRS.
    rule
        The service standard; its ``limit_m`` is the reach.
    max_snap_m
        The snap distance stations are snapped with.
    halo_m
        The halo; default (and least exact) :func:`required_halo_m`.

    Returns
    -------
    pandas.DataFrame
        The owned pieces (:func:`clip_to_core`), edge ids of the whole network.
    """
    if halo_m is None:
        halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m)
    sub, rows = unit_network(network, core, halo_m=halo_m)
    if len(rows) == 0:  # no street near the core: nothing to own
        return pd.DataFrame({c: [] for c in PIECE_COLUMNS})
    near = unit_stations(stations, core, halo_m=halo_m, max_snap_m=max_snap_m, crs=network.crs)
    snapped = snap_stations(sub, near, max_snap_m=max_snap_m)
    cov = compute_coverage(sub, snapped, rule=rule)
    return clip_to_core(cov, core, rows)
