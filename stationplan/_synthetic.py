"""A seeded synthetic city: a street network of any size for tests and benchmarks.

The city is a perturbed street grid: rows and columns at irregular spacings, junctions
moved a little, some residential streets removed (so blocks merge into irregular shapes
and dead ends appear), cul-de-sacs reaching into blocks, a few bent streets, arterial
rows and columns, and diagonal arterials that cross the grid through its junctions. It
is built straight from arrays (no per-street Python objects), so a million street
segments take seconds, and it lies in a projected CRS (UTM 50N, near Shijiazhuang).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ._errors import InputError
from ._streets import StreetNetwork, travel_mode

CRS = "EPSG:32650"
_ORIGIN = (300_000.0, 4_200_000.0)  # metres in UTM 50N: about 114.7 E, 37.9 N (Hebei)
_EDGES_PER_NODE = 2.1  # edges per grid junction after removals, cul-de-sacs, diagonals
_REMOVE = 0.12  # share of residential grid streets removed
_CUL_DE_SACS = 0.10  # share of kept residential streets with a cul-de-sac off their middle
_BENT = 0.3  # share of residential streets with a bend
_ONE_WAY = 0.1  # share of residential streets that are one-way (bike and e-bike modes)


def synthetic_city(
    n_edges: int = 10_000, *, seed: int = 0, block_m: float = 100.0, mode: str = "walk"
) -> StreetNetwork:
    """Make a seeded synthetic street network with about ``n_edges`` street segments.

    Parameters
    ----------
    n_edges
        Wanted number of street segments (the result is within a few per cent).
    seed
        Seed of every random choice: the same seed gives the same network.
    block_m
        Mean distance between neighbouring grid streets, in metres.
    mode
        Travel mode; in modes that keep one-way rules some residential streets are
        one-way.

    Returns
    -------
    StreetNetwork
        In EPSG:32650; ``highway`` is ``primary`` (diagonals and every 16th grid line),
        ``secondary`` (every 8th), ``tertiary`` (every 4th), ``residential`` or
        ``service`` (cul-de-sacs).

    Examples
    --------
    >>> net = synthetic_city(2_000, seed=1)
    >>> 1_800 <= len(net.edges) <= 2_200, net.crs.to_epsg()
    (True, 32650)
    """
    if n_edges < 100:
        msg = f"n_edges must be at least 100, got {n_edges}"
        raise InputError(msg)
    if not block_m > 0:
        msg = f"block_m must be positive, got {block_m}"
        raise InputError(msg)
    travel = travel_mode(mode)
    rng = np.random.default_rng(seed)
    side = max(4, round(math.sqrt(n_edges / _EDGES_PER_NODE)))
    nx_, ny_ = side, side

    # Junctions: irregular column and row spacings, then each junction moved a little.
    xs = np.concatenate([[0.0], np.cumsum(block_m * rng.uniform(0.6, 1.4, nx_ - 1))])
    ys = np.concatenate([[0.0], np.cumsum(block_m * rng.uniform(0.6, 1.4, ny_ - 1))])
    gx, gy = np.meshgrid(xs, ys, indexing="ij")  # node id = i * ny + j
    jitter = np.clip(rng.normal(0.0, 0.08 * block_m, (2, nx_, ny_)), -0.2 * block_m,
                     0.2 * block_m)
    px = (gx + jitter[0]).ravel()
    py = (gy + jitter[1]).ravel()
    ii, jj = np.divmod(np.arange(nx_ * ny_), ny_)

    # Grid streets: horizontal (along a row j) and vertical (along a column i).
    h_ok = ii < nx_ - 1
    v_ok = jj < ny_ - 1
    hu = np.flatnonzero(h_ok)
    vu = np.flatnonzero(v_ok)
    u = np.concatenate([hu, vu])
    v = np.concatenate([hu + ny_, vu + 1])
    line = np.concatenate([jj[hu], ii[vu]])  # row or column number
    horizontal = np.concatenate([np.ones(len(hu), bool), np.zeros(len(vu), bool)])
    cls = np.full(len(u), 3, dtype=np.int8)  # 0 primary, 1 secondary, 2 tertiary, 3 residential
    cls[line % 4 == 0] = 2
    cls[line % 8 == 0] = 1
    cls[line % 16 == 0] = 0
    # the block a street borders on each side (block (i, j) has corners (i, j)..(i+1, j+1))
    bi = ii[u]
    bj = jj[u]

    keep = (cls < 3) | (rng.random(len(u)) >= _REMOVE)
    u, v, line, horizontal, cls, bi, bj = (a[keep] for a in (u, v, line, horizontal, cls, bi, bj))

    # Diagonal arterials through junctions: "/" lines i - j = c and "\" lines i + j = c.
    n_diag = max(1, side // 24)
    up_c = rng.choice(np.arange(-side + 8, side - 8), n_diag, replace=False)
    down_c = rng.choice(np.arange(8, 2 * side - 8), n_diag, replace=False)
    du_parts: list[np.ndarray] = []
    dv_parts: list[np.ndarray] = []
    dline_parts: list[np.ndarray] = []
    dblock_parts: list[np.ndarray] = []
    for k, c in enumerate(up_c):
        i = np.arange(max(0, c), min(nx_ - 1, ny_ - 1 + c))
        j = i - c
        du_parts.append(i * ny_ + j)
        dv_parts.append((i + 1) * ny_ + j + 1)
        dline_parts.append(np.full(len(i), k))
        dblock_parts.append(i * ny_ + j)
    for k, c in enumerate(down_c):
        i = np.arange(max(0, c - ny_ + 1), min(nx_ - 1, c))
        j = c - i
        du_parts.append(i * ny_ + j)
        dv_parts.append((i + 1) * ny_ + j - 1)
        dline_parts.append(np.full(len(i), n_diag + k))
        dblock_parts.append(i * ny_ + j - 1)
    du, dv, dline, dblock = (np.concatenate(a)
                             for a in (du_parts, dv_parts, dline_parts, dblock_parts))
    # Where a "/" and a "\" cross inside one block, both pass through a new junction.
    blocks, counts = np.unique(dblock, return_counts=True)
    crossed = blocks[counts > 1]
    is_cross = np.isin(dblock, crossed)
    n_nodes = len(px)
    centre = n_nodes + np.searchsorted(crossed, dblock[is_cross])
    cx = (px[du[is_cross]] + px[dv[is_cross]]) / 2
    cy = (py[du[is_cross]] + py[dv[is_cross]]) / 2
    centre_xy = np.zeros((len(crossed), 2))
    np.add.at(centre_xy, centre - n_nodes, np.column_stack([cx, cy]) / 2)  # mean of the two
    px = np.concatenate([px, centre_xy[:, 0]])
    py = np.concatenate([py, centre_xy[:, 1]])
    diag_u = np.concatenate([du[~is_cross], du[is_cross], centre])
    diag_v = np.concatenate([dv[~is_cross], centre, dv[is_cross]])
    diag_line = np.concatenate([dline[~is_cross], dline[is_cross], dline[is_cross]])
    diag_blocks = np.unique(dblock)

    # Cul-de-sacs: a kept residential street is cut in the middle and a dead end leaves
    # the cut into a block without a diagonal (so nothing crosses it).
    n_nodes = len(px)
    res = np.flatnonzero(cls == 3)
    pick = res[rng.random(len(res)) < _CUL_DE_SACS]
    side_sign = np.where(rng.random(len(pick)) < 0.5, -1, 1)
    # block on the chosen side: above/right is (bi, bj); below/left is (bi, bj-1) / (bi-1, bj)
    blk_i = np.where(~horizontal[pick] & (side_sign < 0), bi[pick] - 1, bi[pick])
    blk_j = np.where(horizontal[pick] & (side_sign < 0), bj[pick] - 1, bj[pick])
    inside = (blk_i >= 0) & (blk_j >= 0) & (blk_i < nx_ - 1) & (blk_j < ny_ - 1)
    inside &= ~np.isin(blk_i * ny_ + blk_j, diag_blocks)
    pick, side_sign, blk_i, blk_j = pick[inside], side_sign[inside], blk_i[inside], blk_j[inside]
    mid = n_nodes + np.arange(len(pick))
    end = mid + len(pick)
    ax, ay = px[u[pick]], py[u[pick]]
    bx, by = px[v[pick]], py[v[pick]]
    mx, my = (ax + bx) / 2, (ay + by) / 2
    dx, dy = bx - ax, by - ay
    norm = np.hypot(dx, dy)
    # the normal to the left of u→v points up for a row street and left for a column one
    nx_dir = -dy / norm * np.where(horizontal[pick], side_sign, -side_sign)
    ny_dir = dx / norm * np.where(horizontal[pick], side_sign, -side_sign)
    extent = np.where(horizontal[pick], ys[blk_j + 1] - ys[blk_j], xs[blk_i + 1] - xs[blk_i])
    depth = extent * rng.uniform(0.15, 0.3, len(pick))  # two facing ones never meet
    px = np.concatenate([px, mx, mx + nx_dir * depth])
    py = np.concatenate([py, my, my + ny_dir * depth])
    split = np.zeros(len(u), bool)
    split[pick] = True

    # All segments: grid streets (split ones as two halves), diagonals, cul-de-sacs.
    seg_u = np.concatenate([u[~split], u[pick], mid, diag_u, mid])
    seg_v = np.concatenate([v[~split], mid, v[pick], diag_v, end])
    n_grid = int((~split).sum()) + 2 * len(pick)
    seg_cls = np.concatenate([cls[~split], cls[pick], cls[pick],
                              np.zeros(len(diag_u), np.int8), np.full(len(pick), 4, np.int8)])
    grid_way = np.where(horizontal, line, ny_ + line)  # one way id per row and per column
    seg_way = np.concatenate([grid_way[~split], grid_way[pick], grid_way[pick],
                              nx_ + ny_ + diag_line,
                              nx_ + ny_ + 2 * n_diag + np.arange(len(pick))])
    seg_h = np.concatenate([horizontal[~split], horizontal[pick], horizontal[pick],
                            np.zeros(len(diag_u) + len(pick), bool)])

    # Geometry: straight, or bent in the middle for some whole residential streets.
    m = len(seg_u)
    bent = (np.arange(m) < int((~split).sum())) & (seg_cls == 3) & (rng.random(m) < _BENT)
    x0, y0, x1, y1 = px[seg_u], py[seg_u], px[seg_v], py[seg_v]
    off = rng.normal(0.0, 0.04 * block_m, m)
    seg_len = np.hypot(x1 - x0, y1 - y0)
    bend_x = (x0 + x1) / 2 - (y1 - y0) / np.maximum(seg_len, 1e-9) * off
    bend_y = (y0 + y1) / 2 + (x1 - x0) / np.maximum(seg_len, 1e-9) * off
    n_pts = np.where(bent, 3, 2)
    coords = np.empty((int(n_pts.sum()), 2))
    start = np.cumsum(n_pts) - n_pts
    coords[start] = np.column_stack([x0, y0])
    coords[start[bent] + 1] = np.column_stack([bend_x[bent], bend_y[bent]])
    coords[start + n_pts - 1] = np.column_stack([x1, y1])
    coords += _ORIGIN
    geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(m), n_pts))

    # One-way residential streets where the mode keeps one-way rules.
    one_way = (~np.bool_(travel.bidirectional)) & (seg_cls == 3) & (rng.random(m) < _ONE_WAY)

    # Drop junctions no street uses any more (all their streets removed), renumber.
    used = np.zeros(len(px), bool)
    used[seg_u] = used[seg_v] = True
    new_id = np.cumsum(used) - 1
    seg_u, seg_v = new_id[seg_u], new_id[seg_v]
    px, py = px[used] + _ORIGIN[0], py[used] + _ORIGIN[1]
    n = len(px)

    names = np.array(["primary", "secondary", "tertiary", "residential", "service"],
                     dtype=object)
    highway = names[seg_cls]
    street_name = np.empty(m, dtype=object)
    grid = np.arange(m) < n_grid
    street_name[grid] = [f"Row {w} Road" if h else f"Column {w - ny_} Street"
                         for w, h in zip(seg_way[grid].tolist(), seg_h[grid].tolist(),
                                         strict=True)]
    diag = (seg_cls == 0) & ~grid
    street_name[diag] = [f"Diagonal {w - nx_ - ny_} Avenue" for w in seg_way[diag].tolist()]
    edges = gpd.GeoDataFrame(
        {
            "u": seg_u.astype(np.int64),
            "v": seg_v.astype(np.int64),
            "osmid": (seg_way + 1).astype(np.int64),
            "highway": highway,
            "name": street_name,
            "road_class": highway.copy(),
            "fwd": np.ones(m, bool),
            "bwd": ~one_way,
        },
        geometry=geoms,
        crs=CRS,
    )
    edges["length_m"] = shapely.length(geoms)
    adjacency = csr_array((np.ones(m), (seg_u, seg_v)), shape=(n, n))
    n_comp, labels = connected_components(adjacency, directed=False)
    edges["component"] = labels[seg_u]
    edges["in_area"] = True
    edges["demand"] = True
    nodes = pd.DataFrame({"osmid": np.arange(1, n + 1, dtype=np.int64), "x": px, "y": py})
    per_comp = np.bincount(labels[seg_u], weights=edges["length_m"].to_numpy(),
                           minlength=n_comp)
    stats = {
        "nodes": n,
        "edges": m,
        "components": int(n_comp),
        "length_outside_largest_component_m": float(per_comp.sum() - per_comp.max()),
        "synthetic": {"seed": seed, "n_edges_wanted": n_edges, "block_m": block_m,
                      "grid": [nx_, ny_], "diagonals": 2 * n_diag,
                      "cul_de_sacs": len(pick)},
    }
    source = f"synthetic city (seed {seed}, {m} street segments)"
    return StreetNetwork(nodes=nodes, edges=edges, mode=travel, source=source, stats=stats)
