"""Geometry for the maps: distance bands, merged street lines, service areas, display coords.

Everything here is pure: it takes a :class:`~stationplan.coverage.Coverage` (or frames in
its CRS) and returns new frames. Metric work (cutting, merging, buffering, simplifying)
happens in the network's projected CRS; only the last step turns geometries into
rounded WGS-84 (or, for Gaode tiles, GCJ-02) coordinates for the browser.
"""

from __future__ import annotations

import itertools
import json
from functools import partial
from typing import Any, NamedTuple, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry.base import BaseGeometry

from .._errors import InputError
from .._io import RawJSON
from .._options import FORK_ABOVE_PIECES
from .._process import forked
from ..chinacrs import wgs84_to_gcj02
from ..coverage import Coverage

_EPS_M = 1e-3
SIMPLIFY_M = 1.0  # below a pixel at street zoom levels
SERVICE_BUFFER_M = 30.0  # half a street frontage on each side of a covered street
SERVICE_SIMPLIFY_M = 3.0  # service areas are soft fills; their outline needs no detail


def existing_stations(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The usable existing stations: status "ok" and not of ``kind`` "proposed".

    A plan's coverage is computed with the proposals added as stations (``kind``
    "proposed"); they are drawn and counted as proposals, never as existing stations.

    >>> frame = pd.DataFrame({"status": ["ok", "ok", "too_far"],
    ...                       "kind": ["existing", "proposed", "existing"]})
    >>> len(existing_stations(frame)), len(existing_stations(frame.drop(columns="kind")))
    (1, 2)
    """
    ok = stations[stations["status"] == "ok"]
    if "kind" in ok.columns:
        ok = ok[ok["kind"] != "proposed"]
    return ok


def piece_directions(coverage: Coverage, pieces: pd.DataFrame) -> np.ndarray:
    """Tell in which direction the station distance grows along each covered piece.

    Inside a piece the distance is ``dist_m`` at its nearer end and grows by one metre per
    metre towards the other end. The nearer end is found again from the node distances
    (reached through ``u`` or ``v``) and, on edges holding the piece's own station, from
    the station's offset.

    Returns
    -------
    numpy.ndarray
        Per piece: 1 when the distance grows from ``start_m`` to ``end_m``, -1 when it
        grows from ``end_m`` to ``start_m``, 0 when neither fits (then the piece is not
        cut into bands).
    """
    net = coverage.network
    e = net.edges
    edge = pieces["edge_id"].to_numpy()
    start = pieces["start_m"].to_numpy(dtype=float)
    end = pieces["end_m"].to_numpy(dtype=float)
    dist = pieces["dist_m"].to_numpy(dtype=float)
    length = e["length_m"].to_numpy()[edge]
    node_dist = coverage.node_dist_m
    via_u = np.where(e["bwd"].to_numpy()[edge], node_dist[e["u"].to_numpy()[edge]], np.inf)
    via_v = np.where(e["fwd"].to_numpy()[edge], node_dist[e["v"].to_numpy()[edge]], np.inf)
    grow_fwd = via_u + start  # distance at start_m when the way out is through u
    grow_bwd = via_v + length - end  # distance at end_m when the way out is through v

    st = coverage.stations
    ok = st[st["status"] == "ok"]
    if len(ok) and "edge_id" in ok.columns:
        # each piece's station (the last row of an id, as a dict of them would keep)
        last = ~ok["station_id"].duplicated(keep="last").to_numpy()
        # each distinct id of the pieces looked up once
        codes, ids = pd.factorize(pieces["station_id"], use_na_sentinel=False)
        at = pd.Index(ok["station_id"].to_numpy(dtype=object)[last]).get_indexer(
            np.asarray(ids, dtype=object))[codes]
        found = at >= 0
        s_edge = np.where(found, ok["edge_id"].to_numpy(dtype=np.int64)[last][at], -1)
        s_off = np.where(found, ok["offset_m"].to_numpy(dtype=float)[last][at], np.nan)
        on_edge = s_edge == edge
        with np.errstate(invalid="ignore"):
            grow_fwd = np.where(on_edge & (s_off <= start + _EPS_M),
                                np.minimum(grow_fwd, start - s_off), grow_fwd)
            grow_bwd = np.where(on_edge & (s_off >= end - _EPS_M),
                                np.minimum(grow_bwd, s_off - end), grow_bwd)
    with np.errstate(invalid="ignore"):
        err_fwd = np.abs(grow_fwd - dist)
        err_bwd = np.abs(grow_bwd - dist)
    tol = _EPS_M * np.maximum(1.0, np.abs(np.nan_to_num(dist)) / 1000)
    out = np.where(err_fwd <= err_bwd, 1, -1)
    return np.where(np.minimum(err_fwd, err_bwd) <= tol, out, 0).astype(np.int8)


def distance_bands(coverage: Coverage, edges_m: list[float]) -> gpd.GeoDataFrame:
    """Cut the covered pieces where the station distance crosses a band edge.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    edges_m
        Increasing upper edges of the bands in metres (the last one is the limit).

    Returns
    -------
    geopandas.GeoDataFrame
        In the network CRS: ``band`` (0 = nearest), ``name`` (street name or None),
        ``station_id``, ``length_m`` and a LineString; the lengths of one band add up to
        the covered street length whose distance lies in that band.
    """
    pieces = coverage.pieces
    used = [c for c in ("edge_id", "start_m", "end_m", "dist_m", "station_id", "length_m",
                        "via_twin", "name") if c in pieces]  # the columns read here
    cov = pieces.loc[(pieces["status"] == "covered").to_numpy(), [*used, pieces.geometry.name]]
    edges = np.asarray(edges_m, dtype=float)
    direction = piece_directions(coverage, cov)
    near = cov["dist_m"].to_numpy(dtype=float)
    length = cov["length_m"].to_numpy(dtype=float)
    far = near + length
    last = len(edges) - 1
    # Band edges strictly inside a piece's distance range cut it.
    inner = (edges[None, :] > near[:, None] + _EPS_M) & (edges[None, :] < far[:, None] - _EPS_M)
    inner &= (direction != 0)[:, None]
    # a piece covered via its twin carriageway is drawn in the band of its twin's distance
    via = (cov["via_twin"].to_numpy(dtype=bool) if "via_twin" in cov
           else np.zeros(len(cov), dtype=bool))
    inner &= ~via[:, None]
    n_cuts = inner.sum(axis=1)
    mid = np.where(via, near, near + length / 2)
    band = np.minimum(np.searchsorted(edges, np.nan_to_num(mid), side="right"), last)

    geoms = cov.geometry.to_numpy()
    keep = n_cuts == 0
    cut = np.flatnonzero(~keep)
    # Sub-pieces of the cut pieces: consecutive marks (0, band edges inside, length),
    # in metres from the near end.
    marks = np.where(inner[cut], edges[None, :] - near[cut, None], np.nan)
    marks = np.sort(np.column_stack([np.zeros(len(cut)), marks, length[cut]]), axis=1)
    lo, hi = marks[:, :-1], marks[:, 1:]
    ok = np.isfinite(lo) & np.isfinite(hi)
    row = np.repeat(cut, ok.sum(axis=1))
    lo, hi = lo[ok], hi[ok]
    sub_band = np.minimum(np.searchsorted(edges, near[row] + (lo + hi) / 2, side="right"), last)
    # Positions along each geometry (its own length may differ slightly from length_m),
    # each cut piece's length found once
    glen = np.repeat(shapely.length(geoms[cut]), ok.sum(axis=1))
    scale = np.where(length[row] > 0, glen / np.where(length[row] > 0, length[row], 1), 0.0)
    forward = direction[row] > 0
    start = np.where(forward, lo * scale, glen - hi * scale)
    end = np.where(forward, hi * scale, glen - lo * scale)
    sub_geom = substrings(geoms, row, start, end)

    take = np.concatenate([np.flatnonzero(keep), row])
    frame = pd.DataFrame({
        "band": np.concatenate([band[keep], sub_band]).astype(np.int64),
        "name": _street_names(cov["name"], take),
        "station_id": cov["station_id"].array.take(take),
        "length_m": np.concatenate([length[keep], hi - lo]),
        # the lines as they are (shapely's, not checked again one by one)
        "geometry": gpd.array.GeometryArray(np.concatenate([geoms[keep], sub_geom]),
                                            crs=pieces.crs),
    }, copy=False)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=pieces.crs, copy=False)


def _street_names(names: pd.Series, take: np.ndarray) -> Any:
    """The names of the rows ``take`` of ``names``: the text, or missing when it is empty
    or not text (a list of names, say).

    >>> _street_names(pd.Series(["a", "", None, ["b"]]), np.array([3, 2, 1, 0]))
    [None, None, None, 'a']
    >>> _street_names(pd.Series(["a", "", None], dtype="string"), np.array([1, 0])).tolist()
    [<NA>, 'a']
    """
    if isinstance(names.dtype, pd.StringDtype):  # text: taken as it is kept, blanks missing
        return pd.Series(names.array.take(take)).replace("", None)
    return [n if isinstance(n, str) and n else None for n in names.to_numpy(dtype=object)[take]]


def substrings(lines: np.ndarray, which: np.ndarray, start: np.ndarray,
               end: np.ndarray) -> np.ndarray:
    """Parts of LineStrings between two distances along them, all at once.

    Parameters
    ----------
    lines
        LineStrings.
    which
        For each part wanted, the index of its line in ``lines``.
    start, end
        Distances along that line where the part starts and ends (``start <= end``).

    Returns
    -------
    numpy.ndarray
        LineStrings, like ``shapely.ops.substring`` but vectorised.

    Examples
    --------
    >>> line = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    >>> [g.wkt for g in substrings(np.array([line]), np.array([0, 0]),
    ...                            np.array([2.0, 5.0]), np.array([5.0, 15.0]))]
    ['LINESTRING (2 0, 5 0)', 'LINESTRING (5 0, 10 0, 10 5)']
    """
    if len(which) == 0:
        return np.empty(0, dtype=object)
    used, inverse = np.unique(which, return_inverse=True)
    xy, owner, _ = coordinates(lines[used])
    step = np.r_[0.0, np.hypot(*np.diff(xy, axis=0).T)]
    step[np.r_[True, owner[1:] != owner[:-1]]] = 0.0  # each line starts at 0
    # One increasing axis for all lines: line k occupies [base_k, base_k + length_k], with a
    # gap of 1 between lines, so that interpolation never runs from one line into the next.
    total = np.cumsum(step)
    first = np.r_[0, np.flatnonzero(owner[1:] != owner[:-1]) + 1]
    base = total[first] - total[first][0] + np.arange(len(first))
    pos = total - total[first][owner] + base[owner]
    a = base[inverse] + np.minimum(start, end)
    b = base[inverse] + np.maximum(start, end)
    pa = np.column_stack([np.interp(a, pos, xy[:, 0]), np.interp(a, pos, xy[:, 1])])
    pb = np.column_stack([np.interp(b, pos, xy[:, 0]), np.interp(b, pos, xy[:, 1])])
    i0 = np.searchsorted(pos, a, side="right")  # vertices strictly inside (a, b)
    i1 = np.searchsorted(pos, b, side="left")
    n_in = np.maximum(i1 - i0, 0)
    counts = n_in + 2
    offsets = np.r_[0, np.cumsum(counts)[:-1]]
    out = np.empty((counts.sum(), 2))
    out[offsets] = pa
    out[offsets + counts - 1] = pb
    inner_part = np.repeat(np.arange(len(which)), n_in)
    k = np.arange(n_in.sum()) - np.repeat(np.cumsum(n_in) - n_in, n_in)
    out[offsets[inner_part] + 1 + k] = xy[i0[inner_part] + k]
    # coordinates with indices give an array of lines (the stubs' union includes one line)
    return cast(np.ndarray,
                shapely.linestrings(out, indices=np.repeat(np.arange(len(which)), counts)))


class Paths(NamedTuple):
    """Lines as arrays of points: ``xy`` (n, 2), the number of points of each line
    (``size``) and the group of each line (``group``: sorted, 0, 1, ...)."""

    xy: np.ndarray
    size: np.ndarray
    group: np.ndarray


def merge_lines(frame: gpd.GeoDataFrame, by: list[str], *, chain: bool = False
                ) -> gpd.GeoDataFrame:
    """Merge the lines of each group into one (Multi)LineString, joining touching ends.

    Groups come out sorted by ``by`` (missing values last); ``length_m`` is summed.
    ``chain``: join the lines into long chains through every junction
    (:func:`chain_lines`, for a map that draws them) instead of ``shapely.line_merge``'s
    lines between junctions.
    """
    if frame.empty:
        return gpd.GeoDataFrame(columns=[*by, "length_m", "geometry"], geometry="geometry",
                                crs=frame.crs)
    out, parts, group = _line_groups(frame, by)
    merged = (chain_lines if chain else line_merge_groups)(parts, group)
    return gpd.GeoDataFrame(out, geometry=merged, crs=frame.crs)


def chained_paths(frame: gpd.GeoDataFrame, by: list[str]) -> tuple[pd.DataFrame, Paths]:
    """:func:`merge_lines` with ``chain`` as arrays of points: the groups (``by`` and the
    summed ``length_m``) and the chains of each group (:class:`Paths`), the same points
    in the same order as the parts of its MultiLineString, without building geometries.
    """
    if frame.empty:
        return pd.DataFrame(columns=[*by, "length_m"]), Paths(
            np.empty((0, 2)), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    out, geoms, group = _sorted_groups(frame, by)
    xy, owner, kind = coordinates(geoms)
    if (kind != 1).any():  # not all LineStrings: the lines are their parts
        geoms, part_index = shapely.get_parts(geoms, return_index=True)
        group = group[part_index]
        xy, owner, _ = coordinates(geoms)
    paths = Paths(xy, np.bincount(owner, minlength=len(geoms)), group)
    if (paths.size < 2).any():  # empty lines: left as they are (see chain_lines)
        return out, Paths(xy, paths.size[paths.size > 0], group[paths.size > 0])
    return out, chain_paths(paths)


def line_vertices(geoms: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coordinates of every line part of ``geoms`` (polygons: their rings), the
    number of the part each belongs to and the position in ``geoms`` of its geometry.

    >>> xy, part, of = line_vertices([shapely.box(0, 0, 1, 1),
    ...     shapely.MultiLineString([[(0, 0), (1, 0)], [(2, 0), (3, 0)]])])
    >>> part.tolist(), of.tolist()
    ([0, 0, 0, 0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 0, 1, 1, 1, 1])
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.empty((0, 2)), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    kind = shapely.get_type_id(geoms)
    polygonal = np.isin(kind, [3, 6])
    if polygonal.any():  # their rings, in a copy: the caller's array is left as it is
        geoms = geoms.copy()
        geoms[polygonal] = shapely.boundary(geoms[polygonal])
    if (kind == 1).all():  # a LineString is its only part
        xy, part = shapely.get_coordinates(geoms, return_index=True)
        return xy, part, part
    parts, of = shapely.get_parts(geoms, return_index=True)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    return xy, part, of[part]


class BandLines(NamedTuple):
    """The lines of :func:`distance_bands` as points, all a PNG draws of them: the points
    (``xy``, (n, 2)), the line of each (``line``: 0, 1, ... in order) and its band."""

    xy: np.ndarray
    line: np.ndarray
    band: np.ndarray


def band_lines(bands: gpd.GeoDataFrame) -> BandLines:
    """The points of :func:`distance_bands`' lines (:class:`BandLines`).

    >>> bands = gpd.GeoDataFrame({"band": [2, 0]}, geometry=shapely.from_wkt([
    ...     "LINESTRING (0 0, 1 0)", "MULTILINESTRING ((5 5, 6 5), (7 7, 8 8))"]))
    >>> lines = band_lines(bands)
    >>> lines.line.tolist(), lines.band.tolist()
    ([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 0, 0])
    """
    xy, line, of = line_vertices(bands.geometry.to_numpy())
    return BandLines(xy, line, bands["band"].to_numpy()[of])


class GapLines(NamedTuple):
    """The gap runs of :func:`~stationplan.find_gaps` as points, all a PNG draws of them:
    the points (``xy``, (n, 2)), the line of each (``line``: 0, 1, ... in order) and the
    length of its run (``length_m``)."""

    xy: np.ndarray
    line: np.ndarray
    length_m: np.ndarray


def gap_lines(gaps: gpd.GeoDataFrame) -> GapLines:
    """The points of the gap runs' lines (:class:`GapLines`).

    >>> gaps = gpd.GeoDataFrame({"length_m": [300.0, 20.0]}, geometry=shapely.from_wkt([
    ...     "LINESTRING (0 0, 1 0)", "MULTILINESTRING ((5 5, 6 5), (7 7, 8 8))"]))
    >>> lines = gap_lines(gaps)
    >>> lines.line.tolist(), lines.length_m.tolist()
    ([0, 0, 1, 1, 2, 2], [300.0, 300.0, 20.0, 20.0, 20.0, 20.0])
    """
    xy, line, of = line_vertices(gaps.geometry.to_numpy())
    return GapLines(xy, line, gaps["length_m"].to_numpy(float)[of])


#: Geometries whose coordinates :func:`coordinates` fetches in one call.
_COORDS_CHUNK = 1024


def coordinates(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``shapely.get_coordinates(geoms, return_index=True)`` and ``shapely.get_type_id``,
    a thousand geometries at a time: shapely counts the coordinates of every geometry
    before it copies them, and a thousand geometries are still in the processor's cache
    from their type and count when they are copied (for lines scattered in memory, such
    as gap runs sorted by length, the same arrays in well under half the time).

    >>> xy, owner, kind = coordinates(shapely.from_wkt(["LINESTRING (0 0, 1 0)", "POINT (2 2)"]))
    >>> xy.tolist(), owner.tolist(), kind.tolist()
    ([[0.0, 0.0], [1.0, 0.0], [2.0, 2.0]], [0, 0, 1], [1, 0])
    """
    at = range(0, max(len(geoms), 1), _COORDS_CHUNK)
    chunks = [geoms[a:a + _COORDS_CHUNK] for a in at]
    kind = [shapely.get_type_id(c) for c in chunks]
    got = [shapely.get_coordinates(c, return_index=True) for c in chunks]
    if len(chunks) == 1:
        return got[0][0], got[0][1], kind[0]
    owner = np.concatenate([index + a for (_, index), a in zip(got, at, strict=True)])
    return np.concatenate([xy for xy, _ in got]), owner, np.concatenate(kind)


