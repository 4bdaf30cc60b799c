"""Gaps: uncovered street pieces merged into connected clusters, largest first."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from .coverage import Coverage

log = logging.getLogger(__name__)

_MAX_NAMES = 8  # street names listed per gap cluster


def find_gaps(coverage: Coverage) -> gpd.GeoDataFrame:
    """Merge gap pieces that touch (at a junction or end to end) into clusters.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cluster in the network CRS, sorted by length (largest first):
        ``gap_id`` (1 = largest), ``length_m``, ``pieces``, ``streets`` (up to 8 named
        streets in it, longest first), ``max_dist_m`` (largest known distance to a
        station at a piece end, NaN if none is within reach), ``component``, a
        MultiLineString geometry and ``point_lon`` / ``point_lat`` (WGS-84): a point
        in the middle of the cluster's longest piece, to send someone to.
    """
    pieces = coverage.pieces
    gap = pieces[pieces["status"] == "gap"]
    columns = ["gap_id", "length_m", "pieces", "streets", "max_dist_m", "component",
               "point_lon", "point_lat"]
    if gap.empty:
        return gpd.GeoDataFrame(columns=[*columns, "geometry"], geometry="geometry",
                                crs=coverage.network.crs)
    labels = _touching_clusters(coverage, gap)
    rep = gpd.GeoSeries(
        shapely.line_interpolate_point(gap.geometry.to_numpy(), 0.5, normalized=True),
        crs=coverage.network.crs,
    ).to_crs(4326).to_numpy()
    frame = pd.DataFrame({
        "cluster": labels,
        "length_m": gap["length_m"].to_numpy(),
        "name": gap["name"].to_numpy(),
        "dist_m": gap["dist_m"].to_numpy(),
        "component": gap["component"].to_numpy(),
        "geometry": gap.geometry.to_numpy(),
        "rep": rep,
    })
    rows = []
    for cluster, grp in frame.groupby("cluster", sort=True):
        longest = grp["length_m"].to_numpy().argmax()
        point = grp["rep"].iat[longest]
        named = grp.dropna(subset=["name"]).groupby("name")["length_m"].sum()
        named = named.sort_values(ascending=False, kind="stable")
        rows.append({
            "cluster": cluster,
            "length_m": float(grp["length_m"].sum()),
            "pieces": len(grp),
            "streets": "; ".join(named.index.astype(str)[:_MAX_NAMES]),
            "max_dist_m": float(grp["dist_m"].max()) if grp["dist_m"].notna().any() else np.nan,
            "component": int(grp["component"].iat[0]),
            "point_lon": point.x,
            "point_lat": point.y,
            "geometry": shapely.MultiLineString(list(grp["geometry"])),
        })
    out = pd.DataFrame(rows).sort_values(["length_m", "cluster"], ascending=[False, True],
                                         kind="stable")
    out.insert(0, "gap_id", np.arange(1, len(out) + 1))
    out = out.drop(columns="cluster").reset_index(drop=True)
    log.info("%d gap clusters, %.1f km in all", len(out), out["length_m"].sum() / 1000)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=coverage.network.crs)


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
