"""Maximal-covering / set-covering on a sparse 0/1 matrix: lazy greedy, local search and a
MILP certificate (scipy's HiGHS). Pure array code; the siting stage wraps it.

Rows are demand (weighted), columns are candidate sites. Rows already covered by the
fixed existing stations are removed before this stage.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, linprog
from scipy.sparse import csc_array, csr_array, hstack, identity, vstack

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
    """
    rows = cover.tocsr()
    rows.sort_indices()
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
                       shape=(len(new_w), cover.shape[1]))
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
    """Cover counts of the current solution, updated move by move."""

    def __init__(self, inst: Instance, chosen: list[int]) -> None:
        self.inst = inst
        self.chosen = list(chosen)
        self.count = np.zeros(inst.cover.shape[0], dtype=np.int64)
        for j in self.chosen:
            self.count[inst.col(j)] += 1

    @property
    def covered_w(self) -> float:
        return float(self.inst.weight[self.count > 0].sum())

    def _slack(self) -> float:
        return self.covered_w - (self.inst.need or 0.0)

    def _allowed(self, c: int, without: tuple[int, ...]) -> bool:
        if c in self.chosen:
            return False
        others = set(self.chosen) - set(without)
        return not any(int(x) in others for x in self.inst.neighbours(c))

    def _apply(self, remove: tuple[int, ...], add: int | None) -> None:
        for j in remove:
            self.chosen.remove(j)
            self.count[self.inst.col(j)] -= 1
        if add is not None:
            self.chosen.append(add)
            self.count[self.inst.col(add)] += 1

    def drop_redundant(self, rng: np.random.Generator) -> bool:
        dropped = False
        for j in rng.permutation(self.chosen):
            rows = self.inst.col(int(j))
            lost = float(self.inst.weight[rows][self.count[rows] == 1].sum())
            if lost <= self._slack() + 1e-7:
                self._apply((int(j),), None)
                dropped = True
        return dropped

    def _gain_after(self, remove: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """Weight each column would add after removing ``remove``, and the weight lost."""
        inst = self.inst
        count = self.count.copy()
        for j in remove:
            count[inst.col(j)] -= 1
        lost_rows = np.unique(np.concatenate([inst.col(j) for j in remove]))
        lost_rows = lost_rows[count[lost_rows] == 0]
        w = inst.weight
        gains = self._base_gain.copy()
        if len(lost_rows):
            sub = inst.rows_csr[lost_rows]
            gains += sub.T @ w[lost_rows]
        return gains, float(w[lost_rows].sum())

    @property
    def _base_gain(self) -> np.ndarray:
        uncovered = np.where(self.count == 0, self.inst.weight, 0.0)
        return self.inst.cover.T @ uncovered

    def two_for_one(self, rng: np.random.Generator) -> bool:
        inst = self.inst
        unique = {j: inst.col(j)[self.count[inst.col(j)] == 1] for j in self.chosen}
        reach = {j: set(inst.rows_csr[rows].indices.tolist()) if len(rows) else set()
                 for j, rows in unique.items()}
        order = [int(j) for j in rng.permutation(self.chosen)]
        for a_pos, a in enumerate(order):
            for b in order[a_pos + 1:]:
                if a not in self.chosen or b not in self.chosen:
                    continue
                common = (reach[a] & reach[b]) - {a, b}
                if not common and (reach[a] and reach[b]):
                    continue
                gains, lost = self._gain_after((a, b))
                slack = self._slack()
                best, best_gain = None, -math.inf
                for c in sorted(common) if common else np.argsort(-gains)[:50].tolist():
                    if gains[c] > best_gain and self._allowed(c, (a, b)):
                        best, best_gain = c, float(gains[c])
                if best is not None and best_gain >= lost - slack - 1e-7:
                    self._apply((a, b), best)
                    return True
        return False

    def swap(self, rng: np.random.Generator) -> bool:
        improved = False
        for j in [int(x) for x in rng.permutation(self.chosen)]:
            if j not in self.chosen:
                continue
            gains, lost = self._gain_after((j,))
            gains[j] = -math.inf
            for c in np.argsort(-gains, kind="stable")[:20]:
                c = int(c)
                if gains[c] - lost <= 1e-7:
                    break
                if self._allowed(c, (j,)):
                    self._apply((j,), c)
                    improved = True
                    break
        return improved


@dataclass(frozen=True)
class Certificate:
    """The best solution found, with its proof of quality.

    ``bound`` is a lower bound on the fewest sites, or an upper bound on the best-k
    weight; ``gap`` is relative (0 = optimal); ``method`` says who found the solution and
    ``proof`` what proves the bound ("milp", "lp", or "none").
    """

    chosen: list[int]
    objective: float
    bound: float | None
    gap: float | None
    optimal: bool
    method: str
    proof: str
    lp_bound: float | None
    seconds: float


def certify(inst: Instance, chosen: list[int], *, method: str, time_limit_s: float = 30.0,
            max_nonzeros: int = 20_000_000) -> Certificate:
    """Bound the heuristic ``chosen`` by LP, then search for better with a MILP.

    The MILP (HiGHS) starts from the heuristic solution and stops at ``time_limit_s``; it
    returns the best solution found and a proven bound on the optimum.
    """
    t0 = time.perf_counter()
    minimize = inst.k is None
    heur = float(len(chosen)) if minimize else covered_weight(inst, chosen)
    if inst.cover.nnz > max_nonzeros:
        log.warning("instance too large for the LP/MILP certificate (%d nonzeros)", inst.cover.nnz)
        return Certificate(chosen, heur, None, None, False, method, "none", None,
                           time.perf_counter() - t0)
    c, integrality, bounds, rows = _model(inst)
    lp = _lp(c, rows, bounds)
    lp_bound = None if lp is None else (math.ceil(lp - 1e-6) if minimize else lp)
    if lp_bound is not None and _proved(minimize, heur, lp_bound):
        return _cert(chosen, heur, lp_bound, method, "lp", lp_bound, t0)
    remaining = max(time_limit_s - (time.perf_counter() - t0), 1.0)
    x, status, dual = _milp(inst, c, integrality, bounds, rows, chosen, remaining)
    if x is None:
        return _cert(chosen, heur, lp_bound, method, "lp", lp_bound, t0)
    better = sorted(int(j) for j in np.flatnonzero(x[: inst.cover.shape[1]] > 0.5))
    value = float(len(better)) if minimize else covered_weight(inst, better)
    if _worse_value(minimize, value, heur):
        better, value = chosen, heur
    found = method if better == sorted(chosen) else "milp"
    if status == "optimal":
        return _cert(better, value, value, found, "milp", lp_bound, t0)
    if dual is not None and minimize:
        dual = math.ceil(dual - 1e-6)
    return _cert(better, value, _best_bound(minimize, lp_bound, dual), found,
                 "milp" if dual is not None else "lp", lp_bound, t0)


def _milp(inst, c, integrality, bounds, rows, chosen, time_limit_s):
    """Solve the MILP with HiGHS, warm-started from ``chosen``.

    Returns ``(x, status, dual_bound)``; ``x`` is ``None`` when HiGHS found nothing.
    """
    import highspy

    with _quiet_stdout():  # HiGHS prints a banner when constructed
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 1e-7)
    # HiGHS's presolve can run for minutes on dense covering models, ignoring the time
    # limit, and maps a warm start back to the unimproved start; the LP solves fine without.
    h.setOptionValue("presolve", "off")
    a = rows.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=float)
    lp.col_lower_ = np.asarray(bounds.lb, dtype=float)
    lp.col_upper_ = np.asarray(bounds.ub, dtype=float)
    lp.row_lower_ = np.where(np.isfinite(rows.lb), rows.lb, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(rows.ub), rows.ub, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integrality]
    h.passModel(lp)
    start = np.zeros(a.shape[1])
    start[chosen] = 1.0
    if a.shape[1] > inst.cover.shape[1]:  # y: rows covered by the start
        covered = np.zeros(inst.cover.shape[0], dtype=bool)
        for j in chosen:
            covered[inst.col(j)] = True
        start[inst.cover.shape[1]:] = covered
    sol = highspy.HighsSolution()
    sol.col_value = start.tolist()
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # no feasible solution
        return None, "none", None
    x = np.asarray(h.getSolution().col_value)
    status = "optimal" if model_status == highspy.HighsModelStatus.kOptimal else "limit"
    if abs(float(np.dot(c, x)) - info.objective_function_value) > 1e-6 * max(1.0, abs(info.objective_function_value)):
        log.warning("HiGHS returned a solution that does not match its objective; not trusted")
        status = "limit"
    dual = float(info.mip_dual_bound)
    if not math.isfinite(dual):
        dual = None
    elif inst.k is not None:
        dual = -dual  # the model minimises the negative weight
    return x, status, dual


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level writes to stdout (the library must not print)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _worse_value(minimize: bool, value: float, ref: float) -> bool:
    return value > ref + 1e-9 if minimize else value < ref - 1e-7


