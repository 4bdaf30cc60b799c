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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ._errors import InputError, MissingDataError
from ._osmfilter import overpass_filter, way_filter
from .area import Demand, RoadClasses, with_demand

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")
GRAPHML_SUFFIXES = (".graphml", ".graphml.xml")
CENTERLINE_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb")
_LARGE_FILE_BYTES = 100_000_000
_CACHE_FILE_BYTES = 50_000_000  # OSM files this large have their networks cached

# OSMnx's values of the "oneway" tag (osmnx.graph._add_paths), kept identical on purpose.
_ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
_REVERSED_VALUES = frozenset({"-1", "reverse", "T"})


@dataclass(frozen=True)
class TravelMode:
    """How workers move along streets: which ways count, one-way rules, default speed.

    Parameters
    ----------
    name
        Mode name used on the command line.
    osmnx_network_type
        The OSMnx ``network_type`` whose tag filter selects the ways.
    bidirectional
        If true, every street is travelled both ways (one-way tags ignored).
    speed_kmh
        Default travel speed, used to turn minutes into metres.
    description
        What the mode includes, for people.
    extra_filter
        Overpass QL clauses appended to the OSMnx filter (files and downloads alike).
    """

    name: str
    osmnx_network_type: str
    bidirectional: bool
    speed_kmh: float
    description: str
    extra_filter: str = ""

    @property
    def overpass_filter(self) -> str:
        """The full Overpass way filter of this mode."""
        return overpass_filter(self.osmnx_network_type, self.extra_filter)


MODES: dict[str, TravelMode] = {
    "walk": TravelMode(
        "walk",
        "walk",
        bidirectional=True,
        speed_kmh=6.0,
        description=(
            "On foot: OSMnx 'walk' ways (streets, footways, paths, steps; no motorways); "
            "one-way tags ignored; 6 km/h so that 5 minutes = 500 m."
        ),
    ),
    "bike": TravelMode(
        "bike",
        "bike",
        bidirectional=False,
        speed_kmh=15.0,
        description=(
            "By bicycle: OSMnx 'bike' ways (no motorways, footways or steps); one-way "
            "streets and roundabouts followed as OSMnx does; 15 km/h."
        ),
    ),
    # E-bikes (电动自行车) are non-motor vehicles in China: they ride on roads and bike
    # lanes, keep to one-way rules, and are not allowed on expressways; delivery riders
    # do not ride footpaths, tracks or pedestrian streets.
    "ebike": TravelMode(
        "ebike",
        "bike",
        bidirectional=False,
        speed_kmh=20.0,
        description=(
            "By e-bike (delivery and other riders): OSMnx 'bike' ways without paths, tracks, "
            "bridleways and pedestrian streets (no motorways, footways or steps either); "
            "one-way streets and roundabouts followed; 20 km/h."
        ),
        extra_filter='["highway"!~"bridleway|path|pedestrian|track"]',
    ),
}


