"""The street-network model: travel modes, :class:`StreetNetwork`, and building one from
OSM ways or street segments.

Private; :mod:`stationplan.network` re-exports the public names. The readers in
:mod:`stationplan._read` build networks through :func:`network_from_ways` and
:func:`network_from_segments`, so this module sits below both the readers and the public
loader (which dispatches to the readers).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ._errors import InputError, MissingDataError
from ._lines import Vertices, vertices_of
from ._read.osmfilter import overpass_filter
from ._text import osm_text
from .area import Demand

if TYPE_CHECKING:
    from ._route import Routing

log = logging.getLogger("stationplan.network")  # the log of network building, as before the split

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
        Junctions and dead ends: columns ``osmid``, ``x``, ``y`` (metres, in the network's
        CRS); no geometry column (:meth:`node_points` makes one). Row position is the node
        index used by ``edges.u`` / ``edges.v``.
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
    carriageways
        Where one carriageway of a dual carriageway is counted on the other
        (:func:`~stationplan.carriageways.find_carriageway_pairs`), or ``None``.
    """

    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    mode: TravelMode
    source: str
    stats: dict[str, Any] = field(default_factory=dict)
    demand: Demand = field(default_factory=Demand)
    carriageways: Any = None

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

    def node_points(self) -> gpd.GeoDataFrame:
        """The nodes as a GeoDataFrame: their table with a Point of ``x``, ``y`` each, in
        the network's CRS (for writing them out or drawing them)."""
        return gpd.GeoDataFrame(self.nodes, geometry=gpd.points_from_xy(
            self.nodes["x"], self.nodes["y"]), crs=self.crs)

    @cached_property
    def edge_vertices(self) -> Vertices:
        """The vertices of the edges' lines: all in one array (x, y rows) and where each
        edge's begin, ``xy[starts[k]:starts[k + 1]]`` edge ``k``'s (:func:`vertices_of`
        the edges' geometry: read once and kept, as the routing arrays)."""
        return vertices_of(self.edges.geometry.to_numpy())

    @cached_property
    def _routing(self) -> Routing:
        """The routing arrays and reversed street graph (:mod:`stationplan._route`).

        Built on first use and kept on this object (the network is read-only), so every
        search reuses them and they are dropped with the network.
        """
        from ._route import build_routing  # on first use: routing loads numba

        return build_routing(self)

    @property
    def total_length_m(self) -> float:
        """Total street length in metres."""
        return float(self.edges["length_m"].sum())

    @property
    def demand_length_m(self) -> float:
        """Length of the streets that must be served, in metres."""
        if "demand" not in self.edges:
            return self.total_length_m
        paired = self.carriageways
        paired_m = 0.0 if paired is None else float((paired["end_m"] - paired["start_m"]).sum())
        return float(self.edges.loc[self.edges["demand"], "length_m"].sum()) - paired_m

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


def network_from_ways(
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
        # the way's own one-way direction relative to the segments (whatever the mode)
        along = 1 if one_way else oneway_sign(tags)
        start = 0
        for i in range(1, len(refs)):
            if uses[refs[i]] > 1 or i == len(refs) - 1:
                part = refs[start : i + 1]
                segments.append((way_id, tags, part, None, True, not one_way, along))
                start = i
    return network_from_segments(segments, coords, travel, source=source, stats=stats)


def network_from_segments(
    segments: list[tuple[Any, ...]],
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
    for _, _, refs, geom, *_ in segments:
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
            "highway": [osm_text(s[1].get("highway")) for s in segments],
            "name": [osm_text(s[1].get("name")) for s in segments],
            "road_class": [road_class(s[1]) for s in segments],
            "fwd": np.array([s[4] for s in segments], dtype=bool),
            "bwd": np.array([s[5] for s in segments], dtype=bool),
            # the tagged one-way direction (whatever the mode): 1 along u->v, -1 against
            "oneway": np.array([s[6] if len(s) > 6 else oneway_sign(s[1]) for s in segments],
                               dtype=np.int8),
            "ref": [osm_text(s[1].get("ref")) for s in segments],
            "junction": [osm_text(s[1].get("junction")) for s in segments],
            "dual_carriageway": np.array([s[1].get("dual_carriageway") == "yes"
                                         for s in segments], dtype=bool),
        },
        geometry=geoms,
        crs=crs,
    )
    return _assemble(edges, x, y, np.array(node_ids, dtype=np.int64), crs, travel,
                     source=source, stats=stats)


