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


def test_files_written_by_a_forked_child_are_the_files_written_here(tmp_path, monkeypatch,
                                                                      hand_stations_csv):
    """Above FORK_ABOVE_PIECES street pieces a child process writes the tables and the PNG
    (with the command line's progress bars on: they start no thread that would keep the
    run from forking); the same run written in this process gives the same bytes,
    GeoParquet included."""
    import os

    from stationplan import outputs

    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    args = ["coverage", str(net), str(hand_stations_csv), "--format", "parquet"]
    monkeypatch.setattr(outputs, "FORK_ABOVE_PIECES", 10**9)
    here = _run(tmp_path, "here", args)
    writers = tmp_path / "writers"
    write = outputs._write_tables_and_png

    def noted(*a, **k):
        with writers.open("a") as f:
            f.write(f"{os.getpid()}\n")
        return write(*a, **k)

    monkeypatch.setattr(outputs, "FORK_ABOVE_PIECES", 0)
    monkeypatch.setattr(outputs, "_write_tables_and_png", noted)
    child = _run(tmp_path, "child", args, quiet=False)
    assert writers.read_text().split() != [str(os.getpid())]  # written by another process
    assert {"coverage.parquet", "gaps.parquet", "coverage_map.png"} <= set(here)
    assert child == here
