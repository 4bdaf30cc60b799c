"""Street networks: load them from OSM files, downloads, centerline files, GraphML or OSMnx
graphs into one array form.

Every network becomes a :class:`StreetNetwork`: one row per street segment between
junctions (never one row per travel direction), in a local projected CRS, with flags for
the directions in which the segment may be travelled and a ``demand`` flag for the streets
that must be served (see :mod:`stationplan.area`). The routing core works on its arrays.
"""

from __future__ import annotations

import logging
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from ._errors import InputError, MissingDataError
from ._options import (
    CENTERLINE_SUFFIXES,
    GRAPHML_SUFFIXES,
    OSM_SUFFIXES,
    PAIR_CARRIAGEWAYS_M,
    CenterlineOptions,
    check_option,
)
from ._paths import input_file
from ._read.osmfilter import way_filter
from ._streets import (  # the model, whose public home is this module
    MODES,
    StreetNetwork,
    TravelMode,
    network_from_segments,
    network_from_ways,
    road_class,
    travel_mode,
)
from .area import BRIEF_ROAD_CLASSES, RoadClasses, with_demand

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "MODES",
    "StreetNetwork",
    "TravelMode",
    "load_network",
    "network_from_graph",
    "road_class",
]

log = logging.getLogger(__name__)

_LARGE_FILE_BYTES = 100_000_000
_CACHE_FILE_BYTES = 50_000_000  # OSM files this large have their networks cached

