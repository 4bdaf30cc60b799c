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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from . import _route
from ._errors import InputError
from ._i18n import resolve_lang, text
from ._options import ADDRESS_CROSS_M
from .addresses import StreetNames, nearest_node, road_word
from .chinacrs import amap_marker_url
from .coverage import Coverage, station_distances, station_sites
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
    limit = coverage.rule.limit_m
    search = 3.0 * limit if search_limit_m is None else float(search_limit_m)
    if not (np.isfinite(search) and search >= limit):
        msg = (f"search_limit_m must be a number of metres at least the coverage limit "
               f"({limit:g} m), got {search_limit_m!r}")
        raise InputError(msg)
    network = coverage.network
    crs = network.crs
    edges = network.edges
    lang = resolve_lang(lang, edges["name"].dropna().unique() if "name" in edges else ())
    pieces = coverage.pieces
    gap = pieces[pieces["status"] == "gap"]
    if gap.empty:
        return gpd.GeoDataFrame(columns=[*GAP_COLUMNS, "geometry"], geometry="geometry",
                                crs=crs)
    names = StreetNames.of(network)
    classes = edges["road_class" if "road_class" in edges else "highway"]
    edge = gap["edge_id"].to_numpy()
    a, b, n_points = _piece_ends(coverage, gap)
    street = _street_keys(names, classes)
    run = _runs(network, names, street, edge, a, b, n_points)
    area = _components(a, b, n_points)
    geoms = gap.geometry.to_numpy()
    rep = gpd.GeoSeries(shapely.line_interpolate_point(geoms, 0.5, normalized=True),
                        crs=crs).to_crs(4326).to_numpy()
    far_m, far_at = _farthest(coverage, gap, search_m=search)
    far_pt = gpd.GeoSeries(far_at, crs=crs).to_crs(4326).to_numpy()
    length = gap["length_m"].to_numpy()
    start_xy = shapely.get_coordinates(shapely.get_point(geoms, 0))
    end_xy = shapely.get_coordinates(shapely.get_point(geoms, -1))
    ends = _run_ends(run, a, b, np.concatenate([start_xy, end_xy]),
                     np.concatenate([edge, edge]),
                     np.concatenate([gap["start_m"].to_numpy(), gap["end_m"].to_numpy()]))
    cross = _cross_streets(network, names, ends)
    run = _merge_boxes(run, cross, length, street[edge], a, b)
    if len(np.unique(run)) < len(cross):  # some merged: their ends are new
        ends = _run_ends(run, a, b, np.concatenate([start_xy, end_xy]),
                         np.concatenate([edge, edge]),
                         np.concatenate([gap["start_m"].to_numpy(), gap["end_m"].to_numpy()]))
        cross = _cross_streets(network, names, ends)
    component = gap["component"].to_numpy()
    rows = []
    for r in range(int(run.max()) + 1):
        idx = np.flatnonzero(run == r)
        sid = int(names.edge_name[edge[idx[0]]])
        far = far_m[idx]
        beyond = bool((far > search).any())
        at = far_pt[idx[int(far.argmax())]]
        point = rep[idx[int(length[idx].argmax())]]
        (from_name, from_d), (to_name, to_d) = cross[r]
        rows.append({
            "run": r,
            "street": (names.labels[sid] if sid >= 0
                       else road_word(classes.iloc[int(edge[idx[0]])], lang)),
            "named": sid >= 0,
            "from_street": from_name, "from_m": from_d,
            "to_street": to_name, "to_m": to_d,
            "length_m": float(length[idx].sum()),
            "pieces": len(idx),
            "farthest_m": np.nan if beyond else float(far.max()),
            "farthest_more_than_m": search if beyond else np.nan,
            "farthest_lon": np.nan if beyond else at.x,
            "farthest_lat": np.nan if beyond else at.y,
            "area_label": int(area[idx[0]]),
            "component": int(component[idx[0]]),
            "point_lon": point.x,
            "point_lat": point.y,
            "geometry": _run_line(geoms[idx], ends[r][0][2]),
        })
    out = pd.DataFrame(rows)
    # lengths equal to the millimetre are a tie, which the farther run wins
    out["_len"] = out["length_m"].round(3)
    out["_far"] = out["farthest_m"].fillna(np.inf)
    out = out.sort_values(["_len", "_far", "run"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(0, "gap_id", np.arange(1, len(out) + 1))
    # gap areas: largest first, as the runs
    area_len = out.groupby("area_label")["length_m"].sum()
    area_order = sorted(area_len.index, key=lambda k: (-round(area_len[k], 6), k))
    out["area_id"] = out["area_label"].map({k: i + 1 for i, k in enumerate(area_order)})
    out["amap_url"] = [
        amap_marker_url(*((lon, lat) if np.isfinite(lon) else (plon, plat)),
                        name=text("gap.link_name", lang, gap_id=gid, street=st))
        for gid, st, lon, lat, plon, plat in zip(
            out["gap_id"], out["street"], out["farthest_lon"], out["farthest_lat"],
            out["point_lon"], out["point_lat"], strict=True)]
    out = out[[*GAP_COLUMNS, "geometry"]]
    log.debug("%d gap runs in %d gap areas, %.1f km in all; %d with a point more than "
              "%.0f m from every station", len(out), len(area_order),
              out["length_m"].sum() / 1000, int(out["farthest_more_than_m"].notna().sum()),
              search)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)


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
    rows = []
    for _, grp in gaps.groupby("area_id", sort=True):
        grp = grp.reset_index(drop=True)
        named = grp[grp["named"].astype(bool)].groupby("street")["length_m"].sum()
        named = named.sort_values(ascending=False, kind="stable")
        beyond = bool(grp["farthest_more_than_m"].notna().any())
        far = grp["farthest_m"].to_numpy(float)
        top = grp.iloc[int(np.nanargmax(far))] if not beyond else None
        longest = grp.iloc[int(grp["length_m"].to_numpy().argmax())]
        lines = [line for geom in grp.geometry for line in shapely.get_parts(geom)]
        rows.append({
            "area_id": int(grp["area_id"].iat[0]),
            "length_m": float(grp["length_m"].sum()),
            "runs": len(grp),
            "pieces": int(grp["pieces"].sum()),
            "streets": "; ".join(named.index.astype(str)[:_MAX_NAMES]),
            "farthest_m": np.nan if top is None else float(top["farthest_m"]),
            "farthest_more_than_m": (float(grp["farthest_more_than_m"].max()) if beyond
                                     else np.nan),
            "farthest_lon": np.nan if top is None else float(top["farthest_lon"]),
            "farthest_lat": np.nan if top is None else float(top["farthest_lat"]),
            "component": int(grp["component"].to_numpy()[0]),
            "point_lon": float(longest["point_lon"]),
            "point_lat": float(longest["point_lat"]),
            "geometry": shapely.MultiLineString(lines),
        })
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=gaps.crs)


