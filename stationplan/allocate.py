"""Split a quota of new stations across units (counties) from their best-K curves.

Each unit has a curve: the covered metres with its best K new stations, K = 0, 1, ...
(certified per unit by :func:`stationplan.plan_sites`). The allocation of at most ``quota``
stations that maximises the total covered length is an exact dynamic programme over the
curves (no concavity needed); the fair allocation first maximises the lowest covered
share and then, among those, the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._errors import InputError

__all__ = ["Allocation", "allocate_quota"]


@dataclass(frozen=True)
class Allocation:
    """The stations per unit and what they cover.

    Parameters
    ----------
    stations
        New stations per unit, in the curves' order.
    covered_m
        Covered metres per unit with those stations.
    marginal_m
        Metres the last station placed in each unit adds (0 where none is placed).
    total_m
        Sum of ``covered_m``.
    lowest_share
        Lowest covered share (with ``demand_m``), else ``None``.
    """

    stations: dict[str, int]
    covered_m: dict[str, float]
    marginal_m: dict[str, float]
    total_m: float
    lowest_share: float | None = None


def _check(curves: Mapping[str, Sequence[float] | np.ndarray], quota: int) -> dict[str, np.ndarray]:
    if isinstance(quota, bool) or not isinstance(quota, int | np.integer) or quota < 0:
        msg = f"quota must be a whole number >= 0, not {quota!r}"
        raise InputError(msg)
    out = {}
    for unit, curve in curves.items():
        arr = np.asarray(curve, dtype=float)
        if arr.ndim != 1 or len(arr) == 0 or not np.isfinite(arr).all():
            msg = f"unit {unit}: the curve must be finite metres for K = 0, 1, ..."
            raise InputError(msg)
        out[unit] = arr
    return out


def _best(values: list[np.ndarray], quota: int) -> list[int]:
    """Stations per unit maximising the sum of ``values[j][k]`` over at most ``quota``
    stations (-inf: not allowed); ties go to fewer stations in earlier units."""
    n = len(values)
    best = np.full((n + 1, quota + 1), -np.inf)
    best[0, :] = 0.0
    pick = np.zeros((n + 1, quota + 1), dtype=np.int64)
    for j, vals in enumerate(values, start=1):
        for q in range(quota + 1):
            options = np.arange(min(q, len(vals) - 1) + 1)
            cand = best[j - 1, q - options] + vals[options]
            k = int(np.argmax(cand))  # the first maximum: the fewest stations
            best[j, q], pick[j, q] = cand[k], k
    q = int(np.argmax(best[n]))  # the fewest stations overall reaching the maximum
    if not np.isfinite(best[n, q]):
        msg = "no allocation meets the constraints"
        raise InputError(msg)
    ks = []
    for j in range(n, 0, -1):
        k = int(pick[j, q])
        ks.append(k)
        q -= k
    return ks[::-1]


def allocate_quota(curves: Mapping[str, Sequence[float] | np.ndarray], quota: int, *,
                   demand_m: Mapping[str, float] | None = None,
                   fair: bool = False) -> Allocation:
    """The allocation of at most ``quota`` new stations over the units' best-K curves.

    Parameters
    ----------
    curves
        Per unit, covered metres with its best K new stations, K = 0, 1, ...
    quota
        New stations to share out (whole, >= 0).
    demand_m
        Per unit, the demand metres (for shares; needed with ``fair``).
    fair
        Maximise the lowest covered share first, then the total.

    Examples
    --------
    >>> a = allocate_quota({"A": [0, 900, 1000], "B": [0, 500, 950]}, 2)
    >>> a.stations, a.total_m, a.marginal_m
    ({'A': 1, 'B': 1}, 1400.0, {'A': 900.0, 'B': 500.0})
    """
    arrs = _check(curves, quota)
    units = list(arrs)
    values = [arrs[u] for u in units]
    share = None
    if fair:
        if demand_m is None or any(not demand_m.get(u, 0) > 0 for u in units):
            msg = "fair allocation needs each unit's demand_m > 0"
            raise InputError(msg)
        shares = [arrs[u] / float(demand_m[u]) for u in units]
        low = _max_lowest_share(shares, quota)
        values = [np.where(s >= low - 1e-12, v, -np.inf)
                  for s, v in zip(shares, values, strict=True)]
    ks = _best(values, quota)
    covered = {u: float(arrs[u][k]) for u, k in zip(units, ks, strict=True)}
    marginal = {u: float(arrs[u][k] - arrs[u][k - 1]) if k > 0 else 0.0
                for u, k in zip(units, ks, strict=True)}
    if demand_m is not None:
        share = min(covered[u] / float(demand_m[u]) for u in units) if units else None
    return Allocation(dict(zip(units, ks, strict=True)), covered, marginal,
                      float(sum(covered.values())), share)


def _max_lowest_share(shares: list[np.ndarray], quota: int) -> float:
    """The largest lowest share reachable with at most ``quota`` stations (exact DP)."""
    best = np.full(quota + 1, np.inf)  # min over no unit: no constraint yet
    for s in shares:
        new = np.full(quota + 1, -np.inf)
        for q in range(quota + 1):
            ks = np.arange(min(q, len(s) - 1) + 1)
            new[q] = float(np.max(np.minimum(best[q - ks], s[ks])))
        best = new
    return float(best.max())