def _sorted_groups(frame: gpd.GeoDataFrame, by: list[str]
                   ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The groups of ``frame`` by ``by`` (sorted, missing values last) with their summed
    ``length_m``, the geometries of the rows sorted by group, and the group of each."""
    keys = frame[by].astype(object).where(frame[by].notna(), None)
    codes = [pd.factorize(keys[c], sort=True, use_na_sentinel=True)[0] for c in by]
    # Missing values sort last: their code -1 becomes the largest.
    codes = [np.where(c < 0, c.max() + 1, c) for c in codes]
    order = np.lexsort(codes[::-1])
    sorted_codes = np.column_stack([c[order] for c in codes])
    new = np.r_[True, (np.diff(sorted_codes, axis=0) != 0).any(axis=1)]
    group = np.cumsum(new) - 1
    out = keys.iloc[order[new]].reset_index(drop=True)
    out["length_m"] = np.bincount(group, weights=frame["length_m"].to_numpy()[order])
    return out, frame.geometry.to_numpy()[order], group


def _line_groups(frame: gpd.GeoDataFrame, by: list[str]
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """:func:`_sorted_groups` with the LineStrings of the rows (their parts) sorted by
    group, and the group of each."""
    out, geoms, group = _sorted_groups(frame, by)
    if (shapely.get_type_id(geoms) == 1).all():  # LineStrings: each is its only part
        return out, geoms, group
    parts, part_index = shapely.get_parts(geoms, return_index=True)
    return out, parts, group[part_index]


def chain_lines(parts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The lines of each group joined into long chains, one MultiLineString per group.

    At each point where line ends of one group meet they are paired two by two, and every
    pair continues one chain, so that a grid of streets becomes a few long lines instead
    of one line per block (a map writes each line's first point in full, the rest as
    small steps, and simplifies along whole chains). The same points and segments.

    Parameters
    ----------
    parts
        LineStrings, sorted by group.
    group
        The group of each line: 0, 1, ... with none missing.

    Examples
    --------
    >>> lines = shapely.from_wkt(["LINESTRING (0 0, 1 0)", "LINESTRING (1 0, 1 1)",
    ...                           "LINESTRING (1 0, 2 0)", "LINESTRING (1 -1, 1 0)",
    ...                           "LINESTRING (5 5, 6 6)"])
    >>> [g.wkt for g in chain_lines(lines, np.array([0, 0, 0, 0, 1]))]
    ['MULTILINESTRING ((0 0, 1 0, 1 -1), (1 1, 1 0, 2 0))', 'MULTILINESTRING ((5 5, 6 6))']
    """
    xy, owner = shapely.get_coordinates(parts, return_index=True)
    size = np.bincount(owner, minlength=len(parts))
    if len(parts) == 0 or (size < 2).any():  # empty lines: shapely joins what it can
        return cast(np.ndarray, shapely.multilinestrings(parts, indices=group))
    chains = chain_paths(Paths(xy, size, group))
    lines = cast(np.ndarray, shapely.linestrings(
        chains.xy, indices=np.repeat(np.arange(len(chains.size)), chains.size)))
    return cast(np.ndarray, shapely.multilinestrings(lines, indices=chains.group))


def chain_paths(paths: Paths) -> Paths:
    """:func:`chain_lines` on lines given as points (each of two points or more): the
    chains of each group, in the order of the parts of its MultiLineString.

    >>> chain_paths(Paths(np.array([[0.0, 0], [1, 0], [2, 0], [1, 0]]), np.array([2, 2]),
    ...                   np.array([0, 0])))  # doctest: +NORMALIZE_WHITESPACE
    Paths(xy=array([[0., 0.], [1., 0.], [2., 0.]]), size=array([3]), group=array([0]))
    """
    from .kernels import chain_points, chain_walk, pair_ends

    xy, size, group = paths
    start = np.cumsum(size) - size
    stop = start + size - 1
    # half-edges: h < m is the start of line h, h >= m the end of line h - m
    node, _ = same_points(np.concatenate([xy[start], xy[stop]]), np.r_[group, group])
    seq, ch = chain_walk(pair_ends(node))  # lines in chain order, reversed as -1 - line
    first = seq[np.r_[True, ch[1:] != ch[:-1]]]
    chain_group = group[np.where(first < 0, -1 - first, first)]
    by_group = np.argsort(chain_group, kind="stable")
    points, count = chain_points(seq, ch, start, stop, by_group, xy)
    return Paths(points, count, chain_group[by_group])


def line_merge_groups(parts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``shapely.line_merge`` of the lines of each group: the same geometries in the same
    order, merged one chain of lines at a time.

    GEOS's line merger takes time that grows faster than the number of lines (9 s for the
    700,000 gap runs of a million-segment city, 2 s for the same in sets of ten). It only
    joins lines at nodes where exactly two lines end, so each chain of lines through such
    nodes is merged on its own, and the merged lines are put in GEOS's order: GEOS visits
    the nodes by x, then y, and at each node where one or three or more lines end starts
    a line along each edge not yet drawn, counter-clockwise from the east (by quadrant,
    then orientation); then the rings left, each at its first node. A chain closed at a
    node of other lines is merged with a stand-in for them, dropped afterwards. A group
    with two edges leaving a node in directions too close to order for sure is merged
    by GEOS at once.

    Parameters
    ----------
    parts
        LineStrings, sorted by group.
    group
        The group of each line: 0, 1, ... with none missing.

    Returns
    -------
    numpy.ndarray
        One geometry per group: ``shapely.line_merge`` of the group's lines as one
        MultiLineString.

    Examples
    --------
    >>> lines = shapely.from_wkt(["LINESTRING (5 5, 5 6)", "LINESTRING (1 0, 0 0)",
    ...                           "LINESTRING (1 0, 2 0)", "LINESTRING (9 9, 8 8)"])
    >>> [g.wkt for g in line_merge_groups(lines, np.array([0, 0, 0, 1]))]
    ['MULTILINESTRING ((0 0, 1 0, 2 0), (5 5, 5 6))', 'LINESTRING (9 9, 8 8)']
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    n = len(parts)
    xy, owner = shapely.get_coordinates(parts, return_index=True)
    size = np.bincount(owner, minlength=n)
    if n == 0 or (size == 0).any() or shapely.has_z(parts).any():
        return cast(np.ndarray, shapely.line_merge(shapely.multilinestrings(parts,
                                                                            indices=group)))
    n_groups = int(group[-1]) + 1
    first = np.cumsum(size) - size
    last = first + size - 1
    # the graph GEOS builds: lines that leave their first point, joined at equal ends
    kept = np.bincount(owner, weights=(xy != xy[first][owner]).any(axis=1), minlength=n) > 0
    ends = np.concatenate([xy[first], xy[last]])
    node, _ = same_points(ends, np.r_[group, group])
    live = np.r_[kept, kept]
    degree = np.bincount(node, weights=live)
    node_xy = np.empty((len(degree), 2))
    node_xy[node] = ends
    line = np.r_[np.arange(n), np.arange(n)]
    # chains: lines joined at nodes of two lines
    two = np.flatnonzero(live & (degree[node] == 2))
    pairs = line[two[np.argsort(node[two], kind="stable")]].reshape(-1, 2)
    _, chain = connected_components(
        coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)),
        directed=False)
    # a chain whose two ends meet at a node of other lines: a stand-in line for them
    outer = np.flatnonzero(live & (degree[node] != 2))
    outer = outer[np.argsort(chain[line[outer]], kind="stable")]  # two per open chain
    one, other = node[outer[0::2]], node[outer[1::2]]
    closed = chain[line[outer[0::2]]][one == other]
    far = xy.max(axis=0) + 1.0
    stand_in = shapely.linestrings(np.stack([node_xy[one[one == other]],
                                             np.broadcast_to(far, (len(closed), 2))], axis=1))
    # a chain of one open line without repeated points is that line: GEOS is not asked
    step = (xy[1:] == xy[:-1]).all(axis=1) & (owner[1:] == owner[:-1])
    alone = ((np.bincount(chain)[chain] == 1) & kept & (node[:n] != node[n:])
             & (np.bincount(owner[1:][step], minlength=n) == 0))
    rest = np.flatnonzero(~alone)
    every_chain = np.r_[chain[rest], closed]
    by_chain = np.argsort(every_chain, kind="stable")
    used, chain_no = np.unique(every_chain[by_chain], return_inverse=True)
    merged = shapely.line_merge(shapely.multilinestrings(
        np.concatenate([parts[rest], stand_in])[by_chain], indices=chain_no)) \
        if len(by_chain) else np.empty(0, dtype=object)
    chain_group = np.empty(n, dtype=np.int64)
    chain_group[chain] = group
    geos_lines, line_chain = shapely.get_parts(merged, return_index=True)
    lines = np.concatenate([parts[alone], geos_lines])
    line_group = np.r_[group[alone], chain_group[used[line_chain]]]
    lxy, lowner = shapely.get_coordinates(lines, return_index=True)
    lsize = np.bincount(lowner, minlength=len(lines))
    lfirst = np.cumsum(lsize) - lsize
    llast = lfirst + lsize - 1
    real = ~((lxy[lfirst] == far).all(axis=1) | (lxy[llast] == far).all(axis=1))
    lines, line_group = lines[real], line_group[real]
    lfirst, llast = lfirst[real], llast[real]
    head, tail = lxy[lfirst], lxy[llast]
    # where GEOS starts each line, and along which edge
    ring = (head == tail).all(axis=1)
    start = _smaller(head, tail)
    ahead = np.where(((start == head).all(axis=1) & ~ring)[:, None], lxy[lfirst + 1],
                     lxy[llast - 1])
    q, angle = _direction(start, ahead)
    unsure = np.zeros(n_groups, dtype=bool)
    if ring.any():  # a ring at a node of other lines starts along its first edge there
        q1, a1 = _direction(head, lxy[lfirst + 1])
        ccw, sure = _ccw(head, lxy[lfirst + 1], lxy[llast - 1])
        use_first = (q1 < q) | ((q1 == q) & ccw)
        ahead[ring & use_first] = lxy[lfirst + 1][ring & use_first]
        q[ring & use_first], angle[ring & use_first] = q1[ring & use_first], a1[ring & use_first]
        unsure[line_group[ring & (q1 == q) & ~sure]] = True
    snode, _ = same_points(np.concatenate([start, ends]), np.r_[line_group, group, group])
    loop = ring & (np.bincount(snode[len(start):], weights=live,
                               minlength=int(snode.max()) + 1)[snode[:len(start)]] == 2)
    order = np.lexsort((angle, q, start[:, 1], start[:, 0], loop, line_group))
    lines, line_group, start, ahead, q, loop = (lines[order], line_group[order], start[order],
                                                ahead[order], q[order], loop[order])
    # neighbours leaving one node in one quadrant: their order, checked exactly
    tie = ((line_group[1:] == line_group[:-1]) & ~loop[1:] & ~loop[:-1]
           & (start[1:] == start[:-1]).all(axis=1) & (q[1:] == q[:-1]))
    ccw, sure = _ccw(start[1:][tie], ahead[:-1][tie], ahead[1:][tie])
    unsure[line_group[1:][tie][~(ccw & sure)]] = True
    count = np.bincount(line_group, minlength=n_groups)
    out = np.empty(n_groups, dtype=object)
    begin = np.cumsum(count) - count
    one_line = (count == 1) & ~unsure
    out[one_line] = lines[begin[one_line]]  # one line: a LineString, as GEOS gives
    many = np.flatnonzero((count > 1) & ~unsure)
    if len(many):
        sel = np.isin(line_group, many)
        out[many] = shapely.multilinestrings(lines[sel],
                                             indices=np.searchsorted(many, line_group[sel]))
    for g in np.flatnonzero((count == 0) | unsure):  # nothing left, or unsure: GEOS
        out[g] = shapely.line_merge(shapely.multilinestrings(parts[group == g]))
    return out