def load_network(
    source: Any,
    *,
    mode: str = "walk",
    area: Any = None,
    area_crs: Any = None,
    area_place: str | None = None,
    margin_m: float = 500.0,
    roads: RoadClasses | None = BRIEF_ROAD_CLASSES,
    centerline: CenterlineOptions | None = None,
    split_at_crossings: bool = False,
    join_tolerance_m: float = 1.0,
    class_column: str | None = None,
    oneway_column: str | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    pair_carriageways_m: float = PAIR_CARRIAGEWAYS_M,
) -> StreetNetwork:
    """Load a street network from a file, a download, or an OSMnx graph.

    Parameters
    ----------
    source
        One of: an OSM file (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``,
        ``.osm.pbf``); a road-centerline file (``.gpkg``, ``.shp``, ``.geojson``,
        ``.parquet``, ``.fgb``) of (Multi)LineStrings in any CRS; an OSMnx GraphML file;
        a ``networkx.MultiDiGraph`` made by OSMnx; an :class:`~stationplan.OsmQuery` or
        its text form (``place:NAME``, ``bbox:W,S,E,N``, ``point:LON,LAT,DIST_M``,
        ``polygon:FILE``) to download through OSMnx.
    mode
        A key of :data:`MODES`: which ways are kept and how one-way tags apply.
    area
        Planning area: a polygon file in any CRS, a GeoDataFrame, or a lon/lat
        (Multi)Polygon. Streets inside are the demand; the network is read only up to
        ``margin_m`` beyond it. ``"auto"`` (the command line's and
        :class:`~stationplan.NetworkOptions`' default) derives the built-up area from the
        data (:func:`~stationplan.area.built_up_area`: an OSM file's land use, buildings
        and street density; street density alone for other sources; within the place of a
        ``place:`` download, while a bbox, point or polygon download keeps its own area);
        ``None`` or ``"none"``: the whole network (a download: its own query area).
    area_crs
        The coordinate system of ``area``'s coordinates when it is not the file's (or
        GeoDataFrame's) own: "wgs84", "gcj02" (Amap, Tencent), "bd09" (Baidu),
        "cgcs2000" or "EPSG:<code>"; GCJ-02 and BD-09 polygons are converted vertex by
        vertex (see :func:`~stationplan.area.polygons_to_lonlat`).
    area_place
        Planning area as a place name: the administrative boundary of that name in the
        OSM file when it holds it (read offline), else geocoded online (cached) through
        OSMnx. It overrides ``area="auto"``.
    margin_m
        How far beyond the area streets are kept to carry paths, in metres (>= 0); use
        at least the coverage distance so that stations across the boundary count.
    roads
        Served and ignored road classes; default :data:`~stationplan.BRIEF_ROAD_CLASSES`,
        the command line's default too; ``None`` or ``RoadClasses()`` serves every class.
    centerline
        How a centerline file is read (:class:`~stationplan.CenterlineOptions`). Giving
        it with any other source is an :class:`~stationplan.InputError`.
    split_at_crossings, join_tolerance_m, class_column, oneway_column
        Shorthand for the fields of ``centerline`` (not both); values other than these
        defaults count as giving centerline options.
    cache_dir
        Cache for downloads and built networks (default: the user cache directory).
    overpass_url, nominatim_url
        Overpass and Nominatim endpoints (default: OSMnx's public servers).
    pair_carriageways_m
        Largest distance in metres between the two one-way carriageways of one road that
        count once (:mod:`stationplan.carriageways`); 0 counts both.

    Returns
    -------
    StreetNetwork
        Every connected piece is kept; nothing is dropped for being small.
    """
    travel = travel_mode(mode)
    check_option("margin_m", margin_m)
    check_option("pair_carriageways_m", pair_carriageways_m)
    pair = {"pair_carriageways_m": pair_carriageways_m}
    centerline = _centerline_options(centerline, split_at_crossings, join_tolerance_m,
                                     class_column, oneway_column)
    auto = _is_word(area, "auto")
    if _is_word(area, "none") or (auto and area_place is not None):
        area, auto = None, False
    if area is not None and area_place is not None:
        msg = "give the planning area as a file (area) or a place name (area_place), not both"
        raise InputError(msg)
    if area_crs is not None and (area is None or auto):
        msg = "area_crs (--area-crs) applies to an area file or polygons; give area too"
        raise InputError(msg)
    from ._read.online import Endpoints, OsmQuery, geocode, load_online
    from .area import buffer_lonlat, to_lonlat

    endpoints = Endpoints.make(cache_dir, overpass_url, nominatim_url)
    # (an OSMnx graph is a networkx one: not imported here unless the caller has it)
    graph = "networkx" in sys.modules and isinstance(source, sys.modules["networkx"].MultiDiGraph)
    query = None if graph else source if isinstance(source, OsmQuery) else OsmQuery.parse(source)
    path, kind = (None, None) if graph or query else _file_kind(source)  # fail before downloads
    if centerline is not None and kind != "centerline":
        if graph:
            what = "an OSMnx graph"
        elif query is not None:
            what = f"a download ({query.label()})"
        else:
            assert path is not None  # neither a graph nor a download, so _file_kind gave a file
            what = f"{path.name} ({'an OSM file' if kind == 'osm' else 'a GraphML file'})"
        msg = (f"centerline options (--split-at-crossings, --join-tolerance-m, --class-column, "
               f"--oneway-column) apply to centerline files only, not to {what}; drop them")
        raise InputError(msg)
    area_label = source_kind = None
    osm_areas = None
    if area_place is not None:
        if kind == "osm":
            assert path is not None
            osm_areas = _read_osm_areas(path)
            area = _place_in_file(osm_areas, area_place, path)
        if area is None:
            area = geocode(area_place, endpoints)
            source_kind = "place"
        else:
            source_kind = "place_in_file"
        area_label = area_place
    elif auto:
        area = None
    elif area is not None:
        area_label = Path(area).name if isinstance(area, str | Path) else "area"
        area = to_lonlat(area, crs=area_crs)
        source_kind = "file"

    if graph:  # the user's graph is used whole: no margin
        net = network_from_graph(source, mode=mode)
        if auto:
            return _with_auto_area(net, roads, what="graph", pair=pair)
        return with_demand(net, area=area, area_label=area_label, roads=roads,
                           area_source=source_kind, **pair)
    if query is not None:
        net, query_area = load_online(query, travel, margin_m=margin_m, endpoints=endpoints)
        if auto and query.kind == "place":  # a bbox, point or polygon is the user's own area
            return _with_auto_area(net, roads, what="download", within=query_area,
                                   within_label=query.label(), margin_m=margin_m, pair=pair)
        if area is None:
            area, area_label, source_kind = query_area, query.label(), "query"
        return with_demand(net, area=area, area_label=area_label, roads=roads, margin_m=margin_m,
                           area_source=source_kind, **pair)

    clip = None if area is None else buffer_lonlat(area, margin_m)
    assert path is not None  # neither a graph nor a download, so _file_kind gave a file
    if kind == "graphml":
        net = network_from_graph(_read_graphml(path), mode=mode, source=str(path))
    elif kind == "osm":
        net = _read_osm_file(path, travel, clip, endpoints.cache_dir)
    else:
        from ._read.centerlines import read_centerlines

        opts = centerline or CenterlineOptions()
        net = read_centerlines(
            path, travel, clip=clip, split_at_crossings=opts.split_at_crossings,
            join_tolerance_m=opts.join_tolerance_m, class_column=opts.class_column,
            oneway_column=opts.oneway_column,
        )
    if auto:
        if kind == "osm":
            osm_areas = _read_osm_areas(path)
        return _with_auto_area(net, roads, what="osm" if kind == "osm" else "file",
                               osm_areas=osm_areas, pair=pair)
    return with_demand(net, area=area, area_label=area_label, roads=roads,
                       margin_m=None if area is None else margin_m, area_source=source_kind,
                       **pair)


