"""Compiled loops (numba) of the set-cover solver: merging rows, cover counts and move scans.

The routing and piece-geometry kernels live in :mod:`stationplan._route.kernels`.
Each kernel repeats, in the same floating-point order, the array code it replaces, so
results are identical to the pure numpy/scipy versions (the tests check them against
networkx and paper values). Kernels release the GIL, so callers may run them on
several threads.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit as _jit

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
