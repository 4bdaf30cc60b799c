"""Maximal-covering / set-covering on a sparse 0/1 matrix: the instance, lazy greedy and
local search (the certificate is :mod:`.certificate`). Pure array code; the siting stage
wraps it.

Rows are demand (weighted), columns are candidate sites. Rows already covered by the
fixed existing stations are removed before this stage.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csc_array, csr_array

from . import kernels as _kernels

log = logging.getLogger(__name__)

_EPS = 1e-9


@dataclass(frozen=True)
class Instance:
    """A covering instance.

    Parameters
    ----------
    cover
        ``rows x cols`` 0/1 matrix (CSC).
    weight
        Weight of each row.
    need
        For the fewest-sites objective: weight that must be covered; else ``None``.
    k
        For the best-k objective: number of sites; else ``None``.
    conflicts
        ``cols x cols`` symmetric 0/1 matrix of pairs that may not both be chosen.
    """

    cover: csc_array
    weight: np.ndarray
    need: float | None = None
    k: int | None = None
    conflicts: csr_array | None = None
    rows_csr: csr_array = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows_csr", self.cover.tocsr())

    def col(self, j: int) -> np.ndarray:
        """Rows covered by column ``j``."""
        c = self.cover
        return c.indices[c.indptr[j]:c.indptr[j + 1]]

    def neighbours(self, j: int) -> np.ndarray:
        """Columns in conflict with ``j``."""
        if self.conflicts is None:
            return np.zeros(0, dtype=np.int64)
        c = self.conflicts
        return c.indices[c.indptr[j]:c.indptr[j + 1]]


def merge_rows(cover: csc_array, weight: np.ndarray) -> tuple[csc_array, np.ndarray]:
    """Merge rows covered by exactly the same columns (their weights add up) and drop rows
    no column covers. The optimum does not change; the MILP gets much smaller.

    Merged rows keep the order of their first row; weights add up in row order.

    >>> m, w = merge_rows(csc_array(np.array([[1, 0], [1, 0], [0, 0], [0, 1]])),
    ...                   np.array([1.0, 2.0, 4.0, 8.0]))
    >>> m.toarray().tolist(), w.tolist()
    ([[1, 0], [0, 1]], [3.0, 8.0])
    """
    cover = csc_array(cover)
    if not cover.has_sorted_indices:
        cover = cover.copy()
        cover.sort_indices()
    m, n_cols = cover.shape
    indptr, indices = cover.indptr, cover.indices
    keys = np.random.default_rng(20240611).integers(-2**63, 2**63 - 1, (2, n_cols),
                                                    dtype=np.int64)
    h1, h2, count = _kernels.row_hashes(indptr, indices, m, keys[0], keys[1])
    keep = np.flatnonzero(count > 0)
    if len(keep) == 0:
        return csc_array((0, n_cols), dtype=np.int8), np.zeros(0)
    # Rows with the same columns have the same (count, hash, hash): two sums of random
    # 64-bit keys over their columns; every group found this way is then checked exactly.
    h1, h2, c = h1[keep], h2[keep], count[keep]
    order = np.argsort(h1, kind="stable")  # rows of a group stay in row order
    h1, h2, c = h1[order], h2[order], c[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = h1[1:] != h1[:-1]
    if np.any(~new_group[1:] & ((h2[1:] != h2[:-1]) | (c[1:] != c[:-1]))):
        return _merge_rows_exact(cover.tocsr(), weight)  # a hash collision: merge exactly
    first_row = keep[order][new_group]
    rank = np.empty(len(first_row), dtype=np.int64)
    rank[np.argsort(first_row, kind="stable")] = np.arange(len(first_row))
    group = np.full(m, -1, dtype=np.int64)
    group[keep[order]] = rank[np.cumsum(new_group) - 1]  # numbered by their first row
    size = np.bincount(group[keep], minlength=len(first_row))
    if not _kernels.groups_consistent(indptr, indices, group, size):
        return _merge_rows_exact(cover.tocsr(), weight)  # a hash collision: merge exactly
    new_w = np.bincount(group[keep], weights=np.asarray(weight, dtype=float)[keep],
                        minlength=len(first_row))
    # The merged matrix keeps each group's first row, renumbered (the order is unchanged).
    leader = np.zeros(m, dtype=bool)
    leader[first_row] = True
    col_ptr, rows = _kernels.keep_rows(indptr, indices, leader, group)
    merged = csc_array((np.ones(len(rows), dtype=np.int8), rows, col_ptr.astype(rows.dtype)),
                       shape=(len(first_row), n_cols))
    return merged, new_w


def _merge_rows_exact(rows: csr_array, weight: np.ndarray) -> tuple[csc_array, np.ndarray]:
    """The plain version of :func:`merge_rows`, one row at a time."""
    keep = np.diff(rows.indptr) > 0
    groups: dict[bytes, int] = {}
    new_w: list[float] = []
    new_rows: list[np.ndarray] = []
    for r in np.flatnonzero(keep):
        cols = rows.indices[rows.indptr[r]:rows.indptr[r + 1]]
        key = cols.tobytes()
        g = groups.get(key)
        if g is None:
            groups[key] = len(new_w)
            new_w.append(float(weight[r]))
            new_rows.append(cols)
        else:
            new_w[g] += float(weight[r])
    lengths = np.array([len(c) for c in new_rows], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(new_rows) if new_rows else np.zeros(0, dtype=np.int64)
    merged = csr_array((np.ones(len(indices), dtype=np.int8), indices, indptr),
                       shape=(len(new_w), rows.shape[1]))
    return merged.tocsc(), np.asarray(new_w)


def greedy(inst: Instance, *, start: list[int] | None = None) -> list[int]:
    """Lazy greedy: add the column with the largest weight of newly covered rows.

    Stops at ``inst.k`` sites, or once ``inst.need`` is covered, or when nothing adds
    weight. Ties go to the lower column index, so the result is deterministic.
    """
    chosen = list(start or [])
    covered = np.zeros(inst.cover.shape[0], dtype=bool)
    banned = np.zeros(inst.cover.shape[1], dtype=bool)
    covered_w = 0.0
    for j in chosen:
        covered_w += _take(inst, j, covered, banned)
    gains = inst.cover.T @ inst.weight if inst.cover.shape[0] else np.zeros(inst.cover.shape[1])
    heap = [(-g, j) for j, g in enumerate(gains) if g > _EPS and not banned[j]]
    heapq.heapify(heap)
    while heap and not _done(inst, len(chosen), covered_w):
        _, j = heapq.heappop(heap)
        if banned[j]:
            continue
        rows = inst.col(j)
        gain = float(inst.weight[rows][~covered[rows]].sum())
        if gain <= _EPS:
            continue
        if heap and gain < -heap[0][0] - _EPS:
            heapq.heappush(heap, (-gain, j))
            continue
        chosen.append(j)
        covered_w += _take(inst, j, covered, banned)
    return chosen


def _take(inst: Instance, j: int, covered: np.ndarray, banned: np.ndarray) -> float:
    rows = inst.col(j)
    new = rows[~covered[rows]]
    covered[new] = True
    banned[j] = True
    banned[inst.neighbours(j)] = True
    return float(inst.weight[new].sum())


def _done(inst: Instance, n_chosen: int, covered_w: float) -> bool:
    if inst.k is not None:
        return n_chosen >= inst.k
    return covered_w >= (inst.need or 0.0) - 1e-7


def covered_weight(inst: Instance, chosen: list[int]) -> float:
    """Weight of rows covered by ``chosen``."""
    covered = np.zeros(inst.cover.shape[0], dtype=bool)
    for j in chosen:
        covered[inst.col(j)] = True
    return float(inst.weight[covered].sum())


def local_search(inst: Instance, chosen: list[int], *, seed: int = 0,
                 max_rounds: int = 50) -> list[int]:
    """Improve a solution with drop, 2-for-1 and 1-for-1 swap moves until none helps.

    For the fewest-sites objective a move must keep ``need`` covered; it improves when it
    removes a site, or (swap) keeps the count and covers more. For best-k, a swap improves
    when it covers more. Move order is shuffled with ``seed``; the answer never gets worse.
    """
    rng = np.random.default_rng(seed)
    chosen = list(chosen)
    state = _State(inst, chosen)
    for _ in range(max_rounds):
        improved = False
        if inst.k is None:
            improved |= state.drop_redundant(rng)
            improved |= state.two_for_one(rng)
        improved |= state.swap(rng)
        if not improved:
            break
    return state.chosen


class _State:
    """Cover counts of the current solution, updated move by move.

    Moves are found by compiled scans (_kernels) that keep running sums; every move is
    then decided with exactly the sums and tolerances of the plain formulas
    (``cover.T @ uncovered``, ``w[rows].sum()``), so rounding in the running sums never
    changes which move is made.
    """

    def __init__(self, inst: Instance, chosen: list[int]) -> None:
        self.inst = inst
        self.chosen = list(chosen)
        cover, rows = inst.cover, inst.rows_csr
        self.c_ptr, self.c_idx = cover.indptr.astype(np.int64), cover.indices.astype(np.int64)
        self.r_ptr, self.r_idx = rows.indptr.astype(np.int64), rows.indices.astype(np.int64)
        conf = inst.conflicts if inst.conflicts is not None else csr_array(
            (cover.shape[1], cover.shape[1]), dtype=np.int8)
        self.f_ptr, self.f_idx = conf.indptr.astype(np.int64), conf.indices.astype(np.int64)
        self.w = np.asarray(inst.weight, dtype=float)
        self.count = np.zeros(cover.shape[0], dtype=np.int64)
        self.in_chosen = np.zeros(cover.shape[1], dtype=bool)
        self.base = cover.T @ self.w if cover.shape[0] else np.zeros(cover.shape[1])
        self.covered_fast = 0.0
        self.exact_covered: float | None = None
        self.moves = self.gain_moves = 0
        self.scale = float(np.abs(self.w).sum()) + 1.0
        # largest weight a column covers, and longest column: they bound the rounding
        self.col_scale = float(self.base.max(initial=0.0)) + 1.0
        self.col_len = int(np.diff(self.c_ptr).max(initial=0))
        for j in self.chosen:
            self._change(j, 1)
        # scratch arrays of the compiled scans
        self.mark = np.zeros(cover.shape[0], dtype=bool)
        self.buf = np.empty(cover.shape[0] + 1, dtype=np.int64)
        self.acc = np.zeros(cover.shape[1])
        self.touched = np.empty(cover.shape[1] + 1, dtype=np.int64)

    def _change(self, j: int, delta: int) -> None:
        change, flips = _kernels.apply_column(self.c_ptr, self.c_idx, self.r_ptr, self.r_idx,
                                              self.w, self.count, self.base, j, delta)
        self.covered_fast += change
        if flips:
            self.exact_covered = None
        self.in_chosen[j] = delta > 0
        self.moves += 1
        self.gain_moves += 1
        if self.gain_moves > 2000:  # recompute the running gains to bound their rounding
            uncovered = np.where(self.count == 0, self.w, 0.0)
            self.base = self.inst.cover.T @ uncovered
            self.gain_moves = 0

    @property
    def covered_w(self) -> float:
        if self.exact_covered is None:  # the covered rows changed since the last sum
            self.exact_covered = float(self.w[self.count > 0].sum())
            self.covered_fast, self.moves = self.exact_covered, 0  # resynchronise
        return self.exact_covered

    def _tol(self) -> float:
        """Bound on the rounding in the running covered weight (only used to skip)."""
        return (64 + self.moves) * 4.5e-16 * self.scale

    def _tol_gain(self) -> float:
        """Bound on the rounding in running column gains, well below the 1e-7 of the moves."""
        return 4 * (64 + self.gain_moves + self.col_len) * 2.3e-16 * self.col_scale

    def _slack(self) -> float:
        return self.covered_w - (self.inst.need or 0.0)

    def _allowed(self, c: int, without: tuple[int, ...]) -> bool:
        if self.in_chosen[c]:
            return False
        nb = self.inst.neighbours(c)
        return not any(self.in_chosen[x] and int(x) not in without for x in nb)

    def _apply(self, remove: tuple[int, ...], add: int | None) -> None:
        for j in remove:
            self.chosen.remove(j)
            self._change(j, -1)
        if add is not None:
            self.chosen.append(add)
            self._change(add, 1)

    def drop_redundant(self, rng: np.random.Generator) -> bool:
        dropped = False
        need = self.inst.need or 0.0
        order = np.array([int(j) for j in rng.permutation(self.chosen)], dtype=np.int64)
        p = 0
        while True:
            tol = self._tol() + self._tol_gain()
            p = _kernels.drop_scan(order, p, self.c_ptr, self.c_idx, self.w, self.count,
                                   self.in_chosen, self.covered_fast - need + 1e-7, tol)
            if p >= len(order):
                return dropped
            j = int(order[p])
            p += 1
            rows = self.inst.col(j)
            lost = float(self.w[rows][self.count[rows] == 1].sum())
            if lost <= self._slack() + 1e-7:
                self._apply((j,), None)
                dropped = True

    def _lost_after(self, remove: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """Rows no chosen site covers once ``remove`` go (sorted), and their weight."""
        inst = self.inst
        rows = np.unique(np.concatenate([inst.col(j) for j in remove]))
        left = self.count[rows].copy()
        for j in remove:
            left -= np.isin(rows, inst.col(j), assume_unique=True)
        lost_rows = rows[left == 0]
        return lost_rows, float(self.w[lost_rows].sum())

    def _gains(self, cols: Iterable[int], lost_rows: np.ndarray) -> np.ndarray:
        return _kernels.exact_gains(np.asarray(cols, dtype=np.int64), lost_rows, self.c_ptr,
                                    self.c_idx, self.w, self.count, self.mark)

    def _gain_after(self, remove: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """Weight each column would add after removing ``remove``, and the weight lost."""
        lost_rows, lost = self._lost_after(remove)
        return self._gains(np.arange(self.inst.cover.shape[1]), lost_rows), lost

    def two_for_one(self, rng: np.random.Generator) -> bool:
        inst = self.inst
        order = np.array([int(j) for j in rng.permutation(self.chosen)], dtype=np.int64)
        reach_ptr, reach = _kernels.reach_sets(order, self.c_ptr, self.c_idx, self.r_ptr,
                                               self.r_idx, self.count, inst.cover.shape[1])
        pa, pb = 0, 0
        slack_fast = self.covered_fast - (inst.need or 0.0)
        while True:
            pa, pb = _kernels.pair_scan(order, pa, pb, reach_ptr, reach, self.c_ptr,
                                        self.c_idx, self.r_ptr, self.r_idx, self.w,
                                        self.count, self.base, self.in_chosen, self.f_ptr,
                                        self.f_idx, slack_fast,
                                        self._tol() + self._tol_gain())
            if pa < 0:
                return False
            a, b = int(order[pa]), int(order[pb])
            ra = set(reach[reach_ptr[pa]:reach_ptr[pa + 1]].tolist())
            rb = set(reach[reach_ptr[pb]:reach_ptr[pb + 1]].tolist())
            common = (ra & rb) - {a, b}
            lost_rows, lost = self._lost_after((a, b))
            slack = self._slack()
            if common:
                cols = sorted(common)
                gains = dict(zip(cols, self._gains(cols, lost_rows).tolist(), strict=True))
            else:
                full = self._gains(np.arange(inst.cover.shape[1]), lost_rows)
                cols = np.argsort(-full)[:50].tolist()
                gains = {c: float(full[c]) for c in cols}
            best, best_gain = None, -math.inf
            for c in cols:
                if gains[c] > best_gain and self._allowed(c, (a, b)):
                    best, best_gain = c, float(gains[c])
            if best is not None and best_gain >= lost - slack - 1e-7:
                self._apply((a, b), best)
                return True
            pb += 1

    def swap(self, rng: np.random.Generator) -> bool:
        improved = False
        order = np.array([int(x) for x in rng.permutation(self.chosen)], dtype=np.int64)
        p = 0
        while True:
            p = _kernels.swap_scan(order, p, self.c_ptr, self.c_idx, self.r_ptr, self.r_idx,
                                   self.w, self.count, self.base, self.in_chosen,
                                   self._tol_gain(), self.acc, self.touched, self.mark,
                                   self.buf)
            if p >= len(order):
                return improved
            j = int(order[p])
            p += 1
            cands, lost_rows = _kernels.swap_candidates(
                j, self.c_ptr, self.c_idx, self.r_ptr, self.r_idx, self.w, self.count,
                self.base, self._tol_gain(), self.acc, self.mark, self.buf)
            lost = float(self.w[lost_rows].sum())
            gains = self._gains(cands, lost_rows)
            passing = gains - lost > 1e-7
            # the first 20 of a stable sort by gain, among those that beat the loss
            top = sorted(zip((-gains[passing]).tolist(), cands[passing].tolist(),
                             strict=True))[:20]
            for _, c in top:
                if self._allowed(c, (j,)):
                    self._apply((j,), c)
                    improved = True
                    break
