"""The planning area and the streets that must be served: the demand.

A network carries paths everywhere it reaches, but only its *demand* streets count in
coverage shares and can be gaps. A street is demand when it lies inside the planning area
and its road class is served. Edges that cross the area boundary are cut there, so each
edge is wholly inside or outside, and the network keeps the streets around the area (up to
a margin) so that a station just across the boundary still covers the streets it reaches.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from ._errors import InputError
from ._lines import grid_sum_along, points_along
from ._options import BRIEF_IGNORE, BRIEF_SERVE, PAIR_CARRIAGEWAYS_M, check_option
from ._paths import input_file, word_hint
from ._read.coords import resolve_crs, to_wgs84

if TYPE_CHECKING:
    from .network import StreetNetwork

log = logging.getLogger(__name__)

ALL = "all"
UNKNOWN = "unknown"  # the class of a street whose source gives none
AREA_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".parquet", ".geoparquet", ".fgb")
_EPS_M = 1e-3


def _clean(values: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip().casefold() for p in str(v).split(",") if p.strip())
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class RoadClasses:
    """Which road classes must be served (demand) and which only carry paths.

    A class is the OSM ``highway`` value, refined by its subtag where OSM has one
    (``service:alley``, ``footway:sidewalk``), or the value of a centerline file's class
    column; ``unknown`` stands for streets without a class. A rule matches its class and
    every refinement of it (``footway`` matches ``footway:sidewalk``); the most specific
    matching rule decides, and ``ignore`` wins a tie. ``all`` matches every class.

    Parameters
    ----------
    serve
        Classes that are demand (default: every class).
    ignore
        Classes that carry paths but are never demand or gaps.

    Examples
    --------
    >>> rc = RoadClasses(serve=["residential", "footway"], ignore=["footway:sidewalk"])
    >>> rc.serves("footway"), rc.serves("footway:sidewalk"), rc.serves("service")
    (True, False, False)
    >>> RoadClasses().serves(None), RoadClasses(ignore=["primary"]).serves("PRIMARY")
    (True, False)
    """

    serve: tuple[str, ...] = (ALL,)
    ignore: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "serve", _clean(self.serve))
        object.__setattr__(self, "ignore", _clean(self.ignore))

    def serves(self, road_class: str | None) -> bool:
        """Whether streets of ``road_class`` are demand."""
        cls = (road_class or UNKNOWN).strip().casefold() or UNKNOWN
        s, i = _best(self.serve, cls), _best(self.ignore, cls)
        return s >= 0 and s > i

    def describe(self) -> dict[str, list[str]]:
        """The rule as plain data for reports."""
        return {"serve": list(self.serve), "ignore": list(self.ignore)}


def _best(rules: tuple[str, ...], cls: str) -> int:
    """Specificity of the most specific rule matching ``cls``, or -1."""
    best = -1
    for rule in rules:
        if rule == ALL:
            best = max(best, 0)
        elif cls == rule or cls.startswith(rule + ":"):
            best = max(best, rule.count(":") + 1)
    return best


# The brief's road classes (stationplan._options says why each is in or out).
BRIEF_ROAD_CLASSES = RoadClasses(serve=BRIEF_SERVE, ignore=BRIEF_IGNORE)


@dataclass(frozen=True)
class Demand:
    """The demand definition a network was marked with.

    Parameters
    ----------
    roads
        Served and ignored road classes.
    area
        Planning area as a lon/lat (Multi)Polygon, or ``None`` (no area limit).
    area_label
        Where the area came from (file, place name, query; ``"auto"`` for the built-up
        area derived from the data), for reports.
    margin_m
        How far beyond the area the network was read, in metres.
    area_km2
        The area's size in km² (``None`` without an area).
    area_source
        How the area was found: ``"auto"`` (:func:`built_up_area`), ``"file"``,
        ``"place_in_file"`` (a boundary relation of the OSM file), ``"place"`` (geocoded
        online), ``"query"`` (the download's own area); ``None`` when none was asked for.
    """

    roads: RoadClasses = RoadClasses()
    area: Any = None
    area_label: str | None = None
    margin_m: float | None = None
    area_km2: float | None = None
    area_source: str | None = None

    def describe(self) -> dict[str, Any]:
        """The definition as plain data for ``summary.json``."""
        return {
            "area": self.area_label,
            "area_source": self.area_source,
            "area_km2": None if self.area_km2 is None else round(self.area_km2, 3),
            "area_margin_m": self.margin_m,
            "road_classes": self.roads.describe(),
        }


def read_area(path: str | Path, *, crs: Any = None) -> shapely.Geometry:
    """Read a planning-area polygon file in any CRS and return it in lon/lat.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile, FlatGeobuf or GeoParquet with (Multi)Polygons;
        all polygons are merged.
    crs
        The file's coordinate system when it is not the file's own: "wgs84", "gcj02"
        (Amap, Tencent), "bd09" (Baidu), "cgcs2000" or "EPSG:<code>" (see
        :func:`polygons_to_lonlat`); ``None`` uses the file's own CRS.

    Returns
    -------
    shapely.Geometry
        A valid (Multi)Polygon in EPSG:4326.
    """
    path = input_file(path, "area file", hint=word_hint(path, ("auto", "none")))
    name = path.name.lower()
    if not name.endswith(AREA_SUFFIXES):
        msg = f"{path}: unknown area file type; use one of {', '.join(AREA_SUFFIXES)}"
        raise InputError(msg)
    frame = read_vector(path)
    if frame.crs is None and crs is None:
        msg = (f"{path}: the area file has no CRS; set it (QGIS: Layer > Set CRS; GDAL: "
               f"ogr2ogr -a_srs EPSG:4326 fixed.gpkg {path.name}), or pass --area-crs")
        raise InputError(msg)
    problem = None if crs is not None else not_degrees(frame, path)
    if problem is not None:
        msg = (f"{problem}; set its real CRS (QGIS: Layer > Set CRS; GDAL: ogr2ogr -a_srs "
               f"EPSG:4547 fixed.gpkg {path.name}), or pass it with --area-crs")
        raise InputError(msg)
    polys = frame[frame.geometry.notna() & frame.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        found = ", ".join(sorted(set(frame.geom_type.dropna()))) or "no geometries"
        msg = f"{path}: no polygons in the area file (found {found})"
        raise InputError(msg)
    lonlat = polygons_to_lonlat(polys, crs, param="area_crs", what=path.name)
    geom = shapely.make_valid(lonlat.geometry.union_all())
    log.info("planning area %s: %d polygon(s)", path.name, len(polys))
    return geom


def polygons_to_lonlat(frame: gpd.GeoDataFrame, crs: Any = None, *, param: str = "crs",
                       what: str = "polygons") -> gpd.GeoDataFrame:
    """Polygons in EPSG:4326, their coordinates read in ``crs`` when it is given.

    ``crs`` is an option about this one file, so it applies even when the file has a
    CRS of its own. "gcj02" and "bd09" (and "wgs84", "cgcs2000") mean longitude and
    latitude in that system, converted vertex by vertex with
    :mod:`stationplan.chinacrs`; a file in a projected CRS is first turned into those
    longitudes and latitudes. An EPSG code replaces the file's CRS.

    Parameters
    ----------
    frame
        The polygons (any CRS, or none when ``crs`` is given).
    crs
        "wgs84", "gcj02", "bd09", "cgcs2000", "EPSG:<code>", or ``None`` for the frame's own.
    param, what
        The option's and the file's names, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows in EPSG:4326.
    """
    spec = resolve_crs(crs, param=param)
    if spec is None:
        if frame.crs is None:
            msg = f"{what}: the polygons have no CRS; set it, or pass {param}"
            raise InputError(msg)
        return frame.to_crs(4326)
    if frame.crs is not None:
        log.info("%s: coordinates read as %s (%s); the file says %s", what, spec.label, param,
                 frame.crs.to_string())
    if spec.crs is not None:  # an EPSG code or another pyproj CRS
        return frame.set_crs(spec.crs, allow_override=True).to_crs(4326)
    if frame.crs is not None and not frame.crs.is_geographic:
        frame = frame.to_crs(4326)  # projected values of lon/lat in spec's system

    def shift(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], spec))

    geoms = shapely.transform(frame.geometry.to_numpy(), shift)
    return frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index), crs=4326)


def read_vector(path: Path, **kwargs: Any) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio, or GeoParquet with pyarrow."""
    if path.name.lower().endswith((".parquet", ".geoparquet")):
        return gpd.read_parquet(path)
    try:
        return gpd.read_file(path, engine="pyogrio", **kwargs)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        msg = f"{path}: cannot read ({' '.join(str(exc).split())})"
        raise InputError(msg) from exc


def not_degrees(frame: gpd.GeoDataFrame, path: Path) -> str | None:
    """Why a frame with a geographic CRS cannot be in degrees, or ``None`` when it can.

    A GeoJSON file without a ``"crs"`` member is WGS-84 by definition (RFC 7946), so a
    file in metres that lost its CRS reads as longitudes in the hundred thousands.
    """
    if frame.crs is None or not frame.crs.is_geographic or frame.empty:
        return None
    return not_degrees_bounds(frame.crs, frame.total_bounds, path)


def not_degrees_bounds(crs: Any, bounds: Any, path: Path) -> str | None:
    """:func:`not_degrees` of coordinates in ``crs`` within ``bounds`` (x0, y0, x1, y1)."""
    if crs is None or not crs.is_geographic:
        return None
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if x0 >= -180.5 and x1 <= 180.5 and y0 >= -90.5 and y1 <= 90.5:  # rounding slack
        return None
    implied = (" (a GeoJSON file without a \"crs\" member is WGS-84)"
               if path.suffix.lower() in (".geojson", ".json") else "")
    return (f"{path}: the coordinates run from ({x0:.0f}, {y0:.0f}) to ({x1:.0f}, {y1:.0f}), "
            f"which are not degrees, but the file's coordinate system is "
            f"{crs.to_string()}{implied}; the file is probably in metres")


def to_lonlat(area: Any, *, crs: Any = None) -> shapely.Geometry:
    """A planning area given as a path, GeoDataFrame/GeoSeries or lon/lat geometry,
    its coordinates read in ``crs`` when given (see :func:`polygons_to_lonlat`)."""
    if isinstance(area, str | Path):
        return read_area(area, crs=crs)
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None and crs is None:
            msg = "the area GeoDataFrame has no CRS; call .set_crs(...) first"
            raise InputError(msg)
        frame = gpd.GeoDataFrame(geometry=area.geometry) if isinstance(
            area, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=area)
        frame = polygons_to_lonlat(frame, crs, param="area_crs", what="area")
        return shapely.make_valid(frame.geometry.union_all())
    if isinstance(area, BaseGeometry):  # every shapely geometry class derives from it
        if area.geom_type not in ("Polygon", "MultiPolygon"):
            msg = f"the area must be a Polygon or MultiPolygon, not {area.geom_type}"
            raise InputError(msg)
        if crs is None:
            return area
        frame = polygons_to_lonlat(gpd.GeoDataFrame(geometry=[area]), crs, param="area_crs",
                                   what="area")
        return shapely.make_valid(frame.geometry.iloc[0])
    msg = f"cannot use {type(area).__name__} as a planning area; give a polygon file"
    raise InputError(msg)


# Built-up area defaults (see built_up_area): the grid, the moving window and thresholds.
BUILT_UP_CELL_M = 100.0
BUILT_UP_WINDOW_M = 300.0
BUILT_UP_STREET_KM_PER_KM2 = 5.0
BUILT_UP_BUILDING_SHARE = 0.15
BUILT_UP_CLOSE_M = 200.0
BUILT_UP_MIN_PART_KM2 = 0.25
BUILT_UP_MIN_EXTENT_M = 2000.0


def built_up_area(
    network: StreetNetwork,
    *,
    landuse: Iterable[BaseGeometry] = (),
    buildings: Iterable[BaseGeometry] = (),
    cell_m: float = BUILT_UP_CELL_M,
    window_m: float = BUILT_UP_WINDOW_M,
    min_street_km_per_km2: float = BUILT_UP_STREET_KM_PER_KM2,
    min_building_share: float = BUILT_UP_BUILDING_SHARE,
    close_m: float = BUILT_UP_CLOSE_M,
    min_part_km2: float = BUILT_UP_MIN_PART_KM2,
    min_extent_m: float = BUILT_UP_MIN_EXTENT_M,
) -> Polygon | MultiPolygon | None:
    """The built-up (urban) part of a network's region, derived from the data alone.

    The region is cut into square cells. A cell is built-up when, in a disc of radius
    ``window_m`` around it, the streets of the network are at least
    ``min_street_km_per_km2`` long per km², or building footprints cover at least
    ``min_building_share`` of the ground. Those cells and the ``landuse`` polygons are
    joined, closed morphologically (grown by ``close_m``, then shrunk by as much) so that
    blocks between dense streets join up, their holes filled (a park or a lake inside the
    town belongs to it), and parts smaller than ``min_part_km2`` dropped (a village).

    Street density alone carries sparse data: a county town mapped as main roads only
    has 8-15 km of streets per km² in its centre and 1-3 along a rural road (one straight
    road gives 2.1 in a 300 m disc; a crossing of two, 4.2).

    Parameters
    ----------
    network
        The street network; every street counts towards density, whatever its class.
    landuse
        Lon/lat polygons that are built-up by their tags (the loader passes OSM
        ``landuse=residential/commercial/retail`` and ``place=suburb/quarter/
        neighbourhood/city_block/plot``; industrial land and administrative ``place``
        polygons such as a county are not built-up evidence).
    buildings
        Lon/lat building footprints.
    cell_m
        Cell size in metres (> 0).
    window_m
        Radius of the moving window in metres (>= cell_m).
    min_street_km_per_km2
        Street density (km per km²) from which a cell is built-up.
    min_building_share
        Share (0-1) of the window covered by buildings from which a cell is built-up.
    close_m
        Closing distance in metres (>= 0).
    min_part_km2
        Parts of the area smaller than this (km²) are dropped.
    min_extent_m
        A network whose streets span less than this in both directions is too small to
        tell town from country: the result is ``None`` (the whole network).

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon or None
        The built-up area in lon/lat (EPSG:4326), or ``None`` when the network is too
        small or no part of it is built-up.

    Examples
    --------
    A 4 x 4 km grid of streets 100 m apart amid 10 x 10 km of roads 2 km apart:
    the dense grid is the built-up area, the far roads are not.

    >>> import math, networkx as nx
    >>> from stationplan import network_from_graph
    >>> g = nx.MultiDiGraph(crs="EPSG:32650")
    >>> def street(a, b):
    ...     for x, y in (a, b):
    ...         g.add_node(x * 100_000 + y, x=500_000.0 + x, y=4_400_000.0 + y)
    ...     g.add_edge(a[0] * 100_000 + a[1], b[0] * 100_000 + b[1], osmid=len(g.edges),
    ...                highway="residential", length=math.dist(a, b))
    >>> for k in range(0, 4001, 100):  # the town: a grid of blocks
    ...     for j in range(0, 4000, 100):
    ...         street((k, j), (k, j + 100)); street((j, k), (j + 100, k))
    >>> for k in range(-3000, 7001, 2000):  # the country roads
    ...     for j in range(-3000, 7000, 2000):
    ...         street((k, j), (k, j + 2000)); street((j, k), (j + 2000, k))
    >>> net = network_from_graph(g)
    >>> area = gpd.GeoSeries([built_up_area(net)], crs=4326).to_crs(32650).iloc[0]
    >>> bool(area.contains(shapely.box(500_050, 4_400_050, 503_950, 4_403_950)))
    True
    >>> round(area.area / 1e6)  # the 16 km² town and its rim, not the 100 km² around
    19
    """
    from scipy import ndimage

    for name, value, low in (("cell_m", cell_m, 0.0), ("window_m", window_m, cell_m)):
        if not value > 0 or value < low:
            msg = f"{name} must be > 0 and >= {low:g}, not {value!r}"
            raise InputError(msg)
    crs = network.crs
    lines = network.edges.geometry.to_numpy()
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(lines))
    if max(x1 - x0, y1 - y0) < min_extent_m:
        return None
    pad = window_m + close_m
    x0, y0 = x0 - pad, y0 - pad
    nx_ = int(np.ceil((x1 + pad - x0) / cell_m))
    ny_ = int(np.ceil((y1 + pad - y0) / cell_m))

    # street metres per cell: points every tenth of a cell along each street
    lengths = shapely.length(lines)
    n = np.maximum(1, np.ceil(lengths / (cell_m / 10)).astype(np.int64))
    streets = grid_sum_along(lines, lengths, n, x0, y0, cell_m, (ny_, nx_),
                             vertices=network.edge_vertices)

    r = round(window_m / cell_m)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = (xx ** 2 + yy ** 2 <= r * r).astype(float)
    window_km2 = disc.sum() * cell_m * cell_m / 1e6
    density = ndimage.convolve(streets, disc, mode="constant") / 1000 / window_km2
    dense = density >= min_street_km_per_km2

    foot = gpd.GeoSeries(list(buildings), crs=4326)
    if len(foot):
        foot = foot.to_crs(crs)
        centre = shapely.get_coordinates(foot.centroid.to_numpy())
        built = _grid_sum(centre, foot.area.to_numpy(), x0, y0, cell_m, (ny_, nx_))
        share = ndimage.convolve(built, disc, mode="constant") / (window_km2 * 1e6)
        dense |= share >= min_building_share

    parts = [_cells_union(dense, x0, y0, cell_m)] if dense.any() else []
    land = gpd.GeoSeries(list(landuse), crs=4326)
    if len(land):
        parts.append(shapely.union_all(shapely.make_valid(land.to_crs(crs).to_numpy())))
    if not parts:
        return None
    geom = shapely.union_all(parts)
    if close_m > 0:
        geom = geom.buffer(close_m, quad_segs=4).buffer(-close_m, quad_segs=4)
    kept = [Polygon(p.exterior) for p in shapely.get_parts(geom)
            if isinstance(p, Polygon) and Polygon(p.exterior).area >= min_part_km2 * 1e6]
    if not kept:
        return None
    out = shapely.union_all(kept)
    lonlat = gpd.GeoSeries([out], crs=crs).to_crs(4326).iloc[0]
    assert isinstance(lonlat, Polygon | MultiPolygon)
    return lonlat


