"""The floor of ``floor.py`` as a fresh process, the way the command itself is run.

    python benchmarks/_floor_process.py CENTERLINES GRAPH.npz PIECES OUT.parquet RADIUS_M

Imports what the floor needs (geopandas, SciPy's csgraph), reads the centerline file,
runs the bounded Dijkstra from the stations' junctions and writes a GeoParquet of
``PIECES`` pieces; prints one JSON line of seconds. The parent times the whole process
(interpreter start-up included, as for the command); loading the graph arrays and making
the pieces' table are timed here (``excluded_s``) and taken off, as the in-process floor
does not count them either. Only the standard library is imported before the clock; the
collector is off and the process ends without freeing its objects, as the command ends,
so that the floor is as low as such a process goes.
"""

import time

T0 = time.perf_counter()

import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

gc.disable()  # the floor at its least: no collector passes, no teardown (os._exit below)

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
from scipy.sparse import csr_array  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402


def pieces_table(frame: gpd.GeoDataFrame, pieces: int) -> gpd.GeoDataFrame:
    """As many pieces as the run wrote, with the piece columns' types: the lines of
    ``frame`` repeated (both floors write this table)."""
    reps = -(-pieces // len(frame))
    return gpd.GeoDataFrame(
        {"edge_id": np.arange(pieces), "start_m": 0.0, "end_m": 1.0, "length_m": 1.0,
         "status": "covered", "dist_m": 1.0, "station_id": "s1", "highway": "residential"},
        geometry=np.tile(frame.geometry.to_numpy(), reps)[:pieces], crs=frame.crs)


def graph_and_sources(graph_path: str | os.PathLike) -> tuple[csr_array, np.ndarray]:
    """The street graph (both directions) and the search's sources saved by ``floor.py``
    (both floors search this graph)."""
    with np.load(graph_path) as g:
        u, v, w, n, src = g["u"], g["v"], g["w"], int(g["n"]), g["src"]
    return csr_array((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n)), src


def main() -> None:
    path, graph_path, pieces, out, radius_m = sys.argv[1:6]
    t_imported = time.perf_counter()
    frame = gpd.read_parquet(path)
    t_read = time.perf_counter()
    graph, src = graph_and_sources(graph_path)  # not counted
    t = time.perf_counter()
    excluded = t - t_read
    dijkstra(graph, indices=src, limit=float(radius_m), min_only=True)
    dijkstra_s = time.perf_counter() - t
    t = time.perf_counter()  # the pieces' table: not counted
    table = pieces_table(frame, int(pieces))
    t_write = time.perf_counter()
    excluded += t_write - t
    table.to_parquet(out)
    t_end = time.perf_counter()
    print(json.dumps({"imports_s": t_imported - T0, "read_s": t_read - t_imported,
                      "dijkstra_s": dijkstra_s, "write_s": t_end - t_write,
                      "excluded_s": excluded}), flush=True)
    os._exit(0)  # as the command ends: its objects are not freed one by one


if __name__ == "__main__":
    main()
