"""Gaps: uncovered street pieces merged into connected clusters, largest first."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from . import _route
from ._errors import InputError
from .coverage import Coverage, station_distances, station_sites

log = logging.getLogger(__name__)

_MAX_NAMES = 8  # street names listed per gap cluster


def find_gaps(coverage: Coverage, *, search_limit_m: float | None = None) -> gpd.GeoDataFrame:
    """Merge gap pieces that touch (at a junction or end to end) into clusters.

    Each cluster also says how far its farthest point is from the nearest station, along
    the streets and in the travel direction of :func:`~stationplan.compute_coverage`
    (from the point to the station). That takes one more search, bounded at
    ``search_limit_m``; a cluster with a point farther than that (or with no way to any
    station at all) is only said to be "more than ``search_limit_m``" away.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    search_limit_m
        How far to search for the farthest distances, in metres; default three times
        the rule's limit (``coverage.rule.limit_m``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster in the network CRS, sorted by length (largest first):
        ``gap_id`` (1 = largest), ``length_m``, ``pieces``, ``streets`` (up to 8 named
        streets in it, longest first), ``farthest_m`` (metres from the cluster's
        farthest point to its nearest station; NaN when that is beyond the search),
        ``farthest_more_than_m`` (``search_limit_m`` when some point is farther than
        that, else NaN: exactly one of the two is set), ``farthest_lon`` /
        ``farthest_lat`` (WGS-84: that farthest point; NaN when beyond the search),
        ``component``, a MultiLineString geometry and ``point_lon`` / ``point_lat``
        (WGS-84): a point in the middle of the cluster's longest piece, to send
        someone to.
    """
    limit = coverage.rule.limit_m
    search = 3.0 * limit if search_limit_m is None else float(search_limit_m)
    if not (np.isfinite(search) and search >= limit):
        msg = (f"search_limit_m must be a number of metres at least the coverage limit "
               f"({limit:g} m), got {search_limit_m!r}")
        raise InputError(msg)
    pieces = coverage.pieces
    gap = pieces[pieces["status"] == "gap"]
    columns = ["gap_id", "length_m", "pieces", "streets", "farthest_m", "farthest_more_than_m",
               "farthest_lon", "farthest_lat", "component", "point_lon", "point_lat"]
    if gap.empty:
        return gpd.GeoDataFrame(columns=[*columns, "geometry"], geometry="geometry",
                                crs=coverage.network.crs)
    labels = _touching_clusters(coverage, gap)
    crs = coverage.network.crs
    rep = gpd.GeoSeries(
        shapely.line_interpolate_point(gap.geometry.to_numpy(), 0.5, normalized=True), crs=crs,
    ).to_crs(4326).to_numpy()
    far_m, far_at = _farthest(coverage, gap, search_m=search)
    far_pt = gpd.GeoSeries(far_at, crs=crs).to_crs(4326).to_numpy()
    frame = pd.DataFrame({
        "cluster": labels,
        "length_m": gap["length_m"].to_numpy(),
        "name": gap["name"].to_numpy(),
        "far_m": far_m,
        "component": gap["component"].to_numpy(),
        "geometry": gap.geometry.to_numpy(),
        "rep": rep,
        "far_pt": far_pt,
    })
    rows = []
    for cluster, grp in frame.groupby("cluster", sort=True):
        longest = grp["length_m"].to_numpy().argmax()
        point = grp["rep"].iat[longest]
        named = grp.dropna(subset=["name"]).groupby("name")["length_m"].sum()
        named = named.sort_values(ascending=False, kind="stable")
        far = grp["far_m"].to_numpy()
        beyond = bool((far > search).any())
        at = grp["far_pt"].iat[int(far.argmax())]
        rows.append({
            "cluster": cluster,
            "length_m": float(grp["length_m"].sum()),
            "pieces": len(grp),
            "streets": "; ".join(named.index.astype(str)[:_MAX_NAMES]),
            "farthest_m": np.nan if beyond else float(far.max()),
            "farthest_more_than_m": search if beyond else np.nan,
            "farthest_lon": np.nan if beyond else at.x,
            "farthest_lat": np.nan if beyond else at.y,
            "component": int(grp["component"].iat[0]),
            "point_lon": point.x,
            "point_lat": point.y,
            "geometry": shapely.MultiLineString(list(grp["geometry"])),
        })
    out = pd.DataFrame(rows).sort_values(["length_m", "cluster"], ascending=[False, True],
                                         kind="stable")
    out.insert(0, "gap_id", np.arange(1, len(out) + 1))
    out = out.drop(columns="cluster").reset_index(drop=True)
    log.debug("%d gap clusters, %.1f km in all; %d with a point more than %.0f m from every "
             "station", len(out), out["length_m"].sum() / 1000,
             int(out["farthest_more_than_m"].notna().sum()), search)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)


def _farthest(coverage: Coverage, gap: gpd.GeoDataFrame, *, search_m: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per gap piece, the largest distance to a station (exact up to ``search_m``, else
    some value above it or inf) and the point where it lies (empty where beyond)."""
    network = coverage.network
    _, st_edge, st_off = station_sites(coverage.stations)
    node_dist, _ = station_distances(network, st_edge, st_off, limit_m=search_m)
    edge = gap["edge_id"].to_numpy()
    far_m, at_m = _route.piece_farthest(network, node_dist, st_edge, st_off, edge,
                                        gap["start_m"].to_numpy(), gap["end_m"].to_numpy())
    # a hair of slack: a point exactly at the search limit is still found
    far_m = np.where(far_m <= search_m + 1e-9, np.minimum(far_m, search_m), np.inf)
    known = np.isfinite(far_m)
    points = np.full(len(edge), shapely.Point(), dtype=object)
    lines = network.edges.geometry.to_numpy()[edge[known]]
    points[known] = shapely.line_interpolate_point(lines, at_m[known])
    return far_m, points


def _touching_clusters(coverage: Coverage, gap: gpd.GeoDataFrame) -> np.ndarray:
    """Label gap pieces so that pieces sharing an end point get one label."""
    edges = coverage.network.edges
    n_nodes = len(coverage.network.nodes)
    edge = gap["edge_id"].to_numpy()
    start, end = gap["start_m"].to_numpy(), gap["end_m"].to_numpy()
    length = edges["length_m"].to_numpy()[edge]
    u, v = edges["u"].to_numpy()[edge], edges["v"].to_numpy()[edge]
    # End points are junction nodes, or points inside an edge keyed by (edge, position).
    inner: dict[tuple[int, float], int] = {}

    def key(is_node: np.ndarray, node: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = node.copy()
        for i in np.flatnonzero(~is_node):
            out[i] = inner.setdefault((int(edge[i]), round(float(pos[i]), 3)), n_nodes + len(inner))
        return out

    a = key(start <= 1e-3, u, start)
    b = key(end >= length - 1e-3, v, end)
    n_points = n_nodes + len(inner)
    m = len(gap)
    rows = np.concatenate([np.arange(m), np.arange(m)])
    cols = np.concatenate([a, b]) + m
    graph = coo_array((np.ones(2 * m), (rows, cols)), shape=(m + n_points, m + n_points))
    _, labels = connected_components(graph, directed=False)
    return labels[:m]