_UNION_BLOCK = 8  # cells a side of the squares _cells_union gives for the inner cells


def _cells_union(dense: np.ndarray, x0: float, y0: float, cell_m: float) -> shapely.Geometry:
    """The union of the ``dense`` cells of a grid of ``cell_m`` squares from (x0, y0):
    ``shapely.coverage_union_all`` of their ``shapely.box`` es in row order, bit for bit.

    GEOS's coverage union keeps the segments that only one polygon has, in the order of
    the polygons and of their rings, and builds the result from those alone. So the cells
    on the boundary are given as those boxes, in the same order, and every other cell
    within a square of ``_UNION_BLOCK`` such cells as that square, whose sides are all
    shared (a side along a cell given alone has a vertex at each cell corner): far fewer
    segments, the same result.

    Examples
    --------
    >>> dense = np.ones((20, 30), dtype=bool)
    >>> dense[5:9, 5:9] = False
    >>> iy, ix = np.nonzero(dense)
    >>> boxes = shapely.box(ix * 10.0, iy * 10.0, (ix + 1) * 10.0, (iy + 1) * 10.0)
    >>> _cells_union(dense, 0.0, 0.0, 10.0).wkb == shapely.coverage_union_all(boxes).wkb
    True
    """
    ny, nx = dense.shape
    k = _UNION_BLOCK
    around = np.pad(dense, 1)
    inner = (dense & around[:-2, 1:-1] & around[2:, 1:-1] & around[1:-1, :-2]
             & around[1:-1, 2:])
    nby, nbx = ny // k, nx // k
    full = inner[:nby * k, :nbx * k].reshape(nby, k, nbx, k).all(axis=(1, 3))
    in_full = np.zeros_like(dense)
    in_full[:nby * k, :nbx * k] = full.repeat(k, axis=0).repeat(k, axis=1)
    # the boundary cells in row order, then the other cells outside the squares
    (edge_y, edge_x), (rest_y, rest_x) = np.nonzero(dense & ~inner), np.nonzero(inner & ~in_full)
    iy, ix = np.r_[edge_y, rest_y], np.r_[edge_x, rest_x]
    # shapely.box's ring: (x1, y0), (x1, y1), (x0, y1), (x0, y0), (x1, y0)
    cols = [np.column_stack([ix + 1, ix + 1, ix, ix, ix + 1]).ravel()]
    rows = [np.column_stack([iy, iy + 1, iy + 1, iy, iy]).ravel()]
    sizes = [np.full(len(iy), 5)]
    by, bx = np.nonzero(full)
    if len(by):  # the squares' rings the same way round, from the same corner
        next_full = np.pad(full, 1)
        # per side (right, up, left, down): one segment where the next square is full
        one = np.column_stack([next_full[by + 1, bx + 2], next_full[by + 2, bx + 1],
                               next_full[by + 1, bx], next_full[by, bx + 1]]).ravel()
        n_side = np.where(one, 1, k)  # the side's first vertex, and one a cell after it
        side = np.repeat(np.arange(len(one)), n_side)
        step = np.arange(len(side)) - np.repeat(np.cumsum(n_side) - n_side, n_side)
        step *= np.where(one, k, 1)[side]
        c0, r0 = bx * k, by * k
        corner_c = np.column_stack([c0 + k, c0 + k, c0, c0]).ravel()[side]
        corner_r = np.column_stack([r0, r0 + k, r0 + k, r0]).ravel()[side]
        end = np.cumsum(n_side.reshape(-1, 4).sum(axis=1))  # where each ring closes
        cols.append(np.insert(corner_c + np.array([0, -1, 0, 1])[side % 4] * step, end,
                              c0 + k))
        rows.append(np.insert(corner_r + np.array([1, 0, -1, 0])[side % 4] * step, end, r0))
        sizes.append(n_side.reshape(-1, 4).sum(axis=1) + 1)
    xs = x0 + np.arange(nx + 1) * cell_m  # x0 + ix * cell_m, as for the boxes
    ys = y0 + np.arange(ny + 1) * cell_m
    size = np.concatenate(sizes)
    polygons = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        np.column_stack([xs[np.concatenate(cols)], ys[np.concatenate(rows)]]),
        (np.r_[0, np.cumsum(size)], np.arange(len(size) + 1)))
    return shapely.coverage_union_all(polygons)


