"""Coverage kept current while a planner adds, moves and deletes stations.

:class:`LiveCoverage` holds a street network (its demand marked, as
:func:`~stationplan.pipeline.coverage_network` builds it), the stations and their
coverage. Each edit returns a :class:`Change`: the pieces of the streets whose coverage
was recomputed and the city-wide figures after it.

An edit is exact and local. Coverage is local (:mod:`stationplan.halo`): a street point
is reached only by stations whose snapped point lies within the reach (``rule.limit_m``)
of it, in a straight line, and a counted carriageway is also covered through its twin,
at most :func:`~stationplan.halo.pair_distance_m` away. So an edit changes only the
streets that come within ``reach + pair distance`` (:data:`MARGIN_M` more:
:attr:`LiveCoverage.reach_m`) of the edited station's old or new snapped point. Those
streets are recomputed whole by :func:`~stationplan.compute_coverage` on a part of the
network (:func:`~stationplan.halo.unit_network`): the streets within the same distance
of a box around them, a box that also holds the carriageways paired with them and those
carriageways' twins (a twin's coverage and distance are then those of the whole network,
and each paired carriageway keeps all its pair rows), with the stations snapped to that
part, in their order (equally near stations serve in their order, as in a full run).
Their pieces replace the old ones in the piece table; the nodes of those streets take
their new distances. A station is snapped on the whole network, as
:func:`~stationplan.snap_stations` snaps it (the nearest street within ``max_snap_m``,
the lowest edge id among equally near ones).

The result is, piece for piece, that of a full recompute
(``compute_coverage(network, snap_stations(network, stations), rule=rule)`` on the same
stations in the same order: an add appends a row, or puts it at row ``at``, a move keeps
it, a delete drops it):
the same edges, cut points, status, serving station, ``via_twin`` and distances.

Two things are not incremental: a rule with per-station reaches (``reach_col``: the
search limit is the farthest reach, which an edit can change) recomputes the whole
network on every edit; and the coordinate-system check of
:func:`~stationplan.snap_stations` (GCJ-02 read as WGS-84) runs on the stations given to
the constructor, not again after each edit. The coverage engine's INFO line of a local
run (a part's figures, not the city's) is filtered out of the log.

Examples
--------
>>> from stationplan._streets import network_from_segments, MODES
>>> from stationplan.area import with_demand
>>> road = {"highway": "residential", "name": "Long Road"}
>>> coords = {1: (116.0, 39.9), 2: (116.0235, 39.9)}  # about 2 km east-west
>>> net = with_demand(network_from_segments([(10, road, [1, 2], None, True, True)],
...                                         coords, MODES["walk"], source="doc", stats={}))
>>> empty = gpd.GeoDataFrame({"station_id": [], "status": []}, geometry=[], crs=4326)
>>> lc = LiveCoverage(net, empty, rule=CoverageRule(radius_m=500.0, max_minutes=None))
>>> lc.figures.covered_m
0.0
>>> change = lc.add("A", 116.0, 39.9)  # at the west end: covers 500 m
>>> round(change.figures.covered_m, 6), change.edges.tolist()
(500.0, [0])
>>> change.pieces[["start_m", "end_m", "status", "station_id"]].round(3).values.tolist()
[[0.0, 500.0, 'covered', 'A'], [500.0, 2009.053, 'gap', 'A']]
>>> round(lc.move("A", 116.0117, 39.9).figures.covered_m, 6)  # to the middle: 1000 m
1000.0
>>> lc.move("A", 116.0117, 39.95).station["status"]  # 5 km off the street
'too_far_from_street'
>>> lc.delete("A").figures.stations, lc.figures.covered_m
(0, 0.0)
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ._errors import InputError
from .coverage import Coverage, CoverageRule, compute_coverage
from .halo import pair_distance_m, unit_network
from .network import StreetNetwork
from .stations import snap_stations

__all__ = ["MARGIN_M", "Change", "Figures", "LiveCoverage"]

_UNSNAPPED: dict[str, Any] = {"snap_dist_m": np.nan, "edge_id": -1, "offset_m": np.nan,
                              "snap_lon": np.nan, "snap_lat": np.nan}

#: Set while an edit computes a part of the network: the coverage engine's summary log
#: line would give that part's figures, which are not the city's.
_LOCAL_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar("live_local_run",
                                                                  default=False)


class _NotLocalRuns(logging.Filter):
    """Drops the coverage engine's records of a local run (:data:`_LOCAL_RUN`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _LOCAL_RUN.get()


