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
from ._options import BRIEF_IGNORE, BRIEF_SERVE, PAIR_CARRIAGEWAYS_M, check_option
from ._paths import input_file
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
        Where the area came from (file, place name, query), for reports.
    margin_m
        How far beyond the area the network was read, in metres.
    """

    roads: RoadClasses = RoadClasses()
    area: Any = None
    area_label: str | None = None
    margin_m: float | None = None

    def describe(self) -> dict[str, Any]:
        """The definition as plain data for ``summary.json``."""
        return {
            "area": self.area_label,
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
    path = input_file(path, "area file")
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
    """Read a vector file with pyogrio, or GeoParquet with pyarrow (lazy, with a hint)."""
    if path.name.lower().endswith((".parquet", ".geoparquet")):
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            msg = f"{path}: reading GeoParquet needs pyarrow: pip install pyarrow"
            raise InputError(msg) from exc
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
    x0, y0, x1, y1 = (float(v) for v in frame.total_bounds)
    if x0 >= -180.5 and x1 <= 180.5 and y0 >= -90.5 and y1 <= 90.5:  # rounding slack
        return None
    implied = (" (a GeoJSON file without a \"crs\" member is WGS-84)"
               if path.suffix.lower() in (".geojson", ".json") else "")
    return (f"{path}: the coordinates run from ({x0:.0f}, {y0:.0f}) to ({x1:.0f}, {y1:.0f}), "
            f"which are not degrees, but the file's coordinate system is "
            f"{frame.crs.to_string()}{implied}; the file is probably in metres")


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
    geom = None
    if area is not None:
        if area_label is None and isinstance(area, str | Path):
            area_label = Path(area).name
        geom = to_lonlat(area)
        area_xy = gpd.GeoSeries([geom], crs=4326).to_crs(network.crs).iloc[0]
        edges, nodes, n_cut = _cut_at_boundary(edges, nodes, area_xy)
        mid = shapely.line_interpolate_point(edges.geometry.to_numpy(), 0.5, normalized=True)
        shapely.prepare(area_xy)
        in_area = shapely.covers(area_xy, mid)
        stats["edges_cut_at_area_boundary"] = n_cut
    else:
        in_area = np.ones(len(edges), dtype=bool)
    classes = edges["road_class"] if "road_class" in edges else edges["highway"]
    keys = [c if isinstance(c, str) else None for c in classes]
    served_by_class = {c: roads.serves(c) for c in set(keys)}
    served = np.array([served_by_class[c] for c in keys], dtype=bool)
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
    log.info("demand: %.1f of %.1f km of streets%s; road classes not served: %s",
             demand_m / 1000, edges["length_m"].sum() / 1000,
             f" inside {area_label}" if area_label else "", ", ".join(not_served) or "none")
    if len(pairs):
        log.info("dual carriageways: %d stretches where two one-way carriageways run "
                 "side by side count once; %.1f km of demand counted on the other "
                 "carriageway", stats["carriageway_pairs"], paired_m / 1000)
    if demand_m == 0:
        log.warning("no street is demand: none inside the area has a served road class "
                    "(served: %s); check the area and --serve", ", ".join(roads.serve))
    demand = Demand(roads=roads, area=geom, area_label=area_label, margin_m=margin_m)
    return dataclasses.replace(network, nodes=nodes, edges=edges, demand=demand, stats=stats,
                               carriageways=pairs)


def _cut_at_boundary(
    edges: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, area: shapely.Geometry
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, int]:
    """Cut every edge where it crosses the boundary of ``area`` (both in metres)."""
    boundary = shapely.boundary(area)
    shapely.prepare(boundary)
    lines = edges.geometry.to_numpy()
    hit = np.flatnonzero(shapely.intersects(boundary, lines))
    rows: list[int] = []
    geoms: list[Any] = []
    us: list[int] = []
    vs: list[int] = []
    new_xy: list[tuple[float, float]] = []
    n_nodes = len(nodes)
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    n_cut = 0
    cut_at = {int(i): _cut_positions(lines[i], boundary) for i in hit}
    for i in range(len(edges)):
        cuts = cut_at.get(i)
        if not cuts:
            rows.append(i)
            geoms.append(lines[i])
            us.append(int(u[i]))
            vs.append(int(v[i]))
            continue
        n_cut += 1
        line = lines[i]
        marks = [0.0, *cuts, line.length]
        ends = [int(u[i])]
        for d in cuts:
            p = line.interpolate(d)
            new_xy.append((p.x, p.y))
            ends.append(n_nodes + len(new_xy) - 1)
        ends.append(int(v[i]))
        for k in range(len(marks) - 1):
            rows.append(i)
            geoms.append(shapely.ops.substring(line, marks[k], marks[k + 1]))
            us.append(ends[k])
            vs.append(ends[k + 1])
    if not n_cut:
        return edges, nodes, 0
    out = edges.iloc[rows].reset_index(drop=True)
    out = out.set_geometry(gpd.GeoSeries(geoms, crs=edges.crs).to_numpy())
    out["u"] = np.array(us, dtype=np.int64)
    out["v"] = np.array(vs, dtype=np.int64)
    out["length_m"] = shapely.length(out.geometry.to_numpy())
    xy = np.array(new_xy, dtype=float)
    extra = gpd.GeoDataFrame(
        {"osmid": np.full(len(xy), -1, dtype=np.int64), "x": xy[:, 0], "y": xy[:, 1]},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=nodes.crs,
    )
    nodes = pd.concat([nodes, extra], ignore_index=True)
    return out, nodes, n_cut


def _cut_positions(line: shapely.LineString, boundary: shapely.Geometry) -> list[float]:
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