# --- pieces, ends and runs --------------------------------------------------------------

def _piece_ends(coverage: Coverage, gap: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Each gap piece's two end points as point numbers: a junction's node number, or a
    number above the nodes for a point inside an edge (keyed by edge and position)."""
    edges = coverage.network.edges
    n_nodes = len(coverage.network.nodes)
    edge = gap["edge_id"].to_numpy()
    start, end = gap["start_m"].to_numpy(), gap["end_m"].to_numpy()
    length = edges["length_m"].to_numpy()[edge]
    u, v = edges["u"].to_numpy()[edge], edges["v"].to_numpy()[edge]
    inner: dict[tuple[int, float], int] = {}

    def key(is_node: np.ndarray, node: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = node.copy()
        for i in np.flatnonzero(~is_node):
            out[i] = inner.setdefault((int(edge[i]), round(float(pos[i]), 3)), n_nodes + len(inner))
        return out

    a = key(start <= 1e-3, u, start)
    b = key(end >= length - 1e-3, v, end)
    return a, b, n_nodes + len(inner)


def _components(a: np.ndarray, b: np.ndarray, n_points: int,
                join: np.ndarray | None = None) -> np.ndarray:
    """Label pieces so that pieces sharing a point get one label (only at the points
    where ``join`` is True, when given)."""
    m = len(a)
    rows = np.concatenate([np.arange(m), np.arange(m)])
    cols = np.concatenate([a, b])
    if join is not None:
        keep = join[cols]
        rows, cols = rows[keep], cols[keep]
    graph = coo_array((np.ones(len(rows)), (rows, cols + m)), shape=(m + n_points, m + n_points))
    _, labels = connected_components(graph, directed=False)
    _, first = np.unique(labels[:m], return_inverse=True)
    return first


def _street_keys(names: StreetNames, classes: pd.Series) -> np.ndarray:
    """Per edge, which street it belongs to: its name's number, or for an unnamed edge
    ``-1 - k`` for its road class ``k``."""
    cls = np.array([_class_value(x) for x in classes], dtype=object)
    _, code = np.unique(cls.astype(str), return_inverse=True)
    return np.where(names.edge_name >= 0, names.edge_name, -1 - code.astype(np.int64))


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
    edges = network.edges
    n_nodes = len(network.nodes)
    # Per node, the streets that make a junction major: the named ones (a field team finds
    # them on the ground and on any map; an unnamed crossing could not be told apart from
    # the next, so the runs' ends are described by named streets only).
    landmark = names.edge_name >= 0
    node = np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()])
    key = np.concatenate([street, street])
    mark = np.concatenate([landmark, landmark])
    pairs = np.unique(np.column_stack([node[mark], key[mark]]), axis=0)
    count = np.bincount(pairs[:, 0], minlength=n_nodes)
    one = np.zeros(n_nodes, dtype=np.int64)
    one[pairs[:, 0]] = pairs[:, 1]  # the (only) landmark street where count == 1
    # Piece-to-piece joins: pieces of one street through a junction that is not major.
    m = len(edge)
    own = street[edge]
    ends = np.concatenate([a, b])
    piece = np.concatenate([np.arange(m), np.arange(m)])
    key_end = own[piece]
    at_node = ends < n_nodes
    nd = np.minimum(ends, n_nodes - 1)
    major = at_node & ((count[nd] >= 2) | ((count[nd] == 1) & (one[nd] != key_end)))
    # A point is keyed by (point, street): pieces meet only their own street there; a
    # major junction gives every piece end its own point.
    point_key = np.where(major, n_points + np.arange(2 * m), ends)
    combo = np.unique(np.column_stack([point_key, np.where(at_node, key_end, 0)]), axis=0,
                      return_inverse=True)[1].ravel()
    return _components(combo[:m], combo[m:], int(combo.max()) + 1)


def _merge_boxes(run: np.ndarray, cross: list[Any], length: np.ndarray, key: np.ndarray,
                 a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
    box = [r for r in range(n_runs)
           if run_len[r] <= BOX_M and cross[r][0][0] is not None
           and cross[r][0][0] == cross[r][1][0] and max(cross[r][0][1], cross[r][1][1]) <= 1e-3]
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
    return np.unique(target[run], return_inverse=True)[1]


def _run_ends(run: np.ndarray, a: np.ndarray, b: np.ndarray, xy: np.ndarray,
              end_edge: np.ndarray, end_pos: np.ndarray,
              ) -> list[tuple[tuple[int, float, np.ndarray], tuple[int, float, np.ndarray]]]:
    """Per run, its ``from`` and ``to`` ends as (edge, position, xy): the two loose ends
    farthest apart, the western one first (a loop: one point twice)."""
    point = np.concatenate([a, b])
    which = np.concatenate([run, run])
    out = []
    for r in range(int(run.max()) + 1):
        mine = np.flatnonzero(which == r)
        _, first, counts = np.unique(point[mine], return_index=True, return_counts=True)
        loose = mine[first[counts == 1]] if (counts == 1).any() else mine[:1]
        if len(loose) > 2:
            d = np.linalg.norm(xy[loose][:, None] - xy[loose][None], axis=2)
            i, j = np.unravel_index(int(d.argmax()), d.shape)
            loose = loose[[i, j]]
        pick = [int(loose[0]), int(loose[-1])]
        pick.sort(key=lambda k: (xy[k][0], xy[k][1]))
        out.append(tuple((int(end_edge[k]), float(end_pos[k]), xy[k]) for k in pick))
    return out  # type: ignore[return-value]


def _cross_streets(network: StreetNetwork, names: StreetNames, ends: list[Any],
                   ) -> list[tuple[tuple[str, float], tuple[str, float]]]:
    """Per run end, its cross street as (name, metres along the streets).

    The nearest junction where another named street meets the run's street (for an
    unnamed run: any named street), searched both ways along the streets (through the
    run itself too); ("", NaN) when none is within
    :data:`~stationplan._options.ADDRESS_CROSS_M`. An end where only unnamed streets
    meet is described by the nearest named one, with its distance: a field team can
    find a name, not an unnamed road.
    """
    n = len(network.nodes)
    flat = [(r, k) for r in range(len(ends)) for k in range(2)]
    edge_id = np.array([ends[r][k][0] for r, k in flat], dtype=np.int64)
    offset = np.array([ends[r][k][1] for r, k in flat], dtype=float)
    sid = names.edge_name[edge_id]
    found: list[tuple[str, float]] = [("", np.nan)] * len(flat)

    def targets(s: int) -> np.ndarray:
        return names.crossings.get(s, names.junctions[:0]) if s >= 0 else names.named_nodes

    # Most runs end at their cross street: no search for those.
    edges = network.edges
    at_u = offset <= 1e-3
    at_v = offset >= edges["length_m"].to_numpy()[edge_id] - 1e-3
    end_node = np.where(at_u, edges["u"].to_numpy()[edge_id],
                        np.where(at_v, edges["v"].to_numpy()[edge_id], -1))
    named = np.zeros(n, dtype=bool)
    named[names.named_nodes] = True
    search = []
    for i in range(len(flat)):
        s, node = int(sid[i]), int(end_node[i])
        if node >= 0 and named[node] and np.isin(node, targets(s)):
            found[i] = (names.labels[next(int(x) for x in names.at(node) if x != s)], 0.0)
        else:
            search.append(i)
    pick = np.array(search, dtype=np.int64)
    graph = _route.site_graph(network, edge_id[pick], offset[pick], kind="undirected")
    for lo, hi, dist in _route.distance_blocks(graph, n + np.arange(len(pick)),
                                               limit_m=ADDRESS_CROSS_M):
        for j in range(lo, hi):
            i = int(pick[j])
            s = int(sid[i])
            node, dd = nearest_node(dist[j - lo, :n], targets(s))
            if node >= 0:
                cross = next(int(x) for x in names.at(node) if x != s)
                found[i] = (names.labels[cross], float(dd))
    return [(found[2 * r], found[2 * r + 1]) for r in range(len(ends))]


def _run_line(lines: np.ndarray, from_xy: np.ndarray) -> shapely.Geometry:
    """The run's pieces as one LineString from the ``from`` end when they make a path,
    else a MultiLineString."""
    merged = shapely.line_merge(shapely.MultiLineString(list(lines)))
    if merged.geom_type != "LineString":
        return shapely.MultiLineString(list(shapely.get_parts(merged)))
    coords = shapely.get_coordinates(merged)
    if np.hypot(*(coords[-1] - from_xy)) < np.hypot(*(coords[0] - from_xy)):
        merged = shapely.reverse(merged)
    return merged


def _farthest(coverage: Coverage, gap: gpd.GeoDataFrame, *, search_m: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per gap piece, the largest distance to a station (exact up to ``search_m``, else
    some value above it or inf) and the point where it lies (empty where beyond)."""
    network = coverage.network
    _, st_edge, st_off = station_sites(coverage.stations)
    node_dist, _ = station_distances(network, st_edge, st_off, limit_m=search_m)
    edge = gap["edge_id"].to_numpy()
    far_m, at_m = _route.piece_farthest(network, node_dist, st_edge, st_off, edge,
                                        gap["start_m"].to_numpy(), gap["end_m"].to_numpy())
    # a hair of slack: a point exactly at the search limit is still found
    far_m = np.where(far_m <= search_m + 1e-9, np.minimum(far_m, search_m), np.inf)
    known = np.isfinite(far_m)
    points = np.full(len(edge), shapely.Point(), dtype=object)
    lines = network.edges.geometry.to_numpy()[edge[known]]
    points[known] = shapely.line_interpolate_point(lines, at_m[known])
    return far_m, points

