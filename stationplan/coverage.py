"""Network-distance coverage: which street metres lie within reach of a station.

Distances run along the streets from each point to the nearest station, in the travel
direction (a rider goes *to* the station), so one-way rules apply where the mode has them.
The search is one multi-source Dijkstra bounded by the threshold on a CSR array graph;
each street segment is then cut exactly where the distance crosses the threshold, where
the nearest station changes, and where a station sits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from ._errors import InputError
from .network import MODES, StreetNetwork

log = logging.getLogger(__name__)

_EPS_M = 1e-3  # breakpoints closer than a millimetre are one point


@dataclass(frozen=True)
class CoverageRule:
    """The service standard: a distance, a time at a speed, or both (both must hold).

    Parameters
    ----------
    radius_m
        Network distance limit in metres, or ``None``.
    max_minutes
        Travel-time limit in minutes, or ``None``.
    speed_kmh
        Speed that turns ``max_minutes`` into metres.

    Examples
    --------
    >>> CoverageRule().limit_m, CoverageRule().binding
    (500.0, 'distance and time')
    >>> CoverageRule(radius_m=500, max_minutes=5, speed_kmh=4.5).limit_m
    375.0
    """

    radius_m: float | None = 500.0
    max_minutes: float | None = 5.0
    speed_kmh: float = 6.0

    def __post_init__(self) -> None:
        if self.radius_m is None and self.max_minutes is None:
            msg = "give a distance (radius_m) or a time (max_minutes), or both"
            raise InputError(msg)
        for name in ("radius_m", "max_minutes", "speed_kmh"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                msg = f"{name} must be a positive number, got {value!r}"
                raise InputError(msg)

    @classmethod
    def for_mode(
        cls,
        mode: str,
        *,
        radius_m: float | None = 500.0,
        max_minutes: float | None = 5.0,
        speed_kmh: float | None = None,
    ) -> CoverageRule:
        """Build a rule whose speed defaults to the mode's speed."""
        speed = speed_kmh if speed_kmh is not None else MODES[mode].speed_kmh
        return cls(radius_m=radius_m, max_minutes=max_minutes, speed_kmh=speed)

    @property
    def time_limit_m(self) -> float | None:
        """The time limit as metres at ``speed_kmh``."""
        if self.max_minutes is None:
            return None
        return self.max_minutes * self.speed_kmh * 1000.0 / 60.0

    @property
    def limit_m(self) -> float:
        """The distance a point may be from a station and still be covered."""
        limits = [v for v in (self.radius_m, self.time_limit_m) if v is not None]
        return float(min(limits))

    @property
    def binding(self) -> str:
        """Which limit decides: "distance", "time", or "distance and time"."""
        t = self.time_limit_m
        if t is None:
            return "distance"
        if self.radius_m is None:
            return "time"
        if abs(t - self.radius_m) < 1e-9:
            return "distance and time"
        return "distance" if self.radius_m < t else "time"

    def describe(self) -> dict[str, object]:
        """The rule as plain data for ``summary.json``."""
        return {
            "radius_m": self.radius_m,
            "max_minutes": self.max_minutes,
            "speed_kmh": self.speed_kmh,
            "time_limit_m": self.time_limit_m,
            "limit_m": self.limit_m,
            "binding": self.binding,
        }


@dataclass(frozen=True)
class Coverage:
    """The result of :func:`compute_coverage`.

    Parameters
    ----------
    network
        The network covered.
    stations
        The snapped stations (every input row, with status).
    rule
        The rule applied.
    pieces
        Street pieces in the network CRS: ``edge_id``, ``start_m``, ``end_m``,
        ``length_m``, ``status`` ("covered"/"gap" on demand streets, "ignored" on
        streets that only carry paths: outside the planning area or of a class not
        served), ``dist_m`` (distance from the nearest station to the piece's nearer
        end; NaN beyond the search limit), ``station_id``, ``osmid``, ``highway``,
        ``name``, ``component``, ``demand``.
    node_dist_m
        Distance from each node to its nearest station (inf beyond the limit).
    node_station
        Row position in ``stations`` of each node's nearest station, or -1.
    """

    network: StreetNetwork
    stations: gpd.GeoDataFrame
    rule: CoverageRule
    pieces: gpd.GeoDataFrame
    node_dist_m: np.ndarray
    node_station: np.ndarray

    @property
    def covered_m(self) -> float:
        """Covered street length in metres."""
        p = self.pieces
        return float(p.loc[p["status"] == "covered", "length_m"].sum())

    @property
    def gap_m(self) -> float:
        """Uncovered street length in metres."""
        p = self.pieces
        return float(p.loc[p["status"] == "gap", "length_m"].sum())

    @property
    def demand_m(self) -> float:
        """Length of the streets that must be served (covered plus gap), in metres."""
        return self.covered_m + self.gap_m