@dataclass(frozen=True)
class StreetNetwork:
    """A street network ready for routing, in a local projected CRS (metres).

    Treat it as read-only: every stage returns new objects and never changes it.

    Parameters
    ----------
    nodes
        Junctions and dead ends: columns ``osmid``, ``x``, ``y`` (metres) and geometry.
        Row position is the node index used by ``edges.u`` / ``edges.v``.
    edges
        One row per street segment: ``u``, ``v`` (node positions), ``length_m`` (along
        the geometry), ``fwd`` / ``bwd`` (travel allowed u→v / v→u), ``osmid`` (way id,
        feature row for centerline files, or -1), ``highway``, ``name``, ``road_class``
        (``highway`` refined by the ``service``/``footway`` subtag, or the centerline
        class), ``component``, ``in_area``, ``demand`` (inside the planning area and of a
        served road class) and a LineString geometry from u to v.
    mode
        The travel mode the network was built for.
    source
        What the network was read from, for reports.
    stats
        Counts from loading (missing node references dropped, ways kept, ...).
    demand
        The demand definition (planning area, served road classes) the edges carry.
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    mode: TravelMode
    source: str
    stats: dict[str, Any] = field(default_factory=dict)
    demand: Demand = field(default_factory=Demand)

    def __post_init__(self) -> None:
        if self.edges.crs is None or not self.edges.crs.is_projected:
            msg = "StreetNetwork needs edges in a projected CRS (metres)"
            raise ValueError(msg)

    @property
    def crs(self) -> pyproj.CRS:
        """The projected CRS of nodes and edges."""
        crs = self.edges.crs
        assert crs is not None  # __post_init__ refuses edges without one
        return crs

    @property
    def total_length_m(self) -> float:
        """Total street length in metres."""
        return float(self.edges["length_m"].sum())

    @property
    def demand_length_m(self) -> float:
        """Length of the streets that must be served, in metres."""
        if "demand" not in self.edges:
            return self.total_length_m
        return float(self.edges.loc[self.edges["demand"], "length_m"].sum())

    def islands(self) -> dict[str, Any]:
        """Connected pieces other than the largest: kept, and reported here.

        Returns
        -------
        dict
            ``count``, ``length_m`` and ``demand_m`` of the islands, and
            ``largest_component_m``.
        """
        e = self.edges
        per = e.groupby("component")["length_m"].sum()
        main = per.idxmax()
        rest = e["component"] != main
        demand = e["demand"] if "demand" in e else np.ones(len(e), dtype=bool)
        return {
            "count": len(per) - 1,
            "length_m": float(e.loc[rest, "length_m"].sum()),
            "demand_m": float(e.loc[rest & demand, "length_m"].sum()),
            "largest_component_m": float(per.max()),
        }


def load_network(
    source: Any,
    *,
    mode: str = "walk",
    area: Any = None,
    area_place: str | None = None,
    margin_m: float = 500.0,
    roads: RoadClasses | None = None,
    split_at_crossings: bool = False,
    join_tolerance_m: float = 1.0,
    class_column: str | None = None,
    oneway_column: str | None = None,
    cache_dir: str | Path | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
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
    area_place
        Planning area as a place name, geocoded online (cached) through OSMnx.
    margin_m
        How far beyond the area streets are kept to carry paths, in metres; use at
        least the coverage distance so that stations across the boundary count.
    roads
        Served and ignored road classes; default: every class is served.
    split_at_crossings, join_tolerance_m, class_column, oneway_column
        Centerline files only: also join lines where they cross (by default only where
        they share a vertex, an end lies on another line, or two ends lie within
        ``join_tolerance_m`` metres), and the columns holding the road class and the
        one-way flag (found among common names when not given).
    cache_dir
        Cache for downloads and built networks (default: the user cache directory).
    overpass_url, nominatim_url
        Overpass and Nominatim endpoints (default: OSMnx's public servers).

    Returns
    -------
    StreetNetwork
        Every connected piece is kept; nothing is dropped for being small.
    """
    travel = _mode(mode)
    if area is not None and area_place is not None:
        msg = "give the planning area as a file (area) or a place name (area_place), not both"
        raise InputError(msg)
    from ._online import Endpoints, OsmQuery, geocode, load_online
    from .area import buffer_lonlat, to_lonlat

    endpoints = Endpoints.make(cache_dir, overpass_url, nominatim_url)
    graph = isinstance(source, nx.MultiDiGraph)
    query = None if graph else source if isinstance(source, OsmQuery) else OsmQuery.parse(source)
    path, kind = (None, None) if graph or query else _file_kind(source)  # fail before downloads
    area_label = None
    if area_place is not None:
        area, area_label = geocode(area_place, endpoints), area_place
    elif area is not None:
        area_label = Path(area).name if isinstance(area, str | Path) else "area"
        area = to_lonlat(area)

    if graph:  # the user's graph is used whole: no margin
        net = network_from_graph(source, mode=mode)
        return with_demand(net, area=area, area_label=area_label, roads=roads)
    if query is not None:
        net, query_area = load_online(query, travel, margin_m=margin_m, endpoints=endpoints)
        if area is None:
            area, area_label = query_area, query.label()
        return with_demand(net, area=area, area_label=area_label, roads=roads, margin_m=margin_m)

    clip = None if area is None else buffer_lonlat(area, margin_m)
    assert path is not None  # neither a graph nor a download, so _file_kind gave a file
    if kind == "graphml":
        net = network_from_graph(_read_graphml(path), mode=mode, source=str(path))
    elif kind == "osm":
        net = _read_osm_file(path, travel, clip, endpoints.cache_dir)
    else:
        from ._centerlines import read_centerlines

        net = read_centerlines(
            path, travel, clip=clip, split_at_crossings=split_at_crossings,
            join_tolerance_m=join_tolerance_m, class_column=class_column,
            oneway_column=oneway_column,
        )
    return with_demand(net, area=area, area_label=area_label, roads=roads,
                       margin_m=None if area is None else margin_m)


