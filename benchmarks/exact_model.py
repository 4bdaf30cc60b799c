"""Exact siting model against midpoint units: cost to build, and what a plan really covers.

``plan_sites`` now works on the exact model (``stationplan.demand.exact_model``: demand
streets cut at every catchment boundary of the candidates and stations, so a plan's
metres are the coverage engine's) instead of 25 m midpoint units (``units_model``, the
baseline here; ratios are exact / units, both measured in the same run).

For each shared real extract, street candidates every 50 m, no existing stations and
500 m network distance (no time limit):

* each model's build time, pieces or units, rows after merging identical ones, pairs
  (non-zeros of the coverage matrix) and the extra peak resident memory of the build;
* ``plan_sites(target_share=1.0)`` and ``plan_sites(new_sites=10)`` with each model: sites,
  certificate, seconds, and the plan measured by the coverage engine
  (``compute_coverage`` with the proposals as stations): covered metres, and the street
  that some candidate covers but the plan leaves uncovered (metres, stretches);
* the engine's coverable share (``compute_coverage`` with every candidate as a station).

Then one synthetic city (about 100,000 segments, 20,000 candidates as in ``siting.py``):
model build time and memory, and the 100 % plan with each model (certificate time limit
60 s) if it finishes within the child's time limit.

``python benchmarks/exact_model.py`` (about 15 min), ``--extracts monaco,krems``,
``--skip-synthetic``, ``--report-from results/exact_model.json`` (table only).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REAL, RESULTS, SHARED_OSM, fmt, machine, peak_rss_gb, run_child, timer

LIMIT_M = 500.0
SPACING_M = 50.0
RESOLUTION_M = 25.0
BEST_K = 10
ORDER = ["guixi_county_city", "beijing_zhongguancun", "shenzhen_longgang_heao", "monaco",
         "krems", "chengdu_center"]
assert sorted(ORDER) == sorted(REAL)


# -- memory ---------------------------------------------------------------------------------

def _status_kb(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


@contextlib.contextmanager
def extra_peak(store: dict, key: str):
    """Store the peak resident memory (GB) the block added above the resident set at its
    start. Linux: writing 5 to /proc/self/clear_refs resets the peak (VmHWM); None where
    that is not allowed."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kb("VmRSS")
    except OSError:
        before = None
    try:
        yield
    finally:
        store[key] = None if before is None else (_status_kb("VmHWM") - before) * 1024 / 1e9


# -- inputs ---------------------------------------------------------------------------------

def empty_stations():
    """A snapped station frame with no rows."""
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"station_id": np.zeros(0, dtype=object), "name": np.zeros(0, dtype=object),
         "status": np.zeros(0, dtype=object), "reason": np.zeros(0, dtype=object),
         "edge_id": np.zeros(0, np.int64), "offset_m": np.zeros(0),
         "snap_dist_m": np.zeros(0)},
        geometry=gpd.GeoSeries([], crs=4326), crs=4326)


