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

Dual carriageways (:mod:`stationplan.carriageways`) are paired once, on the whole
network, and each unit keeps the pairs among its streets. A counted position in the core
is covered through its twin on the other carriageway, which lies within ``pair_m`` of it
(:func:`pair_distance_m`); the twin's own coverage is exact when the halo is
``reach_m + 2 * max_snap_m + pair_m``. The demand (the planning area, the served road
classes) is likewise marked once on the whole network (:func:`stationplan.area.with_demand`:
edges cut at the area's boundary); units inherit it.

Ownership at the core boundary: pieces are cut where their street crosses the core's
boundary (as :func:`stationplan.area.with_demand` cuts at a planning area), and a part
belongs to the unit whose core holds its midpoint. A midpoint exactly on the boundary (a
street running along a shared side) belongs to the core that holds the point a
micrometre from it towards the east-north-east (:data:`TIE_STEP`), so of cores that tile
the plane exactly one owns it, and the units' lengths add up to the whole.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _route
from .area import cut_positions
from .carriageways import lex_rank
from .coverage import Coverage, CoverageRule, compute_coverage, station_sites
from .network import StreetNetwork
from .stations import snap_stations

__all__ = ["clip_to_core", "pair_distance_m", "required_halo_m", "unit_coverage",
           "unit_network", "unit_stations"]

PIECE_COLUMNS = ["edge_id", "start_m", "end_m", "length_m", "status", "dist_m", "station_id",
                 "via_twin"]
#: The step (metres, x and y) that decides who owns a midpoint on a core's boundary.
TIE_STEP = (1e-6, 0.5e-6)


def required_halo_m(*, reach_m: float, max_snap_m: float, pair_m: float = 0.0) -> float:
    """The least halo that makes a unit exact: the reach plus twice the snap distance,
    plus the distance between twin positions of dual carriageways (:func:`pair_distance_m`).

    Examples
    --------
    >>> required_halo_m(reach_m=500.0, max_snap_m=100.0)
    700.0
    >>> required_halo_m(reach_m=500.0, max_snap_m=100.0, pair_m=40.0)
    740.0
    """
    return float(reach_m) + 2.0 * float(max_snap_m) + float(pair_m)


def pair_distance_m(network: StreetNetwork) -> float:
    """The largest distance between a paired position and its twin (0 without pairs).

    Each pair row maps its paired interval linearly onto the twin edge; the distance is
    measured at both ends and the middle of every row (the rows run between vertices of
    the lines, so the two stretches are straight and the ends bound the rest).

    Examples
    --------
    >>> from stationplan._streets import network_from_segments, MODES
    >>> from stationplan.area import with_demand
    >>> road = {"highway": "primary", "name": "Long Road", "oneway": "yes"}
    >>> coords = {1: (116.0, 39.9), 2: (116.0036, 39.9), 3: (116.0036, 39.90018),
    ...           4: (116.0, 39.90018)}
    >>> net = with_demand(network_from_segments(
    ...     [(10, road, [1, 2], None, True, True), (11, road, [3, 4], None, True, True)],
    ...     coords, MODES["walk"], source="doc", stats={}))
    >>> round(pair_distance_m(net), 1)  # 0.00018 degrees of latitude
    20.0
    """
    pairs = network.carriageways
    if pairs is None or len(pairs) == 0:
        return 0.0
    lines = network.edges.geometry.to_numpy()
    e = lines[pairs["edge_id"].to_numpy(np.int64)]
    q = lines[pairs["twin_edge_id"].to_numpy(np.int64)]
    a, b = pairs["start_m"].to_numpy(float), pairs["end_m"].to_numpy(float)
    qa, qb = pairs["twin_start_m"].to_numpy(float), pairs["twin_end_m"].to_numpy(float)
    far = 0.0
    for t, s in ((a, qa), (b, qb), ((a + b) / 2, (qa + qb) / 2)):
        d = shapely.distance(shapely.line_interpolate_point(e, t),
                             shapely.line_interpolate_point(q, s))
        far = max(far, float(np.max(d)))
    return far


def unit_network(network: StreetNetwork, core: Any, *, halo_m: float
                 ) -> tuple[StreetNetwork, np.ndarray]:
    """The streets within ``halo_m`` of ``core`` (network CRS), whole and in order.

    The edges keep every column (``demand`` and ``in_area`` among them); the carriageway
    pairs of the network whose two edges are both kept come along, on the new rows.

    Returns
    -------
    StreetNetwork
        The sub-network (nodes renumbered, edge order kept).
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
    pairs = network.carriageways
    if pairs is not None:
        new_row = np.full(len(lines), -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows))
        e = new_row[pairs["edge_id"].to_numpy(np.int64)]
        q = new_row[pairs["twin_edge_id"].to_numpy(np.int64)]
        keep = (e >= 0) & (q >= 0)
        pairs = pairs.loc[keep].assign(edge_id=e[keep], twin_edge_id=q[keep]).reset_index(
            drop=True)
    sub = dataclasses.replace(network, nodes=nodes, edges=edges, carriageways=pairs,
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


def owned(core: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether ``core`` owns each point: inside it, or on its boundary with the point
    :data:`TIE_STEP` away inside (so that of cores tiling the plane exactly one owns it).

    >>> west, east = shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)
    >>> x, y = np.array([5.0, 10.0, 10.0]), np.array([5.0, 5.0, 0.0])
    >>> owned(west, x, y).tolist(), owned(east, x, y).tolist()
    ([True, False, False], [False, True, True])
    """
    shapely.prepare(core)
    inside = shapely.contains_xy(core, x, y)
    edge = np.flatnonzero(~inside)
    edge = edge[shapely.intersects_xy(core, x[edge], y[edge])]
    inside[edge] = shapely.contains_xy(core, x[edge] + TIE_STEP[0], y[edge] + TIE_STEP[1])
    return inside


def _boundary_cuts(lines: np.ndarray, boundary: Any, hit: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Where the lines ``hit`` (those touching ``boundary``) cross it: edge rows and
    positions, in (edge, position) order (:func:`stationplan.area.cut_positions`)."""
    edges: list[np.ndarray] = []
    pos: list[np.ndarray] = []
    for k in hit.tolist():  # edges crossing the boundary: a few per km of boundary
        cuts = cut_positions(lines[k], boundary)
        edges.append(np.full(len(cuts), k, dtype=np.int64))
        pos.append(np.asarray(cuts, dtype=float))
    if not edges:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(edges), np.concatenate(pos)


def _distances(net: StreetNetwork, node_dist: np.ndarray, st_edge: np.ndarray,
               st_off: np.ndarray, edge: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Distance from each point (``x`` metres along ``edge``) to the nearest station:
    :func:`stationplan.coverage._point_distance` for many points at once."""
    prep = _route.routing(net)
    fwd, bwd = np.asarray(prep.fwd, bool)[edge], np.asarray(prep.bwd, bool)[edge]
    length = np.asarray(prep.length, float)[edge]
    via_v = node_dist[np.asarray(prep.v)[edge]].astype(float) + length - x
    via_u = node_dist[np.asarray(prep.u)[edge]].astype(float) + x
    best = np.minimum(np.where(fwd, via_v, np.inf), np.where(bwd, via_u, np.inf))
    if len(st_edge) and len(edge):
        order = np.argsort(st_edge, kind="stable")
        s_edge, s_off = np.asarray(st_edge)[order], np.asarray(st_off, float)[order]
        lo, hi = np.searchsorted(s_edge, edge, "left"), np.searchsorted(s_edge, edge, "right")
        n = hi - lo
        which = np.repeat(np.arange(len(edge)), n)
        at = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + lo[which]
        off, px = s_off[at], x[which]
        ok = (fwd[which] & (off >= px)) | (bwd[which] & (off <= px))
        np.minimum.at(best, which[ok], np.abs(off[ok] - px[ok]))
    return best


def clip_to_core(cov: Coverage, core: Any, edge_rows: np.ndarray | None = None
                 ) -> pd.DataFrame:
    """The pieces of ``cov`` owned by ``core``: cut at its boundary, midpoint owned
    (:func:`owned`).

    A part cut off keeps its piece's status, station and ``via_twin``; its ``dist_m`` is
    that of its nearer end, as for every piece. Pieces not covered lose their station and
    distance, and touching ones of one status merge; pieces covered through the twin
    carriageway lose their distance (the engine gives them the least distance along the
    whole twin stretch, which may lie beyond the halo). ``edge_rows`` maps the network's
    edges to the whole network's (from :func:`unit_network`); the ``edge_id`` column is
    then the whole network's.

    Every step is an array operation: only the edges that cross the core's boundary are
    cut and have their parts' midpoints tested; a street that does not reach the
    boundary lies wholly inside or outside, which its first vertex tells.

    Returns
    -------
    pandas.DataFrame
        :data:`PIECE_COLUMNS`, ordered by edge and start.
    """
    net = cov.network
    lines = net.edges.geometry.to_numpy()
    boundary = shapely.boundary(core)
    shapely.prepare(boundary)
    p = cov.pieces
    edge = p["edge_id"].to_numpy(np.int64)
    start, end = p["start_m"].to_numpy(float), p["end_m"].to_numpy(float)
    dist = p["dist_m"].to_numpy(float)
    st_code, st_names = pd.factorize(p["status"])
    sid_code, sid_names = pd.factorize(p["station_id"])  # -1: no station
    via = (p["via_twin"].to_numpy(bool) if "via_twin" in p
           else np.zeros(len(p), dtype=bool))
    touches = shapely.intersects(boundary, lines)  # the edges whose parts are tested
    cut_edge, cut_pos = _boundary_cuts(lines, boundary, np.flatnonzero(touches))
    # the cuts strictly inside each piece: those after (edge, start), before (edge, end)
    first = np.zeros(len(p), dtype=np.int64)
    n_in = np.zeros(len(p), dtype=np.int64)
    on = np.flatnonzero(np.isin(edge, cut_edge))
    first[on] = lex_rank(cut_edge, cut_pos, edge[on], start[on], inclusive=True)
    n_in[on] = np.maximum(lex_rank(cut_edge, cut_pos, edge[on], end[on], inclusive=False)
                          - first[on], 0)
    parts = n_in + 1
    src = np.repeat(np.arange(len(p)), parts)
    j = np.arange(len(src)) - np.repeat(np.cumsum(parts) - parts, parts)  # part number
    a, b = start[src], end[src]
    inner = np.flatnonzero(j > 0)
    a[inner] = cut_pos[first[src[inner]] + j[inner] - 1]
    inner = np.flatnonzero(j < n_in[src])
    b[inner] = cut_pos[first[src[inner]] + j[inner]]
    k = edge[src]
    d = dist[src]
    split = np.flatnonzero(n_in[src] > 0)
    if len(split):
        _, st_edge, st_off = station_sites(cov.stations)
        both = _distances(net, cov.node_dist_m, st_edge, st_off, np.concatenate(
            [k[split], k[split]]), np.concatenate([a[split], b[split]]))
        near = np.minimum(both[: len(split)], both[len(split):])
        d[split] = np.where(np.isfinite(near), near, np.nan)
    # ownership: a street off the boundary by its first vertex (the line's own: a node may
    # stand up to the join tolerance off it), the parts of the others by their midpoints
    xy, line_of = shapely.get_coordinates(lines, return_index=True)
    xy = xy[np.searchsorted(line_of, np.arange(len(lines)))]
    shapely.prepare(core)
    own = shapely.contains_xy(core, xy[:, 0], xy[:, 1])[k]
    test = np.flatnonzero(touches[k])
    if len(test):
        mid = shapely.get_coordinates(shapely.line_interpolate_point(
            lines[k[test]], (a[test] + b[test]) / 2))
        own[test] = owned(core, mid[:, 0], mid[:, 1])
    keep = np.flatnonzero(own)
    k, a, b, d, via = k[keep], a[keep], b[keep], d[keep], via[src[keep]]
    code, sid = st_code[src[keep]], sid_code[src[keep]]
    # beyond the reach, the nearest station and its distance are not local (they may come
    # along a path that leaves the halo; the whole-network run cuts where that far station
    # changes): pieces not covered lose them and touching ones of one status merge
    covered = np.flatnonzero(np.asarray(st_names, dtype=object) == "covered")
    beyond = code != (covered[0] if len(covered) else -2)
    d[beyond | via] = np.nan
    sid[beyond] = -1
    order = np.lexsort((a, k))
    k, a, b, d, via, code, sid, beyond = (x[order] for x in (k, a, b, d, via, code, sid,
                                                            beyond))
    joins = np.zeros(len(k), dtype=bool)
    joins[1:] = (beyond[1:] & beyond[:-1] & (k[1:] == k[:-1]) & (code[1:] == code[:-1])
                 & (np.abs(a[1:] - b[:-1]) <= 1e-9))
    head = np.flatnonzero(~joins)
    last = np.r_[head[1:] - 1, len(k) - 1].astype(np.int64)[: len(head)]
    rows = np.asarray(edge_rows, dtype=np.int64)[k[head]] if edge_rows is not None else k[head]
    out = pd.DataFrame({
        "edge_id": rows, "start_m": a[head], "end_m": b[last],
        "length_m": b[last] - a[head],
        "status": np.asarray(st_names, dtype=object)[code[head]],
        "dist_m": d[head],
        "station_id": pd.Series(  # object: None where no station, as before
            np.append(np.asarray(sid_names, dtype=object), [None])[sid[head]], dtype=object),
        "via_twin": via[head]})
    if edge_rows is not None:  # the whole network's order (kept by unit_network anyway)
        out = out.sort_values(["edge_id", "start_m"], kind="stable").reset_index(drop=True)
    return out[PIECE_COLUMNS]


def unit_coverage(network: StreetNetwork, stations: gpd.GeoDataFrame, core: Any, *,
                  rule: CoverageRule, max_snap_m: float, halo_m: float | None = None
                  ) -> pd.DataFrame:
    """Coverage of the streets in ``core`` computed from the core and its halo only.

    Parameters
    ----------
    network
        The whole street network, its demand marked (and carriageways paired).
    stations
        Unsnapped stations (any CRS, a ``status`` column).
    core
        The unit's core polygon in the network CRS.
    rule
        The service standard; its ``limit_m`` is the reach.
    max_snap_m
        The snap distance stations are snapped with.
    halo_m
        The halo; default (and least exact) :func:`required_halo_m` with the network's
        :func:`pair_distance_m`.

    Returns
    -------
    pandas.DataFrame
        The owned pieces (:func:`clip_to_core`), edge ids of the whole network.
    """
    if halo_m is None:
        halo_m = required_halo_m(reach_m=rule.limit_m, max_snap_m=max_snap_m,
                                 pair_m=pair_distance_m(network))
    sub, rows = unit_network(network, core, halo_m=halo_m)
    if len(rows) == 0:  # no street near the core: nothing to own
        return pd.DataFrame({c: [] for c in PIECE_COLUMNS})
    near = unit_stations(stations, core, halo_m=halo_m, max_snap_m=max_snap_m, crs=network.crs)
    snapped = snap_stations(sub, near, max_snap_m=max_snap_m)
    cov = compute_coverage(sub, snapped, rule=rule)
    return clip_to_core(cov, core, rows)
