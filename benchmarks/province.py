"""Issue 18: a synthetic province partitioned into grid units and covered unit by unit,
with the serial scheduler and a 2-worker Dask LocalCluster, measured in one run.

Steps, each timed: in a child process, build the synthetic province
(``stationplan._synthetic``, a perturbed street grid in UTM 50N) and its random stations
and ``batch.partition`` it into square grid tiles with a 700 m halo (the units' extracts
written to disk; that process's peak memory); then in this process, which never holds the
province, ``batch.read_units(lazy=True)`` (``units.csv`` only: each task
loads its own extract); then ``batch_coverage_extracts`` on the units with
``scheduler="serial"`` and with a ``LocalCluster`` of ``--workers`` processes (started
before the clock runs; its start-up is timed apart), in turn, ``--pairs`` times each,
writing every output (league, GeoParquet pieces and gaps, province map), each run starting
from a flushed disk (``os.sync``). Each task writes its unit's output parts; the main
process stitches them. A serial run is then repeated with ``resume=True`` (every unit
reused: loaded, hashed, its stored parts stitched). The worker processes' resident memory
is sampled every 0.2 s with psutil; the peak of each is reported. Every run's output files
are compared byte for byte. The speed-up reported is the lowest pair's.

Targets (issue 18): speed-up serial / local >= 1.7x on 2 cores; peak memory per worker
< 3 GB, at >= 5x10^6 segments in >= 50 units with 10^4 stations.

    python benchmarks/province.py                      # full size: 5e6 segments, 50+ units
    python benchmarks/province.py --quick              # 2e5 segments, 6 units: a smoke run
    python benchmarks/province.py --edges 1e6 --units 16 --stations 2000 \\
        --out benchmarks/results/province_1e6.md
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, fmt, machine, random_stations_csv


def rss_gb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e9


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


class Sampler:
    """Peak resident memory of some processes, sampled every ``every_s`` in a thread."""

    def __init__(self, pids: list[int], every_s: float = 0.2) -> None:
        import psutil

        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self.every_s = every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            for pid, proc in self.procs.items():
                with contextlib.suppress(Exception):  # a worker gone: keep what was seen
                    self.peak[pid] = max(self.peak[pid], proc.memory_info().rss)
            self.stop.wait(self.every_s)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def warm_up() -> int:
    """One small batch through every step of a unit's task (the engine, the output parts:
    GeoParquet and CSV writers) and the stitching, so that a worker has loaded the compiled
    kernels (numba's cache) and the writers' modules before the clock runs, as the serial
    run has."""
    import tempfile

    import geopandas as gpd
    import shapely

    from stationplan import batch
    from stationplan._synthetic import synthetic_city
    from stationplan.coverage import CoverageRule

    net = synthetic_city(500, seed=0)
    x0, y0, x1, y1 = net.edges.total_bounds
    pts = gpd.GeoDataFrame({"station_id": ["w"], "status": ["ok"]},
                           geometry=[shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)],
                           crs=net.crs)
    units = batch.grid_units(net, km=max(x1 - x0, y1 - y0) / 2000 + 0.01)
    with tempfile.TemporaryDirectory() as tmp:
        res = batch.batch_coverage(net, pts, units, rule=CoverageRule(
            radius_m=300.0, max_minutes=None), max_snap_m=100.0, out=tmp, scheduler="serial")
        return len(res.pieces)  # read from the run's folder


def warm_units(units: list, stations: Any, common: dict) -> None:
    """A serial batch of ``units`` (real extracts) into a folder thrown away."""
    import tempfile

    from stationplan import batch

    with tempfile.TemporaryDirectory() as tmp:
        batch.batch_coverage_extracts(units, stations, out=tmp, scheduler="serial", **common)


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every output file but the per-unit cache, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "units"}


def prepare(args: argparse.Namespace, work: Path) -> dict:
    """Build the province and its stations, partition it; the figures as a dict."""
    import shutil

    from stationplan import batch
    from stationplan._synthetic import synthetic_city
    from stationplan.halo import required_halo_m

    times: dict[str, float] = {}
    mem: dict[str, float] = {"start_rss_gb": rss_gb()}
    t = time.perf_counter()
    net = synthetic_city(int(args.edges), seed=0)
    times["build_network_s"] = time.perf_counter() - t
    mem["network_rss_gb"] = rss_gb()
    path = random_stations_csv(net, args.stations, work / f"stations_{args.stations}.csv",
                               seed=1)
    halo_m = required_halo_m(reach_m=args.radius_m, max_snap_m=args.max_snap_m)
    x0, y0, x1, y1 = net.edges.total_bounds
    km = math.sqrt((x1 - x0) * (y1 - y0) / args.units) / 1000
    units = batch.grid_units(net, km=km)
    while len(units) < args.units:  # tiles over the corners may hold no street
        km *= 0.95
        units = batch.grid_units(net, km=km)
    n_edges, street_km = len(net.edges), float(net.edges["length_m"].sum()) / 1000
    folder = work / "units"
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    table = batch.partition(net, units, folder, halo_m=halo_m)
    times["partition_s"] = time.perf_counter() - t
    mem["partition_peak_gb"] = peak_gb()
    return {"edges": n_edges, "street_km": street_km, "units": len(units), "tile_km": km,
            "halo_m": halo_m, "stations_path": str(path),
            "extracts_mb": sum(p.stat().st_size
                               for p in (folder / "extracts").iterdir()) / 1e6,
            "unit_edges": {"min": int(table["edges"].min()), "max": int(table["edges"].max()),
                           "sum": int(table["edges"].sum())},
            "times": times, "memory": mem}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edges", type=float, default=5e6, help="street segments (default 5e6)")
    ap.add_argument("--units", type=int, default=50,
                    help="at least this many grid units (default 50)")
    ap.add_argument("--stations", type=int, default=10_000, help="stations (default 10,000)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster workers (default 2)")
    ap.add_argument("--pairs", type=int, default=2,
                    help="serial and cluster runs, in turn (default 2 of each)")
    ap.add_argument("--radius-m", type=float, default=500.0)
    ap.add_argument("--max-snap-m", type=float, default=100.0)
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 2e5 segments, 6 units, 400 stations")
    ap.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--partition-only", action="store_true",
                    help="stop after partitioning and reading the extracts back (prints JSON)")
    ap.add_argument("--work", default="/tmp/stationplan-province")
    ap.add_argument("--out", default=None,
                    help="results Markdown (JSON beside it); default results/province.md, "
                         "results/province_quick.md with --quick")
    args = ap.parse_args()
    if args.quick:
        args.edges, args.units, args.stations = 2e5, 6, 400
    out_md = Path(args.out) if args.out else RESULTS / (
        "province_quick.md" if args.quick else "province.md")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    import shutil

    from stationplan import batch
    from stationplan.coverage import CoverageRule
    from stationplan.stations import read_stations

    if args.prepare_only:  # the child process: build and partition, print the figures
        print(json.dumps(prepare(args, work)))
        return
    # the province is built and partitioned in a child process, so that this one, which
    # times the runs, holds none of it (a serial run in a process holding millions of
    # objects spends longer in the garbage collector: the speed-up would look better)
    child = subprocess.run([sys.executable, __file__, "--prepare-only", *sys.argv[1:]],
                           check=True, capture_output=True, text=True)
    prep = json.loads(child.stdout.strip().splitlines()[-1])
    times, mem = prep["times"], prep["memory"]
    n_edges, street_km, km = prep["edges"], prep["street_km"], prep["tile_km"]
    n_units, extract_mb, unit_edges = prep["units"], prep["extracts_mb"], prep["unit_edges"]
    halo_m = prep["halo_m"]
    rule = CoverageRule(radius_m=args.radius_m, max_minutes=None)
    stations = read_stations(prep["stations_path"])
    warm_up()  # the serial run starts warm, like the workers
    importlib.import_module("stationplan._render.province")  # the map (3 s to import)
    t = time.perf_counter()
    extracts = batch.read_units(work / "units", lazy=True)
    times["read_units_s"] = time.perf_counter() - t
    mem["extracts_rss_gb"] = rss_gb()
    if args.partition_only:
        print(json.dumps(prep))
        return

    from dask.distributed import Client

    common = {"rule": rule, "max_snap_m": args.max_snap_m}
    t = time.perf_counter()
    cluster = batch.local_cluster(args.workers)  # as ``--scheduler local`` makes it
    client = Client(cluster)
    times["cluster_start_s"] = time.perf_counter() - t
    # every process warms up on the two smallest real units too (the first serial run
    # was 9 s slower than the next, paying for what the small warm-up does not touch)
    small = sorted(extracts, key=lambda x: x.path.stat().st_size)[:2]
    warm_units(small, stations, common)
    t = time.perf_counter()
    client.run(warm_up)
    client.run(warm_units, small, stations, common)
    times["worker_warm_up_s"] = time.perf_counter() - t
    pids = list(client.run(os.getpid).values())
    pairs: list[dict] = []
    digests = []
    try:
        for r in range(args.pairs):  # serial then cluster, each from a flushed disk
            pair: dict[str, dict] = {}
            for mode in ("serial", "local"):
                out = work / f"out-{mode}-{r}"
                shutil.rmtree(out, ignore_errors=True)
                os.sync()  # the last run's files are on disk: no write-back during this one
                sampler = Sampler(pids) if mode == "local" else contextlib.nullcontext()
                with sampler:
                    load0 = os.getloadavg()[0]
                    t = time.perf_counter()
                    res = batch.batch_coverage_extracts(
                        extracts, stations, out=out,
                        scheduler="serial" if mode == "serial" else client, **common)
                    wall = time.perf_counter() - t
                pair[mode] = {"wall_s": wall, "failed": len(res.failed),
                              "main_peak_gb": peak_gb(),
                              "load_1min": [load0, os.getloadavg()[0]]}
                if mode == "local":
                    pair[mode]["worker_peak_gb"] = [v / 1e9 for v in sampler.peak.values()]
                digests.append(digest(out))
            pair["speedup"] = pair["serial"]["wall_s"] / pair["local"]["wall_s"]
            pairs.append(pair)
    finally:
        client.close()
        cluster.close()
    league = res.league
    # every unit reused: each loaded and hashed again, its stored parts stitched
    os.sync()
    t = time.perf_counter()
    batch.batch_coverage_extracts(extracts, stations, out=work / "out-serial-0",
                                  scheduler="serial", resume=True, **common)
    times["resume_all_reused_s"] = time.perf_counter() - t
    same = all(d == digests[0] for d in digests)
    speedup = min(p["speedup"] for p in pairs)
    worst = max(v for p in pairs for v in p["local"]["worker_peak_gb"])
    total = league.iloc[-1]
    pieces = len(res.pieces)
    result = {
        "machine": machine(), "edges": n_edges, "street_km": street_km,
        "units": n_units, "tile_km": km, "stations": args.stations,
        "workers": args.workers, "halo_m": halo_m, "radius_m": args.radius_m,
        "max_snap_m": args.max_snap_m, "pieces": pieces,
        "unit_edges": unit_edges,
        "extracts_mb": extract_mb, "times": times, "memory": mem, "pairs": pairs,
        "speedup": speedup, "worst_worker_peak_gb": worst,
        "byte_identical": same,
        "covered_km": float(total["covered_km"]), "demand_km": float(total["demand_km"]),
        "covered_share": float(total["covered_share"]),
        "cross_border_km": float(total["cross_border_km"]),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    halo_share = result["unit_edges"]["sum"] / n_edges
    lines = [
        "# Issue 18: a synthetic province, batch coverage by units (one run)", "",
        f"`{result['command']}`", "",
        f"{n_edges:,} street segments ({street_km:,.0f} km), {n_units} grid units of "
        f"{km:.2f} km, {args.stations:,} stations, reach {args.radius_m:g} m, snap "
        f"{args.max_snap_m:g} m, halo {halo_m:g} m; {pieces:,} pieces. Machine: "
        f"{result['machine']['cores']} cores ({result['machine']['cpu']}).", "",
        "| step | time | memory |", "|---|---:|---:|",
        f"| build the province (synthetic) | {fmt(times['build_network_s'])} s | "
        f"{fmt(mem['network_rss_gb'])} GB resident |",
        f"| partition ({n_units} extracts, {extract_mb:,.0f} MB) | "
        f"{fmt(times['partition_s'])} s | {fmt(mem['partition_peak_gb'])} GB peak (its process) |",
        f"| read units.csv (lazy: tasks load their extracts) | "
        f"{fmt(times['read_units_s'])} s | {fmt(mem['extracts_rss_gb'])} GB resident |",
        f"| LocalCluster start ({args.workers} workers), then a warm-up on each (a small "
        "city, then the two smallest units; this process too) | "
        f"{fmt(times['cluster_start_s'])} s + {fmt(times['worker_warm_up_s'])} s | |",
        *[line for r, p in enumerate(pairs) for line in (
            f"| pair {r + 1}: batch, serial scheduler | {fmt(p['serial']['wall_s'])} s | "
            f"{fmt(p['serial']['main_peak_gb'])} GB peak (main) |",
            f"| pair {r + 1}: batch, LocalCluster | {fmt(p['local']['wall_s'])} s | workers' "
            "peaks " + ", ".join(f"{fmt(v)}" for v in p["local"]["worker_peak_gb"])
            + f" GB; main {fmt(p['local']['main_peak_gb'])} GB peak |")],
        f"| serial again with resume (every unit reused) | "
        f"{fmt(times['resume_all_reused_s'])} s | |",
        "",
        f"- speed-up serial / local, the lowest of {len(pairs)} pairs: **{speedup:.2f}x** "
        "(target >= 1.7x on 2 cores); each pair: "
        + ", ".join(f"{p['speedup']:.2f}x" for p in pairs),
        f"- peak memory per worker: **{worst:.2f} GB** (target < 3 GB)",
        "- load average (1 min) at the start and end of each run: " + "; ".join(
            "pair {}: serial {:.1f} / {:.1f}, LocalCluster {:.1f} / {:.1f}".format(
                r + 1, *p["serial"]["load_1min"], *p["local"]["load_1min"])
            for r, p in enumerate(pairs))
        + " (2 cores: above about 1 for serial and 2 for the cluster, other processes took "
        "CPU)",
        f"- outputs byte-identical between all {len(digests)} runs: **{same}**",
        f"- units' extracts hold {halo_share:.2f}x the province's segments (the halos)",
        f"- covered {result['covered_km']:,.1f} of {result['demand_km']:,.1f} km "
        f"({100 * result['covered_share']:.1f} %), {result['cross_border_km']:,.1f} km "
        "across unit borders",
        "",
        "Both batch times include writing every output: each task loads its unit's extract "
        "from the partition folder and writes the unit's parts (its rows of pieces.csv, its "
        "GeoParquet pieces and gaps); the main process reads units.csv, sends the stations "
        "once to each worker, stitches the parts (pieces.csv concatenated, the GeoParquet "
        "files linked into pieces/ and gaps/) and writes the league and the province map. "
        "The main peak is the main process's peak since the script started. Cluster start-up "
        "and the warm-up (each worker loading the compiled kernels once, about as long as "
        "the serial run spends on it before its clock starts) are not in the batch time. "
        "The runs go serial, cluster, serial, cluster ...; before each, the files of the "
        "last are flushed to disk (os.sync), so that no run pays for another's write-back "
        "(a run writes about 1.5 GB at 5x10^6 segments).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out_md.write_text(text, encoding="utf-8")
    out_md.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str))
    if not same:
        sys.exit("outputs differ between the serial and the LocalCluster run")


if __name__ == "__main__":
    main()
