"""Read street ways from OSM files (pyosmium) and Overpass JSON into one plain form.

Both readers give ``(way_id, tags, node_ids)`` triples and ``node_id -> (lon, lat)``, and
share one rule for nodes that are not there (outside a clipped extract, outside the area
being read): the way is split at the hole, since joining across it would invent a
straight street, and fragments of one node go. A file and a download of the same area
therefore give the same ways.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import osmium
import shapely

from .._errors import InputError, MissingDataError
from .osmfilter import Tags, TagTest

log = logging.getLogger(__name__)

# Tags kept per way: what the mode filters test, what edges show, and road-class subtags.
_KEEP_TAGS = (
    "highway", "name", "oneway", "junction", "ref", "service", "access", "area", "foot",
    "bicycle", "footway", "sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right",
    "motor_vehicle", "motorcar", "dual_carriageway",
)

Ways = list[tuple[int, dict[str, str], list[int]]]
Coords = dict[int, tuple[float, float]]
# What a point reader keeps of an object's tags: a tuple of texts, or None to skip it.
Pick = Callable[[Tags], tuple[str, ...] | None]
PointRows = list[tuple[Any, ...]]


class _Collector:
    """Accumulate kept ways and their node positions, splitting at absent nodes."""

    def __init__(self, keep: TagTest) -> None:
        self.keep = keep
        self.ways: Ways = []
        self.coords: Coords = {}
        self.seen: set[int] = set()
        self.n_highway = 0
        self.absent_refs = 0
        self.split_ways = 0
        self.fragments = 0

    def add(self, way_id: int, tags: Tags, nodes: Iterable[tuple[int, Any]]) -> None:
        """Add one way; ``nodes`` yields ``(node_id, (lon, lat) or None)``."""
        if "highway" not in tags or way_id in self.seen:
            return
        self.seen.add(way_id)  # Overpass repeats ways that cross sub-query borders
        self.n_highway += 1
        kept = {k: tags[k] for k in _KEEP_TAGS if k in tags}
        if not self.keep(kept):
            return
        runs: list[list[int]] = [[]]
        for ref, lonlat in nodes:
            if lonlat is None:
                self.absent_refs += 1
                if runs[-1]:
                    runs.append([])
                continue
            if runs[-1] and runs[-1][-1] == ref:
                continue  # repeated node
            self.coords[ref] = lonlat
            runs[-1].append(ref)
        long_runs = [r for r in runs if len(r) >= 2]
        self.fragments += sum(1 for r in runs if len(r) == 1)
        if len(long_runs) > 1:
            self.split_ways += 1
        self.ways.extend((way_id, kept, r) for r in long_runs)

    def stats(self, absent: str) -> dict[str, Any]:
        return {
            "highway_ways_in_source": self.n_highway,
            "ways_kept": len({w[0] for w in self.ways}),
            f"{absent}_node_refs_dropped": self.absent_refs,
            f"ways_split_at_{absent}_nodes": self.split_ways,
            "single_node_fragments_dropped": self.fragments,
        }


def read_osm_ways(
    path: Path,
    keep: TagTest,
    *,
    clip: shapely.Geometry | None = None,
) -> tuple[Ways, Coords, dict[str, Any]]:
    """Read the ways that ``keep`` accepts, with the lon/lat of their nodes.

    Without ``clip`` the whole file is read in one pass. With ``clip`` (a lon/lat polygon)
    only nodes inside it are kept, in two passes whose memory grows with the clipped area,
    not with the file: first the nodes inside the polygon's bounding box, then the highway
    ways (filtered in C++), so a province-wide ``.osm.pbf`` can be read for one city.

    Parameters
    ----------
    path
        OSM XML (optionally .bz2/.gz) or PBF file.
    keep
        Predicate on a way's tags.
    clip
        Keep only nodes strictly inside this lon/lat (Multi)Polygon.

    Returns
    -------
    ways
        ``(way_id, tags, node_ids)`` for each kept way or way fragment.
    coords
        ``node_id -> (lon, lat)`` for every node used.
    stats
        Counts of what was read and dropped.
    """
    path = Path(path)
    collector = _Collector(keep)
    try:
        if clip is None:
            _read_whole(path, collector)
        else:
            _read_clipped(path, collector, clip)
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OSM file ({exc}); is it a valid .osm/.osm.pbf?"
        raise InputError(msg) from exc
    if clip is not None and not collector.ways:
        msg = (f"{path}: no streets inside the planning area plus margin; "
               "does the area lie in the file's region?")
        raise MissingDataError(msg)
    if collector.n_highway == 0:
        msg = f"{path}: the file contains no highway ways; is it the right area?"
        raise MissingDataError(msg)
    if clip is None:
        stats = collector.stats("missing")
        if collector.absent_refs:
            log.warning(
                "%s: %d node references point outside the file (clipped extract); dropped "
                "them, split %d ways at the holes and dropped %d one-node fragments",
                path.name, collector.absent_refs, collector.split_ways, collector.fragments,
            )
    else:
        stats = collector.stats("outside_area")
    key = "highway_ways_in_file" if clip is None else "highway_ways_in_area"
    stats[key] = stats.pop("highway_ways_in_source")
    return collector.ways, collector.coords, stats


def _read_whole(path: Path, collector: _Collector) -> None:
    processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
    for obj in processor.with_locations():
        if isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
            collector.add(obj.id, obj.tags, _located(obj.nodes))


def _located(nodes: Any) -> Iterable[tuple[int, tuple[float, float] | None]]:
    for ref in nodes:
        loc = ref.location
        yield ref.ref, ((loc.lon, loc.lat) if loc.valid() else None)


def _read_clipped(path: Path, collector: _Collector, clip: shapely.Geometry) -> None:
    # Pass 1: nodes in the bounding box (the only per-node Python work), then the polygon.
    west, south, east, north = shapely.bounds(clip).tolist()
    ids, lons, lats = array("q"), array("d"), array("d")
    n_nodes = 0
    # the NODE filter yields only nodes; cast once rather than check every node
    for node in cast("Iterable[osmium.osm.Node]", osmium.FileProcessor(str(path), osmium.osm.NODE)):
        n_nodes += 1
        loc = node.location
        lon, lat = loc.lon, loc.lat
        if west < lon < east and south < lat < north:
            ids.append(node.id)
            lons.append(lon)
            lats.append(lat)
    x, y = np.frombuffer(lons), np.frombuffer(lats)
    inside = shapely.contains_xy(clip, x, y) if len(ids) else np.zeros(0, dtype=bool)
    inside_ids = np.frombuffer(ids, dtype=np.int64)[inside].tolist()
    where = dict(zip(inside_ids, zip(x[inside].tolist(), y[inside].tolist(), strict=True),
                     strict=True))
    del ids, lons, lats, x, y
    log.info("%s: %d of %d nodes lie in the area read", path.name, len(where), n_nodes)
    # Pass 2: libosmium hands over only highway ways that use one of those nodes.
    tracker = osmium.IdTracker()
    for node_id in inside_ids:
        tracker.add_node(node_id)
    ways = osmium.FileProcessor(str(path), osmium.osm.WAY)
    ways = ways.with_filter(osmium.filter.KeyFilter("highway"))
    ways = ways.with_filter(tracker.contains_filter())
    for way in cast("Iterable[osmium.osm.Way]", ways):  # the WAY filter yields only ways
        collector.add(way.id, way.tags, ((r.ref, where.get(r.ref)) for r in way.nodes))


def ways_from_overpass(
    responses: Iterable[Mapping[str, Any]],
    keep: TagTest,
    *,
    clip: shapely.Geometry | None = None,
    source: str = "Overpass response",
) -> tuple[Ways, Coords, dict[str, Any]]:
    """Turn Overpass JSON responses (``way[...]; >; out;``) into the file reader's form.

    Parameters
    ----------
    responses
        Parsed Overpass JSON documents with ``elements``.
    keep
        Predicate on a way's tags (the mode filter; Overpass applied it already).
    clip
        Keep only nodes strictly inside this lon/lat (Multi)Polygon, as the file reader does.
    source
        Name used in messages.

    Returns
    -------
    ways, coords, stats
        As :func:`read_osm_ways`.

    Examples
    --------
    >>> doc = {"elements": [
    ...     {"type": "node", "id": 1, "lon": 114.0, "lat": 38.0},
    ...     {"type": "node", "id": 2, "lon": 114.001, "lat": 38.0},
    ...     {"type": "way", "id": 9, "nodes": [1, 2, 3], "tags": {"highway": "residential"}}]}
    >>> ways, coords, stats = ways_from_overpass([doc], lambda tags: True)
    >>> ways, stats["missing_node_refs_dropped"]
    ([(9, {'highway': 'residential'}, [1, 2])], 1)
    """
    nodes: Coords = {}
    way_elements = []
    for doc in responses:
        for el in doc.get("elements", []):
            if el.get("type") == "node":
                nodes[int(el["id"])] = (float(el["lon"]), float(el["lat"]))
            elif el.get("type") == "way":
                way_elements.append(el)
    if clip is not None and nodes:
        ids = np.fromiter(nodes, dtype=np.int64, count=len(nodes))
        xy = np.array(list(nodes.values()), dtype=float)
        inside = shapely.contains_xy(clip, xy[:, 0], xy[:, 1])
        nodes = {int(i): nodes[int(i)] for i in ids[inside]}
    collector = _Collector(keep)
    for el in way_elements:
        collector.add(int(el["id"]), el.get("tags", {}),
                      ((int(r), nodes.get(int(r))) for r in el.get("nodes", [])))
    if collector.n_highway == 0 or not collector.ways:
        msg = f"{source}: the download contains no streets for this mode; is the area right?"
        raise MissingDataError(msg)
    return collector.ways, collector.coords, collector.stats("missing" if clip is None else
                                                             "outside_area")


def read_osm_points(
    path: str | Path,
    pick: Pick,
    *,
    bbox: tuple[float, float, float, float] | None = None,
) -> PointRows:
    """Read the nodes and ways of an OSM file whose tags ``pick`` accepts, as points.

    A way stands at the mean of its nodes' positions (a shop mapped as a building
    outline, say); relations are not read.

    Parameters
    ----------
    path
        OSM XML (optionally .bz2/.gz) or PBF file.
    pick
        Called with each node's and way's tags: the texts to keep, or ``None`` to skip it.
    bbox
        ``(west, south, east, north)`` in degrees: keep only points inside.

    Returns
    -------
    list of tuple
        ``(osm_type, osmid, lon, lat, *picked)`` per point, ``osm_type`` "node" or
        "way", sorted by ``osm_type`` and ``osmid``.
    """
    rows: PointRows = []
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        for obj in processor.with_locations():
            picked = pick(obj.tags)
            if picked is None:
                continue
            if isinstance(obj, osmium.osm.Node):
                if not obj.location.valid():
                    continue
                lon, lat = obj.location.lon, obj.location.lat
            elif isinstance(obj, osmium.osm.Way):
                xy = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
                if not xy:
                    continue
                lon, lat = (float(c) for c in np.mean(xy, axis=0))
            else:
                continue
            if bbox is not None and not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
                continue
            rows.append(("node" if obj.is_node() else "way", obj.id, lon, lat, *picked))
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OSM file ({exc}); is it a valid .osm/.osm.pbf?"
        raise InputError(msg) from exc
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


# Land use and place kinds that mark built-up land (see stationplan.area.built_up_area).
BUILT_UP_LANDUSE = ("residential", "commercial", "retail")
BUILT_UP_PLACE = ("suburb", "quarter", "neighbourhood", "city_block", "plot")
# Name tags an administrative boundary is looked up by.
BOUNDARY_NAME_TAGS = ("name", "name:zh", "name:zh-Hans", "name:zh-Hant", "name:en", "official_name")


@dataclass(frozen=True)
class Boundary:
    """An administrative boundary relation of an OSM file.

    ``geometry`` is its lon/lat (Multi)Polygon, or ``None`` when the file does not hold
    every member way (an extract cut at its bounding box), so its rings do not close.
    """

    osmid: int
    names: tuple[str, ...]
    admin_level: str | None
    geometry: Any


@dataclass(frozen=True)
class OsmAreas:
    """The polygons of an OSM file that tell built-up land and planning boundaries.

    ``built_up`` holds ``(kind, lon/lat polygon)`` for land use of
    :data:`BUILT_UP_LANDUSE` (kind ``landuse=residential`` ...) and place polygons of
    :data:`BUILT_UP_PLACE`; ``buildings`` the building footprints; ``boundaries`` every
    ``boundary=administrative`` relation, complete or not.
    """

    built_up: list[tuple[str, Any]]
    buildings: list[Any]
    boundaries: list[Boundary]


def read_osm_areas(path: str | Path) -> OsmAreas:
    """Read built-up land use, place polygons, buildings and administrative boundaries.

    Multipolygons are assembled by libosmium; a relation whose member ways are not all in
    the file gives no polygon (its :class:`Boundary` has ``geometry=None``), never a
    ring closed by a guess.

    Parameters
    ----------
    path
        OSM XML (optionally .bz2/.gz) or PBF file.

    Returns
    -------
    OsmAreas
    """
    handler = _AreaHandler()
    try:
        handler.apply_file(str(path), locations=True)
    except RuntimeError as exc:
        msg = f"{path}: cannot read as an OSM file ({exc}); is it a valid .osm/.osm.pbf?"
        raise InputError(msg) from exc
    boundaries = [
        Boundary(rid, names, level, handler.assembled.get(rid))
        for rid, (names, level) in sorted(handler.relations.items())
    ]
    return OsmAreas(handler.built_up, handler.buildings, boundaries)


class _AreaHandler(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.wkb = osmium.geom.WKBFactory()
        self.built_up: list[tuple[str, Any]] = []
        self.buildings: list[Any] = []
        self.relations: dict[int, tuple[tuple[str, ...], str | None]] = {}
        self.assembled: dict[int, Any] = {}

    def relation(self, rel: Any) -> None:
        tags = rel.tags
        if tags.get("boundary") == "administrative":
            names = tuple(dict.fromkeys(
                n.strip() for k in BOUNDARY_NAME_TAGS for n in tags.get(k, "").split(";")
                if n.strip()))
            self.relations[rel.id] = (names, tags.get("admin_level"))

    def area(self, area: Any) -> None:
        tags = area.tags
        landuse, place = tags.get("landuse"), tags.get("place")
        building = tags.get("building", "no") != "no"
        boundary = not area.from_way() and tags.get("boundary") == "administrative"
        kind = (f"landuse={landuse}" if landuse in BUILT_UP_LANDUSE else
                f"place={place}" if place in BUILT_UP_PLACE else None)
        if kind is None and not building and not boundary:
            return
        try:
            geom = shapely.from_wkb(self.wkb.create_multipolygon(area))
        except RuntimeError:  # an invalid ring libosmium could not turn into a polygon
            return
        if boundary:
            self.assembled[area.orig_id()] = geom
        if kind is not None:
            self.built_up.append((kind, geom))
        if building:
            self.buildings.append(geom)