def _quiet_local_runs() -> None:
    """Filter the coverage engine's log of local runs (once; the filter only acts in an
    edit's own thread or task)."""
    logger = logging.getLogger("stationplan.coverage")
    if not any(isinstance(f, _NotLocalRuns) for f in logger.filters):
        logger.addFilter(_NotLocalRuns())


#: Metres added to every distance that decides which streets an edit recomputes and
#: which streets come along with them (rounding of straight-line distances).
MARGIN_M = 1.0

# piece status codes
_IGNORED, _GAP, _COVERED, _PAIRED = 0, 1, 2, 3
_STATUS_CODE = {"ignored": _IGNORED, "gap": _GAP, "covered": _COVERED, "paired": _PAIRED}
_SNAP_COLUMNS = ("snap_dist_m", "edge_id", "offset_m", "snap_lon", "snap_lat")


@dataclass(frozen=True)
class Figures:
    """City-wide figures of one coverage state (metres; ``share`` in 0..1).

    ``share`` is ``covered_m / demand_m`` (0 when there is no demand), the figure
    ``stationplan coverage`` writes as ``share`` in ``summary.json``.
    """

    covered_m: float
    gap_m: float
    demand_m: float
    share: float
    stations_ok: int
    stations: int

    @classmethod
    def of(cls, cov: Coverage) -> Figures:
        """The figures of a :class:`~stationplan.Coverage`."""
        return cls.from_lengths(cov.covered_m, cov.gap_m,
                                int((cov.stations["status"] == "ok").sum()), len(cov.stations))

    @classmethod
    def from_lengths(cls, covered_m: float, gap_m: float, stations_ok: int,
                     stations: int) -> Figures:
        """The figures of covered and gap metres and station counts.

        >>> Figures.from_lengths(300.0, 100.0, 2, 3).share
        0.75
        """
        demand = covered_m + gap_m
        return cls(covered_m, gap_m, demand, covered_m / demand if demand > 0 else 0.0,
                   stations_ok, stations)


@dataclass(frozen=True)
class Change:
    """What one edit changed.

    Attributes
    ----------
    edges
        Edge ids (rows of ``network.edges``) whose pieces were recomputed, ascending.
    pieces
        Their new pieces (network CRS, columns as :attr:`Coverage.pieces`).
    figures
        The city-wide figures after the edit.
    station
        The edited station's row after the edit (snapped; status "ok" or why not), or
        ``None`` after a delete.
    compute_s
        Seconds spent computing.
    """

    edges: np.ndarray
    pieces: gpd.GeoDataFrame
    figures: Figures
    station: pd.Series | None
    compute_s: float


