"""An output folder is a transaction: the earlier outputs or the complete new set, never a mix.

Runs are interrupted while they write (a slowed writer in a subprocess gets SIGINT or
SIGTERM), fail on a full disk (an injected ENOSPC, and a real small tmpfs where one can be
mounted), race into one folder, and are refused before any computation when the output
path cannot or should not be written.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import osmnx as ox
import pytest
from handnet import hand_graph

import stationplan._io
from stationplan._outdir import output_folder
from stationplan.cli import main

# A run whose writer stops after its first file until the file named GO appears (or 120 s).
# READY is touched when the first file is written, so the test knows the run is writing.
SLOW_RUN = textwrap.dedent("""
    import sys, time, pathlib
    import stationplan._io as io
    ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    real = io.atomic_write_bytes
    def slow(path, data):
        out = real(path, data)
        ready.touch()
        end = time.monotonic() + 120
        while not go.exists() and time.monotonic() < end:
            time.sleep(0.05)
        return out
    io.atomic_write_bytes = slow
    from stationplan.cli import main
    sys.exit(main(sys.argv[3:]))
""")


@pytest.fixture
def hand_files(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    return net, hand_stations_csv


def _coverage_args(hand_files, out, *extra):
    net, stations = hand_files
    return ["coverage", str(net), str(stations), "--out", str(out), "--quiet", *extra]


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of ``folder`` (hidden ones included) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _start_slow(tmp_path, args):
    ready, go = tmp_path / "ready", tmp_path / "go"
    ready.unlink(missing_ok=True)
    go.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(ready), str(go), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the slowed run never started writing: {err}")
        time.sleep(0.05)
    return proc, go


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                    (signal.SIGTERM, 143, "terminated")])
def test_a_signal_while_writing_leaves_the_previous_folder(tmp_path, hand_files, sig, code,
                                                           word):
    out = tmp_path / "o"
    assert main(_coverage_args(hand_files, out)) == 0
    before = _snapshot(out)
    summary = json.loads(before["summary.json"])
    assert summary["rule"]["radius_m"] == 500

    proc, _ = _start_slow(tmp_path, _coverage_args(hand_files, out, "--overwrite",
                                                   "--radius-m", "300"))
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    assert lines[0].startswith(f"stationplan: {word}")
    assert _snapshot(out) == before  # the 500 m outputs, byte for byte; no temp or lock files
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["hand.graphml", "stations.csv", "o", "ready"])


def test_an_interrupted_first_run_leaves_nothing_and_the_rerun_works(tmp_path, hand_files):
    out = tmp_path / "new" / "o"
    proc, _ = _start_slow(tmp_path, _coverage_args(hand_files, out))
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert not (tmp_path / "new").exists()  # the folders it made are gone
    assert main(_coverage_args(hand_files, out)) == 0  # the identical rerun is not refused
    assert (out / "summary.json").exists()


def test_two_runs_into_one_folder_exactly_one_succeeds(tmp_path, hand_files, capsys):
    out = tmp_path / "o"
    first, go = _start_slow(tmp_path, _coverage_args(hand_files, out))
    second = main(_coverage_args(hand_files, out, "--radius-m", "300"))
    err = capsys.readouterr().err.strip().splitlines()
    go.touch()
    first.communicate(timeout=120)
    assert (first.returncode, second) == (0, 6)
    assert len(err) == 1
    assert err[0].startswith("stationplan: error: another stationplan run (process ")
    assert f"is writing to {out}" in err[0]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["rule"]["radius_m"] == 500  # the first run's outputs, complete
    assert {p.name for p in out.iterdir()} == {
        "coverage.geojson", "stations.geojson", "gaps.geojson", "gaps.csv", "gaps.xlsx",
        "gap_areas.geojson", "summary.json", "coverage_map.html", "coverage_map.png",
        "timings.json"}


def test_a_full_disk_leaves_the_previous_folder(tmp_path, hand_files, monkeypatch, capsys):
    out = tmp_path / "o"
    assert main(_coverage_args(hand_files, out)) == 0
    before = _snapshot(out)
    real, calls = stationplan._io.atomic_write_bytes, []

    def fills_up(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(stationplan._io, "atomic_write_bytes", fills_up)
    code = main(_coverage_args(hand_files, out, "--overwrite", "--radius-m", "300"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 6
    assert err == [f"stationplan: error: cannot write the outputs to {out}: No space left on "
                   "device; free some space (or pick a folder on another disk) and rerun; the "
                   "folder was left as it was"]
    assert len(calls) == 3
    assert _snapshot(out) == before


def _tmpfs(folder: Path, options: str):
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root); the injected ENOSPC test and the "
                    "/proc case cover it")
    return folder


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs, where the test may mount one (root on Linux)."""
    yield _tmpfs(tmp_path / "disk", "size=64k")
    subprocess.run(["umount", str(tmp_path / "disk")], check=False)


