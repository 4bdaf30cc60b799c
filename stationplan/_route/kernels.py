"""Compiled routing loops (numba): searches from many sites, edge cutting, piece geometry.

Each kernel repeats, in the same floating-point order, the array code it replaces, so
results are identical to the pure numpy/scipy versions (the tests check them against
networkx and paper values). Kernels release the GIL, so callers may run them on
several threads.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit as _jit

_INF = np.inf


# --- bounded search from each site: the coverage sets -----------------------------------

@_jit
def _heap_push(hd, hn, size, d, node):
    i = size
    hd[i] = d
    hn[i] = node
    while i > 0:
        parent = (i - 1) >> 1
        if hd[parent] <= d:
            break
        hd[i] = hd[parent]
        hn[i] = hn[parent]
        i = parent
    hd[i] = d
    hn[i] = node
    return size + 1


@_jit
def _heap_pop(hd, hn, size):
    d0 = hd[0]
    n0 = hn[0]
    size -= 1
    if size > 0:
        d = hd[size]
        node = hn[size]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            if child + 1 < size and hd[child + 1] < hd[child]:
                child += 1
            if hd[child] >= d:
                break
            hd[i] = hd[child]
            hn[i] = hn[child]
            i = child
        hd[i] = d
        hn[i] = node
    return d0, n0, size


@_jit
def coverage_sets(indptr, indices, weights, seed_node, seed_cost, seed_ptr, limit,
                  inc_ptr_u, inc_unit_u, base_u, inc_ptr_v, inc_unit_v, base_v,
                  same_lo, same_hi, unit_mid, site_off, site_fwd, site_bwd, n_units):
    """Units covered by each site: a bounded Dijkstra per site that touches only the
    nodes it reaches, then the units incident to those nodes, then the site's own edge.

    Sites are seeded at the edge ends they can be reached from (``seed_*``, CSR-like by
    site). Returns ``(count, rows)``: units per site and the sorted unit ids, site by site.
    """
    n = len(indptr) - 1
    k = len(seed_ptr) - 1
    dist = np.full(n, _INF)
    done = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    hd = np.empty(max(len(indices), 1) + len(seed_node), dtype=np.float64)
    hn = np.empty(max(len(indices), 1) + len(seed_node), dtype=np.int64)
    stamp = np.full(n_units, -1, dtype=np.int64)
    count = np.zeros(k, dtype=np.int64)
    rows = np.empty(max(1024, 64 * k), dtype=np.int32)
    filled = 0
    local = np.empty(1024, dtype=np.int32)
    for s in range(k):
        n_touched = 0
        size = 0
        for q in range(seed_ptr[s], seed_ptr[s + 1]):
            node = seed_node[q]
            c = seed_cost[q]
            if c <= limit and c < dist[node]:
                if dist[node] == _INF:
                    touched[n_touched] = node
                    n_touched += 1
                dist[node] = c
                size = _heap_push(hd, hn, size, c, node)
        while size > 0:
            d, x, size = _heap_pop(hd, hn, size)
            if done[x] or d > dist[x]:
                continue
            done[x] = True
            for j in range(indptr[x], indptr[x + 1]):
                y = indices[j]
                if done[y]:
                    continue
                nd = d + weights[j]
                if nd <= limit and nd < dist[y]:
                    if dist[y] == _INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    size = _heap_push(hd, hn, size, nd, y)
        m = 0
        for t in range(n_touched):
            x = touched[t]
            d = dist[x]
            for ptr, unit_of, base in ((inc_ptr_u, inc_unit_u, base_u),
                                       (inc_ptr_v, inc_unit_v, base_v)):
                for j in range(ptr[x], ptr[x + 1]):
                    unit = unit_of[j]
                    if base[unit] + d <= limit + 1e-9 and stamp[unit] != s:
                        stamp[unit] = s
                        if m == len(local):
                            local = np.concatenate((local, np.empty(m, dtype=np.int32)))
                        local[m] = unit
                        m += 1
            dist[x] = _INF
            done[x] = False
        # units on the site's own edge that it reaches directly
        off = site_off[s]
        for unit in range(same_lo[s], same_hi[s]):
            mid = unit_mid[unit]
            if mid < off:
                cost = off - mid if site_fwd[s] else _INF
            else:
                cost = mid - off if site_bwd[s] else _INF
            if cost <= limit + 1e-9 and stamp[unit] != s:
                stamp[unit] = s
                if m == len(local):
                    local = np.concatenate((local, np.empty(m, dtype=np.int32)))
                local[m] = unit
                m += 1
        if filled + m > len(rows):
            bigger = np.empty(max(2 * len(rows), filled + m), dtype=np.int32)
            bigger[:filled] = rows[:filled]
            rows = bigger
        rows[filled:filled + m] = np.sort(local[:m])
        filled += m
        count[s] = m
    return count, rows[:filled].copy()


# --- nearest station: one multi-source search --------------------------------------------

@_jit
def _push_packed(hd, hk, size, d, key):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if hd[parent] < d or (hd[parent] == d and hk[parent] <= key):
            break
        hd[i] = hd[parent]
        hk[i] = hk[parent]
        i = parent
    hd[i] = d
    hk[i] = key
    return size + 1


@_jit
def _pop_packed(hd, hk, size):
    d0, k0 = hd[0], hk[0]
    size -= 1
    if size > 0:
        d, key = hd[size], hk[size]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= size:
                break
            right = child + 1
            if right < size and (hd[right] < hd[child]
                                 or (hd[right] == hd[child] and hk[right] < hk[child])):
                child = right
            if hd[child] > d or (hd[child] == d and hk[child] >= key):
                break
            hd[i] = hd[child]
            hk[i] = hk[child]
            i = child
        hd[i] = d
        hk[i] = key
    return d0, k0, size


@_jit
def nearest_source(indptr, indices, weights, seed_node, seed_cost, seed_src, limit):
    """Distance from each node to its nearest source, and which source, by one bounded
    Dijkstra from all sources at once (sources seeded at their nodes with a cost).

    Labels are (distance, source) pairs compared in that order, so a node at the same
    distance from two sources gets the lower-numbered one. Nodes beyond ``limit`` get
    ``inf`` and -1. Heap entries are (distance, source << 32 | node): one key compares
    the pair, and the node rides along (fewer than 2**32 nodes and sources). A label only
    ever decreases and a settled node's cannot (weights are not negative), so an entry
    whose label is no longer the node's is stale, and no "settled" array is needed.
    """
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    src = np.full(n, -1, dtype=np.int64)
    cap = len(indices) + len(seed_node) + 1
    hd = np.empty(cap)
    hk = np.empty(cap, dtype=np.int64)
    low = np.int64(0xFFFFFFFF)
    size = 0
    for q in range(len(seed_node)):
        x = seed_node[q]
        c = seed_cost[q]
        s = seed_src[q]
        if c <= limit and (c < dist[x] or (c == dist[x] and s < src[x])):
            dist[x] = c
            src[x] = s
            size = _push_packed(hd, hk, size, c, (np.int64(s) << 32) | x)
    while size > 0:
        d, key, size = _pop_packed(hd, hk, size)
        x = key & low
        s = key >> 32
        if d != dist[x] or s != src[x]:
            continue
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            nd = d + weights[j]
            if nd <= limit and (nd < dist[y] or (nd == dist[y] and s < src[y])):
                dist[y] = nd
                src[y] = s
                size = _push_packed(hd, hk, size, nd, (s << 32) | y)
    return dist, src
# --- cutting every edge into pieces -----------------------------------------------------

@_jit
def cut_edges(eu, ev, length, fwd, bwd, node_dist, node_src, st_edge, st_idx, st_off, limit,
              eps, out_e, out_p, out_q, out_d, out_s, out_c, i0, k, at_st):
    """Cut every edge from ``i0`` on into pieces, in edge order and from ``u`` to ``v``.

    ``st_edge`` / ``st_idx``: the stations' edges, sorted, and the station index of each
    (a stable sort, so stations on one edge keep their order). An edge without a station
    is cut where the cost of leaving it through ``u`` or ``v`` reaches the limit and where
    the two meet; an edge with stations by the lower envelope of its ends and its stations
    (:func:`_cut_station_edge`).

    Pieces are written to the ``out_*`` arrays from row ``k`` on (edge, start, end,
    distance to the nearer end or NaN beyond the search, station or -1, covered) while
    they surely fit. The caller allocates the arrays (numpy asks the kernel for huge
    pages, so the first touch of a million pieces costs a third) and grows them when full.

    Returns the next edge (``len(eu)`` when all are cut), the number of pieces, the
    number of stations on the edges cut, and the room the next edge needs.
    """
    cap = len(out_e)
    m = len(eu)
    n_st = len(st_edge)
    c = np.empty(5)
    keep = np.empty(5, dtype=np.bool_)
    for i in range(i0, m):
        n_on = 0
        while at_st + n_on < n_st and st_edge[at_st + n_on] == i:
            n_on += 1
        need = 4 if n_on == 0 else 6 + 3 * n_on + (2 + n_on) * (2 + n_on)
        if k + need > cap:
            return i, k, at_st, need
        ai = node_dist[eu[i]] if bwd[i] else np.inf
        bi = node_dist[ev[i]] if fwd[i] else np.inf
        if n_on > 0:
            sa = node_src[eu[i]] if np.isfinite(ai) else -1
            sb = node_src[ev[i]] if np.isfinite(bi) else -1
            k = _cut_station_edge((out_e, out_p, out_q, out_d, out_s, out_c), k, i,
                                  length[i], ai, bi, sa, sb, st_idx[at_st:at_st + n_on],
                                  st_off, fwd[i], bwd[i], limit, eps)
            at_st += n_on
        elif not (np.isfinite(ai) or np.isfinite(bi)):
            # out of reach from both ends: the whole edge (what the cutting below gives)
            out_e[k] = i
            out_p[k] = 0.0
            out_q[k] = length[i]
            out_d[k] = np.nan
            out_s[k] = -1
            out_c[k] = False
            k += 1
        else:
            # reached through its ends only; inline, as a call per edge costs more than
            # the cutting (same operations, in the same order, as ``ref_cut_plain`` in
            # tests/test_fast_paths.py)
            ln = length[i]
            c[0] = 0.0
            c[1] = limit - ai
            c[2] = ln - (limit - bi)
            c[3] = (ln + bi - ai) / 2
            c[4] = ln
            for j in range(1, 4):
                v = c[j]
                if not (np.isfinite(v) and v > eps and v < ln - eps):
                    c[j] = _INF
            # insertion sort of five values (as numpy's sort: inf last)
            for j in range(1, 5):
                v = c[j]
                h = j - 1
                while h >= 0 and c[h] > v:
                    c[h + 1] = c[h]
                    h -= 1
                c[h + 1] = v
            keep[0] = np.isfinite(c[0])
            for j in range(1, 5):
                keep[j] = np.isfinite(c[j]) and ((c[j] - c[j - 1] > eps) or (c[j] == ln))
            prev = -1.0
            have = False
            for j in range(5):
                if not keep[j]:
                    continue
                if have:
                    p = prev
                    q = c[j]
                    t = (p + q) / 2
                    via_u = ai + t <= bi + ln - t
                    covered = min(ai + t, bi + ln - t) <= limit + 1e-9
                    dist = ai + p if via_u else bi + ln - q
                    if np.isfinite(dist):
                        src = node_src[eu[i]] if via_u else node_src[ev[i]]
                    else:
                        dist = np.nan
                        src = -1
                    out_e[k] = i
                    out_p[k] = p
                    out_q[k] = q
                    out_d[k] = dist
                    out_s[k] = src
                    out_c[k] = covered
                    k += 1
                prev = c[j]
                have = True
    return m, k, at_st, 0


@_jit
def _cut_station_edge(out, k, edge, ln, a, b, src_a, src_b, on_edge, st_off, fwd, bwd,
                      limit, eps):
    """Pieces of one edge with stations (``ref_cut_with_stations`` in
    tests/test_fast_paths.py, operation for operation): the lower envelope of the edge's
    two ends and its stations, cut where a limit is reached, where sources meet, and at
    each station. Fewer than ``6 + 3 * n + (2 + n) ** 2`` pieces for ``n`` stations."""
    out_e, out_p, out_q, out_d, out_s, out_c = out
    n_on = len(on_edge)
    m = 2 + n_on
    sc = np.empty(m)
    ss = np.empty(m)
    sl = np.empty(m, dtype=np.bool_)
    sr = np.empty(m, dtype=np.bool_)
    sid = np.empty(m, dtype=np.int64)
    n_src = 0
    # sources: cost c at position s, reaching x < s if "left" (fwd), x > s if "right"
    if np.isfinite(a):
        sc[n_src], ss[n_src], sid[n_src] = a, 0.0, src_a
        sl[n_src], sr[n_src] = False, True
        n_src += 1
    if np.isfinite(b):
        sc[n_src], ss[n_src], sid[n_src] = b, ln, src_b
        sl[n_src], sr[n_src] = True, False
        n_src += 1
    at = np.empty(n_on)
    for t in range(n_on):
        i = on_edge[t]
        sc[n_src], ss[n_src], sid[n_src] = 0.0, st_off[i], i
        sl[n_src], sr[n_src] = fwd, bwd
        n_src += 1
        at[t] = min(max(st_off[i], 0.0), ln)
    marks = np.empty(2 + n_on + 2 * n_src + n_src * n_src)
    n_m = 0
    marks[n_m] = 0.0
    marks[n_m + 1] = ln
    n_m += 2
    for t in range(n_on):
        marks[n_m] = at[t]
        n_m += 1
    for i in range(n_src):
        if sl[i]:
            marks[n_m] = ss[i] - (limit - sc[i])
            n_m += 1
        if sr[i]:
            marks[n_m] = ss[i] + (limit - sc[i])
            n_m += 1
    for i in range(n_src):
        for j in range(n_src):
            if sr[i] and sl[j] and ss[i] < ss[j]:
                marks[n_m] = (sc[j] + ss[j] - sc[i] + ss[i]) / 2
                n_m += 1
    xs = np.sort(marks[:n_m])
    pts = np.empty(n_m)
    n_p = 0
    for x in xs:
        if not (0.0 <= x <= ln):
            continue
        x = x + 0.0  # -0.0 -> 0.0, as the set of marks in the plain version keeps 0.0
        if n_p == 0 or x - pts[n_p - 1] > eps:
            pts[n_p] = x
            n_p += 1
    if ln - pts[n_p - 1] <= eps:
        pts[n_p - 1] = ln
    first = k
    for g in range(n_p - 1):
        p = pts[g]
        q = pts[g + 1]
        t = (p + q) / 2
        best = -1
        best_cost = np.inf
        for i in range(n_src):
            s = ss[i]
            blocked = (t < s and not sl[i]) or (t > s and not sr[i])
            cost = np.inf if blocked else sc[i] + abs(t - s)
            if best < 0 or cost < best_cost:
                best = i
                best_cost = cost
        ok = best >= 0 and np.isfinite(best_cost)
        label = best if ok else -1
        covered = ok and best_cost <= limit + 1e-9
        at_station = False
        for x in at:
            if abs(p - x) <= eps:
                at_station = True
        if (k > first and out_s[k - 1] == label and out_c[k - 1] == covered
                and not at_station):
            out_q[k - 1] = q
        else:
            out_e[k] = edge
            out_p[k] = p
            out_q[k] = q
            out_s[k] = label  # source index for now
            out_c[k] = covered
            k += 1
    for r in range(first, k):
        i = out_s[r]
        if i >= 0:
            out_d[r] = min(sc[i] + abs(out_p[r] - ss[i]), sc[i] + abs(out_q[r] - ss[i]))
            out_s[r] = sid[i]
        else:
            out_d[r] = np.nan
            out_s[r] = -1
    return k


# --- piece geometry: shapely.ops.substring for many pieces at once -----------------------

@_jit
def substring_coords(xy, line_ptr, piece_line, start, end, start_xy, end_xy):
    """Vertices of each piece ``[start, end]`` of its line, as ``shapely.ops.substring``
    builds them: the start point, the line's vertices strictly between, the end point.

    Returns ``(coords, piece_of_coord)``.
    """
    m = len(piece_line)
    total = 0
    for i in range(m):
        li = piece_line[i]
        total += line_ptr[li + 1] - line_ptr[li] + 2
    out = np.empty((total, 2))
    owner = np.empty(total, dtype=np.int64)
    k = 0
    for i in range(m):
        li = piece_line[i]
        lo = line_ptr[li]
        hi = line_ptr[li + 1]
        s = max(start[i], 0.0)
        e = end[i]
        out[k, 0] = start_xy[i, 0]
        out[k, 1] = start_xy[i, 1]
        owner[k] = i
        k += 1
        cur = 0.0
        for j in range(lo, hi - 1):
            if s < cur < e:
                out[k, 0] = xy[j, 0]
                out[k, 1] = xy[j, 1]
                owner[k] = i
                k += 1
            elif cur >= e:
                break
            dx = xy[j + 1, 0] - xy[j, 0]
            dy = xy[j + 1, 1] - xy[j, 1]
            cur += (dx ** 2 + dy ** 2) ** 0.5
        out[k, 0] = end_xy[i, 0]
        out[k, 1] = end_xy[i, 1]
        owner[k] = i
        k += 1
    return out[:k], owner[:k]


@_jit
def _is_in(sorted_nodes, lo, hi, node):
    """Whether ``node`` is one of ``sorted_nodes[lo:hi]`` (ascending), by bisection."""
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_nodes[mid] < node:
            lo = mid + 1
        else:
            hi = mid
    return lo < end and sorted_nodes[lo] == node


@_jit
def nearest_in_sets(indptr, indices, weights, sources, source_set, set_ptr, set_nodes, limit):
    """Per source, the nearest node of its target set and the distance to it, by a
    bounded Dijkstra that stops once the nearest distance is settled.

    Source ``i`` searches from node ``sources[i]`` for the nodes
    ``set_nodes[set_ptr[s]:set_ptr[s + 1]]`` (ascending) with ``s = source_set[i]``.
    Distances are summed as scipy's Dijkstra sums them (each node's the least of
    ``dist[u] + weight`` over its arcs), so they are the same numbers; a node farther
    than ``limit`` is not reached. Of several targets at the nearest distance the lowest
    node number wins. Returns ``(node, dist)``: -1 and ``inf`` where no target is reached.
    """
    n = len(indptr) - 1
    k = len(sources)
    dist = np.full(n, _INF)
    touched = np.empty(n, dtype=np.int64)
    cap = len(indices) + 1
    hd = np.empty(cap, dtype=np.float64)
    hn = np.empty(cap, dtype=np.int64)
    out_node = np.full(k, -1, dtype=np.int64)
    out_dist = np.full(k, _INF)
    for i in range(k):
        lo = set_ptr[source_set[i]]
        hi = set_ptr[source_set[i] + 1]
        if lo == hi:
            continue
        s = sources[i]
        dist[s] = 0.0
        touched[0] = s
        n_touched = 1
        size = _heap_push(hd, hn, 0, 0.0, s)
        best = -1
        best_d = _INF
        while size > 0:
            d, x, size = _heap_pop(hd, hn, size)
            if d > best_d:
                break  # every node at the nearest distance is settled
            if d > dist[x]:
                continue  # stale: the node was settled nearer
            if (best < 0 or x < best) and _is_in(set_nodes, lo, hi, x):
                best = x
                best_d = d
            for j in range(indptr[x], indptr[x + 1]):
                y = indices[j]
                nd = d + weights[j]
                if nd <= limit and nd < dist[y]:
                    if dist[y] == _INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    size = _heap_push(hd, hn, size, nd, y)
        for t in range(n_touched):
            dist[touched[t]] = _INF
        out_node[i] = best
        out_dist[i] = best_d
    return out_node, out_dist


# --- graphs: the shortest of parallel arcs (stationplan._route.graph.csr_min) ------------

@_jit
def _grouped(keys, n_keys):  # pragma: no cover - compiled
    """``keys`` (whole numbers below ``n_keys``) grouped by counting: ``ptr``, each key's
    first place, and ``order``, the positions by key, each key's in theirs (the order of
    ``np.argsort(keys, kind="stable")``)."""
    ptr = np.zeros(n_keys + 1, dtype=np.int64)
    for i in range(keys.shape[0]):
        ptr[keys[i] + 1] += 1
    for k in range(n_keys):
        ptr[k + 1] += ptr[k]
    fill = ptr[:-1].copy()
    order = np.empty(keys.shape[0], dtype=np.int64)
    for i in range(keys.shape[0]):
        order[fill[keys[i]]] = i
        fill[keys[i]] += 1
    return ptr, order


@_jit
def shortest_arcs(tails, heads, weights, n_rows):  # pragma: no cover - compiled
    """The CSR rows of arcs ``tails[i] -> heads[i]`` (``tails`` below ``n_rows``): per row
    the heads ascending, of parallel arcs the smallest weight (``np.minimum`` of them in
    their order). Returns ``indptr``, ``indices``, ``data``."""
    ptr, order = _grouped(tails, n_rows)  # by row, each row's arcs in their order
    head = heads[order].astype(np.int64)
    weight = weights[order].astype(np.float64)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    k = 0
    for r in range(n_rows):
        lo, hi = ptr[r], ptr[r + 1]
        if hi - lo > 32:  # a long row: a stable sort
            order = np.argsort(head[lo:hi], kind="mergesort")
            head[lo:hi], weight[lo:hi] = head[lo:hi][order], weight[lo:hi][order]
        else:  # insertion sort, stable
            for j in range(lo + 1, hi):
                h, w = head[j], weight[j]
                i = j - 1
                while i >= lo and head[i] > h:
                    head[i + 1], weight[i + 1] = head[i], weight[i]
                    i -= 1
                head[i + 1], weight[i + 1] = h, w
        for j in range(lo, hi):  # parallel arcs: np.minimum in their order
            if j > lo and head[j] == head[k - 1]:
                a, b = weight[k - 1], weight[j]
                weight[k - 1] = a if (a < b or np.isnan(a)) else b
            else:
                head[k], weight[k] = head[j], weight[j]
                k += 1
        indptr[r + 1] = k
    return indptr, head[:k].copy(), weight[:k].copy()


# --- pieces joined where their ends meet: gap runs and gap areas (stationplan.gaps) ------

@_jit
def join_pieces(point: np.ndarray, kind: np.ndarray,
                 n_points: int) -> np.ndarray:  # pragma: no cover - compiled
    """Label ``m`` pieces, their ends ``e`` (starts ``0..m-1``, then ends ``m..2m-1``) at
    ``point[e]``: ends at one point with one ``kind`` (-1: none) join their pieces; the
    labels 0, 1, ... come in the order of each group's first piece (a union-find)."""
    n_ends = point.shape[0]
    m = n_ends // 2
    parent = np.arange(m)
    # the ends by point (a counting sort), then each joined to the first of its kind
    ptr, by_point = _grouped(point, n_points)
    for p in range(n_points):
        for j in range(ptr[p] + 1, ptr[p + 1]):
            ej = by_point[j]
            if kind[ej] < 0:
                continue
            for k in range(ptr[p], j):
                ek = by_point[k]
                if kind[ek] == kind[ej]:
                    ra, rb = _root(parent, ej % m), _root(parent, ek % m)
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
                    break
    label = np.empty(m, dtype=np.int64)
    of_root = np.full(m, -1, dtype=np.int64)
    n_labels = 0
    for i in range(m):
        r = _root(parent, i)
        if of_root[r] < 0:
            of_root[r] = n_labels
            n_labels += 1
        label[i] = of_root[r]
    return label


@_jit
def _root(parent: np.ndarray, i: int) -> int:  # pragma: no cover - compiled
    """The root of ``i`` in a union-find forest, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i
