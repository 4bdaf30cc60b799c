"""Hand-offs that work in a Chinese office: a plan's sites pass its own check, notes
under a sheet's table are not stations, outputs name no folder of the machine, report
pages are A4, and the first compilation of the kernels is announced."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import types

import openpyxl
import osmnx as ox
import pytest
from handnet import hand_graph, shared_osm, shared_sheet

import stationplan as sp
from stationplan import _numba
from stationplan.cli import main

GUIXI = "guixi_county_city.osm.bz2"
FOOTER = "注：坐标由高德地图坐标拾取器获取（GCJ-02），统计截至2024年12月。"


def noted_sheet(tmp_path):
    """The Guixi office sheet (GCJ-02, Chinese headers) with two more rows under the
    table, as offices write them: a note in the first cell and a total in a merged cell."""
    path = tmp_path / "驿站名录.xlsx"
    shutil.copy(shared_sheet("guixi_stations.xlsx"), path)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    last = sheet.max_row
    sheet.cell(last + 1, 1, FOOTER)
    sheet.cell(last + 2, 1, "合计：11个驿站")
    sheet.merge_cells(start_row=last + 2, start_column=1, end_row=last + 2, end_column=8)
    book.save(path)
    return path, [last + 1, last + 2]


# --- B: notes and totals are not stations ----------------------------------------------

def test_notes_under_the_table_are_skipped_and_listed(tmp_path):
    path, added = noted_sheet(tmp_path)
    stations = sp.read_stations(path, crs="gcj02")
    assert len(stations) == 11  # the shared sheet's own footer note (row 15) is skipped too
    assert (stations["status"] == "ok").all()
    report = stations.attrs["read_report"]
    assert report["notes_skipped"] == [15, *added]
    assert report["stations"] == 11
    assert not any(FOOTER[:5] in str(x) for x in stations["name"])


def test_note_rows_in_a_csv(tmp_path, hand_stations_csv):
    text = hand_stations_csv.read_text(encoding="utf-8")
    before = sp.read_stations(hand_stations_csv)
    noted = tmp_path / "noted.csv"
    width = text.splitlines()[0].count(",")
    noted.write_text("备注：本表由街道填报\n" + text + "\n" + "审核：张三" + "," * width + "\n",
                     encoding="utf-8")
    after = sp.read_stations(noted)
    assert len(after) == len(before)
    assert after.attrs["read_report"]["notes_skipped"] == [1, len(text.splitlines()) + 3]


def test_a_station_row_starting_like_a_note_is_still_a_station(tmp_path, hand_stations_csv):
    """Only a row whose one cell of text starts with a note word is a note: a station named
    说明… with coordinates is a station, and one without coordinates an invalid station."""
    lines = hand_stations_csv.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("name")] = "说明书店驿站"
    empty = ["" for _ in header]
    empty[header.index("name")] = "总计驿站"
    empty[0] = "S99"
    path = tmp_path / "named.csv"
    path.write_text("\n".join([lines[0], ",".join(row), *lines[2:], ",".join(empty)]) + "\n",
                    encoding="utf-8")
    stations = sp.read_stations(path)
    assert len(stations) == len(lines)  # every station row, the last one invalid
    assert stations["status"].iat[-1] == "invalid"
    assert stations.attrs["read_report"]["notes_skipped"] == []


def test_notes_in_the_summary_and_the_report(tmp_path):
    path, added = noted_sheet(tmp_path)
    out = tmp_path / "report"
    assert main(["report", str(shared_osm(GUIXI)), str(path), "--crs", "gcj02",
                 "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["notes_skipped"] == [15, *added]
    assert summary["stations_read"] == 11
    assert summary["stations_rejected"] == 0
    assert "3 行备注或合计" in (out / "report.html").read_text(encoding="utf-8")


# --- A: one rule for plan and check ----------------------------------------------------

def test_a_plan_passes_its_own_check_on_guixi(tmp_path):
    """The issue's proof: plan on Guixi with a Chinese GCJ-02 sheet with a footer note,
    then check its own proposals.geojson: every site is accepted, with the same rules."""
    path, _ = noted_sheet(tmp_path)
    osm = shared_osm(GUIXI)
    plan, check = tmp_path / "plan", tmp_path / "check"
    assert main(["plan", str(osm), str(path), "--crs", "gcj02", "--out", str(plan),
                 "--time-limit-s", "5", "--quiet"]) == 0
    ps = json.loads((plan / "plan_summary.json").read_text(encoding="utf-8"))
    assert ps["settings"]["min_spacing_m"] == 500.0  # the coverage limit, by default
    assert ps["settings"]["spacing"] == "network"
    assert ps["settings"]["min_gain_m"] == 150.0
    assert ps["new_sites"] > 30  # 41 in the built-up area (--area auto); 70 for the whole extract
    # sites the minimum gain left out are listed, and the plan then says it falls short
    low = ps["below_min_gain"]
    assert len(low["candidate_ids"]) == low["sites"]
    if low["sites"]:
        assert ps["target_reached"] is False
    assert main(["check", str(osm), str(path), str(plan / "proposals.geojson"),
                 "--crs", "gcj02", "--out", str(check), "--no-benchmark", "--quiet"]) == 0
    cs = json.loads((check / "check_summary.json").read_text(encoding="utf-8"))
    assert cs["settings"]["min_spacing_m"] == 500.0
    assert cs["settings"]["min_gain_m"] == 150.0
    assert cs["by_verdict"]["accept"] == ps["new_sites"] == cs["proposals"]
    assert cs["positions_given"] == cs["proposals"]  # measured where the plan put them
    # the same exact figures: the check's coverage after is the plan's
    assert cs["covered_m_after"] == pytest.approx(ps["covered_m_after"], abs=0.01)
    proposals = json.loads((plan / "proposals.geojson").read_text(encoding="utf-8"))
    assert all(f["properties"]["marginal_m"] >= 150 for f in proposals["features"])


# --- C: no absolute paths, A4 pages, compile notice ------------------------------------

def test_no_absolute_path_in_any_output(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    out = tmp_path / "plan"
    assert main(["plan", str(net), str(hand_stations_csv), "--out", str(out), "--quiet",
                 "--serve", "all", "--candidates", "streets", "--min-spacing-m", "0",
                 "--min-gain-m", "0"]) == 0
    # and a check of its proposals, with a report
    check = tmp_path / "check"
    assert main(["check", str(net), str(hand_stations_csv), str(out / "proposals.geojson"),
                 "--out", str(check), "--quiet", "--serve", "all", "--min-spacing-m", "0",
                 "--min-gain-m", "0", "--no-benchmark"]) == 0
    folders = {str(tmp_path), str(tmp_path.resolve()), os.path.realpath(tmp_path)}
    needles = {f.encode() for f in folders} | {json.dumps(f)[1:-1].encode() for f in folders}
    files = [p for p in [*out.rglob("*"), *check.rglob("*")] if p.is_file()]
    assert len(files) > 8
    for p in files:
        data = p.read_bytes()
        assert not any(n in data for n in needles), p.name
    assert "hand.graphml" in (out / "report.html").read_text(encoding="utf-8")


def test_report_pages_are_a4(tmp_path, hand_stations_csv):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    out = tmp_path / "report"
    assert main(["report", str(net), str(hand_stations_csv), "--out", str(out), "--quiet",
                 "--serve", "all"]) == 0
    assert "@page{size:A4" in (out / "report.html").read_text(encoding="utf-8")


def _fake_kernel_module(tmp_path, name):
    src = tmp_path / "kernels.py"
    src.write_text("def f(x):\n    return x\n", encoding="utf-8")
    module = types.ModuleType(name)
    module.__file__ = str(src)

    def f(x):
        return x

    f.__module__ = name
    return module, src, f


def test_compile_notice_when_the_cache_is_empty(tmp_path, monkeypatch, caplog):
    name = "stationplan._route.kernels_fake_for_test"
    module, _, f = _fake_kernel_module(tmp_path, name)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(_numba, "_KINDS", {name: "routing"})
    monkeypatch.setattr(_numba, "_NOTICED", set())
    cache = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))  # missing folder: nothing cached
    with caplog.at_level(logging.INFO, logger="stationplan._numba"):
        _numba._notice(f)
        _numba._notice(f)  # once per module
    notices = [r.getMessage() for r in caplog.records if "compiling" in r.getMessage()]
    assert notices == ["compiling the routing kernels once (about 10 s)…"]


def test_compile_notice_once_per_kind(tmp_path, monkeypatch, caplog):
    # the solver's kernels and its set-cover loops are two modules of one kind: a first
    # plan printed "compiling the solving kernels" twice
    names = ("stationplan._solve.kernels_fake_a", "stationplan._solve.setcover_fake_b")
    fns = []
    for i, name in enumerate(names):
        folder = tmp_path / str(i)
        folder.mkdir()
        module, _, f = _fake_kernel_module(folder, name)
        monkeypatch.setitem(sys.modules, name, module)
        fns.append(f)
    monkeypatch.setattr(_numba, "_KINDS", dict.fromkeys(names, "solving"))
    monkeypatch.setattr(_numba, "_NOTICED", set())
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))  # nothing cached
    with caplog.at_level(logging.INFO, logger="stationplan._numba"):
        for f in fns:
            _numba._notice(f)
    notices = [r.getMessage() for r in caplog.records if "compiling" in r.getMessage()]
    assert notices == ["compiling the solving kernels once (about 10 s)…"]


_CACHED_KERNEL = """
import numba

