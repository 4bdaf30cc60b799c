"""Dual carriageways: count each road once.

OSM draws a dual carriageway (a road with a median) as two one-way ways running in
opposite directions side by side. Both are streets to travel along, but they are one road
to serve: a station on one carriageway serves the riders of the road, and counting both
would double the road's demand. :func:`find_carriageway_pairs` finds where two one-way
demand edges run alongside each other in opposite directions, close together, as parts of
one road (same name, same ``ref``, or both tagged ``dual_carriageway=yes``), position by
position. At each matched position one side is the counted ("primary") side and the other
is "paired": it is not demand, and it is covered wherever its twin position is covered
or itself is (see :func:`~stationplan.compute_coverage`). Routing still uses both.

The pairs are found when the network's demand is set (:func:`~stationplan.area.with_demand`,
called by :func:`~stationplan.load_network`) and kept on the network
(``network.carriageways``).
"""

from __future__ import annotations

import itertools
import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ._intervals import union
from ._options import PAIR_CARRIAGEWAYS_M, check_option

__all__ = ["PAIR_COLUMNS", "find_carriageway_pairs"]

log = logging.getLogger(__name__)

#: Columns of :func:`find_carriageway_pairs`' frame.
PAIR_COLUMNS = ["edge_id", "start_m", "end_m", "twin_edge_id", "twin_start_m", "twin_end_m",
                "separation_m", "run", "name", "ref"]

_ROUNDABOUT = ("roundabout", "circular")
# classes whose unnamed carriageways (without a ref) still pair by class
_MAIN = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary"})
_EPS_M = 1e-6
_LOOP_TURN_DEG = 120.0  # joins turning less than this continue a ring; a U-turn does not


