"""Siting benchmark (issue 5): greedy + local search with a certificate at city scale, and
PySAL spopt on the largest instance it can still solve in 10 minutes.

Part 1, on a synthetic city of at least 100,000 street segments with at least 20,000
candidate sites: coverage-set build time, greedy, local search, the LP bound / MILP
certificate and its gap, and peak memory.

Part 2, on growing synthetic cities: the same instance (our network-distance coverage
matrix, rows with identical coverage merged) solved by spopt's LSCP (fewest sites that
cover everything, ``LSCP.from_cost_matrix`` with HiGHS through PuLP) and by stationplan,
until spopt no longer finishes within the time limit (or its dense cost matrix no longer
fits in memory).

``python benchmarks/siting.py`` (all), ``--skip-spopt``, ``--spopt-sizes 2e3,5e3,...``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, fmt, machine, peak_rss_gb, run_child, timer

LIMIT_M = 500.0


def instance(n_edges: int, n_cand: int, seed: int = 0):
    """Network, candidates and merged coverage matrix of a synthetic city."""
    from stationplan._solve import solver as _solver
    from stationplan._synthetic import synthetic_city
    from stationplan.candidates import street_candidates
    from stationplan.demand import coverage_matrix, demand_units

    t: dict = {}
    with timer(t, "network_s"):
        net = synthetic_city(n_edges, seed=seed)
    cands = street_candidates(net, spacing_m=50.0)
    if len(cands) > n_cand:
        pick = np.sort(np.random.default_rng(seed + 1).choice(len(cands), n_cand, replace=False))
        cands = cands.iloc[pick].reset_index(drop=True)
    with timer(t, "units_s"):
        units = demand_units(net)
    with timer(t, "coverage_sets_s"):
        cover = coverage_matrix(net, units, cands["edge_id"].to_numpy(),
                                cands["offset_m"].to_numpy(), limit_m=LIMIT_M)
    with timer(t, "merge_rows_s"):
        merged, w = _solver.merge_rows(cover, units.weight)
    info = {"edges": len(net.edges), "candidates": len(cands), "units": len(units),
            "pairs": int(cover.nnz), "merged_rows": merged.shape[0],
            "merged_pairs": int(merged.nnz), **t}
    return merged, w, info


def ours(cover, w, *, time_limit_s: float, k: int | None = None) -> dict:
    """Greedy, local search and certificate on one objective."""
    from stationplan._solve import certificate as _certificate
    from stationplan._solve import solver as _solver

    inst = _solver.Instance(cover, w, need=None if k else float(w.sum()), k=k)
    r: dict = {}
    with timer(r, "greedy_s"):
        g = _solver.greedy(inst)
    with timer(r, "local_search_s"):
        ls = _solver.local_search(inst, g)
    with timer(r, "certificate_s"):
        cert = _certificate.certify(inst, ls, method="greedy + local search",
                               time_limit_s=time_limit_s)
    value = (lambda s: len(s)) if k is None else (lambda s: _solver.covered_weight(inst, s))
    r.update(greedy=value(g), local_search=value(ls), answer=cert.objective,
             lp_bound=cert.lp_bound, bound=cert.bound, gap=cert.gap, optimal=cert.optimal,
             proof=cert.proof, method=cert.method)
    return r


def part1(n_edges: int, n_cand: int, time_limit_s: float) -> dict:
    cover, w, info = instance(n_edges, n_cand)
    res = {"instance": info}
    res["fewest_sites"] = ours(cover, w, time_limit_s=time_limit_s)
    res["best_k"] = ours(cover, w, time_limit_s=time_limit_s, k=50)
    res["best_k"]["k"] = 50
    res["peak_rss_gb"] = peak_rss_gb()
    return res


def spopt_case(n_edges: int, n_cand: int, time_limit_s: float) -> dict:
    """One size: spopt LSCP and stationplan on the same merged coverage matrix."""
    import warnings

    warnings.filterwarnings("ignore")
    import pulp
    from spopt.locate import LSCP

    cover, w, info = instance(n_edges, n_cand)
    res = {"instance": info}
    dense_gb = cover.shape[0] * cover.shape[1] * 8 / 1e9
    res["dense_cost_gb"] = dense_gb
    if dense_gb > 6:
        res["spopt"] = {"error": f"dense cost matrix would need {dense_gb:.1f} GB"}
    else:
        t0 = time.perf_counter()
        cost = np.where(cover.toarray() > 0, 0.0, 1000.0)
        model = LSCP.from_cost_matrix(cost, service_radius=LIMIT_M)
        built = time.perf_counter() - t0
        t1 = time.perf_counter()
        solved = model.solve(pulp.HiGHS(msg=False, timeLimit=time_limit_s))
        spent = time.perf_counter() - t1
        status = pulp.LpStatus[solved.problem.status]
        # spopt's fac2cli lists clients for every facility whose value is above 0, and
        # HiGHS leaves values like 1e-10 on unchosen ones: count the chosen (> 0.5)
        n_sites = int(sum(1 for v in solved.fac_vars if (v.value() or 0) > 0.5))
        res["spopt"] = {"build_s": built, "solve_s": spent, "status": status,
                        "sites": n_sites, "within_limit": spent < time_limit_s and
                        status == "Optimal"}
        del cost, model, solved
    res["ours"] = ours(cover, w, time_limit_s=time_limit_s)
    res["peak_rss_gb"] = peak_rss_gb()
    return res


def _pct(gap: float | None) -> str:
    return "-" if gap is None else f"{100 * gap:.2f} %"


def report(p1: dict | None, grow: list[dict], args) -> str:
    lines = ["# stationplan siting benchmark (issue 5)", "",
             f"Command: `python benchmarks/siting.py {' '.join(args.argv)}`  ",
             f"Machine: {json.dumps(machine())}  ",
             "Synthetic city (seed 0), street candidates every 50 m plus junctions sampled "
             "down to the number shown, 25 m demand units, 500 m network distance.", ""]
    if p1:
        i = p1["instance"]
        lines += ["## Large instance", ""]
        if p1.get("from"):
            lines += [f"(Results of an earlier run of this script, from `{p1['from']}`.)", ""]
        lines += [
                  f"{i['edges']:,} street segments, {i['candidates']:,} candidates, "
                  f"{i['units']:,} demand units ({i['merged_rows']:,} after merging rows "
                  f"covered by the same candidates), {i['pairs']:,} unit-candidate pairs.", "",
                  "| stage | seconds |", "|---|---:|",
                  f"| network | {fmt(i['network_s'])} |", f"| demand units | {fmt(i['units_s'])} |",
                  f"| coverage sets | {fmt(i['coverage_sets_s'])} |",
                  f"| merge rows | {fmt(i['merge_rows_s'])} |", "",
                  "| objective | greedy s | local search s | certificate s | greedy | "
                  "local search | answer | LP bound | bound | gap | proof |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for name, r in (("fewest sites (100 %)", p1["fewest_sites"]),
                        (f"best {p1['best_k']['k']} (covered m)", p1["best_k"])):
            lines.append(
                f"| {name} | {fmt(r['greedy_s'])} | {fmt(r['local_search_s'])} | "
                f"{fmt(r['certificate_s'])} | {fmt(r['greedy'])} | {fmt(r['local_search'])} | "
                f"{fmt(r['answer'])} | {fmt(r['lp_bound'])} | {fmt(r['bound'])} | "
                f"{_pct(r['gap'])} | {r['proof']} |")
        lines += ["", f"Peak resident memory of the whole run: {p1['peak_rss_gb']:.2f} GB.", ""]
    if grow:
        lines += ["## spopt LSCP against stationplan, growing instances", "",
                  f"spopt: `LSCP.from_cost_matrix` + `pulp.HiGHS(timeLimit={args.limit_s:.0f})`"
                  "; stationplan: greedy + local search + certificate (LP, then MILP warm-"
                  f"started, same time limit).", "",
                  "| edges | candidates | merged rows | dense cost GB | spopt build s | "
                  "spopt solve s | spopt status | spopt sites | ours total s | ours sites | "
                  "ours proof / gap |",
                  "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"]
        for g in grow:
            if "error" in g and "instance" not in g:
                lines.append(f"| {g.get('edges_wanted')} | error: {g['error']} |")
                continue
            i, s, o = g["instance"], g.get("spopt", {}), g.get("ours", {})
            tot = (i["coverage_sets_s"] + i["merge_rows_s"] + o.get("greedy_s", 0)
                   + o.get("local_search_s", 0) + o.get("certificate_s", 0))
            gap = o.get("gap")
            lines.append(
                f"| {fmt(i['edges'])} | {fmt(i['candidates'])} | {fmt(i['merged_rows'])} | "
                f"{g['dense_cost_gb']:.2f} | {fmt(s.get('build_s'))} | {fmt(s.get('solve_s'))} | "
                f"{s.get('status', s.get('error', '-'))} | {fmt(s.get('sites'))} | {fmt(tot)} | "
                f"{fmt(o.get('answer'))} | {o.get('proof', '-')} / "
                f"{_pct(gap)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edges", type=float, default=105_000, help="large instance: edges")
    p.add_argument("--candidates", type=int, default=20_000, help="large instance: candidates")
    p.add_argument("--limit-s", type=float, default=600.0, help="solver time limit")
    p.add_argument("--cert-limit-s", type=float, default=120.0,
                   help="MILP time limit of the certificate on the large instance")
    p.add_argument("--spopt-sizes", default="1e3,2e3,5e3,1e4,2e4,5e4",
                   help="edges of the growing instances (candidates = edges / 4)")
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--skip-spopt", action="store_true")
    p.add_argument("--large-from", help="take the large instance's results from this JSON of "
                   "an earlier run (they are labelled so in the report)")
    p.add_argument("--out", default=str(RESULTS / "siting.md"))
    p.add_argument("--case", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.argv = argv
    if args.case:
        kind, edges, cands = args.case.split(":")
        res = (part1(int(float(edges)), int(cands), args.cert_limit_s) if kind == "large"
               else spopt_case(int(float(edges)), int(cands), args.limit_s))
        print(json.dumps(res))
        return 0
    p1 = None
    if args.large_from:
        p1 = json.loads(Path(args.large_from).read_text(encoding="utf-8"))["large"]
        p1["from"] = args.large_from
    elif not args.skip_large:
        print("... large instance", file=sys.stderr, flush=True)
        p1 = run_child(Path(__file__), ["--case", f"large:{args.edges}:{args.candidates}",
                                        "--cert-limit-s", str(args.cert_limit_s)],
                       timeout_s=3600)
    grow = []
    if not args.skip_spopt:
        for size in [float(s) for s in args.spopt_sizes.split(",") if s]:
            print(f"... spopt {size:g}", file=sys.stderr, flush=True)
            g = run_child(Path(__file__), ["--case", f"grow:{size}:{int(size // 4)}",
                                           "--limit-s", str(args.limit_s)],
                          timeout_s=4 * args.limit_s + 600)
            g["edges_wanted"] = int(size)
            grow.append(g)
            s = g.get("spopt", {})
            if "error" in g or "error" in s or not s.get("within_limit"):
                break  # spopt can no longer solve it in time: stop growing
    text = report(p1 if p1 and "error" not in p1 else None, grow, args)
    if p1 and "error" in p1:
        text += f"\nLarge instance failed: {p1['error']}\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"large": p1, "grow": grow}, indent=1),
                                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
