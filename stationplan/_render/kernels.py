"""Compiled map-drawing loops (numba): the pairing of line ends and the walk that chains
merged lines through junctions, the Douglas–Peucker simplification of lines, the numbering
of equal points, the corners that may lie on the map view's hull, the JSON text of the
lines' whole-number coordinates, and the strokes of the PNG's many lines.

Each kernel but the strokes gives what the Python or numpy code it replaces gave, so the
map's bytes stay the same (the tests check the chains against the segments they are made
of, the numbers against a dictionary of the points, the hull against Qhull on every
point); the strokes stand in for Agg's (the tests check the share of each pixel against
the exact area of the stroke in it, and the PNG against Agg's). Kernels release the GIL,
so callers may run them on several threads.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit as _jit


@_jit
def chain_walk(mate):
    """Walk ``m`` lines into chains through the ends they are paired at.

    Half-edge ``h < m`` is the start of line ``h``, ``h >= m`` the end of line ``h - m``;
    ``mate[h]`` is the half-edge ``h`` is paired with at its point, or -1. Chains start at
    the unpaired ends in order, then at each line not yet walked (closed chains); a walk
    enters a line by one end and leaves it by the other.

    Returns
    -------
    seq : numpy.ndarray
        The lines in chain order, a line walked from its end as ``-1 - line``.
    chain : numpy.ndarray
        The chain of each entry of ``seq``, numbered from 0.
    """
    m = len(mate) // 2
    seen = np.zeros(m, dtype=np.bool_)
    seq = np.empty(m, dtype=np.int64)
    chain = np.empty(m, dtype=np.int64)
    k = 0
    n_chains = 0
    for h0 in range(3 * m):  # the unpaired ends, then every line
        if h0 < 2 * m:
            if mate[h0] >= 0 or seen[h0 % m]:
                continue
            h = h0
        else:
            if seen[h0 - 2 * m]:
                continue
            h = h0 - 2 * m
        while h >= 0 and not seen[h % m]:
            p = h % m
            seen[p] = True
            seq[k] = -1 - p if h >= m else p
            chain[k] = n_chains
            k += 1
            h = mate[p] if h >= m else mate[p + m]  # leave by the other end
        n_chains += 1
    return seq, chain


@_jit
def pair_ends(node):
    """Pair the half-edges at each point two by two, in order: ``node[h]`` is the point of
    half-edge ``h``; returns the ``mate`` of each (:func:`chain_walk`), -1 for the last of
    an odd number at its point."""
    pending = np.full(len(node), -1, dtype=np.int64)  # point -> half-edge waiting there
    mate = np.full(len(node), -1, dtype=np.int64)
    for h in range(len(node)):
        other = pending[node[h]]
        if other >= 0:
            mate[h] = other
            mate[other] = h
            pending[node[h]] = -1
        else:
            pending[node[h]] = h
    return mate


@_jit
def chain_points(seq, chain, start, stop, order, xy):
    """The points of the chains walked by :func:`chain_walk`, chain ``order[0]`` first.

    ``seq`` and ``chain`` are what :func:`chain_walk` returns; line ``i`` has the points
    ``xy[start[i]]`` to ``xy[stop[i]]``. A chain is its lines' points in walking order (a
    line walked from its end backwards), each line after the first without its first
    point (the one it shares with the line before).

    Returns
    -------
    points : numpy.ndarray
        The points (n, 2), chain after chain.
    count : numpy.ndarray
        The number of points of each chain, in ``order``.
    """
    n_chains = len(order)
    begin = np.empty(n_chains + 1, dtype=np.int64)
    begin[n_chains] = len(seq)
    for e in range(len(seq) - 1, -1, -1):
        begin[chain[e]] = e
    count = np.zeros(n_chains, dtype=np.int64)
    for c in range(n_chains):
        k = order[c]
        for e in range(begin[k], begin[k + 1]):
            line = seq[e] if seq[e] >= 0 else -1 - seq[e]
            count[c] += stop[line] - start[line] + (1 if e == begin[k] else 0)
    points = np.empty((count.sum(), 2), dtype=xy.dtype)
    w = 0
    for c in range(n_chains):
        k = order[c]
        for e in range(begin[k], begin[k + 1]):
            skip = 0 if e == begin[k] else 1
            if seq[e] >= 0:
                for i in range(start[seq[e]] + skip, stop[seq[e]] + 1):
                    points[w, 0] = xy[i, 0]
                    points[w, 1] = xy[i, 1]
                    w += 1
            else:
                line = -1 - seq[e]
                for i in range(stop[line] - skip, start[line] - 1, -1):
                    points[w, 0] = xy[i, 0]
                    points[w, 1] = xy[i, 1]
                    w += 1
    return points, count


@_jit
def _segment_distance(px, py, ax, ay, bx, by):
    """The distance from a point to a segment, computed as GEOS computes it (its
    ``Distance::pointToSegment``, operation for operation)."""
    if ax == bx and ay == by:
        return np.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        return np.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    if r >= 1.0:
        return np.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * np.sqrt(len2)


@_jit
def stroke_cover(cover, x, y, start, half_width, clip):
    """Stroke lines into ``cover``: each pixel keeps the largest share of it that any
    segment's stroke covers (round caps and joins), so that a layer of lines of one colour
    is painted once where its lines overlap, as Agg paints a compound path.

    The share is the overlap of the pixel, one unit wide across the stroke, with the
    stroke ``2 * half_width`` wide at the distance ``d`` of the pixel's centre from the
    segment (:func:`_segment_distance`): ``min(half_width, d + 1/2) - max(-half_width,
    d - 1/2)``, at most 1. Exact
    for a pixel crossed by a long stroke parallel to its sides, close elsewhere.

    Parameters
    ----------
    cover
        Float array (rows, columns), updated in place.
    x, y
        The points' column and row coordinates (pixel ``(r, c)`` spans ``[c, c + 1]`` ×
        ``[r, r + 1]``); a segment with a point that is not finite is not drawn.
    start
        Index of each line's first point in ``x`` and ``y``, then ``len(x)``.
    half_width
        Half the stroke's width, in pixels.
    clip
        ``(first column, first row, last column + 1, last row + 1)``: pixels drawn on.
    """
    reach = half_width + 0.5  # a pixel whose centre is farther from the line is clear
    for line in range(len(start) - 1):
        for i in range(start[line], start[line + 1] - 1):
            ax, ay, bx, by = x[i], y[i], x[i + 1], y[i + 1]
            if not (np.isfinite(ax) and np.isfinite(ay) and np.isfinite(bx)
                    and np.isfinite(by)):
                continue
            dx, dy = bx - ax, by - ay
            r0 = max(clip[1], int(np.floor(min(ay, by) - reach)))
            r1 = min(clip[3], int(np.ceil(max(ay, by) + reach)) + 1)
            for row in range(r0, r1):
                cy = row + 0.5
                # the part of the segment within reach of this row's centres
                lo, hi = 0.0, 1.0
                if dy != 0.0:
                    t0 = (cy - reach - ay) / dy
                    t1 = (cy + reach - ay) / dy
                    lo, hi = max(0.0, min(t0, t1)), min(1.0, max(t0, t1))
                    if lo > hi:
                        continue
                xa, xb = ax + lo * dx, ax + hi * dx
                c0 = max(clip[0], int(np.floor(min(xa, xb) - reach)))
                c1 = min(clip[2], int(np.ceil(max(xa, xb) + reach)) + 1)
                for col in range(c0, c1):
                    if cover[row, col] >= 1.0:  # covered whole already
                        continue
                    d = _segment_distance(col + 0.5, cy, ax, ay, bx, by)
                    share = min(min(half_width, d + 0.5) - max(-half_width, d - 0.5), 1.0)
                    if share > cover[row, col]:
                        cover[row, col] = share


@_jit
def paint_cover(image, cover, red, green, blue):
    """Paint ``image`` (rows, columns, 3 floats) with the colour ``(red, green, blue)``
    where ``cover`` (:func:`stroke_cover`) says, in that share (source over), and clear
    ``cover`` for the next layer."""
    rows, cols = cover.shape
    for row in range(rows):
        for col in range(cols):
            share = cover[row, col]
            if share > 0.0:
                image[row, col, 0] += (red - image[row, col, 0]) * share
                image[row, col, 1] += (green - image[row, col, 1]) * share
                image[row, col, 2] += (blue - image[row, col, 2]) * share
                cover[row, col] = 0.0


@_jit
def simplified_points(x, y, count, tolerance):
    """The points each line keeps when simplified by Douglas–Peucker to ``tolerance``:
    what ``shapely.simplify(line, tolerance, preserve_topology=False)`` keeps of a
    LineString (its ends always), for lines of ``count`` points one after the other.

    Returns a mask of the points kept and the number each line keeps.
    """
    keep = np.ones(len(x), dtype=np.bool_)
    kept = count.copy()
    stack_i = np.empty(max(count.max(), 1) if len(count) else 1, dtype=np.int64)
    stack_j = np.empty_like(stack_i)
    first = 0
    for c in range(len(count)):
        top = 0
        if count[c] > 2:
            stack_i[0] = first
            stack_j[0] = first + count[c] - 1
            top = 1
        while top > 0:  # the sections left, in any order: they share no inner point
            top -= 1
            i, j = stack_i[top], stack_j[top]
            if i + 1 == j:
                continue
            far = -1.0
            at = i
            for k in range(i + 1, j):
                d = _segment_distance(x[k], y[k], x[i], y[i], x[j], y[j])
                if d > far:
                    far = d
                    at = k
            if far <= tolerance:
                keep[i + 1:j] = False
                kept[c] -= j - i - 1
            else:
                stack_i[top], stack_j[top] = i, at
                stack_i[top + 1], stack_j[top + 1] = at, j
                top += 2
        first += count[c]
    return keep, kept


@_jit
def point_numbers(x, y, group):
    """Number the points ``(x[i], y[i])`` of each ``group[i]`` in order of first
    appearance: equal when all three are (bit for bit; the caller turns -0.0 into 0.0).

    What ``pandas.factorize`` gives for the ``(x, y, group)`` triples, through one open
    hash table of the first point of each distinct triple instead of a table of Python
    complex numbers and a second one of the combined keys. The table holds 32-bit
    positions while they fit (half the memory: a table for a million points stays in
    the processor's cache).
    """
    size = 16
    while size < 2 * len(x):
        size *= 2
    if len(x) < 2**31 - 1:
        return _point_numbers(x, y, group, np.zeros(size, dtype=np.int32))
    return _point_numbers(x, y, group, np.zeros(size, dtype=np.int64))


@_jit
def _point_numbers(x, y, group, first):
    """:func:`point_numbers` with its empty table ``first`` (a power of two of slots,
    each the first point of its triple plus one, 0 while free)."""
    n = len(x)
    mask = np.uint64(len(first) - 1)
    number = np.empty(n, dtype=np.int64)
    xb = x.view(np.uint64)
    yb = y.view(np.uint64)
    count = 0
    for i in range(n):
        g = np.uint64(group[i])
        h = xb[i] ^ (yb[i] * np.uint64(0x9E3779B97F4A7C15)) ^ (g * np.uint64(0xC2B2AE3D27D4EB4F))
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's mix
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        slot = (h ^ (h >> np.uint64(31))) & mask
        while True:
            j = np.int64(first[slot]) - 1
            if j < 0:
                first[slot] = i + 1
                number[i] = count
                count += 1
                break
            if xb[j] == xb[i] and yb[j] == yb[i] and group[j] == group[i]:
                number[i] = number[j]
                break
            slot = (slot + np.uint64(1)) & mask
    return number


@_jit
def hull_candidates(x, y):
    """The points ``(x[i], y[i])`` that may lie on their convex hull: all but those
    strictly inside the octagon of the extreme points in eight directions (Akl and
    Toussaint's filter; NaN points are left out). Returns their positions, in order.

    A point is dropped only when it lies inside every edge of the octagon by more than
    a rounding error's margin, so every hull vertex is kept; a degenerate octagon (the
    points on a line) drops nothing.
    """
    n = len(x)
    best = np.full(8, -np.inf)
    at = np.full(8, -1, dtype=np.int64)
    for i in range(n):
        px, py = x[i], y[i]
        if px != px or py != py:
            continue
        # east, north-east, north, north-west, west, south-west, south, south-east
        for d, v in enumerate((px, px + py, py, py - px, -px, -px - py, -py, px - py)):
            if v > best[d]:
                best[d] = v
                at[d] = i
    keep = np.empty(n, dtype=np.int64)
    m = 0
    if at[0] < 0:
        return keep[:0]
    for i in range(n):
        px, py = x[i], y[i]
        if px != px or py != py:
            continue
        inside = True
        for d in range(8):
            ax, ay = x[at[d]], y[at[d]]
            bx, by = x[at[(d + 1) % 8]], y[at[(d + 1) % 8]]
            cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            margin = 1e-9 * (abs(bx - ax) + abs(by - ay)) * (abs(px - ax) + abs(py - ay))
            if not cross > margin:
                inside = False
                break
        if not inside:
            keep[m] = i
            m += 1
    return keep[:m]


@_jit
def _digits(value, out, at):
    """Write ``value`` (a whole number) in decimal into ``out`` from ``at``, as Python's
    ``str`` writes it; the position after it."""
    if value < 0:
        out[at] = 45  # "-"
        at += 1
        value = -value
    n = 1
    rest = value // 10
    while rest > 0:
        n += 1
        rest //= 10
    for k in range(n - 1, -1, -1):
        out[at + k] = 48 + value % 10
        value //= 10
    return at + n


@_jit
def int_lists_json(flat, line_at, group_at, alone):
    """The compact JSON text (``json.dumps(..., separators=(",", ":"))``) of each group's
    lists of whole numbers: the numbers ``flat[line_at[i]:line_at[i + 1]]`` make line
    ``i``; group ``g`` has the lines ``group_at[g]:group_at[g + 1]``, written as a list of
    lists (``[[1,2],[3,4]]``), or, where ``alone[g]``, as its one line's list
    (``[1,2]``). Returns the ASCII bytes of every text, one after the other, and where
    each starts (one more entry: the end)."""
    n_groups = len(group_at) - 1
    size = 0
    for v in flat:  # each number's digits, its sign and a comma
        a = v if v >= 0 else -v
        d = 2 if v >= 0 else 3
        while a >= 10:
            a //= 10
            d += 1
        size += d
    size += 3 * len(line_at) + 2 * n_groups + 2  # brackets and commas of the lines
    out = np.empty(size, dtype=np.uint8)
    text_at = np.empty(n_groups + 1, dtype=np.int64)
    at = 0
    for g in range(n_groups):
        text_at[g] = at
        a, b = group_at[g], group_at[g + 1]
        if not alone[g]:
            out[at] = 91  # "["
            at += 1
        for i in range(a, b):
            if i > a:
                out[at] = 44  # ","
                at += 1
            out[at] = 91
            at += 1
            for j in range(line_at[i], line_at[i + 1]):
                if j > line_at[i]:
                    out[at] = 44
                    at += 1
                at = _digits(flat[j], out, at)
            out[at] = 93  # "]"
            at += 1
        if not alone[g]:
            out[at] = 93
            at += 1
    text_at[n_groups] = at
    return out[:at], text_at
