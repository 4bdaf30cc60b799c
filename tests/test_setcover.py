"""Set-cover reductions, the Lagrangian bound and the reduced-cost greedy, against brute
force and scipy's LP on random small instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import csc_array

from stationplan._solve import certificate as _certificate
from stationplan._solve import setcover as _setcover
from stationplan._solve import solver as _solver


def _random_cover(rng, m, n, density):
    a = (rng.random((m, n)) < density).astype(np.int8)
    for r in np.flatnonzero(a.sum(axis=1) == 0):  # every row coverable
        a[r, rng.integers(n)] = 1
    return a


def _brute_force_optimum(a: np.ndarray) -> int:
    n = a.shape[1]
    for size in range(n + 1):
        for cols in itertools.combinations(range(n), size):
            if a[:, list(cols)].sum(axis=1).min(initial=1) > 0:
                return size
    raise AssertionError("no cover")


def _is_cover(a: np.ndarray, cols) -> bool:
    return bool(a[:, list(cols)].sum(axis=1).min(initial=1) > 0) if a.shape[0] else True


def _lp_optimum(a: np.ndarray) -> float:
    n = a.shape[1]
    res = linprog(np.ones(n), A_ub=-a.astype(float), b_ub=-np.ones(a.shape[0]),
                  bounds=[(0, 1)] * n, method="highs")
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("seed", range(40))
def test_reduction_keeps_the_optimum_and_maps_covers(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(3, 14)), int(rng.integers(2, 11))
    a = _random_cover(rng, m, n, rng.uniform(0.15, 0.5))
    red = _setcover.reduce(csc_array(a))
    sub = red.matrix.toarray()
    # the reduced matrix is the original restricted to the kept rows and columns
    assert np.array_equal(sub, a[np.ix_(red.rows, red.cols)])
    assert not set(red.forced.tolist()) & set(red.cols.tolist())
    optimum = _brute_force_optimum(a)
    assert len(red.forced) + _brute_force_optimum(sub) == optimum
    # any optimal cover of the reduced matrix, lifted, covers every original row
    for size in range(sub.shape[1] + 1):
        covers = [c for c in itertools.combinations(range(sub.shape[1]), size)
                  if _is_cover(sub, c)]
        if covers:
            for c in covers:
                assert _is_cover(a, red.lift(c))
            break
    # every cover of the original projects to a cover of the reduced matrix, no larger
    for _ in range(5):
        cols = [j for j in range(n) if rng.random() < 0.6]
        if _is_cover(a, cols):
            proj = red.project(cols)
            assert _is_cover(sub, proj)
            assert len(proj) + len(red.forced) <= len(cols)


@pytest.mark.parametrize("seed", range(20))
def test_lagrangian_bound_is_below_the_lp_and_the_greedy_covers(seed):
    rng = np.random.default_rng(100 + seed)
    a = _random_cover(rng, int(rng.integers(5, 30)), int(rng.integers(4, 25)),
                      rng.uniform(0.08, 0.3))
    lp = _lp_optimum(a)
    lag = _setcover.lagrangian(csc_array(a), time_limit_s=5)
    assert lag.value <= lp + 1e-7  # a feasible LP dual never beats the LP optimum
    if a.shape[1] <= 14:
        assert lag.bound <= _brute_force_optimum(a)
    assert _is_cover(a, lag.best)
    rc = rng.normal(0, 1, a.shape[1])
    greedy = _setcover.greedy_cover(csc_array(a), rc)
    assert _is_cover(a, greedy)
    for j in greedy:  # redundant columns were removed
        assert not _is_cover(a, [k for k in greedy if k != j])


def test_certificate_of_a_full_cover_is_exact_on_small_instances():
    """The reduced LP/MILP path returns a proven optimum equal to brute force."""
    for seed in range(15):
        rng = np.random.default_rng(300 + seed)
        a = _random_cover(rng, int(rng.integers(4, 20)), int(rng.integers(3, 12)), 0.25)
        inst = _solver.Instance(csc_array(a), np.ones(a.shape[0]), need=float(a.shape[0]))
        start = list(range(a.shape[1]))  # the worst cover: every column
        cert = _certificate.certify(inst, start, method="all", time_limit_s=10)
        assert cert.optimal
        assert cert.objective == len(cert.chosen) == _brute_force_optimum(a)
        assert _is_cover(a, cert.chosen)


def _brute_force_best_k(a: np.ndarray, w: np.ndarray, k: int) -> float:
    best = 0.0
    for cols in itertools.combinations(range(a.shape[1]), min(k, a.shape[1])):
        best = max(best, float(w[a[:, list(cols)].sum(axis=1) > 0].sum()))
    return best


@pytest.mark.parametrize("seed", range(20))
def test_max_cover_bound_is_above_the_optimum(seed):
    rng = np.random.default_rng(500 + seed)
    a = _random_cover(rng, int(rng.integers(4, 25)), int(rng.integers(3, 10)), 0.25)
    w = rng.uniform(0.5, 3.0, a.shape[0])
    k = int(rng.integers(1, 4))
    optimum = _brute_force_best_k(a, w, k)
    bound, _ = _setcover.max_cover_bound(csc_array(a), w, k, lower=0.9 * optimum)
    assert bound >= optimum * (1 - 1e-12)
    assert bound <= w.sum() * (1 + 1e-9)


def test_best_k_certificate_uses_the_lagrangian_bound_when_the_lp_is_skipped():
    """Above the LP size limit, best-k still gets a proven bound (and it is a true one)."""
    rng = np.random.default_rng(7)
    a = _random_cover(rng, 18, 9, 0.3)
    w = rng.uniform(1, 2, 18)
    inst = _solver.Instance(csc_array(a), w, k=2)
    start = _solver.greedy(inst)
    cert = _certificate.certify(inst, start, method="greedy", max_nonzeros=1)
    optimum = _brute_force_best_k(a, w, 2)
    assert cert.proof == "lagrangian"
    assert cert.bound >= optimum * (1 - 1e-12)
    assert cert.objective == pytest.approx(_solver.covered_weight(inst, start))


def test_full_cover_ignores_rows_of_weight_zero():
    """A street of weight 0 (e.g. --weights footway=0) must not force a site."""
    a = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=np.int8)
    w = np.array([1.0, 1.0, 0.0, 2.0])  # row 2 only column 2 covers, and it weighs nothing
    inst = _solver.Instance(csc_array(a), w, need=float(w.sum()))
    cert = _certificate.certify(inst, [0, 1, 2], method="all")
    assert cert.optimal and sorted(cert.chosen) == [0, 1]


def test_a_cover_missing_a_tiny_row_is_completed():
    """The heuristics stop at 1e-7 of weight left; the certificate still returns a cover."""
    a = np.array([[1, 0], [0, 1]], dtype=np.int8)
    w = np.array([1.0, 1e-9])
    inst = _solver.Instance(csc_array(a), w, need=float(w.sum()))
    cert = _certificate.certify(inst, [0], method="greedy")
    assert sorted(cert.chosen) == [0, 1] and cert.optimal


def test_long_dominance_chains_resolve():
    """Column j covers rows 0..j, so each is dominated by the next: a chain of 299 hops
    (street candidates every metre make such chains; 64 hops used to be the limit)."""
    n = 300
    cols, image = _setcover.dominant_columns(csc_array(np.triu(np.ones((n, n), dtype=np.int8))))
    assert cols.tolist() == [n - 1]
    assert image.tolist() == [n - 1] * n
    r = _setcover.reduce(csc_array(np.triu(np.ones((n, n), dtype=np.int8))))
    assert r.lift([]) == [n - 1]