@dataclass(frozen=True)
class _Rows:
    A: csr_array
    lb: np.ndarray
    ub: np.ndarray


def _model(inst: Instance):
    """Variables x (sites) then y (rows covered, continuous); all constraints as rows."""
    m, n = inst.cover.shape
    a = inst.cover.tocsr().astype(float)
    blocks, lbs, ubs = [], [], []
    if inst.k is None and inst.need is not None and inst.need >= inst.weight.sum() - 1e-7:
        # full cover: A x >= 1, no y needed
        c = np.ones(n)
        integrality = np.ones(n)
        bounds = Bounds(np.zeros(n), np.ones(n))
        blocks.append(a)
        lbs.append(np.ones(m))
        ubs.append(np.full(m, np.inf))
        ncols = n
    else:
        ncols = n + m
        integrality = np.concatenate([np.ones(n), np.zeros(m)])
        bounds = Bounds(np.zeros(ncols), np.ones(ncols))
        # y_j - A_j x <= 0
        blocks.append(hstack([-a, identity(m, format="csr")]).tocsr())
        lbs.append(np.full(m, -np.inf))
        ubs.append(np.zeros(m))
        if inst.k is None:
            c = np.concatenate([np.ones(n), np.zeros(m)])
            blocks.append(csr_array(np.concatenate([np.zeros(n), inst.weight])[None, :]))
            lbs.append(np.array([inst.need or 0.0]))
            ubs.append(np.array([np.inf]))
        else:
            c = np.concatenate([np.zeros(n), -inst.weight])
            blocks.append(csr_array(np.concatenate([np.ones(n), np.zeros(m)])[None, :]))
            lbs.append(np.array([0.0]))
            ubs.append(np.array([float(inst.k)]))
    if inst.conflicts is not None and inst.conflicts.nnz:
        pairs = np.argwhere(np.triu(inst.conflicts.toarray(), 1)) if n <= 4000 else \
            _upper_pairs(inst.conflicts)
        if len(pairs):
            p = len(pairs)
            rows = np.repeat(np.arange(p), 2)
            conf = csr_array((np.ones(2 * p), (rows, pairs.ravel())), shape=(p, ncols))
            blocks.append(conf)
            lbs.append(np.full(p, -np.inf))
            ubs.append(np.ones(p))
    rows = _Rows(vstack(blocks).tocsr(), np.concatenate(lbs), np.concatenate(ubs))
    return c, integrality, bounds, rows


