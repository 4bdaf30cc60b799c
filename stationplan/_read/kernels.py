"""Compiled loops of network reading (numba): points along lines, per vertex and segment.

Each kernel repeats, in the same floating-point order, the GEOS or numpy code it
replaces, so results are identical bit for bit (the tests check them against shapely).
Kernels release the GIL.
"""

from __future__ import annotations

import numpy as np

from .._numba import jit as _jit


@_jit
def points_along(xy, starts, length_m, n_points):
    """Points at the fractions ``(j + 0.5) / n`` (``j = 0..n-1``, ``n = n_points[i]``)
    along each line ``i``: what ``shapely.line_interpolate_point(line, frac,
    normalized=True)`` gives, with GEOS's arithmetic (``LengthIndexedLine``).

    ``xy[starts[i]:starts[i + 1]]`` are the vertices of line ``i`` (at least one) and
    ``length_m[i]`` its length as GEOS measures it (``shapely.length``). Returns the
    points line by line, ``n_points.sum()`` rows of x, y.
    """
    out = np.empty((n_points.sum(), 2))
    k = 0
    for i in range(len(n_points)):
        first = starts[i]
        last = starts[i + 1] - 1
        n = n_points[i]
        seg = first  # the segment from vertex seg to seg + 1
        total = 0.0  # the line's length up to vertex seg
        for j in range(n):
            d = ((j + 0.5) / n) * length_m[i]
            if d <= 0.0:  # GEOS: the start of the line
                out[k, 0] = xy[first, 0]
                out[k, 1] = xy[first, 1]
                k += 1
                continue
            # the first segment whose end lies beyond d (d grows with j: carry on from
            # the segment of the previous point, with the same running sums)
            found = False
            while seg < last:
                dx = xy[seg + 1, 0] - xy[seg, 0]
                dy = xy[seg + 1, 1] - xy[seg, 1]
                seg_len = np.sqrt(dx * dx + dy * dy)
                if total + seg_len > d:
                    found = True
                    break
                total += seg_len
                seg += 1
            if not found:  # at or past the end (rounding): the last vertex
                out[k, 0] = xy[last, 0]
                out[k, 1] = xy[last, 1]
                k += 1
                continue
            frac = (d - total) / seg_len
            if frac <= 0.0:
                out[k, 0] = xy[seg, 0]
                out[k, 1] = xy[seg, 1]
            elif frac >= 1.0:
                out[k, 0] = xy[seg + 1, 0]
                out[k, 1] = xy[seg + 1, 1]
            else:
                out[k, 0] = (xy[seg + 1, 0] - xy[seg, 0]) * frac + xy[seg, 0]
                out[k, 1] = (xy[seg + 1, 1] - xy[seg, 1]) * frac + xy[seg, 1]
            k += 1
    return out
