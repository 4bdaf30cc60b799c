"""Sets of intervals on a line, kept per integer group (a street edge, a site and edge).

Both the catchments (:mod:`stationplan._route.catchment`) and the dual carriageways
(:mod:`stationplan.carriageways`) merge intervals this one way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPS = 1e-9  # intervals closer than this touch


def union(group: np.ndarray, start: np.ndarray, end: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge overlapping intervals within each integer group (sorted output).

    >>> g, s, e = union(np.array([0, 0, 1, 0]), np.array([5., 0, 0, 1]),
    ...                 np.array([6., 2, 1, 3]))
    >>> g.tolist(), s.tolist(), e.tolist()
    ([0, 0, 1], [0.0, 5.0, 0.0], [3.0, 6.0, 1.0])
    >>> [a.tolist() for a in union(np.zeros(0, int), np.zeros(0), np.zeros(0))]
    [[], [], []]
    """
    group = np.asarray(group, dtype=np.int64)
    if len(group) == 0:
        return group, np.asarray(start, float), np.asarray(end, float)
    order = np.lexsort((start, group))
    group, start, end = group[order], start[order], end[order]
    # The running maximum of the ends within each group (positions stay exact: laying
    # groups out on one line would cost precision when group numbers are large).
    run = pd.Series(end).groupby(group).cummax().to_numpy()
    new = np.ones(len(group), dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (start[1:] > run[:-1] + _EPS)
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(group)) - 1
    return group[first], start[first], run[last]