def _upper_pairs(conf: csr_array) -> np.ndarray:
    coo = conf.tocoo()
    keep = coo.row < coo.col
    return np.column_stack([coo.row[keep], coo.col[keep]])


def _lp(c, rows: _Rows, bounds: Bounds) -> float | None:
    finite_ub = np.isfinite(rows.ub)
    finite_lb = np.isfinite(rows.lb)
    a_ub = vstack([rows.A[finite_ub], -rows.A[finite_lb]]).tocsr()
    b_ub = np.concatenate([rows.ub[finite_ub], -rows.lb[finite_lb]])
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=np.column_stack([bounds.lb, bounds.ub]),
                  method="highs")
    if res.status != 0:
        return None
    return float(res.fun) if c.min() >= 0 else float(-res.fun)


def _proved(minimize: bool, heur: float, bound: float) -> bool:
    return heur <= bound + 1e-7 if minimize else heur >= bound - 1e-6 * max(1.0, abs(bound))


def _best_bound(minimize: bool, lp: float | None, dual: float | None) -> float | None:
    vals = [v for v in (lp, dual) if v is not None]
    if not vals:
        return None
    return max(vals) if minimize else min(vals)


def _cert(chosen, value, bound, method, proof, lp_bound, t0) -> Certificate:
    gap = None
    if bound is not None:
        gap = abs(value - bound) / max(abs(value), abs(bound), 1e-12) if value or bound else 0.0
    optimal = gap is not None and gap <= 1e-6
    return Certificate(list(chosen), float(value), None if bound is None else float(bound),
                       0.0 if optimal else gap, optimal, method, proof,
                       None if lp_bound is None else float(lp_bound), time.perf_counter() - t0)