def as_stations(cands):
    """Candidate sites as snapped, usable stations (as in tests/test_honest_figures.py)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"station_id": cands["candidate_id"].astype(str).to_numpy(), "name": "",
         "status": "ok", "reason": "", "edge_id": cands["edge_id"].to_numpy(np.int64),
         "offset_m": cands["offset_m"].to_numpy(float), "snap_dist_m": 0.0},
        geometry=cands.geometry.to_numpy(), crs=cands.crs).to_crs(4326)


def instance(name: str, n_cand: int | None):
    """Network and street candidates: a shared extract, or ``syn:EDGES`` sampled down to
    ``n_cand`` candidates as in siting.py part 1."""
    import stationplan as sp
    from stationplan._synthetic import synthetic_city
    from stationplan.candidates import street_candidates

    t: dict = {}
    with timer(t, "load_s"):
        if name.startswith("syn:"):
            net = synthetic_city(int(float(name[4:])), seed=0)
        else:
            net = sp.load_network(SHARED_OSM / f"{name}.osm.bz2")
    cands = street_candidates(net, spacing_m=SPACING_M)
    if n_cand is not None and len(cands) > n_cand:
        pick = np.sort(np.random.default_rng(1).choice(len(cands), n_cand, replace=False))
        cands = cands.iloc[pick].reset_index(drop=True)
    return net, cands, t["load_s"]


def warm_up(net, cands) -> None:
    """Load the numba kernels (compiled and cached on the first run) outside the timings."""
    import stationplan as sp
    from stationplan.demand import exact_model, units_model
    from stationplan.siting import plan_sites

    few = cands.iloc[:20]
    e, o = few["edge_id"].to_numpy(np.int64), few["offset_m"].to_numpy(float)
    none_e, none_o = np.zeros(0, np.int64), np.zeros(0)
    exact_model(net, none_e, none_o, e, o, limit_m=LIMIT_M)
    units_model(net, none_e, none_o, e, o, limit_m=LIMIT_M, resolution_m=RESOLUTION_M)
    rule = sp.CoverageRule(radius_m=LIMIT_M, max_minutes=None)
    plan_sites(net, empty_stations(), few, rule=rule, new_sites=2, time_limit_s=1)
    sp.compute_coverage(net, as_stations(few), rule=rule)


# -- measurements ---------------------------------------------------------------------------

def build(net, cands, kind: str) -> dict:
    """Build one siting model: seconds, size, merged rows, pairs, extra peak memory."""
    from stationplan._solve import solver as _solver
    from stationplan.demand import exact_model, units_model

    e, o = cands["edge_id"].to_numpy(np.int64), cands["offset_m"].to_numpy(float)
    none_e, none_o = np.zeros(0, np.int64), np.zeros(0)
    r: dict = {}
    with extra_peak(r, "peak_gb"), timer(r, "build_s"):
        if kind == "exact":
            sm = exact_model(net, none_e, none_o, e, o, limit_m=LIMIT_M)
        else:
            sm = units_model(net, none_e, none_o, e, o, limit_m=LIMIT_M,
                             resolution_m=RESOLUTION_M)
    with timer(r, "merge_s"):
        merged, _ = _solver.merge_rows(sm.cover, sm.units.weight)
    r.update(rows=len(sm.units), merged_rows=int(merged.shape[0]), pairs=int(sm.cover.nnz),
             merged_pairs=int(merged.nnz), demand_m=float(sm.units.length_m.sum()))
    del sm, merged
    gc.collect()
    return r


def _intervals(cov, status: str):
    p = cov.pieces
    m = (p["status"] == status).to_numpy()
    return (p["edge_id"].to_numpy(np.int64)[m], p["start_m"].to_numpy(float)[m],
            p["end_m"].to_numpy(float)[m])


def missed(net, plan_cov, all_cov) -> np.ndarray:
    """Lengths of the stretches the plan leaves uncovered (engine "gap") that the engine
    covers with every candidate as a station: coverable street the plan misses. Stretches
    are merged within a street segment, never across segments."""
    length = net.edges["length_m"].to_numpy(float)
    base = np.concatenate([[0.0], np.cumsum(length + 1.0)])[:-1]  # 1 m apart: never joined
    a_e, a_s, a_t = _intervals(plan_cov, "gap")
    b_e, b_s, b_t = _intervals(all_cov, "covered")
    a0, a1 = base[a_e] + a_s, base[a_e] + a_t
    b0, b1 = base[b_e] + b_s, base[b_e] + b_t
    if len(a0) == 0 or len(b0) == 0:
        return np.zeros(0)
    pts = np.unique(np.concatenate([a0, a1, b0, b1]))
    if len(pts) < 2:
        return np.zeros(0)
    mid = (pts[:-1] + pts[1:]) / 2

    def inside(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
        o = np.argsort(x0)
        x0, x1 = x0[o], x1[o]
        i = np.searchsorted(x0, mid, side="right") - 1
        return (i >= 0) & (mid < x1[np.maximum(i, 0)])

    both = inside(a0, a1) & inside(b0, b1)
    seg = np.diff(pts)
    # runs of consecutive elementary segments in both sets are one stretch
    start = both & ~np.concatenate([[False], both[:-1]])
    run = np.cumsum(start) - 1
    return np.bincount(run[both], weights=seg[both], minlength=int(start.sum()))


def stretch_summary(lengths: np.ndarray) -> dict:
    big = lengths[lengths > 1e-3]  # the engine's breakpoints are one point within 1 mm
    return {"missed_m": float(big.sum()), "missed_stretches": len(big),
            "missed_stretches_over_1m": int((big > 1.0).sum()),
            "longest_missed_m": float(big.max()) if len(big) else 0.0}


def plan(net, cands, kind: str, *, time_limit_s: float, all_cov=None, **objective) -> dict:
    """One plan with one model, measured by the coverage engine."""
    import stationplan as sp
    from stationplan.siting import plan_sites, stations_with_proposals

    rule = sp.CoverageRule(radius_m=LIMIT_M, max_minutes=None)
    empty = empty_stations()
    r: dict = {}
    with timer(r, "plan_s"):
        # the models compared as recorded: no rule for new sites (spacing, minimum gain)
        res = plan_sites(net, empty, cands, rule=rule, model=kind, time_limit_s=time_limit_s,
                         min_spacing_m=0, min_gain_m=0, **objective)
    with timer(r, "engine_s"):
        cov = sp.compute_coverage(net, stations_with_proposals(empty, res.proposals), rule=rule)
    s = res.summary
    r.update(sites=s["new_sites"], certified=s["certified"], gap=s["optimality_gap"],
             proof=s["proof"], bound=s["bound"], claimed_m=s["covered_m_after"],
             claimed_share=s["coverage_after"],
             target_reached=s["target_reached"], timings=res.timings,
             engine_m=cov.covered_m, engine_demand_m=cov.demand_m,
             engine_share=cov.covered_m / cov.demand_m,
             engine_gap_pieces=int((cov.pieces["status"] == "gap").sum()))
    if all_cov is not None:
        r.update(stretch_summary(missed(net, cov, all_cov)))
    return r


def coverable(net, cands) -> tuple[dict, object]:
    """The engine with every candidate as a station: street any plan can cover at most."""
    import stationplan as sp

    rule = sp.CoverageRule(radius_m=LIMIT_M, max_minutes=None)
    r: dict = {}
    with timer(r, "engine_s"):
        cov = sp.compute_coverage(net, as_stations(cands), rule=rule)
    r.update(coverable_m=cov.covered_m, demand_m=cov.demand_m,
             coverable_share=cov.covered_m / cov.demand_m)
    return r, cov


# -- cases (each in a fresh process) --------------------------------------------------------

def _net(args) -> str:
    return args.net if args.net in REAL else f"syn:{args.net}"


def case_build(args) -> dict:
    """Both models on one network: build time, size, memory; and the coverable share."""
    n_cand = None if args.net in REAL else args.syn_candidates
    net, cands, load_s = instance(_net(args), n_cand)
    warm_up(net, cands)
    res: dict = {"edges": len(net.edges), "candidates": len(cands), "load_s": load_s}
    res["build"] = {k: build(net, cands, k) for k in ("units", "exact")}
    res["coverable"], _ = coverable(net, cands)
    res["peak_rss_gb"] = peak_rss_gb()
    return res


def case_plan(args) -> dict:
    """One plan (objective, model) on one network, measured by the engine."""
    n_cand = None if args.net in REAL else args.syn_candidates
    net, cands, _ = instance(_net(args), n_cand)
    warm_up(net, cands)
    _, all_cov = coverable(net, cands)
    objective = {"target_share": 1.0} if args.objective == "fewest" else {"new_sites": BEST_K}
    r = plan(net, cands, args.model, time_limit_s=args.time_limit_s, all_cov=all_cov,
             **objective)
    r["peak_rss_gb"] = peak_rss_gb()
    return r


def run_network(name: str, *, plans: list[str], time_limit_s: float, timeout_s: float,
                syn_candidates: int) -> dict:
    """Build case, then each plan in its own process (a plan that overruns its time limit
    is stopped at ``timeout_s`` and recorded as not finished)."""
    me = Path(__file__)
    common = ["--net", name, "--syn-candidates", str(syn_candidates)]
    label = name if name in REAL else f"synthetic {int(float(name)):,}"
    print(f"... {label} build", file=sys.stderr, flush=True)
    res = run_child(me, ["--case", "build", *common], timeout_s=900)
    res["name"] = label
    if "error" in res:
        return res
    for objective in plans:
        res[objective] = {}
        for k in ("units", "exact"):
            print(f"... {label} {objective} {k}", file=sys.stderr, flush=True)
            t = time.perf_counter()
            p = run_child(me, ["--case", "plan", *common, "--objective", objective,
                               "--model", k, "--time-limit-s", str(time_limit_s)],
                          timeout_s=timeout_s)
            p["child_s"] = time.perf_counter() - t
            res[objective][k] = p
    return res


# -- report ---------------------------------------------------------------------------------

def _ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def _pct(x, digits: int = 2) -> str:
    """A share as per cent; more digits where rounding would show a share below 1 as 100 %."""
    if x is None:
        return "-"
    while x < 1 and round(100 * x, digits) >= 100 and digits < 8:
        digits += 1
    return f"{100 * x:.{digits}f} %"


def _mb(x) -> str:
    return "-" if x is None else f"{1000 * x:,.0f}"


def _pts(x: float) -> str:
    return f"{100 * x:.3f}"


def _ok(p: dict | None) -> bool:
    return bool(p) and "error" not in p


def _cert(p: dict) -> str:
    if p.get("certified") == "optimal":
        return "optimal"
    return f"gap {_pct(p.get('gap'))}" if p.get("gap") is not None else "none"


def _failed(p: dict | None, cols: int) -> str:
    why = (p or {}).get("error", "not run")
    return f"not finished ({why}) |" + " - |" * (cols - 1)


def build_table(rows: list[dict]) -> list[str]:
    out = ["| network | edges | candidates | units | pieces | x | merged rows units | "
           "merged rows exact | x | pairs units | pairs exact | x | build s units | "
           "build s exact | x | extra peak MB units | extra peak MB exact | x |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
           "---:|---:|---:|"]
    for r in rows:
        u, e = r["build"]["units"], r["build"]["exact"]
        out.append(
            f"| {r['name']} | {fmt(r['edges'])} | {fmt(r['candidates'])} | {fmt(u['rows'])} | "
            f"{fmt(e['rows'])} | {fmt(_ratio(e['rows'], u['rows']), 1)} | "
            f"{fmt(u['merged_rows'])} | {fmt(e['merged_rows'])} | "
            f"{fmt(_ratio(e['merged_rows'], u['merged_rows']), 1)} | {fmt(u['pairs'])} | "
            f"{fmt(e['pairs'])} | {fmt(_ratio(e['pairs'], u['pairs']), 1)} | "
            f"{fmt(u['build_s'])} | {fmt(e['build_s'])} | "
            f"{fmt(_ratio(e['build_s'], u['build_s']), 1)} | {_mb(u['peak_gb'])} | "
            f"{_mb(e['peak_gb'])} | {fmt(_ratio(e['peak_gb'], u['peak_gb']), 1)} |")
    return out


def fewest_table(rows: list[dict]) -> list[str]:
    out = ["| network | coverable (engine) | units: sites | units: own share | "
           "units: engine share | units: coverable m missed | units: stretches (> 1 m) | "
           "units: longest m | units: certificate | units s | exact: sites | "
           "exact: engine share | exact: coverable m missed | exact: certificate | exact s | "
           "sites x | time x |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        f = r.get("fewest", {})
        u, e = f.get("units"), f.get("exact")
        cells = f"| {r['name']} | {_pct(r['coverable']['coverable_share'], 3)} | "
        if _ok(u):
            cells += (f"{fmt(u['sites'])} | {_pct(u['claimed_share'], 3)} | "
                      f"{_pct(u['engine_share'], 3)} | {fmt(u['missed_m'], 1)} | "
                      f"{fmt(u['missed_stretches'])} ({fmt(u['missed_stretches_over_1m'])}) | "
                      f"{fmt(u['longest_missed_m'], 1)} | {_cert(u)} | {fmt(u['plan_s'])} | ")
        else:
            cells += _failed(u, 8) + " "
        if _ok(e):
            cells += (f"{fmt(e['sites'])} | {_pct(e['engine_share'], 3)} | "
                      f"{fmt(e['missed_m'], 1)} | {_cert(e)} | {fmt(e['plan_s'])} | ")
        else:
            cells += _failed(e, 5) + " "
        both = _ok(u) and _ok(e)
        cells += (f"{fmt(_ratio(e['sites'], u['sites']) if both else None)} | "
                  f"{fmt(_ratio(e['plan_s'], u['plan_s']) if both else None, 1)} |")
        out.append(cells)
    return out


def bestk_table(rows: list[dict]) -> list[str]:
    out = ["| network | units: own m | units: engine m | units: certificate | units s | "
           "exact: own m | exact: engine m | exact: bound m | exact: certificate | exact s | "
           "engine m x | units plan within exact bound | time x |",
           "|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---|---:|"]
    for r in rows:
        f = r.get("best_k")
        if not f:
            continue
        u, e = f.get("units"), f.get("exact")
        cells = f"| {r['name']} | "
        if _ok(u):
            cells += (f"{fmt(u['claimed_m'])} | {fmt(u['engine_m'])} | {_cert(u)} | "
                      f"{fmt(u['plan_s'])} | ")
        else:
            cells += _failed(u, 4) + " "
        if _ok(e):
            cells += (f"{fmt(e['claimed_m'])} | {fmt(e['engine_m'])} | {fmt(e['bound'])} | "
                      f"{_cert(e)} | {fmt(e['plan_s'])} | ")
        else:
            cells += _failed(e, 5) + " "
        both = _ok(u) and _ok(e)
        within = "-"
        if both and e.get("bound") is not None:
            within = "yes" if u["engine_m"] <= e["bound"] + 1e-6 * e["bound"] else "NO"
        cells += (f"{fmt(_ratio(e['engine_m'], u['engine_m']) if both else None, 4)} | "
                  f"{within} | {fmt(_ratio(e['plan_s'], u['plan_s']) if both else None, 1)} |")
        out.append(cells)
    return out


def memory_table(rows: list[dict]) -> list[str]:
    out = ["| network | fewest: units | fewest: exact | x | best 10: units | best 10: exact | x |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = f"| {r['name']} |"
        for objective in ("fewest", "best_k"):
            f = r.get(objective) or {}
            u, e = (f.get(k) or {} for k in ("units", "exact"))
            gu, ge = u.get("peak_rss_gb"), e.get("peak_rss_gb")
            cells += f" {fmt(gu)} | {fmt(ge)} | {fmt(_ratio(ge, gu), 1)} |"
        out.append(cells)
    return out


def sentences(rows: list[dict]) -> list[str]:
    """What the fewest-sites numbers mean for a planner, one line per network."""
    out = []
    for r in rows:
        f = r.get("fewest", {})
        u, e = f.get("units"), f.get("exact")
        cov = r["coverable"]["coverable_share"]
        whole = "all street" if cov >= 1 - 1e-9 else f"the {_pct(cov, 3)} of street coverable"
        if not _ok(u):
            continue
        text = (f"- {r['name']}: the units model said {u['sites']:,} sites give "
                f"{_pct(u['claimed_share'], 2)}; the engine measures "
                f"{_pct(u['engine_share'], 3)} with them ({fmt(u['missed_m'], 0)} m of "
                f"coverable street uncovered in {u['missed_stretches']:,} stretches, the "
                f"longest {fmt(u['longest_missed_m'], 1)} m).")
        if _ok(e):
            text += (f" The exact model needs {e['sites']:,} sites for {whole} "
                     f"(engine: {_pct(e['engine_share'], 3)}, {fmt(e['missed_m'], 1)} m "
                     f"missed; {_cert(e)}).")
        else:
            text += f" The exact model's plan did not finish ({e and e.get('error')})."
        out.append(text)
    return out


def overview(nets: list[dict], data: dict) -> list[str]:
    """Figures across the networks, from the results."""
    out = []
    fu = [r["fewest"]["units"] for r in nets if _ok(r.get("fewest", {}).get("units"))]
    fe = [r["fewest"]["exact"] for r in nets if _ok(r.get("fewest", {}).get("exact"))]
    if fu:
        share = [p["missed_m"] / p["engine_demand_m"] for p in fu]
        out.append(f"- 100 % plans on the units model leave "
                   f"{fmt(min(p['missed_m'] for p in fu), 0)} to "
                   f"{fmt(max(p['missed_m'] for p in fu), 0)} m of coverable street "
                   f"uncovered ({_pct(min(share), 3)} to {_pct(max(share), 3)} of the street, "
                   f"{min(p['missed_stretches'] for p in fu):,} to "
                   f"{max(p['missed_stretches'] for p in fu):,} stretches, each at most "
                   f"{fmt(max(p['longest_missed_m'] for p in fu), 1)} m: parts of units whose "
                   "midpoint is covered, so the midpoint rule counts them whole), street their "
                   "own model counts as covered: their own share is "
                   f"{_pts(min(p['claimed_share'] - p['engine_share'] for p in fu))} to "
                   f"{_pts(max(p['claimed_share'] - p['engine_share'] for p in fu))} percentage "
                   "points above the engine's.")
        above = [r for r in nets if _ok(r.get("fewest", {}).get("units"))
                 and r["fewest"]["units"]["claimed_share"]
                 > r["coverable"]["coverable_share"] + 5e-7]
        for r in above:
            out.append(f"- {r['name']}: the units model's own share of its 100 % plan, "
                       f"{_pct(r['fewest']['units']['claimed_share'], 3)}, is above what any "
                       f"plan can cover ({_pct(r['coverable']['coverable_share'], 3)}).")
    if fe:
        out.append(f"- 100 % plans on the exact model leave at most "
                   f"{fmt(max(p['missed_m'] for p in fe), 3)} m of coverable street uncovered; "
                   "their own share is the engine's.")
    pairs = [(r["fewest"]["units"], r["fewest"]["exact"]) for r in nets
             if _ok(r.get("fewest", {}).get("units")) and _ok(r.get("fewest", {}).get("exact"))]
    if pairs:
        d = [e["sites"] - u["sites"] for u, e in pairs]
        both = [e["sites"] - u["sites"] for u, e in pairs
                if u["certified"] == e["certified"] == "optimal"]
        out.append(f"- Sites for 100 %: exact minus units from {min(d):+d} to {max(d):+d}"
                   + (f"; where both are proven optimal ({len(both)} networks) from "
                      f"{min(both):+d} to {max(both):+d}: what covering the last metres "
                      "costs" if both else "")
                   + "; elsewhere both counts are heuristic answers within their "
                   "certificates' gaps.")
    ks = [(r["name"], r["best_k"]["units"], r["best_k"]["exact"]) for r in nets
          if _ok((r.get("best_k") or {}).get("units")) and _ok(r["best_k"].get("exact"))]
    if ks:
        x = [e["engine_m"] / u["engine_m"] for _, u, e in ks]
        within = all(u["engine_m"] <= e["bound"] * (1 + 1e-6) for _, u, e in ks
                     if e.get("bound") is not None)
        over = [u["claimed_m"] - u["engine_m"] for _, u, e in ks]
        out.append(f"- Best {BEST_K}: the exact model's plan covers {min(x):.4f} to "
                   f"{max(x):.4f} times the street the units model's plan covers (engine); "
                   + ("where it covers less, the units plan still lies within the exact "
                      "certificate's bound (the exact answer is short of the optimum by at most "
                      "its gap, not wrong)" if within else "the units plan lies ABOVE the exact "
                      "certificate's bound somewhere: check")
                   + f". The units model overstates its own plan by {fmt(min(over), 0)} to "
                   f"{fmt(max(over), 0)} m; the exact model's own metres are the engine's. "
                   f"The exact certificates prove optimality in "
                   f"{sum(e['certified'] == 'optimal' for _, _, e in ks)} of {len(ks)} cases "
                   f"within the time limit, the units ones in "
                   f"{sum(u['certified'] == 'optimal' for _, u, _ in ks)}.")
    b = [r["build"] for r in nets]
    if b:
        x_rows = [e["exact"]["merged_rows"] / e["units"]["merged_rows"] for e in b]
        x_pairs = [e["exact"]["pairs"] / e["units"]["pairs"] for e in b]
        x_s = [e["exact"]["build_s"] / e["units"]["build_s"] for e in b]
        out.append(f"- Model size and cost: the exact model has {min(x_rows):.1f} to "
                   f"{max(x_rows):.1f} times the merged rows and {min(x_pairs):.1f} to "
                   f"{max(x_pairs):.1f} times the pairs of the units model, and builds in "
                   f"{min(x_s):.1f} to {max(x_s):.1f} times its time (at most "
                   f"{max(e['exact']['build_s'] for e in b):.1f} s).")
    over = []
    for r in nets:
        for objective in ("fewest", "best_k"):
            for k, p in (r.get(objective) or {}).items():
                limit = data["syn_time_limit_s"] if r is data.get("synthetic") \
                    else data["time_limit_s"]
                if not _ok(p):
                    over.append(f"{r['name']} {objective} {k}: not finished "
                                f"({p.get('error')})")
                elif p["timings"]["certificate_s"] > 1.5 * limit:
                    over.append(f"{r['name']} {objective} {k}: certificate "
                                f"{p['timings']['certificate_s']:.0f} s")
    if over:
        out.append("- Plans whose certificate ran over 1.5 times `time_limit_s`, or that did "
                   "not finish: " + "; ".join(over) + ".")
    return out


def report(data: dict) -> str:
    real = [r for r in data["real"] if "build" in r]
    syn = data.get("synthetic")
    nets = real + ([syn] if syn and "build" in syn else [])
    lines = ["# Exact siting model against midpoint units", "",
             f"Command: `{data['command']}`  ",
             f"Machine: {json.dumps(data['machine'])}  ",
             f"Street candidates every {SPACING_M:.0f} m plus junctions, no existing stations, "
             f"{LIMIT_M:.0f} m network distance (no time limit). Baseline: the units model "
             f"(`units_model`, {RESOLUTION_M:.0f} m units covered when their midpoint is within "
             "the limit); `x` columns are exact / units from the same run. The model builds of "
             "a network run in one process, each plan in its own, each after a warm-up (numba "
             "kernels loaded); a plan still running after "
             f"{data['plan_timeout_s']:.0f} s ({data['syn_plan_timeout_s']:.0f} s on the "
             "synthetic city) is stopped and marked not finished. \"Engine\" is "
             "`compute_coverage` with the plan's proposals as stations; \"coverable\" the same "
             "with every candidate as a station; \"own share\" / \"own m\" what the plan's "
             "model says it covers.", "",
             "## Building the model", "",
             "Units / pieces: rows of the coverage matrix; merged rows: after merging rows "
             "covered by the same candidates (`merge_rows`, what the solver sees); pairs: its "
             "non-zeros before merging. Extra peak MB: peak resident memory of the build above "
             "the resident set at its start (peak reset through `/proc/self/clear_refs`).", ""]
    lines += build_table(nets)
    lines += ["", f"## Fewest sites for 100 % (`plan_sites(target_share=1.0, "
              f"time_limit_s={data['time_limit_s']:g})`; synthetic city: "
              f"`time_limit_s={data['syn_time_limit_s']:g}`)", "",
              "\"Coverable m missed\": street that some candidate covers (engine, every "
              "candidate) but the plan leaves uncovered (engine, the plan), in stretches "
              "within a street segment longer than 1 mm; \"stretches (> 1 m)\": how many, "
              "and how many of them are longer than 1 m. Certificate: optimal, or the proven "
              "gap (sites above the lower bound). Seconds: the whole `plan_sites` call "
              "(model, search, certificate, ranking).", ""]
    lines += fewest_table(nets)
    lines += ["", f"## Best {BEST_K} sites (`plan_sites(new_sites={BEST_K}, "
              f"time_limit_s={data['time_limit_s']:g})`)", "",
              "Covered street metres of each plan: what its model says, and what the engine "
              "measures. Exact bound: the certificate's upper bound on the metres any "
              f"{BEST_K} candidates cover (exact model = engine metres); the units model's plan "
              "must lie below it. Certificate: optimal, or the proven gap (covered metres "
              "below the bound).", ""]
    lines += bestk_table(real)
    lines += ["", "## Peak resident memory of the plan processes (GB)", "",
              "Whole process: network, candidates, the engine with every candidate, the plan "
              "and the engine on it.", ""]
    lines += memory_table(nets)
    failed = [r for r in [*data["real"], syn] if r and "build" not in r]
    if failed:
        lines += ["", "Did not finish: " + "; ".join(f"{r['name']}: {r.get('error')}"
                                                      for r in failed)]
    lines += ["", "## What it means for a planner", ""]
    lines += overview(nets, data)
    lines += ["", *sentences(nets)]
    for note in data.get("notes", []):
        lines += ["", note]
    return "\n".join(lines).rstrip() + "\n"


# -- main -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--extracts", default=",".join(ORDER))
    p.add_argument("--time-limit-s", type=float, default=20.0, help="plans on the extracts")
    p.add_argument("--plan-timeout-s", type=float, default=240.0,
                   help="wall limit of each plan's process on the extracts")
    p.add_argument("--syn-edges", type=float, default=105_000)
    p.add_argument("--syn-candidates", type=int, default=20_000)
    p.add_argument("--syn-time-limit-s", type=float, default=60.0)
    p.add_argument("--syn-plan-timeout-s", type=float, default=600.0,
                   help="wall limit of each synthetic plan's process")
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--report-from", help="only write the report from this JSON")
    p.add_argument("--out", default=str(RESULTS / "exact_model.md"))
    p.add_argument("--case", choices=["build", "plan"], help=argparse.SUPPRESS)
    p.add_argument("--net", help=argparse.SUPPRESS)
    p.add_argument("--objective", choices=["fewest", "best_k"], help=argparse.SUPPRESS)
    p.add_argument("--model", choices=["units", "exact"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.case:
        res = case_build(args) if args.case == "build" else case_plan(args)
        print(json.dumps(res))
        return 0
    if args.report_from:
        data = json.loads(Path(args.report_from).read_text(encoding="utf-8"))
    else:
        t0 = time.perf_counter()
        data = {"command": ("python benchmarks/exact_model.py " + " ".join(argv)).strip(),
                "machine": machine(), "time_limit_s": args.time_limit_s,
                "syn_time_limit_s": args.syn_time_limit_s,
                "plan_timeout_s": args.plan_timeout_s,
                "syn_plan_timeout_s": args.syn_plan_timeout_s,
                "real": [], "synthetic": None, "notes": []}
        for name in [s for s in args.extracts.split(",") if s]:
            data["real"].append(run_network(
                name, plans=["fewest", "best_k"], time_limit_s=args.time_limit_s,
                timeout_s=args.plan_timeout_s, syn_candidates=args.syn_candidates))
        if not args.skip_synthetic:
            data["synthetic"] = run_network(
                f"{args.syn_edges:g}", plans=["fewest"], time_limit_s=args.syn_time_limit_s,
                timeout_s=args.syn_plan_timeout_s, syn_candidates=args.syn_candidates)
        data["total_s"] = time.perf_counter() - t0
        data["notes"].append(f"Whole run: {data['total_s'] / 60:.1f} min.")
    text = report(data)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if not args.report_from:
        out.with_suffix(".json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