def _grid_sum(xy: np.ndarray, weights: np.ndarray, x0: float, y0: float, cell_m: float,
              shape: tuple[int, int]) -> np.ndarray:
    """Sum ``weights`` into the cells of a grid whose lower-left corner is (x0, y0)."""
    from ._read.kernels import grid_sum

    return np.asarray(grid_sum(np.asarray(xy, dtype=float), np.asarray(weights, dtype=float),
                               float(x0), float(y0), float(cell_m), *shape))


# Suffixes a boundary's name may be given without: 花园 for 花园街道, Guixi for Guixi City.
_NAME_SUFFIXES = ("街道办事处", "街道", "自治县", "自治州", "地区", "省", "市", "县", "区", "镇",
                  "乡", " subdistrict", " district", " county", " city", " town", " township",
                  " province")


def find_boundary(boundaries: Iterable[Any], name: str) -> Any | None:
    """The administrative boundary called ``name`` among an OSM file's, or ``None``.

    A boundary matches when ``name`` equals one of its names (``name``, ``name:zh``,
    ``name:en``, ``official_name``; case and a trailing `` (Fenggang)`` ignored); when none
    does, when ``name`` and one of them are equal without their suffixes (街道, 镇, 市,
    District ...).
    A name that matches several boundaries is an :class:`InputError` listing them.

    Parameters
    ----------
    boundaries
        :class:`stationplan._read.osm.Boundary` records (``names``, ``admin_level``,
        ``osmid``, ``geometry``).
    name
        The place name asked for.

    Returns
    -------
    Boundary or None
        The one match; its ``geometry`` is ``None`` when the file lacks some of its ways.

    Examples
    --------
    >>> from stationplan._read.osm import Boundary
    >>> b = [Boundary(1, ("花园街道", "Huayuan Subdistrict"), "8", None),
    ...      Boundary(2, ("东门街道",), "8", None), Boundary(3, ("东门镇",), "8", None)]
    >>> find_boundary(b, "huayuan subdistrict").osmid, find_boundary(b, "花园").osmid
    (1, 1)
    >>> find_boundary(b, "西门") is None
    True
    >>> find_boundary(b, "东门")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: place '东门' matches 2 boundaries in the file: 东门街道 ...
    """
    boundaries = list(boundaries)
    for strip in (False, True):
        want = _plain_name(name, strip=strip)
        found = [b for b in boundaries
                 if want in {_plain_name(n, strip=strip) for n in b.names}]
        if len(found) > 1:
            listed = "; ".join(f"{b.names[0]} (relation {b.osmid}, admin_level "
                               f"{b.admin_level})" for b in found)
            msg = (f"place {name!r} matches {len(found)} boundaries in the file: {listed}; "
                   "give the full name")
            raise InputError(msg)
        if found:
            return found[0]
    return None


