"""The certificate of a siting answer: LP and MILP bounds (scipy's HiGHS) on the set-cover
and maximal-covering models, and the better solutions the MILP finds from the heuristic's.

Split from :mod:`.solver` (the heuristics), which it calls; :mod:`stationplan.siting` runs
the heuristics, then :func:`certify`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, linprog
from scipy.sparse import csc_array, csr_array, hstack, identity, vstack

from . import setcover as _setcover
from .solver import Instance, covered_weight, local_search, merge_rows

log = logging.getLogger("stationplan._solve.solver")  # the certificate's log, as before the split


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


def certify(inst: Instance, chosen: list[int], *, method: str, time_limit_s: float = 20.0,
            max_nonzeros: int = 20_000_000,
            progress: Callable[[int, int], None] | None = None) -> Certificate:
    """Bound the heuristic ``chosen`` by LP, then search for better with a MILP.

    The MILP (HiGHS) starts from the heuristic solution and stops at ``time_limit_s``; it
    returns the best solution found and a proven bound on the optimum. Without spacing
    conflicts, dominated columns are removed first (a site whose rows another site also
    covers is never needed), which keeps the optimum and shrinks the models.
    ``progress(seconds, time_limit_s)`` is called about once a second while it works
    (HiGHS reports nothing on the way, so the seconds used of the limit are the progress).
    """
    with _ticking(progress, time_limit_s):
        return _certify(inst, chosen, method=method, time_limit_s=time_limit_s,
                        max_nonzeros=max_nonzeros)


@contextlib.contextmanager
def _ticking(progress: Callable[[int, int], None] | None, limit_s: float,
             every_s: float = 1.0) -> Iterator[None]:
    """Call ``progress(whole seconds so far, limit)`` every ``every_s`` from a thread, and
    ``progress(limit, limit)`` at the end.

    >>> seen = []
    >>> with _ticking(lambda done, total: seen.append((done, total)), 3, every_s=0.01):
    ...     time.sleep(0.05)
    >>> seen[0], seen[-1]
    ((0, 3), (3, 3))
    """
    if progress is None:
        yield
        return
    total = max(math.ceil(limit_s), 1)
    stop = threading.Event()
    t0 = time.perf_counter()

    def tick() -> None:
        while not stop.is_set():
            progress(min(int(time.perf_counter() - t0), total), total)
            stop.wait(every_s)

    ticker = threading.Thread(target=tick, name="certificate-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        progress(total, total)


def _certify(inst: Instance, chosen: list[int], *, method: str, time_limit_s: float,
             max_nonzeros: int) -> Certificate:
    t0 = time.perf_counter()
    if _full_cover(inst):
        return _certify_cover(inst, chosen, method=method, time_limit_s=time_limit_s,
                              max_nonzeros=max_nonzeros, t0=t0)
    if inst.conflicts is None and inst.cover.shape[0]:
        cols, image = _setcover.dominant_columns(inst.cover)
        if len(cols) < inst.cover.shape[1]:
            cover, weight = merge_rows(inst.cover[:, cols], inst.weight)
            sub = Instance(cover, weight, need=inst.need, k=inst.k)
            position = np.full(inst.cover.shape[1], -1, dtype=np.int64)
            position[cols] = np.arange(len(cols))
            start = sorted({int(position[image[j]]) for j in chosen if image[j] >= 0})
            cert = _certify_model(sub, start, method=method, time_limit_s=time_limit_s,
                                  max_nonzeros=max_nonzeros, t0=t0)
            final = sorted(int(cols[j]) for j in cert.chosen)
            value, heur = _value(inst, final), _value(inst, chosen)
            improved = value < heur if inst.k is None else value > heur + 1e-7 * max(1.0, heur)
            final, value, found = ((final, value, cert.method) if improved
                                   else (sorted(chosen), heur, method))
            return certificate_of(final, value, cert.bound, found, cert.proof, cert.lp_bound, t0)
    return _certify_model(inst, chosen, method=method, time_limit_s=time_limit_s,
                          max_nonzeros=max_nonzeros, t0=t0)


def _value(inst: Instance, chosen: list[int]) -> float:
    return float(len(chosen)) if inst.k is None else covered_weight(inst, chosen)


def _certify_model(inst: Instance, chosen: list[int], *, method: str, time_limit_s: float,
                   max_nonzeros: int, t0: float) -> Certificate:
    """Bounds (Lagrangian for best-k, LP), then the MILP warm-started from ``chosen``.

    For best-k the Lagrangian bound (:func:`_setcover.max_cover_bound`) comes first: it
    needs only matrix-vector products, so large instances whose LP does not finish in
    time still get a proven bound.
    """
    minimize = inst.k is None
    heur = _value(inst, chosen)
    bounds_found: list[tuple[float, str]] = []  # (bound, proof)
    if not minimize:
        assert inst.k is not None  # best-k (not minimize) has its k
        left = time_limit_s - (time.perf_counter() - t0)
        lag, _ = _setcover.max_cover_bound(inst.cover, inst.weight, int(inst.k), lower=heur,
                                           time_limit_s=max(min(left / 4, 10.0), 1.0))
        bounds_found.append((lag, "lagrangian"))
        if _proved(minimize, heur, lag):
            return certificate_of(chosen, heur, lag, method, "lagrangian", None, t0)
    # HiGHS's interior point does not look at its time limit while it sets up: on the
    # best-k LP of 22 M nonzeros (Chengdu, exact model, 50 m candidates) it ran past 15
    # minutes with a 10 s limit. Best-k has its Lagrangian bound; past half the budget
    # of nonzeros that is the bound.
    if inst.cover.nnz > (max_nonzeros if minimize else max_nonzeros // 2):
        log.warning("instance too large for the LP/MILP certificate (%d nonzeros)", inst.cover.nnz)
        bound, proof = _tightest(minimize, bounds_found)
        return certificate_of(chosen, heur, bound, method, proof, None, t0)
    c, integrality, bounds, rows = _model(inst)
    left = time_limit_s - (time.perf_counter() - t0)
    lp = _lp(c, rows, bounds, time_limit_s=max(left / 2, 1.0))
    lp_bound = None if lp is None else (math.ceil(lp - 1e-6) if minimize else lp)
    if lp_bound is not None:
        bounds_found.append((lp_bound, "lp"))
        if _proved(minimize, heur, lp_bound):
            return certificate_of(chosen, heur, lp_bound, method, "lp", lp_bound, t0)
    remaining = max(time_limit_s - (time.perf_counter() - t0), 1.0)
    x, status, dual = _milp(inst, c, integrality, bounds, rows, chosen, remaining)
    better, value, found = chosen, heur, method
    if x is not None:
        milp_best = sorted(int(j) for j in np.flatnonzero(x[: inst.cover.shape[1]] > 0.5))
        milp_value = _value(inst, milp_best)
        if not _worse_value(minimize, milp_value, heur) and milp_best != sorted(chosen):
            better, value, found = milp_best, milp_value, "milp"
        if status == "optimal":
            return certificate_of(better, value, value, found, "milp", lp_bound, t0)
        if dual is not None:
            bounds_found.append((math.ceil(dual - 1e-6) if minimize else dual, "milp"))
    bound, proof = _tightest(minimize, bounds_found)
    return certificate_of(better, value, bound, found, proof, lp_bound, t0)


def _tightest(minimize: bool, found: list[tuple[float, str]]) -> tuple[float | None, str]:
    """The tightest of the proven bounds (largest lower, or smallest upper) and its proof."""
    if not found:
        return None, "none"
    return max(found) if minimize else min(found)


def _full_cover(inst: Instance) -> bool:
    """Fewest sites covering every row, without spacing conflicts: a plain set cover."""
    return (inst.k is None and inst.need is not None and inst.conflicts is None
            and inst.need >= inst.weight.sum() - 1e-7 and bool(np.any(inst.weight > 0))
            and bool(np.all(np.diff(inst.rows_csr.indptr) > 0)))


def _certify_cover(inst: Instance, chosen: list[int], *, method: str, time_limit_s: float,
                   max_nonzeros: int, t0: float) -> Certificate:
    """Certify a full cover: reduce, bound by the LP dual, improve, then the MILP.

    The reductions (:func:`_setcover.reduce`) keep the optimum. The LP relaxation of the
    reduced cover is solved by interior point; its row duals ``y``, clipped at zero, give
    the rigorous bound ``L(y)`` (:mod:`_setcover`), and their reduced costs steer a greedy
    whose answer the local search improves. The MILP then runs on the reduced model,
    warm-started from the best cover found.
    """
    must = np.flatnonzero(inst.weight > 0)  # rows of weight 0 need no cover
    red = _setcover.reduce(inst.cover[must] if len(must) < inst.cover.shape[0] else inst.cover)
    n_forced = len(red.forced)
    m = red.matrix.shape[0]
    sub = Instance(red.matrix, np.ones(m), need=float(m))
    best = _completed(sub, red.project(chosen))
    found = method
    if m == 0:  # the essential columns cover everything: they are the optimum
        final, found = _pick(inst, must, red.lift([]), "reduction", chosen, method)
        return certificate_of(final, float(len(final)), n_forced, found, "reduction", n_forced, t0)
    if red.matrix.nnz > max_nonzeros:
        log.warning("instance too large for the LP/MILP certificate (%d nonzeros)",
                    red.matrix.nnz)
        return Certificate(chosen, float(len(chosen)), None, None, False, method, "none",
                           None, time.perf_counter() - t0)
    left = time_limit_s - (time.perf_counter() - t0)
    lp = _cover_lp(red.matrix, time_limit_s=max(left / 2, 1.0))
    if lp is not None:
        value, costs = lp
        proof = "lp"
    else:  # the LP did not finish in time: subgradient steps on the Lagrangian instead
        lag = _setcover.lagrangian(red.matrix, upper=len(best), time_limit_s=max(left / 4, 1.0))
        value, costs, proof = lag.value, None, "lagrangian"
        if len(lag.best) < len(best):
            best, found = local_search(sub, lag.best), "Lagrangian greedy + local search"
    lp_bound = n_forced + max(0, math.ceil(value - 1e-6))
    bound = lp_bound
    if costs is not None and len(best) + n_forced > bound:
        for rc in costs:
            guided = local_search(sub, _setcover.greedy_cover(red.matrix, rc))
            if len(guided) < len(best):
                best, found = guided, "LP-guided greedy + local search"
    if len(best) + n_forced > bound:
        left = max(time_limit_s - (time.perf_counter() - t0), 1.0)
        c, integrality, bounds, rows = _model(sub)
        x, status, dual = _milp(sub, c, integrality, bounds, rows, best, left)
        if x is not None:
            milp_best = sorted(int(j) for j in np.flatnonzero(x[: sub.cover.shape[1]] > 0.5))
            if len(milp_best) < len(best) and _covers_all(sub, milp_best):
                best, found = milp_best, "milp"
            if status == "optimal":
                bound, proof = len(best) + n_forced, "milp"
            elif dual is not None and n_forced + math.ceil(dual - 1e-6) > bound:
                bound, proof = n_forced + math.ceil(dual - 1e-6), "milp"
    final, found = _pick(inst, must, red.lift(best), found, chosen, method)
    return certificate_of(final, float(len(final)), bound, found, proof, lp_bound, t0)


def _pick(inst: Instance, must: np.ndarray, final: list[int], found: str, chosen: list[int],
          method: str) -> tuple[list[int], str]:
    """The heuristic's own answer unless ``final`` is smaller or it misses a row."""
    covered = np.zeros(inst.cover.shape[0], dtype=bool)
    for j in chosen:
        covered[inst.col(j)] = True
    if len(final) >= len(chosen) and covered[must].all():
        return sorted(chosen), method
    return final, found