def find_carriageway_pairs(
    network: Any,
    *,
    max_separation_m: float = PAIR_CARRIAGEWAYS_M,
    min_overlap_m: float = 5.0,
    min_angle_deg: float = 150.0,
) -> pd.DataFrame:
    """The positions where one carriageway of a dual carriageway is counted on its twin.

    Two demand edges are carriageways of one road where they belong to different one-way
    ways (the ways' own ``oneway`` tags, whatever the travel mode; not roundabouts), run
    alongside each other in opposite travel directions (local bearings more than
    ``min_angle_deg`` apart), lie within ``max_separation_m`` of each other, and have the
    same name, the same ``ref``, or are both tagged ``dual_carriageway=yes``; two main
    roads (motorway to tertiary) with neither name nor ref match by their class. Ways that
    chain into a one-way ring of the same name without a U-turn (a one-way loop) are not
    pairs. Of two matched edges, the one with the smaller (osmid, row) is the primary
    (counted) side; the other one's matched interval is "paired". A position is paired
    away at most once and never onto a paired position.

    Parameters
    ----------
    network
        A :class:`~stationplan.StreetNetwork` with the edge columns ``oneway``, ``ref``,
        ``junction``, ``dual_carriageway`` (networks without them have no pairs).
    max_separation_m
        Largest distance between the two carriageways' lines, in metres (0: no pairs).
    min_overlap_m
        Matched stretches shorter than this are dropped.
    min_angle_deg
        Smallest angle between the travel directions of the two sides.

    Returns
    -------
    pandas.DataFrame
        One row per matched stretch between breakpoints (vertices of either line):
        ``edge_id``, ``start_m``, ``end_m`` (the paired interval, metres from the
        edge's ``u`` end, ``start_m < end_m``), ``twin_edge_id``, ``twin_start_m``,
        ``twin_end_m`` (the primary edge's positions of ``start_m`` and ``end_m``, the
        map between being linear), ``separation_m`` (largest distance between the
        lines over the stretch), ``run`` (number of the continuous matched stretch the
        row belongs to), ``name``, ``ref``. Sorted by ``edge_id`` and ``start_m``.

    Examples
    --------
    >>> from stationplan._streets import network_from_segments, MODES
    >>> road = {"highway": "primary", "name": "Long Road", "oneway": "yes"}
    >>> coords = {1: (116.0, 39.9), 2: (116.0036, 39.9), 3: (116.0036, 39.90018),
    ...           4: (116.0, 39.90018)}
    >>> net = network_from_segments(
    ...     [(10, road, [1, 2], None, True, True), (11, road, [3, 4], None, True, True)],
    ...     coords, MODES["walk"], source="doc", stats={})
    >>> pairs = find_carriageway_pairs(net)
    >>> pairs["edge_id"].unique().tolist(), pairs["twin_edge_id"].unique().tolist()
    ([1], [0])
    >>> paired_m = float((pairs["end_m"] - pairs["start_m"]).sum())
    >>> abs(paired_m - float(net.edges["length_m"].iat[1])) < 0.01  # all of the south way
    True
    """
    check_option("max_separation_m", max_separation_m, kind="pair_carriageways_m")
    e = network.edges
    empty = pd.DataFrame({c: pd.Series(dtype=float if c.endswith("_m") else object)
                          for c in PAIR_COLUMNS})
    need = ("oneway", "ref", "junction", "dual_carriageway")
    if max_separation_m <= 0 or len(e) == 0 or any(c not in e for c in need):
        return _typed(empty)
    demand = e["demand"].to_numpy(bool) if "demand" in e else np.ones(len(e), bool)
    oneway = e["oneway"].to_numpy(np.int64)
    junction = e["junction"].to_numpy(object)
    length = e["length_m"].to_numpy(float)
    ok = demand & (oneway != 0) & (length > min_overlap_m) & np.array(
        [j not in _ROUNDABOUT for j in junction], dtype=bool)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return _typed(empty)
    lines = e.geometry.to_numpy()
    names = np.array([_text(v) for v in e["name"].to_numpy(object)], dtype=object)
    refs = np.array([_text(v) for v in e["ref"].to_numpy(object)], dtype=object)
    # what makes two carriageways one road: the name; unnamed main roads without a ref
    # match by their class (OSM often leaves the carriageways of a trunk road unnamed)
    keys = np.array([n if n is not None else (f"\x00{h}" if r is None and h in _MAIN else None)
                     for n, r, h in zip(names, refs, e["highway"].to_numpy(object),
                                        strict=True)], dtype=object)
    dual = e["dual_carriageway"].to_numpy(bool)
    osmid = e["osmid"].to_numpy(np.int64)

    tree = shapely.STRtree(lines[idx])
    a, b = tree.query(lines[idx], predicate="dwithin", distance=max_separation_m)
    i, j = idx[a], idx[b]
    keep = i < j
    i, j = i[keep], j[keep]
    same_way = (osmid[i] == osmid[j]) & (osmid[i] >= 0)
    key = np.array([_same_road(keys[x], keys[y], refs[x], refs[y], dual[x], dual[y])
                    for x, y in zip(i, j, strict=True)], dtype=bool)
    keep = ~same_way & key
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return _typed(empty)
    ring = _rings(network, idx, keys, refs)
    keep = np.array([ring[x] < 0 or ring[x] != ring[y] for x, y in zip(i, j, strict=True)],
                    dtype=bool)
    i, j = i[keep], j[keep]

    rows: list[tuple[Any, ...]] = []
    run = 0
    # primary = the smaller (carriageway, osmid, row), the carriageway being the least way
    # id of the one-way edges it continues straight into: along one road the same side
    # stays the counted one
    chain = _chains(network, idx, keys, refs, osmid)

    def rank(k: int) -> tuple[int, int, int]:
        return (int(chain[k]), int(osmid[k]), k)

    order = sorted(zip(i.tolist(), j.tolist(), strict=True),
                   key=lambda p: min(rank(p[0]), rank(p[1])))
    cos_min = math.cos(math.radians(min_angle_deg))
    for x, y in order:
        primary, paired = (x, y) if rank(x) < rank(y) else (y, x)
        stretches = _match(lines[paired], lines[primary], int(oneway[paired]),
                           int(oneway[primary]), max_separation_m, cos_min, min_overlap_m)
        for stretch in stretches:
            if stretch[-1][1] - stretch[0][0] < min_overlap_m:
                continue
            for t0, t1, s0, s1, sep in stretch:
                rows.append((paired, t0, t1, primary, s0, s1, sep, run,
                             names[paired] or names[primary], refs[paired] or refs[primary]))
            run += 1
    frame = pd.DataFrame(rows, columns=PAIR_COLUMNS) if rows else empty
    return _typed(_once(frame))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"edge_id": np.int64, "twin_edge_id": np.int64, "run": np.int64,
                          "start_m": float, "end_m": float, "twin_start_m": float,
                          "twin_end_m": float, "separation_m": float})
    return frame.sort_values(["edge_id", "start_m"], kind="stable").reset_index(drop=True)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _same_road(name_a: str | None, name_b: str | None, ref_a: str | None, ref_b: str | None,
               dual_a: bool, dual_b: bool) -> bool:
    """One road: the same name, the same ref, or both tagged dual_carriageway=yes."""
    if name_a is not None and name_a == name_b:
        return True
    if ref_a is not None and ref_a == ref_b:
        return True
    return bool(dual_a and dual_b)


