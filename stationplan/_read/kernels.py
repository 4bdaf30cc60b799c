"""Compiled loops of network reading (numba): points along lines, per vertex and segment.

Each kernel repeats, in the same floating-point order, the GEOS or numpy code it
replaces, so results are identical bit for bit (the tests check them against shapely).
Kernels release the GIL.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit as _jit


@_jit
def _walk(xy, seg, last, total, d):
    """GEOS's point at ``d`` (> 0) metres along a line, searched from vertex ``seg`` (the
    line's length up to it ``total``; ``last`` its last vertex): the segment it lies on,
    the length up to that segment's start, and the point's x and y (the last vertex when
    ``d`` is at or past the end). ``LengthLocationMap.getLocationForward`` and
    ``LinearLocation.getCoordinate``, in their floating-point order."""
    while seg < last:
        dx = xy[seg + 1, 0] - xy[seg, 0]
        dy = xy[seg + 1, 1] - xy[seg, 1]
        seg_len = np.sqrt(dx * dx + dy * dy)
        if total + seg_len > d:
            frac = (d - total) / seg_len
            if frac <= 0.0:
                return seg, total, xy[seg, 0], xy[seg, 1]
            if frac >= 1.0:
                return seg, total, xy[seg + 1, 0], xy[seg + 1, 1]
            return (seg, total, (xy[seg + 1, 0] - xy[seg, 0]) * frac + xy[seg, 0],
                    (xy[seg + 1, 1] - xy[seg, 1]) * frac + xy[seg, 1])
        total += seg_len
        seg += 1
    return seg, total, xy[last, 0], xy[last, 1]


@_jit
def points_along(xy, starts, length_m, n_points):
    """Points at the fractions ``(j + 0.5) / n`` (``j = 0..n-1``, ``n = n_points[i]``)
    along each line ``i``: what ``shapely.line_interpolate_point(line, frac,
    normalized=True)`` gives, with GEOS's arithmetic (``LengthIndexedLine``).

    ``xy[starts[i]:starts[i + 1]]`` are the vertices of line ``i`` (at least one) and
    ``length_m[i]`` its length as GEOS measures it (``shapely.length``). Returns the
    points line by line, ``n_points.sum()`` rows of x, y.
    """
    out = np.empty((n_points.sum(), 2))
    k = 0
    for i in range(len(n_points)):
        seg = starts[i]  # the segment from vertex seg to seg + 1
        total = 0.0  # the line's length up to vertex seg
        for j in range(n_points[i]):
            d = ((j + 0.5) / n_points[i]) * length_m[i]
            if d <= 0.0:  # GEOS: the start of the line
                out[k, 0], out[k, 1] = xy[starts[i], 0], xy[starts[i], 1]
            else:  # d grows with j: carry on from point j - 1
                seg, total, out[k, 0], out[k, 1] = _walk(xy, seg, starts[i + 1] - 1, total, d)
            k += 1
    return out


@_jit
def grid_sum_along(xy, starts, length_m, n_points, weights, x0, y0, cell_m, n_rows, n_cols):
    """:func:`grid_sum` of the points of :func:`points_along`, those of line ``i`` weighing
    ``weights[i]`` each: the same sums in the same order, without the array of points."""
    grid = np.zeros((n_rows, n_cols))
    for i in range(len(n_points)):
        seg = starts[i]
        total = 0.0
        for j in range(n_points[i]):
            d = ((j + 0.5) / n_points[i]) * length_m[i]  # as points_along
            if d <= 0.0:
                x, y = xy[starts[i], 0], xy[starts[i], 1]
            else:
                seg, total, x, y = _walk(xy, seg, starts[i + 1] - 1, total, d)
            grid[_cell_of(x, y, x0, y0, cell_m, n_rows, n_cols)] += weights[i]
    return grid


@_jit
def points_at(xy, starts, line, distance_m):
    """The point ``distance_m[k]`` metres along line ``line[k]`` for each ``k`` (the
    start at 0 or less, the end past it), as GEOS's ``GEOSInterpolate`` finds it for a
    distance from the start. ``xy`` and ``starts`` as for :func:`points_along`."""
    out = np.empty((len(line), 2))
    for k in range(len(line)):
        first = starts[line[k]]
        d = distance_m[k]
        if d <= 0.0:
            out[k, 0] = xy[first, 0]
            out[k, 1] = xy[first, 1]
        else:
            _, _, out[k, 0], out[k, 1] = _walk(xy, first, starts[line[k] + 1] - 1, 0.0, d)
    return out


@_jit
def grid_sum(xy, weights, x0, y0, cell_m, n_rows, n_cols):
    """Sum ``weights`` into a grid of ``cell_m`` squares from (x0, y0), ``n_rows`` by
    ``n_cols``, a point outside it counted in the nearest edge cell: what numpy gives
    with ``ix = np.clip(((x - x0) // cell_m).astype(np.int64), 0, n_cols - 1)`` (floor
    division as numpy and Python do it, then truncation) and ``np.add.at(grid, (iy, ix),
    weights)`` (in the order of the points), without the arrays of cells."""
    grid = np.zeros((n_rows, n_cols))
    for k in range(len(xy)):
        grid[_cell_of(xy[k, 0], xy[k, 1], x0, y0, cell_m, n_rows, n_cols)] += weights[k]
    return grid


@_jit
def _cell_of(x, y, x0, y0, cell_m, n_rows, n_cols):
    """The row and column of (x, y) in :func:`grid_sum`'s grid."""
    ix = min(max(np.int64(_floor_division(x - x0, cell_m)), 0), n_cols - 1)
    iy = min(max(np.int64(_floor_division(y - y0, cell_m)), 0), n_rows - 1)
    return iy, ix


@_jit
def _floor_division(a, b):
    """``a // b`` as numpy and Python compute it (the floor of the exact quotient), with a
    division and a floor where their quotient is no whole number: then no whole number
    lies between it and the exact quotient, so their floors are the same."""
    q = a / b
    f = np.floor(q)
    if f == q:
        f = a // b
    return f


@_jit
def grid_cells(xy, x0, y0, cell_m, n_cols):
    """The cell of each point in a grid of ``cell_m`` squares from (x0, y0), numbered
    row by row (``n_cols`` a row); the same arithmetic as :func:`ends_near_lines`."""
    out = np.empty(len(xy), dtype=np.int64)
    for k in range(len(xy)):
        cx = int(np.floor((xy[k, 0] - x0) / cell_m))
        cy = int(np.floor((xy[k, 1] - y0) / cell_m))
        out[k] = cy * n_cols + cx
    return out


@_jit
def stable_argsort(keys):
    """``np.argsort(keys, kind="stable")`` of whole numbers >= 0, by radix: 11 bits a
    pass, from the lowest (a digit every key shares is passed over); stable, so the
    same order."""
    n = len(keys)
    order = np.arange(n)
    if n == 0:
        return order
    top = keys.max()
    mask = (1 << 11) - 1
    now = keys.copy()
    moved = np.empty(n, dtype=keys.dtype)
    moved_order = np.empty(n, dtype=np.int64)
    shift = 0
    while shift < 63 and (top >> shift) > 0:
        start = np.zeros(mask + 2, dtype=np.int64)  # where each digit's keys go
        for i in range(n):
            start[((now[i] >> shift) & mask) + 1] += 1
        if start.max() < n:
            for d in range(1, mask + 2):
                start[d] += start[d - 1]
            for i in range(n):
                d = (now[i] >> shift) & mask
                moved[start[d]] = now[i]
                moved_order[start[d]] = order[i]
                start[d] += 1
            now, moved = moved, now
            order, moved_order = moved_order, order
        shift += 11
    return order


@_jit
def by_cell(cells, cell_start):
    """The points in the order of their cells, each cell's in theirs:
    ``np.argsort(cells, kind="stable")`` by counting, ``cell_start`` each cell's first
    place (the running sum of the points per cell)."""
    order = np.empty(len(cells), dtype=np.int64)
    at = cell_start[:-1].copy()
    for k in range(len(cells)):
        order[at[cells[k]]] = k
        at[cells[k]] += 1
    return order


@_jit
def ends_near_lines(xy, starts, ends, reach_m, x0, y0, cell_m, n_rows, n_cols, cell_start,
                    in_cell, max_cells):
    """Pairs (end, line) of a line end and another line that passes within about
    ``reach_m`` of it, where the end is neither of that line's own ends: the candidates a
    GEOS ``dwithin`` test then decides (``reach_m`` is meant larger than its distance).

    Lines are ``xy[starts[i]:starts[i + 1]]``; ends ``2 i`` and ``2 i + 1`` are line
    ``i``'s. The ends are found through a grid of ``n_rows`` by ``n_cols`` cells
    (:func:`grid_cells`) that holds them all: ``in_cell[cell_start[c]:cell_start[c + 1]]``
    are the ends in cell ``c``. A segment whose box spans more than ``max_cells`` cells is not
    searched: its line is returned in ``skipped`` (search it another way). Returns
    ``(end, line, skipped)``, pairs in no particular order, each once.
    """
    cap = 1024
    pe = np.empty(cap, dtype=np.int64)
    pl = np.empty(cap, dtype=np.int64)
    m = 0
    skipped = np.zeros(len(starts) - 1, dtype=np.bool_)
    seen = np.full(len(ends), -1, dtype=np.int64)  # the last line paired with each end
    r2 = reach_m * reach_m
    for ln in range(len(starts) - 1):
        ax_, ay_ = ends[2 * ln, 0], ends[2 * ln, 1]
        bx_, by_ = ends[2 * ln + 1, 0], ends[2 * ln + 1, 1]
        for s in range(starts[ln], starts[ln + 1] - 1):
            ax, ay = xy[s, 0], xy[s, 1]
            bx, by = xy[s + 1, 0], xy[s + 1, 1]
            lo_x = min(ax, bx) - reach_m
            hi_x = max(ax, bx) + reach_m
            lo_y = min(ay, by) - reach_m
            hi_y = max(ay, by) + reach_m
            cx0 = max(int(np.floor((lo_x - x0) / cell_m)), 0)  # ends lie in columns
            cx1 = min(int(np.floor((hi_x - x0) / cell_m)), n_cols - 1)  # 0..n_cols - 1
            cy0 = int(np.floor((lo_y - y0) / cell_m))
            cy1 = int(np.floor((hi_y - y0) / cell_m))
            if cx0 > cx1:
                continue
            if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > max_cells:
                skipped[ln] = True
                continue
            dx = bx - ax
            dy = by - ay
            len2 = dx * dx + dy * dy
            for cy in range(max(cy0, 0), min(cy1, n_rows - 1) + 1):  # ends lie in these rows
                for c in range(cy * n_cols + cx0, cy * n_cols + cx1 + 1):
                    for q in range(cell_start[c], cell_start[c + 1]):
                        e = in_cell[q]
                        if e // 2 == ln or seen[e] == ln:
                            continue
                        px, py = ends[e, 0], ends[e, 1]
                        if (px == ax_ and py == ay_) or (px == bx_ and py == by_):
                            continue  # already joined to the line's end
                        if px < lo_x or px > hi_x or py < lo_y or py > hi_y:
                            continue
                        # squared distance from the point to the segment
                        t = 0.0
                        if len2 > 0.0:
                            t = ((px - ax) * dx + (py - ay) * dy) / len2
                            t = min(max(t, 0.0), 1.0)
                        qx = ax + t * dx - px
                        qy = ay + t * dy - py
                        if qx * qx + qy * qy > r2:
                            continue
                        seen[e] = ln
                        if m == cap:
                            pe = np.concatenate((pe, np.empty(cap, dtype=np.int64)))
                            pl = np.concatenate((pl, np.empty(cap, dtype=np.int64)))
                            cap *= 2
                        pe[m] = e
                        pl[m] = ln
                        m += 1
    return pe[:m], pl[:m], np.flatnonzero(skipped)


@_jit
def wkb_linestrings(data, at, valid):
    """The vertices of LineStrings in 2D little-endian WKB, ``data[at[i]:at[i + 1]]`` the
    WKB of line ``i`` (none where not ``valid``): whether every valid line is one (of 0
    or at least 2 vertices, as GEOS reads them), the number of vertices of each line, and
    all vertices (x, y rows; the bytes as they are: a little-endian machine's doubles)."""
    n_points = np.zeros(len(valid), dtype=np.int64)
    for i in range(len(valid)):
        s = at[i]
        size = at[i + 1] - s
        if not valid[i]:
            if size != 0:
                return False, n_points, np.empty((0, 2))
            continue
        if size < 9 or data[s] != 1 or data[s + 1] != 2 or data[s + 2] != 0 \
                or data[s + 3] != 0 or data[s + 4] != 0:
            return False, n_points, np.empty((0, 2))
        n = (np.int64(data[s + 5]) | np.int64(data[s + 6]) << 8
             | np.int64(data[s + 7]) << 16 | np.int64(data[s + 8]) << 24)
        if n == 1 or size != 9 + 16 * n:
            return False, n_points, np.empty((0, 2))
        n_points[i] = n
    xy = np.empty((n_points.sum(), 2))
    out = xy.reshape(-1).view(np.uint8)
    k = 0
    for i in range(len(valid)):
        for b in range(at[i] + 9, at[i] + 9 + 16 * n_points[i]):
            out[k] = data[b]
            k += 1
    return True, n_points, xy


@_jit
def near_roots(xy, tol, cell_key, order, n_cols):
    """For each point, the lowest-numbered point of its group: points chained by
    distances of at most ``tol`` (``dx * dx + dy * dy <= tol * tol``, as
    ``scipy.spatial.cKDTree.query_pairs`` tests them).

    ``cell_key`` is each point's cell ``row * n_cols + column`` in a grid of squares at
    least ``tol`` wide, ``order`` the points by cell (``np.argsort(cell_key)``): points
    within ``tol`` of each other lie in the same or neighbouring cells.
    """
    n = len(xy)
    root = np.arange(n)
    r2 = tol * tol
    keys = cell_key[order]
    up = 0  # the first point at or after the cells above the current one
    i = 0
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        _join_near(xy, r2, root, order, i, j, i, j)  # within the cell
        # the cells after it: the next one in the row, and the three above it (the
        # others compare themselves with this one)
        hi = j
        while hi < n and keys[hi] == keys[i] + 1:
            hi += 1
        _join_near(xy, r2, root, order, i, j, j, hi)
        while up < n and keys[up] < keys[i] + n_cols - 1:
            up += 1
        hi = up
        while hi < n and keys[hi] <= keys[i] + n_cols + 1:
            hi += 1
        _join_near(xy, r2, root, order, i, j, up, hi)
        i = j
    for k in range(n):
        root[k] = _root_of(root, k)
    return root


@_jit
def _join_near(xy, r2, root, order, a0, a1, b0, b1):
    """Join the points ``order[a0:a1]`` to those of ``order[b0:b1]`` within ``r2`` squared
    (each pair once when the ranges are the same); a group's root is its lowest number."""
    for p in range(a0, a1):
        a = order[p]
        for q in range(max(b0, p + 1) if b0 == a0 else b0, b1):
            b = order[q]
            dx = xy[a, 0] - xy[b, 0]
            dy = xy[a, 1] - xy[b, 1]
            if dx * dx + dy * dy <= r2:
                ra = _root_of(root, a)
                rb = _root_of(root, b)
                if ra < rb:
                    root[rb] = ra
                elif rb < ra:
                    root[ra] = rb


@_jit
def _root_of(root, k):
    """The root of ``k``'s group (halving the path on the way)."""
    while root[k] != k:
        root[k] = root[root[k]]
        k = root[k]
    return k


@_jit
def edge_components(u, v, n_nodes):
    """The connected pieces of the graph of ``n_nodes`` nodes and the edges ``u[k]``-``v[k]``
    as ``scipy.sparse.csgraph.connected_components(directed=False)`` numbers them: by
    their lowest node. Returns their number and each node's piece (``int32``)."""
    root = np.arange(n_nodes)
    for k in range(len(u)):
        a = _root_of(root, u[k])
        b = _root_of(root, v[k])
        if a < b:
            root[b] = a
        elif b < a:
            root[a] = b
    label = np.empty(n_nodes, dtype=np.int32)
    n = 0
    for k in range(n_nodes):
        r = _root_of(root, k)  # k or a lower node, numbered before
        if r == k:
            label[k] = n
            n += 1
        else:
            label[k] = label[r]
    return n, label