def _file_kind(source: Any) -> tuple[Path, str]:
    """The network file and its kind ("osm", "graphml", "centerline"); clear errors."""
    path = Path(source)
    if not path.exists():
        hint = ("" if path.suffix else
                "; to download, write place:NAME, bbox:W,S,E,N or point:LON,LAT,M")
        msg = (f"{path}: network file not found; give an OSM file (.osm, .osm.pbf, ...), "
               f"a centerline file or GraphML{hint}")
        raise MissingDataError(msg)
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


def _read_graphml(path: Path) -> nx.MultiDiGraph:
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
    except nx.NetworkXError as exc:
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

    from ._cache import cache_path, read_cached, write_cached
    from ._osmread import read_osm_ways

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
    net = _network_from_ways(ways, coords, travel, source=str(path), stats=stats)
    if cached_at is not None:
        write_cached(cached_at, net)
        log.info("cached the network of %s in %s", path.name, cached_at)
    return net


def network_from_graph(
    graph: nx.MultiDiGraph, *, mode: str = "walk", source: str = "OSMnx graph"
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

    travel = _mode(mode)
    if graph.number_of_edges() == 0:
        msg = f"{source}: the graph has no edges"
        raise MissingDataError(msg)
    if "crs" not in graph.graph:
        msg = f"{source}: the graph has no 'crs' attribute; set graph.graph['crs'] first"
        raise InputError(msg)
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
    segments: dict[tuple, dict[str, Any]] = {}
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
            }
        elif (row.u, row.v) == (seg["v"], seg["u"]) or row.u == row.v:
            seg["bwd"] = True
    # A bidirectional mode (walk) ignores the directions the graph was built with.
    ways = [
        (s["osmid"], s["tags"], [s["u"], s["v"]], s["geometry"], True,
         s["bwd"] or travel.bidirectional)
        for s in segments.values()
    ]
    coords = {
        int(n): (float(p.x), float(p.y))
        for n, p in zip(nodes.index, nodes.geometry.to_numpy(), strict=True)
    }
    stats = {"edges_without_mode_tags_dropped": dropped}
    return _network_from_segments(ways, coords, travel, source=source, stats=stats)


def _network_from_ways(
    ways: list[tuple[int, dict[str, str], list[int]]],
    coords: dict[int, tuple[float, float]],
    travel: TravelMode,
    *,
    source: str,
    stats: dict[str, Any],
) -> StreetNetwork:
    """Split OSM ways at junctions into street segments."""
    uses: Counter[int] = Counter()
    for _, _, refs in ways:
        uses.update(refs)
        # Way ends are junctions even when no other way touches them.
        uses[refs[0]] += 1
        uses[refs[-1]] += 1
    segments = []
    for way_id, tags, refs in ways:
        one_way = not travel.bidirectional and (
            tags.get("oneway") in _ONEWAY_VALUES or tags.get("junction") == "roundabout"
        )
        if one_way and tags.get("oneway") in _REVERSED_VALUES:
            refs = refs[::-1]
        start = 0
        for i in range(1, len(refs)):
            if uses[refs[i]] > 1 or i == len(refs) - 1:
                part = refs[start : i + 1]
                segments.append((way_id, tags, part, None, True, not one_way))
                start = i
    return _network_from_segments(segments, coords, travel, source=source, stats=stats)