@dataclass
class _Pieces:
    """The piece table as columns, ordered by (edge, start) like
    :func:`~stationplan.compute_coverage`'s; ``station`` is a station code
    (:attr:`LiveCoverage._ids`), -1 for none; ``count`` only when the rule counts."""

    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray
    dist: np.ndarray
    status: np.ndarray
    station: np.ndarray
    via_twin: np.ndarray
    count: np.ndarray | None

    FIELDS = ("edge", "start", "end", "dist", "status", "station", "via_twin", "count")

    @classmethod
    def of(cls, pieces: pd.DataFrame, edge_ids: np.ndarray, code_of: dict[str, int]
           ) -> _Pieces:
        """The columns of a piece frame; ``edge_ids`` maps its edge ids to the network's."""
        sid = pieces["station_id"].to_numpy(dtype=object)
        return cls(
            edge=np.asarray(edge_ids, dtype=np.int64)[pieces["edge_id"].to_numpy(np.int64)],
            start=pieces["start_m"].to_numpy(float).copy(),
            end=pieces["end_m"].to_numpy(float).copy(),
            dist=pieces["dist_m"].to_numpy(float).copy(),
            status=np.array([_STATUS_CODE[s] for s in pieces["status"].tolist()], dtype=np.int8),
            station=np.array([-1 if s is None or s is pd.NA or (isinstance(s, float) and
                                                           math.isnan(s)) else code_of[str(s)]
                              for s in sid], dtype=np.int64),
            via_twin=pieces["via_twin"].to_numpy(bool).copy(),
            count=(pieces["stations_reaching"].to_numpy(np.int64).copy()
                   if "stations_reaching" in pieces else None))

    def columns(self) -> list[np.ndarray | None]:
        return [getattr(self, f) for f in self.FIELDS]

    def take(self, idx: np.ndarray) -> _Pieces:
        cols: list[Any] = [None if c is None else c[idx] for c in self.columns()]
        return _Pieces(*cols)

    def splice(self, edges: np.ndarray, new: _Pieces) -> _Pieces:
        """The table with the pieces of ``edges`` (ascending) replaced by ``new``'s (which
        lie on those edges only, in order)."""
        lo = np.searchsorted(self.edge, edges, "left")
        hi = np.searchsorted(self.edge, edges, "right")
        mark = np.zeros(len(self.edge) + 1, dtype=np.int64)
        np.add.at(mark, lo, 1)
        np.add.at(mark, hi, -1)
        keep = np.flatnonzero(np.cumsum(mark[:-1]) == 0)
        kept = self.take(keep)
        at = np.searchsorted(kept.edge, new.edge, "left")
        cols: list[Any] = [None if c is None or n is None else np.insert(c, at, n)
                           for c, n in zip(kept.columns(), new.columns(), strict=True)]
        return _Pieces(*cols)


