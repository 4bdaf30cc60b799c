"""The command line, in-process through main(argv), plus one subprocess smoke test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import osmnx as ox
import pytest
from handnet import hand_graph

from stationplan.cli import main


@pytest.fixture
def hand_files(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    return net, hand_stations_csv


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_coverage_command_writes_every_output(tmp_path, hand_files, capsys):
    net, stations = hand_files
    out = tmp_path / "out dir 输出"  # spaces and Chinese in paths
    assert main(["coverage", str(net), str(stations), "--out", str(out), "--quiet"]) == 0
    assert "coverage_map.html" in capsys.readouterr().out

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["total_m"] == pytest.approx(5100, abs=1e-3)
    assert summary["covered_m"] == pytest.approx(3500, abs=1e-2)
    assert summary["gap_m"] == pytest.approx(1600, abs=1e-2)
    assert summary["covered_share"] == pytest.approx(3500 / 5100, abs=1e-5)
    assert (summary["gap_runs"], summary["gap_areas"]) == (4, 4)
    assert (summary["stations_read"], summary["stations_used"],
            summary["stations_rejected"]) == (7, 5, 2)
    assert summary["rule"]["limit_m"] == 500
    assert summary["mode"] == "walk"
    assert summary["by_road_class"]["tertiary"] == {"total_m": 700.0, "covered_m": 0.0,
                                                   "covered_share": 0.0}
    catch = {s["name"]: s["catchment_m"] for s in summary["stations"]}
    assert catch == pytest.approx({"S1": 1000, "S2": 600, "S3": 1000, "S4": 300, "S5": 0,
                                   "S6": 600, "S7": 0}, abs=1e-2)

    pieces = _features(out / "coverage.geojson")
    assert sum(f["properties"]["length_m"] for f in pieces) == pytest.approx(5100, abs=1e-2)
    assert {f["properties"]["status"] for f in pieces} == {"covered", "gap"}
    assert all(f["geometry"]["type"] == "LineString" for f in pieces)
    lon, lat = pieces[0]["geometry"]["coordinates"][0]
    assert 116 < lon < 118 and 39 < lat < 40  # WGS-84 lon, lat order
    assert {"dist_m", "station_id", "osmid", "highway"} <= set(pieces[0]["properties"])

    stations = _features(out / "stations.geojson")
    assert [f["properties"]["name"] for f in stations] == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    assert [f["properties"]["status"] for f in stations].count("ok") == 5
    assert stations[6]["geometry"] is None  # the invalid row is still there
    gaps = _features(out / "gaps.geojson")
    assert [round(f["properties"]["length_m"]) for f in gaps] == [700, 600, 150, 150]

    html = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert "stationplan-legend" in html
    # Markers: 5 stations + the rejected one that has a position.
    assert len(re.findall(r'"(?:station|rejected)-\d+"', html)) == 6
    assert (out / "coverage_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_outputs_are_not_clobbered(tmp_path, hand_files, capsys):
    net, stations = hand_files
    args = ["coverage", str(net), str(stations), "--out", str(tmp_path / "o"), "--quiet"]
    assert main(args) == 0
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--overwrite" in err[0]
    assert main([*args, "--overwrite"]) == 0


@pytest.mark.parametrize(
    ("make", "code", "words"),
    [
        (lambda p: p / "missing.osm", 3, "not found"),
        (lambda p: (p / "x.dwg").write_text("x") and p / "x.dwg", 2, "unknown network file type"),
        (lambda p: (p / "x.graphml").write_text("<graphml><graph") and p / "x.graphml", 2,
         "x.graphml: cannot read it as GraphML (unclosed token: line 1, column 9); save the "
         "graph again with osmnx.save_graphml"),
    ],
)
def test_bad_network_gives_one_line_error(tmp_path, hand_files, capsys, make, code, words):
    _, stations = hand_files
    out = str(tmp_path / "o")
    assert main(["coverage", str(make(tmp_path)), str(stations), "--out", out]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("stationplan: error:")
    assert words in err[0]


def test_graphml_with_control_characters_is_read_with_a_warning(tmp_path, hand_stations_csv,
                                                                capsys):
    g = hand_graph()
    for u, v, k in g.edges(keys=True):
        g.edges[u, v, k]["name"] = "街\x01道"  # osmnx writes it; XML parsers refuse it
    net = tmp_path / "names.graphml"
    ox.save_graphml(g, net)
    out = tmp_path / "o"
    assert main(["coverage", str(net), str(hand_stations_csv), "--out", str(out)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1
    assert "names.graphml: dropped 20 control characters that XML does not allow" in warnings[0]
    names = {f["properties"]["name"] for f in _features(out / "coverage.geojson")}
    assert names == {"街道"}


def test_bad_station_file_gives_one_line_error(tmp_path, hand_files, capsys):
    net, _ = hand_files
    bad = tmp_path / "bad.csv"
    bad.write_text("name,address\na,b\n", encoding="utf-8")
    assert main(["coverage", str(net), str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("stationplan: error:")]
    assert len(errors) == 1
    assert "bad.csv" in errors[0]
    assert "Traceback" not in err


def test_time_and_distance_options(tmp_path, hand_files):
    net, stations = hand_files
    out = tmp_path / "o"
    assert main(["coverage", str(net), str(stations), "--out", str(out), "--quiet",
                 "--radius-m", "800", "--max-minutes", "3", "--speed-kmh", "6"]) == 0
    rule = json.loads((out / "summary.json").read_text(encoding="utf-8"))["rule"]
    assert rule["limit_m"] == 300
    assert rule["binding"] == "time"


def test_demo_runs_as_installed_command(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "stationplan", "demo", "--out", str(out), "--quiet"],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "coverage_map.html" in proc.stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert 0.2 < summary["covered_share"] < 0.9  # the demo leaves visible gaps
    assert summary["stations_used"] == summary["stations_read"]


def test_a_run_collects_garbage_less_often_and_restores_the_setting(tmp_path, hand_files,
                                                                   monkeypatch):
    # a large run keeps millions of objects alive; the default thresholds rescanned them
    # for a tenth of a 10^6-segment run. Arrow's mimalloc fetched fresh memory for large
    # text columns (up to a second each). Huge pages made every fresh array's first touch
    # zero 2 MiB at a time. The settings are the command's, not left behind.
    import gc

    import pyarrow as pa

    import stationplan.pipeline as pipeline
    from stationplan._process import ARROW_ALLOCATOR, GC_THRESHOLDS

    def huge_pages() -> str | None:  # the kernel's own word (Linux): "1" allowed, "0" not
        status = Path("/proc/self/status")
        lines = status.read_text().splitlines() if status.exists() else []
        return next((line.split()[1] for line in lines if line.startswith("THP_enabled:")),
                    None)

    seen = []
    real = pipeline.run_coverage

    def spy(*args, **kwargs):
        seen.append((gc.get_threshold(), pa.default_memory_pool().backend_name, huge_pages()))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_coverage", spy)
    before = (gc.get_threshold(), pa.default_memory_pool().backend_name, huge_pages())
    net, st = hand_files
    assert main(["coverage", str(net), str(st), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    pool = (ARROW_ALLOCATOR if ARROW_ALLOCATOR in pa.supported_memory_backends()
            else before[1])
    assert seen == [(GC_THRESHOLDS, pool, None if before[2] is None else "0")]
    assert seen[0][0] != before[0]
    assert (gc.get_threshold(), pa.default_memory_pool().backend_name, huge_pages()) == before


def test_the_command_leaves_at_once_with_every_line_and_file_written(tmp_path, hand_files):
    # main_entry ends the process without tearing down the run's objects; what was
    # printed (block-buffered into a file here) and every output must be there
    import os

    net, st = hand_files
    out = tmp_path / "o"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered
    with (tmp_path / "stdout.txt").open("w") as so, (tmp_path / "stderr.txt").open("w") as se:
        code = subprocess.run([sys.executable, "-m", "stationplan", "coverage", str(net),
                               str(st), "--out", str(out)], stdout=so, stderr=se,
                              env=env, timeout=300).returncode
    assert code == 0
    printed = (tmp_path / "stdout.txt").read_text()
    assert printed.endswith("coverage_map.html\n") and str(out) in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["covered_m"] == pytest.approx(3500, abs=1e-2)  # the hand network's
    assert {"coverage.geojson", "gaps.geojson", "coverage_map.png"} <= {
        p.name for p in out.iterdir()}
    with (tmp_path / "stderr2.txt").open("w") as se:
        code = subprocess.run([sys.executable, "-m", "stationplan", "coverage", str(net),
                               str(st), "--out", str(out)], stdout=subprocess.DEVNULL,
                              stderr=se, env=env, timeout=300).returncode
    assert code == 2  # the outputs exist: a clear one-line error, flushed too
    assert (tmp_path / "stderr2.txt").read_text().startswith("stationplan: ")


def _raises_from_a_compiled_routine(interrupted: bool):
    """A command whose compiled routine returns with an exception set: Python's SystemError,
    caused by the Ctrl-C pressed meanwhile (as numba's dispatcher reports it) or by a bug."""
    def run(args):
        try:
            raise KeyboardInterrupt if interrupted else ValueError("a bug")
        except (KeyboardInterrupt, ValueError) as exc:
            raise SystemError("CPUDispatcher(<function nearest_source>) returned a result "
                              "with an exception set") from exc
    return run


def test_ctrl_c_inside_a_compiled_routine_is_an_interruption(capsys):
    import argparse

    from stationplan import cli

    args = argparse.Namespace(func=_raises_from_a_compiled_routine(True), debug=False,
                              lang="en", command="coverage")
    assert cli._run(args) == 130
    assert capsys.readouterr().err == ("stationplan: interrupted; nothing was half-written "
                                       "(an output folder holds the earlier outputs, or "
                                       "none)\n")
    args.func = _raises_from_a_compiled_routine(False)  # a bug stays one
    assert cli._run(args) == 70
    assert "internal error" in capsys.readouterr().err
