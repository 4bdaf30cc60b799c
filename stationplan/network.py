"""Street networks: load them from OSM files, GraphML or OSMnx graphs into one array form.

Every network becomes a :class:`StreetNetwork`: one row per street segment between
junctions (never one row per travel direction), in a local projected CRS, with flags for
the directions in which the segment may be travelled. The routing core works on its arrays.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ._errors import InputError, MissingDataError
from ._osmfilter import osmnx_way_filter

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")
GRAPHML_SUFFIXES = (".graphml", ".graphml.xml")

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
        One line for people.
    """

    name: str
    osmnx_network_type: str
    bidirectional: bool
    speed_kmh: float
    description: str


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
        or -1), ``highway``, ``name``, ``component`` and a LineString geometry from u to v.
    mode
        The travel mode the network was built for.
    source
        What the network was read from, for reports.
    stats
        Counts from loading (missing node references dropped, ways kept, ...).
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    mode: TravelMode
    source: str
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.edges.crs is None or not self.edges.crs.is_projected:
            msg = "StreetNetwork needs edges in a projected CRS (metres)"
            raise ValueError(msg)

    @property
    def crs(self) -> pyproj.CRS:
        """The projected CRS of nodes and edges."""
        return self.edges.crs

    @property
    def total_length_m(self) -> float:
        """Total street length in metres."""
        return float(self.edges["length_m"].sum())


def load_network(source: Any, *, mode: str = "walk") -> StreetNetwork:
    """Load a street network from a file or an OSMnx graph.

    Parameters
    ----------
    source
        An OSM file (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``),
        an OSMnx GraphML file, or a ``networkx.MultiDiGraph`` made by OSMnx.
    mode
        A key of :data:`MODES`: which ways are kept and how one-way tags apply.

    Returns
    -------
    StreetNetwork
        Every connected piece is kept; nothing is dropped for being small.
    """
    travel = _mode(mode)
    if isinstance(source, nx.MultiDiGraph):
        return network_from_graph(source, mode=mode)
    path = Path(source)
    if not path.exists():
        msg = f"{path}: network file not found; give an OSM file (.osm, .osm.pbf, ...) or GraphML"
        raise MissingDataError(msg)
    name = path.name.lower()
    if name.endswith(GRAPHML_SUFFIXES):
        import osmnx as ox

        graph = ox.load_graphml(path)
        return network_from_graph(graph, mode=mode, source=str(path))
    if name.endswith(OSM_SUFFIXES):
        from ._osmread import read_osm_ways

        ways, coords, stats = read_osm_ways(path, osmnx_way_filter(travel.osmnx_network_type))
        return _network_from_ways(ways, coords, travel, source=str(path), stats=stats)
    msg = (
        f"{path}: unknown network file type; use an OSM file "
        f"({', '.join(OSM_SUFFIXES)}) or OSMnx GraphML (.graphml)"
    )
    raise InputError(msg)


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
    keep = osmnx_way_filter(travel.osmnx_network_type)
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
        (s["osmid"], s["tags"], [s["u"], s["v"]], s["geometry"], True, s["bwd"] or travel.bidirectional)
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
    uses = Counter()
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

    geoms = []
    for _, _, refs, geom, _, _ in segments:
        if geom is None:
            pts = np.array([coords[n] for n in refs], dtype=float)
            geoms.append(shapely.linestrings(np.column_stack(to_utm.transform(pts[:, 0], pts[:, 1]))))
        else:
            xy = shapely.get_coordinates(geom)
            geoms.append(shapely.linestrings(np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))))
    edges = gpd.GeoDataFrame(
        {
            "u": np.array([index[s[2][0]] for s in segments], dtype=np.int64),
            "v": np.array([index[s[2][-1]] for s in segments], dtype=np.int64),
            "osmid": np.array([s[0] for s in segments], dtype=np.int64),
            "highway": [_text(s[1].get("highway")) for s in segments],
            "name": [_text(s[1].get("name")) for s in segments],
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
    per_comp = edges.groupby("component")["length_m"].sum()
    stats = {
        **stats,
        "nodes": n,
        "edges": len(edges),
        "components": int(n_comp),
        "length_outside_largest_component_m": float(per_comp.sum() - per_comp.max()),
    }
    log.info(
        "network %s: %d nodes, %d street segments, %.1f km, %d connected pieces",
        source, n, len(edges), edges["length_m"].sum() / 1000, n_comp,
    )
    return StreetNetwork(nodes=nodes, edges=edges, mode=travel, source=source, stats=stats)


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
    for key in ("highway", "area", "access", "service", "foot", "bicycle", "name", "junction", "ref"):
        value = getattr(row, key, None)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            tags[key] = str(value)
    return tags

