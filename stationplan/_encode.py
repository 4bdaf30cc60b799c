"""Compiled loops that write bytes (numba): the ISO WKB of many LineStrings and the
fixed-decimal texts of many numbers, for the writers of files (:mod:`stationplan._io`)
and of map links (:mod:`stationplan.chinacrs`).

Each gives the bytes the Python or library code it replaces gave (the tests compare
them with geopandas' GeoParquet files and with ``format(x, ".6f")``). Kernels release
the GIL.
"""

from __future__ import annotations

import numpy as np

from ._numba import jit as _jit


@_jit
def linestring_wkb(xy, count, ends):
    """The ISO WKB of 2-D LineStrings, in the machine's byte order as GEOS writes it, one
    after another: line ``i`` has ``count[i]`` points, the next ``count`` rows of ``xy``
    (float64, (n, 2), C order), and its bytes end at ``ends[i]`` (the running sum of
    ``9 + 16 * count``). Also the points' bounding box ``[xmin, ymin, xmax, ymax]`` and
    whether they are all finite (the box means nothing otherwise).
    """
    data = np.empty(ends[-1] if len(ends) else 0, dtype=np.uint8)
    little = np.array([1], dtype=np.uint16).view(np.uint8)[0]  # 1 on a little-endian machine
    word = np.empty(2, dtype=np.uint32)  # the type (2: LineString) and the point count
    word_bytes = word.view(np.uint8)
    points = xy.ravel().view(np.uint8)
    box = np.array([np.inf, np.inf, -np.inf, -np.inf])
    finite = True
    at = 0
    row = 0
    for i in range(len(count)):
        n = count[i]
        data[at] = little
        word[0] = 2
        word[1] = n
        for k in range(8):
            data[at + 1 + k] = word_bytes[k]
        at += 9
        data[at:at + 16 * n] = points[16 * row:16 * (row + n)]
        for r in range(row, row + n):
            x = xy[r, 0]
            y = xy[r, 1]
            if not (np.isfinite(x) and np.isfinite(y)):
                finite = False
            box[0] = min(box[0], x)
            box[1] = min(box[1], y)
            box[2] = max(box[2], x)
            box[3] = max(box[3], y)
        at += 16 * n
        row += n
    return data, box, finite


@_jit
def fixed6_text(whole, negative):
    """The texts ``[-]<whole // 10**6>.<six digits of whole % 10**6>``, as ``format(x,
    ".6f")`` writes a number ``x`` that rounds to ``(-)whole / 10**6`` (``whole`` >= 0,
    int64; ``negative``: its sign, 0 or 1): the offsets (int64, one more than the texts)
    and the bytes of an Arrow ``large_string`` array.
    """
    n = len(whole)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    for i in range(n):
        rest = whole[i] // 1_000_000
        digits = 1
        while rest >= 10:
            rest //= 10
            digits += 1
        offsets[i + 1] = offsets[i] + negative[i] + digits + 7  # digits, ".", six digits
    data = np.empty(offsets[n], dtype=np.uint8)
    for i in range(n):
        if negative[i]:
            data[offsets[i]] = 45  # "-"
        point = offsets[i + 1] - 7
        data[point] = 46  # "."
        frac = whole[i] % 1_000_000
        for k in range(6):
            data[point + 6 - k] = 48 + frac % 10
            frac //= 10
        rest = whole[i] // 1_000_000
        at = point - 1
        data[at] = 48
        while rest > 0:
            data[at] = 48 + rest % 10
            rest //= 10
            at -= 1
    return offsets, data
