"""Issue 18, item 5: ``stationplan coverage`` on a 10^6-segment GeoParquet city against
the floor, both measured in this one run.

The floor is what the run cannot avoid: geopandas reading the centerline file, a bounded
``scipy.sparse.csgraph`` Dijkstra from the stations' nearest junctions (``limit`` = the
radius, ``min_only``), and a GeoParquet write of as many pieces as the run wrote. The CLI
runs as a user runs it (a fresh process, ``--quiet``); its stages come from its
``timings.json``. Target (issue 18): the whole run within 5x of the floor.

The floor is measured two ways, both reported:

- **a fresh process, as the command** (``_floor_process.py``, timed from outside like the
  command: interpreter start-up, importing geopandas and SciPy, reading into a new heap),
  four times (two with this machine's huge-page setting, two without, as the command
  runs), the fastest counting; the ratio against it compares like with like;
- **inside this benchmark's process** (the measure used alone until 2026-12-06): no
  start-up, and a heap already grown by making the 10^6-segment city, so reading costs
  about half of what it costs any fresh process; measured twice, the faster counting.

The table also gives the run's wall time less its writing stage (start-up, reading,
stations, coverage and gaps, which every output but the street pieces waits for), and the
fastest the same work could end however the part after coverage were spread over this
machine's cores. Until its gaps stage the command is one process (its writers start
there): the bound is the run's wall time up to that stage plus the processor time after
it divided by the cores. The processor time after it is the command's whole (user and
system, its forked writers included) less that before it: the wall time up to the gaps
stage plus what other threads spent beside the main one until then, which one more fresh
process (``_split_process.py``, the command's pipeline) measures from inside.

    python benchmarks/floor.py [--edges 1e6] [--stations 2500] [--work /tmp/stationplan-floor]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, fmt, machine, random_stations_csv
from _floor_process import graph_and_sources, pieces_table


def prepare(n_edges: int, k: int, work: Path) -> tuple[Path, Path, object]:
    from stationplan._synthetic import synthetic_city

    net = synthetic_city(n_edges, seed=0)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"syn_{n_edges}.parquet"
    e = net.edges
    if not path.exists():
        e[["highway", "name", "geometry"]].assign(
            oneway=(e["fwd"] != e["bwd"]).map({True: "yes", False: "no"})).to_parquet(path)
    stations = random_stations_csv(net, k, work / f"stations_{k}.csv", seed=1)
    return path, stations, net


def save_graph(net, k: int, work: Path) -> Path:
    """The street graph's arrays and ``k`` random junctions to search from, saved once
    for both floors (made outside their clocks)."""
    import numpy as np

    graph = work / "floor_graph.npz"
    e = net.edges
    n = len(net.nodes)
    np.savez(graph, u=e["u"].to_numpy(), v=e["v"].to_numpy(), w=e["length_m"].to_numpy(),
             n=n, src=np.random.default_rng(1).choice(n, k, replace=False))
    return graph


def floor(path: Path, graph_path: Path, pieces: int, work: Path, radius_m: float) -> dict:
    import geopandas as gpd
    from scipy.sparse.csgraph import dijkstra

    t = time.perf_counter()
    frame = gpd.read_parquet(path)
    read_s = time.perf_counter() - t
    graph, src = graph_and_sources(graph_path)
    t = time.perf_counter()
    dijkstra(graph, indices=src, limit=radius_m, min_only=True)
    dijkstra_s = time.perf_counter() - t
    out = pieces_table(frame, pieces)
    t = time.perf_counter()
    out.to_parquet(work / "floor_pieces.parquet")
    write_s = time.perf_counter() - t
    return {"read_s": read_s, "dijkstra_s": dijkstra_s, "write_s": write_s,
            "total_s": read_s + dijkstra_s + write_s}


def helper(script: str, *args: object) -> tuple[dict, float, float]:
    """Run ``benchmarks/<script>`` as a fresh process, timed from outside: the JSON line
    it prints last, when it was started (epoch seconds) and its wall time."""
    cmd = [sys.executable, str(Path(__file__).with_name(script)), *map(str, args)]
    started = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.splitlines()[-1]), started, time.time() - started


def fresh_floor(path: Path, graph: Path, pieces: int, work: Path, radius_m: float) -> dict:
    """The floor as a fresh process (``_floor_process.py``), timed from outside."""
    inner, _, wall = helper("_floor_process.py", path, graph, pieces,
                            work / "floor_pieces.parquet", radius_m)
    total = wall - inner["excluded_s"]
    counted = inner["imports_s"] + inner["read_s"] + inner["dijkstra_s"] + inner["write_s"]
    # start-up: the interpreter's start and exit, and importing geopandas and SciPy
    return {**inner, "startup_s": total - counted + inner["imports_s"], "total_s": total}


def split_run(path: Path, stations: Path, out: Path) -> dict:
    """The command's work in a fresh process (``_split_process.py``), timed from outside:
    its wall time, the wall and processor time up to its gaps stage, and what threads
    other than the main one spent by then (processor time less wall time: the process is
    alone until that stage)."""
    inner, started, wall = helper("_split_process.py", path, stations, out)
    before = inner["gaps_at"] - started
    return {**inner, "wall_s": wall, "before_gaps_s": before,
            "beside_s": inner["cpu_before_gaps_s"] - before}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edges", type=float, default=1e6)
    ap.add_argument("--stations", type=int, default=2500)
    ap.add_argument("--work", default="/tmp/stationplan-floor")
    ap.add_argument("--extra", default="", help="more CLI options, space separated")
    ap.add_argument("--out", default=str(RESULTS / "floor.md"))
    args = ap.parse_args()
    work = Path(args.work)
    path, stations, net = prepare(int(args.edges), args.stations, work)
    out = work / "out"
    cmd = [sys.executable, "-m", "stationplan", "coverage", str(path), str(stations),
           "--out", str(out), "--overwrite", "--quiet", *args.extra.split()]
    load_before = os.getloadavg()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # its own children reaped
    user_s = cpu_after.ru_utime - cpu_before.ru_utime
    system_s = cpu_after.ru_stime - cpu_before.ru_stime
    split = split_run(path, stations, work / "out_split")
    timings = json.loads((out / "timings.json").read_text()) if proc.returncode == 0 else {}
    pieces = len(net.edges)
    if (out / "coverage.parquet").exists():  # GeoParquet above the size of --format auto
        import pyarrow.parquet as pq

        pieces = pq.ParquetFile(out / "coverage.parquet").metadata.num_rows
    elif (out / "coverage.geojson").exists():  # one feature a line between two framing lines
        with (out / "coverage.geojson").open(encoding="utf-8") as f:
            pieces = sum(1 for _ in f) - 2
    # the floor as a fresh process, four times: two with this machine's huge-page setting,
    # two without (as the command runs: _process.RUN_SETTINGS; the setting is inherited);
    # then inside this process, twice; the fastest of each counts
    from dataclasses import replace

    from stationplan._process import apply, current

    nan = float("nan")
    fresh, warm = {}, {}
    graph = save_graph(net, args.stations, work)
    for huge in (True, False):
        before = apply(replace(current(), huge_pages=huge))
        name = "as is" if huge else "no huge pages"
        for i in (1, 2):
            fresh[f"{name} {i}"] = fresh_floor(path, graph, pieces, work, 500.0)
        warm[name] = floor(path, graph, pieces, work, 500.0)
        apply(before)
    ff = min(fresh.values(), key=lambda f: f["total_s"])
    fl = min(warm.values(), key=lambda f: f["total_s"])
    # start-up, reading, stations, coverage and gaps: what any writing comes after
    before_writing = wall - timings.get("write_outputs_s", nan)
    startup = wall - timings.get("total_s", nan)  # the interpreter, imports and exit
    # one process until the gaps stage starts its first writer: start-up, reading,
    # stations, coverage; the rest of the processor time at best spread over every core
    cores = os.cpu_count() or 1
    serial = wall - timings.get("gaps_s", nan) - timings.get("write_outputs_s", nan)
    cpu = user_s + system_s
    cpu_after = cpu - serial - split["beside_s"]
    bound = serial + cpu_after / cores
    result = {"machine": machine(), "edges": len(net.edges), "stations": args.stations,
              "command": " ".join(["stationplan", *cmd[3:]]), "exit_code": proc.returncode,
              "stderr": proc.stderr.splitlines()[-10:], "wall_s": wall, "timings": timings,
              "pieces": pieces, "fresh_floor": ff, "fresh_floors": fresh,
              "ratio": wall / ff["total_s"], "floor": fl, "floors": warm,
              "ratio_in_process": wall / fl["total_s"], "before_writing_s": before_writing,
              "user_s": user_s, "system_s": system_s, "serial_s": serial,
              "cpu_after_s": cpu_after, "split": split,
              "cores": cores, "bound_s": bound,
              "outputs": {p.name: p.stat().st_size for p in sorted(out.iterdir())},
              "load_before": load_before, "load_after": os.getloadavg()}

    def t(key: str) -> str:
        return f"{fmt(timings.get(key, nan))} s"

    lines = [
        "# Issue 18: end-to-end coverage against the floor (one run)", "",
        f"`{result['command']}` on {len(net.edges):,} segments, {args.stations:,} stations; "
        f"exit {proc.returncode}.", "",
        "| stage | stationplan (a fresh process) | floor, a fresh process | "
        "floor, inside the benchmark's process |", "|---|---:|---:|---:|",
        f"| start-up (interpreter, imports, exit) | {fmt(startup)} s | "
        f"{fmt(ff['startup_s'])} s (geopandas, SciPy) | - |",
        f"| read the streets | {t('load_network_s')} | {fmt(ff['read_s'])} s | "
        f"{fmt(fl['read_s'])} s (geopandas reads the file) |",
        f"| stations | {t('stations_s')} | - | - |",
        f"| coverage | {t('coverage_s')} | {fmt(ff['dijkstra_s'])} s | "
        f"{fmt(fl['dijkstra_s'])} s (bounded csgraph Dijkstra) |",
        f"| gaps (runs, cross streets) | {t('gaps_s')} | - | - |",
        f"| write the outputs | {t('write_outputs_s')} | {fmt(ff['write_s'])} s | "
        f"{fmt(fl['write_s'])} s (GeoParquet of {pieces:,} pieces) |",
        f"| whole (wall) | {fmt(wall)} s | {fmt(ff['total_s'])} s: "
        f"**{fmt(result['ratio'], 1)}x** (target <= 5x) | {fmt(fl['total_s'])} s: "
        f"{fmt(result['ratio_in_process'], 1)}x |",
        f"| the run before its writing stage (wall less that stage) | {fmt(before_writing)} s "
        f"| {fmt(before_writing / ff['total_s'], 1)}x | "
        f"{fmt(before_writing / fl['total_s'], 1)}x |",
        f"| the fastest this work can end on {cores} cores (see below) | {fmt(bound)} s | "
        f"{fmt(bound / ff['total_s'], 1)}x | {fmt(bound / fl['total_s'], 1)}x |", "",
        f"Processor time of the command: {fmt(cpu)} s (user {fmt(user_s)} s, system "
        f"{fmt(system_s)} s; its forked writers included). Its gaps stage started after "
        f"{fmt(serial)} s, the process alone until then; its other threads spent "
        f"{fmt(split['beside_s'])} s beside the main one by then (measured in the same work "
        f"once more, `_split_process.py`: {fmt(split['cpu_before_gaps_s'])} s of processor "
        f"time in the {fmt(split['before_gaps_s'])} s to its gaps stage; wall "
        f"{fmt(split['wall_s'])} s). That leaves {fmt(cpu_after)} s after it: spread "
        f"perfectly over {cores} cores, {fmt(cpu_after / cores)} s. However the work after "
        f"coverage is spread, the run cannot end before {fmt(bound)} s.", "",
        "Fresh-process floors (the fastest counts): " + ", ".join(
            f"{k} {fmt(v['total_s'])} s" for k, v in fresh.items()), "",
        "In-process floors (the faster counts): " + ", ".join(
            f"{k} {fmt(v['total_s'])} s" for k, v in warm.items()), "",
        "Stage seconds (timings.json): " + ", ".join(f"{k} {fmt(v)}" for k, v in timings.items()),
        "", "Load average (1, 5, 15 min) before / after the run: "
        + " / ".join(", ".join(f"{x:.1f}" for x in la)
                     for la in (load_before, result["load_after"]))
        + f" on {os.cpu_count()} cores (other work on the machine slows both columns).",
        "", "Outputs: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in result["outputs"].items()),
    ]
    if proc.returncode:
        lines += ["", "stderr:", "", *("    " + ln for ln in result["stderr"])]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