def compute_coverage(
    network: StreetNetwork, stations: gpd.GeoDataFrame, *, rule: CoverageRule | None = None
) -> Coverage:
    """Compute exact network-distance coverage of every street by the stations.

    Parameters
    ----------
    network
        The street network.
    stations
        Output of :func:`~stationplan.snap_stations`; rows with status "ok" are used.
    rule
        The service standard; default 500 m and 5 minutes at the mode's speed.

    Returns
    -------
    Coverage
        Pieces that tile every street exactly, labelled covered or gap.
    """
    rule = rule or CoverageRule.for_mode(network.mode.name)
    if "edge_id" not in stations.columns:
        msg = "stations are not snapped; call snap_stations(network, stations) first"
        raise InputError(msg)
    used = np.flatnonzero((stations["status"] == "ok").to_numpy())
    st_edge = stations["edge_id"].to_numpy()[used].astype(np.int64)
    st_off = stations["offset_m"].to_numpy()[used].astype(float)
    limit = rule.limit_m

    node_dist, node_src = station_distances(network, st_edge, st_off, limit_m=limit)
    to_row = np.append(used, -1)  # index -1 (no station) maps to row -1
    node_station = to_row[node_src]
    piece_edge, start, end, dist, src, covered = _cut_edges(
        network, node_dist, node_src, st_edge, st_off, limit
    )
    station_row = to_row[src]
    pieces = _piece_frame(network, stations, piece_edge, start, end, dist, station_row, covered)
    cov = Coverage(network, stations, rule, pieces, node_dist, node_station)
    log.info(
        "coverage at %.0f m: %.1f of %.1f km of demand streets covered (%.1f %%) by %d stations",
        limit, cov.covered_m / 1000, cov.demand_m / 1000,
        100 * cov.covered_m / max(cov.demand_m, 1e-9), len(used),
    )
    return cov


