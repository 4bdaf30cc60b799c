"""The covering solver on small matrices whose optimum is known by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csc_array

from stationplan._solve import certificate as _certificate
from stationplan._solve import solver as _solver


def _matrix(sets, n_rows):
    rows = [r for s in sets for r in s]
    cols = [j for j, s in enumerate(sets) for _ in s]
    return csc_array((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_rows, len(sets)))


# The classic trap: greedy takes the big middle set first and then needs two more.
TRAP = [
    {0, 1, 2, 3, 4, 5},        # 0: left half
    {6, 7, 8, 9, 10, 11},      # 1: right half
    {2, 3, 4, 5, 6, 7, 8, 9},  # 2: the greedy bait (8 rows)
    {0, 1},                    # 3
    {10, 11},                  # 4
]


def test_greedy_falls_into_the_trap_and_local_search_gets_out():
    cover = _matrix(TRAP, 12)
    inst = _solver.Instance(cover, np.ones(12), need=12.0)
    g = _solver.greedy(inst)
    assert g[0] == 2
    assert len(g) == 3
    ls = _solver.local_search(inst, g)
    assert sorted(ls) == [0, 1]
    cert = _certificate.certify(inst, ls, method="ls")
    assert cert.optimal
    assert cert.objective == 2
    assert cert.gap == 0


def test_certificate_finds_the_optimum_greedy_missed():
    cover = _matrix(TRAP, 12)
    inst = _solver.Instance(cover, np.ones(12), need=12.0)
    cert = _certificate.certify(inst, _solver.greedy(inst), method="greedy")
    assert cert.objective == 2
    assert sorted(cert.chosen) == [0, 1]
    # rows 0-1 and 10-11 each have two columns, a superset of one another: the
    # reductions force the two halves (the MILP is not even needed)
    assert cert.method == "reduction"
    assert cert.optimal


def test_best_k_weighted():
    # k = 2: greedy takes set 2 (8) then 3 or 4 (+2) = 10; optimum {0, 1} = 12
    cover = _matrix(TRAP, 12)
    inst = _solver.Instance(cover, np.ones(12), k=2)
    g = _solver.greedy(inst)
    assert _solver.covered_weight(inst, g) == 10
    ls = _solver.local_search(inst, g)
    assert _solver.covered_weight(inst, ls) == 12
    cert = _certificate.certify(inst, g, method="greedy")
    assert cert.objective == pytest.approx(12)
    assert cert.optimal


def test_partial_target():
    # cover at least 10 of 12 rows: set 2 plus set 3 (or 4) = 10 with 2 sites; 1 site can't
    cover = _matrix(TRAP, 12)
    inst = _solver.Instance(cover, np.ones(12), need=10.0)
    cert = _certificate.certify(inst, _solver.local_search(inst, _solver.greedy(inst)), method="ls")
    assert cert.objective == 2
    assert cert.optimal


def test_conflicts_are_respected():
    # sets 0 and 1 conflict: the best full cover without both is {2, 3, 4}
    cover = _matrix(TRAP, 12)
    conf = csc_array((np.ones(2, dtype=np.int8), ([0, 1], [1, 0])), shape=(5, 5)).tocsr()
    inst = _solver.Instance(cover, np.ones(12), need=12.0, conflicts=conf)
    ls = _solver.local_search(inst, _solver.greedy(inst))
    assert not ({0, 1} <= set(ls))
    cert = _certificate.certify(inst, ls, method="ls")
    assert cert.objective == 3
    assert not ({0, 1} <= set(cert.chosen))
    assert cert.optimal


def test_merge_rows_keeps_the_optimum():
    cover = _matrix(TRAP, 12)
    merged, w = _solver.merge_rows(cover, np.arange(1.0, 13.0))
    assert w.sum() == pytest.approx(78)
    assert merged.shape[0] < 12
    inst = _solver.Instance(merged, w, k=1)
    # best single set: rows 6..11 weigh 7 + ... + 12 = 57 (the bait, rows 2..9, weighs 52)
    assert _solver.covered_weight(inst, _solver.greedy(inst)) == pytest.approx(57)


def test_local_search_never_worse_random_instances():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n_rows, n_cols = 40, 15
        sets = [set(rng.choice(n_rows, rng.integers(3, 12), replace=False)) for _ in range(n_cols)]
        cover = _matrix(sets, n_rows)
        w = rng.random(n_rows)
        reachable = np.diff(cover.tocsr().indptr) > 0
        inst = _solver.Instance(cover, w, need=float(w[reachable].sum()))
        g = _solver.greedy(inst)
        ls = _solver.local_search(inst, g, seed=3)
        assert len(ls) <= len(g)
        assert _solver.covered_weight(inst, ls) >= inst.need - 1e-9
        cert = _certificate.certify(inst, ls, method="ls")
        assert cert.optimal
        assert cert.objective <= len(ls)