def _network_from_segments(
    segments: list[tuple],
    coords: dict[int, tuple[float, float]],
    travel: TravelMode,
    *,
    source: str,
    stats: dict[str, Any],
) -> StreetNetwork:
    """Assemble nodes and edges (lon/lat in ``coords``) and project them to UTM."""
    if not segments:
        msg = f"{source}: no streets for mode {travel.name!r} in this network"
        raise MissingDataError(msg)
    node_ids = sorted({n for seg in segments for n in (seg[2][0], seg[2][-1])})
    lonlat = np.array([coords[n] for n in node_ids], dtype=float)
    crs = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=4326).estimate_utm_crs()
    to_utm = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = to_utm.transform(lonlat[:, 0], lonlat[:, 1])
    index = {n: i for i, n in enumerate(node_ids)}

    geoms: list[Any] = []  # LineStrings; shapely's stubs type linestrings() as a union
    for _, _, refs, geom, _, _ in segments:
        if geom is None:
            pts = np.array([coords[n] for n in refs], dtype=float)
        else:
            pts = shapely.get_coordinates(geom)
        geoms.append(shapely.linestrings(np.column_stack(to_utm.transform(pts[:, 0], pts[:, 1]))))
    edges = gpd.GeoDataFrame(
        {
            "u": np.array([index[s[2][0]] for s in segments], dtype=np.int64),
            "v": np.array([index[s[2][-1]] for s in segments], dtype=np.int64),
            "osmid": np.array([s[0] for s in segments], dtype=np.int64),
            "highway": [_text(s[1].get("highway")) for s in segments],
            "name": [_text(s[1].get("name")) for s in segments],
            "road_class": [road_class(s[1]) for s in segments],
            "fwd": np.array([s[4] for s in segments], dtype=bool),
            "bwd": np.array([s[5] for s in segments], dtype=bool),
        },
        geometry=geoms,
        crs=crs,
    )
    edges["length_m"] = edges.geometry.length.to_numpy()
    n = len(node_ids)
    adjacency = csr_array(
        (np.ones(len(edges)), (edges["u"].to_numpy(), edges["v"].to_numpy())), shape=(n, n)
    )
    n_comp, labels = connected_components(adjacency, directed=False)
    edges["component"] = labels[edges["u"].to_numpy()]
    nodes = gpd.GeoDataFrame(
        {"osmid": np.array(node_ids, dtype=np.int64), "x": x, "y": y},
        geometry=gpd.points_from_xy(x, y),
        crs=crs,
    )
    edges["in_area"] = True
    edges["demand"] = True
    per_comp = edges.groupby("component")["length_m"].sum()
    stats = {
        **stats,
        "nodes": n,
        "edges": len(edges),
        "components": int(n_comp),
        "length_outside_largest_component_m": float(per_comp.sum() - per_comp.max()),
    }
    log.info(
        "network %s: %d nodes, %d street segments, %.1f km, %d connected pieces "
        "(%d islands with %.1f km kept)",
        source, n, len(edges), edges["length_m"].sum() / 1000, n_comp, n_comp - 1,
        stats["length_outside_largest_component_m"] / 1000,
    )
    return StreetNetwork(nodes=nodes, edges=edges, mode=travel, source=source, stats=stats)


def road_class(tags: dict[str, str]) -> str | None:
    """The road class of a way: its ``highway`` value; service roads and footways are
    refined by their ``service`` / ``footway`` subtag.

    Examples
    --------
    >>> road_class({"highway": "service", "service": "alley"})
    'service:alley'
    >>> road_class({"highway": "residential;tertiary"}), road_class({})
    ('residential', None)
    """
    value = tags.get("highway")
    if not value:
        return None
    hw = str(value).split(";")[0].strip()
    sub = tags.get(hw) if hw in ("service", "footway") else None
    return f"{hw}:{sub}" if sub else hw


def _mode(name: str) -> TravelMode:
    try:
        return MODES[name]
    except KeyError:
        msg = f"unknown mode {name!r}; choose one of {', '.join(sorted(MODES))}"
        raise InputError(msg) from None


def _first(value: Any) -> int:
    """First way id of an OSMnx attribute that may be a list; -1 if unknown."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _text(value: Any) -> str | None:
    """OSMnx attributes may be lists after simplification; join them for display."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _edge_tags(row: Any) -> dict[str, str]:
    tags = {}
    for key in ("highway", "area", "access", "service", "foot", "bicycle", "name", "junction",
                "ref", "footway"):
        value = getattr(row, key, None)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            tags[key] = str(value)
    return tags