def _plain_name(name: str, *, strip: bool = False) -> str:
    text = " ".join(name.split()).casefold()
    if "(" in text and text.endswith(")"):  # 凤岗镇 (Fenggang)
        text = text[:text.index("(")].strip()
    if strip:
        for suffix in _NAME_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                return text[: -len(suffix)].strip()
    return text


def buffer_lonlat(geom: shapely.Geometry, margin_m: float) -> Polygon | MultiPolygon:
    """Grow a lon/lat polygon by ``margin_m`` metres (buffered in its UTM zone)."""
    series = gpd.GeoSeries([geom], crs=4326)
    utm = series.estimate_utm_crs()
    grown = series.to_crs(utm).buffer(margin_m).to_crs(4326).iloc[0]
    assert isinstance(grown, Polygon | MultiPolygon)  # a buffered polygon stays one
    return grown


def with_demand(
    network: StreetNetwork,
    *,
    roads: RoadClasses | None = None,
    area: Any = None,
    area_label: str | None = None,
    margin_m: float | None = None,
    area_source: str | None = None,
    pair_carriageways_m: float = PAIR_CARRIAGEWAYS_M,
) -> StreetNetwork:
    """Mark which streets are demand: inside ``area`` and of a served road class.

    Edges crossing the area boundary are cut at it (new nodes get ``osmid`` -1). The
    input network is not changed.

    Parameters
    ----------
    network
        The street network.
    roads
        Served and ignored classes; default: every class is served.
    area
        Planning area (polygon file, GeoDataFrame, or lon/lat geometry); ``None`` means
        the whole network.
    area_label
        Name of the area for reports (default: the file name).
    margin_m
        The margin the network was read with, for reports.
    area_source
        How the area was found, for reports (see :class:`Demand`); default ``"file"``
        when ``area`` is given.
    pair_carriageways_m
        Largest distance between the two carriageways of a dual carriageway counted once
        (:func:`~stationplan.carriageways.find_carriageway_pairs`); 0 counts both.

    Returns
    -------
    StreetNetwork
        With edge columns ``road_class``, ``in_area`` and ``demand``, ``demand`` set, and
        ``carriageways`` found among the demand edges.
    """
    check_option("pair_carriageways_m", pair_carriageways_m)
    roads = roads or RoadClasses()
    edges, nodes = network.edges, network.nodes
    stats = dict(network.stats)
    geom = area_km2 = None
    n_cut = 0
    if area is not None:
        if area_label is None and isinstance(area, str | Path):
            area_label = Path(area).name
        geom = to_lonlat(area)
        area_source = area_source or "file"
        area_xy = gpd.GeoSeries([geom], crs=4326).to_crs(network.crs).iloc[0]
        area_km2 = float(area_xy.area) / 1e6
        edges, nodes, n_cut = _cut_at_boundary(edges, nodes, area_xy)
        lines = edges.geometry.to_numpy()  # their middles, as line_interpolate_point(0.5)
        mid = points_along(lines, shapely.length(lines), np.ones(len(lines), dtype=np.int64),
                           vertices=None if n_cut else network.edge_vertices)
        shapely.prepare(area_xy)
        # a point intersects the area where the area covers it (boundary included)
        in_area = shapely.intersects_xy(area_xy, mid[:, 0], mid[:, 1])
        stats["edges_cut_at_area_boundary"] = n_cut
        if n_cut:  # the counts of the network's own line change: say so
            log.info("%d streets cut where they cross the planning area's boundary: %d nodes, "
                     "%d street segments", n_cut, len(nodes), len(edges))
    else:
        in_area = np.ones(len(edges), dtype=bool)
    classes = edges["road_class"] if "road_class" in edges else edges["highway"]
    codes, keys = _class_codes(classes)
    served_by_class = {c: roads.serves(c) for c in set(keys)}
    served = np.array([served_by_class[c] for c in keys] + [False], dtype=bool)[codes]
    edges = edges.assign(in_area=in_area, demand=in_area & served)
    # the two carriageways of one road count once (found among the demand edges)
    from .carriageways import find_carriageway_pairs

    pairs = find_carriageway_pairs(
        dataclasses.replace(network, nodes=nodes, edges=edges, carriageways=None),
        max_separation_m=pair_carriageways_m)
    paired_m = float((pairs["end_m"] - pairs["start_m"]).sum())
    demand_m = float(edges.loc[edges["demand"], "length_m"].sum()) - paired_m
    stats["demand_m"] = demand_m
    stats["carriageway_pairs"] = int(pairs["run"].nunique())
    stats["paired_m"] = paired_m
    not_served = sorted(c or "unknown" for c, ok in served_by_class.items() if not ok)
    total_km, unserved = edges["length_m"].sum() / 1000, ", ".join(not_served) or "none"
    if area_label and area_source != "auto":  # the auto area has its own line (network.py)
        log.info("demand: %.1f of %.1f km of streets inside %s; road classes not served: %s",
                 demand_m / 1000, total_km, area_label, unserved)
    else:
        log.info("demand: %.1f of %.1f km of streets; road classes not served: %s",
                 demand_m / 1000, total_km, unserved)
    if len(pairs):
        log.info("dual carriageways: %d stretches where two one-way carriageways run "
                 "side by side count once; %.1f km of demand counted on the other "
                 "carriageway", stats["carriageway_pairs"], paired_m / 1000)
    if demand_m == 0:
        log.warning("no street is demand: none inside the area has a served road class "
                    "(served: %s); check the area and --serve", ", ".join(roads.serve))
    demand = Demand(roads=roads, area=geom, area_label=area_label, margin_m=margin_m,
                    area_km2=area_km2, area_source=area_source)
    out = dataclasses.replace(network, nodes=nodes, edges=edges, demand=demand, stats=stats,
                              carriageways=pairs)
    if not n_cut and "edge_vertices" in vars(network):
        # the same lines: their vertices, read once (kept where cached_property keeps them)
        vars(out)["edge_vertices"] = network.edge_vertices
    return out


