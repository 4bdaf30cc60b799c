"""Gaps: uncovered street pieces as runs along one street, and the areas they make.

A field team acts on a stretch of one street: "建设路 from 人民路 to 解放路, 1.3 km, its
farthest point 820 m from the nearest station". :func:`find_gaps` chains the gap pieces
of a coverage into such **runs**:

- pieces that touch inside an edge (where the nearest station changes) are one run;
- at a junction, pieces continue as one run when they belong to the same street (the
  same name; unnamed streets: the same road class) and the junction is not a **major
  junction** for that street. A junction is major when another named street meets
  there. So a named street splits wherever another named street meets it, not where an
  unnamed road does (its ends could only be told by the named streets around it);
- a run stops where its street's name or (unnamed) class changes;
- a run no longer than :data:`BOX_M` with both ends at one cross street lies inside the
  crossing of a dual-carriageway street: it joins the longest run of its street it
  touches.

Each run is described from its two ends by the **cross streets** there: at an end, the
nearest junction along the streets (walking both ways, one-way rules aside) where a
differently named street meets the run's street (for an unnamed run: where any named
street is), with the distance to it (0 when the run ends at that junction). Every gap
piece is in exactly one run, so the runs' lengths add up to the coverage's ``gap_m``.

Runs that touch each other make a **gap area** (:func:`gap_areas`): the connected
clusters of gap pieces, a secondary summary of where uncovered streets lump together.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely

from . import _route
from ._errors import InputError
from ._i18n import WORDS, resolve_lang
from ._lines import points_at
from ._options import ADDRESS_CROSS_M
from ._read.kernels import points_along
from ._text import distinct_texts
from .addresses import StreetNames, road_word, sorted_unique, unique_pairs
from .chinacrs import amap_marker_urls
from .coverage import Coverage, CoverageRule, station_distances, station_sites
from .network import StreetNetwork

log = logging.getLogger(__name__)

__all__ = ["AREA_COLUMNS", "BOX_M", "GAP_COLUMNS", "find_gaps", "gap_areas"]

_MAX_NAMES = 8  # street names listed per gap area
# A run this long or shorter with both ends at one cross street lies inside the crossing
# of a dual-carriageway street (two carriageways up to 40 m apart, and their slip lanes).
BOX_M = 80.0

GAP_COLUMNS = ("gap_id", "street", "named", "from_street", "from_m", "to_street", "to_m",
               "length_m", "pieces", "farthest_m", "farthest_more_than_m", "farthest_lon",
               "farthest_lat", "amap_url", "area_id", "component", "point_lon", "point_lat")
AREA_COLUMNS = ("area_id", "length_m", "runs", "pieces", "streets", "farthest_m",
                "farthest_more_than_m", "farthest_lon", "farthest_lat", "component",
                "point_lon", "point_lat")


def find_gaps(coverage: Coverage, *, search_limit_m: float | None = None,
              lang: str | None = None) -> gpd.GeoDataFrame:
    """Chain the gap pieces of a coverage into runs along one street, longest first.

    Each run also says how far its farthest point is from the nearest station, along
    the streets and in the travel direction of :func:`~stationplan.compute_coverage`
    (from the point to the station). That takes one more search, bounded at
    ``search_limit_m``; a run with a point farther than that (or with no way to any
    station at all) is only said to be "more than ``search_limit_m``" away.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    search_limit_m
        How far to search for the farthest distances, in metres; default three times
        the rule's limit (``coverage.rule.limit_m``).
    lang
        "zh" or "en" for the words naming unnamed streets ("无名支路") and the map links;
        default: Chinese when a street name is Chinese.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per run in the network CRS (:data:`GAP_COLUMNS`), sorted by length
        (longest first, ties: farther first): ``gap_id`` (1 = longest), ``street``
        (its name; unnamed: the road-class word), ``named``, ``from_street`` /
        ``to_street`` (the cross streets at its two ends, west end first; empty when
        no named street is within 3 km) with ``from_m`` / ``to_m`` (metres along the
        streets from the end to that junction, 0 at it; NaN when empty), ``length_m``,
        ``pieces``, ``farthest_m`` (metres from the run's farthest point to its
        nearest station; NaN when that is beyond the search), ``farthest_more_than_m``
        (``search_limit_m`` when some point is farther than that, else NaN: exactly one
        of the two is set), ``farthest_lon`` / ``farthest_lat`` (WGS-84; NaN when
        beyond the search), ``amap_url`` (an Amap marker link to the farthest point,
        or to ``point_lon`` / ``point_lat`` when that is beyond the search),
        ``area_id`` (the gap area of :func:`gap_areas` it lies in), ``component``,
        ``point_lon`` / ``point_lat`` (WGS-84: the middle of its longest piece) and a
        LineString (one path, from the ``from`` end) or MultiLineString geometry.
    """
    search = _search_m(coverage.rule, search_limit_m)
    network = coverage.network
    crs = network.crs
    edges = network.edges
    lang = resolve_lang(lang, edges["name"].dropna().unique()  # the names: only to pick it
                        if lang is None and "name" in edges else ())
    pieces = coverage.pieces
    gap = np.flatnonzero((pieces["status"] == "gap").to_numpy())  # their columns only
    if not len(gap):
        return gpd.GeoDataFrame(columns=[*GAP_COLUMNS, "geometry"], geometry="geometry",
                                crs=crs)
    edge, start_m, end_m, length, component = (
        pieces[c].to_numpy()[gap] for c in ("edge_id", "start_m", "end_m", "length_m",
                                            "component"))
    geoms = pieces.geometry.to_numpy()[gap]
    # the pieces' vertices, read once: piece i's are xy[xy_at[i]:xy_at[i + 1]]
    n_xy = shapely.get_num_coordinates(geoms)
    xy, xy_at = shapely.get_coordinates(geoms), np.r_[0, np.cumsum(n_xy)]
    names = StreetNames.of(network)
    classes = edges["road_class" if "road_class" in edges else "highway"]
    a, b, n_points = _piece_ends(network, edge, start_m, end_m)
    street = _street_keys(names, classes)
    run = _runs(network, names, street, edge, a, b, n_points)
    area = _components(a, b, n_points)
    far_m, far_at_m = _farthest(coverage, edge, start_m, end_m, search_m=search)
    # the pieces' ends: starts, then ends (their edge, metres from its u end, xy)
    end_xy = _ends(xy, n_xy)
    end_edge = np.concatenate([edge, edge])
    end_pos = np.concatenate([start_m, end_m])
    ends = _run_ends(run, a, b, end_xy)
    cross, cross_m = _cross_streets(network, names, end_edge[ends], end_pos[ends])
    n_runs = len(ends)
    run = _merge_boxes(run, cross, cross_m, length, street[edge], a, b)
    if int(run.max()) + 1 < n_runs:  # some merged (runs are numbered 0, 1, ...): new ends
        ends = _run_ends(run, a, b, end_xy)
        cross, cross_m = _cross_streets(network, names, end_edge[ends], end_pos[ends])
    del end_edge, end_pos, a, b  # (a million pieces' temporaries: freed as they end)
    # per run, its pieces in their order: positions starts[r]:starts[r + 1] of by_run
    by_run = np.argsort(run, kind="stable")
    group = run[by_run]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    first = by_run[starts]
    sid = names.edge_name[edge[first]]
    far = far_m[by_run]
    beyond = np.logical_or.reduceat(far > search, starts)
    # per run, the point of its farthest piece (none beyond the search) and the middle
    # of its longest piece, in WGS-84
    top = by_run[_first_largest(far, group, starts)]
    known = np.isfinite(far_m[top])
    lines = network.edges.geometry.to_numpy()
    longest = by_run[_first_largest(length[by_run], group, starts)]
    mid = np.zeros(len(geoms), dtype=np.int64)  # one point: on each run's longest piece
    mid[longest] = 1
    mid_m = np.zeros(len(geoms))
    mid_m[longest] = shapely.length(geoms[longest])
    pts = np.concatenate([  # shapely.line_interpolate_point's, as coordinates
        points_at(lines, far_at_m[top[known]], rows=edge[top[known]],
                  vertices=network.edge_vertices),
        points_along(xy, xy_at, mid_m, mid)[np.cumsum(mid)[longest] - 1]])  # (by piece)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(
        pts[:, 0], pts[:, 1])  # as GeoSeries.to_crs, without geometries
    del pts, mid, mid_m, far_m, far_at_m
    n_known = int(known.sum())
    at_xy = np.full((len(top), 2), np.nan)
    at_xy[known] = np.column_stack([lon[:n_known], lat[:n_known]])
    point_xy = np.column_stack([lon[n_known:], lat[n_known:]])
    from_xy = np.take(end_xy, ends[:, 0], axis=0)
    del end_xy
    # the street's text: its name, else its road class's word (each class's once)
    class_code, class_of = pd.factorize(classes.array[edge[first][sid < 0]],
                                        use_na_sentinel=False)
    street_text = np.full(len(sid), len(names.labels), dtype=np.int64)
    street_text[sid >= 0] = sid[sid >= 0]
    street_text[sid < 0] += class_code
    length_m = np.add.reduceat(length[by_run], starts)
    farthest_m = np.where(beyond, np.nan, np.maximum.reduceat(far, starts))
    # Longest first; lengths equal to the millimetre are a tie, which the farther run
    # wins, then the run found first. The columns are put in that order once.
    order = np.lexsort((-np.where(np.isnan(farthest_m), np.inf, farthest_m),
                        -np.round(length_m, 3)))
    length_m, farthest_m = length_m[order], farthest_m[order]
    beyond, first = beyond[order], first[order]
    # (np.take: rows of two columns gathered several times faster than by indexing)
    at_xy, point_xy, cross, cross_m = (np.take(x, order, axis=0)
                                       for x in (at_xy, point_xy, cross, cross_m))
    run_street = _texts([*names.labels, *(road_word(c, lang) for c in class_of)],
                        street_text[order])
    gap_id = np.arange(1, len(order) + 1)
    # gap areas: largest first, as the runs
    area_label = area[first]
    area_len = pd.Series(length_m).groupby(area_label).sum()
    area_keys = area_len.index.to_numpy()
    area_order = area_keys[np.lexsort((area_keys,
                                       -_round_like_python(area_len.to_numpy(), 6)))]
    area_id = np.zeros(int(area_label.max()) + 1, dtype=np.int64)
    area_id[area_order.astype(np.int64)] = np.arange(1, len(area_order) + 1)
    far_lon = np.where(beyond, np.nan, at_xy[:, 0])
    far_lat = np.where(beyond, np.nan, at_xy[:, 1])
    known = np.isfinite(far_lon)
    out = gpd.GeoDataFrame({  # one frame, made once from the columns, none copied
        "gap_id": gap_id,
        "street": run_street,
        "named": sid[order] >= 0,
        "from_street": _texts([*names.labels, ""], cross[:, 0]), "from_m": cross_m[:, 0],
        "to_street": _texts([*names.labels, ""], cross[:, 1]), "to_m": cross_m[:, 1],
        "length_m": length_m,
        "pieces": np.diff(np.r_[starts, len(by_run)])[order],
        "farthest_m": farthest_m,
        "farthest_more_than_m": np.where(beyond, search, np.nan),
        "farthest_lon": far_lon,
        "farthest_lat": far_lat,
        "amap_url": amap_marker_urls(  # to the farthest point, else the run's middle
            np.where(known, far_lon, point_xy[:, 0]), np.where(known, far_lat, point_xy[:, 1]),
            WORDS[lang]["gap.link_name"], fields={"gap_id": gap_id, "street": run_street}),
        "area_id": area_id[area_label],
        "component": component[first].astype(np.int64),
        "point_lon": point_xy[:, 0],
        "point_lat": point_xy[:, 1],
        "geometry": _run_lines(geoms, xy, xy_at, by_run, group, from_xy, order),
    }, geometry="geometry", crs=crs, copy=False)  # (not stacked into blocks: not copied)
    log.debug("%d gap runs in %d gap areas, %.1f km in all; %d with a point more than "
              "%.0f m from every station", len(out), len(area_order),
              out["length_m"].sum() / 1000, int(out["farthest_more_than_m"].notna().sum()),
              search)
    return out


def gap_areas(gaps: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Sum the gap runs of :func:`find_gaps` by the gap area they lie in.

    A gap area is a connected cluster of gap pieces (touching at a junction or end to
    end): where uncovered streets lump together, a secondary view beside the runs.

    Parameters
    ----------
    gaps
        Result of :func:`find_gaps`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area (:data:`AREA_COLUMNS`), largest first, in ``gaps``' CRS:
        ``area_id`` (1 = largest), ``length_m``, ``runs``, ``pieces``, ``streets``
        (up to 8 named streets in it, longest first, joined by "; "), ``farthest_m`` /
        ``farthest_more_than_m`` / ``farthest_lon`` / ``farthest_lat`` (over its runs,
        as in :func:`find_gaps`), ``component``, ``point_lon`` / ``point_lat`` (the
        point of its longest run) and a MultiLineString geometry.
    """
    if gaps.empty:
        return gpd.GeoDataFrame(columns=[*AREA_COLUMNS, "geometry"], geometry="geometry",
                                crs=gaps.crs)
    area = gaps["area_id"].to_numpy()
    order = np.argsort(area, kind="stable")  # by area, the runs in their order
    ids, starts, runs = np.unique(area[order], return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(ids)), runs)
    length = gaps["length_m"].to_numpy(float)[order]
    far = gaps["farthest_m"].to_numpy(float)[order]
    more = gaps["farthest_more_than_m"].to_numpy(float)[order]
    beyond = np.bincount(group, weights=~np.isnan(more),
                         minlength=len(ids)) > 0
    # per area, the position (in ``order``) of its first largest value (NaN skipped)
    top, longest = _first_largest(far, group, starts), _first_largest(length, group, starts)
    more_max = np.full(len(ids), np.nan)
    if beyond.any():
        more_max = pd.Series(more).groupby(group).max().to_numpy()
    named = gaps["named"].to_numpy(bool)[order]
    street_len = (pd.DataFrame({"g": group[named],
                                "street": gaps["street"].array.take(order[named]),
                                "length_m": length[named]})
                  .groupby(["g", "street"], sort=True)["length_m"].sum().reset_index())
    by_len = np.lexsort((-street_len["length_m"].to_numpy(), street_len["g"].to_numpy()))
    g_of = street_len["g"].to_numpy()[by_len]
    names = street_len["street"].to_numpy(object)[by_len]
    rank = np.arange(len(g_of)) - np.searchsorted(g_of, g_of)  # place within its area
    streets: dict[int, list[str]] = {}
    for g, name in zip(g_of[rank < _MAX_NAMES].tolist(), names[rank < _MAX_NAMES].tolist(),
                       strict=True):  # each area's longest named streets, longest first
        streets.setdefault(g, []).append(str(name))
    parts, part_of = _parts(gaps.geometry.to_numpy()[order], group)
    geoms = shapely.multilinestrings(parts, indices=part_of)
    lon = gaps["farthest_lon"].to_numpy(float)[order]
    lat = gaps["farthest_lat"].to_numpy(float)[order]
    out = pd.DataFrame({
        "area_id": ids.astype(int),
        "length_m": [float(length[a:a + k].sum()) for a, k in zip(starts, runs, strict=True)],
        "runs": runs.astype(int),
        "pieces": np.bincount(group, weights=gaps["pieces"].to_numpy()[order]).astype(int),
        "streets": ["; ".join(streets.get(g, ())) for g in range(len(ids))],
        "farthest_m": np.where(beyond, np.nan, far[top]),
        "farthest_more_than_m": np.where(beyond, more_max, np.nan),
        "farthest_lon": np.where(beyond, np.nan, lon[top]),
        "farthest_lat": np.where(beyond, np.nan, lat[top]),
        "component": gaps["component"].to_numpy()[order][starts].astype(int),
        "point_lon": gaps["point_lon"].to_numpy(float)[order][longest],
        "point_lat": gaps["point_lat"].to_numpy(float)[order][longest],
    })
    return gpd.GeoDataFrame(out, geometry=geoms, crs=gaps.crs)