class LiveCoverage:
    """Exact coverage of a network by an editable set of stations.

    Parameters
    ----------
    network
        The network, its demand marked (:func:`~stationplan.pipeline.coverage_network`).
    stations
        Stations as :func:`~stationplan.read_stations` returns them (any CRS, a
        ``status`` column, a unique ``station_id``).
    rule
        The coverage rule (default ``CoverageRule.for_mode(network.mode.name)``).
    max_snap_m
        Snap distance for every station, the one the stations were read with.

    Notes
    -----
    Each edit recomputes the streets within ``rule.limit_m`` plus the network's
    :func:`~stationplan.halo.pair_distance_m` (plus :data:`MARGIN_M`) of the edited
    station's old and new snapped points, on the streets within that distance of them
    (see the module's description). A rule with ``reach_col`` recomputes everything.
    :attr:`coverage` and :attr:`stations` are built when first read after an edit
    (the piece table is kept as arrays); :attr:`figures` is summed from the arrays.
    """

    _cov: Coverage | None
    _stations: gpd.GeoDataFrame | None
    _p: _Pieces
    _ids: list[str]
    _code_of: dict[str, int]
    _code: np.ndarray
    _snap: dict[str, np.ndarray]
    _far: np.ndarray
    _attrs: dict[str, Any]
    _far_reason: str
    _node_dist: np.ndarray
    _node_code: np.ndarray
    _pair_edge: np.ndarray | None
    _pair_twin: np.ndarray | None
    _cut_from: StreetNetwork
    _base: gpd.GeoDataFrame
    _pending: list[tuple[np.ndarray, gpd.GeoDataFrame]]

    def __init__(self, network: StreetNetwork, stations: gpd.GeoDataFrame, *,
                 rule: CoverageRule | None = None, max_snap_m: float | None = 100.0) -> None:
        self.network = network
        self.rule = rule or CoverageRule.for_mode(network.mode.name)
        self.max_snap_m = max_snap_m
        read = stations.to_crs(4326) if stations.crs is not None else stations
        if read["station_id"].astype(str).duplicated().any():
            msg = "station ids repeat; every station needs its own id"
            raise InputError(msg)
        self._read = read.reset_index(drop=True)
        self._lines = network.edges.geometry.to_numpy()
        self._tree = shapely.STRtree(self._lines)
        self._to_net = pyproj.Transformer.from_crs(4326, network.crs, always_xy=True)
        self._to_lonlat = pyproj.Transformer.from_crs(network.crs, 4326, always_xy=True)
        #: how far (straight line) from a station's snapped point its edit reaches
        self.reach_m = self.rule.limit_m + pair_distance_m(network) + MARGIN_M
        self._incremental = self.rule.reach_col is None
        if self._incremental:
            _quiet_local_runs()
        self._u = network.edges["u"].to_numpy(np.int64)
        self._v = network.edges["v"].to_numpy(np.int64)
        pairs = network.carriageways
        has_pairs = pairs is not None and len(pairs) > 0
        self._pair_edge = pairs["edge_id"].to_numpy(np.int64) if has_pairs else None
        self._pair_twin = pairs["twin_edge_id"].to_numpy(np.int64) if has_pairs else None
        # the network the sub-networks are cut from: its pair rows without their text
        # columns (names, refs: the coverage engine reads only the numbers), which cost
        # time in every selection and grouping of the rows
        self._cut_from = network if not has_pairs else dataclasses.replace(
            network, carriageways=pairs[[c for c in pairs.columns
                                         if pd.api.types.is_numeric_dtype(pairs[c])]])
        self._load(snap_stations(network, self._read, max_snap_m=max_snap_m))

    # -- state ----------------------------------------------------------------------
    @property
    def coverage(self) -> Coverage:
        """The current coverage (built on first use after an edit)."""
        if self._cov is None:
            stations = self.stations
            row_of = np.full(len(self._ids) + 1, -1, dtype=np.int64)  # code -1: row -1
            row_of[self._code] = np.arange(len(self._code))
            self._cov = Coverage(self.network, stations, self.rule, self._piece_table(),
                                 self._node_dist.copy(), row_of[self._node_code])
        return self._cov

    @property
    def stations(self) -> gpd.GeoDataFrame:
        """The current stations, snapped, in their order (the rows of
        :func:`~stationplan.snap_stations`: WGS-84 points, ``status`` "ok" or why not,
        ``snap_dist_m``, ``edge_id``, ``offset_m``, ``snap_lon``, ``snap_lat``)."""
        if self._stations is None:
            out = self._read.copy()
            for col in _SNAP_COLUMNS:
                out[col] = self._snap[col]
            out["edge_id"] = out["edge_id"].astype(np.int64)
            far = np.flatnonzero(self._far)
            if len(far):
                out.loc[out.index[far], "status"] = "too_far_from_street"
                out.loc[out.index[far], "reason"] = [self._far_reason] * len(far)
            out.attrs.update(self._attrs)
            self._stations = out
        return self._stations

    @property
    def figures(self) -> Figures:
        """The current city-wide figures."""
        p = self._p
        length = p.end - p.start
        ok = int((self._snap["edge_id"] >= 0).sum())
        return Figures.from_lengths(float(length[p.status == _COVERED].sum()),
                                    float(length[p.status == _GAP].sum()), ok,
                                    len(self._read))

    # -- edits ----------------------------------------------------------------------
    def add(self, station_id: str, lon: float, lat: float, *, name: str = "",
            attrs: dict[str, Any] | None = None, at: int | None = None) -> Change:
        """Add a station at WGS-84 ``lon``, ``lat``.

        It goes after the others, or at row ``at`` (0 to the number of stations; the
        rows from there move down one): where a deleted station was, when its delete is
        undone, so that the order is that of a full run on the restored list (equally
        near stations serve in their order).
        """
        t0 = time.perf_counter()
        sid = str(station_id)
        if sid in self._row_of_id():
            msg = f"station {sid!r} exists already"
            raise InputError(msg)
        n = len(self._read)
        pos = n if at is None else int(at)
        if not 0 <= pos <= n:
            msg = f"at must be a row from 0 to {n}, not {at!r}"
            raise InputError(msg)
        point = _lonlat_point(lon, lat)
        row: dict[str, Any] = {c: None for c in self._read.columns if c != "geometry"}
        row.update(attrs or {})
        row.update(station_id=sid, name=name, status="ok", reason=None)
        new = gpd.GeoDataFrame([row], geometry=[point], crs=4326)
        self._read = pd.concat([self._read.iloc[:pos], new, self._read.iloc[pos:]],
                               ignore_index=True)
        code = len(self._ids)
        self._ids.append(sid)
        self._code_of[sid] = code
        self._code = np.insert(self._code, pos, code)
        snap = self._snap_point(point)
        for col in _SNAP_COLUMNS:
            self._snap[col] = np.insert(self._snap[col], pos, snap[col])
        self._far = np.insert(self._far, pos, snap["edge_id"] < 0)
        return self._edited(t0, None, snap, pos)

    def move(self, station_id: str, lon: float, lat: float) -> Change:
        """Move a station to WGS-84 ``lon``, ``lat`` (it keeps its row)."""
        t0 = time.perf_counter()
        i = self._row(station_id)
        point = _lonlat_point(lon, lat)
        old = self._site(i)
        geom = self._read.geometry.to_numpy().copy()
        geom[i] = point
        self._read = self._read.set_geometry(gpd.GeoSeries(geom, crs=4326))
        if self._read.loc[i, "status"] == "invalid":  # a sheet row placed at last
            self._read.loc[i, ["status", "reason"]] = ["ok", None]
        usable = self._read.loc[i, "status"] == "ok"  # as snap_stations decides
        snap = self._snap_point(point) if usable else dict(_UNSNAPPED)
        for col in _SNAP_COLUMNS:
            self._snap[col][i] = snap[col]
        self._far[i] = usable and snap["edge_id"] < 0
        return self._edited(t0, old, snap, i)

    def delete(self, station_id: str) -> Change:
        """Delete a station (the others keep their order)."""
        t0 = time.perf_counter()
        i = self._row(station_id)
        old = self._site(i)
        self._read = self._read.drop(index=i).reset_index(drop=True)
        self._code = np.delete(self._code, i)
        for col in _SNAP_COLUMNS:
            self._snap[col] = np.delete(self._snap[col], i)
        self._far = np.delete(self._far, i)
        return self._edited(t0, old, None, None)

    # -- internals ------------------------------------------------------------------
    def _load(self, snapped: gpd.GeoDataFrame) -> None:
        """Take the state of a full run on the snapped stations ``snapped``."""
        cov = compute_coverage(self.network, snapped, rule=self.rule)
        self._ids = [str(s) for s in snapped["station_id"].tolist()]
        self._code_of = {s: i for i, s in enumerate(self._ids)}
        self._code = np.arange(len(self._ids), dtype=np.int64)
        self._snap = {c: snapped[c].to_numpy(np.int64 if c == "edge_id" else float).copy()
                      for c in _SNAP_COLUMNS}
        self._far = (snapped["status"] == "too_far_from_street").to_numpy(bool).copy()
        self._attrs = {str(k): v for k, v in snapped.attrs.items()}
        limit = "any distance" if self.max_snap_m is None else f"{self.max_snap_m:g} m"
        self._far_reason = f"more than {limit} from every street of the network"
        self._p = _Pieces.of(cov.pieces, np.arange(len(self._lines)), self._code_of)
        self._node_dist = np.asarray(cov.node_dist_m, dtype=float).copy()
        node_row = np.asarray(cov.node_station, dtype=np.int64)
        self._node_code = np.append(self._code, -1)[node_row]  # row -1: code -1
        self._cov = cov
        self._stations = cov.stations
        self._base = cov.pieces
        self._pending = []

    def _row_of_id(self) -> dict[str, int]:
        return {self._ids[c]: i for i, c in enumerate(self._code.tolist())}

    def _row(self, station_id: str) -> int:
        i = self._row_of_id().get(str(station_id))
        if i is None:
            msg = f"no station {station_id!r}"
            raise KeyError(msg)
        return i

    def _site(self, i: int) -> tuple[int, float] | None:
        """Station row ``i``'s snapped site (edge, offset), or None when not snapped."""
        edge = int(self._snap["edge_id"][i])
        return None if edge < 0 else (edge, float(self._snap["offset_m"][i]))

    def _snap_point(self, point: shapely.Point) -> dict[str, Any]:
        """Snap a WGS-84 point as :func:`~stationplan.snap_stations` does on the whole
        network: the nearest street within ``max_snap_m``, the lowest edge id of
        equally near ones, the nearest point on it."""
        x, y = self._to_net.transform(point.x, point.y)
        pt = shapely.Point(x, y)
        (_, edge_idx), dist = self._tree.query_nearest(
            np.array([pt]), return_distance=True, all_matches=True,
            max_distance=self.max_snap_m)
        if len(edge_idx) == 0:
            return dict(_UNSNAPPED)
        j = int(np.argmin(edge_idx))
        edge = int(edge_idx[j])
        offset = float(shapely.line_locate_point(self._lines[edge], pt))
        at = shapely.line_interpolate_point(self._lines[edge], offset)
        lon, lat = self._to_lonlat.transform(at.x, at.y)
        return {"snap_dist_m": float(dist[j]), "edge_id": edge, "offset_m": offset,
                "snap_lon": float(lon), "snap_lat": float(lat)}

    def _edited(self, t0: float, old: tuple[int, float] | None, snap: dict[str, Any] | None,
                row: int | None) -> Change:
        """Recompute what the edit changed and say what changed."""
        self._cov = None
        self._stations = None
        new = None if snap is None or snap["edge_id"] < 0 else (int(snap["edge_id"]),
                                                               float(snap["offset_m"]))
        if not self._incremental:
            self._load(snap_stations(self.network, self._read, max_snap_m=self.max_snap_m))
            edges = np.arange(len(self._lines), dtype=np.int64)
            pieces = self._base
        else:
            edges, frame = self._recompute([s for s in (old, new) if s is not None])
            pieces = self._base.iloc[:0] if frame is None else frame
            if len(edges):
                self._pending.append((edges, pieces))
        figures = self.figures
        compute_s = time.perf_counter() - t0
        station = None if row is None else self._station_row(row)
        return Change(edges, pieces, figures, station, compute_s)

    def _recompute(self, sites: list[tuple[int, float]]
                   ) -> tuple[np.ndarray, gpd.GeoDataFrame | None]:
        """Recompute the streets within :attr:`reach_m` of ``sites`` (edge, offset);
        returns their edge ids and new pieces (a frame as :attr:`Coverage.pieces`)."""
        if not sites:
            return np.zeros(0, dtype=np.int64), None
        pts = shapely.line_interpolate_point(self._lines[[e for e, _ in sites]],
                                             [x for _, x in sites])
        site_of, near = self._tree.query(pts, predicate="dwithin", distance=self.reach_m)
        edges = np.unique(near).astype(np.int64)
        # The core: those streets and the carriageways that count on them or they on,
        # and the others of those (so that each paired carriageway keeps all its pair
        # rows and is exact along its whole length, see _pair_rows); a box around each
        # site's (a station moved across the town has two). The sub-network: the streets
        # within reach + pair distance of the core, whole.
        boxes = [shapely.box(*shapely.total_bounds(self._lines[self._paired_context(
            near[site_of == j].astype(np.int64))])) for j in np.unique(site_of).tolist()]
        core = shapely.union_all(boxes) if len(boxes) > 1 else boxes[0]
        sub, rows = unit_network(self._cut_from, core, halo_m=self.reach_m)
        sub_of = np.full(len(self._lines), -1, dtype=np.int64)
        sub_of[rows] = np.arange(len(rows))
        sub = self._pair_rows(sub, sub_of[edges])
        # the stations snapped to those streets, in their order, on the sub-network's rows
        st_edge = self._snap["edge_id"]
        on = np.flatnonzero((st_edge >= 0) & (sub_of[np.maximum(st_edge, 0)] >= 0))
        codes = self._code[on]
        near = pd.DataFrame({"station_id": [self._ids[c] for c in codes.tolist()],
                             "status": "ok", "edge_id": sub_of[st_edge[on]],
                             "offset_m": self._snap["offset_m"][on]})
        token = _LOCAL_RUN.set(True)
        try:
            cov = compute_coverage(sub, near, rule=self.rule)
        finally:
            _LOCAL_RUN.reset(token)
        mine = np.flatnonzero(np.isin(cov.pieces["edge_id"].to_numpy(np.int64),
                                      sub_of[edges]))
        frame = cov.pieces.iloc[mine].reset_index(drop=True)
        fresh = _Pieces.of(frame, rows, self._code_of)
        frame["edge_id"] = fresh.edge
        self._p = self._p.splice(edges, fresh)
        # the nodes of those streets: their distances and nearest stations are exact
        nodes = np.unique(np.concatenate([self._u[edges], self._v[edges]]))
        at = np.searchsorted(np.unique(np.concatenate([self._u[rows], self._v[rows]])), nodes)
        self._node_dist[nodes] = np.asarray(cov.node_dist_m, float)[at]
        src = np.asarray(cov.node_station, np.int64)[at]
        self._node_code[nodes] = np.append(codes, -1)[src]
        return edges, frame

    def _paired_context(self, edges: np.ndarray) -> np.ndarray:
        """``edges``, the carriageways paired with them (either way), and the twins of
        the carriageways that count on them."""
        pe, pq = self._pair_edge, self._pair_twin
        if pe is None or pq is None:
            return edges
        onto = np.unique(pe[np.isin(pq, edges)])  # paired carriageways counted on edges
        twins = np.unique(pq[np.isin(pe, np.concatenate([edges, onto]))])
        return np.unique(np.concatenate([edges, onto, twins]))

    def _pair_rows(self, sub: StreetNetwork, mine: np.ndarray) -> StreetNetwork:
        """``sub`` with only the pair rows that decide the pieces of its edges ``mine``:
        the rows of those edges and of the carriageways counted on them (all their rows,
        for they are cut where each row's run begins and ends). The other rows change
        nothing on ``mine`` and cost time."""
        pairs = sub.carriageways
        if pairs is None or len(pairs) == 0:
            return sub
        e = pairs["edge_id"].to_numpy(np.int64)
        onto = np.unique(e[np.isin(pairs["twin_edge_id"].to_numpy(np.int64), mine)])
        keep = np.isin(e, np.concatenate([mine, onto]))
        return dataclasses.replace(sub, carriageways=pairs.iloc[np.flatnonzero(keep)]
                                   .reset_index(drop=True))

    def _piece_table(self) -> gpd.GeoDataFrame:
        """The whole piece frame: the last full one with the edits' frames spliced in
        (for each edge, the latest), in (edge, start) order."""
        if self._pending:
            taken = np.zeros(len(self._lines), dtype=bool)
            parts = []
            for edges, frame in reversed(self._pending):
                on = frame["edge_id"].to_numpy(np.int64)
                parts.append(frame.iloc[np.flatnonzero(~taken[on])])
                taken[edges] = True
            base = self._base
            parts.append(base.iloc[np.flatnonzero(~taken[base["edge_id"].to_numpy(np.int64)])])
            table = pd.concat(parts[::-1], ignore_index=True)
            order = np.lexsort((table["start_m"].to_numpy(float),
                                table["edge_id"].to_numpy(np.int64)))
            self._base = table.iloc[order].reset_index(drop=True)
            self._pending = []
        return self._base

    def _station_row(self, i: int) -> pd.Series:
        """Row ``i`` of :attr:`stations`, without building the table."""
        row = self._read.iloc[i].to_dict()
        row.update({col: self._snap[col][i] for col in _SNAP_COLUMNS})
        row["edge_id"] = int(row["edge_id"])
        if self._far[i]:
            row["status"] = "too_far_from_street"
            row["reason"] = self._far_reason
        return pd.Series(row, name=i, dtype=object)


def _lonlat_point(lon: float, lat: float) -> shapely.Point:
    """A WGS-84 point, refusing coordinates that are not finite numbers."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y)):
        msg = f"a station needs a finite longitude and latitude, not {lon!r}, {lat!r}"
        raise InputError(msg)
    return shapely.Point(x, y)
