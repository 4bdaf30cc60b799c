"""Addresses of sites on the streets: the street, the nearest cross street, a landmark.

A site proposed at a street position has no name, so a field team could find it only on
the map. :func:`site_addresses` describes every site in words:

- ``street``: the name of the street it stands on; on an unnamed street, the nearest named
  street within ``street_m`` along the streets, else the road class ("无名支路");
- ``address``: the nearest intersection, along the streets, where a differently named
  street meets the site's street, with the distance along the streets and the compass
  direction from the intersection to the site: "建设路与雄石路交叉口东 80 米" ("Jianshe Lu
  at Xiongshi Lu, 80 m east"). When the site's street meets no named street within
  ``cross_m``, the nearest intersection of two named streets is used instead
  ("无名支路，建设路与雄石路交叉口东北 240 米");
- ``near``: the nearest named place (shop, amenity, building, stop, ...) or house address
  (``addr:street`` + ``addr:housenumber``) within ``near_m`` in a straight line, with its
  distance: "近 联华超市 30 米".

Distances are rounded to 10 m; a site less than 5 m from its intersection stands "at" it.
Named places come from the OSM file the network was read from (:func:`read_landmarks`);
other networks (centerline files) have none, and ``near`` stays empty.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _route
from ._errors import InputError
from ._i18n import WORDS, length_text, resolve_lang, text
from ._options import ADDRESS_CROSS_M, ADDRESS_NEAR_M, ADDRESS_STREET_M
from ._text import cell_text, distinct_texts
from .network import StreetNetwork

log = logging.getLogger(__name__)

ADDRESS_COLUMNS = ("street", "address", "near")
# Named objects with these keys are places a field team can look for; ``place`` nodes
# (suburbs, villages) are area labels, not spots, and are left out.
LANDMARK_KEYS = ("amenity", "shop", "office", "tourism", "leisure", "craft", "healthcare",
                 "historic", "building")
LANDMARK_STOPS = {"highway": ("bus_stop",), "railway": ("station", "halt", "tram_stop"),
                  "public_transport": ("station",)}
LANDMARK_COLUMNS = ("osm_type", "osmid", "name", "kind", "addr_street", "housenumber")
ROUND_M = 10.0
_DIRECTIONS = ("n", "ne", "e", "se", "s", "sw", "w", "nw")


def read_landmarks(
    osm_path: str | Path,
    *,
    within: StreetNetwork | None = None,
    margin_m: float = ADDRESS_NEAR_M,
) -> gpd.GeoDataFrame:
    """Named places and house addresses of an OSM file: what a field team can look for.

    Parameters
    ----------
    osm_path
        The OSM file (XML or PBF), read with the same reader as the host shops of
        :func:`~stationplan.candidates.osm_candidates`.
    within
        Keep only points inside this network's bounding box widened by ``margin_m``.
    margin_m
        Metres added around ``within``.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`LANDMARK_COLUMNS`: ``name`` (empty for a house address without one),
        ``kind`` ("key=value", empty for a bare address), ``addr_street``,
        ``housenumber``; Points in EPSG:4326.
    """
    from ._read.osm import read_osm_points

    bbox = None
    if within is not None:
        box = shapely.box(*within.edges.total_bounds).buffer(margin_m, join_style="mitre")
        bbox = tuple(gpd.GeoSeries([box], crs=within.crs).to_crs(4326).total_bounds.tolist())
    rows = read_osm_points(osm_path, landmark_texts, bbox=bbox)
    frame = pd.DataFrame(rows, columns=["osm_type", "osmid", "lon", "lat", *LANDMARK_COLUMNS[2:]])
    log.info("%s: %d named places and house addresses", Path(osm_path).name, len(frame))
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]),
                            geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)


def landmark_texts(tags: Any) -> tuple[str, ...] | None:
    """``(name, kind, addr_street, housenumber)`` of a landmark's OSM tags, or None.

    A landmark is a named object with one of :data:`LANDMARK_KEYS` (or a named stop), or
    an object with both ``addr:street`` and ``addr:housenumber``.

    >>> landmark_texts({"shop": "supermarket", "name": " 联华超市 "})
    ('联华超市', 'shop=supermarket', '', '')
    >>> landmark_texts({"addr:street": "建设路", "addr:housenumber": "12"})
    ('', '', '建设路', '12')
    >>> landmark_texts({"place": "quarter", "name": "花园社区"}) is None
    True
    """
    name = (tags.get("name") or "").strip()
    street = (tags.get("addr:street") or "").strip()
    number = (tags.get("addr:housenumber") or "").strip()
    kind = next((f"{k}={tags[k]}" for k in LANDMARK_KEYS if k in tags), "")
    if not kind:
        kind = next((f"{k}={tags[k]}" for k, values in LANDMARK_STOPS.items()
                     if k in tags and tags[k] in values), "")
    named = bool(name and kind)
    if not named and not (street and number):
        return None
    return (name if named else "", kind if named else "", street, number)


def site_addresses(
    network: StreetNetwork,
    sites: gpd.GeoDataFrame,
    *,
    lang: str | None = None,
    landmarks: gpd.GeoDataFrame | None = None,
    street_m: float = ADDRESS_STREET_M,
    cross_m: float = ADDRESS_CROSS_M,
    near_m: float = ADDRESS_NEAR_M,
) -> gpd.GeoDataFrame:
    """Describe where each site stands: its street, an address and a landmark near it.

    Parameters
    ----------
    network
        The street network the sites are snapped to.
    sites
        Sites on the network's edges (``edge_id``, ``offset_m`` from the edge's ``u``
        end), e.g. the proposals of :func:`~stationplan.siting.plan_sites`; a ``name``
        column (host proposals) keeps a landmark of the same name out of ``near``.
    lang
        "zh" or "en"; default: Chinese when a street name is Chinese.
    landmarks
        Named places and house addresses (:func:`read_landmarks`), or None: ``near`` empty.
    street_m
        An unnamed street takes the name of the nearest named street this far along the
        streets.
    cross_m
        The farthest intersection, along the streets, an address names; beyond it the
        address is the street alone.
    near_m
        The farthest landmark, in a straight line, ``near`` names.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``sites`` with ``street``, ``address`` and ``near`` (text, in ``lang``)
        after ``name`` (or at the end).
    """
    for label, value in (("street_m", street_m), ("cross_m", cross_m), ("near_m", near_m)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            msg = f"{label} must be a distance in metres (0 or more), got {value!r}"
            raise InputError(msg)
    missing = [c for c in ("edge_id", "offset_m") if c not in sites]
    if missing:
        msg = (f"sites need {' and '.join(missing)} (snap them to the network first, "
               "e.g. with snap_stations or the candidates' functions)")
        raise InputError(msg)
    edges = network.edges
    edge_id = sites["edge_id"].to_numpy(np.int64)
    bad = (edge_id < 0) | (edge_id >= len(edges))
    if bad.any():
        msg = f"site row {int(np.flatnonzero(bad)[0])}: edge_id is not an edge of the network"
        raise InputError(msg)
    lang = resolve_lang(lang, edges["name"].dropna().unique() if "name" in edges else ())
    offset = np.clip(sites["offset_m"].to_numpy(float), 0.0, edges["length_m"].to_numpy()[edge_id])
    names = StreetNames.of(network)
    street, address = _streets_and_addresses(network, names, edge_id, offset, lang,
                                             street_m=street_m, cross_m=max(cross_m, street_m))
    own = (sites["name"].map(cell_text).to_numpy(dtype=object) if "name" in sites
           else np.full(len(sites), "", dtype=object))
    near = _near(network, edge_id, offset, own, landmarks, lang, near_m=near_m)
    out = sites.drop(columns=[c for c in ADDRESS_COLUMNS if c in sites])
    at = list(out.columns).index("name") + 1 if "name" in out else len(out.columns)
    for i, (column, values) in enumerate((("street", street), ("address", address),
                                          ("near", near))):
        out.insert(min(at + i, len(out.columns)), column, values)
    log.info("addresses: %d sites, %d on unnamed streets, %d near a named place", len(sites),
             int((names.edge_name[edge_id] < 0).sum()), sum(1 for x in near if x))
    return out


# --- streets and intersections --------------------------------------------------------

@dataclass(frozen=True)
class StreetNames:
    """The street names of a network and the names meeting at each node.

    ``labels[i]`` is name ``i``; ``edge_name`` the name of each edge (-1: unnamed);
    ``node_names[ptr[n]:ptr[n + 1]]`` the names at node ``n``, longest street first
    (a well-known street is the better reference); ``crossings[i]`` the nodes where
    name ``i`` meets another name.
    """

    labels: list[str]
    edge_name: np.ndarray
    ptr: np.ndarray
    node_names: np.ndarray
    named_nodes: np.ndarray
    junctions: np.ndarray
    crossings: dict[int, np.ndarray]

    @classmethod
    def of(cls, network: StreetNetwork) -> StreetNames:
        edges = network.edges
        n = len(network.nodes)
        if "name" in edges:  # each name cleaned once, not once per edge
            unique, edge_name = distinct_texts(edges["name"], cell_text)
        else:
            unique, edge_name = np.array([""], dtype=object), np.zeros(len(edges), np.int64)
        labels: list[str] = [str(x) for x in unique]
        if labels and labels[0] == "":  # "" sorts first: unnamed
            labels, edge_name = labels[1:], edge_name - 1
        length = np.bincount(edge_name[edge_name >= 0],
                             weights=edges["length_m"].to_numpy()[edge_name >= 0],
                             minlength=len(labels))
        rank = np.empty(len(labels), dtype=np.int64)
        rank[np.lexsort((np.arange(len(labels)), -np.round(length, 3)))] = np.arange(len(labels))
        named = edge_name >= 0
        node = np.concatenate([edges["u"].to_numpy()[named], edges["v"].to_numpy()[named]])
        name = np.concatenate([edge_name[named], edge_name[named]])
        # per node its distinct names by rank: the rows of a graph node -> rank
        at_node = _route.csr_min(node, rank[name], np.zeros(len(node)), n)
        ptr = np.asarray(at_node.indptr, dtype=np.int64)
        count = np.diff(ptr)
        node, name = np.repeat(np.arange(n), count), np.argsort(rank)[at_node.indices]
        at_junction = count[node] >= 2
        order = np.argsort(name[at_junction], kind="stable")
        j_name, j_node = name[at_junction][order], node[at_junction][order]
        split = np.flatnonzero(np.diff(j_name)) + 1
        crossings = {int(group[0]): nodes for group, nodes in
                     zip(np.split(j_name, split), np.split(j_node, split), strict=True)
                     if len(group)}
        return cls(labels, edge_name, ptr, name, np.flatnonzero(count >= 1),
                   np.flatnonzero(count >= 2), crossings)

    def at(self, node: int) -> np.ndarray:
        """The names at ``node``, longest street first."""
        return self.node_names[self.ptr[node]:self.ptr[node + 1]]


def _streets_and_addresses(network: StreetNetwork, names: StreetNames, edge_id: np.ndarray,
                           offset: np.ndarray, lang: str, *, street_m: float, cross_m: float,
                           ) -> tuple[list[str], list[str]]:
    """The street and the address of each site, by one bounded search from each."""
    n, k = len(network.nodes), len(edge_id)
    streets: list[str] = []
    addresses: list[str] = []
    if k == 0:
        return streets, addresses
    # A field team walks: every street both ways, whatever its one-way rules.
    graph = _route.site_graph(network, edge_id, offset, kind="undirected")
    site_xy = shapely.get_coordinates(shapely.line_interpolate_point(
        network.edges.geometry.to_numpy()[edge_id], offset))
    node_xy = network.nodes[["x", "y"]].to_numpy(float)
    classes = network.edges["road_class" if "road_class" in network.edges else "highway"]
    for lo, hi, dist in _route.distance_blocks(graph, n + np.arange(k), limit_m=cross_m):
        for i in range(lo, hi):
            d = dist[i - lo, :n]
            sid = int(names.edge_name[edge_id[i]])
            if sid < 0:
                node, dd = nearest_node(d, names.named_nodes)
                if node >= 0 and dd <= street_m:
                    sid = int(names.at(node)[0])
            street = (names.labels[sid] if sid >= 0
                      else road_word(classes.iloc[int(edge_id[i])], lang))
            streets.append(street)
            addresses.append(_address(names, d, sid, street, node_xy, site_xy[i], lang))
    return streets, addresses


def _address(names: StreetNames, d: np.ndarray, sid: int, street: str, node_xy: np.ndarray,
             site_xy: np.ndarray, lang: str) -> str:
    """The address of one site from its distances to the nodes ``d``."""
    if sid >= 0:
        node, dd = nearest_node(d, names.crossings.get(sid, names.junctions[:0]))
        if node >= 0:
            cross = names.labels[int(next(x for x in names.at(node) if x != sid))]
            return _from_node("address.at", "address.cross", lang, dd, node_xy[node], site_xy,
                              street=street, cross=cross)
    node, dd = nearest_node(d, names.junctions)
    if node >= 0:
        a, b = (names.labels[int(x)] for x in names.at(node)[:2])
        return _from_node("address.off_at", "address.off", lang, dd, node_xy[node], site_xy,
                          street=street, a=a, b=b)
    return street


def _from_node(at_key: str, key: str, lang: str, dist_m: float, node_xy: np.ndarray,
               site_xy: np.ndarray, **fields: str) -> str:
    shown = rounded_m(dist_m)
    if shown == 0:
        return text(at_key, lang, **fields)
    dx, dy = site_xy - node_xy
    return text(key, lang, distance=length_text(shown, lang),
                direction=text(f"address.dir.{compass(float(dx), float(dy))}", lang), **fields)


def nearest_node(d: np.ndarray, nodes: np.ndarray) -> tuple[int, float]:
    """The node of ``nodes`` nearest by ``d`` and its distance, or (-1, inf) if none is
    reached; ties go to the lowest node number."""
    if len(nodes) == 0:
        return -1, math.inf
    j = int(np.argmin(d[nodes]))
    best = float(d[nodes[j]])
    return (int(nodes[j]), best) if math.isfinite(best) else (-1, math.inf)


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs ``(a[i], b[i])`` of two integer arrays, sorted, and each
    pair's number among them.

    The same as ``np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)``,
    sorting one integer key per pair instead of rows (much faster on millions).

    >>> pairs, number = unique_pairs(np.array([3, 1, 3, 1]), np.array([-2, 5, -2, 4]))
    >>> pairs.tolist(), number.tolist()
    ([[1, 4], [1, 5], [3, -2]], [2, 1, 2, 0])
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if not len(a):
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    a0, b0 = int(a.min()), int(b.min())
    width = int(b.max()) - b0 + 1
    if (int(a.max()) - a0 + 1) * width >= 2**62:  # no room for one key: rows, slower
        rows, number = np.unique(np.column_stack([a, b]), axis=0, return_inverse=True)
        return rows, number.ravel()
    key, _, number = sorted_unique((a - a0) * width + (b - b0))
    hi, lo = np.divmod(key, width)
    return np.column_stack([hi + a0, lo + b0]), number


def sorted_unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_index=True, return_inverse=True)`` of an integer array,
    by one stable sort (numpy's own is several times slower on millions).

    Returns
    -------
    unique
        The distinct values, ascending.
    first
        Each distinct value's first position in ``values``.
    inverse
        Each value's position in ``unique`` (int64).

    Examples
    --------
    >>> [x.tolist() for x in sorted_unique(np.array([7, -1, 7, 3, -1]))]
    [[-1, 3, 7], [1, 3, 0], [2, 0, 2, 1, 0]]
    """
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.empty(len(values), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], order[new], inverse