# --- pieces, ends and runs --------------------------------------------------------------

def _piece_ends(network: StreetNetwork, edge: np.ndarray, start: np.ndarray, end: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """Each gap piece's (on ``edge`` from ``start`` to ``end`` metres) two end points as
    point numbers: a junction's node number, or a number above the nodes for a point
    inside an edge (keyed by edge and position)."""
    edges = network.edges
    n_nodes = len(network.nodes)
    length = edges["length_m"].to_numpy()[edge]
    u, v = edges["u"].to_numpy()[edge], edges["v"].to_numpy()[edge]
    # the ends inside an edge, starts then ends: numbered by (edge, millimetre) in the
    # order they first come
    a, b = np.where(start <= 1e-3, u, -1), np.where(end >= length - 1e-3, v, -1)
    inner = np.flatnonzero(np.concatenate([a, b]) < 0)
    at = inner % len(edge)
    mm = np.rint(_round_like_python(np.where(inner < len(edge), start[at], end[at]), 3) * 1e3)
    pairs, number = unique_pairs(edge[at], mm.astype(np.int64))
    rank = np.empty(len(pairs), dtype=np.int64)  # of each pair's first end
    rank[np.argsort(sorted_unique(number)[1])] = np.arange(len(pairs))
    point = np.concatenate([a, b])
    point[inner] = n_nodes + rank[number]
    return point[:len(edge)], point[len(edge):], n_nodes + len(pairs)


def _round_like_python(values: np.ndarray, digits: int) -> np.ndarray:
    """``round(x, digits)`` of each number, as Python rounds (the exact binary value; a
    product near a half is left to Python).

    >>> _round_like_python(np.array([0.0005, 0.0015, 2.675, 1.0004999]), 3).tolist()
    [0.001, 0.002, 2.675, 1.0]
    """
    out = np.round(values, digits)
    scaled = values * 10.0**digits
    with np.errstate(invalid="ignore"):
        near = ~(np.abs(np.abs(scaled - np.rint(scaled)) - 0.5) > np.abs(scaled) * 2.0**-50)
    out[near] = [round(x, digits) for x in values[near].tolist()]
    return out


def _components(a: np.ndarray, b: np.ndarray, n_points: int) -> np.ndarray:
    """Label pieces (ends at points ``a`` and ``b``) so that pieces sharing a point get
    one label; labels 0, 1, ... in the order of each group's first piece."""
    ends = np.concatenate([a, b])
    return _route.join_pieces(ends, np.zeros(len(ends), dtype=np.int64), n_points)


def _street_keys(names: StreetNames, classes: pd.Series) -> np.ndarray:
    """Per edge, which street it belongs to: its name's number, or for an unnamed edge
    ``-1 - k`` for its road class ``k``."""
    texts, number = distinct_texts(classes, _class_value)  # each class cleaned once
    _, code = np.unique(texts.astype(str), return_inverse=True)
    return np.where(names.edge_name >= 0, names.edge_name, -1 - code.ravel()[number])


def _class_value(value: object) -> str:
    """The road class as one word: ``primary_link`` → ``primary``.

    >>> _class_value("primary_link"), _class_value("residential;tertiary"), _class_value(None)
    ('primary', 'residential', '')
    """
    text_value = str(value).split(";")[0].strip() if isinstance(value, str) else ""
    return text_value.removesuffix("_link")


def _runs(network: StreetNetwork, names: StreetNames, street: np.ndarray,
          edge: np.ndarray, a: np.ndarray, b: np.ndarray, n_points: int) -> np.ndarray:
    """Label gap pieces by run (see the module's docstring)."""
    n_nodes = len(network.nodes)
    # Per node, the streets that make a junction major: the named ones (a field team finds
    # them on the ground and on any map; an unnamed crossing could not be told apart from
    # the next, so the runs' ends are described by named streets only). A named street's
    # key is its name's number: they are the names at the node.
    count = np.diff(names.ptr)
    one = names.node_names[np.minimum(names.ptr[:-1], max(len(names.node_names) - 1, 0))] \
        if len(names.node_names) else count  # the only one where count == 1
    # Piece-to-piece joins: pieces of one street through a junction that is not major.
    ends = np.concatenate([a, b])
    key_end = np.concatenate([street[edge], street[edge]])
    at_node = ends < n_nodes
    nd = np.minimum(ends, n_nodes - 1)
    major = at_node & ((count[nd] >= 2) | ((count[nd] == 1) & (one[nd] != key_end)))
    # At a point, pieces meet only their own street (inside an edge: any); at a major
    # junction none meet.
    kind = np.where(at_node, key_end - int(street.min()), 0)
    return _route.join_pieces(ends, np.where(major, -1, kind), n_points)


def _merge_boxes(run: np.ndarray, cross: np.ndarray, cross_m: np.ndarray, length: np.ndarray,
                 key: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Join each run that lies wholly inside one crossing of a dual-carriageway street
    (both its ends at that street, at most :data:`BOX_M` long) to the longest run of its
    own street it touches, and number the runs 0, 1, ... again.

    Crossing a street with two carriageways cuts the crossing street twice, a few metres
    apart: the stretch between them is not a stretch a field team walks on its own.
    """
    n_runs = int(run.max()) + 1
    run_len = np.bincount(run, weights=length, minlength=n_runs)
    run_key = np.full(n_runs, -1, dtype=np.int64)
    run_key[run] = key
    # (no cross street is at NaN metres: one name at both ends has both or neither)
    box = np.flatnonzero((run_len <= BOX_M) & (cross[:, 0] == cross[:, 1])
                         & (np.maximum(cross_m[:, 0], cross_m[:, 1]) <= 1e-3)).tolist()
    if not box:
        return run
    target = np.arange(n_runs)
    point_runs: dict[int, set[int]] = {}
    for p_, r in zip(np.concatenate([a, b]), np.concatenate([run, run]), strict=True):
        point_runs.setdefault(int(p_), set()).add(int(r))
    for r in box:
        mine = np.flatnonzero(run == r)
        near = set().union(*(point_runs[int(p_)] for p_ in np.concatenate([a[mine], b[mine]])))
        near = {o for o in near if o != r and run_key[o] == run_key[r]}
        if near:
            target[r] = max(near, key=lambda o: (run_len[o], -o))
    # follow chains of boxes to a run that is not merged away
    for _ in range(len(box)):
        target = target[target]
    return sorted_unique(target[run])[2]


def _run_ends(run: np.ndarray, a: np.ndarray, b: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Per run, its ``from`` and ``to`` ends as a row of two positions in the piece ends
    (``a`` then ``b``, at ``xy``): the two loose ends farthest apart, the western one
    first (a loop: one point twice)."""
    point = np.concatenate([a, b])
    which = np.concatenate([run, run])
    n_runs = int(run.max()) + 1
    # (run, point) pairs; a loose end is a point of a run that occurs once in it. Within a
    # run the loose ends come in increasing point number.
    order = np.argsort(which * (int(point.max()) + 1) + point, kind="stable")  # as lexsort
    sp, sw = point[order], which[order]
    new = np.r_[True, (sp[1:] != sp[:-1]) | (sw[1:] != sw[:-1])]
    count = np.diff(np.r_[np.flatnonzero(new), len(order)])
    once = count == 1
    loose, loose_run = order[new][once], sw[new][once]
    n_loose = np.bincount(loose_run, minlength=n_runs)
    lo = np.r_[0, np.cumsum(n_loose)[:-1]]
    # no loose end (a loop): the run's first end, twice
    first_end = np.full(n_runs, len(which))
    np.minimum.at(first_end, which, np.arange(len(which)))
    p0 = np.where(n_loose > 0, loose[np.minimum(lo, len(loose) - 1)] if len(loose) else 0,
                  first_end)
    p1 = np.where(n_loose > 0, loose[np.minimum(lo + n_loose - 1, len(loose) - 1)]
                  if len(loose) else 0, first_end)
    for r in np.flatnonzero(n_loose > 2).tolist():  # the two farthest apart
        ends = loose[lo[r]:lo[r] + n_loose[r]]
        d = np.linalg.norm(xy[ends][:, None] - xy[ends][None], axis=2)
        i, j = np.unravel_index(int(d.argmax()), d.shape)
        p0[r], p1[r] = ends[i], ends[j]
    # the western one first (then the southern; equal points keep their order)
    swap = (xy[p1, 0] < xy[p0, 0]) | ((xy[p1, 0] == xy[p0, 0]) & (xy[p1, 1] < xy[p0, 1]))
    return np.column_stack([np.where(swap, p1, p0), np.where(swap, p0, p1)])


def _cross_streets(network: StreetNetwork, names: StreetNames, end_edge: np.ndarray,
                   end_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per run end (``end_edge``, ``end_pos``: its edge and metres from the edge's ``u``
    end, one row per run), its cross street's name (its number in ``names.labels``;
    ``len(names.labels)``: none) and metres along the streets to it.

    The nearest junction where another named street meets the run's street (for an
    unnamed run: any named street), searched both ways along the streets (through the
    run itself too); (none, NaN) when none is within
    :data:`~stationplan._options.ADDRESS_CROSS_M`. An end where only unnamed streets
    meet is described by the nearest named one, with its distance: a field team can
    find a name, not an unnamed road.
    """
    n = len(network.nodes)
    edge_id = end_edge.ravel().astype(np.int64)
    offset = end_pos.ravel().astype(float)
    sid = names.edge_name[edge_id]
    found = np.full(len(edge_id), len(names.labels), dtype=np.int64)
    found_m = np.full(len(edge_id), np.nan)

    def targets(s: int) -> np.ndarray:  # the junctions of another name, or any name
        return names.crossings.get(s, names.junctions[:0]) if s >= 0 else names.named_nodes

    # Most runs end at their cross street: no search for those.
    edges = network.edges
    at_u = offset <= 1e-3
    at_v = offset >= edges["length_m"].to_numpy()[edge_id] - 1e-3
    end_node = np.where(at_u, edges["u"].to_numpy()[edge_id],
                        np.where(at_v, edges["v"].to_numpy()[edge_id], -1))
    # At a node, an unnamed run's targets are the named nodes (a name there), a named
    # run's its crossings (its own name and another there).
    count = np.diff(names.ptr)
    node = np.maximum(end_node, 0)
    first = names.node_names[np.minimum(names.ptr[node], len(names.node_names) - 1)] \
        if len(names.node_names) else np.zeros_like(node)
    second = names.node_names[np.minimum(names.ptr[node] + 1, len(names.node_names) - 1)] \
        if len(names.node_names) else np.zeros_like(node)
    own = np.zeros(len(node), dtype=bool)  # the end's own name is one at the node
    for k in range(int(count.max()) if len(count) else 0):  # a few names at a node at most
        there = count[node] > k
        own[there] |= names.node_names[names.ptr[node[there]] + k] == sid[there]
    at_cross = (end_node >= 0) & np.where(sid < 0, count[node] >= 1,
                                          (count[node] >= 2) & own)
    cross_name = np.where((sid >= 0) & (first == sid), second, first)
    found[at_cross] = cross_name[at_cross]
    found_m[at_cross] = 0.0
    pick = np.flatnonzero(~at_cross)
    graph = _route.site_graph(network, edge_id[pick], offset[pick], kind="undirected")
    # One search per end, each for the targets of its street: stopping at the nearest,
    # a search costs the neighbourhood up to it, not the whole reach.
    keys, _, key_of = sorted_unique(sid[pick])
    sets = [targets(int(s)) for s in keys.tolist()]
    set_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in sets], out=set_ptr[1:])
    set_nodes = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
    hit, dist = _route.nearest_targets(graph, n + np.arange(len(pick)), key_of.ravel(),
                                       set_ptr, set_nodes, limit_m=ADDRESS_CROSS_M)
    # the first name at the target that is not the end's own (its only other at a crossing)
    ok = hit >= 0
    i, node = pick[ok], hit[ok]
    first, second = names.node_names[names.ptr[node]], names.node_names[
        np.minimum(names.ptr[node] + 1, len(names.node_names) - 1)]
    found[i] = np.where(first == sid[i], second, first)
    found_m[i] = dist[ok]
    return found.reshape(-1, 2), found_m.reshape(-1, 2)


def _texts(table: list[str], number: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The texts ``table[number]`` as a pandas ``str`` array, made in Arrow.

    >>> _texts(["a", "b"], np.array([1, 1, 0])).tolist()
    ['b', 'b', 'a']
    """
    return pd.array(pa.array(table, type=pa.large_string()).take(pa.array(number)),
                    dtype="str")


def _parts(lines: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The parts of ``lines`` (LineStrings and MultiLineStrings) in order, and the
    ``group`` of the line each is part of; a LineString is its own part (not copied).

    >>> parts, of = _parts(shapely.from_wkt(["LINESTRING (0 0, 1 0)",
    ...     "MULTILINESTRING ((0 0, 0 1), (1 1, 2 2))"]), np.array([4, 5]))
    >>> shapely.to_wkt(parts).tolist(), of.tolist()
    (['LINESTRING (0 0, 1 0)', 'LINESTRING (0 0, 0 1)', 'LINESTRING (1 1, 2 2)'], [4, 5, 5])
    """
    count = shapely.get_num_geometries(lines)
    line_of = np.repeat(np.arange(len(lines)), count)
    parts = np.empty(len(line_of), dtype=object)
    single = shapely.get_type_id(lines) == 1
    parts[(np.cumsum(count) - count)[single]] = lines[single]
    parts[~single[line_of]] = shapely.get_parts(lines[~single])
    return parts, group[line_of]


def _first_largest(values: np.ndarray, group: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per group (``group`` sorted, groups starting at ``starts``), the position of its
    first largest value (NaN below every number; a group of NaN only: its first).

    >>> _first_largest(np.array([1.0, 3.0, 3.0, np.nan, np.nan, 2.0, np.nan]),
    ...                np.array([0, 0, 0, 1, 1, 1, 2]), np.array([0, 3, 6]))
    array([1, 5, 6])
    """
    top = np.fmax.reduceat(values, starts)[group]  # NaN only where a group has no number
    best = (values == top) | np.isnan(top)
    return np.minimum.reduceat(np.where(best, np.arange(len(values)), len(values)), starts)


def _ends(xy: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The first, then the last of the points ``xy`` of lines of ``count`` points each
    (none empty), one after the other."""
    last = np.cumsum(count) - 1
    return np.take(xy, np.concatenate([last - count + 1, last]), axis=0)


def _line_shapes(xy: np.ndarray, count: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line of ``count`` points ``xy`` (one after the other, none empty): its first
    and last points, and whether it is **plain**: open, at least two points, none
    repeated next to itself (GEOS's line merge would give it back as it is).

    >>> head, tail, plain = _line_shapes(np.array([[0, 0], [1, 0], [1, 1], [1, 1], [2, 2],
    ...                                            [0, 0], [1, 1], [0, 0.]]), np.array([2, 3, 3]))
    >>> head.tolist(), tail.tolist()
    ([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [2.0, 2.0], [0.0, 0.0]])
    >>> plain.tolist()
    [True, False, False]
    """
    head, tail = np.split(_ends(xy, count), 2)
    # a point repeated next to itself in a line (not from one line to the next)
    same = np.r_[(xy[1:, 0] == xy[:-1, 0]) & (xy[1:, 1] == xy[:-1, 1]), False]
    same[np.cumsum(count) - 1] = False
    plain = (~np.logical_or.reduceat(same, np.cumsum(count) - count)
             & ((head[:, 0] != tail[:, 0]) | (head[:, 1] != tail[:, 1])) & (count >= 2))
    return head, tail, plain


def _run_lines(lines: np.ndarray, xy: np.ndarray, xy_at: np.ndarray, by_run: np.ndarray,
               run: np.ndarray, from_xy: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Per run, in the order ``order``: its pieces as one LineString from the ``from`` end
    (``from_xy[r]``) when they make a path, else a MultiLineString.

    ``lines`` are the pieces, ``xy[xy_at[i]:xy_at[i + 1]]`` the points of piece ``i``;
    ``by_run`` the pieces run by run in their order, ``run`` their runs (sorted).

    The LineStrings are made anew, one after the other in the runs' order, from the
    points: a run's lines are then read from consecutive memory, not from a million
    pieces' scattered lines (every later pass over the runs, the tables, the map, the
    PNG, takes several times less).
    """
    n_runs = int(run[-1]) + 1 if len(run) else 0
    count = np.bincount(run, minlength=n_runs)
    first = by_run[np.cumsum(count) - count]  # each run's first piece
    n_xy = np.diff(xy_at)
    head, tail, plain_line = _line_shapes(xy, n_xy)
    # a run of one plain piece is that piece: GEOS is not asked
    plain = (count == 1) & plain_line[first]
    plain[plain] = shapely.get_type_id(lines[first[plain]]) == 1
    start, end = np.take(head, first, axis=0), np.take(tail, first, axis=0)  # (of the plain)
    # the points of each LineString run: a plain run's piece's, else GEOS's merged line's
    at, n = xy_at[first], n_xy[first]
    merged = np.empty(n_runs, dtype=object)
    rest = ~plain
    kind = np.ones(n_runs, dtype=np.int64)  # LineStrings: the plain ones are
    points = xy
    if rest.any():
        keep = rest[run]
        merged[rest] = shapely.line_merge(shapely.multilinestrings(
            lines[by_run[keep]], indices=np.cumsum(rest)[run[keep]] - 1))
        kind[rest] = shapely.get_type_id(merged[rest])
        for i in np.flatnonzero((kind != 1) & (kind != 5)).tolist():
            merged[i] = shapely.MultiLineString(list(shapely.get_parts(merged[i])))
        joined = np.flatnonzero(rest & (kind == 1))  # lines GEOS merged: their ends are new
        if len(joined):
            n[joined] = shapely.get_num_coordinates(merged[joined])
            at[joined] = len(xy) + np.cumsum(n[joined]) - n[joined]
            points = np.concatenate([xy, shapely.get_coordinates(merged[joined])])
            start[joined], end[joined] = np.split(_ends(points[len(xy):], n[joined]), 2)
    line = kind == 1
    flip = line & (np.hypot(*(end - from_xy).T) < np.hypot(*(start - from_xy).T))
    out = merged[order]
    made = order[line[order]]  # the LineStrings, in the runs' order
    n, at, back = n[made], at[made], flip[made]
    k = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)  # a point's place in its run
    k = np.where(np.repeat(back, n), np.repeat(n - 1, n) - k, k)  # (reversed: last first)
    out[line[order]] = shapely.linestrings(np.take(points, np.repeat(at, n) + k, axis=0),
                                           indices=np.repeat(np.arange(len(made)), n))
    return out


def _search_m(rule: CoverageRule, search_limit_m: float | None) -> float:
    """The limit of the search for the farthest points (:func:`find_gaps`), checked."""
    limit = rule.limit_m
    search = 3.0 * limit if search_limit_m is None else float(search_limit_m)
    if not (np.isfinite(search) and search >= limit):
        msg = (f"search_limit_m must be a number of metres at least the coverage limit "
               f"({limit:g} m), got {search_limit_m!r}")
        raise InputError(msg)
    return search


def search_ahead(network: StreetNetwork, stations: gpd.GeoDataFrame, *,
                 rule: CoverageRule, search_limit_m: float | None = None) -> None:
    """Make the search :func:`find_gaps` makes for the farthest points from the stations
    ahead, e.g. on another thread while :func:`~stationplan.compute_coverage` runs (the
    search is compiled code that releases the GIL): the network keeps it
    (:func:`~stationplan._route.search.nearest_sites`) and :func:`find_gaps` of that
    coverage, with the same ``search_limit_m``, finds it done.

    Parameters
    ----------
    network, stations, rule
        What :func:`~stationplan.compute_coverage` is given.
    search_limit_m
        As for :func:`find_gaps`.
    """
    _, st_edge, st_off = station_sites(stations)
    station_distances(network, st_edge, st_off, limit_m=_search_m(rule, search_limit_m))


def _farthest(coverage: Coverage, edge: np.ndarray, start: np.ndarray, end: np.ndarray, *,
              search_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Per gap piece (on ``edge`` from ``start`` to ``end`` metres), the largest distance
    to a station (exact up to ``search_m``, else inf) and where it lies: metres along the
    piece's edge (meaningless where beyond)."""
    network = coverage.network
    _, st_edge, st_off = station_sites(coverage.stations)
    node_dist, _ = station_distances(network, st_edge, st_off, limit_m=search_m)
    far_m, at_m = _route.piece_farthest(network, node_dist, st_edge, st_off, edge, start, end)
    # a hair of slack: a point exactly at the search limit is still found
    far_m = np.where(far_m <= search_m + 1e-9, np.minimum(far_m, search_m), np.inf)
    return far_m, at_m

