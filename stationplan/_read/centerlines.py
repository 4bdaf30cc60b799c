"""Road-centerline files (Shapefile, GeoPackage, GeoJSON, GeoParquet) as street networks.

Planning bureaus draw roads as lines that seldom carry topology, so junctions are found
from the geometry, in metres:

- lines meet where they share an end point or any vertex;
- an end within ``join_tolerance_m`` of another line's end is moved onto it and joined;
- an end lying on another line (within a millimetre: a T junction drawn snapped to the
  through road, which has no vertex there) joins that line, which is cut there;
- lines that merely cross (bridges, overpasses, or junctions drawn without a shared
  vertex) stay apart unless ``split_at_crossings`` is set. An end that stops short of a
  line is not joined: real data has such ends where roads pass at different levels.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from .._errors import InputError, MissingDataError
from .._streets import StreetNetwork, TravelMode, network_from_arrays, text_column
from .._text import cell_text
from ..area import not_degrees, not_degrees_bounds, read_vector
from .osmfilter import way_filter

log = logging.getLogger(__name__)

_CLASS_NAMES = (
    "highway", "fclass", "road_class", "roadclass", "class", "道路等级", "等级", "道路类型",
)
_ONEWAY_NAMES = ("oneway", "one_way", "单向", "单行")
_NAME_NAMES = ("name", "road_name", "名称", "道路名称", "路名")
# One-way values: Geofabrik's F/T/B (T = against the drawing direction, as OSMnx reads it),
# OSM's yes/-1, ArcGIS's FT/TF, and Chinese 正向/反向/双向.
_FORWARD = frozenset({"yes", "true", "1", "f", "ft", "forward", "正向", "单向", "单行", "是"})
_BACKWARD = frozenset({"-1", "reverse", "t", "tf", "backward", "反向"})
# OSM highway values: a class column holding these gets the mode's tag filter.
_OSM_HIGHWAY = frozenset(
    "motorway motorway_link trunk trunk_link primary primary_link secondary secondary_link "  # noqa: SIM905 - reads better as text
    "tertiary tertiary_link unclassified residential living_street service pedestrian track "
    "bus_guideway busway escape raceway road footway bridleway steps corridor path cycleway "
    "construction proposed abandoned platform elevator escalator planned razed rest_area "
    "services".split()
)
_KEY_MM = 1000.0  # vertices closer than a millimetre are one point
_ON_LINE_M = 1e-3  # an end this close to a line lies on it
_GRID_MAX_CELLS = 4096  # longer segments are searched for ends with an STRtree


def oneway_direction(value: Any) -> int:
    """+1 one-way along the line, -1 against it, 0 both ways.

    Examples
    --------
    >>> [oneway_direction(v) for v in ("yes", "F", "T", "-1", "B", None, 1, "双向")]
    [1, 1, -1, -1, 0, 0, 1, 0]
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return 0
    if isinstance(value, bool | np.bool_):
        return int(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        value = str(int(value))
    text = str(value).strip().casefold()
    return 1 if text in _FORWARD else -1 if text in _BACKWARD else 0


def read_centerlines(
    path: Path,
    travel: TravelMode,
    *,
    clip: shapely.Geometry | None = None,
    split_at_crossings: bool = False,
    join_tolerance_m: float = 1.0,
    class_column: str | None = None,
    oneway_column: str | None = None,
) -> StreetNetwork:
    """Build a street network from a centerline file in any CRS.

    Parameters
    ----------
    path
        Vector file of LineStrings / MultiLineStrings (other geometries are skipped).
    travel
        The mode: OSM-style classes get its tag filter; one-way applies unless it walks.
    clip
        Keep only the parts of lines inside this lon/lat polygon.
    split_at_crossings
        Also join lines where they cross without a shared vertex.
    join_tolerance_m
        End points this close to another line's end point are joined.
    class_column, oneway_column
        Column names; found among common names (``highway``, ``fclass``, ``道路等级`` ...;
        ``oneway``, ``单向`` ...) when not given.

    Returns
    -------
    StreetNetwork
    """
    file_xy: np.ndarray | None
    which: np.ndarray | None
    wkb = None if clip is not None else _wkb_lines(path)
    if wkb is None:
        frame = read_vector(path)
        n_features, crs = len(frame), frame.crs
        columns = [c for c in frame.columns if c != frame.geometry.name]
    else:
        parts, n_features, file_xy, which, crs = wkb
        columns, bounds = list(parts.columns), np.concatenate(_bounds(file_xy))
    if crs is None:
        msg = (f"{path}: the file has no CRS (a Shapefile needs its .prj); set it, e.g. "
               f"ogr2ogr -a_srs EPSG:4547 fixed.gpkg {path.name} (CGCS2000 / GK CM 114E), "
               "or in QGIS with Layer > Set CRS")
        raise InputError(msg)
    problem = not_degrees(frame, path) if wkb is None else not_degrees_bounds(crs, bounds, path)
    if problem is not None:
        msg = (f"{problem}; set its real CRS, e.g. ogr2ogr -a_srs EPSG:4547 fixed.gpkg "
               f"{path.name} (CGCS2000 / GK CM 114E), or in QGIS with Layer > Set CRS")
        raise InputError(msg)
    cls_col = _column(columns, class_column, _CLASS_NAMES, "class", path)
    one_col = _column(columns, oneway_column, _ONEWAY_NAMES, "one-way", path)
    name_col = _column(columns, None, _NAME_NAMES, "name", path)
    log.info("%s: %d features; class column %s, one-way column %s", path.name, n_features,
             cls_col, one_col)
    if wkb is None:
        frame = frame.reset_index(drop=True)
        lines = frame[frame.geom_type.isin(["LineString", "MultiLineString"])]
        if lines.empty:
            msg = (f"{path}: no LineString or MultiLineString features; is it a "
                   "road-centerline file?")
            raise MissingDataError(msg)
        lines = lines.assign(_row=lines.index.to_numpy())
        parts, file_xy, which, file_crs = _parts(lines, clip)
    else:
        parts, file_crs = parts.assign(_row=parts.index.to_numpy()), crs
    keep = way_filter(travel.overpass_filter)
    # per distinct value, not per row: a province has millions of lines and few classes
    classes, class_text = _per_value(parts[cls_col] if cls_col else None, len(parts),
                                     lambda v: cell_text(v) or None)
    ok = np.array([c is None or c.casefold() not in _OSM_HIGHWAY or keep({"highway": c.casefold()})
                   for c in class_text], dtype=bool)[classes]
    dropped_by_mode = int((~ok).sum())
    parts = parts[ok]
    classes = classes[ok]
    if parts.empty:
        msg = f"{path}: no streets for mode {travel.name!r} (in the planning area)"
        raise MissingDataError(msg)
    if file_xy is None or which is None:  # 3D lines, or clipped: projected as geometries
        utm = parts.estimate_utm_crs()
        utm_xy, which = shapely.get_coordinates(parts.to_crs(utm).geometry.to_numpy(),
                                                return_index=True)
    else:  # the same numbers from the vertices alone, projected once
        if not ok.all():
            on = ok[which]
            file_xy, which = file_xy[on], (np.cumsum(ok) - 1)[which[on]]
        utm = _utm_of(file_xy, file_crs)
        utm_xy = file_xy if utm.equals(file_crs) else np.array(
            pyproj.Transformer.from_crs(file_crs, utm, always_xy=True).transform(
                file_xy[:, 0], file_xy[:, 1])).T
    if one_col:
        oneway, oneway_sign = _per_value(parts[one_col], len(parts), oneway_direction)
        tagged = oneway_sign.astype(int)[oneway]
    else:
        tagged = np.zeros(len(parts), dtype=int)
    directions = np.zeros_like(tagged) if travel.bidirectional else tagged
    xy, starts = _line_coords(utm_xy, which, directions)
    long_enough = np.flatnonzero(np.diff(starts) >= 2)
    xy, starts = _take_lines(xy, starts, long_enough)
    rows = parts["_row"].to_numpy()[long_enough]
    names, name_text = _per_value(parts[name_col] if name_col else None, len(parts),
                                  lambda v: cell_text(v) or None)
    names = names[long_enough]
    classes = classes[long_enough]
    one_way = directions[long_enough] != 0
    # the tagged direction relative to the coordinates kept (reversed where travel is)
    along = np.where(one_way, 1, tagged[long_enough])

    xy, starts, junction, point, stats = _node(xy, starts, join_tolerance_m,
                                               split_at_crossings)
    line, a, b, pieces_xy, piece_starts, node_xy = _segments(xy, starts, junction, point)
    stats = {"features_in_file": n_features, "lines_dropped_by_mode": dropped_by_mode,
             "one_way_lines": int(one_way.sum()), **stats}
    log.info("%s: moved %d line ends onto other ends within %.2f m, joined %d ends lying on "
             "lines, split %d crossings", path.name, stats["ends_snapped_to_ends"],
             join_tolerance_m, stats["ends_joined_to_lines"], stats["crossings_split"])
    return network_from_arrays(
        node_xy, a, b, pieces_xy, piece_starts, utm, travel, osmid=rows[line],
        highway=text_column(classes[line], class_text),
        name=text_column(names[line], name_text),
        fwd=np.ones(len(line), dtype=bool), bwd=~one_way[line], oneway=along[line],
        source=str(path), stats=stats)


def _per_value(values: Any, n: int, func: Any) -> tuple[np.ndarray, np.ndarray]:
    """``func`` of each value, computed once per distinct value: ``table[codes]`` are the
    results (``table`` an object array, ``codes`` one per value).

    ``values`` is a column or ``None`` (``n`` missing values).
    """
    if values is None:
        return np.zeros(n, dtype=np.int64), np.array([func(None)], dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype):  # GeoParquet text: Arrow's codes
        codes = values.cat.codes.to_numpy().astype(np.int64)
        uniques = values.cat.categories.tolist()
    elif isinstance(values.dtype, pd.StringDtype):  # text: its codes without a str per cell
        codes, uniques = pd.factorize(values)  # missing values get code -1
        uniques = uniques.tolist()
    else:
        arr = np.asarray(values, dtype=object)
        try:
            codes, uniques = pd.factorize(arr)
        except TypeError:  # unhashable cells (lists): one call each
            codes, uniques = np.arange(len(arr)), arr
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [func(v) for v in uniques]
    table[-1] = func(None)
    return np.where(codes < 0, len(uniques), codes), table


def _parts(lines: gpd.GeoDataFrame, clip: shapely.Geometry | None
           ) -> tuple[gpd.GeoDataFrame, np.ndarray | None, np.ndarray | None, Any]:
    """The single lines of ``lines`` (clipped to the lon/lat polygon ``clip``, empty parts
    dropped) and, when neither clipped nor 3D, their vertices in the file's CRS.

    Returns the parts (their rows), the vertices and the part of each (what
    ``shapely.get_coordinates(parts, return_index=True)`` gives) and the vertices' CRS.
    Clipped or 3D lines: the parts are projected to lon/lat as geometries, and the
    vertices, their parts and CRS are ``None``.
    """
    if clip is not None or shapely.has_z(lines.geometry.to_numpy()).any():
        lonlat = lines.to_crs(4326)
        if clip is not None:
            lonlat = lonlat.set_geometry(shapely.intersection(lonlat.geometry.to_numpy(), clip))
        lonlat = lonlat.explode(index_parts=False)
        return lonlat[~lonlat.geometry.is_empty & lonlat.geom_type.eq("LineString")], None, \
            None, None
    single = lines.geom_type.eq("LineString").all()  # then exploding keeps every row
    parts = lines if single else lines.explode(index_parts=False)
    parts = parts[~parts.geometry.is_empty & parts.geom_type.eq("LineString")]
    xy, which = shapely.get_coordinates(parts.geometry.to_numpy(), return_index=True)
    return parts, xy, which, parts.crs


def _wkb_lines(path: Path) -> tuple[pd.DataFrame, int, np.ndarray, np.ndarray, Any] | None:
    """A GeoParquet file of 2D LineStrings in little-endian WKB (and missing geometries),
    read without a geometry object per line: the attributes of the lines with vertices
    (indexed by the feature's row; text columns categorical), the number of features, the
    vertices with the line of each, and the CRS (what :func:`_parts` gives of the frame
    :func:`~stationplan.area.read_vector` reads). ``None`` for any other file.
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.name.lower().endswith((".parquet", ".geoparquet")) or sys.byteorder != "little":
        return None
    try:
        schema = pq.read_schema(path)
        geo = json.loads(schema.metadata[b"geo"])
        column = geo["primary_column"]
        meta = geo["columns"][column]
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError):
        return None  # read_vector says what is wrong
    if len(geo["columns"]) != 1 or meta.get("encoding") != "WKB" or "covering" in meta:
        return None
    text = [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    # text as Arrow dictionaries: their codes, not a string per cell (single-threaded: less
    # work in all for a file of one or a few row groups)
    table = pq.read_table(path, read_dictionary=text, use_threads=False)
    try:
        wkb = table.column(column).combine_chunks()
    except pa.ArrowException:  # more WKB than one array's 32-bit offsets reach
        return None
    if isinstance(wkb.type, pa.ExtensionType):
        wkb = wkb.storage
    if (not (pa.types.is_binary(wkb.type) or pa.types.is_large_binary(wkb.type))
            or wkb.buffers()[2] is None):
        return None
    offset_type = np.int64 if pa.types.is_large_binary(wkb.type) else np.int32
    at = np.frombuffer(wkb.buffers()[1], dtype=offset_type)[wkb.offset:wkb.offset + len(wkb) + 1]
    from .kernels import wkb_linestrings

    ok, n, xy = wkb_linestrings(np.frombuffer(wkb.buffers()[2], dtype=np.uint8),
                                at.astype(np.int64),
                                wkb.is_valid().to_numpy(zero_copy_only=False))
    if not ok or not n.any():
        return None  # big-endian, not a LineString, 3D, not GEOS's, or no vertices
    rows = np.flatnonzero(n)
    which = np.repeat(np.arange(len(rows)), n[rows])
    crs = meta.get("crs", "OGC:CRS84")
    if isinstance(crs, dict):  # as geopandas reads it: members of a datum ensemble without ids
        for member in crs.get("datum_ensemble", {}).get("members", []):
            member.pop("id", None)
    parts = table.drop([column]).to_pandas().reset_index(drop=True)
    if len(rows) < len(parts):
        parts = parts.iloc[rows]
    return parts, len(table), xy, which, None if crs is None else pyproj.CRS.from_user_input(crs)


def _utm_of(xy: np.ndarray, crs: pyproj.CRS) -> pyproj.CRS:
    """The UTM zone of the points ``xy`` (in ``crs``), as ``GeoSeries.estimate_utm_crs``
    finds it from their lon/lat bounds (of a projected CRS: its bounds' edges, densified):
    the zone of their centre. Away from a zone's edge, the equator and the poles that is
    the 6-degree band it lies in; there PROJ's database decides, as for geopandas (a query
    of it takes 0.07 s).

    >>> str(_utm_of(np.array([[116.3, 39.9], [116.4, 40.0]]), pyproj.CRS(4326)))
    'EPSG:32650'
    >>> str(_utm_of(np.array([[440000.0, 4420000.0]]), pyproj.CRS(32650)))
    'EPSG:32650'
    >>> str(_utm_of(np.array([[5.9, -50.0], [6.1, -50.0]]), pyproj.CRS(4326)))  # an edge
    'EPSG:32731'
    """
    (x0, y0), (x1, y1) = _bounds(xy)
    if not crs.is_exact_same(pyproj.CRS(4326)):
        x0, y0, x1, y1 = pyproj.Transformer.from_crs(crs, 4326, always_xy=True) \
            .transform_bounds(x0, y0, x1, y1, densify_pts=21)
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    east = (lon + 180) % 6  # degrees into its band (zone 29 reaches 0.01 degree further)
    if x0 <= x1 and 0.02 < east < 5.98 and (0.02 < lat < 83.98 or -79.98 < lat < -0.02):
        zone = int((lon + 180) // 6) + 1
        return pyproj.CRS.from_epsg((32600 if lat > 0 else 32700) + zone)
    return gpd.GeoSeries(gpd.points_from_xy([x0, x1], [y0, y1]), crs=4326).estimate_utm_crs()


def _line_coords(xy: np.ndarray, which: np.ndarray,
                 directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of all lines in one array (repeated vertices dropped, lines with a negative
    direction reversed) and where each line starts (``len(directions) + 1`` offsets).

    ``xy`` are the lines' vertices in order and ``which`` the line of each
    (``shapely.get_coordinates(lines, return_index=True)``).
    """
    first = np.r_[True, which[1:] != which[:-1]]
    step = xy[1:] - xy[:-1]
    keep = first | np.r_[True, (step[:, 0] != 0) | (step[:, 1] != 0)]
    if not keep.all():  # (copied only when a vertex repeats)
        xy, which = xy[keep], which[keep]
    starts = np.searchsorted(which, np.arange(len(directions) + 1))
    back = directions[which] < 0
    if back.any():
        k = np.arange(len(xy))
        k[back] = starts[which[back]] + starts[which[back] + 1] - 1 - k[back]
        xy = xy[k]
    return xy, starts


def _take_lines(xy: np.ndarray, starts: np.ndarray,
                idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices and offsets of the lines ``idx`` (in that order)."""
    if len(idx) == len(starts) - 1 and (idx == np.arange(len(idx))).all():  # all of them
        return xy, starts
    sizes = starts[idx + 1] - starts[idx]
    new_starts = np.r_[0, np.cumsum(sizes)]
    flat = np.repeat(starts[idx] - new_starts[:-1], sizes) + np.arange(new_starts[-1])
    return xy[flat], new_starts


def _column(columns: list[Any], given: str | None, names: tuple[str, ...], what: str,
            path: Path) -> str | None:
    """The column ``given``, or the first of ``columns`` called one of ``names``."""
    if given is not None:
        if given not in columns:
            msg = (f"{path}: no column {given!r} for the road {what}; "
                   f"columns are {', '.join(map(str, columns))}")
            raise InputError(msg)
        return given
    lower = {str(c).casefold(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _node(
    xy: np.ndarray, starts: np.ndarray, tol: float, split_at_crossings: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Snap ends, insert junction points, and mark the junction vertices of every line.

    Takes and returns all vertices in one array with each line's start offset; also
    returns a boolean "is a junction" per vertex and each vertex's point number (equal
    to the millimetre, numbered as :func:`_same_points` does). Python loops run only over
    lines that get a vertex inserted (T junctions, crossings), never over all lines.
    """
    end_at = np.column_stack([starts[:-1], starts[1:] - 1]).ravel()  # 2 per line
    ends = xy[end_at]
    # 1. ends within tol of each other become one point (the lowest-numbered of the group).
    snapped = ends[_snap_roots(ends, tol)]
    moved = _differ(ends, snapped)
    ends = snapped
    if moved.any():  # on a copy: the caller's vertices stay as they are
        xy = xy.copy()
        xy[end_at[moved]] = ends[moved]
    inserts: dict[int, list[float]] = {}
    # 2. an end on another line (not at its ends) joins it there: a T junction.
    e, line = _ends_on_lines(xy, starts, ends)
    on_lines = _lines(xy, starts, line)
    pos = np.asarray(shapely.line_locate_point(on_lines, shapely.points(ends[e])))
    inside = (pos > 0) & (pos < shapely.length(on_lines))
    attach = list(zip(e[inside].tolist(), line[inside].tolist(), pos[inside].tolist(),
                      strict=True))
    for _, ln, p in attach:
        inserts.setdefault(ln, []).append(p)
    # 3. optionally, crossings become junctions on both lines.
    crossings = 0
    if split_at_crossings:
        geoms = _lines(xy, starts)
        a_idx, b_idx = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        for a, b in zip(a_idx, b_idx, strict=True):
            if a >= b:
                continue
            pts = shapely.get_coordinates(shapely.intersection(geoms[a], geoms[b]))
            for ln in (int(a), int(b)):
                at = shapely.line_locate_point(geoms[ln], shapely.points(pts))
                inserts.setdefault(ln, []).extend(float(p) for p in at)
            crossings += len(pts)
    # lines with inserted vertices are rebuilt one by one; the rest are kept as they are
    parts: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    sizes = np.diff(starts).copy()
    junction = np.zeros(len(xy), dtype=bool)
    junction[end_at] = True
    placed: dict[tuple[int, float], np.ndarray] = {}
    done = 0
    for i in sorted(inserts):
        parts.append(xy[done:starts[i]])
        flags.append(junction[done:starts[i]])
        new_xy, new_junction, where = _insert(xy[starts[i]:starts[i + 1]], inserts[i])
        parts.append(new_xy)
        flags.append(new_junction)
        sizes[i] = len(new_xy)
        placed.update({(i, p): new_xy[k] for p, k in where.items()})
        done = starts[i + 1]
    if inserts:
        parts.append(xy[done:])
        flags.append(junction[done:])
        xy = np.concatenate(parts)
        junction = np.concatenate(flags)
        starts = np.r_[0, np.cumsum(sizes)]
    for end, ln, p in attach:
        xy[starts[end // 2] if end % 2 == 0 else starts[end // 2 + 1] - 1] = placed[(ln, p)]
    # 4. a vertex used twice (by two lines, or twice by one) is a junction.
    _, point, counts = _same_points(xy)
    junction |= counts[point] > 1
    stats = {"ends_snapped_to_ends": int(moved.sum()), "ends_joined_to_lines": len(attach),
             "crossings_split": crossings}
    return xy, starts, junction, point, stats


def _snap_roots(ends: np.ndarray, tol: float) -> np.ndarray:
    """For each end, the lowest-numbered end of its group: ends chained by distances of
    at most ``tol`` (``tol`` 0: each end alone).

    The ends are sorted into a grid of squares twice ``tol`` wide (no wider than a
    2**30th of the extent), so only ends in neighbouring squares are compared
    (:func:`~stationplan._read.kernels.near_roots`).

    Examples
    --------
    >>> ends = np.array([[0.0, 0.0], [5.0, 0.0], [0.5, 0.0], [0.0, 0.0], [9.0, 0.0]])
    >>> _snap_roots(ends, 1.0).tolist(), _snap_roots(ends, 0.0).tolist()
    ([0, 1, 0, 0, 4], [0, 1, 2, 3, 4])
    """
    from .kernels import grid_cells, near_roots, stable_argsort

    if not tol > 0 or len(ends) == 0:
        return np.arange(len(ends))
    ends = np.ascontiguousarray(ends, dtype=float)
    lo, hi = _bounds(ends)
    cell_m = max(2.0 * tol, float((hi - lo).max()) / 2**30)
    # a column to spare: no square's neighbours wrap onto the next row
    n_cols = int(np.floor((float(hi[0]) - float(lo[0])) / cell_m)) + 2
    cells = grid_cells(ends, float(lo[0]), float(lo[1]), cell_m, n_cols)
    return np.asarray(near_roots(ends, float(tol), cells, stable_argsort(cells), n_cols))


def _lines(xy: np.ndarray, starts: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """LineStrings of the lines ``rows`` (default: all), one per row, in that order."""
    if rows is None:
        rows = np.arange(len(starts) - 1)
    xy, new_starts = _take_lines(xy, starts, rows)
    which = np.repeat(np.arange(len(rows)), np.diff(new_starts))
    return np.asarray(shapely.linestrings(xy, indices=which))


def _ends_on_lines(xy: np.ndarray, starts: np.ndarray,
                   ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The line ends within ``_ON_LINE_M`` of another line (GEOS ``dwithin``) and not at
    one of that line's ends, with the line: arrays ``end`` and ``line``, by end.

    A grid finds the candidates (:func:`~stationplan._read.kernels.ends_near_lines`, a
    wider reach); GEOS decides. An end on several lines lists them as a query of an
    ``STRtree`` of all lines orders them (the last one it joins is where it is placed).
    """
    from .kernels import by_cell, ends_near_lines, grid_cells

    if len(ends) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    reach_m = 2 * _ON_LINE_M
    lo, hi = _bounds(ends)
    # cells of about four ends (on average over the extent), at least a metre
    cell_m = max(2.0 * float(np.sqrt((hi[0] - lo[0] + 1.0) * (hi[1] - lo[1] + 1.0)
                                     / len(ends))), 1.0)
    x0, y0 = float(lo[0]) - cell_m, float(lo[1]) - cell_m
    n_cols = int(np.floor((float(hi[0]) - x0) / cell_m)) + 1
    n_rows = int(np.floor((float(hi[1]) - y0) / cell_m)) + 1
    cells = grid_cells(ends, x0, y0, cell_m, n_cols)
    cell_start = np.r_[0, np.cumsum(np.bincount(cells, minlength=n_rows * n_cols))]
    in_cell = by_cell(cells, cell_start)
    e, line, skipped = ends_near_lines(xy, starts, ends, reach_m, x0, y0, cell_m, n_rows,
                                       n_cols, cell_start, in_cell, _GRID_MAX_CELLS)
    if len(skipped):  # lines with segments too long for the grid: an STRtree of the ends
        keep = ~np.isin(line, skipped)
        long_at, e_long = shapely.STRtree(np.asarray(shapely.points(ends))).query(
            _lines(xy, starts, skipped), predicate="dwithin", distance=reach_m)
        line_long = skipped[long_at]
        own = (line_long == e_long // 2) | _joined(ends, e_long, line_long)
        e = np.r_[e[keep], e_long[~own]]
        line = np.r_[line[keep], line_long[~own]]
    ok = np.asarray(shapely.dwithin(shapely.points(ends[e]), _lines(xy, starts, line),
                                    _ON_LINE_M), dtype=bool)
    e, line = e[ok], line[ok]
    order = np.lexsort((line, e))
    e, line = e[order], line[order]
    several = np.flatnonzero(np.r_[False, e[1:] == e[:-1]])
    if len(several):  # their order as the STRtree gives it
        again = np.unique(e[several])
        at, line_q = shapely.STRtree(_lines(xy, starts)).query(
            shapely.points(ends[again]), predicate="dwithin", distance=_ON_LINE_M)
        e_q = again[at]
        keep_q = (line_q != e_q // 2) & ~_joined(ends, e_q, line_q)
        keep = ~np.isin(e, again)
        e = np.r_[e[keep], e_q[keep_q]]
        line = np.r_[line[keep], line_q[keep_q]]
        order = np.argsort(e, kind="stable")
        e, line = e[order], line[order]
    return e, line


def _joined(ends: np.ndarray, e: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Whether end ``e`` is already at an end of ``line`` (joined end to end)."""
    return (np.all(ends[2 * line] == ends[e], axis=1)
            | np.all(ends[2 * line + 1] == ends[e], axis=1))


def _same_points(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group points that round to the same millimetre: ``np.unique(keys, axis=0,
    return_index=True, return_inverse=True, return_counts=True)`` of the rounded
    coordinates without the unique rows (a stable lexsort, several times faster).

    Returns the first point of each group, each point's group, and the group sizes;
    groups are numbered in the order of their rounded (x, y).

    Examples
    --------
    >>> first, group, count = _same_points(np.array([[2.0, 1.0], [1.0, 5.0], [2.0002, 1.0]]))
    >>> first.tolist(), group.tolist(), count.tolist()
    ([1, 0], [1, 0, 1], [1, 2])
    """
    from .kernels import stable_argsort

    keys = np.round(xy * _KEY_MM).astype(np.int64)
    lo, hi = _bounds(keys) if len(keys) else (np.zeros(2, dtype=np.int64),) * 2
    span = hi - lo + 1
    if int(span[0]) * int(span[1]) < 2**63:  # (x, y) as one number in the same order
        key = (keys[:, 0] - lo[0]) * span[1] + (keys[:, 1] - lo[1])
        order = stable_argsort(key)
        ordered = key[order]
        new = np.r_[True, ordered[1:] != ordered[:-1]]
    else:
        order = np.lexsort((keys[:, 1], keys[:, 0]))
        ordered = keys[order]
        new = np.r_[True, _differ(ordered[1:], ordered[:-1])]
    group = np.empty(len(keys), dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    at = np.flatnonzero(new)
    return order[at], group, np.diff(np.r_[at, len(keys)])


def _bounds(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``xy.min(axis=0)`` and ``xy.max(axis=0)`` of points, a column at a time (faster)."""
    x, y = xy[:, 0], xy[:, 1]
    return np.array([x.min(), y.min()]), np.array([x.max(), y.max()])


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.any(a != b, axis=1)`` of two arrays of points, a column at a time (faster)."""
    return (a[:, 0] != b[:, 0]) | (a[:, 1] != b[:, 1])


def _insert(
    xy: np.ndarray, positions: list[float]
) -> tuple[np.ndarray, np.ndarray, dict[float, int]]:
    """Insert vertices at distances along a line; mark ends and inserted points as junctions."""
    seg = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    points: list[tuple[float, int, np.ndarray | None]] = []  # (position, vertex or -1, xy)
    at_vertex: dict[float, int] = {}
    same: dict[float, float] = {}  # positions within a millimetre of the one before: one point
    for p in sorted(set(positions)):
        if points and p - points[-1][0] < 1.0 / _KEY_MM:
            same[p] = points[-1][0]
            continue
        k = int(np.argmin(np.abs(cum - p)))
        if abs(cum[k] - p) < 1.0 / _KEY_MM:
            at_vertex[p] = k
        else:
            s = min(int(np.searchsorted(cum, p)) - 1, len(seg) - 1)
            t = (p - cum[s]) / seg[s]
            points.append((p, s, xy[s] + t * (xy[s + 1] - xy[s])))
    new = [xy[0]]
    src = [0]
    j = 0
    for s in range(len(seg)):
        while j < len(points) and points[j][1] == s:
            new.append(points[j][2])
            src.append(-1 - j)
            j += 1
        new.append(xy[s + 1])
        src.append(s + 1)
    new_xy = np.array(new)
    src_arr = np.array(src)
    junction = src_arr < 0
    junction[[0, -1]] = True
    where: dict[float, int] = {}
    for p, k in at_vertex.items():
        idx = int(np.flatnonzero(src_arr == k)[0])
        junction[idx] = True
        where[p] = idx
    for j, (p, _, _) in enumerate(points):
        where[p] = int(np.flatnonzero(src_arr == -1 - j)[0])
    where.update({p: where[q] for p, q in same.items()})
    return new_xy, junction, where


def _segments(
    xy: np.ndarray, starts: np.ndarray, junction: np.ndarray, point: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Cut lines at their junction vertices; number the junctions by position.

    ``point`` numbers the vertices equal to the millimetre (see :func:`_node`). Returns
    each piece's line, end nodes (0-based), the pieces' vertices with their start offsets,
    and the junctions' coordinates.
    """
    cut = np.flatnonzero(junction)
    line_of = np.repeat(np.arange(len(starts) - 1), np.diff(starts))[cut]
    same = line_of[:-1] == line_of[1:]
    a, b, line = cut[:-1][same], cut[1:][same], line_of[:-1][same]
    # not a zero-length piece
    ok = (b - a > 1) | _differ(xy[a], xy[b])
    a, b, line = a[ok], b[ok], line[ok]
    ends = np.column_stack([a, b]).ravel()
    # the pieces' ends as _same_points numbers them (by position; each group's first
    # end): np.unique(point[ends], return_index=True, return_inverse=True) by counting
    at = point[ends]
    used = np.zeros(len(point) and int(point.max()) + 1, dtype=bool)
    used[at] = True
    inverse = (np.cumsum(used) - 1)[at]
    first = np.full(int(used.sum()), len(at))
    np.minimum.at(first, inverse, np.arange(len(at)))
    node_xy = xy[ends[first]]
    sizes = b - a + 1
    piece_starts = np.r_[0, np.cumsum(sizes)]
    if np.array_equal(piece_starts, starts) and np.array_equal(a, starts[:-1]):
        return line, inverse[0::2], inverse[1::2], xy, starts, node_xy  # the lines, uncut
    flat = np.repeat(a - piece_starts[:-1], sizes) + np.arange(piece_starts[-1])
    return line, inverse[0::2], inverse[1::2], xy[flat], piece_starts, node_xy
