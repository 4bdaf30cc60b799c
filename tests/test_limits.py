"""The memory guard (``_limits``) through the command line, and the map skipped when huge."""

from __future__ import annotations

import re

import osmnx as ox
import pytest
from handnet import hand_graph

from stationplan import _limits, outputs
from stationplan._errors import ResourceError
from stationplan.cli import main


@pytest.fixture
def hand_files(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    return net, hand_stations_csv


def _memory(monkeypatch, nbytes):
    monkeypatch.setattr(_limits, "available_memory", lambda: nbytes)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_coverage_refused_with_exit_5_and_one_line(tmp_path, hand_files, capsys, monkeypatch):
    net, stations = hand_files
    _memory(monkeypatch, 50_000_000)
    out = tmp_path / "out"
    assert main(["coverage", str(net), str(stations), "--out", str(out), "--quiet"]) == 5
    line = _error_line(capsys)
    assert re.fullmatch(r"stationplan: error: coverage of 10 street segments and 5 stations "
                        r"needs about \d+ MB of memory, but only 50 MB is available; .*", line)
    assert "--area" in line and "more memory" in line
    assert not (out / "summary.json").exists()  # refused before any output


def test_plan_refused_before_siting(tmp_path, hand_files, capsys, monkeypatch):
    net, stations = hand_files
    _memory(monkeypatch, 50_000_000)
    out = tmp_path / "out"
    assert main(["plan", str(net), str(stations), "--out", str(out), "--quiet",
                 "--candidates", "streets", "--new-sites", "1"]) == 5
    line = _error_line(capsys)
    assert "siting of" in line and "candidates" in line and "--candidate-spacing-m" in line


def test_plan_falls_back_to_units_and_says_so(tmp_path, hand_files, capsys, monkeypatch):
    """When the exact model would not fit but midpoint units do, the plan uses units, says
    so on the terminal and in plan_summary.json, and its shares are still the engine's."""
    import json

    net, stations = hand_files
    _memory(monkeypatch, 2_000_000_000)
    monkeypatch.setattr(_limits, "exact_sizes", lambda *a, **k: (10**9, 10**8))
    out = tmp_path / "out"
    assert main(["plan", str(net), str(stations), "--out", str(out),
                 "--candidates", "streets", "--new-sites", "1"]) == 0
    captured = capsys.readouterr()
    assert "using street units of 25 m instead" in captured.err
    assert "on street units of 25 m, as the exact model did not fit in memory" in captured.out
    plan = json.loads((out / "plan_summary.json").read_text(encoding="utf-8"))
    after = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert plan["model"]["kind"] == "units"
    assert plan["coverage_after"] == after["covered_share"]
    assert plan["covered_m_after"] == after["covered_m"]


@pytest.mark.parametrize("available", [10**12, None])
def test_ample_or_unknown_memory_runs(tmp_path, hand_files, capsys, monkeypatch, available):
    net, stations = hand_files
    _memory(monkeypatch, available)
    out = tmp_path / "out"
    assert main(["coverage", str(net), str(stations), "--out", str(out), "--quiet"]) == 0
    assert (out / "summary.json").exists()
    assert capsys.readouterr().err == ""


def test_resource_error_is_a_memory_error():
    assert issubclass(ResourceError, MemoryError)
    assert ResourceError.exit_code == 5


def test_available_memory_reads_meminfo_and_cgroup(tmp_path, monkeypatch):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 24000000 kB\nMemAvailable: 2000000 kB\n")
    monkeypatch.setattr(_limits, "_MEMINFO", meminfo)
    monkeypatch.setattr(_limits, "_CGROUP", tmp_path / "no-cgroup")
    assert _limits.available_memory() == 2_048_000_000
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "memory.max").write_text("1500000000\n")
    (cgroup / "memory.current").write_text("500000000\n")
    monkeypatch.setattr(_limits, "_CGROUP", cgroup)
    assert _limits.available_memory() == 1_000_000_000  # the container's limit binds
    (cgroup / "memory.max").write_text("max\n")
    assert _limits.available_memory() == 2_048_000_000


def test_estimates_do_not_refuse_the_measured_cases():
    # benchmarks/results/limits.md: 10^6 segments with 2,500 stations and 100,000 stations
    # on Helsinki ran end to end; a 24 GB machine has about 21 GB available.
    assert _limits.coverage_bytes(1_006_665, 2_500) < 8e9
    assert _limits.coverage_bytes(4_205, 100_000) < 8e9


def test_huge_map_is_skipped_with_a_warning(tmp_path, hand_files, capsys, monkeypatch):
    net, stations = hand_files
    full = tmp_path / "full"
    assert main(["coverage", str(net), str(stations), "--out", str(full), "--quiet"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(outputs, "MAP_MAX_PIECES", 3)
    out = tmp_path / "out"
    assert main(["coverage", str(net), str(stations), "--out", str(out), "--quiet"]) == 0
    std = capsys.readouterr()
    assert "coverage map skipped" in std.err and "more than 3" in std.err
    assert "map skipped" in std.out
    assert not (out / "coverage_map.html").exists()
    # summary.json does not depend on whether the map was drawn.
    assert (out / "summary.json").read_bytes() == (full / "summary.json").read_bytes()