def _is_word(value: Any, word: str) -> bool:
    return isinstance(value, str) and value.strip().casefold() == word


def _read_osm_areas(path: Path) -> Any:
    from ._read.osm import read_osm_areas

    return read_osm_areas(path)


def _place_in_file(osm_areas: Any, name: str, path: Path) -> Any:
    """The lon/lat polygon of the boundary ``name`` in the OSM file, or ``None`` when the
    file holds no boundary of that name; a boundary the file holds only in part is an
    :class:`InputError` (the online boundary would not match the streets read)."""
    from .area import find_boundary

    found = find_boundary(osm_areas.boundaries, name)
    if found is None:
        held = ", ".join(b.names[0] for b in osm_areas.boundaries if b.names) or "none"
        log.info("%s holds no boundary called %s (it holds: %s); asking the online geocoder",
                 path.name, name, held)
        return None
    if found.geometry is None:
        msg = (f"{path.name} holds the boundary of {found.names[0]} (relation {found.osmid}) "
               "only in part: its outline does not close in this extract; give the area as "
               "a polygon file (--area FILE), or use an extract that holds the whole boundary")
        raise InputError(msg)
    geom = gpd.GeoSeries([found.geometry], crs=4326)
    km2 = float(geom.to_crs(geom.estimate_utm_crs()).area.iloc[0]) / 1e6
    log.info("planning area %s: boundary relation %d of %s (%.2f km²), read offline",
             found.names[0], found.osmid, path.name, km2)
    return found.geometry


def _with_auto_area(net: StreetNetwork, roads: RoadClasses | None, *, what: str,
                    osm_areas: Any = None, within: Any = None, within_label: str | None = None,
                    margin_m: float | None = None, pair: dict[str, float] | None = None
                    ) -> StreetNetwork:
    """Mark the demand inside the built-up area derived from the data (``area="auto"``)."""
    from .area import built_up_area

    landuse = [g for _, g in osm_areas.built_up] if osm_areas is not None else []
    buildings = osm_areas.buildings if osm_areas is not None else []
    geom = built_up_area(net, landuse=landuse, buildings=buildings)
    if geom is not None and within is not None:
        geom = shapely.make_valid(shapely.intersection(geom, within))
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            geom = None
    if geom is None:
        area, label = (within, within_label) if within is not None else (None, None)
        out = with_demand(net, area=area, area_label=label, roads=roads, area_source="auto",
                          margin_m=margin_m if area is not None else None, **(pair or {}))
        log.info("planning area: the whole network (%.1f km of streets): too small or too "
                 "sparse to tell the built-up area from the country; --area FILE to limit it",
                 out.total_length_m / 1000)
        return out
    out = with_demand(net, area=geom, area_label="auto", roads=roads, area_source="auto",
                      margin_m=margin_m, **(pair or {}))
    km2, demand_km, total_km = (out.demand.area_km2 or 0.0, out.demand_length_m / 1000,
                                out.total_length_m / 1000)
    if what == "osm":
        log.info("planning area: the built-up area derived from the extract (%.1f km²; land "
                 "use, buildings and street density): %.1f of %.1f km of streets are demand; "
                 "--area none for the whole network, --area FILE for your own",
                 km2, demand_km, total_km)
    else:
        log.info("planning area: the built-up area derived from street density alone (%.1f "
                 "km²; the source has no land use or buildings): %.1f of %.1f km of streets "
                 "are demand; --area none for the whole network, --area FILE for your own",
                 km2, demand_km, total_km)
    return out


def _centerline_options(
    given: CenterlineOptions | None, split_at_crossings: bool, join_tolerance_m: float,
    class_column: str | None, oneway_column: str | None,
) -> CenterlineOptions | None:
    """The centerline options given as an object or as keywords (``None``: neither)."""
    loose = CenterlineOptions(split_at_crossings, join_tolerance_m, class_column, oneway_column)
    if loose == CenterlineOptions():
        return given
    if given is not None:
        msg = ("give centerline options as centerline=CenterlineOptions(...) or as "
               "keywords, not both")
        raise InputError(msg)
    return loose