def _class_codes(classes: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """The road class of each edge as a code into a list of the distinct classes (text, or
    ``None`` for a missing or non-text class), for a table of the classes served.

    Examples
    --------
    >>> codes, keys = _class_codes(pd.Series(["primary", None, "service", "primary", 3]))
    >>> [keys[c] for c in codes]
    ['primary', None, 'service', 'primary', None]
    """
    try:
        codes, uniques = pd.factorize(classes)  # missing values get -1
    except TypeError:  # unhashable cells (lists): not text, so no class
        codes, uniques = pd.factorize(
            pd.Series([c if isinstance(c, str) else None for c in classes], dtype=object))
    keys = [c if isinstance(c, str) else None for c in uniques.tolist()]
    if (codes < 0).any():
        keys.append(None)
        codes = np.where(codes < 0, len(keys) - 1, codes)
    return codes, keys


def _cut_at_boundary(
    edges: gpd.GeoDataFrame, nodes: pd.DataFrame, area: shapely.Geometry
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, int]:
    """Cut every edge where it crosses the boundary of ``area`` (both in metres)."""
    boundary = shapely.boundary(area)
    shapely.prepare(boundary)
    lines = edges.geometry.to_numpy()
    # only a line whose box meets a boundary segment's can meet the boundary: a tree of
    # the segments finds those few, GEOS decides
    xy, part = shapely.get_coordinates(shapely.get_parts(boundary), return_index=True)
    same = part[1:] == part[:-1]
    segments = np.asarray(shapely.linestrings(np.stack([xy[:-1][same], xy[1:][same]], axis=1)))
    near = np.unique(shapely.STRtree(segments).query(lines)[0])
    hit = near[shapely.intersects(boundary, lines[near])]
    cut_at = {int(i): cuts for i in hit if (cuts := cut_positions(lines[i], boundary))}
    if not cut_at:
        return edges, nodes, 0
    n_cut = len(cut_at)
    # every edge once, a cut edge once per part (in edge order); the parts replace it
    n_parts = np.ones(len(edges), dtype=np.int64)
    cut_rows = np.fromiter(cut_at, dtype=np.int64, count=n_cut)
    n_parts[cut_rows] += [len(cut_at[i]) for i in cut_rows.tolist()]
    rows = np.repeat(np.arange(len(edges)), n_parts)
    first = np.cumsum(n_parts) - n_parts  # the first output row of each edge
    geoms = lines[rows]
    us = edges["u"].to_numpy()[rows].astype(np.int64)
    vs = edges["v"].to_numpy()[rows].astype(np.int64)
    new_xy: list[tuple[float, float]] = []
    n_nodes = len(nodes)
    for i in cut_rows.tolist():
        cuts = cut_at[i]
        line = lines[i]
        marks = [0.0, *cuts, line.length]
        ends = [int(us[first[i]])]
        for d in cuts:
            p = line.interpolate(d)
            new_xy.append((p.x, p.y))
            ends.append(n_nodes + len(new_xy) - 1)
        ends.append(int(vs[first[i]]))
        for k in range(len(marks) - 1):
            geoms[first[i] + k] = shapely.ops.substring(line, marks[k], marks[k + 1])
            us[first[i] + k] = ends[k]
            vs[first[i] + k] = ends[k + 1]
    out = edges.iloc[rows].reset_index(drop=True)
    out = out.set_geometry(gpd.GeoSeries(geoms, crs=edges.crs).to_numpy())
    out["u"] = us
    out["v"] = vs
    out["length_m"] = shapely.length(out.geometry.to_numpy())
    xy = np.array(new_xy, dtype=float)
    extra = pd.DataFrame({"osmid": np.full(len(xy), -1, dtype=np.int64), "x": xy[:, 0],
                          "y": xy[:, 1]})
    nodes = pd.concat([nodes, extra], ignore_index=True)
    return out, nodes, n_cut


def cut_positions(line: shapely.LineString, boundary: shapely.Geometry) -> list[float]:
    """Distances along ``line`` where it meets ``boundary``, strictly inside the line."""
    pts = shapely.get_coordinates(shapely.intersection(line, boundary))
    if len(pts) == 0:
        return []
    d = np.sort(shapely.line_locate_point(line, shapely.points(pts)))
    d = d[(d > _EPS_M) & (d < line.length - _EPS_M)]
    out: list[float] = []
    for x in d:
        if not out or x - out[-1] > _EPS_M:
            out.append(float(x))
    return out

