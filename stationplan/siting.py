"""Siting: propose new stations with a greedy solver, improve them, and certify the answer.

Existing stations are fixed: the demand they cover is counted first and never lost. The
solver works on street units (see :mod:`stationplan.demand`) and candidate sites (see
:mod:`stationplan.candidates`); shares are of *coverable* demand, i.e. street metres that
the existing stations or at least one candidate can reach.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_array, csr_array, diags_array
from scipy.spatial import cKDTree

from . import _route
from ._errors import InputError
from ._figures import share
from ._solve import certificate as _certificate
from ._solve import solver as _solver
from .coverage import CoverageRule
from .demand import DemandUnits, coverage_matrix, demand_units, unit_distances
from .network import StreetNetwork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SitingResult:
    """What :func:`plan_sites` found.

    Parameters
    ----------
    proposals
        New sites in rank order (EPSG:4326): ``rank``, ``candidate_id``, ``name``,
        ``kind``, ``host_tag``, ``marginal_m`` (street metres it adds, in rank order),
        ``marginal_weight``, ``cumulative_share``, ``edge_id``, ``offset_m``.
    curve
        Greedy coverage curve: ``new_sites`` and ``coverage_share`` (0 to 1).
    summary
        Plain data for ``plan_summary.json`` (see :func:`plan_sites`).
    timings
        Seconds per stage (kept out of the summary so it stays byte-stable).
    """

    proposals: gpd.GeoDataFrame
    curve: pd.DataFrame
    summary: dict[str, Any]
    timings: dict[str, float]


def plan_sites(
    network: StreetNetwork,
    stations: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    rule: CoverageRule | None = None,
    target_share: float | None = None,
    new_sites: int | None = None,
    resolution_m: float = 25.0,
    class_weights: Mapping[str, float] | None = None,
    unit_multiplier: np.ndarray | None = None,
    min_spacing_m: float | None = None,
    spacing: str = "network",
    time_limit_s: float = 20.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SitingResult:
    """Choose new station sites among ``candidates``.

    Parameters
    ----------
    network
        The street network.
    stations
        Snapped existing stations (rows with status "ok" are fixed in every solution).
    candidates
        Candidate sites from :mod:`stationplan.candidates` (``edge_id``, ``offset_m``).
    rule
        Coverage rule (default: the mode's 500 m / 5 min).
    target_share
        Fewest new sites that reach this share (0–1) of coverable demand, or ...
    new_sites
        ... the ``new_sites`` sites that cover the most demand. Give exactly one.
    resolution_m
        Longest street unit of demand.
    class_weights
        Demand multiplier per road class.
    unit_multiplier
        Extra demand multiplier per unit (e.g. from :func:`activity_multiplier`).
    min_spacing_m
        Minimum distance between any two stations (new or existing), or ``None``.
    spacing
        "network" or "straight" distance for ``min_spacing_m``.
    time_limit_s
        Time limit of the exact MILP search.
    seed
        Seed of the local search's move order.
    progress
        ``progress(done, total)`` while coverage sets are built.

    Returns
    -------
    SitingResult
    """
    if (target_share is None) == (new_sites is None):
        msg = "give exactly one objective: target_share (e.g. 1.0) or new_sites (e.g. 10)"
        raise InputError(msg)
    if target_share is not None and not 0 < target_share <= 1:
        msg = f"target_share must be in (0, 1], got {target_share}"
        raise InputError(msg)
    if new_sites is not None and new_sites < 1:
        msg = f"new_sites must be at least 1, got {new_sites}"
        raise InputError(msg)
    if spacing not in ("network", "straight"):
        msg = f"spacing must be 'network' or 'straight', got {spacing!r}"
        raise InputError(msg)
    rule = rule or CoverageRule.for_mode(network.mode.name)
    limit = rule.limit_m
    timings: dict[str, float] = {}
    t = time.perf_counter()

    units = demand_units(network, resolution_m=resolution_m, class_weights=class_weights)
    if unit_multiplier is not None:
        units = DemandUnits(units.edge_id, units.start_m, units.end_m,
                            units.weight * np.asarray(unit_multiplier, dtype=float))
    ok = stations[stations["status"] == "ok"]
    st_edge = ok["edge_id"].to_numpy(np.int64)
    st_off = ok["offset_m"].to_numpy(float)
    existing = unit_distances(network, units, st_edge, st_off, limit_m=limit) <= limit + 1e-9
    timings["demand_s"] = time.perf_counter() - t

    t = time.perf_counter()
    cand = candidates.reset_index(drop=True)
    c_edge = cand["edge_id"].to_numpy(np.int64)
    c_off = cand["offset_m"].to_numpy(float)
    banned = np.zeros(len(cand), dtype=bool)
    conflicts = None
    if min_spacing_m:
        banned = _near_existing(network, cand, ok, min_spacing_m, spacing)
        conflicts = _conflicts(network, cand, min_spacing_m, spacing)
    timings["spacing_s"] = time.perf_counter() - t

    t = time.perf_counter()
    cover = coverage_matrix(network, units, c_edge, c_off, limit_m=limit, progress=progress)
    timings["coverage_sets_s"] = time.perf_counter() - t

    length = units.length_m
    weight = units.weight
    open_rows = np.flatnonzero(~existing)
    a_open = cover[open_rows].tocsc()
    if banned.any():
        # zero banned columns (a sparse diagonal: a dense k x k one is 400 MB at 20,000)
        a_open = a_open @ diags_array((~banned).astype(np.int8), format="csr", dtype=np.int8)
        a_open = a_open.tocsc()
    reachable = np.diff(a_open.tocsr().indptr) > 0
    w_existing = float(weight[existing].sum())
    w_coverable = w_existing + float(weight[open_rows][reachable].sum())
    m_existing = float(length[existing].sum())
    m_coverable = m_existing + float(length[open_rows][reachable].sum())

    merged, w_merged = _solver.merge_rows(a_open, weight[open_rows])
    need = None
    if target_share is not None:
        need = max(0.0, target_share * w_coverable - w_existing)
        need = min(need, float(w_merged.sum()))
    inst = _solver.Instance(merged, w_merged, need=need, k=new_sites, conflicts=conflicts)
    t = time.perf_counter()
    greedy = _solver.greedy(inst)
    timings["greedy_s"] = time.perf_counter() - t
    t = time.perf_counter()
    improved = _solver.local_search(inst, greedy, seed=seed)
    timings["local_search_s"] = time.perf_counter() - t
    if _worse(inst, improved, greedy):  # local search never makes an answer worse
        improved = greedy
    method = "greedy + local search" if improved != greedy else "greedy"
    cert = _certificate.certify(inst, improved, method=method, time_limit_s=time_limit_s)
    timings["certificate_s"] = cert.seconds
    final = cert.chosen

    proposals, after_w, after_m = _rank(cand, final, a_open, weight[open_rows],
                                        length[open_rows], w_existing, w_coverable)
    curve = _curve(a_open, weight[open_rows], w_existing, w_coverable, conflicts)
    objective = "target" if target_share is not None else "new_sites"
    # with no coverable demand, all of it is covered: shares of an empty whole are 1.0 here
    summary: dict[str, Any] = {
        "objective": objective,
        "target_share": target_share,
        "new_sites_requested": new_sites,
        "new_sites": len(final),
        "coverage_before": (share(w_existing, w_coverable) if w_coverable > 0 else 1.0),
        "coverage_after": (share(after_w, w_coverable) if w_coverable > 0 else 1.0),
        "covered_m_before": round(m_existing, 3),
        "covered_m_after": round(after_m, 3),
        "coverable_m": round(m_coverable, 3),
        "demand_m": round(float(length.sum()), 3),
        "uncoverable_m": round(float(length.sum()) - m_coverable, 3),
        "bound": cert.bound,
        "lp_bound": cert.lp_bound,
        "gap": cert.gap,
        "optimal": cert.optimal,
        "method": cert.method,
        "proof": cert.proof,
        "quality": _quality(cert),
        "greedy_sites": len(greedy),
        "greedy_objective": _objective(inst, greedy),
        "local_search_objective": _objective(inst, improved),
        "final_objective": cert.objective,
        "candidates": len(cand),
        "candidates_banned_by_spacing": int(banned.sum()),
        "settings": {
            "rule": rule.describe(),
            "resolution_m": resolution_m,
            "class_weights": dict(class_weights or {}),
            "min_spacing_m": min_spacing_m,
            "spacing": spacing if min_spacing_m else None,
            "time_limit_s": time_limit_s,
            "seed": seed,
            "units": len(units),
            "existing_stations": len(ok),
        },
    }
    log.info("siting: %d new sites, coverage %.1f %% -> %.1f %% (%s)", len(final),
             100 * summary["coverage_before"], 100 * summary["coverage_after"], summary["quality"])
    return SitingResult(proposals, curve, summary, timings)


def activity_multiplier(
    network: StreetNetwork,
    units: DemandUnits,
    points: gpd.GeoDataFrame,
    *,
    radius_m: float = 200.0,
    per_point: float = 0.1,
) -> np.ndarray:
    """Demand multiplier ``1 + per_point * (points within radius_m of the unit midpoint)``.

    Points are rider-activity proxies (restaurants, fast food, shops), or a user's demand
    points; a ``weight`` column, if present, counts each point that many times.
    """
    lines = network.edges.geometry.to_numpy()[units.edge_id]
    mids = shapely.get_coordinates(shapely.line_interpolate_point(lines, units.mid_m))
    pts = points.to_crs(network.crs)
    xy = shapely.get_coordinates(pts.geometry.to_numpy())
    w = pts["weight"].to_numpy(float) if "weight" in pts else np.ones(len(xy))
    if len(xy) == 0:
        return np.ones(len(units))
    tree = cKDTree(xy)
    near = tree.query_ball_point(mids, r=radius_m)
    counts = np.array([w[idx].sum() if idx else 0.0 for idx in near])
    return 1.0 + per_point * counts


def _objective(inst: _solver.Instance, chosen: list[int]) -> float:
    return float(len(chosen)) if inst.k is None else round(_solver.covered_weight(inst, chosen), 3)


def _worse(inst: _solver.Instance, a: list[int], b: list[int]) -> bool:
    if inst.k is None:
        return len(a) > len(b)
    return _solver.covered_weight(inst, a) < _solver.covered_weight(inst, b) - 1e-7


def _quality(cert: _certificate.Certificate) -> str:
    if cert.optimal:
        return "optimal"
    if cert.gap is None:
        return "no bound computed (instance too large)"
    how = {"milp": "MILP bound", "lagrangian": "Lagrangian bound"}.get(cert.proof, "LP bound")
    return f"gap <= {100 * cert.gap:.1f} % by {how}"


def _rank(cand: gpd.GeoDataFrame, chosen: list[int], cover: csc_array, weight: np.ndarray,
          length: np.ndarray, w_existing: float, w_coverable: float
          ) -> tuple[gpd.GeoDataFrame, float, float]:
    """Order the chosen sites greedily by what each adds; report marginal metres."""
    rows_cov = np.zeros(cover.shape[0], dtype=bool)
    remaining = list(chosen)
    order, gains_w, gains_m, cum = [], [], [], []
    total_w = w_existing
    total_m = 0.0
    while remaining:
        best, best_gain = None, -1.0
        for j in sorted(remaining):
            rows = cover.indices[cover.indptr[j]:cover.indptr[j + 1]]
            g = float(weight[rows][~rows_cov[rows]].sum())
            if g > best_gain + 1e-12:
                best, best_gain = j, g
        assert best is not None  # every gain is >= 0 > the starting best_gain
        rows = cover.indices[cover.indptr[best]:cover.indptr[best + 1]]
        new = rows[~rows_cov[rows]]
        rows_cov[new] = True
        remaining.remove(best)
        order.append(best)
        gains_w.append(float(weight[new].sum()))
        gains_m.append(float(length[new].sum()))
        total_w += gains_w[-1]
        total_m += gains_m[-1]
        cum.append(share(total_w, w_coverable) if w_coverable > 0 else 1.0)
    picked = cand.iloc[order].copy() if order else cand.iloc[[]].copy()
    picked.insert(0, "rank", np.arange(1, len(order) + 1))
    picked["marginal_m"] = np.round(gains_m, 3)
    picked["marginal_weight"] = np.round(gains_w, 3)
    picked["cumulative_share"] = cum
    picked = picked.to_crs(4326).reset_index(drop=True)
    return picked, total_w, total_m


def _curve(cover: csc_array, weight: np.ndarray, w_existing: float, w_coverable: float,
           conflicts: csr_array | None) -> pd.DataFrame:
    inst = _solver.Instance(cover, weight, need=float(weight[np.diff(cover.tocsr().indptr) > 0]
                                                      .sum()), conflicts=conflicts)
    order = _solver.greedy(inst)
    covered = np.zeros(cover.shape[0], dtype=bool)
    shares = [(share(w_existing, w_coverable) if w_coverable > 0 else 1.0)]
    total = w_existing
    for j in order:
        rows = inst.col(j)
        new = rows[~covered[rows]]
        covered[new] = True
        total += float(weight[new].sum())
        shares.append(share(total, w_coverable) if w_coverable > 0 else 1.0)
    return pd.DataFrame({"new_sites": np.arange(len(shares)), "coverage_share": shares})


def _near_existing(network: StreetNetwork, cand: gpd.GeoDataFrame, stations: gpd.GeoDataFrame,
                   spacing_m: float, how: str) -> np.ndarray:
    """Candidates closer than ``spacing_m`` to an existing station."""
    if stations.empty:
        return np.zeros(len(cand), dtype=bool)
    if how == "straight":
        tree = cKDTree(shapely.get_coordinates(stations.to_crs(network.crs).geometry.to_numpy()))
        d, _ = tree.query(shapely.get_coordinates(cand.geometry.to_numpy()))
        return cast(np.ndarray, d < spacing_m)  # many query points: an array of distances
    dist = _site_distances(network, stations["edge_id"].to_numpy(np.int64),
                           stations["offset_m"].to_numpy(float), cand, spacing_m, min_only=True)
    return dist < spacing_m


def _conflicts(network: StreetNetwork, cand: gpd.GeoDataFrame, spacing_m: float,
               how: str) -> csr_array:
    """Symmetric 0/1 matrix of candidate pairs closer than ``spacing_m``."""
    k = len(cand)
    if how == "straight":
        tree = cKDTree(shapely.get_coordinates(cand.geometry.to_numpy()))
        pairs = tree.query_pairs(spacing_m - 1e-9, output_type="ndarray")
    else:
        pairs = _site_distances(network, cand["edge_id"].to_numpy(np.int64),
                                cand["offset_m"].to_numpy(float), cand, spacing_m, min_only=False)
    if len(pairs) == 0:
        # scipy-stubs pick the 1-D overload for a shape tuple with a dtype; this is (k, k).
        return csr_array((k, k), dtype=np.int8)  # type: ignore[return-value]
    i, j = pairs[:, 0], pairs[:, 1]
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    mat = csr_array((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(k, k))
    mat.sum_duplicates()
    mat.data[:] = 1
    return mat


def _site_distances(network: StreetNetwork, src_edge: np.ndarray, src_off: np.ndarray,
                    cand: gpd.GeoDataFrame, limit: float, *, min_only: bool) -> np.ndarray:
    """Network distances (either direction of travel) from sites to candidates.

    With ``min_only`` returns the distance from each candidate to the nearest site; else
    the array of candidate pairs (i < j) closer than ``limit``.
    """
    n = len(network.nodes)
    e = network.edges
    c_edge = cand["edge_id"].to_numpy(np.int64)
    c_off = cand["offset_m"].to_numpy(float)
    # Spacing is a distance apart, not a direction of travel: both arc directions.
    sym = _route.site_graph(network, src_edge, src_off, kind="symmetric")
    length = e["length_m"].to_numpy()[c_edge]
    cu, cv = e["u"].to_numpy()[c_edge], e["v"].to_numpy()[c_edge]
    sources = n + np.arange(len(src_edge))
    if min_only:
        d, _ = _route.nearest_distances(sym, sources, limit_m=limit)
        best = np.minimum(d[cu] + c_off, d[cv] + length - c_off)
        for s_edge, s_off in zip(src_edge, src_off, strict=True):
            same = c_edge == s_edge
            best[same] = np.minimum(best[same], np.abs(c_off[same] - s_off))
        return best
    pairs = []
    for lo, hi, d in _route.distance_blocks(sym, sources, limit_m=limit):
        dd = np.minimum(d[:, cu] + c_off, d[:, cv] + length - c_off)
        same = c_edge[None, :] == src_edge[lo:hi, None]
        direct = np.abs(c_off[None, :] - src_off[lo:hi, None])
        dd = np.where(same, np.minimum(dd, direct), dd)
        a, b = np.nonzero(dd < limit)
        a = a + lo
        keep = a < b
        pairs.append(np.column_stack([a[keep], b[keep]]))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)


def stations_with_proposals(
    stations: gpd.GeoDataFrame, proposals: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Existing stations plus the proposed sites as usable stations (``kind`` tells them apart).

    The result can go straight into :func:`~stationplan.compute_coverage` to see the
    network after the proposals are built; it keeps the stations' ``attrs`` (their read
    report and warnings).
    """
    old = stations.to_crs(4326).assign(kind="existing")
    new = gpd.GeoDataFrame(
        {
            "station_id": proposals["candidate_id"].astype(str).to_numpy(),
            "name": proposals["name"].fillna("").astype(str).to_numpy(),
            "status": "ok",
            "reason": "",
            "kind": "proposed",
            "rank": proposals["rank"].to_numpy(),
            "edge_id": proposals["edge_id"].to_numpy(np.int64),
            "offset_m": proposals["offset_m"].to_numpy(float),
            "snap_dist_m": proposals["snap_dist_m"].to_numpy(float),
        },
        geometry=proposals.to_crs(4326).geometry.to_numpy(),
        crs=4326,
    )
    both = gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=4326)
    both.attrs.update(stations.attrs)  # the read report and warnings (concat drops them)
    return both