def station_distances(
    network: StreetNetwork,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    limit_m: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every node to its nearest station, by one bounded multi-source search.

    Stations become extra graph nodes joined to their edge's ends, and the search runs
    on the reversed graph so distances are in the travel direction towards the station.

    Parameters
    ----------
    network
        The street network.
    edge_id, offset_m
        Each station's edge (row of ``network.edges``) and offset from its ``u`` end.
    limit_m
        Stop the search at this distance; farther nodes get ``inf``.

    Returns
    -------
    dist_m
        Per node, metres to the nearest station (``inf`` if beyond ``limit_m``).
    station
        Per node, the index (into ``edge_id``) of that station, or -1.
    """
    n = len(network.nodes)
    k = len(edge_id)
    if k == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    graph = search_graph(network, edge_id, offset_m)
    station_nodes = n + np.arange(k)
    dist, _, sources = dijkstra(
        graph, indices=station_nodes, min_only=True, return_predecessors=True, limit=limit_m
    )
    src = np.where(sources[:n] >= 0, sources[:n] - n, -1).astype(np.int64)
    return dist[:n], src


def search_graph(network: StreetNetwork, edge_id: np.ndarray, offset_m: np.ndarray) -> csr_array:
    """The reversed street graph with one extra node per site (nodes ``n .. n+k-1``).

    Travelling u→v (``fwd``) becomes the arc v→u, so a search from the sites finds the
    distance *to* the nearest site; a site joins the end it can be reached from.
    """
    n = len(network.nodes)
    e = network.edges
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    length = e["length_m"].to_numpy()
    fwd, bwd = e["fwd"].to_numpy(), e["bwd"].to_numpy()
    edge_id = np.asarray(edge_id, dtype=np.int64)
    offset_m = np.asarray(offset_m, dtype=float)
    s_fwd, s_bwd = fwd[edge_id], bwd[edge_id]
    sites = n + np.arange(len(edge_id))
    tails = np.concatenate([v[fwd], u[bwd], sites[s_fwd], sites[s_bwd]])
    heads = np.concatenate([u[fwd], v[bwd], u[edge_id][s_fwd], v[edge_id][s_bwd]])
    weights = np.concatenate(
        [length[fwd], length[bwd], offset_m[s_fwd], (length[edge_id] - offset_m)[s_bwd]]
    )
    return _csr_min(tails, heads, np.maximum(weights, 0.0), n + len(edge_id))


def _csr_min(tails: np.ndarray, heads: np.ndarray, weights: np.ndarray, n: int) -> csr_array:
    """CSR graph keeping the shortest of parallel arcs (scipy would add them up)."""
    order = np.lexsort((weights, heads, tails))
    tails, heads, weights = tails[order], heads[order], weights[order]
    first = np.ones(len(tails), dtype=bool)
    first[1:] = (tails[1:] != tails[:-1]) | (heads[1:] != heads[:-1])
    tails, heads, weights = tails[first], heads[first], weights[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, tails + 1, 1)
    return csr_array((weights, heads, np.cumsum(indptr)), shape=(n, n))


def _end_costs(network: StreetNetwork, node_dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost offsets of leaving an edge through ``u`` (a) and through ``v`` (b)."""
    e = network.edges
    a = np.where(e["bwd"].to_numpy(), node_dist[e["u"].to_numpy()], np.inf)
    b = np.where(e["fwd"].to_numpy(), node_dist[e["v"].to_numpy()], np.inf)
    return a, b


def _cut_edges(
    network: StreetNetwork,
    node_dist: np.ndarray,
    node_src: np.ndarray,
    st_edge: np.ndarray,
    st_off: np.ndarray,
    limit: float,
) -> tuple[np.ndarray, ...]:
    """Cut every edge into pieces with one nearest station and one coverage status.

    Returns arrays per piece: edge id, start and end (metres from ``u``), distance to the
    nearer end, the nearest station (index into the station arrays, -1 if none), and
    whether the piece is covered (pieces never straddle the limit, so the midpoint decides).
    """
    e = network.edges
    length = e["length_m"].to_numpy()
    a, b = _end_costs(network, node_dist)
    src_a = np.where(np.isfinite(a), node_src[e["u"].to_numpy()], -1)
    src_b = np.where(np.isfinite(b), node_src[e["v"].to_numpy()], -1)
    has_station = np.zeros(len(e), dtype=bool)
    has_station[st_edge] = True

    plain = np.flatnonzero(~has_station)
    out = list(_cut_plain(plain, length[plain], a[plain], b[plain], src_a[plain], src_b[plain], limit))
    extra = [
        _cut_with_stations(
            edge, length[edge], a[edge], b[edge], src_a[edge], src_b[edge],
            np.flatnonzero(st_edge == edge), st_off, bool(e["fwd"].iat[edge]),
            bool(e["bwd"].iat[edge]), limit,
        )
        for edge in np.flatnonzero(has_station)
    ]
    parts = [tuple(out), *extra]
    merged = tuple(np.concatenate([p[i] for p in parts]) for i in range(6))
    order = np.lexsort((merged[1], merged[0]))
    return tuple(m[order] for m in merged)


def _cut_plain(edge, length, a, b, src_a, src_b, limit):
    """Vectorised cutting of edges reached only through their two ends."""
    with np.errstate(invalid="ignore"):
        cands = np.column_stack([
            np.zeros_like(length), limit - a, length - (limit - b), (length + b - a) / 2, length,
        ])
        inside = np.isfinite(cands) & (cands > _EPS_M) & (cands < length[:, None] - _EPS_M)
        inside[:, 0] = inside[:, -1] = True
        cands = np.sort(np.where(inside, cands, np.inf), axis=1)
        keep = np.isfinite(cands)
        # The edge end always closes the last piece, even on edges shorter than _EPS_M.
        keep[:, 1:] &= (np.diff(cands, axis=1) > _EPS_M) | (cands[:, 1:] == length[:, None])
    rows = np.nonzero(keep)[0]
    vals = cands[keep]
    same = rows[1:] == rows[:-1]
    r, p, q = rows[:-1][same], vals[:-1][same], vals[1:][same]
    t = (p + q) / 2
    via_u = a[r] + t <= b[r] + length[r] - t
    covered = np.minimum(a[r] + t, b[r] + length[r] - t) <= limit + 1e-9
    dist = np.where(via_u, a[r] + p, b[r] + length[r] - q)
    src = np.where(via_u, src_a[r], src_b[r])
    dist = np.where(np.isfinite(dist), dist, np.nan)
    return edge[r], p, q, dist, np.where(np.isnan(dist), -1, src), covered


def _cut_with_stations(edge, length, a, b, src_a, src_b, on_edge, st_off, fwd, bwd, limit):
    """Cut one edge that has stations on it (general lower envelope, few edges)."""
    # Each source reaches the point x at cost c + |x - s|; "left" means x < s, which the
    # rider covers moving forward (u→v), so it needs fwd; "right" needs bwd.
    srcs = [(a, 0.0, False, True, src_a), (b, length, True, False, src_b)]
    srcs += [(0.0, float(st_off[i]), fwd, bwd, int(i)) for i in on_edge]
    srcs = [s for s in srcs if np.isfinite(s[0])]
    marks = {0.0, length}
    stations_at = {min(max(float(st_off[i]), 0.0), length) for i in on_edge}
    marks |= stations_at
    for c, s, left, right, _ in srcs:
        if left:
            marks.add(s - (limit - c))
        if right:
            marks.add(s + (limit - c))
    for ci, si, _, ri, _ in srcs:
        for cj, sj, lj, _, _ in srcs:
            if ri and lj and si < sj:
                marks.add((cj + sj - ci + si) / 2)
    xs = sorted(m for m in marks if 0.0 <= m <= length)
    pts = [xs[0]]
    for x in xs[1:]:
        if x - pts[-1] > _EPS_M:
            pts.append(x)
    if length - pts[-1] <= _EPS_M:
        pts[-1] = length

    def cost(i, x):
        c, s, left, right, _ = srcs[i]
        if (x < s and not left) or (x > s and not right):
            return np.inf
        return c + abs(x - s)

    pieces = []
    for p, q in zip(pts[:-1], pts[1:], strict=True):
        t = (p + q) / 2
        costs = [cost(i, t) for i in range(len(srcs))]
        best = int(np.argmin(costs)) if costs else -1
        ok = best >= 0 and np.isfinite(costs[best])
        label = (best if ok else -1, ok and costs[best] <= limit + 1e-9)
        if pieces and pieces[-1][2] == label and not any(abs(p - x) <= _EPS_M for x in stations_at):
            pieces[-1][1] = q
        else:
            pieces.append([p, q, label])
    edges, ps, qs, dists, srcs_out, covered = [], [], [], [], [], []
    for p, q, (best, is_covered) in pieces:
        if best >= 0:
            d = min(srcs[best][0] + abs(p - srcs[best][1]), srcs[best][0] + abs(q - srcs[best][1]))
            station = srcs[best][4]
        else:
            d, station = np.nan, -1
        edges.append(edge)
        ps.append(p)
        qs.append(q)
        dists.append(d)
        srcs_out.append(station)
        covered.append(is_covered)
    return (np.array(edges, dtype=np.int64), np.array(ps), np.array(qs), np.array(dists, dtype=float),
            np.array(srcs_out, dtype=np.int64), np.array(covered, dtype=bool))


def _piece_frame(network, stations, piece_edge, start, end, dist, station_row, covered):
    e = network.edges
    lines = e.geometry.to_numpy()
    length = e["length_m"].to_numpy()
    whole = (start <= _EPS_M) & (end >= length[piece_edge] - _EPS_M)
    geoms = lines[piece_edge].copy()
    for i in np.flatnonzero(~whole):
        geoms[i] = shapely.ops.substring(lines[piece_edge[i]], start[i], end[i])
    ids = stations["station_id"].to_numpy()
    station_id = np.append(ids.astype(object), None)[station_row]  # row -1: no station
    demand = (e["demand"].to_numpy(dtype=bool)[piece_edge] if "demand" in e
              else np.ones(len(piece_edge), dtype=bool))
    frame = pd.DataFrame({
        "edge_id": piece_edge,
        "start_m": start,
        "end_m": end,
        "length_m": end - start,
        "status": np.where(demand, np.where(covered, "covered", "gap"), "ignored"),
        "dist_m": dist,
        "station_id": station_id,
        "osmid": e["osmid"].to_numpy()[piece_edge],
        "highway": e["highway"].to_numpy()[piece_edge],
        "name": e["name"].to_numpy()[piece_edge],
        "component": e["component"].to_numpy()[piece_edge],
        "demand": demand,
    })
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=network.crs)
