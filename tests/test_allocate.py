"""Quota allocation over best-K curves: the dynamic programme against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stationplan._errors import InputError
from stationplan.allocate import allocate_quota

curve = st.lists(st.integers(0, 2000), min_size=1, max_size=5).map(
    lambda xs: list(np.cumsum(xs).astype(float)))


@settings(max_examples=150, deadline=None)
@given(st.lists(curve, min_size=1, max_size=4), st.integers(0, 8), st.booleans())
def test_dp_equals_brute_force(curves: list[list[float]], quota: int, fair: bool) -> None:
    units = {f"u{i}": c for i, c in enumerate(curves)}
    demand = {u: c[-1] + 100.0 for u, c in units.items()}
    got = allocate_quota(units, quota, demand_m=demand, fair=fair)
    best: tuple[float, float] | None = None
    for ks in itertools.product(*(range(len(c)) for c in curves)):
        if sum(ks) > quota:
            continue
        total = sum(c[k] for c, k in zip(curves, ks, strict=True))
        low = min(c[k] / demand[f"u{i}"] for i, (c, k) in enumerate(zip(curves, ks,
                                                                         strict=True)))
        key = (low, total) if fair else (total, low)
        if best is None or key > best:
            best = key
    assert best is not None
    assert sum(got.stations.values()) <= quota
    if fair:
        assert got.lowest_share == pytest.approx(best[0], abs=1e-12)
        assert got.total_m == pytest.approx(best[1])
    else:
        assert got.total_m == pytest.approx(best[0])
    for u, k in got.stations.items():
        c = units[u]
        assert got.covered_m[u] == c[k]
        assert got.marginal_m[u] == (c[k] - c[k - 1] if k else 0.0)


def test_not_concave_curves() -> None:
    # a unit whose second station adds more than its first: greedy takes B's 600 first
    got = allocate_quota({"A": [0, 100, 1500], "B": [0, 600, 700]}, 2)
    assert got.stations == {"A": 2, "B": 0}
    assert got.total_m == 1500.0


def test_bad_quota() -> None:
    with pytest.raises(InputError, match="quota"):
        allocate_quota({"A": [0.0, 1.0]}, -1)