def _travel_ends(network: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tail and head node of each one-way edge in its tagged direction."""
    e = network.edges
    u, v = e["u"].to_numpy()[rows], e["v"].to_numpy()[rows]
    along = e["oneway"].to_numpy()[rows] > 0
    return np.where(along, u, v), np.where(along, v, u)


def _end_bearings(line: Any, along: bool) -> tuple[np.ndarray, np.ndarray]:
    """Unit travel directions at the start and at the end of a one-way edge."""
    xy = shapely.get_coordinates(line)
    if not along:
        xy = xy[::-1]
    first, last = xy[1] - xy[0], xy[-1] - xy[-2]
    return first / max(np.hypot(*first), 1e-12), last / max(np.hypot(*last), 1e-12)


def _rings(network: Any, rows: np.ndarray, names: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Per edge, the number of the one-way ring it belongs to, or -1.

    A ring: one-way edges of one name (or ref) joined head to tail, each join turning less
    than 120 degrees (a U-turn where two carriageways meet does not continue a ring), that
    lead back to where they started (strongly connected).
    """
    from scipy.sparse.csgraph import connected_components

    out = np.full(len(network.edges), -1, dtype=np.int64)
    graph = _continuations(network, rows, names, refs, max_turn_deg=_LOOP_TURN_DEG)
    if graph is None:
        return out
    _, label = connected_components(graph, directed=True, connection="strong")
    size = np.bincount(label)
    out[rows] = np.where(size[label] > 1, label, -1)
    return out


def _chains(network: Any, rows: np.ndarray, names: np.ndarray, refs: np.ndarray,
            osmid: np.ndarray) -> np.ndarray:
    """Per edge, the least way id of its carriageway: the one-way edges of one name (or
    ref) it continues into head to tail turning less than 60 degrees (either way along)."""
    from scipy.sparse.csgraph import connected_components

    out = osmid.copy()
    graph = _continuations(network, rows, names, refs, max_turn_deg=60.0)
    if graph is None:
        return out
    _, label = connected_components(graph, directed=False)
    least = pd.Series(osmid[rows]).groupby(label).transform("min").to_numpy()
    out[rows] = least
    return out


def _continuations(network: Any, rows: np.ndarray, names: np.ndarray, refs: np.ndarray, *,
                   max_turn_deg: float) -> Any:
    """The graph on ``rows`` (one-way edges) with a link k -> m where m carries on from
    k's head in its travel direction, with the same name (or ref), turning less than
    ``max_turn_deg``; ``None`` when there is no link."""
    from scipy.sparse import csr_array

    tail, head = _travel_ends(network, rows)
    lines = network.edges.geometry.to_numpy()
    along = network.edges["oneway"].to_numpy()[rows] > 0
    ends = [_end_bearings(lines[r], bool(a)) for r, a in zip(rows, along, strict=True)]
    by_tail: dict[int, list[int]] = {}
    for k, t in enumerate(tail.tolist()):
        by_tail.setdefault(t, []).append(k)
    cos_turn = math.cos(math.radians(max_turn_deg))
    src, dst = [], []
    for k, h in enumerate(head.tolist()):
        for m in by_tail.get(h, ()):
            r, s = rows[k], rows[m]
            same = ((names[r] is not None and names[r] == names[s])
                    or (refs[r] is not None and refs[r] == refs[s]))
            if m != k and same and float(np.dot(ends[k][1], ends[m][0])) > cos_turn:
                src.append(k)
                dst.append(m)
    if not src:
        return None
    return csr_array((np.ones(len(src)), (src, dst)), shape=(len(rows), len(rows)))


def _tangent(line: Any, pos: np.ndarray, length: float) -> np.ndarray:
    """Unit tangents (geometric, u to v) of ``line`` at positions ``pos``."""
    h = np.minimum(0.5, length / 4)
    a = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(pos - h, 0, length)))
    b = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(pos + h, 0, length)))
    d = b - a
    return d / np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-12)[:, None]


