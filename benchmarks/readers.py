"""Station-reader benchmark (issue 9): ``read_stations`` on 1k, 10k and 100k-row CSVs.

Each file holds random points around Helsinki (lon 24.9, lat 60.17) with a Chinese name,
an address, a phone number, opening hours and two service columns, like a real station
list; about 1 % of the rows have a bad coordinate. Each size runs in a fresh process so
that its peak memory (resident set) is its own; it is taken right after the read (the
second column is the process before it: interpreter, imports, the file). The baseline is
plain ``pandas.read_csv`` of the same file in the same process, after the read: the
ratio says how much work the reader does on top of parsing the CSV.

``python benchmarks/readers.py`` (1e3, 1e4, 1e5 rows), ``--sizes 1e3,1e4``,
``--profile 1e5`` (cProfile of one read, top functions by own time).
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
from _common import fmt, peak_rss_gb, run_child

HERE = Path(__file__).resolve()


def station_csv(n: int, path: Path, *, seed: int = 0) -> Path:
    """Write ``n`` random stations around Helsinki as a Chinese-headed CSV."""
    rng = np.random.default_rng(seed)
    lon = 24.9 + rng.normal(0.0, 0.05, n)
    lat = 60.17 + rng.normal(0.0, 0.02, n)
    lon_txt = np.char.mod("%.7f", lon).astype(object)
    lat_txt = np.char.mod("%.7f", lat).astype(object)
    bad = rng.random(n) < 0.01
    lon_txt[bad] = "abc"
    yes = np.where(rng.random(n) < 0.5, "是", "否")
    lines = ["编号,站点名称,地址,经度,纬度,联系电话,开放时间,饮水,座椅"]
    lines += [f"S{i},爱心驿站{i}号,赫尔辛基街{i % 997}号,{lon_txt[i]},{lat_txt[i]},"
              f"0311-{i % 10**8:08d},08:00-22:00,{yes[i]},{yes[-1 - i]}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one(n: int) -> dict:
    """Time one read of an ``n``-row file in this process (after a small warm-up read)."""
    import pandas as pd

    import stationplan as sp

    with tempfile.TemporaryDirectory() as tmp:
        warm = station_csv(50, Path(tmp) / "warm.csv", seed=1)
        sp.read_stations(warm)
        path = station_csv(n, Path(tmp) / "stations.csv")
        before_gb = peak_rss_gb()
        t = time.perf_counter()
        stations = sp.read_stations(path)
        read_s = time.perf_counter() - t
        peak_gb = peak_rss_gb()  # before the baseline, so that this is the reader's peak
        ok = int((stations["status"] == "ok").sum())
        del stations
        t = time.perf_counter()
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        baseline_s = time.perf_counter() - t
    assert len(frame) == n
    return {"rows": n, "read_s": read_s, "pandas_s": baseline_s, "ok": ok,
            "rss_before_gb": before_gb, "peak_rss_gb": peak_gb}


def profile(n: int) -> None:
    """Print the functions with the most own time in one read of an ``n``-row file."""
    import cProfile
    import pstats

    import stationplan as sp

    with tempfile.TemporaryDirectory() as tmp:
        path = station_csv(n, Path(tmp) / "stations.csv")
        sp.read_stations(station_csv(50, Path(tmp) / "warm.csv", seed=1))
        prof = cProfile.Profile()
        prof.runcall(sp.read_stations, path)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e3,1e4,1e5")
    parser.add_argument("--profile", type=float, help="profile one read of this many rows")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one(int(args.child))))
        return
    if args.profile:
        profile(int(args.profile))
        return
    print(f"{'rows':>8} {'read s':>8} {'rows/s':>10} {'pandas s':>9} {'pandas rows/s':>14} "
          f"{'ratio':>6} {'peak RSS GB':>12} {'(before read)':>14}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        r = run_child(HERE, ["--child", str(size)], timeout_s=1800)
        if "error" in r:
            print(f"{size:>8,} {r['error']}")
            continue
        print(f"{size:>8,} {fmt(r['read_s']):>8} {fmt(size / r['read_s']):>10} "
              f"{fmt(r['pandas_s'], 3):>9} {fmt(size / r['pandas_s']):>14} "
              f"{fmt(r['read_s'] / r['pandas_s'], 1):>6} {fmt(r['peak_rss_gb']):>12} "
              f"{fmt(r['rss_before_gb']):>14}")


if __name__ == "__main__":
    main()
