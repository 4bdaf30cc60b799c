"""Points along many LineStrings where GEOS puts them, as coordinate arrays.

``shapely.line_interpolate_point`` makes a point geometry per query; these functions give
the same coordinates bit for bit (GEOS's ``LengthIndexedLine`` arithmetic, repeated in the
compiled loops of :mod:`stationplan._read.kernels`) without the geometries: millions of
points for a province's built-up area, a point per gap run for a city's gaps.
"""

from __future__ import annotations

import numpy as np
import shapely

#: All vertices of some lines (x, y rows) and where each line's begin (``len(lines) + 1``
#: offsets), or ``None`` for these when a line is empty: what :func:`vertices_of` gives.
Vertices = tuple[np.ndarray, "np.ndarray | None"]


def points_along(lines: np.ndarray, lengths: np.ndarray, n: np.ndarray, *,
                 vertices: Vertices | None = None) -> np.ndarray:
    """The x, y of ``n[i]`` points along each line ``i``, at the middles of its ``n[i]``
    equal parts: ``shapely.line_interpolate_point`` at the fractions ``(j + 0.5) / n[i]``
    (``normalized=True``), bit for bit; ``lengths`` are ``shapely.length(lines)``,
    ``vertices`` (when known) :func:`vertices_of` ``lines``.

    Examples
    --------
    >>> line = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    >>> points_along(np.array([line]), shapely.length([line]), np.array([4])).tolist()
    [[2.5, 0.0], [7.5, 0.0], [10.0, 2.5], [10.0, 7.5]]
    """
    xy, starts = vertices_of(lines) if vertices is None else vertices
    if starts is None:  # an empty line: GEOS gives an empty point
        rows = np.repeat(np.arange(len(lines)), n)
        frac = (np.arange(len(rows)) - np.repeat(np.cumsum(n) - n, n) + 0.5) / n[rows]
        return _geos_points(lines[rows], frac, normalized=True)
    from ._read.kernels import points_along as kernel

    return np.asarray(kernel(xy, starts, np.asarray(lengths, dtype=float),
                             np.asarray(n, dtype=np.int64)))


def grid_sum_along(lines: np.ndarray, lengths: np.ndarray, n: np.ndarray, x0: float,
                   y0: float, cell_m: float, shape: tuple[int, int], *,
                   vertices: Vertices | None = None) -> np.ndarray:
    """The points of :func:`points_along` summed into a grid of ``cell_m`` squares from
    (x0, y0), ``shape`` rows and columns (a point outside it in the nearest edge cell),
    each weighing ``lengths[i] / n[i]``: ``area._grid_sum`` of those points, bit for bit,
    without them (millions for a province); ``vertices`` (when known) :func:`vertices_of`
    ``lines``.

    Examples
    --------
    >>> line = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    >>> grid_sum_along(np.array([line]), np.array([20.0]), np.array([4]), 0.0, 0.0, 10.0,
    ...                (1, 2)).tolist()
    [[10.0, 10.0]]
    """
    xy, starts = vertices_of(lines) if vertices is None else vertices
    lengths = np.asarray(lengths, dtype=float)
    n = np.asarray(n, dtype=np.int64)
    from ._read.kernels import grid_sum, grid_sum_along

    if starts is None:  # an empty line: its points as GEOS gives them
        return np.asarray(grid_sum(points_along(lines, lengths, n), np.repeat(lengths / n, n),
                                   float(x0), float(y0), float(cell_m), *shape))
    return np.asarray(grid_sum_along(xy, starts, lengths, n, lengths / n, float(x0), float(y0),
                                     float(cell_m), *shape))


def points_at(lines: np.ndarray, distance_m: np.ndarray, *, rows: np.ndarray | None = None,
              vertices: Vertices | None = None) -> np.ndarray:
    """The x, y of the point ``distance_m[i]`` metres along line ``rows[i]`` (each line
    ``i`` when ``rows`` is None; negative: from its end, past either end: that end):
    ``shapely.line_interpolate_point(lines[rows], distance_m)``, bit for bit.
    ``vertices`` (when known) are :func:`vertices_of` ``lines``: then only the lines
    asked for are read.

    Examples
    --------
    >>> lines = np.array([shapely.LineString([(0, 0), (10, 0), (10, 10)])] * 3)
    >>> points_at(lines, np.array([12.5, -2.0, 99.0])).tolist()
    [[10.0, 2.5], [10.0, 8.0], [10.0, 10.0]]
    >>> points_at(lines, np.array([12.5]), rows=np.array([2]),
    ...           vertices=vertices_of(lines)).tolist()
    [[10.0, 2.5]]
    """
    if vertices is None and rows is not None:  # the vertices of those lines only
        lines, rows = lines[rows], None
    rows = np.arange(len(lines), dtype=np.int64) if rows is None else np.asarray(
        rows, dtype=np.int64)
    xy, starts = vertices_of(lines) if vertices is None else vertices
    distance_m = np.asarray(distance_m, dtype=float)
    if starts is None or not np.isfinite(distance_m).all():
        return _geos_points(lines[rows], distance_m, normalized=False)
    from ._read.kernels import points_at as kernel

    back = distance_m < 0
    if back.any():  # GEOS: from the end, the line's length plus the distance
        distance_m = np.where(back, shapely.length(lines[rows]) + distance_m, distance_m)
    return np.asarray(kernel(xy, starts, rows, distance_m))


def vertices_of(lines: np.ndarray) -> Vertices:
    """All vertices of ``lines`` and where each line's begin (``None`` when one is empty).

    >>> xy, starts = vertices_of(np.array([shapely.LineString([(0, 0), (1, 1), (2, 0)]),
    ...                                    shapely.LineString([(5, 5), (6, 6)])]))
    >>> xy[starts[1]:starts[2]].tolist()
    [[5.0, 5.0], [6.0, 6.0]]
    """
    xy, which = shapely.get_coordinates(lines, return_index=True)
    starts = np.searchsorted(which, np.arange(len(lines) + 1))
    if len(lines) and np.diff(starts).min() < 1:
        return xy, None
    return xy, starts


def _geos_points(lines: np.ndarray, at: np.ndarray, *, normalized: bool) -> np.ndarray:
    """GEOS itself (empty lines give NaN coordinates)."""
    pts = shapely.line_interpolate_point(lines, at, normalized=normalized)
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
