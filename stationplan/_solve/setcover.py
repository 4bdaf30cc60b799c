"""Covering models: reductions, Lagrangian bounds and a Lagrangian heuristic.

Full set cover (every row covered by the fewest columns) gets reductions, a bound and a
heuristic; maximal covering (the most weight with ``k`` columns) gets a bound.

The fewest-sites objective at a 100 % target is a unit-cost set cover. Street candidates
every few tens of metres make it large but very redundant: neighbouring candidates
cover nearly the same streets. Three classical reductions shrink it without changing the
optimum (Toregas & ReVelle 1973; Beasley 1987):

- a column whose rows are a subset of another column's rows is never needed (column
  dominance; of two identical columns the lower index is kept);
- a row whose columns are a superset of another row's columns is covered whenever that
  row is (row dominance; of two identical rows the lower index is kept);
- a row that only one column covers forces that column (essential columns).

The Lagrangian relaxation of the covering rows gives, for any multipliers ``u >= 0``,
the lower bound ``L(u) = sum(u) + sum_j min(0, 1 - sum_{r in j} u_r)``, which is also the
objective of a feasible solution of the LP dual, so it never exceeds the LP bound and
approaches it under subgradient steps (Held, Wolfe & Crowder 1974; Beasley 1990). The
reduced costs ``1 - sum_{r in j} u_r`` also steer a greedy heuristic (Caprara, Fischetti &
Toth 1999) that usually lands much closer to the optimum than plain greedy.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_array

from .._numba import jit as _jit


@dataclass(frozen=True)
class Reduction:
    """A set-cover instance after the reductions.

    Attributes
    ----------
    matrix
        The reduced ``rows x cols`` 0/1 matrix (CSC) over ``rows`` and ``cols``.
    rows
        Original indices of the rows kept (sorted).
    cols
        Original indices of the columns kept (sorted).
    forced
        Original indices of the columns every optimal cover contains (sorted).
    image
        For every original column, the kept column that covers at least its kept rows
        (itself when kept); -1 for forced columns and columns covering no kept row.
    """

    matrix: csc_array
    rows: np.ndarray
    cols: np.ndarray
    forced: np.ndarray
    image: np.ndarray

    def lift(self, chosen_reduced: Iterable[int]) -> list[int]:
        """Original column indices of a cover of the reduced matrix, plus the forced ones."""
        return sorted({*self.forced.tolist(), *(int(self.cols[k]) for k in chosen_reduced)})

    def project(self, chosen: Iterable[int]) -> list[int]:
        """A cover of the reduced matrix (reduced indices) from any full cover ``chosen``.

        Each column is replaced by its image, which covers at least its kept rows, so a
        cover of every original row maps to a cover of every kept row.
        """
        position = np.full(len(self.image), -1, dtype=np.int64)
        position[self.cols] = np.arange(len(self.cols))
        out = {int(position[self.image[j]]) for j in chosen if self.image[j] >= 0}
        return sorted(out)


def reduce(cover: csc_array, *, max_rounds: int = 50) -> Reduction:
    """Apply column dominance, row dominance and essential columns until none applies.

    Every row must be covered by some column (callers drop uncoverable rows first).

    >>> a = csc_array(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 0]]))
    >>> r = reduce(a)  # column 1 covers everything the others do, and row 2 forces it
    >>> r.forced.tolist(), r.cols.tolist(), r.lift([])
    ([1], [], [1])
    """
    cover = csc_array(cover)
    cover.sort_indices()
    rows_csr = cover.tocsr()
    rows_csr.sort_indices()
    m, n = cover.shape
    cptr, cidx = cover.indptr.astype(np.int64), cover.indices.astype(np.int64)
    rptr, ridx = rows_csr.indptr.astype(np.int64), rows_csr.indices.astype(np.int64)
    if np.any(np.diff(rptr) == 0):
        msg = "every row must be coverable before reducing a set cover"
        raise ValueError(msg)
    alive_col = np.ones(n, dtype=bool)
    alive_row = np.ones(m, dtype=bool)
    forced = np.zeros(n, dtype=bool)
    image = np.arange(n, dtype=np.int64)
    for _ in range(max_rounds):
        before = (int(alive_col.sum()), int(alive_row.sum()))
        _essential(cptr, cidx, rptr, ridx, alive_col, alive_row, forced)
        _dominated_columns(cptr, cidx, rptr, ridx, alive_col, alive_row, image)
        _dominated_rows(cptr, cidx, rptr, ridx, alive_col, alive_row)
        if (int(alive_col.sum()), int(alive_row.sum())) == before:
            break
    _essential(cptr, cidx, rptr, ridx, alive_col, alive_row, forced)
    _dominated_columns(cptr, cidx, rptr, ridx, alive_col, alive_row, image)
    # follow chains j -> k -> ... to a kept column (dominance is transitive)
    image = _resolve(image, alive_col, forced)
    rows = np.flatnonzero(alive_row)
    cols = np.flatnonzero(alive_col)
    matrix = cover[rows][:, cols].tocsc() if len(rows) else csc_array((0, len(cols)))
    matrix.sort_indices()
    return Reduction(matrix, rows, cols, np.flatnonzero(forced), image)


def dominant_columns(cover: csc_array) -> tuple[np.ndarray, np.ndarray]:
    """Columns no other column dominates, and each column's image among them.

    Removing a column whose rows another column also covers keeps the optimum of every
    covering objective with unit site costs and no conflicts: fewest sites for a target,
    or most weight with ``k`` sites.

    >>> cols, image = dominant_columns(csc_array(np.array([[1, 1, 0], [0, 1, 1]])))
    >>> cols.tolist(), image.tolist()
    ([1], [1, 1, 1])
    """
    cover = csc_array(cover)
    cover.sort_indices()
    rows_csr = cover.tocsr()
    m, n = cover.shape
    alive_col = np.ones(n, dtype=bool)
    image = np.arange(n, dtype=np.int64)
    _dominated_columns(cover.indptr.astype(np.int64), cover.indices.astype(np.int64),
                       rows_csr.indptr.astype(np.int64), rows_csr.indices.astype(np.int64),
                       alive_col, np.ones(m, dtype=bool), image)
    return np.flatnonzero(alive_col), _resolve(image, alive_col, np.zeros(n, dtype=bool))


@_jit
def _essential(cptr: np.ndarray, cidx: np.ndarray, rptr: np.ndarray, ridx: np.ndarray,
               alive_col: np.ndarray, alive_row: np.ndarray, forced: np.ndarray) -> None:
    """Force the only column of each row that one column covers; drop what it covers."""
    m = len(rptr) - 1
    for r in range(m):
        if not alive_row[r]:
            continue
        only, count = -1, 0
        for p in range(rptr[r], rptr[r + 1]):
            if alive_col[ridx[p]]:
                only = ridx[p]
                count += 1
                if count > 1:
                    break
        if count == 1:
            forced[only] = True
            alive_col[only] = False
            for p in range(cptr[only], cptr[only + 1]):
                alive_row[cidx[p]] = False


def _dominated_columns(cptr: np.ndarray, cidx: np.ndarray, rptr: np.ndarray, ridx: np.ndarray,
                       alive_col: np.ndarray, alive_row: np.ndarray, image: np.ndarray) -> None:
    """Drop columns whose kept rows another kept column also covers; record who does."""
    _dominated(cptr, cidx, rptr, ridx, alive_col, alive_row, image, True)


def _dominated_rows(cptr: np.ndarray, cidx: np.ndarray, rptr: np.ndarray, ridx: np.ndarray,
                    alive_col: np.ndarray, alive_row: np.ndarray) -> None:
    """Drop rows whose kept columns include all kept columns of another kept row."""
    _dominated(rptr, ridx, cptr, cidx, alive_row, alive_col,
               np.zeros(len(rptr) - 1, dtype=np.int64), False)


@_jit
def _dominated(aptr: np.ndarray, aidx: np.ndarray, bptr: np.ndarray, bidx: np.ndarray,
               alive_a: np.ndarray, alive_b: np.ndarray, image: np.ndarray,
               drop_subset: bool) -> None:
    """Find kept sets ``a`` (of kept elements ``b``) contained in another kept set.

    With ``drop_subset`` the contained set goes (``image`` records the set containing
    it; empty sets go too); otherwise every set containing it goes. Of identical sets the
    lower index stays.
    """
    na = len(aptr) - 1
    nb = len(bptr) - 1
    deg = np.zeros(na, dtype=np.int64)
    bdeg = np.zeros(nb, dtype=np.int64)
    for a in range(na):
        if alive_a[a]:
            for p in range(aptr[a], aptr[a + 1]):
                if alive_b[aidx[p]]:
                    deg[a] += 1
                    bdeg[aidx[p]] += 1
    mark = np.full(nb, -1, dtype=np.int64)
    for a in range(na):
        if not alive_a[a]:
            continue
        if deg[a] == 0:
            if drop_subset:
                alive_a[a] = False
                image[a] = -1
            continue
        rare, rare_deg = -1, 1 << 62
        for p in range(aptr[a], aptr[a + 1]):
            e = aidx[p]
            if alive_b[e]:
                mark[e] = a
                if bdeg[e] < rare_deg:
                    rare, rare_deg = e, bdeg[e]
        # a set containing a holds a's rarest element
        for q in range(bptr[rare], bptr[rare + 1]):
            s = bidx[q]
            if s == a or not alive_a[s] or deg[s] < deg[a]:
                continue
            if deg[s] == deg[a] and (s > a) == drop_subset:
                continue  # of identical sets the lower index stays
            shared = 0
            for p in range(aptr[s], aptr[s + 1]):
                if mark[aidx[p]] == a:
                    shared += 1
            if shared < deg[a]:
                continue
            gone = a if drop_subset else s
            alive_a[gone] = False
            for p in range(aptr[gone], aptr[gone + 1]):
                if alive_b[aidx[p]]:
                    bdeg[aidx[p]] -= 1
            if drop_subset:
                image[a] = s
                break


def _resolve(image: np.ndarray, alive_col: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """Follow each dropped column's chain of dominating columns to a kept one (-1 when it
    ends at a forced or empty column).

    A column is only ever dropped for one still kept, so the chains have no cycles; but
    they can be as long as a street has candidates (every metre, each dominated by the
    next). Pointer jumping doubles the hops followed each round: 64 rounds reach 2**64.

    >>> image = np.array([1, 2, 3, 3])  # 0 -> 1 -> 2 -> 3, and 3 is kept
    >>> _resolve(image, np.array([False, False, False, True]), np.zeros(4, bool)).tolist()
    [3, 3, 3, 3]
    """
    out = image.copy()
    out[forced] = -1
    for _ in range(64):
        nxt = np.where(out >= 0, out, 0)
        pending = (out >= 0) & ~alive_col[nxt]
        if not pending.any():
            return out
        out[pending] = out[out[pending]]
    msg = "column dominance chains did not resolve"  # pragma: no cover - chains are finite
    raise RuntimeError(msg)


@dataclass(frozen=True)
class Lagrangian:
    """Result of :func:`lagrangian`.

    Attributes
    ----------
    bound
        Lower bound on the fewest columns (an integer: ``ceil`` of the best ``L(u)``).
    value
        The best ``L(u)`` found (a lower bound on the LP relaxation's optimum too).
    best
        The smallest cover the heuristic found (reduced column indices, sorted).
    iterations
        Subgradient steps taken.
    """

    bound: int
    value: float
    best: list[int]
    iterations: int


def lagrangian(matrix: csc_array, *, upper: int | None = None, time_limit_s: float = 10.0,
               max_iterations: int = 3000, heuristic_every: int = 10) -> Lagrangian:
    """Subgradient optimisation of the Lagrangian bound, with a heuristic cover on the way.

    Parameters
    ----------
    matrix
        ``rows x cols`` 0/1 matrix; every row must have a column.
    upper
        Size of a known cover (steers the step length); the heuristic may improve it.
    time_limit_s
        Stop after this long.
    max_iterations
        Stop after this many steps.
    heuristic_every
        Run the reduced-cost greedy every this many steps.

    >>> a = csc_array(np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]]))  # a triangle: LP 1.5
    >>> lg = lagrangian(a)
    >>> lg.bound, len(lg.best)
    (2, 2)
    """
    t0 = time.perf_counter()
    m, n = matrix.shape
    if m == 0:
        return Lagrangian(0, 0.0, [], 0)
    a = csc_array(matrix, dtype=np.float64)
    at = a.T.tocsr()
    cptr, cidx = a.indptr.astype(np.int64), a.indices.astype(np.int64)
    rows_csr = a.tocsr()
    rptr, ridx = rows_csr.indptr.astype(np.int64), rows_csr.indices.astype(np.int64)
    size = np.diff(cptr).astype(float)
    # start: each row gets the smallest cost share 1 / |column| over its columns
    u = np.asarray(_row_min(rptr, ridx, 1.0 / np.maximum(size, 1.0)))
    best = _greedy(cptr, cidx, rptr, ridx, np.ones(n) - at @ u)
    ub = len(best) if upper is None else min(upper, len(best))
    best_value, step, stall, it = -math.inf, 2.0, 0, 0
    for it in range(1, max_iterations + 1):
        rc = 1.0 - at @ u
        x = rc < 0
        value = float(u.sum() + rc[x].sum())
        if value > best_value + 1e-9:
            best_value, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
        if it % heuristic_every == 1:
            cand = _greedy(cptr, cidx, rptr, ridx, rc)
            if len(cand) < len(best):
                best = cand
                ub = min(ub, len(best))
        if math.ceil(best_value - 1e-6) >= ub or step < 1e-4:
            break
        if time.perf_counter() - t0 > time_limit_s:
            break
        g = 1.0 - a @ x.astype(float)
        g[(u <= 0) & (g < 0)] = 0.0
        norm = float(g @ g)
        if norm == 0.0:  # x covers every row exactly where u > 0: L(u) is the LP optimum
            break
        u = np.maximum(0.0, u + step * (1.05 * ub - value) / norm * g)
    return Lagrangian(max(0, math.ceil(best_value - 1e-6)), best_value,
                      sorted(int(j) for j in best), it)


@_jit
def _row_min(rptr: np.ndarray, ridx: np.ndarray, value: np.ndarray) -> np.ndarray:
    m = len(rptr) - 1
    out = np.empty(m)
    for r in range(m):
        v = np.inf
        for p in range(rptr[r], rptr[r + 1]):
            v = min(v, value[ridx[p]])
        out[r] = v
    return out


def greedy_cover(matrix: csc_array, reduced_cost: np.ndarray) -> list[int]:
    """A cover of every row by the reduced-cost greedy, redundant columns removed.

    >>> greedy_cover(csc_array(np.array([[1, 1, 0], [0, 1, 1]])), np.array([0.5, 0.2, 0.5]))
    [1]
    """
    a = csc_array(matrix)
    rows_csr = a.tocsr()
    return _greedy(a.indptr.astype(np.int64), a.indices.astype(np.int64),
                   rows_csr.indptr.astype(np.int64), rows_csr.indices.astype(np.int64),
                   reduced_cost).tolist()


def _greedy(cptr: np.ndarray, cidx: np.ndarray, rptr: np.ndarray, ridx: np.ndarray,
            rc: np.ndarray) -> np.ndarray:
    chosen = _greedy_kernel(cptr, cidx, rptr, ridx, np.asarray(rc, dtype=np.float64))
    return np.flatnonzero(chosen)


@_jit
def _score(rc: float, mu: float) -> float:
    return rc / mu if rc > 0 else rc * mu


@_jit
def _greedy_kernel(cptr: np.ndarray, cidx: np.ndarray, rptr: np.ndarray, ridx: np.ndarray,
                   rc: np.ndarray) -> np.ndarray:
    """Cover every row, each time taking the column with the lowest reduced-cost score
    (``rc / new rows`` for positive ``rc``, ``rc * new rows`` otherwise); then drop
    columns, largest reduced cost first, whose rows are all covered twice."""
    n = len(cptr) - 1
    m = len(rptr) - 1
    count = np.zeros(m, dtype=np.int64)
    chosen = np.zeros(n, dtype=np.bool_)
    heap = [(0.0, np.int64(0))]
    heap.pop()
    for j in range(n):
        mu = cptr[j + 1] - cptr[j]
        if mu > 0:
            heap.append((_score(rc[j], mu), np.int64(j)))
    heapq.heapify(heap)
    uncovered = m
    while uncovered > 0 and len(heap) > 0:
        _, j = heapq.heappop(heap)
        if chosen[j]:
            continue
        mu = 0
        for p in range(cptr[j], cptr[j + 1]):
            if count[cidx[p]] == 0:
                mu += 1
        if mu == 0:
            continue
        s2 = _score(rc[j], mu)
        if len(heap) > 0 and s2 > heap[0][0] + 1e-12:
            heapq.heappush(heap, (s2, j))
            continue
        chosen[j] = True
        for p in range(cptr[j], cptr[j + 1]):
            r = cidx[p]
            if count[r] == 0:
                uncovered -= 1
            count[r] += 1
    picked = np.flatnonzero(chosen)
    order = picked[np.argsort(-rc[picked], kind="mergesort")]
    for j in order:
        redundant = True
        for p in range(cptr[j], cptr[j + 1]):
            if count[cidx[p]] < 2:
                redundant = False
                break
        if redundant:
            chosen[j] = False
            for p in range(cptr[j], cptr[j + 1]):
                count[cidx[p]] -= 1
    return chosen


def max_cover_bound(matrix: csc_array, weight: np.ndarray, k: int, *, lower: float = 0.0,
                    time_limit_s: float = 10.0, max_iterations: int = 1000) -> tuple[float, int]:
    """Upper bound on the weight ``k`` columns can cover, by Lagrangian relaxation.

    Relaxing ``y_r <= sum_j a_rj x_j`` with multipliers ``u >= 0`` gives, for every
    ``u``, the bound ``sum_r max(0, w_r - u_r) + (sum of the k largest (A^T u)_j)``: the
    rows keep what ``u`` does not pay for, and the best ``k`` columns collect what it
    pays. Subgradient steps (towards ``lower``, a known covered weight) lower it.

    Returns ``(bound, iterations)``.

    >>> a = csc_array(np.array([[1, 0], [1, 1], [0, 1]]))
    >>> bound, _ = max_cover_bound(a, np.array([1.0, 1.0, 1.0]), 1, lower=2.0)
    >>> 2.0 <= bound < 2.01
    True
    """
    t0 = time.perf_counter()
    w = np.asarray(weight, dtype=float)
    m, n = matrix.shape
    if m == 0 or k <= 0:
        return 0.0, 0
    if k >= n:
        return float(w.sum()), 0
    a = csc_array(matrix, dtype=np.float64)
    at = a.T.tocsr()
    u = w.copy()
    best, step, stall, it = math.inf, 2.0, 0, 0
    while it < max_iterations:
        it += 1
        pay = at @ u
        top = np.argpartition(-pay, k - 1)[:k]
        value = float(np.maximum(w - u, 0.0).sum() + pay[top].sum())
        if value < best - 1e-9 * max(1.0, value):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                step, stall = step / 2, 0
        if best <= lower * (1 + 1e-9) or step < 1e-4 or time.perf_counter() - t0 > time_limit_s:
            break
        x = np.zeros(n)
        x[top] = 1.0
        g = (a @ x) - (w > u)
        g[(u <= 0) & (g > 0)] = 0.0
        norm = float(g @ g)
        if norm == 0.0:
            break
        u = np.maximum(0.0, u - step * (value - lower) / norm * g)
    return best * (1 + 1e-12), it
