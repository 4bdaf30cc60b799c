"""The per-line reader of centerline files before it was vectorised (issue 18), kept as
the reference the vectorised reader is checked against.

Road-centerline files (Shapefile, GeoPackage, GeoJSON, GeoParquet) as street networks.

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

import itertools
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy.spatial import cKDTree

from stationplan._errors import InputError, MissingDataError
from stationplan._read.osmfilter import way_filter
from stationplan._streets import StreetNetwork, TravelMode, network_from_segments
from stationplan._text import cell_text
from stationplan.area import not_degrees, read_vector

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
    frame = read_vector(path)
    if frame.crs is None:
        msg = (f"{path}: the file has no CRS (a Shapefile needs its .prj); set it, e.g. "
               f"ogr2ogr -a_srs EPSG:4547 fixed.gpkg {path.name} (CGCS2000 / GK CM 114E), "
               "or in QGIS with Layer > Set CRS")
        raise InputError(msg)
    problem = not_degrees(frame, path)
    if problem is not None:
        msg = (f"{problem}; set its real CRS, e.g. ogr2ogr -a_srs EPSG:4547 fixed.gpkg "
               f"{path.name} (CGCS2000 / GK CM 114E), or in QGIS with Layer > Set CRS")
        raise InputError(msg)
    cls_col = _column(frame, class_column, _CLASS_NAMES, "class", path)
    one_col = _column(frame, oneway_column, _ONEWAY_NAMES, "one-way", path)
    name_col = _column(frame, None, _NAME_NAMES, "name", path)
    log.info("%s: %d features; class column %s, one-way column %s", path.name, len(frame),
             cls_col, one_col)
    frame = frame.reset_index(drop=True)
    lines = frame[frame.geom_type.isin(["LineString", "MultiLineString"])]
    if lines.empty:
        msg = f"{path}: no LineString or MultiLineString features; is it a road-centerline file?"
        raise MissingDataError(msg)
    lines = lines.assign(_row=lines.index.to_numpy())
    lonlat = lines.to_crs(4326)
    if clip is not None:
        lonlat = lonlat.set_geometry(shapely.intersection(lonlat.geometry.to_numpy(), clip))
    lonlat = lonlat.explode(index_parts=False)
    lonlat = lonlat[~lonlat.geometry.is_empty & lonlat.geom_type.eq("LineString")]
    keep = way_filter(travel.overpass_filter)
    classes = [cell_text(v) or None for v in (lonlat[cls_col] if cls_col else [None] * len(lonlat))]
    ok = np.array([c is None or c.casefold() not in _OSM_HIGHWAY or keep({"highway": c.casefold()})
                   for c in classes], dtype=bool)
    dropped_by_mode = int((~ok).sum())
    lonlat = lonlat[ok]
    classes = [c for c, k in zip(classes, ok, strict=True) if k]
    if lonlat.empty:
        msg = f"{path}: no streets for mode {travel.name!r} (in the planning area)"
        raise MissingDataError(msg)
    utm = lonlat.estimate_utm_crs()
    xy_lines = lonlat.to_crs(utm).geometry.to_numpy()
    tagged = (np.array([oneway_direction(v) for v in lonlat[one_col]]) if one_col
              else np.zeros(len(lonlat), dtype=int))
    directions = np.zeros_like(tagged) if travel.bidirectional else tagged
    coords = []
    for geom, d in zip(xy_lines, directions, strict=True):
        xy = shapely.get_coordinates(geom)
        xy = xy[np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]]
        coords.append(xy[::-1] if d < 0 else xy)
    long_enough = [i for i, xy in enumerate(coords) if len(xy) >= 2]
    coords = [coords[i] for i in long_enough]
    rows = lonlat["_row"].to_numpy()[long_enough]
    names = lonlat[name_col].to_numpy()[long_enough] if name_col else [None] * len(coords)
    classes = [classes[i] for i in long_enough]
    one_way = directions[long_enough] != 0
    # the tagged direction relative to the coordinates kept (reversed where travel is)
    along = np.where(one_way, 1, tagged[long_enough])

    lines, stats = _node(coords, join_tolerance_m, split_at_crossings)
    segments, node_xy = _segments(lines)
    to_lonlat = pyproj.Transformer.from_crs(utm, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(node_xy[:, 0], node_xy[:, 1])
    node_lonlat = {i + 1: (float(x), float(y))
                   for i, (x, y) in enumerate(zip(lon, lat, strict=True))}
    out = []
    for line, a, b, xy in segments:
        geom = shapely.linestrings(np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))
        tags = {"highway": classes[line], "name": cell_text(names[line]) or None}
        tags = {k: v for k, v in tags.items() if v}
        out.append((int(rows[line]), tags, [a + 1, b + 1], geom, True, not one_way[line],
                    int(along[line])))
    stats = {"features_in_file": len(frame), "lines_dropped_by_mode": dropped_by_mode,
             "one_way_lines": int(one_way.sum()), **stats}
    log.info("%s: moved %d line ends onto other ends within %.2f m, joined %d ends lying on "
             "lines, split %d crossings", path.name, stats["ends_snapped_to_ends"],
             join_tolerance_m, stats["ends_joined_to_lines"], stats["crossings_split"])
    return network_from_segments(out, node_lonlat, travel, source=str(path), stats=stats)


def _column(frame: gpd.GeoDataFrame, given: str | None, names: tuple[str, ...], what: str,
            path: Path) -> str | None:
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if given is not None:
        if given not in columns:
            msg = (f"{path}: no column {given!r} for the road {what}; "
                   f"columns are {', '.join(map(str, columns))}")
            raise InputError(msg)
        return given
    lower = {str(c).casefold(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _node(
    coords: list[np.ndarray], tol: float, split_at_crossings: bool
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, int]]:
    """Snap ends, insert junction points, and mark the junction vertices of every line.

    Returns each line's coordinates with a boolean "is a junction" per vertex.
    """
    n = len(coords)
    ends = np.array([xy[[0, -1]] for xy in coords]).reshape(-1, 2)  # 2 per line
    # 1. ends within tol of each other become one point (the first of the group).
    pairs = (cKDTree(ends).query_pairs(tol, output_type="ndarray") if tol > 0
             else np.empty((0, 2), dtype=int))
    group = np.arange(len(ends))
    for a, b in sorted(map(tuple, pairs)):
        ra, rb = _root(group, a), _root(group, b)
        if ra != rb:
            group[max(ra, rb)] = min(ra, rb)
    roots = np.array([_root(group, i) for i in range(len(ends))])
    moved = np.any(ends != ends[roots], axis=1)
    ends = ends[roots]
    coords = [xy.copy() for xy in coords]
    for k in np.flatnonzero(moved):
        coords[k // 2][0 if k % 2 == 0 else -1] = ends[k]
    geoms = np.array([shapely.linestrings(xy) for xy in coords], dtype=object)
    tree = shapely.STRtree(geoms)
    inserts: list[list[float]] = [[] for _ in range(n)]
    # 2. an end on another line (not at its ends) joins it there: a T junction.
    end_pts = shapely.points(ends)
    hits = tree.query(end_pts, predicate="dwithin", distance=_ON_LINE_M)
    attach: list[tuple[int, int, float]] = []
    for e, line in hits.T:
        if line == e // 2:
            continue
        other_ends = ends[[2 * line, 2 * line + 1]]
        if np.any(np.all(other_ends == ends[e], axis=1)):
            continue  # already joined end to end
        pos = float(shapely.line_locate_point(geoms[line], end_pts[e]))
        if pos <= 0 or pos >= geoms[line].length:
            continue  # at the other line's end but not joined to it in step 1
        attach.append((int(e), int(line), pos))
        inserts[line].append(pos)
    # 3. optionally, crossings become junctions on both lines.
    crossings = 0
    if split_at_crossings:
        a_idx, b_idx = tree.query(geoms, predicate="intersects")
        for a, b in zip(a_idx, b_idx, strict=True):
            if a >= b:
                continue
            pts = shapely.get_coordinates(shapely.intersection(geoms[a], geoms[b]))
            for line in (a, b):
                at = shapely.line_locate_point(geoms[line], shapely.points(pts))
                inserts[line].extend(float(p) for p in at)
            crossings += len(pts)
    out = []
    placed: dict[tuple[int, float], np.ndarray] = {}
    for i, xy in enumerate(coords):
        new_xy, junction, where = _insert(xy, inserts[i])
        out.append((new_xy, junction))
        placed.update({(i, p): new_xy[k] for p, k in where.items()})
    for e, line, pos in attach:
        xy, junction = out[e // 2]
        xy[0 if e % 2 == 0 else -1] = placed[(line, pos)]
    # 4. a vertex used twice (by two lines, or twice by one) is a junction.
    allxy = np.concatenate([xy for xy, _ in out])
    keys = np.round(allxy * _KEY_MM).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    shared = counts[inverse.ravel()] > 1
    start = 0
    for xy, junction in out:
        junction |= shared[start:start + len(xy)]
        start += len(xy)
    stats = {"ends_snapped_to_ends": int(moved.sum()), "ends_joined_to_lines": len(attach),
             "crossings_split": crossings}
    return out, stats


def _root(group: np.ndarray, i: int) -> int:
    while group[i] != i:
        group[i] = group[group[i]]
        i = group[i]
    return int(i)


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


def _segments(lines: list[tuple[np.ndarray, np.ndarray]]) -> tuple[list[tuple], np.ndarray]:
    """Cut lines at their junction vertices; number the junctions by position."""
    pieces = []
    end_keys: list[np.ndarray] = []
    for i, (xy, junction) in enumerate(lines):
        cut = np.flatnonzero(junction)
        for a, b in itertools.pairwise(cut):
            part = xy[a:b + 1]
            if len(part) > 2 or np.any(part[0] != part[-1]):  # not a zero-length piece
                pieces.append((i, part))
                end_keys.extend((part[0], part[-1]))
    keys = np.round(np.array(end_keys) * _KEY_MM).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    node_xy = np.array(end_keys)[first]
    segments = [(i, int(inverse[2 * k]), int(inverse[2 * k + 1]), part)
                for k, (i, part) in enumerate(pieces)]
    return segments, node_xy
