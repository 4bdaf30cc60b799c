"""Same inputs, byte-identical outputs (only timings.json may differ)."""

from __future__ import annotations

import osmnx as ox
from handnet import hand_graph

from stationplan.cli import main


def _run(tmp_path, name, args):
    out = tmp_path / name
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "timings.json"}


def test_coverage_and_plan_outputs_are_byte_identical(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    for cmd in (["coverage"], ["plan", "--candidates", "streets", "--new-sites", "2"]):
        args = [cmd[0], str(net), str(hand_stations_csv), *cmd[1:], "--serve", "all"]
        first = _run(tmp_path, f"{cmd[0]}-1", args)
        second = _run(tmp_path, f"{cmd[0]}-2", args)
        assert first.keys() == second.keys()
        assert "summary.json" in first
        for name in first:
            assert first[name] == second[name], f"{cmd[0]}: {name} differs between runs"