def _direction(origin: np.ndarray, to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GEOS's quadrant (0 NE, 1 NW, 2 SW, 3 SE, axes as GEOS counts them) of each step
    ``origin`` -> ``to``, and its angle (increasing counter-clockwise in a quadrant)."""
    dx, dy = to[:, 0] - origin[:, 0], to[:, 1] - origin[:, 1]
    q = np.where(dx >= 0, np.where(dy >= 0, 0, 3), np.where(dy >= 0, 1, 2))
    return q, np.arctan2(dy, dx)


def _ccw(origin: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether ``b`` lies counter-clockwise of the ray ``origin`` -> ``a``, and whether the
    floating-point sign is certain (well beyond its rounding error)."""
    left = (a[:, 0] - origin[:, 0]) * (b[:, 1] - origin[:, 1])
    right = (a[:, 1] - origin[:, 1]) * (b[:, 0] - origin[:, 0])
    det = left - right
    return det > 0, np.abs(det) > 1e-12 * (np.abs(left) + np.abs(right))


def _smaller(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row by row the smaller of two points, by x and then y (GEOS's order of nodes)."""
    a_first = (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] <= b[:, 1]))
    return np.where(a_first[:, None], a, b)


def same_points(points: np.ndarray, group: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Number the equal points (of one ``group``) alike, 0.0 and -0.0 alike as GEOS and
    numpy compare them: each point's number, in order of first appearance, and how many
    points have each number.

    >>> pts = np.array([[0.0, 1.0], [2.0, 3.0], [-0.0, 1.0], [0.0, 1.0]])
    >>> same_points(pts), same_points(pts, np.array([0, 0, 0, 1]))
    ((array([0, 1, 0, 0]), array([3, 1])), (array([0, 1, 0, 2]), array([2, 1, 1])))
    """
    from .kernels import point_numbers

    if group is None or not len(group):
        group = np.zeros(len(points), dtype=np.int64)
    node = point_numbers(points[:, 0] + 0.0, points[:, 1] + 0.0,  # -0.0 becomes 0.0
                         np.ascontiguousarray(group, dtype=np.int64))
    return node, np.bincount(node)


def service_areas(coverage: Coverage, *, buffer_m: float = SERVICE_BUFFER_M) -> gpd.GeoDataFrame:
    """Each station's service area: its covered street pieces buffered and dissolved.

    The polygons follow the streets a station reaches along the network; they are never
    convex or concave hulls of those streets.

    Returns
    -------
    geopandas.GeoDataFrame
        In the network CRS, one row per station that covers something, sorted by
        ``station_id`` as text: ``station_id``, ``catchment_m`` and a (Multi)Polygon.
    """
    pieces = coverage.pieces
    cov = pieces[(pieces["status"] == "covered") & pieces["station_id"].notna()]
    if cov.empty:
        return gpd.GeoDataFrame(columns=["station_id", "catchment_m", "geometry"],
                                geometry="geometry", crs=pieces.crs)
    # Buffer every piece, then union per station: GEOS's cascaded union is far faster
    # than buffering one MultiLineString of many overlapping parts.
    buffers = shapely.buffer(cov.geometry.to_numpy(), buffer_m, quad_segs=2)
    groups = cov.groupby("station_id").indices
    ids = sorted(groups, key=str)
    length = cov["length_m"].to_numpy()

    def dissolved(part: range) -> np.ndarray:  # the areas of the stations ids[part]
        return shapely.simplify(np.asarray(
            [shapely.union_all(buffers[groups[ids[i]]]) for i in part], dtype=object),
            SERVICE_SIMPLIFY_M)

    # each station's area is its own: on a large network a forked child dissolves every
    # other one (see stationplan._process.forked), two cores for the longest part of a map
    areas = np.empty(len(ids), dtype=object)
    with forked(partial(dissolved, range(0, len(ids), 2)),
                fork=len(pieces) > FORK_ABOVE_PIECES) as even:
        areas[1::2] = dissolved(range(1, len(ids), 2))
        areas[0::2] = even.result()
    return gpd.GeoDataFrame(
        {"station_id": ids, "catchment_m": [float(length[groups[s]].sum()) for s in ids]},
        geometry=areas, crs=pieces.crs)


def area_outline(area: Any) -> gpd.GeoSeries | None:
    """The outline of a planning area as a one-row GeoSeries in EPSG:4326, or None.

    ``area`` is a GeoDataFrame or GeoSeries with a CRS (its parts are joined), a shapely
    geometry in WGS-84 lon/lat, or None. Polygons give their boundary; lines stay lines.
    """
    if area is None:
        return None
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            msg = "the planning area has no CRS; set it (e.g. EPSG:4326) before drawing it"
            raise InputError(msg)
        geom = shapely.union_all(area.to_crs(4326).geometry.to_numpy())
    elif isinstance(area, shapely.Geometry):
        geom = cast(BaseGeometry, area)  # shapely's geometry classes all derive BaseGeometry
    else:
        msg = f"area must be a GeoDataFrame, GeoSeries or shapely geometry, not {type(area)}"
        raise InputError(msg)
    if geom.is_empty:
        return None
    return gpd.GeoSeries([geom.boundary if geom.area > 0 else geom], crs=4326)


def display_geoms(
    geoms: Any, *, gcj02: bool, precision: int, simplify_m: float | None = None
) -> np.ndarray:
    """Geometries as the browser draws them: WGS-84, or GCJ-02 for Gaode tiles, rounded.

    Parameters
    ----------
    geoms
        A GeoSeries or GeoDataFrame with a CRS.
    gcj02
        Shift every coordinate to GCJ-02 (for Gaode/Amap tiles).
    precision
        Decimal places kept (5 ≈ 1 m).
    simplify_m
        Douglas–Peucker tolerance in metres, applied in the input CRS when it is projected.
    """
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    if series.crs is None:
        msg = "geometries without a CRS cannot be drawn; set their CRS first"
        raise ValueError(msg)
    if simplify_m and series.crs.is_projected:
        series = series.simplify(simplify_m, preserve_topology=False)
    arr = series.to_crs(4326).to_numpy()
    if gcj02:
        arr = shapely.transform(arr, _gcj02_xy)
    return shapely.transform(arr, lambda xy: np.round(xy, precision))


def display_xy(xy: np.ndarray, crs: Any, *, gcj02: bool, precision: int) -> np.ndarray:
    """Coordinates as :func:`display_geoms` makes them, for an (n, 2) array of points in
    ``crs``: the same transformation, offset and rounding, without building geometries.

    >>> display_xy(np.array([[500000.0, 0.0]]), "EPSG:32650", gcj02=False, precision=6)
    array([[117.,   0.]])
    """
    from pyproj import CRS, Transformer

    lon, lat = Transformer.from_crs(CRS.from_user_input(crs), CRS.from_user_input(4326),
                                    always_xy=True).transform(xy[:, 0], xy[:, 1])
    out = np.column_stack([lon, lat])
    if gcj02:
        out = _gcj02_xy(out)
    return np.round(out, precision)


def display_paths(paths: Paths, crs: Any, *, gcj02: bool, precision: int,
                  simplify_m: float | None = None) -> Paths:
    """:func:`display_geoms` for lines given as points in ``crs``: each line simplified
    to ``simplify_m`` in the units of ``crs`` when given (as GEOS simplifies each line of
    a MultiLineString, :func:`~.kernels.simplified_points`), then every distinct point
    turned once (:func:`display_xy`)."""
    from .kernels import simplified_points

    xy, count, group = paths
    if simplify_m and len(count):
        keep, count = simplified_points(xy[:, 0], xy[:, 1], count, float(simplify_m))
        xy = xy[keep]
    node, _ = same_points(xy)
    distinct = np.empty((int(node.max(initial=-1)) + 1, 2))
    distinct[node] = xy
    return Paths(display_xy(distinct, crs, gcj02=gcj02, precision=precision)[node], count,
                 group)


def _gcj02_xy(xy: np.ndarray) -> np.ndarray:
    if len(xy) == 0:
        return xy
    lng, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    return np.column_stack([lng, lat])


def point_lonlat(geoms: Any, *, gcj02: bool, precision: int) -> np.ndarray:
    """Point geometries as an (n, 2) array of display lon/lat (NaN for missing points)."""
    arr = display_geoms(geoms, gcj02=gcj02, precision=precision)
    out = np.full((len(arr), 2), np.nan)
    ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    if ok.any():
        out[ok] = shapely.get_coordinates(arr[ok])
    return out


_TYPES = {1: "LineString", 5: "MultiLineString", 3: "Polygon", 6: "MultiPolygon"}


def encode_geometries(geoms: Any, precision: int) -> list[dict[str, Any] | None]:
    """Compact GeoJSON-like geometries: each line or ring as flat integer deltas.

    Coordinates are scaled by ``10**precision`` and rounded; a line ``[[x0, y0], [x1, y1],
    ...]`` becomes ``[X0, Y0, X1 - X0, Y1 - Y0, ...]``. Steps along a street are small
    numbers, so this takes about a third of the text of plain GeoJSON; the browser
    decodes it (see :func:`decode_geometry`) before Leaflet sees it. Lines, polygons and
    their multi-part kinds are encoded; other or empty geometries give None.

    >>> encode_geometries([shapely.LineString([(104.1, 30.6), (104.10012, 30.60005)]),
    ...                    shapely.Point(1, 2)], 5)
    [{'type': 'LineString', 'coordinates': [10410000, 3060000, 12, 5]}, None]
    """
    geoms = np.asarray(geoms, dtype=object)
    type_id = shapely.get_type_id(geoms)
    use = np.isin(type_id, list(_TYPES)) & ~shapely.is_empty(geoms)
    out: list[dict[str, Any] | None] = [None] * len(geoms)
    if not use.any():
        return out
    chosen = np.flatnonzero(use)
    parts, part_of = shapely.get_parts(geoms[chosen], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)  # polygons only
    is_poly = shapely.get_type_id(parts) == 3
    # Paths in order: each part's own line, or its rings.
    path_parts = [parts[~is_poly], rings]
    path_owner = np.concatenate([np.flatnonzero(~is_poly), ring_of])
    order = np.argsort(path_owner, kind="stable")
    paths = np.concatenate(path_parts)[order]
    path_owner = path_owner[order]
    xy, path_of = shapely.get_coordinates(paths, return_index=True)
    ints = np.round(xy * 10.0**precision).astype(np.int64)
    first = np.r_[True, path_of[1:] != path_of[:-1]]
    ints[~first] = np.diff(ints, axis=0)[~first[1:]]
    # each path's slice of one flat list (a list slice per path, not an array each)
    ends = (2 * np.r_[np.flatnonzero(first), len(ints)]).tolist()
    flat = ints.ravel().tolist()
    flats = [flat[a:b] for a, b in itertools.pairwise(ends)]
    # Regroup paths into parts and parts into geometries.
    by_part: list[list[list[int]]] = [[] for _ in range(len(parts))]
    for flat, part in zip(flats, path_owner, strict=True):
        by_part[part].append(flat)
    by_geom: list[list[list[list[int]]]] = [[] for _ in range(len(chosen))]
    for paths_of_part, geom in zip(by_part, part_of, strict=True):
        by_geom[geom].append(paths_of_part)
    for k, i in enumerate(chosen):
        kind = _TYPES[int(type_id[i])]
        g = by_geom[k]
        coords: Any = (g[0][0] if kind == "LineString" else [p[0] for p in g]
                       if kind == "MultiLineString" else g[0] if kind == "Polygon" else g)
        out[i] = {"type": kind, "coordinates": coords}
    return out


def encode_paths(paths: Paths, n_groups: int, precision: int, *,
                 alone: np.ndarray | None = None) -> list[dict[str, Any] | None]:
    """:func:`encode_geometries` of each group's lines as one MultiLineString (None for a
    group without lines), from lines given as points; the groups ``alone`` (a mask) as
    the LineString of their one line. The coordinates are their JSON text
    (:class:`~stationplan._io.RawJSON`, written by a compiled loop): the 3.1 million
    numbers of a 10^6-segment city's streets and gaps took 0.75 s as Python lists written
    by ``json.dumps``, 0.1 s so.

    >>> paths = Paths(np.array([[104.1, 30.6], [104.10012, 30.60005], [1.0, 2.0],
    ...                         [1.0, 2.1]]), np.array([2, 2]), np.array([0, 2]))
    >>> encode_paths(paths, 3, 5, alone=np.array([False, False, True]))
    [{'type': 'MultiLineString', 'coordinates': RawJSON('[[10410000,3060000,12,5]]')}, \
None, {'type': 'LineString', 'coordinates': RawJSON('[100000,200000,0,10000]')}]
    """
    from .kernels import int_lists_json

    xy, count, group = paths
    ints = np.round(xy * 10.0**precision).astype(np.int64)
    first = np.zeros(len(ints), dtype=bool)
    first[np.cumsum(count) - count] = True
    ints[~first] = np.diff(ints, axis=0)[~first[1:]]
    bounds = np.searchsorted(group, np.arange(n_groups + 1))
    # a group alone is the LineString of its one line
    alone = (np.zeros(n_groups, dtype=bool) if alone is None else alone) & (
        np.diff(bounds) == 1)
    # the coordinates' JSON text written at once, not as a Python number each
    data, text_at = int_lists_json(ints.ravel(), 2 * np.r_[0, np.cumsum(count)], bounds,
                                   alone)
    text, at = data.tobytes().decode("ascii"), text_at.tolist()
    return [None if b == a else {"type": "LineString" if one else "MultiLineString",
                                 "coordinates": RawJSON(text[at[g]:at[g + 1]])}
            for g, (a, b, one) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(),
                                                alone.tolist(), strict=True))]


def decode_geometry(geom: dict[str, Any], precision: int) -> Any:
    """Undo :func:`encode_geometries` for one geometry (in Python, for tests and tools).

    >>> g = shapely.LineString([(104.1, 30.6), (104.10012, 30.60005)])
    >>> decode_geometry(encode_geometries([g], 5)[0], 5).equals(g)
    True
    """
    scale = 10.0**precision

    def line(flat: list[int]) -> np.ndarray:
        return np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0) / scale

    kind, c = geom["type"], geom["coordinates"]
    if isinstance(c, RawJSON):  # (as encode_paths gives them)
        c = json.loads(c.text)
    if kind == "LineString":
        return shapely.LineString(line(c))
    if kind == "MultiLineString":
        return shapely.MultiLineString([line(p) for p in c])
    if kind == "Polygon":
        return shapely.Polygon(line(c[0]), [line(r) for r in c[1:]])
    return shapely.MultiPolygon([shapely.Polygon(line(p[0]), [line(r) for r in p[1:]])
                                 for p in c])