@pytest.fixture
def read_only_disk(tmp_path):
    """A read-only tmpfs (root cannot write to it either, unlike a chmod-ed folder)."""
    yield _tmpfs(tmp_path / "ro", "ro,size=64k")
    subprocess.run(["umount", str(tmp_path / "ro")], check=False)


def test_a_read_only_folder_is_refused_before_computation(read_only_disk, hand_files, capsys):
    out = read_only_disk / "o"
    missing = str(read_only_disk.parent / "missing.osm")  # exit 3 if the network were loaded
    assert main(["coverage", missing, str(hand_files[1]), "--out", str(out), "--quiet"]) == 6
    assert capsys.readouterr().err == (
        f"stationplan: error: cannot write the outputs to {out}: Read-only file system; pick a "
        "folder you can write to; the folder was left as it was\n")


def test_a_real_full_disk_leaves_nothing(small_disk, hand_files, capsys):
    out = small_disk / "o"
    assert main(_coverage_args(hand_files, out)) == 6
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "No space left on device" in err[0]
    assert list(small_disk.iterdir()) == []


def test_refusals_come_before_any_computation(tmp_path, hand_files, capsys):
    """The network is missing (exit 3 once loaded), so each refusal must come first."""
    _, stations = hand_files
    missing = str(tmp_path / "missing.osm")
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    cases = [
        (a_file, 6, f"--out {a_file} is a file, not a folder"),
        (Path("/proc/stationplan-test/o"), 6, "cannot write the outputs to /proc/"),
    ]
    for out, code, words in cases:
        assert main(["coverage", missing, str(stations), "--out", str(out), "--quiet"]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert words in err[0]
    assert a_file.read_text() == "x"


def test_an_input_in_the_folder_under_an_output_name_is_refused(tmp_path, hand_files, capsys):
    out = tmp_path / "o"
    out.mkdir()
    stations = out / "stations.geojson"
    stations.write_text(Path(hand_files[1]).read_text(encoding="utf-8"), encoding="utf-8")
    code = main(["coverage", str(hand_files[0]), str(stations), "--out", str(out), "--quiet",
                 "--overwrite"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 6
    assert err == [f"stationplan: error: {stations} is an input of this run; write the output "
                   "to another file"]


def test_a_report_into_a_check_folder_is_refused_before_writing(tmp_path, hand_files, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "check.csv").write_text("earlier")
    net, stations = hand_files
    code = main(["report", str(net), str(stations), "--proposals", str(stations),
                 "--out", str(out), "--quiet"])
    assert code == 2
    assert "already holds check.csv" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["check.csv"]


def test_overwrite_replaces_every_earlier_output_and_keeps_other_files(tmp_path, hand_files):
    net, stations = hand_files
    out = tmp_path / "o"
    assert main(["plan", str(net), str(stations), "--out", str(out), "--quiet",
                 "--candidates", "streets", "--new-sites", "1", "--serve", "all"]) == 0
    (out / "notes.txt").write_text("mine")
    assert (out / "proposals.geojson").exists()
    assert main(_coverage_args(hand_files, out, "--overwrite")) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "coverage.geojson", "stations.geojson", "gaps.geojson", "gaps.csv", "gaps.xlsx",
        "gap_areas.geojson", "summary.json", "coverage_map.html", "coverage_map.png",
        "timings.json", "notes.txt"])
    assert (out / "notes.txt").read_text() == "mine"


def test_a_commit_cut_short_is_finished_by_the_next_run(tmp_path):
    """A run killed between its moves (SIGKILL, power loss) left a journal; the next run
    into the folder completes those moves before it starts."""
    out = tmp_path / "o"
    out.mkdir()
    for name, text in {"summary.json": "old", "gaps.geojson": "old", "report.md": "old"}.items():
        (out / name).write_text(text)
    staging, backup = out / ".stationplan-new-0000", out / ".stationplan-old-0000"
    staging.mkdir()
    backup.mkdir()
    (staging / "gaps.geojson").write_text("new")
    (out / "summary.json").replace(backup / "summary.json")  # moved aside ...
    (out / "coverage.geojson").write_text("new")  # ... and one new file already moved in
    journal = {"staging": staging.name, "backup": backup.name,
               "new": ["coverage.geojson", "gaps.geojson"],
               "old": ["gaps.geojson", "report.md", "summary.json"]}
    (out / ".stationplan-commit.json").write_text(json.dumps(journal))
    seen = {}
    with pytest.raises(RuntimeError), output_folder(out, overwrite=True):
        seen = {p.name: p.read_text() for p in out.iterdir() if p.is_file()}
        raise RuntimeError("look only")
    assert seen == {"coverage.geojson": "new", "gaps.geojson": "new", ".stationplan.lock": seen[
        ".stationplan.lock"]}
    assert sorted(p.name for p in out.iterdir()) == ["coverage.geojson", "gaps.geojson"]


def test_export_refuses_its_input_a_folder_and_an_existing_file(tmp_path, hand_stations_csv,
                                                                capsys):
    src = hand_stations_csv
    original = src.read_bytes()
    export = ["export", str(src), "--format", "kml", "--crs", "wgs84", "--quiet", "--out"]
    cases = [
        (src, 6, f"{src} is an input of this run; write the output to another file"),
        (tmp_path, 6, f"--out {tmp_path} is a folder; give a file name, e.g. "
                      f"{tmp_path / 'stations.kml'}"),
        (tmp_path / "no" / "x.kml", 6, f"folder {tmp_path / 'no'} does not exist"),
    ]
    for out, code, words in cases:
        assert main([*export, str(out)]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert words in err[0]
    assert src.read_bytes() == original
    kml = tmp_path / "s.kml"
    assert main([*export, str(kml)]) == 0
    first = kml.read_bytes()
    kml.write_text("mine")
    assert main([*export, str(kml)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert kml.read_text() == "mine"
    assert main([*export, str(kml), "--overwrite"]) == 0
    assert kml.read_bytes() == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_demo_into_a_folder_given_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "summary.json").write_text("mine")
    assert main(["demo", "--out", str(out), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == "mine"


@pytest.mark.parametrize("when", ["after", "before"])
def test_ctrl_c_while_the_run_settings_are_made_or_put_back_is_one_line(
        tmp_path, hand_files, capsys, monkeypatch, when):
    """Ctrl-C just after the closing line, while the command line puts its settings back,
    gave a KeyboardInterrupt traceback (exit -2) although the outputs were complete. After
    the run its own code stands and its outputs are in place; before it, one line, 130."""
    import contextlib

    import stationplan.cli as cli

    @contextlib.contextmanager
    def interrupted():
        if when == "before":
            raise KeyboardInterrupt
        yield
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_settings", interrupted)
    out = tmp_path / "out"
    code = main(_coverage_args(hand_files, out, "--lang", "en"))
    err = capsys.readouterr().err.strip().splitlines()
    if when == "after":
        assert code == 0 and err == [] and (out / "summary.json").exists()
    else:
        assert code == 130 and len(err) == 1 and err[0].startswith("stationplan: interrupted")
        assert not out.exists()