def compass(dx_m: float, dy_m: float) -> str:
    """The 8-point compass direction of a step east ``dx_m`` and north ``dy_m``.

    Each point covers 45°; a step on a boundary goes clockwise (22.5° is north-east).

    >>> compass(80, 0), compass(0, -5), compass(-3, 3), compass(0, 0)
    ('e', 's', 'nw', 'n')
    >>> compass(10, 24.2), compass(10, 24.1)
    ('n', 'ne')
    """
    bearing = math.degrees(math.atan2(dx_m, dy_m)) % 360
    return _DIRECTIONS[int(((bearing + 22.5) % 360) // 45)]


def rounded_m(metres: float) -> float:
    """A distance for people: to the nearest :data:`ROUND_M` metres, halves up.

    >>> rounded_m(84.9), rounded_m(85.0), rounded_m(4.99), rounded_m(1234.0)
    (80.0, 90.0, 0.0, 1230.0)
    """
    return ROUND_M * math.floor(metres / ROUND_M + 0.5)


def road_word(road_class: Any, lang: str) -> str:
    """An unnamed street named by its road class: "无名支路", "unnamed alley".

    A class without a word (a centerline file's own, such as 街巷) is used as it is.

    >>> road_word("tertiary", "zh"), road_word("service:alley", "en")
    ('无名支路', 'unnamed alley')
    >>> road_word("primary_link", "zh"), road_word("街巷", "zh"), road_word(None, "en")
    ('无名匝道', '无名街巷', 'unnamed road')
    """
    value = cell_text(road_class).split(";")[0].strip()
    words = WORDS[lang]
    if value.endswith("_link"):
        value = "link"
    for key in (f"road.{value}", f"road.{value.split(':')[0]}"):
        if key in words:
            return text("address.unnamed", lang, road=words[key])
    road = value if value and value not in ("unknown", "yes") else words["road.road"]
    return text("address.unnamed", lang, road=road)


# --- landmarks --------------------------------------------------------------------------

def _near(network: StreetNetwork, edge_id: np.ndarray, offset: np.ndarray, own: np.ndarray,
          landmarks: gpd.GeoDataFrame | None, lang: str, *, near_m: float) -> list[str]:
    """The nearest landmark within ``near_m`` of each site (not the site's own host)."""
    out = [""] * len(edge_id)
    if landmarks is None or landmarks.empty or not len(edge_id):
        return out
    if landmarks.crs is None:
        msg = "landmarks have no CRS; set it, e.g. .set_crs(4326)"
        raise InputError(msg)
    points = landmarks.to_crs(network.crs).geometry.to_numpy()
    # A frame made by hand may have only some of the columns (``name``, say).
    cells = [landmarks[c].map(cell_text).tolist() if c in landmarks else [""] * len(landmarks)
             for c in LANDMARK_COLUMNS[2:]]
    labels = np.array([landmark_label(name, kind, street, number, lang) for name, kind, street,
                       number in zip(*cells, strict=True)], dtype=object)
    usable = labels != ""
    points, labels = points[usable], labels[usable]
    sites = shapely.line_interpolate_point(network.edges.geometry.to_numpy()[edge_id], offset)
    si, li = shapely.STRtree(points).query(sites, predicate="dwithin", distance=near_m)
    dist = shapely.distance(sites[si], points[li])
    keep = labels[li] != own[si]
    si, li, dist = si[keep], li[keep], dist[keep]
    order = np.lexsort((li, dist, si))
    si, li, dist = si[order], li[order], dist[order]
    first = np.unique(si, return_index=True)[1]
    for s, m, dd in zip(si[first], li[first], dist[first], strict=True):
        shown = rounded_m(float(dd))
        out[int(s)] = (text("address.near_at", lang, name=labels[m]) if shown == 0 else
                       text("address.near", lang, name=labels[m],
                            distance=length_text(shown, lang)))
    return out


def landmark_label(name: str, kind: str, street: str, number: str, lang: str) -> str:
    """What a landmark is called: its name, else its house address (else empty).

    >>> landmark_label("联华超市", "shop=supermarket", "建设路", "12", "zh")
    '联华超市'
    >>> landmark_label("", "", "建设路", "12", "zh"), landmark_label("", "", "建设路", "3号", "zh")
    ('建设路12号', '建设路3号')
    >>> landmark_label("", "", "Main Street", "12", "en")
    'Main Street 12'
    """
    if name:
        return name
    if not (street and number):
        return ""
    key = "address.house_no" if number[-1:].isdigit() else "address.house"
    return text(key, lang, street=street, number=number)
