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
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

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
        ``margin_m`` beyond it. A download defaults to its own query area.
    area_crs
        The coordinate system of ``area``'s coordinates when it is not the file's (or
        GeoDataFrame's) own: "wgs84", "gcj02" (Amap, Tencent), "bd09" (Baidu),
        "cgcs2000" or "EPSG:<code>"; GCJ-02 and BD-09 polygons are converted vertex by
        vertex (see :func:`~stationplan.area.polygons_to_lonlat`).
    area_place
        Planning area as a place name, geocoded online (cached) through OSMnx.
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
    if area is not None and area_place is not None:
        msg = "give the planning area as a file (area) or a place name (area_place), not both"
        raise InputError(msg)
    if area_crs is not None and area is None:
        msg = "area_crs (--area-crs) applies to an area file or polygons; give area too"
        raise InputError(msg)
    from ._read.online import Endpoints, OsmQuery, geocode, load_online
    from .area import buffer_lonlat, to_lonlat

    endpoints = Endpoints.make(cache_dir, overpass_url, nominatim_url)
    graph = isinstance(source, nx.MultiDiGraph)
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
    area_label = None
    if area_place is not None:
        area, area_label = geocode(area_place, endpoints), area_place
    elif area is not None:
        area_label = Path(area).name if isinstance(area, str | Path) else "area"
        area = to_lonlat(area, crs=area_crs)

    if graph:  # the user's graph is used whole: no margin
        net = network_from_graph(source, mode=mode)
        return with_demand(net, area=area, area_label=area_label, roads=roads, **pair)
    if query is not None:
        net, query_area = load_online(query, travel, margin_m=margin_m, endpoints=endpoints)
        if area is None:
            area, area_label = query_area, query.label()
        return with_demand(net, area=area, area_label=area_label, roads=roads, margin_m=margin_m,
                           **pair)

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
    return with_demand(net, area=area, area_label=area_label, roads=roads,
                       margin_m=None if area is None else margin_m, **pair)


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

