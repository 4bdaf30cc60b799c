"""Siting for k-fold coverage: each demand piece needs ``need`` more stations to reach it.

The single-coverage solvers (:mod:`.solver`, :mod:`.certificate`) count a row covered when
any chosen site reaches it. Here a row counts when at least ``need`` chosen sites reach it
(``need`` is the cover asked for minus the existing stations that already reach it), so
the models get coverage-count rows::

    sum_j A[i, j] x[j] >= need[i] * y[i]      (y[i] = 1: row i reaches the cover)

fewest sites: minimise ``sum x`` subject to ``sum w y >= target``; best k: maximise
``sum w y`` subject to ``sum x <= k``; spacing conflicts ``x[a] + x[b] <= 1``. A greedy
answer (each site scored by the demand it brings one station closer to the cover) is the
start and the fallback; HiGHS (scipy's ``milp``) solves the model within a time limit and
its dual bound is the certificate, as for single coverage. "Optimal" is optimal for this
model: the candidates given, the exact demand pieces, the rule.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csc_array, csr_array, diags_array, hstack, vstack

from .certificate import Certificate, certificate_of
from .solver import merge_rows

log = logging.getLogger("stationplan._solve.solver")


@dataclass(frozen=True)
class MultiInstance:
    """A k-fold siting problem on the rows still short of the cover.

    Parameters
    ----------
    cover
        ``rows x candidates`` 0/1 matrix (banned candidates' columns all zero).
    weight
        Demand weight of each row.
    need
        Stations each row still needs (>= 1); rows no set of candidates can satisfy are
        left out by :func:`instance`.
    target
        Weight the chosen sites must satisfy (fewest sites), or ``None``.
    k
        Number of sites (best k), or ``None``.
    conflicts
        Candidate pairs that may not both be chosen (upper triangle used), or ``None``.
    """

    cover: csc_array
    weight: np.ndarray
    need: np.ndarray
    target: float | None
    k: int | None
    conflicts: csr_array | None


def instance(cover: csc_array, weight: np.ndarray, need: np.ndarray, *,
             target: float | None, k: int | None, conflicts: csr_array | None
             ) -> tuple[MultiInstance, np.ndarray]:
    """The instance of the rows that some set of candidates can bring to the cover, with
    rows of the same candidates and the same need merged (weights added).

    Returns the instance and, per input row, whether it can be satisfied.

    >>> a = csc_array(np.array([[1, 1], [1, 1], [1, 0], [0, 0]], dtype=np.int8))
    >>> inst, ok = instance(a, np.array([1.0, 2.0, 4.0, 8.0]), np.array([2, 2, 2, 1]),
    ...                     target=None, k=2, conflicts=None)
    >>> inst.cover.toarray().tolist(), inst.weight.tolist(), inst.need.tolist(), ok.tolist()
    ([[1, 1]], [3.0], [2], [True, True, False, False])
    """
    cover = csc_array(cover)
    reach = np.asarray(cover.sum(axis=1)).ravel()
    ok = (reach >= need) & (need >= 1)
    rows = np.flatnonzero(ok)
    sub = cover[rows].tocsc() if len(rows) else csc_array((0, cover.shape[1]), dtype=np.int8)
    n = cover.shape[1]
    top = int(need[rows].max()) if len(rows) else 1
    # one extra column per need value: rows merge only with rows of the same need
    tag = csc_array((np.ones(len(rows), dtype=np.int8),
                     (np.arange(len(rows)), need[rows] - 1)), shape=(len(rows), top))
    merged, w = merge_rows(hstack([sub, tag], format="csc"), weight[rows])
    m = merged.tocsr()
    need_m = np.asarray(m[:, n:].argmax(axis=1)).ravel() + 1
    return MultiInstance(csc_array(m[:, :n]), w, need_m.astype(np.int64), target, k,
                         conflicts), ok


def satisfied(inst: MultiInstance, chosen: list[int]) -> float:
    """Weight of the rows the chosen sites bring to the cover."""
    x = np.zeros(inst.cover.shape[1])
    x[list(chosen)] = 1.0
    return float(inst.weight[inst.cover @ x >= inst.need - 1e-9].sum())


def greedy(inst: MultiInstance, *, limit: int | None = None) -> list[int]:
    """Sites one by one, each the one bringing the most demand closer to the cover
    (``weight / need`` for every row it reaches that still needs a station), until the
    target is met, ``k`` (or ``limit``) sites are chosen, or no site adds anything. Ties go
    to the lower index; sites in conflict with a chosen one are skipped.

    >>> a = csc_array(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.int8))
    >>> greedy(MultiInstance(a, np.array([1.0, 1.0]), np.array([2, 2]), 2.0, None, None))
    [1, 0, 2]
    """
    a = inst.cover.tocsc()
    n = a.shape[1]
    count = np.zeros(a.shape[0])
    allowed = np.ones(n, dtype=bool)
    chosen: list[int] = []
    cap = inst.k if inst.k is not None else (limit if limit is not None else n)
    conf = inst.conflicts.tocsr() if inst.conflicts is not None else None
    while len(chosen) < cap:
        if inst.target is not None and satisfied(inst, chosen) >= inst.target - 1e-9:
            break
        short = count < inst.need
        score = a.T @ np.where(short, inst.weight / inst.need, 0.0)
        score[~allowed] = -1.0
        j = int(np.argmax(score))
        if score[j] <= 1e-12:
            break
        chosen.append(j)
        allowed[j] = False
        if conf is not None:
            allowed[conf.indices[conf.indptr[j]:conf.indptr[j + 1]]] = False
        rows = a.indices[a.indptr[j]:a.indptr[j + 1]]
        count[rows] += 1
    return chosen


def local_search(inst: MultiInstance, chosen: list[int], *, time_limit_s: float = 5.0
                 ) -> list[int]:
    """Improve an answer: best k swaps one site for another while that satisfies more
    weight (each pass one sparse product per chosen site); fewest sites drops sites the
    target does not need. Never makes the answer worse.

    >>> a = csc_array(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1]], dtype=np.int8))
    >>> inst = MultiInstance(a, np.array([1.0, 1.0, 5.0]), np.array([1, 1, 1]), None, 1, None)
    >>> local_search(inst, [0])
    [2]
    """
    t0 = time.perf_counter()
    a = inst.cover.tocsc()
    n = a.shape[1]
    chosen = sorted(chosen)
    x = np.zeros(n)
    x[chosen] = 1.0
    count = a @ x
    conf = inst.conflicts.tocsr() if inst.conflicts is not None else None
    if inst.k is None:  # fewest sites: drop what the target does not need
        for j in list(chosen):
            rows = a.indices[a.indptr[j]:a.indptr[j + 1]]
            trial = count.copy()
            trial[rows] -= 1
            if float(inst.weight[trial >= inst.need].sum()) >= (inst.target or 0.0) - 1e-9:
                count = trial
                chosen.remove(j)
        return chosen
    improved = True
    while improved and time.perf_counter() - t0 < time_limit_s:
        improved = False
        for j in list(chosen):
            rows = a.indices[a.indptr[j]:a.indptr[j + 1]]
            base = float(inst.weight[count >= inst.need].sum())
            less = count.copy()
            less[rows] -= 1
            kept = float(inst.weight[less >= inst.need].sum())
            gain = a.T @ np.where((less + 1 >= inst.need) & (less < inst.need), inst.weight, 0.0)
            gain[chosen] = -np.inf
            if conf is not None:
                for other in chosen:
                    if other != j:
                        gain[conf.indices[conf.indptr[other]:conf.indptr[other + 1]]] = -np.inf
            best = int(np.argmax(gain))
            if kept + gain[best] > base + 1e-9 * max(1.0, base):
                chosen[chosen.index(j)] = best
                count = less
                count[a.indices[a.indptr[best]:a.indptr[best + 1]]] += 1
                chosen.sort()
                improved = True
                break
    return chosen


def solve(inst: MultiInstance, start: list[int], *, time_limit_s: float = 20.0,
          method: str = "greedy") -> Certificate:
    """The best of ``start`` (found by ``method``) and HiGHS's answer within
    ``time_limit_s``, with HiGHS's bound (a lower bound on the fewest sites, or an upper
    bound on the best-k weight)."""
    t0 = time.perf_counter()
    minimize = inst.k is None
    start_value = float(len(start)) if minimize else satisfied(inst, start)
    m, n = inst.cover.shape
    if m == 0:  # nothing left that candidates can bring to the cover
        return certificate_of([] if minimize else start, 0.0 if minimize else start_value,
                              0.0, method, "milp", 0.0, t0)
    a = inst.cover.tocsr().astype(float)
    rows = [hstack([a, -diags_array(inst.need.astype(float))])]
    lo, hi = [np.zeros(m)], [np.full(m, np.inf)]
    if minimize:
        c = np.concatenate([np.ones(n), np.zeros(m)])
        rows.append(csr_array(np.concatenate([np.zeros(n), inst.weight])[None, :]))
        lo.append(np.array([float(inst.target or 0.0) - 1e-9]))
        hi.append(np.array([np.inf]))
    else:
        c = np.concatenate([np.zeros(n), -inst.weight])
        rows.append(csr_array(np.concatenate([np.ones(n), np.zeros(m)])[None, :]))
        lo.append(np.array([-np.inf]))
        hi.append(np.array([float(inst.k or 0)]))
    if inst.conflicts is not None and inst.conflicts.nnz:
        pairs = csr_array(inst.conflicts).tocoo()
        up = pairs.row < pairs.col
        r, q = pairs.row[up], pairs.col[up]
        if len(r):
            e = len(r)
            conf = csr_array((np.ones(2 * e), (np.repeat(np.arange(e), 2),
                                                np.ravel(np.column_stack([r, q])))),
                             shape=(e, n))
            rows.append(hstack([conf, csr_array((e, m))]))
            lo.append(np.full(e, -np.inf))
            hi.append(np.ones(e))
    cons = LinearConstraint(vstack(rows, format="csr"), np.concatenate(lo), np.concatenate(hi))
    # the LP relaxation: a bound that holds even when the MILP finds nothing in time
    lp = milp(c, constraints=cons, bounds=Bounds(0, 1), integrality=np.zeros(n + m, dtype=np.int64))
    lp_bound = None
    if lp.status == 0:
        lp_bound = float(lp.fun) if minimize else -float(lp.fun)
        if minimize:
            lp_bound = float(np.ceil(lp_bound - 1e-6))
    left = max(1.0, time_limit_s - (time.perf_counter() - t0))
    res = milp(c, constraints=cons, bounds=Bounds(0, 1), integrality=np.ones(n + m, dtype=np.int64),
               options={"time_limit": left, "presolve": True})
    chosen, value = list(start), start_value
    bound, proof = lp_bound, "lp" if lp_bound is not None else "none"
    if res.x is not None:
        mine = sorted(np.flatnonzero(res.x[:n] > 0.5).tolist())
        mv = float(len(mine)) if minimize else satisfied(inst, mine)
        ok = (satisfied(inst, mine) >= (inst.target or 0.0) - 1e-6) if minimize else True
        if ok and ((minimize and mv < value) or (not minimize and mv > value + 1e-9)):
            chosen, value, method = mine, mv, "milp"
    dual = getattr(res, "mip_dual_bound", None)
    if dual is not None and np.isfinite(dual) and res.status in (0, 1):
        b = float(dual) if minimize else -float(dual)
        b = float(np.ceil(b - 1e-6)) if minimize else b
        if bound is None or (minimize and b > bound) or (not minimize and b < bound):
            bound, proof = b, "milp"
    if res.status == 0 and bound is not None:
        proof = "milp"
    log.info("k-cover siting: %d rows, %d sites; %s answer %.3f, bound %s (%s)", m, n, method,
             value, "none" if bound is None else f"{bound:.3f}", proof)
    return certificate_of(chosen, value, bound, method, proof, lp_bound, t0)
