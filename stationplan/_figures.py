"""Figures written to outputs: shares and metres, rounded the one way every output uses."""

from __future__ import annotations

from typing import Any


def share(part: float, whole: float) -> float:
    """``part / whole`` to six decimals; 0.0 when the whole is empty (nothing to cover).

    A caller for which an empty whole means "all of it" (siting: nothing coverable is left
    uncovered) says so at the call site.

    >>> share(1, 3), share(2, 2), share(0, 0), share(5, -1)
    (0.333333, 1.0, 0.0, 0.0)
    """
    return round(part / whole, 6) if whole > 0 else 0.0


def round_m(x: Any) -> float:
    """Metres rounded to millimetres, so JSON output is stable across platforms; never -0.0.

    >>> round_m(1.23456), round_m(-0.0001), round_m(2)
    (1.235, 0.0, 2.0)
    """
    return round(float(x), 3) + 0.0  # + 0.0 turns -0.0 into 0.0
