"""Compiled loops (numba) for the hot paths: bounded searches from many sites, edge
cutting and piece geometry.

Each kernel repeats, in the same floating-point order, the array code it replaces, so
results are identical to the pure numpy/scipy versions (the tests check them against
networkx and paper values). Kernels release the GIL, so callers may run them on
several threads.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this is for a clear error
    numba = None  # type: ignore[assignment]  # _jit checks for it and says what to install

_INF = np.inf


def _jit(fn):
    """``numba.njit`` with an on-disk cache when a cache folder is writable."""
    if numba is None:  # pragma: no cover
        msg = "stationplan needs numba for large networks: pip install numba"
        raise ImportError(msg)
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # pragma: no cover - no writable cache location
        return numba.njit(cache=False, nogil=True)(fn)


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
def interpolate(xy, line_ptr, piece_line, dist):
    """The point ``dist`` metres along each line, as GEOS's ``GEOSInterpolate`` finds it
    (``LengthLocationMap.getLocationForward`` then ``pointAlongSegmentByFraction``)."""
    m = len(piece_line)
    out = np.empty((m, 2))
    for i in range(m):
        li = piece_line[i]
        lo = line_ptr[li]
        hi = line_ptr[li + 1]
        length = dist[i]
        x = xy[hi - 1, 0]
        y = xy[hi - 1, 1]
        if length <= 0.0:
            x = xy[lo, 0]
            y = xy[lo, 1]
        else:
            total = 0.0
            for j in range(lo, hi - 1):
                dx = xy[j + 1, 0] - xy[j, 0]
                dy = xy[j + 1, 1] - xy[j, 1]
                seg = np.sqrt(dx * dx + dy * dy)
                if total + seg > length:
                    frac = (length - total) / seg
                    if frac <= 0.0:
                        x = xy[j, 0]
                        y = xy[j, 1]
                    elif frac >= 1.0:
                        x = xy[j + 1, 0]
                        y = xy[j + 1, 1]
                    else:
                        x = (xy[j + 1, 0] - xy[j, 0]) * frac + xy[j, 0]
                        y = (xy[j + 1, 1] - xy[j, 1]) * frac + xy[j, 1]
                    break
                total += seg
        out[i, 0] = x
        out[i, 1] = y
    return out


# --- merging demand rows with the same coverage --------------------------------------------

@_jit
def row_hashes(indptr, indices, n_rows, key1, key2):
    """Per row of a CSC matrix, two wrapping sums of its columns' random keys, and the
    number of its columns."""
    h1 = np.zeros(n_rows, dtype=np.int64)
    h2 = np.zeros(n_rows, dtype=np.int64)
    count = np.zeros(n_rows, dtype=np.int64)
    for j in range(len(indptr) - 1):
        k1 = key1[j]
        k2 = key2[j]
        for q in range(indptr[j], indptr[j + 1]):
            r = indices[q]
            h1[r] += k1
            h2[r] += k2
            count[r] += 1
    return h1, h2, count


@_jit
def groups_consistent(indptr, indices, group, size):
    """Whether every column holds either all rows of a group or none of them (rows of a
    group have the same count, so they then have exactly the same columns)."""
    tally = np.zeros(len(size), dtype=np.int64)
    seen = np.empty(len(size), dtype=np.int64)
    for j in range(len(indptr) - 1):
        n_seen = 0
        for q in range(indptr[j], indptr[j + 1]):
            g = group[indices[q]]
            if tally[g] == 0:
                seen[n_seen] = g
                n_seen += 1
            tally[g] += 1
        ok = True
        for t in range(n_seen):
            g = seen[t]
            if tally[g] != size[g]:
                ok = False
            tally[g] = 0
        if not ok:
            return False
    return True


@_jit
def keep_rows(indptr, indices, keep, new_index):
    """The CSC matrix of the rows flagged ``keep``, renumbered by ``new_index``."""
    col_ptr = np.zeros(len(indptr), dtype=np.int64)
    total = 0
    for q in range(len(indices)):
        if keep[indices[q]]:
            total += 1
    rows = np.empty(total, dtype=indices.dtype)
    k = 0
    for j in range(len(indptr) - 1):
        for q in range(indptr[j], indptr[j + 1]):
            r = indices[q]
            if keep[r]:
                rows[k] = new_index[r]
                k += 1
        col_ptr[j + 1] = k
    return col_ptr, rows


# --- local search: cover counts, gains and the scans for improving moves --------------------

@_jit
def apply_column(c_ptr, c_idx, r_ptr, r_idx, w, count, base, j, delta):
    """Add (``delta`` 1) or remove (-1) column ``j``: update the cover counts and each
    column's weight of uncovered rows; return the change of the covered weight and the
    number of rows that became covered or uncovered."""
    change = 0.0
    flips = 0
    for q in range(c_ptr[j], c_ptr[j + 1]):
        r = c_idx[q]
        if delta > 0:
            if count[r] == 0:
                change += w[r]
                flips += 1
                for t in range(r_ptr[r], r_ptr[r + 1]):
                    base[r_idx[t]] -= w[r]
            count[r] += 1
        else:
            count[r] -= 1
            if count[r] == 0:
                change -= w[r]
                flips += 1
                for t in range(r_ptr[r], r_ptr[r + 1]):
                    base[r_idx[t]] += w[r]
    return change, flips


@_jit
def drop_scan(order, start, c_ptr, c_idx, w, count, in_chosen, threshold, tol):
    """First position from ``start`` whose site covers alone at most ``threshold`` (up to
    ``tol``): a site that may be dropped."""
    for p in range(start, len(order)):
        j = order[p]
        if not in_chosen[j]:
            continue
        lost = 0.0
        for q in range(c_ptr[j], c_ptr[j + 1]):
            r = c_idx[q]
            if count[r] == 1:
                lost += w[r]
        if lost - threshold <= tol:
            return p
    return len(order)


@_jit
def exact_gains(cols, lost_rows, c_ptr, c_idx, w, count, mark):
    """Gains after removing sites, exactly as ``cover.T @ uncovered + sub.T @ w[lost]``
    adds them up: per column, its uncovered rows in order, plus its lost rows in order."""
    for r in lost_rows:
        mark[r] = True
    out = np.empty(len(cols))
    for i in range(len(cols)):
        c = cols[i]
        base = 0.0
        add = 0.0
        for q in range(c_ptr[c], c_ptr[c + 1]):
            r = c_idx[q]
            if count[r] == 0:
                base += w[r]
            if mark[r]:
                add += w[r]
        out[i] = base + add
    for r in lost_rows:
        mark[r] = False
    return out


@_jit
def _lost_rows(c_ptr, c_idx, count, j, other, mark, buf):
    """Rows that only ``j`` (and ``other``, if >= 0) cover; unmarked, unsorted."""
    n = 0
    for q in range(c_ptr[j], c_ptr[j + 1]):
        r = c_idx[q]
        mark[r] = True
    if other >= 0:
        for q in range(c_ptr[other], c_ptr[other + 1]):
            r = c_idx[q]
            if mark[r]:
                if count[r] == 2:
                    buf[n] = r
                    n += 1
            elif count[r] == 1:
                buf[n] = r
                n += 1
    for q in range(c_ptr[j], c_ptr[j + 1]):
        r = c_idx[q]
        if mark[r] and count[r] == 1:
            buf[n] = r
            n += 1
        mark[r] = False
    return n


@_jit
def _allowed(c, a, b, in_chosen, f_ptr, f_idx):
    if in_chosen[c]:
        return False
    for t in range(f_ptr[c], f_ptr[c + 1]):
        x = f_idx[t]
        if in_chosen[x] and x != a and x != b:
            return False
    return True


@_jit
def swap_scan(order, start, c_ptr, c_idx, r_ptr, r_idx, w, count, base, in_chosen, tol,
              acc, touched, mark, buf):
    """First position from ``start`` whose site might be swapped for a better one: an
    upper bound of the best gain after removing it beats the weight it alone covers.
    ``acc``, ``touched``, ``mark`` and ``buf`` are zeroed scratch arrays (left zeroed)."""
    k = len(base)
    base_max = -np.inf
    for c in range(k):
        if base[c] > base_max:
            base_max = base[c]
    if base_max <= 1e-7 - tol:
        # gain after removing j <= base_max + what j alone covers: no swap can beat it
        return len(order)
    for p in range(start, len(order)):
        j = order[p]
        if not in_chosen[j]:
            continue
        n = _lost_rows(c_ptr, c_idx, count, j, -1, mark, buf)
        lost = 0.0
        n_t = 0
        for i in range(n):
            r = buf[i]
            lost += w[r]
            for t in range(r_ptr[r], r_ptr[r + 1]):
                c = r_idx[t]
                if acc[c] == 0.0:
                    touched[n_t] = c
                    n_t += 1
                acc[c] += w[r]
        best = base_max
        for i in range(n_t):
            c = touched[i]
            if c != j and base[c] + acc[c] > best:
                best = base[c] + acc[c]
            acc[c] = 0.0
        if best - lost > 1e-7 - tol:
            return p
    return len(order)


@_jit
def swap_candidates(j, c_ptr, c_idx, r_ptr, r_idx, w, count, base, tol, acc, mark, buf):
    """Columns whose gain after removing ``j`` may beat what ``j`` alone covers, and the
    rows only ``j`` covers (sorted). Scratch arrays as in :func:`swap_scan`."""
    k = len(base)
    n = _lost_rows(c_ptr, c_idx, count, j, -1, mark, buf)
    lost = 0.0
    for i in range(n):
        r = buf[i]
        lost += w[r]
        for t in range(r_ptr[r], r_ptr[r + 1]):
            acc[r_idx[t]] += w[r]
    out = np.empty(k, dtype=np.int64)
    m = 0
    for c in range(k):
        if c != j and base[c] + acc[c] - lost > 1e-7 - tol:
            out[m] = c
            m += 1
        acc[c] = 0.0
    return out[:m], np.sort(buf[:n])


@_jit
def reach_sets(order, c_ptr, c_idx, r_ptr, r_idx, count, n_cols):
    """Per site of ``order``: the columns covering a row that only this site covers."""
    ptr = np.zeros(len(order) + 1, dtype=np.int64)
    stamp = np.full(n_cols, -1, dtype=np.int64)
    cap = 1024
    out = np.empty(cap, dtype=np.int64)
    m = 0
    for p in range(len(order)):
        j = order[p]
        start = m
        for q in range(c_ptr[j], c_ptr[j + 1]):
            r = c_idx[q]
            if count[r] != 1:
                continue
            for t in range(r_ptr[r], r_ptr[r + 1]):
                c = r_idx[t]
                if stamp[c] != p:
                    stamp[c] = p
                    if m == cap:
                        cap *= 2
                        bigger = np.empty(cap, dtype=np.int64)
                        bigger[:m] = out[:m]
                        out = bigger
                    out[m] = c
                    m += 1
        out[start:m] = np.sort(out[start:m])
        ptr[p + 1] = m
    return ptr, out[:m].copy()


@_jit
def pair_scan(order, start_a, start_b, reach_ptr, reach, c_ptr, c_idx, r_ptr, r_idx, w,
              count, base, in_chosen, f_ptr, f_idx, slack, tol):
    """First pair of sites (in ``order``, from position pair ``(start_a, start_b)``) that
    one unchosen column might replace: a column covering rows only each of them covers,
    whose gain after removing both is, up to ``tol``, at least their lost weight less the
    slack. Pairs with a site that covers no row alone are returned for the caller to
    check as well. Returns ``(-1, -1)`` when no pair is left."""
    n_sites = len(order)
    n_cols = len(base)
    # inverted index: column -> positions of the sites whose reach holds it
    inv_ptr = np.zeros(n_cols + 1, dtype=np.int64)
    for q in range(len(reach)):
        inv_ptr[reach[q] + 1] += 1
    for c in range(n_cols):
        inv_ptr[c + 1] += inv_ptr[c]
    inv = np.empty(len(reach), dtype=np.int64)
    fill = inv_ptr[:-1].copy()
    for p in range(n_sites):
        for q in range(reach_ptr[p], reach_ptr[p + 1]):
            c = reach[q]
            inv[fill[c]] = p
            fill[c] += 1
    empty = np.empty(n_sites, dtype=np.int64)
    n_empty = 0
    for p in range(n_sites):
        if reach_ptr[p + 1] == reach_ptr[p]:
            empty[n_empty] = p
            n_empty += 1
    stamp = np.full(n_sites, -1, dtype=np.int64)
    partners = np.empty(n_sites, dtype=np.int64)
    in_common = np.zeros(n_cols, dtype=np.bool_)
    acc = np.zeros(n_cols)
    mark = np.zeros(len(count), dtype=np.bool_)
    buf = np.empty(len(count), dtype=np.int64)
    for pa in range(start_a, n_sites):
        a = order[pa]
        n_p = 0
        if reach_ptr[pa + 1] == reach_ptr[pa]:
            for pb in range(pa + 1, n_sites):
                partners[n_p] = pb
                n_p += 1
        else:
            for q in range(reach_ptr[pa], reach_ptr[pa + 1]):
                c = reach[q]
                if c == a:
                    continue
                for t in range(inv_ptr[c], inv_ptr[c + 1]):
                    pb = inv[t]
                    if pb > pa and order[pb] != c and stamp[pb] != pa:
                        stamp[pb] = pa
                        partners[n_p] = pb
                        n_p += 1
            for i in range(n_empty):
                pb = empty[i]
                if pb > pa and stamp[pb] != pa:
                    stamp[pb] = pa
                    partners[n_p] = pb
                    n_p += 1
        ps = np.sort(partners[:n_p])
        for i in range(n_p):
            pb = ps[i]
            if pa == start_a and pb < start_b:
                continue
            b = order[pb]
            if not (in_chosen[a] and in_chosen[b]):
                continue
            if reach_ptr[pb + 1] == reach_ptr[pb] or reach_ptr[pa + 1] == reach_ptr[pa]:
                return pa, pb  # the caller checks these the slow way
            # common = reach[a] & reach[b] - {a, b}
            ia = reach_ptr[pa]
            ib = reach_ptr[pb]
            n_c = 0
            while ia < reach_ptr[pa + 1] and ib < reach_ptr[pb + 1]:
                ca = reach[ia]
                cb = reach[ib]
                if ca < cb:
                    ia += 1
                elif cb < ca:
                    ib += 1
                else:
                    if ca != a and ca != b:
                        in_common[ca] = True
                        n_c += 1
                    ia += 1
                    ib += 1
            if n_c == 0:
                continue
            n = _lost_rows(c_ptr, c_idx, count, a, b, mark, buf)
            lost = 0.0
            for t in range(n):
                r = buf[t]
                lost += w[r]
                for s in range(r_ptr[r], r_ptr[r + 1]):
                    c = r_idx[s]
                    if in_common[c]:
                        acc[c] += w[r]
            best = -np.inf
            found = False
            ia = reach_ptr[pa]
            while ia < reach_ptr[pa + 1]:
                c = reach[ia]
                ia += 1
                if not in_common[c]:
                    continue
                g = base[c] + acc[c]
                in_common[c] = False
                acc[c] = 0.0
                if g > best and _allowed(c, a, b, in_chosen, f_ptr, f_idx):
                    best = g
                    found = True
            if found and best - (lost - slack - 1e-7) >= -tol:
                return pa, pb
    return -1, -1


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