def _file_kind(source: Any) -> tuple[Path, str]:
    """The network file and its kind ("osm", "graphml", "centerline"); clear errors."""
    path = Path(source)
    download = ("" if path.suffix else
                "; to download, write place:NAME, bbox:W,S,E,N or point:LON,LAT,M")
    input_file(path, "network file", hint="; give an OSM file (.osm, .osm.pbf, ...), a "
               f"centerline file or GraphML{download}")
    name = path.name.lower()
    for kind, suffixes in (("graphml", GRAPHML_SUFFIXES), ("osm", OSM_SUFFIXES),
                           ("centerline", CENTERLINE_SUFFIXES)):
        if name.endswith(suffixes):
            return path, kind
    msg = (
        f"{path}: unknown network file type; use an OSM file ({', '.join(OSM_SUFFIXES)}), "
        f"a centerline file ({', '.join(CENTERLINE_SUFFIXES)}) or OSMnx GraphML (.graphml)"
    )
    raise InputError(msg)


# Characters XML 1.0 cannot hold, raw or as references: C0 controls but tab, LF and CR, and
# U+FFFE/U+FFFF. OSMnx (through ElementTree) writes names holding them without complaint.
_XML_INVALID = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
    "|&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01])|x0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));"
)


def _read_graphml(path: Path) -> nx.MultiDiGraph[Any]:
    """Load OSMnx GraphML; characters XML does not allow are dropped with a warning.

    Such characters (a U+0001 in a street name) are invisible noise in OSM tags and carry
    nothing XML could hold, so the file is read without them rather than refused. Files
    that are still not GraphML raise :class:`InputError`.
    """
    import networkx as nx
    import osmnx as ox

    try:
        return ox.load_graphml(path)
    except ET.ParseError as exc:
        first_error = exc
    except (nx.NetworkXError, AttributeError, KeyError, TypeError, ValueError) as exc:
        # GraphML that OSMnx did not write: typed attributes OSMnx cannot convert, or
        # values it cannot parse (AttributeError: an int where it expects text)
        raise InputError(_not_graphml(path, exc)) from None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(_not_graphml(path, first_error)) from None
    found = _XML_INVALID.search(text)
    if found is None:
        raise InputError(_not_graphml(path, first_error)) from None
    line = text.count("\n", 0, found.start()) + 1
    text, removed = _XML_INVALID.subn("", text)
    try:
        graph = ox.load_graphml(graphml_str=text)
    except (ET.ParseError, nx.NetworkXError) as exc:
        # columns count from the text without the dropped characters; lines are unchanged
        raise InputError(_not_graphml(path, exc, dropped=removed)) from None
    log.warning("%s: dropped %d control characters that XML does not allow (first on line %d; "
                "usually in street names); the network was read without them",
                path, removed, line)
    return graph


def _not_graphml(path: Path, exc: Exception, *, dropped: int = 0) -> str:
    after = f" after dropping {dropped} control characters" if dropped else ""
    return (f"{path}: cannot read it as GraphML ({exc}{after}); save the graph again with "
            "osmnx.save_graphml or give the OSM or centerline file it was made from")


def _read_osm_file(
    path: Path, travel: TravelMode, clip: Any, cache_dir: Path
) -> StreetNetwork:
    """Read an OSM file; networks from large files are cached (a province takes a minute)."""
    import hashlib

    from ._read.cache import cache_path, read_cached, write_cached
    from ._read.osm import read_osm_ways

    stat = path.stat()
    cached_at = None
    if stat.st_size >= _CACHE_FILE_BYTES:
        cached_at = cache_path(cache_dir, {
            "file": [str(path.resolve()), stat.st_size, stat.st_mtime_ns],
            "clip": None if clip is None else hashlib.sha256(clip.wkb).hexdigest(),
            "mode": [travel.name, travel.overpass_filter, travel.bidirectional],
        })
        net = read_cached(cached_at)
        if net is not None:
            log.info("network cache hit for %s (mode %s): %s; the file was not read again",
                     path.name, travel.name, cached_at)
            return net
    if clip is None and stat.st_size > _LARGE_FILE_BYTES:
        log.info("%s is large (%.0f MB): give a planning area to read only that part",
                 path.name, stat.st_size / 1e6)
    ways, coords, stats = read_osm_ways(path, way_filter(travel.overpass_filter), clip=clip)
    net = network_from_ways(ways, coords, travel, source=str(path), stats=stats)
    if cached_at is not None:
        write_cached(cached_at, net)
        log.info("cached the network of %s in %s", path.name, cached_at)
    return net