def network_from_arrays(
    node_xy: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    piece_xy: np.ndarray,
    piece_starts: np.ndarray,
    crs: Any,
    travel: TravelMode,
    *,
    osmid: np.ndarray,
    highway: np.ndarray,
    name: np.ndarray,
    fwd: np.ndarray,
    bwd: np.ndarray,
    oneway: np.ndarray,
    source: str,
    stats: dict[str, Any],
) -> StreetNetwork:
    """Assemble a network from arrays: what :func:`network_from_segments` makes from one
    tuple per segment, for millions of segments (no per-segment Python).

    Nodes are numbered ``1..len(node_xy)`` (``u``, ``v`` are 0-based rows of ``node_xy``);
    segment ``k`` has the vertices ``piece_xy[piece_starts[k]:piece_starts[k + 1]]``.
    Coordinates are in the projected CRS ``crs``, the network's. ``highway`` and ``name``
    are the columns of text or None (:func:`text_column`); no ref, junction or dual
    carriageway tags.
    """
    if len(u) == 0:
        msg = f"{source}: no streets for mode {travel.name!r} in this network"
        raise MissingDataError(msg)
    piece_xy = np.ascontiguousarray(piece_xy, dtype=float)
    piece_starts = np.asarray(piece_starts, dtype=np.int64)
    geoms = shapely.from_ragged_array(shapely.GeometryType.LINESTRING, piece_xy,
                                      (piece_starts,))
    codes, uniques = pd.factorize(highway)  # None: -1
    classes = text_column(np.where(codes < 0, len(uniques), codes),
                          [road_class({"highway": h}) for h in uniques] + [None])
    n_edges = len(u)
    edges = gpd.GeoDataFrame(
        {
            "u": np.asarray(u, dtype=np.int64),
            "v": np.asarray(v, dtype=np.int64),
            "osmid": np.asarray(osmid, dtype=np.int64),
            "highway": highway,
            "name": name,
            "road_class": classes,
            "fwd": np.asarray(fwd, dtype=bool),
            "bwd": np.asarray(bwd, dtype=bool),
            "oneway": np.asarray(oneway, dtype=np.int8),
            "ref": np.full(n_edges, None, dtype=object),
            "junction": np.full(n_edges, None, dtype=object),
            "dual_carriageway": np.zeros(n_edges, dtype=bool),
        },
        geometry=geoms,
        crs=crs,
    )
    network = _assemble(edges, node_xy[:, 0], node_xy[:, 1],
                        np.arange(1, len(node_xy) + 1, dtype=np.int64), crs,
                        travel, source=source, stats=stats)
    # the lines' vertices are these: kept, not read back from the lines (cached_property
    # keeps its value in the object's __dict__)
    if (np.diff(piece_starts) > 0).all():
        vars(network)["edge_vertices"] = (piece_xy, piece_starts)
    return network


def text_column(codes: np.ndarray, table: Any) -> Any:
    """The column pandas makes of the list ``[table[c] for c in codes]`` (text or None
    each), from the distinct values: no Python string per row.

    Examples
    --------
    >>> text_column(np.array([1, 0, 1, 2]), ["a", "b", None]).tolist()
    ['b', 'a', 'b', nan]
    >>> text_column(np.array([0, 0]), [None]).tolist()  # no text: an object column
    [None, None]
    """
    table = np.asarray(table, dtype=object)
    used = np.zeros(len(table), dtype=bool)
    used[codes] = True
    dtype = pd.Series(list(table[used])).dtype  # what pandas infers for these values
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa

        return pd.array(pa.array(table, type=pa.large_string()).take(codes), dtype=dtype)
    return table[codes]


def _assemble(
    edges: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, node_ids: np.ndarray, crs: Any,
    travel: TravelMode, *, source: str, stats: dict[str, Any],
) -> StreetNetwork:
    """Lengths, connected pieces and the nodes table of a network's edges."""
    from ._read.kernels import edge_components

    edges["length_m"] = edges.geometry.length.to_numpy()
    n = len(node_ids)
    u = edges["u"].to_numpy()
    n_comp, labels = edge_components(u, edges["v"].to_numpy(), n)
    edges["component"] = labels[u]
    # the nodes' places as numbers: a Point object per node would cost a fifth of a large
    # network's memory, and only a network file written out draws them (node_points)
    nodes = pd.DataFrame({"osmid": node_ids, "x": x, "y": y})
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
    if n_comp == 1:
        log.info("network %s: %d nodes, %d street segments, %.1f km, one connected piece",
                 source, n, len(edges), edges["length_m"].sum() / 1000)
    else:
        log.info("network %s: %d nodes, %d street segments, %.1f km, %d connected pieces "
                 "(islands kept: %d, %.1f km)", source, n, len(edges),
                 edges["length_m"].sum() / 1000, n_comp, n_comp - 1,
                 stats["length_outside_largest_component_m"] / 1000)
    return StreetNetwork(nodes=nodes, edges=edges, mode=travel, source=source, stats=stats)


def oneway_sign(tags: dict[str, str]) -> int:
    """The tagged one-way direction of a way relative to its node order, whatever the mode.

    1: travel along the node order only (``oneway=yes``, roundabouts); -1: against it
    (``oneway=-1``); 0: both ways.

    Examples
    --------
    >>> [oneway_sign(t) for t in ({"oneway": "yes"}, {"oneway": "-1"}, {}, {"oneway": "no"},
    ...                           {"junction": "roundabout"})]
    [1, -1, 0, 0, 1]
    """
    value = tags.get("oneway")
    if value in _ONEWAY_VALUES:
        return -1 if value in _REVERSED_VALUES else 1
    return 1 if tags.get("junction") in ("roundabout", "circular") and value != "no" else 0


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


def travel_mode(name: str) -> TravelMode:
    try:
        return MODES[name]
    except KeyError:
        msg = f"unknown mode {name!r}; choose one of {', '.join(sorted(MODES))}"
        raise InputError(msg) from None
