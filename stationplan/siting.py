"""Siting: propose new stations with a greedy solver, improve them, and certify the answer.

Existing stations are fixed: the demand they cover is counted first and never lost. The
solver works on the exact siting model (demand streets cut at every catchment boundary,
see :mod:`stationplan.demand`) and candidate sites (see :mod:`stationplan.candidates`), so
its metres are the coverage engine's. Every share is of all demand street; what no
candidate can reach is reported as such (``unreachable_m``), never left out of the whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_array, csr_array, diags_array
from scipy.spatial import cKDTree

from . import _route
from ._errors import InputError
from ._figures import round_m, share
from ._options import MIN_GAIN_M, MIN_SPACING_M, SPACING, TOLERANCE_M, check_plan_options
from ._solve import certificate as _certificate
from ._solve import solver as _solver
from .carriageways import road_positions
from .coverage import CoverageRule
from .demand import SitingModel, exact_model, units_model
from .network import StreetNetwork

if TYPE_CHECKING:
    from .weights import DemandDensity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SitingResult:
    """What :func:`plan_sites` found.

    Parameters
    ----------
    proposals
        New sites in rank order (EPSG:4326): ``rank``, ``candidate_id``, ``name``,
        ``kind``, ``host_tag``, ``marginal_m`` (street metres it adds, in rank order),
        ``marginal_weight``, ``covered_m`` and ``cumulative_share`` (street covered, and
        its share of all demand street, once ranks 1 to this one are built), ``edge_id``,
        ``offset_m``, ``snap_dist_m``.
    curve
        The plan's sites in rank order: ``new_sites`` (0 = the existing stations only),
        ``covered_m`` and ``coverage_share`` (of all demand street).
    greedy_curve
        The same columns for the greedy order over every candidate, until all the street
        the candidates can reach is covered (for comparison; the plan is ``curve``).
    summary
        Plain data for ``plan_summary.json`` (see :func:`plan_sites`).
    timings
        Seconds per stage (kept out of the summary so it stays byte-stable).
    """

    proposals: gpd.GeoDataFrame
    curve: pd.DataFrame
    greedy_curve: pd.DataFrame
    summary: dict[str, Any]
    timings: dict[str, float]


HOST_KINDS = ("osm", "file")  # candidates that are real businesses, preferred among equals


def plan_sites(
    network: StreetNetwork,
    stations: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    rule: CoverageRule | None = None,
    target_share: float | None = None,
    new_sites: int | None = None,
    model: str = "exact",
    resolution_m: float = 25.0,
    class_weights: Mapping[str, float] | None = None,
    density: DemandDensity | None = None,
    min_spacing_m: float | None = MIN_SPACING_M,
    spacing: str = SPACING,
    min_gain_m: float = MIN_GAIN_M,
    time_limit_s: float = 20.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    certificate_progress: Callable[[int, int], None] | None = None,
) -> SitingResult:
    """Choose new station sites among ``candidates``.

    Parameters
    ----------
    network
        The street network.
    stations
        Snapped existing stations (rows with status "ok" are fixed in every solution).
    candidates
        Candidate sites from :mod:`stationplan.candidates` (``edge_id``, ``offset_m``,
        ``kind``). Hosts (kind "osm" or "file") are preferred to street positions among
        equal choices.
    rule
        Coverage rule (default: the mode's 500 m / 5 min). With ``cover`` K > 1 the plan
        is for K-fold coverage (a piece counts when K stations, existing or new, reach
        it), and with ``reach_col`` the existing stations reach as far as their column
        says (new sites take the rule's limit); both are solved on the exact model by
        :mod:`stationplan._solve.multicover` (``model`` and ``resolution_m`` are not used).
    target_share
        Fewest new sites that cover this share (> 0 and <= 1) of all demand street
        (weighted by ``class_weights``), or ...
    new_sites
        ... the ``new_sites`` sites (a whole number >= 1) that cover the most demand.
        Give exactly one.
    model
        "exact": demand cut at every catchment boundary
        (:func:`~stationplan.demand.exact_model`), so the solver's metres are the coverage
        engine's; "units": midpoint units of at most ``resolution_m``
        (:func:`~stationplan.demand.units_model`), for instances whose exact model does
        not fit in memory.
    resolution_m
        Longest unit of the "units" model, in metres (>= 1).
    class_weights
        Demand multiplier per road class (each >= 0; classes not listed weigh 1).
    density
        Demand weights (:func:`stationplan.weights.load_density`, e.g. where riders
        work): the objective and ``target_share`` are then of the weighted demand, the
        class weights multiply it, and the summary's ``weighted_by`` names the model.
        Street metres and shares stay street length.
    min_spacing_m
        Minimum distance in metres between any two stations (new or existing): ``None``
        (the default) for the coverage limit, 0 for none. Exactly this far apart is
        allowed. The same rule as :func:`~stationplan.check_sites`'s.
    spacing
        "network" or "straight" distance for ``min_spacing_m``.
    min_gain_m
        Street metres each new site must add, in rank order, to the stations before it
        (the rule of :func:`~stationplan.check_sites`): sites of the solver's answer
        that add less are not proposed and are listed in ``summary["below_min_gain"]``;
        the plan then falls short of its objective and says so. 0 keeps every site.
    time_limit_s
        Time limit of the exact MILP search, in seconds (> 0).
    seed
        Seed of the local search's move order (a whole number >= 0).
    progress
        ``progress(done, total)`` while coverage sets are built.
    certificate_progress
        ``certificate_progress(seconds, time_limit_s)`` about once a second while the
        answer is certified (the exact search reports nothing else on the way).

    Returns
    -------
    SitingResult
        Its ``summary`` holds the figures of ``plan_summary.json`` (documented key by key
        in ``docs/outputs.md``). Shares are of all demand street; with the "exact" model
        they are the coverage engine's figures to rounding.
    """
    if (target_share is None) == (new_sites is None):
        msg = "give exactly one objective: target_share (e.g. 1.0) or new_sites (e.g. 10)"
        raise InputError(msg)
    check_plan_options(target_share=target_share, new_sites=new_sites, resolution_m=resolution_m,
                       class_weights=class_weights, min_spacing_m=min_spacing_m,
                       spacing=spacing, min_gain_m=min_gain_m, time_limit_s=time_limit_s,
                       seed=seed)
    if model not in ("exact", "units"):
        msg = f"model must be 'exact' or 'units', got {model!r}"
        raise InputError(msg)
    rule = rule or CoverageRule.for_mode(network.mode.name)
    limit = rule.limit_m
    spacing_m = limit if min_spacing_m is None else float(min_spacing_m)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    ok = stations[stations["status"] == "ok"]
    cand = candidates.reset_index(drop=True)
    c_edge = cand["edge_id"].to_numpy(np.int64)
    c_off = cand["offset_m"].to_numpy(float)
    banned = np.zeros(len(cand), dtype=bool)
    conflicts = None
    if spacing_m:
        banned = _near_existing(network, cand, ok, spacing_m, spacing)
        conflicts = _conflicts(network, cand, spacing_m, spacing)
    timings["spacing_s"] = time.perf_counter() - t
    if rule.counts:  # k-fold cover or the stations' own reaches
        return SitingResult(*_plan_counted(
            network, stations, cand, rule=rule, target_share=target_share,
            new_sites=new_sites, class_weights=class_weights, density=density,
            banned=banned, conflicts=conflicts, spacing_m=spacing_m, spacing=spacing,
            min_gain_m=min_gain_m, time_limit_s=time_limit_s, seed=seed, progress=progress,
            timings=timings))

    t = time.perf_counter()
    st_edge, st_off = ok["edge_id"].to_numpy(np.int64), ok["offset_m"].to_numpy(float)
    if model == "exact":
        sm = exact_model(network, st_edge, st_off, c_edge, c_off, limit_m=limit,
                         class_weights=class_weights, density=density, progress=progress)
    else:
        sm = units_model(network, st_edge, st_off, c_edge, c_off, limit_m=limit,
                         resolution_m=resolution_m, class_weights=class_weights,
                         density=density, progress=progress)
    timings["coverage_sets_s"] = time.perf_counter() - t

    p = _Problem.of(sm, banned, target_share, new_sites, conflicts)
    inst, a_open, length, weight = p.inst, p.a_open, p.length, p.weight
    demand_m, m_existing = float(sm.units.length_m.sum()), p.m_existing
    reached = p.reached
    t = time.perf_counter()
    greedy = _solver.greedy(inst)
    timings["greedy_s"] = time.perf_counter() - t
    t = time.perf_counter()
    improved = _solver.local_search(inst, greedy, seed=seed)
    timings["local_search_s"] = time.perf_counter() - t
    if _worse(inst, improved, greedy):  # local search never makes an answer worse
        improved = greedy
    method = "greedy + local search" if improved != greedy else "greedy"
    if model == "exact":
        # The coarse model's best answer (a quarter of the time limit), completed and
        # polished on the exact model, is a second start: with 4-12 times fewer rows its
        # MILP often finishes where the exact one does not.
        t = time.perf_counter()
        coarse = units_model(network, st_edge, st_off, c_edge, c_off, limit_m=limit,
                             resolution_m=resolution_m, class_weights=class_weights,
                             density=density)
        cp = _Problem.of(coarse, banned, target_share, new_sites, conflicts)
        start = _solver.local_search(cp.inst, _solver.greedy(cp.inst), seed=seed)
        start = _certificate.certify(cp.inst, start, method="units",
                                     time_limit_s=time_limit_s / 4).chosen
        alt = _solver.local_search(inst, _solver.greedy(inst, start=start), seed=seed)
        timings["coarse_start_s"] = time.perf_counter() - t
        if _worse(inst, improved, alt):
            improved, method = alt, "street-unit start + local search"
    cert = _certificate.certify(inst, improved, method=method, time_limit_s=time_limit_s,
                                progress=certificate_progress)
    timings["certificate_s"] = cert.seconds
    final = _prefer_hosts(cand["kind"].to_numpy(), cert.chosen, a_open, conflicts)
    if final != cert.chosen:
        cert = _certificate.with_solution(cert, final, _objective(inst, final))

    proposals, curve, low = _rank(cand, final, a_open, weight, length, m_existing, demand_m,
                                  min_gain_m=min_gain_m)
    greedy_curve = _greedy_curve(a_open, weight, length, m_existing, demand_m, conflicts)
    kept = len(final) - len(low)
    if low:  # the solver's answer covers more, with sites the check would call redundant
        reached = False
        log.info("siting: %d of the solver's %d sites add less than %g m each in rank "
                 "order (%.0f m in all) and are not proposed (min_gain_m)",
                 len(low), len(final), min_gain_m, sum(g for _, g in low))
    if new_sites is not None and kept < new_sites:
        reached = False
    after_m = float(curve["covered_m"].iloc[-1])
    kinds = cand["kind"].value_counts()
    summary: dict[str, Any] = {
        "objective": "target" if target_share is not None else "new_sites",
        **_goal_summary(cand, cert, low, target_share=target_share, new_sites=new_sites,
                        kept=kept, reached=reached, m_existing=m_existing, after_m=after_m,
                        demand_m=demand_m, m_reachable=p.m_reachable,
                        class_weights=class_weights, density=density),
        "model": {"kind": sm.kind, "pieces": len(sm.units), "rows": int(inst.cover.shape[0])},
        "candidates": {
            "total": len(cand),
            "by_kind": {str(k): int(v) for k, v in sorted(kinds.items())},
            "banned_by_spacing": int(banned.sum()),
        },
        "search": {
            "greedy_sites": len(greedy),
            "greedy_objective": round_m(_objective(inst, greedy)),
            "local_search_objective": round_m(_objective(inst, improved)),
            "final_objective": round_m(cert.objective),
        },
        "settings": {
            "rule": rule.describe(),
            "model": model,
            "resolution_m": resolution_m if model == "units" else None,
            "class_weights": dict(class_weights or {}),
            "demand": density.describe() if density is not None else {"kind": "length"},
            "min_spacing_m": spacing_m,
            "spacing": spacing if spacing_m else None,
            "min_gain_m": min_gain_m,
            "time_limit_s": time_limit_s,
            "seed": seed,
            "existing_stations": len(ok),
        },
    }
    figures = (kept, 100 * summary["coverage_before"], 100 * summary["coverage_after"],
               demand_m / 1000, sm.kind, summary["certified"])
    if low:  # the proof is about the solver's answer, before the minimum gain
        log.info("siting: %d new sites, coverage %.1f %% -> %.1f %% of %.1f km (%s model; %s "
                 "for the solver's %d sites, %d of which the minimum gain then left out)",
                 *figures, len(final), len(low))
    else:
        log.info("siting: %d new sites, coverage %.1f %% -> %.1f %% of %.1f km (%s model; %s)",
                 *figures)
    return SitingResult(proposals, curve, greedy_curve, summary, timings)


def _plan_counted(
    network: StreetNetwork, stations: gpd.GeoDataFrame, cand: gpd.GeoDataFrame, *,
    rule: CoverageRule, target_share: float | None, new_sites: int | None,
    class_weights: Mapping[str, float] | None, density: DemandDensity | None,
    banned: np.ndarray, conflicts: csr_array | None, spacing_m: float, spacing: str,
    min_gain_m: float, time_limit_s: float, seed: int,
    progress: Callable[[int, int], None] | None, timings: dict[str, float],
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, float]]:
    """:func:`plan_sites` for K-fold cover or per-station reaches (the fields of a
    :class:`SitingResult`).

    The exact model is cut at every station's and every candidate's own catchment
    boundary (the stations enter it as sites, each with its reach), so each piece knows
    how many existing stations reach it; a piece still needs ``cover`` minus that many
    new sites. Metres and shares are of K-fold coverage; a site's ``marginal_m`` is the
    K-fold covered street it completes at its turn and ``reach_added_m`` the street it
    brings one station closer to K (what ``min_gain_m`` is checked against: the first of
    two sites that together double-cover a street completes nothing alone).
    """
    from ._solve import multicover as _mc
    from .coverage import station_reach

    k = rule.cover
    t = time.perf_counter()
    stations = station_reach(stations, rule)
    ok = stations[stations["status"] == "ok"]
    q = len(ok)
    st_reach = (ok["reach_m"].to_numpy(float) if "reach_m" in ok
                else np.full(q, rule.limit_m))
    c_edge = cand["edge_id"].to_numpy(np.int64)
    c_off = cand["offset_m"].to_numpy(float)
    none = np.zeros(0, dtype=np.int64)
    sm = exact_model(network, none, np.zeros(0),
                     np.concatenate([ok["edge_id"].to_numpy(np.int64), c_edge]),
                     np.concatenate([ok["offset_m"].to_numpy(float), c_off]),
                     limit_m=np.concatenate([st_reach, np.full(len(cand), rule.limit_m)]),
                     class_weights=class_weights, density=density, progress=progress)
    timings["coverage_sets_s"] = time.perf_counter() - t
    full = sm.cover.tocsc()
    have = np.asarray(full[:, :q].sum(axis=1)).ravel().astype(np.int64)
    a = csc_array(full[:, q:])
    if banned.any():
        a = (a @ diags_array((~banned).astype(np.int8), format="csr", dtype=np.int8)).tocsc()
    length, weight = sm.units.length_m, sm.units.weight
    demand_m, demand_w = float(length.sum()), float(weight.sum())
    done = have >= k
    m_existing, w_existing = float(length[done].sum()), float(weight[done].sum())
    open_rows = np.flatnonzero(~done)
    need = k - have[open_rows]
    target = None
    reached = True
    if target_share is not None:
        target = max(0.0, target_share * demand_w - w_existing)
    inst, can = _mc.instance(a[open_rows].tocsc(), weight[open_rows], need, target=target,
                             k=new_sites, conflicts=conflicts)
    m_reachable = m_existing + float(length[open_rows][can].sum())
    if target is not None and target > float(inst.weight.sum()) + 1e-9 * max(demand_w, 1.0):
        reached = False  # no set of candidates reaches the target: cover all they can
        inst = _mc.MultiInstance(inst.cover, inst.weight, inst.need, float(inst.weight.sum()),
                                 None, conflicts)
    t = time.perf_counter()
    start = _mc.greedy(inst)
    timings["greedy_s"] = time.perf_counter() - t
    t = time.perf_counter()
    better = _mc.local_search(inst, start, time_limit_s=time_limit_s / 4)
    timings["local_search_s"] = time.perf_counter() - t
    cert = _mc.solve(inst, better, time_limit_s=time_limit_s,
                     method="greedy + local search" if better != start else "greedy")
    timings["certificate_s"] = cert.seconds

    # rank order: each time the site that completes most, then brings most closer
    a_rows = a[open_rows].tocsc()
    len_open, w_open = length[open_rows], weight[open_rows]
    count = np.zeros(len(open_rows))
    remaining, order, low = sorted(cert.chosen), [], []
    gains_m, gains_w, closer_m = [], [], []
    while remaining:
        best, key = remaining[0], (-1.0, -1.0)
        for j in remaining:
            rows = a_rows.indices[a_rows.indptr[j]:a_rows.indptr[j + 1]]
            short = count[rows] < need[rows]
            completes = short & (count[rows] + 1 >= need[rows])
            kj = (float(w_open[rows][completes].sum()), float(len_open[rows][short].sum()))
            if kj > key:
                best, key = j, kj
        rows = a_rows.indices[a_rows.indptr[best]:a_rows.indptr[best + 1]]
        short = count[rows] < need[rows]
        completes = short & (count[rows] + 1 >= need[rows])
        remaining.remove(best)
        closer = float(len_open[rows][short].sum())
        if closer < min_gain_m - TOLERANCE_M:
            low.append((best, closer))
            continue
        count[rows] += 1
        order.append(best)
        gains_m.append(float(len_open[rows][completes].sum()))
        gains_w.append(float(w_open[rows][completes].sum()))
        closer_m.append(closer)
    covered = m_existing + np.concatenate([[0.0], np.cumsum(gains_m)])
    shares = [share(c, demand_m) for c in covered]
    picked = cand.iloc[order].copy() if order else cand.iloc[[]].copy()
    picked.insert(0, "rank", np.arange(1, len(order) + 1))
    picked["marginal_m"] = np.round(gains_m, 3)
    picked["marginal_weight"] = np.round(gains_w, 3)
    picked["reach_added_m"] = np.round(closer_m, 3)
    picked["covered_m"] = np.round(covered[1:], 3)
    picked["cumulative_share"] = shares[1:]
    proposals = picked.to_crs(4326).reset_index(drop=True)
    curve = pd.DataFrame({"new_sites": np.arange(len(covered)),
                          "covered_m": np.round(covered, 3), "coverage_share": shares})
    every = _mc.greedy(_mc.MultiInstance(inst.cover, inst.weight, inst.need, None, None,
                                         conflicts), limit=a.shape[1])
    g_cov = [m_existing]  # the greedy curve in metres, counted on the open rows themselves
    cnt = np.zeros(len(open_rows))
    for j in every:
        rows = a_rows.indices[a_rows.indptr[j]:a_rows.indptr[j + 1]]
        cnt[rows] += 1
        g_cov.append(m_existing + float(len_open[cnt >= need].sum()))
    greedy_curve = pd.DataFrame({"new_sites": np.arange(len(g_cov)),
                                 "covered_m": np.round(g_cov, 3),
                                 "coverage_share": [share(c, demand_m) for c in g_cov]})
    kept = len(order)
    if low:
        reached = False
    if new_sites is not None and kept < new_sites:
        reached = False
    after_m = float(covered[-1])
    kinds = cand["kind"].value_counts()
    summary: dict[str, Any] = {
        "objective": "target" if target_share is not None else "new_sites",
        "cover": k,
        **_goal_summary(cand, cert, low, target_share=target_share, new_sites=new_sites,
                        kept=kept, reached=reached, m_existing=m_existing, after_m=after_m,
                        demand_m=demand_m, m_reachable=m_reachable,
                        class_weights=class_weights, density=density),
        "model": {"kind": f"exact, {k}-fold", "pieces": len(sm.units),
                  "rows": int(inst.cover.shape[0])},
        "candidates": {
            "total": len(cand),
            "by_kind": {str(kk): int(v) for kk, v in sorted(kinds.items())},
            "banned_by_spacing": int(banned.sum()),
        },
        "search": {"greedy_sites": len(start),
                   "greedy_objective": (float(len(start)) if new_sites is None
                                        else round(_mc.satisfied(inst, start), 3)),
                   "local_search_objective": (float(len(better)) if new_sites is None
                                              else round(_mc.satisfied(inst, better), 3)),
                   "final_objective": cert.objective},
        "settings": {
            "rule": rule.describe(),
            "model": "exact",
            "resolution_m": None,
            "class_weights": dict(class_weights or {}),
            "demand": density.describe() if density is not None else {"kind": "length"},
            "min_spacing_m": spacing_m,
            "spacing": spacing if spacing_m else None,
            "min_gain_m": min_gain_m,
            "time_limit_s": time_limit_s,
            "seed": seed,
            "existing_stations": q,
        },
    }
    log.info("siting for %d-fold cover: %d new sites, %.1f %% -> %.1f %% of %.1f km (%s)",
             k, kept, 100 * summary["coverage_before"], 100 * summary["coverage_after"],
             demand_m / 1000, summary["certified"])
    return proposals, curve, greedy_curve, summary, timings



def _goal_summary(cand: gpd.GeoDataFrame, cert: Any, low: list[tuple[int, float]], *,
                  target_share: float | None, new_sites: int | None, kept: int,
                  reached: bool, m_existing: float, after_m: float, demand_m: float,
                  m_reachable: float, class_weights: Mapping[str, float] | None,
                  density: Any) -> dict[str, Any]:
    """The part of ``plan_summary.json`` that single and K-fold plans share: the goal,
    what was reached, the street figures and the certificate."""
    return {
        "target_share": target_share,
        "new_sites_requested": new_sites,
        "new_sites": kept,
        "target_reached": reached,
        "sites_possible": kept if new_sites is not None and not reached else None,
        "below_min_gain": {
            "sites": len(low),
            "added_m": round_m(sum(g for _, g in low)),
            "candidate_ids": [str(cand["candidate_id"].iloc[j]) if "candidate_id" in cand
                              else str(j) for j, _ in low],
        },
        "coverage_before": share(m_existing, demand_m),
        "coverage_after": share(after_m, demand_m),
        "covered_m_before": round_m(m_existing),
        "covered_m_after": round_m(after_m),
        "added_m": round_m(after_m - m_existing),
        "demand_m": round_m(demand_m),
        "reachable_m": round_m(m_reachable),
        "reachable_share": share(m_reachable, demand_m),
        "unreachable_m": round_m(demand_m - m_reachable),
        # a bound that leaves the whole value open (a gap of 100 %, e.g. "at least 0
        # sites") proves nothing: that is no certificate, not "within 100 %"
        "certified": "optimal" if cert.optimal else ("within" if _bounded(cert.gap)
                                                     else "none"),
        "optimality_gap": cert.gap if cert.optimal or _bounded(cert.gap) else None,
        "bound": None if cert.bound is None else round_m(cert.bound),
        "bound_unit": ("sites" if new_sites is None
                       else f"{density.kind}-weighted metres" if density is not None
                       else "weighted metres" if class_weights else "metres"),
        # what the objective (and target_share) counted: "optimal" is optimal for this
        "weighted_by": _weighted_by(class_weights, density),
        "proof": cert.proof,
        "method": cert.method,
    }

def _weighted_by(class_weights: Mapping[str, float] | None,
                 density: DemandDensity | None) -> str:
    """What the plan's objective counts, in words.

    >>> _weighted_by(None, None), _weighted_by({"primary": 2}, None)
    ('street length', 'street length x road class weights')
    """
    base = ("street length" if density is None else
            f"{density.kind} demand weights along the streets (model; quartic kernel "
            f"{density.kernel_m:g} m)")
    return base + (" x road class weights" if class_weights else "")


@dataclass(frozen=True)
class _Problem:
    """A siting model as the solver sees it: open rows, banned columns zeroed, rows merged."""

    inst: _solver.Instance
    a_open: csc_array  # pieces the existing stations leave open x candidates
    length: np.ndarray  # metres of those pieces
    weight: np.ndarray  # their demand weight
    m_existing: float  # metres the existing stations cover
    m_reachable: float  # ... plus what some candidate reaches
    reached: bool  # whether the target share can be reached

    @classmethod
    def of(cls, sm: SitingModel, banned: np.ndarray, target_share: float | None,
           new_sites: int | None, conflicts: csr_array | None) -> _Problem:
        length, weight = sm.units.length_m, sm.units.weight
        open_rows = np.flatnonzero(~sm.existing)
        a_open = sm.cover[open_rows].tocsc()
        if banned.any():
            # zero banned columns (a sparse diagonal: a dense k x k one is 400 MB at 20,000)
            a_open = (a_open @ diags_array((~banned).astype(np.int8), format="csr",
                                           dtype=np.int8)).tocsc()
        reachable = np.diff(a_open.tocsr().indptr) > 0
        demand_w = float(weight.sum())
        m_existing, w_existing = float(length[sm.existing].sum()), float(weight[sm.existing].sum())
        m_reachable = m_existing + float(length[open_rows][reachable].sum())
        merged, w_merged = _solver.merge_rows(a_open, weight[open_rows])
        if (w_merged <= 0).any():
            # Rows of weight 0 (a class weight of 0, streets no rider point is near) change
            # no objective, and the swap scan's kernel tells touched columns by a nonzero
            # sum: such rows would overrun its scratch array.
            pos = np.flatnonzero(w_merged > 0)
            merged, w_merged = merged[pos].tocsc(), w_merged[pos]
        need, reached = None, True
        if target_share is not None:
            need = max(0.0, target_share * demand_w - w_existing)
            if need > float(w_merged.sum()) + 1e-9 * max(demand_w, 1.0):
                reached = False  # no set of candidates reaches the target: cover all they can
            need = min(need, float(w_merged.sum()))
        inst = _solver.Instance(merged, w_merged, need=need, k=new_sites, conflicts=conflicts)
        return cls(inst, a_open, length[open_rows], weight[open_rows], m_existing, m_reachable,
                   reached)


def _bounded(gap: float | None) -> bool:
    """Whether a relative optimality gap says something (below 100 %)."""
    return gap is not None and gap < 1.0 - 1e-9


def _objective(inst: _solver.Instance, chosen: list[int]) -> float:
    return float(len(chosen)) if inst.k is None else round(_solver.covered_weight(inst, chosen), 3)


def _worse(inst: _solver.Instance, a: list[int], b: list[int]) -> bool:
    if inst.k is None:
        return len(a) > len(b)
    return _solver.covered_weight(inst, a) < _solver.covered_weight(inst, b) - 1e-7


def _prefer_hosts(kind: np.ndarray, chosen: list[int], cover: csc_array,
                  conflicts: csr_array | None) -> list[int]:
    """Swap each chosen street position for a host that covers all it alone covers.

    The number of sites stays, and the covered street can only grow, so the certificate
    still holds; among hosts the lowest index wins, so the answer is deterministic.
    """
    host = np.isin(kind, HOST_KINDS)
    if not host.any() or host[chosen].all():
        return list(chosen)
    rows = cover.tocsr()
    chosen = list(chosen)
    for pos, j in enumerate(list(chosen)):
        if host[j]:
            continue
        others = [c for c in chosen if c != j]
        taken = np.zeros(cover.shape[0], dtype=bool)
        for c in others:
            taken[cover.indices[cover.indptr[c]:cover.indptr[c + 1]]] = True
        mine = cover.indices[cover.indptr[j]:cover.indptr[j + 1]]
        sole = mine[~taken[mine]]
        fit = np.flatnonzero(host)
        for r in sole:
            fit = np.intersect1d(fit, rows.indices[rows.indptr[r]:rows.indptr[r + 1]],
                                 assume_unique=True)
            if len(fit) == 0:
                break
        fit = np.setdiff1d(fit, others)
        if conflicts is not None and len(fit) and others:
            clash = np.asarray(conflicts[fit][:, others].sum(axis=1)).ravel() > 0
            fit = fit[~clash]
        if len(fit):
            chosen[pos] = int(fit[0])
    return chosen


def _rank(cand: gpd.GeoDataFrame, chosen: list[int], cover: csc_array, weight: np.ndarray,
          length: np.ndarray, m_existing: float, demand_m: float, *, min_gain_m: float = 0.0
          ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[tuple[int, float]]]:
    """Order the chosen sites greedily by what each adds; the proposals, their curve, and
    the sites left out (with the metres each would add) as adding less than ``min_gain_m``.

    This is :func:`~stationplan.check_sites`'s order and rule: always the site that adds
    most to the existing stations and the sites kept so far (ties to the lower index); a
    site adding less than ``min_gain_m`` street metres at its turn is left out.
    """
    rows_cov = np.zeros(cover.shape[0], dtype=bool)
    remaining = list(chosen)
    order, gains_w, gains_m = [], [], []
    low: list[tuple[int, float]] = []
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
        remaining.remove(best)
        if float(length[new].sum()) < min_gain_m - TOLERANCE_M:
            low.append((best, float(length[new].sum())))
            continue
        rows_cov[new] = True
        order.append(best)
        gains_w.append(float(weight[new].sum()))
        gains_m.append(float(length[new].sum()))
    covered = m_existing + np.concatenate([[0.0], np.cumsum(gains_m)])
    shares = [share(c, demand_m) for c in covered]
    picked = cand.iloc[order].copy() if order else cand.iloc[[]].copy()
    picked.insert(0, "rank", np.arange(1, len(order) + 1))
    picked["marginal_m"] = np.round(gains_m, 3)
    picked["marginal_weight"] = np.round(gains_w, 3)
    picked["covered_m"] = np.round(covered[1:], 3)
    picked["cumulative_share"] = shares[1:]
    picked = picked.to_crs(4326).reset_index(drop=True)
    curve = pd.DataFrame({"new_sites": np.arange(len(covered)),
                          "covered_m": np.round(covered, 3), "coverage_share": shares})
    return picked, curve, low


def _greedy_curve(cover: csc_array, weight: np.ndarray, length: np.ndarray, m_existing: float,
                  demand_m: float, conflicts: csr_array | None) -> pd.DataFrame:
    """Coverage after each greedy pick over all candidates, until nothing adds."""
    inst = _solver.Instance(cover, weight, need=float(weight[np.diff(cover.tocsr().indptr) > 0]
                                                      .sum()), conflicts=conflicts)
    covered = np.zeros(cover.shape[0], dtype=bool)
    metres = [m_existing]
    for j in _solver.greedy(inst):
        rows = inst.col(j)
        new = rows[~covered[rows]]
        covered[new] = True
        metres.append(metres[-1] + float(length[new].sum()))
    return pd.DataFrame({"new_sites": np.arange(len(metres)),
                         "covered_m": np.round(metres, 3),
                         "coverage_share": [share(m, demand_m) for m in metres]})


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
    road_cand, road_st = _on_road(network, cand), _on_road(network, stations)
    if road_cand is not None or road_st is not None:  # dual carriageways, as in _conflicts
        road_cand = cand if road_cand is None else road_cand
        road_st = stations if road_st is None else road_st
        dist = np.minimum(dist, _site_distances(
            network, road_st["edge_id"].to_numpy(np.int64),
            road_st["offset_m"].to_numpy(float), road_cand, spacing_m, min_only=True))
    return dist < spacing_m


def _on_road(network: StreetNetwork, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """``sites`` with positions on paired carriageways moved to their twin positions
    (:func:`~stationplan.carriageways.road_positions`); ``None`` if none moves."""
    edge, off = sites["edge_id"].to_numpy(np.int64), sites["offset_m"].to_numpy(float)
    r_edge, r_off = road_positions(network, edge, off)
    if np.array_equal(r_edge, edge) and np.array_equal(r_off, off):
        return None
    return sites.assign(edge_id=r_edge, offset_m=r_off)


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
        # dual carriageways: sites are also as close as their positions along the road
        # (a site on a paired carriageway measured at its twin position on the counted one)
        road = _on_road(network, cand)
        if road is not None:
            pairs = np.concatenate([pairs, _site_distances(
                network, road["edge_id"].to_numpy(np.int64), road["offset_m"].to_numpy(float),
                road, spacing_m, min_only=False)])
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
            # where a field team finds the site (stationplan.addresses), when known
            **{c: proposals[c].to_numpy() for c in ("street", "address", "near")
               if c in proposals},
        },
        geometry=proposals.to_crs(4326).geometry.to_numpy(),
        crs=4326,
    )
    both = gpd.GeoDataFrame(pd.concat([old, new], ignore_index=True), crs=4326)
    both.attrs.update(stations.attrs)  # the read report and warnings (concat drops them)
    return both