def _match(paired: Any, primary: Any, dir_p: int, dir_q: int, max_sep: float, cos_min: float,
           min_overlap: float) -> list[list[tuple[float, float, float, float, float]]]:
    """The stretches of ``paired`` lying alongside ``primary``, running opposite.

    Breakpoints: the vertices of ``paired`` and the projections of ``primary``'s vertices
    onto it. A breakpoint matches where its nearest point on ``primary`` is within
    ``max_sep`` and not beyond ``primary``'s ends (the offset is across the line, not
    along it); a stretch between two matching breakpoints matches where the travel
    directions at its middle are opposite. A stretch ending less than ``min_overlap``
    from an end of ``paired`` is carried on to that end (the rest is the junction), mapped
    onto the nearest points of ``primary``.
    """
    len_p, len_q = float(paired.length), float(primary.length)
    xy_p = shapely.get_coordinates(paired)
    seg = np.hypot(*np.diff(xy_p, axis=0).T)
    t = np.concatenate([[0.0], np.cumsum(seg),
                        shapely.line_locate_point(paired, shapely.points(
                            shapely.get_coordinates(primary)))])
    t = np.unique(np.clip(t, 0.0, len_p))
    t = t[np.append(True, np.diff(t) > 1e-3)]
    if len(t) < 2:
        return []
    pts = shapely.line_interpolate_point(paired, t)
    s = shapely.line_locate_point(primary, pts)
    near = shapely.line_interpolate_point(primary, s)
    off = shapely.get_coordinates(pts) - shapely.get_coordinates(near)
    sep = np.hypot(off[:, 0], off[:, 1])
    tan_q = _tangent(primary, s, len_q)
    # across the line: the offset is (nearly) perpendicular to the primary there
    along_q = np.abs((off * tan_q).sum(axis=1))
    good = (sep <= max_sep + 1e-9) & (along_q <= 0.5 * np.maximum(sep, 1e-9) + 1e-3)
    mid = (t[:-1] + t[1:]) / 2
    mid_s = shapely.line_locate_point(primary, shapely.line_interpolate_point(paired, mid))
    tp = _tangent(paired, mid, len_p) * dir_p
    tq = _tangent(primary, mid_s, len_q) * dir_q
    opposite = (tp * tq).sum(axis=1) < cos_min
    ok = good[:-1] & good[1:] & opposite & (np.abs(s[1:] - s[:-1]) > 1e-6)
    stretches: list[list[tuple[float, float, float, float, float]]] = []
    current: list[tuple[float, float, float, float, float]] = []
    for k in range(len(mid)):
        if ok[k]:
            current.append((float(t[k]), float(t[k + 1]), float(s[k]), float(s[k + 1]),
                            float(max(sep[k], sep[k + 1]))))
        elif current:
            stretches.append(current)
            current = []
    if current:
        stretches.append(current)
    for stretch in stretches:
        t0, _, s0, _, sep0 = stretch[0]
        if 0.0 < t0 < min_overlap:
            stretch.insert(0, (0.0, t0, _locate(primary, paired, 0.0), s0, sep0))
        _, t1, _, s1, sep1 = stretch[-1]
        if 0.0 < len_p - t1 < min_overlap:
            stretch.append((t1, len_p, s1, _locate(primary, paired, len_p), sep1))
    return stretches


def _locate(primary: Any, paired: Any, t: float) -> float:
    """The position on ``primary`` nearest to the point ``t`` metres along ``paired``."""
    return float(shapely.line_locate_point(primary, shapely.line_interpolate_point(paired, t)))