def network_from_graph(
    graph: nx.MultiDiGraph[Any], *, mode: str = "walk", source: str = "OSMnx graph"
) -> StreetNetwork:
    """Turn an OSMnx graph into a :class:`StreetNetwork`.

    Opposite directed edges with the same way id and length become one street segment
    travelled both ways. Edges without a ``highway`` tag (OSMnx keeps railways and other
    ways when reading XML) or excluded by the mode's tag filter are dropped and counted.

    Parameters
    ----------
    graph
        An OSMnx ``MultiDiGraph``, projected or in lon/lat (``graph.graph["crs"]``).
    mode
        A key of :data:`MODES`.
    source
        What the graph was read from, for reports.

    Returns
    -------
    StreetNetwork
    """
    import osmnx as ox

    travel = travel_mode(mode)
    if graph.number_of_edges() == 0:
        msg = f"{source}: the graph has no edges"
        raise MissingDataError(msg)
    if "crs" not in graph.graph:
        msg = f"{source}: the graph has no 'crs' attribute; set graph.graph['crs'] first"
        raise InputError(msg)
    _check_node_coordinates(graph, source)
    nodes, edges = ox.graph_to_gdfs(graph, fill_edge_geometry=True)
    nodes = nodes.to_crs(4326)
    edges = edges.to_crs(4326).reset_index()
    keep = way_filter(travel.overpass_filter)
    ok = np.array([keep(_edge_tags(row)) for row in edges.itertuples(index=False)], dtype=bool)
    dropped = int((~ok).sum())
    edges = edges.loc[ok]
    lengths = edges["length"].round(3).to_numpy()
    osmids = [_first(v) for v in edges["osmid"]]
    # One segment per (unordered node pair, way, length); directions present become flags.
    segments: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row, length, osmid in zip(edges.itertuples(index=False), lengths, osmids, strict=True):
        key = (min(row.u, row.v), max(row.u, row.v), osmid, float(length))
        seg = segments.get(key)
        if seg is None:
            segments[key] = {
                "u": row.u,
                "v": row.v,
                "geometry": row.geometry,
                "osmid": osmid,
                "tags": _edge_tags(row),
                "fwd": True,
                "bwd": False,
                # OSMnx keeps a one-way way's edges in its travel direction only
                "oneway": 1 if _truthy(getattr(row, "oneway", False)) else 0,
            }
        elif (row.u, row.v) == (seg["v"], seg["u"]) or row.u == row.v:
            seg["bwd"] = True
    # A bidirectional mode (walk) ignores the directions the graph was built with.
    ways = [
        (s["osmid"], s["tags"], [s["u"], s["v"]], s["geometry"], True,
         s["bwd"] or travel.bidirectional, 0 if s["bwd"] else s["oneway"])
        for s in segments.values()
    ]
    coords = {
        int(n): (float(p.x), float(p.y))
        for n, p in zip(nodes.index, nodes.geometry.to_numpy(), strict=True)
    }
    stats = {"edges_without_mode_tags_dropped": dropped}
    return network_from_segments(ways, coords, travel, source=source, stats=stats)


def _check_node_coordinates(graph: nx.MultiDiGraph[Any], source: str) -> None:
    """Every node needs ``x`` and ``y``: OSMnx builds the street geometry from them."""
    missing = [node for node, data in graph.nodes(data=True)
               if data.get("x") is None or data.get("y") is None]
    if missing:
        msg = (f"{source}: {len(missing)} of {graph.number_of_nodes()} nodes have no "
               f"coordinates ('x' and 'y' attributes; first: node {missing[0]!r}); "
               "save the graph with osmnx.save_graphml, which writes them, or give the OSM "
               "or centerline file it was made from")
        raise InputError(msg)


def _first(value: Any) -> int:
    """First way id of an OSMnx attribute that may be a list; -1 if unknown."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _truthy(value: Any) -> bool:
    """An OSMnx boolean attribute, which GraphML may give as text."""
    if isinstance(value, list):
        value = value[0] if value else False
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value) if isinstance(value, bool | np.bool_ | int) else False


def _edge_tags(row: Any) -> dict[str, str]:
    tags = {}
    for key in ("highway", "area", "access", "service", "foot", "bicycle", "name", "junction",
                "ref", "footway", "dual_carriageway"):
        value = getattr(row, key, None)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            tags[key] = str(value)
    return tags

