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


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(curve, st.lists(st.integers(0, 300), min_size=5, max_size=5)),
                min_size=1, max_size=3),
       st.integers(0, 7), st.booleans())
def test_batch_allocate_command_equals_brute_force(
        tmp_path_factory: pytest.TempPathFactory, units: list[tuple[list[float], list[int]]],
        quota: int, fair: bool) -> None:
    """``stationplan batch allocate`` on a hand-written curves.csv whose bounds lie above
    the values: the split is brute force's over the values, the upper bound brute force's
    over the bounds."""
    import json

    import pandas as pd

    from stationplan.cli import main

    folder = tmp_path_factory.mktemp("curves")
    rows = []
    for i, (values, slack) in enumerate(units):
        above = np.maximum.accumulate([v + s for v, s in zip(values, slack, strict=False)])
        for k, (v, b) in enumerate(zip(values, above, strict=False)):
            rows.append({"unit_id": f"u{i}", "name": f"unit {i}", "k": k, "sites": k,
                         "covered_m": v, "bound_m": max(b, v) if k else v,
                         "certified": "within", "gap_m": 0.0,
                         "demand_m": values[-1] + 500.0, "reachable_m": values[-1]})
    table = pd.DataFrame(rows)
    table.to_csv(folder / "curves.csv", index=False)
    args = ["batch", "allocate", str(folder), "--quota", str(quota), "--lang", "en",
            "--quiet"]
    assert main([*args, "--fair"] if fair else args) == 0
    got = pd.read_csv(folder / "allocation.csv", dtype={"unit_id": str})
    summary = json.loads((folder / "allocation.json").read_text())
    curves = dict(list(table.groupby("unit_id")))

    def brute(col: str) -> tuple[float, float]:
        best: tuple[float, float] | None = None
        for ks in itertools.product(*(range(len(g)) for g in curves.values())):
            if sum(ks) > quota:
                continue
            vals = [float(g[col].iloc[k]) for g, k in zip(curves.values(), ks, strict=True)]
            low = min(v / float(g["demand_m"].iloc[0])
                      for g, v in zip(curves.values(), vals, strict=True))
            key = (low, sum(vals)) if fair else (sum(vals), low)
            best = key if best is None or key > best else best
        assert best is not None
        return best

    value, bound = brute("covered_m"), brute("bound_m")
    total = got[got["unit_id"] == "total"].iloc[0]
    if fair:
        assert summary["lowest_share"] == pytest.approx(value[0], abs=1e-12)
        assert total["covered_m"] == pytest.approx(value[1], abs=1e-6)
        assert summary["upper_bound"] == pytest.approx(bound[0], abs=1e-12)
    else:
        assert total["covered_m"] == pytest.approx(value[0], abs=1e-6)
        assert summary["upper_bound"] == pytest.approx(bound[0], abs=1e-6)
    assert total["stations"] == quota
