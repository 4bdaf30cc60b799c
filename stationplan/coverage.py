"""Network-distance coverage: which street metres lie within reach of a station.

Distances run along the streets from each point to the nearest station, in the travel
direction (a rider goes *to* the station), so one-way rules apply where the mode has them.
The search is one multi-source Dijkstra bounded by the threshold on a CSR array graph;
each street segment is then cut exactly where the distance crosses the threshold, where
the nearest station changes, and where a station sits.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _route
from ._errors import InputError
from ._lines import Vertices
from ._options import check_option
from ._read.kernels import points_at
from ._route import kernels as _kernels
from .network import MODES, StreetNetwork

log = logging.getLogger(__name__)

EPS_M = 1e-3  # breakpoints closer than a millimetre are one point


@dataclass(frozen=True)
class CoverageRule:
    """The service standard: a distance, a time at a speed, or both (both must hold).

    Parameters
    ----------
    radius_m
        Network distance limit in metres (> 0), or ``None``.
    max_minutes
        Travel-time limit in minutes (> 0), or ``None``.
    speed_kmh
        Speed in km/h (> 0) that turns ``max_minutes`` into metres.
    cover
        How many distinct stations must reach a street for it to count as covered
        (1: one station; 2: cross-coverage, 交叉覆盖, a street still served when one
        station closes).
    reach_col
        A station column giving each station its own reach (metres, or minutes with a
        unit: "800", "800米", "1.2km", "10分钟"); blank or invalid cells take the rule's
        limit (see :func:`station_reach`). ``None``: every station has the rule's limit.

    Examples
    --------
    >>> CoverageRule().limit_m, CoverageRule().binding
    (500.0, 'distance and time')
    >>> CoverageRule(radius_m=500, max_minutes=5, speed_kmh=4.5).limit_m
    375.0
    >>> CoverageRule(radius_m=float("nan"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: radius_m must be a number > 0 (metres ...), not nan
    >>> CoverageRule(cover=2).counts, CoverageRule().counts
    (True, False)
    >>> CoverageRule(cover=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: cover must be a whole number >= 1 and <= 20 (...), not 0
    """

    radius_m: float | None = 500.0
    max_minutes: float | None = 5.0
    speed_kmh: float = 6.0
    cover: int = 1
    reach_col: str | None = None

    def __post_init__(self) -> None:
        if self.radius_m is None and self.max_minutes is None:
            msg = "give a distance (radius_m) or a time (max_minutes), or both"
            raise InputError(msg)
        for name in ("radius_m", "max_minutes", "speed_kmh"):
            value = getattr(self, name)
            if value is not None or name == "speed_kmh":
                check_option(name, value)
        check_option("cover", self.cover)
        if self.reach_col is not None and (not isinstance(self.reach_col, str)
                                           or not self.reach_col.strip()):
            msg = f"reach_col must be a column name, not {self.reach_col!r}"
            raise InputError(msg)
        time_m = self.time_limit_m
        if time_m is not None and not np.isfinite(time_m):  # both finite, the product not
            msg = (f"max_minutes {self.max_minutes!r} at speed_kmh {self.speed_kmh!r} is "
                   "farther than any limit can be; give smaller numbers")
            raise InputError(msg)

    @classmethod
    def for_mode(
        cls,
        mode: str,
        *,
        radius_m: float | None = 500.0,
        max_minutes: float | None = 5.0,
        speed_kmh: float | None = None,
        cover: int = 1,
        reach_col: str | None = None,
    ) -> CoverageRule:
        """Build a rule whose speed defaults to the mode's speed."""
        speed = speed_kmh if speed_kmh is not None else MODES[mode].speed_kmh
        return cls(radius_m=radius_m, max_minutes=max_minutes, speed_kmh=speed, cover=cover,
                   reach_col=reach_col)

    @property
    def counts(self) -> bool:
        """Whether coverage counts the stations reaching each piece (``cover`` > 1 or
        per-station reaches); otherwise only the nearest station decides."""
        return self.cover > 1 or self.reach_col is not None

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
        """The rule as plain data for ``summary.json`` (``cover`` and ``reach_col`` only
        when they differ from one station at the rule's limit)."""
        out: dict[str, object] = {
            "radius_m": self.radius_m,
            "max_minutes": self.max_minutes,
            "speed_kmh": self.speed_kmh,
            "time_limit_m": self.time_limit_m,
            "limit_m": self.limit_m,
            "binding": self.binding,
        }
        if self.cover != 1:
            out["cover"] = self.cover
        if self.reach_col is not None:
            out["reach_col"] = self.reach_col
        return out


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
        served, "paired" on the other carriageway of a dual carriageway, counted on its
        twin: see :mod:`stationplan.carriageways`), ``dist_m`` (distance from the
        nearest station to the piece's nearer end; NaN beyond the search limit),
        ``station_id``, ``osmid``, ``highway``, ``name``, ``component``, ``demand``
        (false on "ignored" and "paired" pieces), ``via_twin`` (covered only through
        the twin carriageway: then ``station_id`` and ``dist_m`` are the twin's). When
        the rule counts (``cover`` > 1 or ``reach_col``), also ``stations_reaching``:
        the distinct stations that reach the piece (each within its own reach; on a
        counted carriageway, the twin point's stations too), and "covered" means at
        least ``rule.cover`` of them.
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
        The service standard; default 500 m and 5 minutes at the mode's speed. With
        ``cover`` K > 1 a piece is covered when K distinct stations reach it; with
        ``reach_col`` each station reaches as far as its column says
        (:func:`station_reach`). Either way pieces are also cut where the number of
        stations reaching them changes, and get ``stations_reaching``.

    Returns
    -------
    Coverage
        Pieces that tile every street exactly, labelled covered or gap.
    """
    rule = rule or CoverageRule.for_mode(network.mode.name)
    if "edge_id" not in stations.columns:
        msg = "stations are not snapped; call snap_stations(network, stations) first"
        raise InputError(msg)
    if rule.reach_col is not None:
        stations = station_reach(stations, rule)
    used, st_edge, st_off = station_sites(stations)
    reach = (None if rule.reach_col is None
             else stations["reach_m"].to_numpy(float)[used])
    # the nearest-station search runs to the farthest any station reaches
    limit = rule.limit_m if reach is None or len(reach) == 0 else float(reach.max())

    node_dist, node_src = station_distances(network, st_edge, st_off, limit_m=limit)
    to_row = np.append(used, -1)  # index -1 (no station) maps to row -1
    node_station = to_row[node_src]
    piece_edge, start, end, dist, src, covered = _route.edge_pieces(
        network, node_dist, node_src, st_edge, st_off, limit_m=limit, eps_m=EPS_M
    )
    paired = via_twin = None
    if network.carriageways is not None and len(network.carriageways):
        piece_edge, start, end, dist, src, covered, paired, via_twin = _count_roads_once(
            network, node_dist, st_edge, st_off, limit,
            (piece_edge, start, end, dist, src, covered))
    count = None
    if rule.counts:
        arrays = (piece_edge, start, end, dist, src, covered)
        piece_edge, start, end, dist, src, covered, paired, via_twin, count = _count_stations(
            network, node_dist, st_edge, st_off,
            np.full(len(used), rule.limit_m) if reach is None else reach, rule.cover,
            arrays, paired, via_twin)
    station_row = to_row[src]
    pieces = _piece_frame(network, stations, piece_edge, start, end, dist, station_row, covered,
                          paired, via_twin)
    if count is not None:
        pieces["stations_reaching"] = count
    cov = Coverage(network, stations, rule, pieces, node_dist, node_station)
    if log.isEnabledFor(logging.INFO):  # from the arrays: the status strings are slow to scan
        on_demand = pieces["demand"].to_numpy()
        if paired is not None:
            on_demand = on_demand & ~paired
        piece_m = end - start
        covered_m, demand_m = piece_m[covered & on_demand].sum(), piece_m[on_demand].sum()
        if rule.cover == 1:
            log.info("coverage at %.0f m: %.1f of %.1f km of demand streets covered (%.1f %%) "
                     "by %d stations", limit, covered_m / 1000, demand_m / 1000,
                     100 * covered_m / max(demand_m, 1e-9), len(used))
        else:
            log.info("coverage by at least %d stations at %.0f m: %.1f of %.1f km of demand "
                     "streets (%.1f %%), %d stations", rule.cover, limit, covered_m / 1000,
                     demand_m / 1000, 100 * covered_m / max(demand_m, 1e-9), len(used))
    return cov


def _count_stations(
    network: StreetNetwork, node_dist: np.ndarray, st_edge: np.ndarray, st_off: np.ndarray,
    reach_m: np.ndarray, cover: int, arrays: tuple[np.ndarray, ...],
    paired: np.ndarray | None, via_twin: np.ndarray | None,
) -> tuple[Any, ...]:
    """Cut the nearest-station pieces where the number of stations reaching them changes.

    Each station's exact catchment (the intervals from which it is reached within its
    own reach, :func:`stationplan._route.catchment.site_intervals`) counts once per
    point; on a counted carriageway the catchments of its paired twin are folded onto it
    (a station reaching the twin point serves the road), so a piece's count is the number
    of distinct stations reaching it or its twin point. Pieces are cut at every catchment
    end, then the parts of one piece with the same count are joined again, so cuts fall
    exactly where the count changes. A piece is covered when at least ``cover`` stations
    reach it.

    Returns the piece arrays (edge, start, end, dist, station index, covered), the flags
    paired and via_twin (covered only with the twin's stations), and the count.
    """
    from ._route import catchment as _catchment
    from .carriageways import fold_catchments, on_paired

    own = _catchment.site_intervals(network, st_edge, st_off, limit_m=reach_m)
    folded = fold_catchments(network, own)
    cuts_e = np.concatenate([own.edge, own.edge, folded.edge, folded.edge])
    cuts_x = np.concatenate([own.start, own.end, folded.start, folded.end])
    piece_edge, start, end, dist, src, _cov = arrays
    twin = np.zeros(len(piece_edge), dtype=bool) if via_twin is None else via_twin
    parent, p_start, p_end = _split_at(piece_edge, start, end, cuts_e, cuts_x)
    p_edge = piece_edge[parent]
    mid = (p_start + p_end) / 2
    n_own = _count_at(own, p_edge, mid)
    n_fold = _count_at(folded, p_edge, mid)
    is_paired = (on_paired(network, p_edge, mid) if paired is not None
                 else np.zeros(len(p_edge), dtype=bool))
    count = np.where(is_paired, n_own, n_fold)
    prep = _route.routing(network)
    whole = (p_start == start[parent]) & (p_end == end[parent])
    d = np.minimum(_point_distances(prep, node_dist, st_edge, st_off, p_edge, p_start),
                   _point_distances(prep, node_dist, st_edge, st_off, p_edge, p_end))
    # a twin's distance is not this edge's to recompute
    p_dist = np.where(whole | twin[parent], dist[parent], np.where(np.isfinite(d), d, np.nan))
    # Join neighbours that differ in nothing shown (same station, count, flags), except at
    # a station: this undoes the cuts above where the count does not change, and the
    # nearest-station cuts at the farthest reach when stations have their own reaches.
    p_src, p_twin = src[parent], twin[parent]
    same = np.zeros(len(parent), dtype=bool)
    same[1:] = ((p_edge[1:] == p_edge[:-1]) & (p_src[1:] == p_src[:-1])
                & (count[1:] == count[:-1]) & (n_own[1:] == n_own[:-1])
                & (is_paired[1:] == is_paired[:-1]) & (p_twin[1:] == p_twin[:-1]))
    same &= ~_at_station(st_edge, st_off, p_edge, p_start)
    first = np.flatnonzero(~same)
    last = np.append(first[1:], len(parent)) - 1
    p_dist = np.fmin.reduceat(p_dist, first) if len(first) else p_dist
    p_edge, p_src, p_twin = p_edge[first], p_src[first], p_twin[first]
    count, n_own, is_paired = count[first], n_own[first], is_paired[first]
    p_start, p_end = p_start[first], p_end[last]
    covered = count >= cover
    via = covered & ~is_paired & (n_own < cover)
    return (p_edge, p_start, p_end, p_dist, p_src, covered,
            is_paired if paired is not None else None, via if paired is not None else None,
            count.astype(np.int64))


def _split_at(edge: np.ndarray, start: np.ndarray, end: np.ndarray, cut_edge: np.ndarray,
              cut_x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces (sorted by edge and start, tiling their edges) cut at the given positions;
    cuts within a millimetre of a piece end or of each other are one.

    Returns each part's piece (index), start and end, in piece order.

    >>> _split_at(np.array([0, 0, 1]), np.array([0.0, 5.0, 0.0]), np.array([5.0, 9.0, 4.0]),
    ...           np.array([0, 0, 0, 1]), np.array([2.0, 5.0, 7.0, 4.0]))
    (array([0, 0, 1, 1, 2]), array([0., 2., 5., 7., 0.]), array([2., 5., 7., 9., 4.]))
    """
    from .carriageways import row_at

    cut_edge = np.asarray(cut_edge, dtype=np.int64)
    cut_x = np.asarray(cut_x, dtype=float)
    at = row_at(edge, start, end, cut_edge, cut_x)
    ok = at >= 0
    at, x = at[ok], cut_x[ok]
    inner = (x > start[at] + EPS_M) & (x < end[at] - EPS_M)
    at, x = at[inner], x[inner]
    n = len(edge)
    owner = np.concatenate([np.arange(n), at])
    pos = np.concatenate([start, x])
    order = np.lexsort((pos, owner))
    owner, pos = owner[order], pos[order]
    keep = np.ones(len(owner), dtype=bool)
    keep[1:] = (owner[1:] != owner[:-1]) | (pos[1:] - pos[:-1] > EPS_M)
    owner, pos = owner[keep], pos[keep]
    nxt = np.append(pos[1:], np.nan)
    last = np.append(owner[1:] != owner[:-1], True)
    stop = np.where(last, end[owner], nxt)
    return owner, pos, stop


def _at_station(st_edge: np.ndarray, st_off: np.ndarray, edge: np.ndarray, pos: np.ndarray
                ) -> np.ndarray:
    """Whether each position (edge, metres from ``u``) is where a station sits."""
    from .carriageways import lex_rank

    out = np.zeros(len(edge), dtype=bool)
    if len(st_edge) == 0 or len(edge) == 0:
        return out
    o = np.lexsort((st_off, st_edge))
    k_edge, k_off = np.asarray(st_edge)[o], np.asarray(st_off, dtype=float)[o]
    r = lex_rank(k_edge, k_off, edge, pos, inclusive=True)
    for j in (r - 1, r):
        ok = (j >= 0) & (j < len(k_edge))
        jj = np.clip(j, 0, len(k_edge) - 1)
        out |= ok & (k_edge[jj] == edge) & (np.abs(k_off[jj] - pos) <= 2 * EPS_M)
    return out


def _count_at(iv: Any, edge: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """How many intervals (disjoint within each site and edge) hold each position."""
    from .carriageways import lex_rank

    o = np.lexsort((iv.start, iv.edge))
    began = lex_rank(iv.edge[o], iv.start[o], edge, pos, inclusive=True)
    o = np.lexsort((iv.end, iv.edge))
    ended = lex_rank(iv.edge[o], iv.end[o], edge, pos, inclusive=False)
    return began - ended


def _point_distances(prep: Any, node_dist: np.ndarray, st_edge: np.ndarray,
                     st_off: np.ndarray, edge: np.ndarray, x: np.ndarray) -> np.ndarray:
    """:func:`_point_distance` for many points."""
    length = prep.length[edge]
    best = np.minimum(np.where(prep.fwd[edge], node_dist[prep.v[edge]] + length - x, np.inf),
                      np.where(prep.bwd[edge], node_dist[prep.u[edge]] + x, np.inf))
    on = np.flatnonzero(np.isin(edge, st_edge))
    for i in on.tolist():  # few points share an edge with a station
        best[i] = _point_distance(prep, node_dist, st_edge, st_off, int(edge[i]), float(x[i]))
    return best


def station_sites(stations: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stations coverage counts (status "ok") as sites on the streets.

    Parameters
    ----------
    stations
        Output of :func:`~stationplan.snap_stations`.

    Returns
    -------
    row
        Row positions in ``stations`` of the stations used.
    edge_id, offset_m
        Their edges (rows of ``network.edges``) and offsets from the edges' ``u`` ends.
    """
    used = np.flatnonzero((stations["status"] == "ok").to_numpy())
    edge_id = stations["edge_id"].to_numpy()[used].astype(np.int64)
    offset_m = stations["offset_m"].to_numpy()[used].astype(float)
    return used, edge_id, offset_m


_REACH_UNITS = {"": 1.0, "m": 1.0, "米": 1.0, "公尺": 1.0, "km": 1000.0, "公里": 1000.0,
                "千米": 1000.0}
_MINUTE_UNITS = ("min", "mins", "minute", "minutes", "分钟", "分")


def parse_reach_m(value: Any, *, speed_kmh: float) -> float | None:
    """A station's own reach in metres from a cell as people write it.

    A bare number is metres; units: m/米, km/公里/千米, or minutes (min/分钟), which the
    speed turns into metres. Blank cells give NaN (the rule's limit applies); cells that
    are not a positive reach give ``None``.

    Examples
    --------
    >>> [parse_reach_m(v, speed_kmh=6.0) for v in (800, "800米", "1.2 km", "10分钟", "５００")]
    [800.0, 800.0, 1200.0, 1000.0, 500.0]
    >>> parse_reach_m("", speed_kmh=6.0), parse_reach_m("far", speed_kmh=6.0)
    (nan, None)
    >>> parse_reach_m(-5, speed_kmh=6.0), parse_reach_m("0米", speed_kmh=6.0)
    (None, None)
    """
    import re
    import unicodedata

    from ._text import cell_text

    text = unicodedata.normalize("NFKC", cell_text(value)).strip().lower()
    if not text:
        return math.nan
    found = re.fullmatch(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z\u4e00-\u9fff]*)", text)
    if found is None:
        return None
    number, unit = float(found.group(1)), found.group(2)
    if unit in _MINUTE_UNITS:
        metres = number * speed_kmh * 1000.0 / 60.0
    elif unit in _REACH_UNITS:
        metres = number * _REACH_UNITS[unit]
    else:
        return None
    return metres if math.isfinite(metres) and metres > 0 else None


def station_reach(stations: gpd.GeoDataFrame, rule: CoverageRule) -> gpd.GeoDataFrame:
    """The stations with each one's own reach from the rule's ``reach_col``.

    Parameters
    ----------
    stations
        Stations (snapped or not) with the column ``rule.reach_col``.
    rule
        The rule: its ``reach_col`` names the column, its speed turns minutes into
        metres, and its limit is the reach of stations without a valid value.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``reach_m`` (metres each station reaches) and ``reach_note``
        ("own": from the column, "rule": blank cell, the rule's limit, or
        "invalid: VALUE": not a reach, the rule's limit).
    """
    col = rule.reach_col
    if col is None:
        return stations
    if col not in stations.columns:
        shown = ", ".join(str(c) for c in stations.columns if c != "geometry")
        msg = f"the station file has no column {col!r} for station reaches; columns: {shown}"
        raise InputError(msg)
    reach, notes = [], []
    for value in stations[col].tolist():
        metres = parse_reach_m(value, speed_kmh=rule.speed_kmh)
        if metres is None:
            reach.append(rule.limit_m)
            notes.append(f"invalid: {_note_text(value)}")
        elif math.isnan(metres):
            reach.append(rule.limit_m)
            notes.append("rule")
        else:
            reach.append(metres)
            notes.append("own")
    out = stations.copy()
    out["reach_m"] = np.array(reach, dtype=float)
    out["reach_note"] = notes
    bad = sum(n.startswith("invalid") for n in notes)
    if bad:
        log.warning("%d station rows have no valid reach in column %s; they take the rule's "
                    "%.0f m", bad, col, rule.limit_m)
    return out


def reach_limits(stations: gpd.GeoDataFrame, rule: CoverageRule) -> np.ndarray | float:
    """How far each of ``stations`` reaches (:func:`station_reach`), or the rule's limit
    for all when the rule names no reach column: the ``limit_m`` of the catchment
    searches (:func:`stationplan._route.catchment.site_intervals`).

    >>> import pandas as pd
    >>> reach_limits(pd.DataFrame({"r": ["1km", ""]}), CoverageRule(reach_col="r")).tolist()
    [1000.0, 500.0]
    >>> reach_limits(pd.DataFrame({"r": [1]}), CoverageRule())
    500.0
    """
    if rule.reach_col is None:
        return rule.limit_m
    return station_reach(stations, rule)["reach_m"].to_numpy(float)


def _note_text(value: Any) -> str:
    """A cell's text for a note, cut at 40 characters."""
    from ._text import cell_text

    text = cell_text(value)
    return text if len(text) <= 40 else text[:39] + "…"


def station_distances(
    network: StreetNetwork,
    edge_id: np.ndarray,
    offset_m: np.ndarray,
    *,
    limit_m: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from every node to its nearest station, by one bounded multi-source search.

    The search starts at the stations' edge ends (with the distance along the edge to the
    station) and runs on the reversed graph, so distances are in the travel direction
    towards the station; it touches only the nodes it reaches. A node equally far from
    two stations gets the first of them.

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
    return _route.nearest_sites(network, edge_id, offset_m, limit_m=limit_m)


def _count_roads_once(
    network: StreetNetwork, node_dist: np.ndarray, st_edge: np.ndarray, st_off: np.ndarray,
    limit_m: float, arrays: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:
    """Count each dual carriageway once (:mod:`stationplan.carriageways`).

    Pieces are cut where paired intervals begin and end; pieces on a paired interval are
    marked paired (not demand, their own covered state kept). Where a paired piece is
    covered, its twin positions on the primary edge are covered too: primary pieces are
    cut there and become covered "via twin", with the twin's station and distance.

    Returns the piece arrays (edge, start, end, dist, station index, covered) and two
    flags per piece: paired, via_twin.
    """
    from .carriageways import overlaps, row_at, sorted_rows, twin_positions

    pairs = network.carriageways
    prep = _route.routing(network)
    # the paired stretches (runs of rows) of each edge
    spans = pairs.groupby(["edge_id", "run"], sort=True).agg(a=("start_m", "min"),
                                                              b=("end_m", "max"))
    s_edge = spans.index.get_level_values("edge_id").to_numpy(np.int64)
    s_a, s_b = spans["a"].to_numpy(float), spans["b"].to_numpy(float)
    cuts: dict[int, list[float]] = {}
    for k, a, b in zip(s_edge.tolist(), s_a.tolist(), s_b.tolist(), strict=True):
        cuts.setdefault(k, []).extend((a, b))
    piece_edge, start, end, dist, src, covered = _cut_pieces(
        prep, node_dist, st_edge, st_off, cuts, arrays)
    paired = row_at(s_edge, s_a, s_b, piece_edge, (start + end) / 2) >= 0
    # the twin positions of the covered paired pieces, row by row (each row maps linearly)
    lit = np.flatnonzero(paired & covered)
    rows, which, _ = overlaps(pairs, piece_edge[lit], start[lit], end[lit])
    order, p_a, p_b = sorted_rows(pairs)
    hit = lit[which]
    lo, hi = np.maximum(start[hit], p_a[rows]), np.minimum(end[hit], p_b[rows])
    use = hi - lo > EPS_M
    r, hit = order[rows[use]], hit[use]
    y0, y1 = twin_positions(pairs, r, lo[use]), twin_positions(pairs, r, hi[use])
    via_twin = np.zeros(len(piece_edge), dtype=bool)
    if len(r) == 0:
        return piece_edge, start, end, dist, src, covered, paired, via_twin
    merged = _merge_twins(pairs["twin_edge_id"].to_numpy(np.int64)[r], np.minimum(y0, y1),
                          np.maximum(y0, y1), src[hit], dist[hit])
    cuts = {}
    for k, a, b, _, _ in merged:
        cuts.setdefault(k, []).extend((a, b))
    piece_edge, start, end, dist, src, covered = _cut_pieces(
        prep, node_dist, st_edge, st_off, cuts, (piece_edge, start, end, dist, src, covered))
    mid = (start + end) / 2
    paired = row_at(s_edge, s_a, s_b, piece_edge, mid) >= 0
    m_edge = np.array([m[0] for m in merged], dtype=np.int64)
    m_lo, m_hi = np.array([m[1] for m in merged]), np.array([m[2] for m in merged])
    gap = np.flatnonzero(~covered & ~paired)
    at = row_at(m_edge, m_lo, m_hi, piece_edge[gap], mid[gap])
    gap, at = gap[at >= 0], at[at >= 0]
    via_twin = np.zeros(len(piece_edge), dtype=bool)
    via_twin[gap] = True
    covered[gap] = True
    src[gap] = np.array([merged[j][3] for j in at.tolist()], dtype=src.dtype)
    dist[gap] = np.array([merged[j][4] for j in at.tolist()], dtype=float)
    return piece_edge, start, end, dist, src, covered, paired, via_twin


def _merge_twins(edge: np.ndarray, lo: np.ndarray, hi: np.ndarray, src: np.ndarray,
                 dist: np.ndarray) -> list[tuple[int, float, float, int, float]]:
    """Twin intervals merged where they touch on one edge with one station (the least
    distance kept)."""
    order = np.lexsort((lo, src, edge))
    out: list[tuple[int, float, float, int, float]] = []
    for i in order.tolist():
        k, a, b, s, d = int(edge[i]), float(lo[i]), float(hi[i]), int(src[i]), float(dist[i])
        if out and out[-1][0] == k and out[-1][3] == s and a <= out[-1][2] + EPS_M:
            last = out[-1]
            out[-1] = (k, last[1], max(last[2], b), s, float(np.fmin(last[4], d)))
        else:
            out.append((k, a, b, s, d))
    return out


def _point_distance(prep: Any, node_dist: np.ndarray, st_edge: np.ndarray, st_off: np.ndarray,
                    edge: int, x: float) -> float:
    """Distance from the point ``x`` metres along ``edge`` to the nearest station."""
    length = float(prep.length[edge])
    best = np.inf
    if prep.fwd[edge]:
        best = min(best, float(node_dist[prep.v[edge]]) + length - x)
    if prep.bwd[edge]:
        best = min(best, float(node_dist[prep.u[edge]]) + x)
    for off in np.asarray(st_off)[np.asarray(st_edge) == edge].tolist():
        if (prep.fwd[edge] and off >= x) or (prep.bwd[edge] and off <= x):
            best = min(best, abs(off - x))
    return best


def _cut_pieces(prep: Any, node_dist: np.ndarray, st_edge: np.ndarray, st_off: np.ndarray,
                cuts: dict[int, list[float]], arrays: tuple[np.ndarray, ...]
                ) -> tuple[np.ndarray, ...]:
    """The pieces cut at the given positions per edge; a cut-off part keeps its piece's
    station and status, and its distance is that of its nearer end."""
    piece_edge, start, end, _dist, src, covered = arrays
    if not cuts:
        return arrays
    at = np.flatnonzero(np.isin(piece_edge, np.fromiter(cuts, dtype=np.int64)))
    new: list[tuple[int, float, float, float, int, bool]] = []
    drop = []
    for i in at.tolist():
        k, a, b = int(piece_edge[i]), float(start[i]), float(end[i])
        inner = sorted({x for x in cuts[k] if a + EPS_M < x < b - EPS_M})
        if not inner:
            continue
        drop.append(i)
        bounds = [a, *inner, b]
        for x, y in itertools.pairwise(bounds):
            d = min(_point_distance(prep, node_dist, st_edge, st_off, k, x),
                    _point_distance(prep, node_dist, st_edge, st_off, k, y))
            new.append((k, x, y, d if np.isfinite(d) else np.nan, int(src[i]),
                        bool(covered[i])))
    if not drop:
        return arrays
    keep = np.ones(len(piece_edge), dtype=bool)
    keep[drop] = False
    cols = list(zip(*new, strict=True))
    out = [np.concatenate([arr[keep], np.array(col, dtype=arr.dtype)])
           for arr, col in zip(arrays, cols, strict=True)]
    order = np.lexsort((out[1], out[0]))
    return tuple(arr[order] for arr in out)


def _piece_frame(network: StreetNetwork, stations: gpd.GeoDataFrame, piece_edge: np.ndarray,
                 start: np.ndarray, end: np.ndarray, dist: np.ndarray, station_row: np.ndarray,
                 covered: np.ndarray, paired: np.ndarray | None = None,
                 via_twin: np.ndarray | None = None) -> gpd.GeoDataFrame:
    e = network.edges
    lines = e.geometry.to_numpy()
    length = _route.routing(network).length
    whole = (start <= EPS_M) & (end >= length[piece_edge] - EPS_M)
    geoms = lines[piece_edge]
    split = np.flatnonzero(~whole)
    if len(split):
        geoms[split] = substrings(lines, piece_edge[split], start[split], end[split],
                                  vertices=network.edge_vertices)
    demand = (e["demand"].to_numpy(dtype=bool)[piece_edge] if "demand" in e
              else np.ones(len(piece_edge), dtype=bool))
    if paired is None:
        paired = np.zeros(len(piece_edge), dtype=bool)
    if via_twin is None:
        via_twin = np.zeros(len(piece_edge), dtype=bool)
    # Text columns are taken from their frames (pandas' string arrays), not rebuilt from
    # Python strings: a million pieces would spend seconds on that alone.
    labels = pd.Series(np.array(["ignored", "gap", "covered", "paired"])).array  # as inferred
    # The columns are new arrays made here: the frame takes them as they are (copy=False,
    # no consolidation into 2-D blocks), which saves copying a million rows three times.
    frame = pd.DataFrame({
        "edge_id": piece_edge,
        "start_m": start,
        "end_m": end,
        "length_m": end - start,
        "status": labels.take(np.where(demand, np.where(paired, 3, np.where(covered, 2, 1)),
                                       0)),
        "dist_m": dist,
        "station_id": _station_ids(stations["station_id"], station_row),
        "osmid": e["osmid"].to_numpy()[piece_edge],
        "highway": _take(e["highway"], piece_edge),
        "name": _take(e["name"], piece_edge),
        "component": e["component"].to_numpy()[piece_edge],
        "demand": demand & ~paired,
        "via_twin": via_twin,
        "geometry": gpd.array.GeometryArray(geoms, crs=network.crs),
    }, copy=False)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=network.crs, copy=False)


def _take(column: pd.Series, rows: np.ndarray) -> Any:
    """``column.to_numpy()[rows]``, fast for pandas string columns."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.array.take(rows)
    return column.to_numpy()[rows]


def _station_ids(ids: pd.Series, row: np.ndarray) -> Any:
    """The station id of each piece (``None`` where no station is in reach)."""
    if isinstance(ids.dtype, pd.StringDtype):
        return ids.array.take(np.where(row >= 0, row, -1), allow_fill=True)
    return np.append(ids.to_numpy().astype(object), [None])[row]  # row -1: no station


def substrings(lines: np.ndarray, edge: np.ndarray, start: np.ndarray,
                end: np.ndarray, *, vertices: Vertices | None = None) -> np.ndarray:
    """``shapely.ops.substring(lines[edge], start, end)`` for many pieces at once
    (``vertices``, when known: :func:`~stationplan._lines.vertices_of` ``lines``).

    The same vertices as shapely builds them (start point, inner vertices, end point),
    found by compiled loops (_kernels) instead of one Python call per piece.
    """
    if vertices is not None and vertices[1] is not None:
        xy, line_ptr = vertices
        line_of = np.asarray(edge, dtype=np.int64)
    else:
        xy, line_ptr, line_of = _vertices_used(lines, edge)
    start_xy = points_at(xy, line_ptr, line_of, start)
    end_xy = points_at(xy, line_ptr, line_of, end)
    coords, piece = _kernels.substring_coords(xy, line_ptr, line_of, start, end, start_xy,
                                              end_xy)
    return shapely.linestrings(coords, indices=piece)


def _vertices_used(lines: np.ndarray, edge: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertices of the lines ``edge`` names, where each of those begins, and the
    place of each piece's line among them."""
    if np.all(edge[1:] >= edge[:-1]):  # pieces come in edge order: no sort needed
        first = np.ones(len(edge), dtype=bool)
        first[1:] = edge[1:] != edge[:-1]
        used, line_of = edge[first], np.cumsum(first) - 1
    else:
        used, line_of = np.unique(edge, return_inverse=True)
    xy, owner = shapely.get_coordinates(lines[used], return_index=True)
    line_ptr = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(used)), out=line_ptr[1:])
    return xy, line_ptr, line_of
