"""Geometry for the maps: distance bands, merged street lines, service areas, display coords.

Everything here is pure: it takes a :class:`~stationplan.coverage.Coverage` (or frames in
its CRS) and returns new frames. Metric work (cutting, merging, buffering, simplifying)
happens in the network's projected CRS; only the last step turns geometries into
rounded WGS-84 (or, for Gaode tiles, GCJ-02) coordinates for the browser.
"""

from __future__ import annotations

from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry.base import BaseGeometry

from .._errors import InputError
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
        where = dict(zip(ok["station_id"], zip(ok["edge_id"].astype(np.int64),
                                                  ok["offset_m"].astype(float), strict=True),
                         strict=True))
        own = [where.get(sid, (-1, np.nan)) for sid in pieces["station_id"]]
        s_edge = np.array([o[0] for o in own], dtype=np.int64)
        s_off = np.array([o[1] for o in own], dtype=float)
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
    cov = pieces[pieces["status"] == "covered"]
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
    # Positions along each geometry (its own length may differ slightly from length_m).
    glen = shapely.length(geoms[row])
    scale = np.where(length[row] > 0, glen / np.where(length[row] > 0, length[row], 1), 0.0)
    forward = direction[row] > 0
    start = np.where(forward, lo * scale, glen - hi * scale)
    end = np.where(forward, hi * scale, glen - lo * scale)
    sub_geom = substrings(geoms, row, start, end)

    take = np.concatenate([np.flatnonzero(keep), row])
    frame = pd.DataFrame({
        "band": np.concatenate([band[keep], sub_band]).astype(np.int64),
        "name": [n if isinstance(n, str) and n else None
                 for n in cov["name"].to_numpy(dtype=object)[take]],
        "station_id": cov["station_id"].to_numpy(dtype=object)[take],
        "length_m": np.concatenate([length[keep], hi - lo]),
    })
    return gpd.GeoDataFrame(frame, geometry=np.concatenate([geoms[keep], sub_geom]),
                            crs=pieces.crs)


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
    xy, owner = shapely.get_coordinates(lines[used], return_index=True)
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


def merge_lines(frame: gpd.GeoDataFrame, by: list[str]) -> gpd.GeoDataFrame:
    """Merge the lines of each group into one (Multi)LineString, joining touching ends.

    Groups come out sorted by ``by`` (missing values last); ``length_m`` is summed.
    """
    if frame.empty:
        return gpd.GeoDataFrame(columns=[*by, "length_m", "geometry"], geometry="geometry",
                                crs=frame.crs)
    keys = frame[by].astype(object).where(frame[by].notna(), None)
    codes = [pd.factorize(keys[c], sort=True, use_na_sentinel=True)[0] for c in by]
    # Missing values sort last: their code -1 becomes the largest.
    codes = [np.where(c < 0, c.max() + 1, c) for c in codes]
    order = np.lexsort(codes[::-1])
    sorted_codes = np.column_stack([c[order] for c in codes])
    new = np.r_[True, (np.diff(sorted_codes, axis=0) != 0).any(axis=1)]
    group = np.cumsum(new) - 1
    parts, part_index = shapely.get_parts(frame.geometry.to_numpy()[order], return_index=True)
    merged = shapely.line_merge(shapely.multilinestrings(parts, indices=group[part_index]))
    first = order[new]
    out = keys.iloc[first].reset_index(drop=True)
    out["length_m"] = np.bincount(group, weights=frame["length_m"].to_numpy()[order])
    return gpd.GeoDataFrame(out, geometry=merged, crs=frame.crs)


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
    ids, polys, lengths = [], [], []
    groups = cov.groupby("station_id").indices
    for sid in sorted(groups, key=str):
        idx = groups[sid]
        ids.append(sid)
        polys.append(shapely.union_all(buffers[idx]))
        lengths.append(float(cov["length_m"].to_numpy()[idx].sum()))
    simplified = shapely.simplify(np.asarray(polys, dtype=object), SERVICE_SIMPLIFY_M)
    return gpd.GeoDataFrame({"station_id": ids, "catchment_m": lengths}, geometry=simplified,
                            crs=pieces.crs)


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
    splits = np.flatnonzero(first)[1:]
    flats = [a.ravel().tolist() for a in np.split(ints, splits)]
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
    if kind == "LineString":
        return shapely.LineString(line(c))
    if kind == "MultiLineString":
        return shapely.MultiLineString([line(p) for p in c])
    if kind == "Polygon":
        return shapely.Polygon(line(c[0]), [line(r) for r in c[1:]])
    return shapely.MultiPolygon([shapely.Polygon(line(p[0]), [line(r) for r in p[1:]])
                                 for p in c])