def _once(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows that would pair a position away twice, or onto a paired position.

    Rows come in the order of their primary edge; a row is kept unless its paired interval
    overlaps a position already paired or already used as a twin, or its twin interval
    overlaps a position already paired.
    """
    if frame.empty:
        return frame
    paired: dict[int, list[tuple[float, float]]] = {}
    twin: dict[int, list[tuple[float, float]]] = {}

    def hits(spans: list[tuple[float, float]], a: float, b: float) -> bool:
        return any(min(b, y) - max(a, x) > 1e-3 for x, y in spans)

    keep = []
    cols = ("edge_id", "twin_edge_id", "start_m", "end_m", "twin_start_m", "twin_end_m")
    for p, q, a, b, t0, t1 in zip(*(frame[c].tolist() for c in cols), strict=True):
        qa, qb = min(t0, t1), max(t0, t1)
        bad = (hits(paired.get(p, []), a, b) or hits(twin.get(p, []), a, b)
               or hits(paired.get(q, []), qa, qb))
        keep.append(not bad)
        if not bad:
            paired.setdefault(p, []).append((a, b))
            twin.setdefault(q, []).append((qa, qb))
    return frame.loc[keep]


def pairs_on_parts(pairs: pd.DataFrame, parent: np.ndarray, offset_m: np.ndarray
                   ) -> pd.DataFrame:
    """``pairs`` of a network whose edges were then cut into parts, on the parts.

    Part ``j`` is the stretch of edge ``parent[j]`` that begins ``offset_m[j]`` metres from
    its ``u`` end; the parts of one edge are consecutive rows, in order along it. A
    matched stretch is split wherever its edge or, through the linear map between the
    two, its twin is cut, so that each row lies on one part of each side.

    >>> pairs = pd.DataFrame({"edge_id": [0], "start_m": [0.0], "end_m": [10.0],
    ...     "twin_edge_id": [1], "twin_start_m": [10.0], "twin_end_m": [0.0],
    ...     "separation_m": [20.0], "run": [0], "name": ["A"], "ref": [None]})
    >>> cut = pairs_on_parts(pairs, np.array([0, 1, 1]), np.array([0.0, 0.0, 4.0]))
    >>> cut[["edge_id", "start_m", "end_m", "twin_edge_id", "twin_start_m", "twin_end_m"]]
       edge_id  start_m  end_m  twin_edge_id  twin_start_m  twin_end_m
    0        0      0.0    6.0             2           6.0         0.0
    1        0      6.0   10.0             1           4.0         0.0
    """
    parent = np.asarray(parent, dtype=np.int64)
    offset = np.asarray(offset_m, dtype=float)
    first = np.searchsorted(parent, np.arange(int(parent.max(initial=-1)) + 2))
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()}
                                     for r in pairs.to_dict("records")]
    for r in records:
        e, q = int(r["edge_id"]), int(r["twin_edge_id"])
        a, b = float(r["start_m"]), float(r["end_m"])
        qa, qb = float(r["twin_start_m"]), float(r["twin_end_m"])
        e_parts = np.arange(first[e], first[e + 1])
        q_parts = np.arange(first[q], first[q + 1])
        cuts = [a, b, *(x for x in offset[e_parts[1:]] if a < x < b)]
        if qb != qa:  # the twin's cuts, at their positions on this side
            cuts += [x for c in offset[q_parts[1:]] if min(qa, qb) < c < max(qa, qb)
                     for x in (a + (c - qa) * (b - a) / (qb - qa),) if a < x < b]
        marks = np.unique(np.asarray(cuts, dtype=float))
        for lo, hi in itertools.pairwise(marks.tolist()):
            tlo = qa + (lo - a) * (qb - qa) / (b - a) if b > a else qa
            thi = qa + (hi - a) * (qb - qa) / (b - a) if b > a else qb
            j = e_parts[np.searchsorted(offset[e_parts], (lo + hi) / 2, side="right") - 1]
            k = q_parts[np.searchsorted(offset[q_parts], (tlo + thi) / 2, side="right") - 1]
            rows.append({**r, "edge_id": int(j), "start_m": lo - offset[j],
                         "end_m": hi - offset[j], "twin_edge_id": int(k),
                         "twin_start_m": tlo - offset[k], "twin_end_m": thi - offset[k]})
    frame = pd.DataFrame(rows, columns=pairs.columns) if rows else pairs.iloc[:0]
    return _typed(frame)


def twin_positions(pairs: pd.DataFrame, row: np.ndarray, pos_m: np.ndarray) -> np.ndarray:
    """The primary edge's positions of positions ``pos_m`` on the paired rows ``row``.

    >>> pairs = pd.DataFrame({"start_m": [0.0], "end_m": [10.0], "twin_start_m": [50.0],
    ...                       "twin_end_m": [40.0]})
    >>> twin_positions(pairs, np.array([0, 0]), np.array([0.0, 2.5])).tolist()
    [50.0, 47.5]
    """
    a = pairs["start_m"].to_numpy(float)[row]
    b = pairs["end_m"].to_numpy(float)[row]
    qa = pairs["twin_start_m"].to_numpy(float)[row]
    qb = pairs["twin_end_m"].to_numpy(float)[row]
    frac = np.where(b - a > 0, (pos_m - a) / np.where(b - a > 0, b - a, 1.0), 0.0)
    return qa + np.clip(frac, 0.0, 1.0) * (qb - qa)


def fold_intervals(pairs: pd.DataFrame, edge: np.ndarray, start: np.ndarray, end: np.ndarray,
                   group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Intervals (``group``, ``edge``, ``start``, ``end``) with the paired intervals folded
    onto their twins: the parts on paired intervals are removed and added, at their twin
    positions, on the primary edges; overlaps within a (group, edge) are merged.

    This is the one place the siting models and the spacing rule map a reach on a paired
    carriageway onto the counted one.

    Returns
    -------
    group, edge, start, end
        Disjoint intervals, sorted by group, edge and start.

    Examples
    --------
    >>> pairs = pd.DataFrame({"edge_id": [1], "start_m": [0.0], "end_m": [10.0],
    ...                       "twin_edge_id": [0], "twin_start_m": [10.0], "twin_end_m": [0.0]})
    >>> g, e, s, t = fold_intervals(pairs, np.array([1]), np.array([2.0]), np.array([14.0]),
    ...                             np.array([7]))
    >>> list(zip(g.tolist(), e.tolist(), s.tolist(), t.tolist()))
    [(7, 0, 0.0, 8.0), (7, 1, 10.0, 14.0)]
    """
    edge = np.asarray(edge, dtype=np.int64)
    group = np.asarray(group, dtype=np.int64)
    start, end = np.asarray(start, float), np.asarray(end, float)
    if len(pairs) == 0 or len(edge) == 0:
        return group, edge, start, end
    rows, iv, count = overlaps(pairs, edge, start, end)
    order, p_a, p_b = sorted_rows(pairs)
    # the parts off every paired interval: between the overlapping rows (in edge order)
    first = np.ones(len(rows), dtype=bool)
    first[1:] = iv[1:] != iv[:-1]
    gap_s = np.where(first, start[iv], np.roll(p_b[rows], 1))  # from the previous row's end
    gap_e = p_a[rows]
    tail_iv = np.flatnonzero(count > 0)
    last_row = rows[np.cumsum(count)[tail_iv] - 1]
    whole = count == 0
    seg_g = np.concatenate([group[whole], group[iv], group[tail_iv]])
    seg_e = np.concatenate([edge[whole], edge[iv], edge[tail_iv]])
    seg_s = np.concatenate([start[whole], np.maximum(gap_s, start[iv]), p_b[last_row]])
    seg_t = np.concatenate([end[whole], np.minimum(gap_e, end[iv]), end[tail_iv]])
    keep = seg_t - seg_s > 0
    # the parts on paired intervals, at their twin positions
    lo, hi = np.maximum(start[iv], p_a[rows]), np.minimum(end[iv], p_b[rows])
    use = hi - lo > 0
    r = order[rows[use]]
    x, y = twin_positions(pairs, r, lo[use]), twin_positions(pairs, r, hi[use])
    q_all = pairs["twin_edge_id"].to_numpy(np.int64)
    g = np.concatenate([seg_g[keep], group[iv][use]])
    e = np.concatenate([seg_e[keep], q_all[r]])
    s = np.concatenate([seg_s[keep], np.minimum(x, y)])
    t = np.concatenate([seg_t[keep], np.maximum(x, y)])
    n_e = int(max(e.max(initial=0), edge.max(initial=0))) + 1
    key, s, t = union(g * n_e + e, s, t)
    return key // n_e, key % n_e, s, t


def sorted_rows(pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pair rows in (edge, start) order: the order, and their starts and ends in it."""
    p_edge = pairs["edge_id"].to_numpy(np.int64)
    a, b = pairs["start_m"].to_numpy(float), pairs["end_m"].to_numpy(float)
    order = np.lexsort((a, p_edge))
    return order, a[order], b[order]


def lex_rank(k_edge: np.ndarray, k_pos: np.ndarray, q_edge: np.ndarray, q_pos: np.ndarray,
              *, inclusive: bool) -> np.ndarray:
    """How many keys (sorted by edge, then position) come before each query (edge,
    position): those less than it, or (``inclusive``) not greater.

    >>> lex_rank(np.array([0, 0, 1]), np.array([1.0, 5.0, 0.0]), np.array([0, 1, 0]),
    ...           np.array([5.0, 3.0, 0.5]), inclusive=True).tolist()
    [2, 3, 0]
    """
    n, m = len(k_edge), len(q_edge)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    e_all = np.concatenate([k_edge, q_edge])
    p_all = np.concatenate([k_pos, q_pos])
    kind = (np.concatenate([np.zeros(n), np.ones(m)]) if inclusive
            else np.concatenate([np.ones(n), np.zeros(m)]))
    o = np.lexsort((kind, p_all, e_all))
    is_key = o < n
    count = np.cumsum(is_key)
    out = np.empty(m, dtype=np.int64)
    at = np.flatnonzero(~is_key)
    out[o[at] - n] = count[at]
    return out


def overlaps(pairs: pd.DataFrame, edge: np.ndarray, start: np.ndarray, end: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which pair rows each interval (edge, start, end) overlaps.

    Returns
    -------
    rows, which, count
        Per (interval, row) overlap: the row's position in (edge, start) order
        (:func:`sorted_rows`) and the interval's index; and per interval the number of
        rows it overlaps (the overlaps come in interval order, then row order).
    """
    order, p_a, p_b = sorted_rows(pairs)
    p_edge = pairs["edge_id"].to_numpy(np.int64)[order]
    first = lex_rank(p_edge, p_b, edge, start, inclusive=True)  # rows ending by start
    last = lex_rank(p_edge, p_a, edge, end, inclusive=False)  # rows starting before end
    count = np.maximum(last - first, 0)
    which = np.repeat(np.arange(len(edge)), count)
    rows = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count,
                                                                   count) + first[which]
    return rows, which, count


def row_at(i_edge: np.ndarray, i_lo: np.ndarray, i_hi: np.ndarray, edge: np.ndarray,
           pos: np.ndarray) -> np.ndarray:
    """The interval (index into ``i_edge``...) holding each position, or -1; of
    overlapping intervals, the one starting last.

    >>> row_at(np.array([3, 3]), np.array([0.0, 10.0]), np.array([5.0, 20.0]),
    ...        np.array([3, 3, 3, 4]), np.array([5.0, 7.0, 10.0, 1.0])).tolist()
    [0, -1, 1, -1]
    """
    out = np.full(len(edge), -1, dtype=np.int64)
    if len(i_edge) == 0 or len(edge) == 0:
        return out
    order = np.lexsort((i_lo, i_edge))
    k = lex_rank(i_edge[order], i_lo[order], edge, pos, inclusive=True) - 1
    cand = order[np.maximum(k, 0)]
    hit = (k >= 0) & (i_edge[cand] == edge) & (pos <= i_hi[cand])
    out[hit] = cand[hit]
    return out


def fold_catchments(network: Any, iv: Any) -> Any:
    """Catchment intervals (:class:`~stationplan._route.catchment.Intervals`) with the
    reach on paired carriageways moved onto their twins (see :func:`fold_intervals`).

    A site that reaches a point of a paired carriageway covers the twin point of the
    counted one; the paired interval itself is not demand. Networks without pairs are
    returned unchanged.
    """
    pairs = getattr(network, "carriageways", None)
    if pairs is None or len(pairs) == 0 or len(iv.edge) == 0:
        return iv
    site, edge, start, end = fold_intervals(pairs, iv.edge, iv.start, iv.end, iv.site)
    return type(iv)(site, edge, start, end)


def paired_spans(network: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paired intervals (edge, start, end) of a network; empty arrays without pairs."""
    pairs = getattr(network, "carriageways", None)
    if pairs is None or len(pairs) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    return (pairs["edge_id"].to_numpy(np.int64), pairs["start_m"].to_numpy(float),
            pairs["end_m"].to_numpy(float))


def on_paired(network: Any, edge: np.ndarray, mid_m: np.ndarray) -> np.ndarray:
    """Whether each position (edge, metres from ``u``) lies on a paired interval."""
    p_edge, a, b = paired_spans(network)
    return row_at(p_edge, a, b, np.asarray(edge, dtype=np.int64), np.asarray(mid_m, float)) >= 0


def paired_points(network: Any, edge: np.ndarray, pos_m: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paired carriageway's points of counted positions: for each position that is
    the twin of a paired interval, the paired edge and its position there.

    Returns
    -------
    which, edge, pos
        Indices into the input of the positions that have a paired point, and that point.
    """
    pairs = getattr(network, "carriageways", None)
    if pairs is None or len(pairs) == 0 or len(edge) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    q = pairs["twin_edge_id"].to_numpy(np.int64)
    qa, qb = pairs["twin_start_m"].to_numpy(float), pairs["twin_end_m"].to_numpy(float)
    a, b = pairs["start_m"].to_numpy(float), pairs["end_m"].to_numpy(float)
    p = pairs["edge_id"].to_numpy(np.int64)
    lo, hi = np.minimum(qa, qb), np.maximum(qa, qb)
    real = np.flatnonzero(hi > lo)
    found = row_at(q[real], lo[real], hi[real], np.asarray(edge, dtype=np.int64),
                   np.asarray(pos_m, float))
    which = np.flatnonzero(found >= 0)
    row = real[found[which]]
    frac = (pos_m[which] - qa[row]) / (qb[row] - qa[row])
    return which, p[row], a[row] + frac * (b[row] - a[row])


def road_positions(network: Any, edge: np.ndarray, pos_m: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Positions moved onto the counted carriageway: a position on a paired interval
    becomes its twin position; others stay. The spacing rule of plans and checks
    measures sites at these positions too (:func:`stationplan.siting.plan_sites`,
    :func:`stationplan.check.check_sites`), so two sites on the two carriageways of one
    road are as far apart as their positions along the road.

    >>> import types
    >>> pairs = pd.DataFrame({"edge_id": [1], "start_m": [0.0], "end_m": [10.0],
    ...                       "twin_edge_id": [0], "twin_start_m": [10.0], "twin_end_m": [0.0]})
    >>> net = types.SimpleNamespace(carriageways=pairs)
    >>> e, x = road_positions(net, np.array([1, 1, 0]), np.array([4.0, 12.0, 3.0]))
    >>> e.tolist(), x.tolist()
    ([0, 1, 0], [6.0, 12.0, 3.0])
    """
    edge = np.asarray(edge, dtype=np.int64).copy()
    pos = np.asarray(pos_m, dtype=float).copy()
    pairs = getattr(network, "carriageways", None)
    if pairs is None or len(pairs) == 0 or len(edge) == 0:
        return edge, pos
    p_edge, a, b = paired_spans(network)
    row = row_at(p_edge, a, b, edge, pos)
    sel = np.flatnonzero(row >= 0)
    pos[sel] = twin_positions(pairs, row[sel], pos[sel])
    edge[sel] = pairs["twin_edge_id"].to_numpy(np.int64)[row[sel]]
    return edge, pos


def pair_layer(network: Any) -> Any:
    """The paired stretches as lines, one row per stretch (``run``), for ``network.gpkg``.

    Returns
    -------
    geopandas.GeoDataFrame
        In the network CRS: ``edge_id`` (the paired side, not counted), ``twin_edge_id``
        (the counted side), ``start_m``, ``end_m`` (on the paired edge), ``name``,
        ``ref``, ``separation_m`` (largest distance between the two lines),
        ``length_m``, and the paired side's line; sorted by ``edge_id`` and ``start_m``.
    """
    import geopandas as gpd
    import shapely.ops

    pairs = getattr(network, "carriageways", None)
    columns = ["edge_id", "twin_edge_id", "start_m", "end_m", "name", "ref", "separation_m",
               "length_m"]
    if pairs is None or len(pairs) == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=network.crs)
    runs = (pairs.groupby("run", sort=True)
            .agg(edge_id=("edge_id", "first"), twin_edge_id=("twin_edge_id", "first"),
                 start_m=("start_m", "min"), end_m=("end_m", "max"), name=("name", "first"),
                 ref=("ref", "first"), separation_m=("separation_m", "max"))
            .sort_values(["edge_id", "start_m"]).reset_index(drop=True))
    runs["length_m"] = runs["end_m"] - runs["start_m"]
    lines = network.edges.geometry.to_numpy()
    geoms = [shapely.ops.substring(lines[k], a, b) for k, a, b in
             zip(runs["edge_id"], runs["start_m"], runs["end_m"], strict=True)]
    return gpd.GeoDataFrame(runs[columns], geometry=geoms, crs=network.crs)