def _completed(inst: Instance, cols: list[int]) -> list[int]:
    """``cols`` plus, for each row they leave uncovered, the first column covering it.

    The heuristics stop once the weight left is below 1e-7, so a row of tiny weight can
    be left out; the set-cover model needs every row.
    """
    covered = np.zeros(inst.cover.shape[0], dtype=bool)
    for j in cols:
        covered[inst.col(j)] = True
    out = list(cols)
    rows = inst.rows_csr
    for r in np.flatnonzero(~covered):
        if not covered[r]:
            j = int(rows.indices[rows.indptr[r]])
            out.append(j)
            covered[inst.col(j)] = True
    return sorted(out)


def _covers_all(inst: Instance, cols: list[int]) -> bool:
    covered = np.zeros(inst.cover.shape[0], dtype=bool)
    for j in cols:
        covered[inst.col(j)] = True
    return bool(covered.all())


def _cover_lp(matrix: csc_array, *, time_limit_s: float
              ) -> tuple[float, list[np.ndarray]] | None:
    """The LP relaxation of a set cover, by HiGHS's interior point without crossover.

    Returns ``(L(y), [reduced costs, 1 - x])`` where ``L(y)`` is the Lagrangian value of
    the clipped row duals, a rigorous lower bound whatever the solver's tolerances; or
    ``None`` when the LP did not finish in ``time_limit_s``.
    """
    import highspy

    m, n = matrix.shape
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "off")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = np.ones(n)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.ones(m), np.full(m, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = np.ones(matrix.nnz)
    h.passModel(lp)
    h.run()
    sol = h.getSolution()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or not sol.dual_valid:
        return None
    y = np.maximum(0.0, np.asarray(sol.row_dual, dtype=float))
    rc = 1.0 - csc_array(matrix, dtype=float).T @ y
    value = float(y.sum() + rc[rc < 0].sum())
    return value, [rc, 1.0 - np.asarray(sol.col_value, dtype=float)]


def _milp(inst: Instance, c: np.ndarray, integrality: np.ndarray, bounds: Bounds, rows: _Rows,
          chosen: list[int], time_limit_s: float
          ) -> tuple[np.ndarray | None, str, float | None]:
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
    reported = info.objective_function_value
    if abs(float(np.dot(c, x)) - reported) > 1e-6 * max(1.0, abs(reported)):
        log.warning("HiGHS returned a solution that does not match its objective; not trusted")
        status = "limit"
    dual = float(info.mip_dual_bound)
    if not math.isfinite(dual):
        return x, status, None
    if inst.k is not None:
        dual = -dual  # the model minimises the negative weight
    return x, status, dual


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level writes to stdout (the library must not print)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("w") as devnull:
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


def _model(inst: Instance) -> tuple[np.ndarray, np.ndarray, Bounds, _Rows]:
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
            pair_rows = np.repeat(np.arange(p), 2)
            conf = csr_array((np.ones(2 * p), (pair_rows, pairs.ravel())), shape=(p, ncols))
            blocks.append(conf)
            lbs.append(np.full(p, -np.inf))
            ubs.append(np.ones(p))
    rows = _Rows(vstack(blocks).tocsr(), np.concatenate(lbs), np.concatenate(ubs))
    return c, integrality, bounds, rows


def _upper_pairs(conf: csr_array) -> np.ndarray:
    coo = conf.tocoo()
    keep = coo.row < coo.col
    return np.column_stack([coo.row[keep], coo.col[keep]])


def _lp(c: np.ndarray, rows: _Rows, bounds: Bounds, *, time_limit_s: float) -> float | None:
    """The LP relaxation's optimum, or ``None`` if HiGHS did not finish in time.

    The interior-point method: on the covering models with a ``y`` per row, dual simplex
    took 20x longer (131 s against 7 s on 13,637 rows x 1,000 sites).
    """
    finite_ub = np.isfinite(rows.ub)
    finite_lb = np.isfinite(rows.lb)
    a_ub = vstack([rows.A[finite_ub], -rows.A[finite_lb]]).tocsr()
    b_ub = np.concatenate([rows.ub[finite_ub], -rows.lb[finite_lb]])
    # scipy-stubs type bounds as (lb, ub) pairs; linprog takes the (n, 2) array as well.
    res = linprog(c, A_ub=a_ub, b_ub=b_ub,  # type: ignore[call-overload]
                  bounds=np.column_stack([bounds.lb, bounds.ub]),
                  method="highs-ipm", options={"time_limit": float(time_limit_s)})
    if res.status != 0:
        return None
    return float(res.fun) if c.min() >= 0 else float(-res.fun)


def with_solution(cert: Certificate, chosen: Iterable[int], value: float) -> Certificate:
    """The same proof for another solution of equal or better ``value`` (gap recomputed).

    Siting uses it when it swaps a street position for a host that covers as much.
    """
    t0 = time.perf_counter() - cert.seconds
    return certificate_of(chosen, value, cert.bound, cert.method, cert.proof, cert.lp_bound, t0)


def _proved(minimize: bool, heur: float, bound: float) -> bool:
    return heur <= bound + 1e-7 if minimize else heur >= bound - 1e-6 * max(1.0, abs(bound))


def certificate_of(chosen: Iterable[int], value: float, bound: float | None, method: str,
                   proof: str, lp_bound: float | None, t0: float) -> Certificate:
    """The certificate of ``chosen`` (objective ``value``) with ``bound``: its relative gap
    and whether it is optimal; ``t0`` is when the work began (``time.perf_counter``)."""
    gap = None
    if bound is not None:
        gap = abs(value - bound) / max(abs(value), abs(bound), 1e-12) if value or bound else 0.0
    optimal = gap is not None and gap <= 1e-6
    return Certificate(list(chosen), float(value), None if bound is None else float(bound),
                       0.0 if optimal else gap, optimal, method, proof,
                       None if lp_bound is None else float(lp_bound), time.perf_counter() - t0)
