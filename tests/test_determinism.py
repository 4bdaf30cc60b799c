"""Same inputs, byte-identical outputs, every file of every command (only timings.json
may differ)."""

from __future__ import annotations

import time

import osmnx as ox
from handnet import hand_graph

from stationplan.cli import main


def _run(tmp_path, name, args, *, quiet=True):
    out = tmp_path / name
    assert main([*args, "--out", str(out), *(["--quiet"] if quiet else [])]) == 0
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "timings.json"}


def test_every_run_output_is_byte_identical(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    commands = (["coverage"], ["plan", "--candidates", "streets", "--new-sites", "2"],
                ["check", str(hand_stations_csv)],
                ["report", "--proposals", str(hand_stations_csv)])
    for cmd in commands:
        args = [cmd[0], str(net), str(hand_stations_csv), *cmd[1:], "--serve", "all"]
        first = _run(tmp_path, f"{cmd[0]}-1", args)
        second = _run(tmp_path, f"{cmd[0]}-2", args)
        assert first.keys() == second.keys()
        assert "summary.json" in first or "check_summary.json" in first
        for name in first:
            assert first[name] == second[name], f"{cmd[0]}: {name} differs between runs"


def test_network_geopackage_is_byte_identical(tmp_path):
    """GDAL stamps GeoPackage tables with the time of writing; two runs a second apart
    must still give the same bytes."""
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    first = _run(tmp_path, "n-1", ["network", str(net)])
    time.sleep(1.1)
    second = _run(tmp_path, "n-2", ["network", str(net)])
    assert set(first) == {"network.gpkg", "network_summary.json"}
    assert first == second


def test_files_written_by_a_forked_child_are_the_files_written_here(tmp_path,
                                                                      hand_stations_csv):
    """Above FORK_ABOVE_PIECES street pieces forked children write tables and the PNG
    (with the command line's progress bars on: they start no thread that would keep the
    run from forking); the same run written in its own process gives the same bytes,
    GeoParquet included. Each run is a fresh interpreter, as a command is: a child is
    forked only from a process running one Python thread, and this session runs others."""
    from test_forked import fresh_python

    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    args = ["coverage", str(net), str(hand_stations_csv), "--format", "parquet"]
    outs = {}
    for name, above in (("here", 10**9), ("children", 0)):
        outs[name] = tmp_path / name
        writers = tmp_path / f"{name}.pids"
        printed = fresh_python(f"""
            import os
            from stationplan import outputs
            from stationplan.cli import main

            outputs.FORK_ABOVE_PIECES = {above}
            for writer in ("_write_layers", "_write_png"):
                def noted(*a, _write=getattr(outputs, writer), _name=writer, **k):
                    with open({str(writers)!r}, "a") as f:
                        print(_name, os.getpid(), file=f)
                    return _write(*a, **k)
                setattr(outputs, writer, noted)
            code = main({[*args, "--out", str(outs[name])]!r})
            print(code, os.getpid())
            """, tmp_path)
        code, pid = printed.split()[-2:]
        assert code == "0"
        calls = [line.split() for line in writers.read_text().splitlines()]
        pids = {p for _, p in calls}
        png = {p for w, p in calls if w == "_write_png"}
        # in the run's process, or in two children: the pieces' writer, which draws the
        # PNG too, and the gap runs', which writes their gap areas' table too
        assert pids == {pid} if name == "here" else (
            len(pids) == 2 and pid not in pids and len(png) == 1)
    here, children = ({p.name: p.read_bytes() for p in sorted(outs[n].iterdir())
                       if p.name != "timings.json"} for n in ("here", "children"))
    assert {"coverage.parquet", "gaps.parquet", "coverage_map.png"} <= set(here)
    assert children == here
