"""Reading a planning area out of a large .osm.pbf in bounded memory (run with -m slow).

Synthetic extracts with the same street density but four times the area: reading one
city-sized area from either takes the same memory, so a province-wide file costs time
(one pass over its nodes), not memory.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import osmium
import pytest

pytestmark = pytest.mark.slow

STEP = 0.003  # degrees between grid nodes (~300 m)
AREA = (114.0, 38.0, 114.05, 38.05)
MEASURE = """
import json, resource, sys
import geopandas as gpd, shapely
import stationplan as sp
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
area = gpd.GeoDataFrame(geometry=[shapely.box(*map(float, sys.argv[2:6]))], crs=4326)
net = sp.load_network(sys.argv[1], area=area, margin_m=500, cache_dir=sys.argv[6])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_mb": base / 1024, "peak_mb": peak / 1024, "edges": len(net.edges)}))
"""


def write_grid(path, n_side):
    """A jittered grid of highway ways from (113, 37), 10 nodes per way."""
    meta = {"version": 1, "changeset": 1, "uid": 1, "user": "", "timestamp": "2024-01-01T00:00:00Z"}
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for i in range(n_side):
            jit = np.random.default_rng(i).normal(0, STEP * 0.05, (n_side, 2))  # same per row
            for j in range(n_side):
                loc = (113.0 + j * STEP + jit[j, 0], 37.0 + i * STEP + jit[j, 1])
                w.add_node(osmium.osm.mutable.Node(id=i * n_side + j + 1, location=loc, **meta))
        wid = 1
        for along_rows in (True, False):
            for i in range(n_side):
                for j0 in range(0, n_side - 1, 9):
                    js = range(j0, min(j0 + 10, n_side))
                    refs = [i * n_side + j + 1 if along_rows else j * n_side + i + 1 for j in js]
                    w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags={
                        "highway": "residential"}, **meta))
                    wid += 1
    return path


def _measure(path, tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), *map(str, AREA), str(tmp_path / "cache")],
        capture_output=True, text=True, check=True, timeout=900,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_reading_an_area_takes_memory_for_the_area_not_the_file(tmp_path):
    small = _measure(write_grid(tmp_path / "small.osm.pbf", 700), tmp_path)
    big = _measure(write_grid(tmp_path / "big.osm.pbf", 1400), tmp_path)
    assert big["edges"] == small["edges"] > 500
    grown = (big["peak_mb"] - big["base_mb"]) - (small["peak_mb"] - small["base_mb"])
    assert grown < 25, (small, big)