@numba.njit(cache=True)
def twice(x):
    return 2 * x
"""


def _run_kernel(folder, cache):
    """Compile and call the kernel in a fresh Python with numba's own on-disk cache."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import kern; print(kern.twice(21))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code, str(folder)], env=env, check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "42"


def test_no_compile_notice_when_numba_would_use_its_cache(tmp_path, monkeypatch, caplog):
    # the judge is numba itself: a kernel compiled once in another process leaves a cache
    folder, cache = tmp_path / "mod", tmp_path / "numba-cache"
    folder.mkdir()
    src = folder / "kern.py"
    src.write_text(_CACHED_KERNEL, encoding="utf-8")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    assert not _numba.kernels_cached(src)
    _run_kernel(folder, cache)
    assert _numba.kernels_cached(src)
    name = "stationplan._route.kernels_fake_for_test2"
    module = types.ModuleType(name)
    module.__file__ = str(src)

    def f(x):
        return x

    f.__module__ = name
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(_numba, "_NOTICED", set())
    with caplog.at_level(logging.INFO, logger="stationplan._numba"):
        _numba._notice(f)
    assert not [r for r in caplog.records if "compiling" in r.getMessage()]
    # the same bytes written again (a checkout, a copy) leave numba's cache fresh
    indexes = sorted(cache.rglob("*.nbi"))
    stamps = [p.stat().st_mtime for p in indexes]
    time.sleep(0.05)
    src.write_text(_CACHED_KERNEL, encoding="utf-8")
    assert _numba.kernels_cached(src)
    _run_kernel(folder, cache)
    assert [p.stat().st_mtime for p in indexes] == stamps  # numba did not compile again
    # changed source: numba compiles again, and so says the check
    src.write_text(_CACHED_KERNEL.replace("2 * x", "x + x"), encoding="utf-8")
    assert not _numba.kernels_cached(src)
    # another Python's index does not count either
    _run_kernel(folder, cache)
    assert _numba.kernels_cached(src)
    for p in cache.rglob("*.nbi"):
        p.rename(p.with_name(p.name.replace(f"py{sys.version_info.major}"
                                            f"{sys.version_info.minor}", "py27")))
    assert not _numba.kernels_cached(src)


class _Terminal:
    """A stand-in for a terminal's stderr: tqdm draws bars on it."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_log_lines_and_bars_do_not_garble_each_other(monkeypatch):
    """A log line during a bar is written on its own line (tqdm's logging redirection),
    and the certificate's bar counts seconds of the time limit."""
    from stationplan import cli

    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with (cli._logging_to_stderr(quiet=False, debug=False),
          cli._progress("certificate", quiet=False, unit="s") as progress):
        progress(1, 20)
        logging.getLogger("stationplan.siting").info("a line in the middle")
        progress(2, 20)
    assert "certificate" in term.text and "/20" in term.text
    lines = [line for line in term.text.replace("\r", "\n").split("\n") if "a line" in line]
    assert lines == ["INFO a line in the middle"]  # never glued to a bar
