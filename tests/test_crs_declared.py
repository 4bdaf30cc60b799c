"""Coordinate systems that cannot silently shift pins (issue 14, item 6).

A station file whose system nothing names, and that sits off the streets the way Amap
(GCJ-02) coordinates read as WGS-84 do, stops the run before anything is written; a
named system goes on and carries the warning into summary.json, the map and the report;
a file that declares its system keeps it; a note in a sheet declares one; export asks
for the system of China coordinates; area and district polygons take a CRS option.

Expected positions come from the cells of the shared sheets converted with
:mod:`stationplan.chinacrs` (the published GCJ-02 algorithm), or from the coordinates
written into the test's own files.
"""

from __future__ import annotations

import csv
import json
import logging

import geopandas as gpd
import numpy as np
import openpyxl
import pyproj
import pytest
import shapely
from handnet import shared_osm, shared_sheet

import stationplan as sp
from stationplan import chinacrs
from stationplan.cli import main

GEOD = pyproj.Geod(ellps="WGS84")
OSM = "guixi_county_city.osm.bz2"
FIX = "--crs gcj02"


def sheet_rows() -> list[tuple]:
    """(序号, 站点名称, 经度, 纬度) of the 11 stations of guixi_stations.xlsx, as typed."""
    book = openpyxl.load_workbook(shared_sheet("guixi_stations.xlsx"), read_only=True)
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    header = rows[1]
    i, name, lon, lat = (header.index(h) for h in ("序号", "站点名称", "经度", "纬度"))
    return [(r[i], r[name], r[lon], r[lat]) for r in rows[2:]
            if isinstance(r[lon], float) and isinstance(r[lat], float)]


def write_sheet(path, rows, *, note: str | None = None):
    """The sheet as a UTF-8 CSV with untagged 经度/纬度 headers, a note row if given."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["序号", "站点名称", "经度", "纬度"])
        out.writerows(rows)
        if note is not None:
            out.writerow([])
            out.writerow([note])
    return path


@pytest.fixture(scope="module")
def guixi():
    return shared_osm(OSM)


@pytest.fixture
def no_note(tmp_path):
    """The Guixi stations (GCJ-02) without the footer note that declares them."""
    return write_sheet(tmp_path / "guixi_no_note.csv", sheet_rows())


def metres(a, b) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    # "错误" in a Chinese run (the Guixi sheets have Chinese headers)
    lines = [line for line in err.splitlines()
             if line.startswith(("stationplan: error:", "stationplan: 错误："))]
    assert len(lines) == 1, err
    return lines[0]


# --- the misread stops the run ---------------------------------------------------------

@pytest.mark.parametrize("command", ["coverage", "plan", "report", "check-stations",
                                     "check-proposals", "report-proposals"])
def test_gcj02_sheet_read_as_assumed_wgs84_stops_before_writing(
        command, guixi, no_note, tmp_path, capsys):
    out = tmp_path / "out"
    noted = shared_sheet("guixi_stations.xlsx")  # its note declares GCJ-02: read right
    common = ["--out", str(out), "--quiet", "--no-time-limit"]
    argv = {
        "coverage": ["coverage", str(guixi), str(no_note)],
        "plan": ["plan", str(guixi), str(no_note), "--new-sites", "2", "--candidates",
                 "streets"],
        "report": ["report", str(guixi), str(no_note)],
        "check-stations": ["check", str(guixi), str(no_note), str(no_note), "--no-benchmark"],
        "check-proposals": ["check", str(guixi), str(noted), str(no_note), "--no-benchmark"],
        "report-proposals": ["report", str(guixi), str(noted), "--proposals", str(no_note),
                             "--no-benchmark"],
    }[command]
    # the proposal file has its own option, and the stop names that file and option
    proposals = command.endswith("proposals")
    fix, call = (("--proposal-crs gcj02", "proposal_crs='gcj02'") if proposals
                 else (FIX, "crs='gcj02'"))
    assert main([*argv, *common]) == 2
    line = error_line(capsys)
    # a Chinese run (the sheet's headers): the command line's option, no Python
    assert "guixi_no_note.csv" in line and fix in line and "crs='" not in line
    assert ("拟建站点文件没有说明坐标系" in line) == proposals
    assert not out.exists()  # nothing written, the folder not even made
    assert main([*argv, *common, "--lang", "en"]) == 2
    line = error_line(capsys)
    assert "guixi_no_note.csv" in line and fix in line and call in line
    assert ("the proposal file does not name its coordinate system" in line) == proposals


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_hosts_file_read_wrong_is_called_the_hosts_file(guixi, no_note, tmp_path, capsys,
                                                          lang):
    """plan --hosts reads the hosts with the station file's options: the stop names the
    willing-hosts file and --crs, which sets its system (plan has no other)."""
    out = tmp_path / "out"
    assert main(["plan", str(guixi), str(shared_sheet("guixi_stations.xlsx")), "--hosts",
                 str(no_note), "--new-sites", "2", "--out", str(out), "--quiet",
                 "--lang", lang]) == 2
    line = error_line(capsys)
    assert "guixi_no_note.csv" in line and FIX in line and "proposal-crs" not in line
    if lang == "zh":
        assert "意愿站点文件（--hosts）没有说明坐标系" in line and "crs='" not in line
        assert "--crs 同样决定它的坐标系" in line
    else:
        assert "the willing-hosts file (--hosts) does not name its coordinate system" in line
        assert "so --crs (crs=) sets its system too" in line
    assert not out.exists()


def test_named_system_goes_on_and_carries_the_warning(guixi, no_note, tmp_path):
    out = tmp_path / "named"
    assert main(["report", str(guixi), str(no_note), "--crs", "wgs84", "--out", str(out),
                 "--quiet", "--no-time-limit", "--lang", "zh"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (warning,) = summary["warnings"]
    assert set(warning) == {"code", "en", "zh"} and warning["code"] == "crs_offset"
    assert FIX in warning["en"] and "GCJ-02" in warning["en"]
    assert FIX in warning["zh"] and "高德" in warning["zh"]
    # The map panel and the report show it (the words with no characters to escape).
    shown = warning["zh"].split("：")[1].split("。")[0]
    assert len(shown) > 20
    map_html = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert "sp-warning" in map_html and shown in map_html
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'class="warning"' in report and shown in report
    assert report.index(shown) < report.index('class="cards"')  # near the top
    markdown = (out / "report.md").read_text(encoding="utf-8")  # Markdown escapes "-"
    assert "> **⚠ 警告：**" in markdown and "站点会偏离实际位置数百米" in markdown


def test_summary_warnings_are_empty_when_nothing_is_found(guixi, tmp_path):
    out = tmp_path / "ok"
    assert main(["coverage", str(guixi), str(shared_sheet("guixi_stations.xlsx")),
                 "--out", str(out), "--quiet", "--no-time-limit"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"] == []
    assert summary["station_file"]["read_report"]["crs_from"] == "note"


# --- declared systems ------------------------------------------------------------------

def test_crs_option_does_not_override_a_geojson(tmp_path, caplog):
    rows = sheet_rows()
    wgs = [chinacrs.gcj02_to_wgs84(lon, lat) for _, _, lon, lat in rows]
    features = [{"type": "Feature", "properties": {"name": name},
                 "geometry": {"type": "Point", "coordinates": [x, y]}}
                for (_, name, _, _), (x, y) in zip(rows, wgs, strict=True)]
    path = tmp_path / "stations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="stationplan"):
        read = sp.read_stations(path, crs="gcj02")
    assert read.attrs["read_report"]["crs_from"] == "file"
    got = np.column_stack([read.geometry.x, read.geometry.y])
    np.testing.assert_array_equal(got, np.array(wgs))  # exactly the file's coordinates
    assert any("not used" in r.getMessage() and "RFC 7946" in r.getMessage()
               for r in caplog.records)
    # An option about this one file (proposal_crs) still applies.
    forced = sp.read_stations(path, crs="gcj02", force_crs=True)
    assert metres(forced.geometry.iloc[0].coords[0], wgs[0]) > 300


def test_plan_then_check_reads_the_plans_proposals_where_they_are(guixi, tmp_path):
    plan, check = tmp_path / "plan", tmp_path / "check"
    stations = shared_sheet("guixi_stations.xlsx")
    assert main(["plan", str(guixi), str(stations), "--new-sites", "3", "--candidates",
                 "streets", "--out", str(plan), "--quiet", "--no-time-limit"]) == 0
    proposals = json.loads((plan / "proposals.geojson").read_text(encoding="utf-8"))
    planned = [f["geometry"]["coordinates"] for f in proposals["features"]]
    assert len(planned) == 3
    assert main(["check", str(guixi), str(stations), str(plan / "proposals.geojson"),
                 "--crs", "gcj02", "--out", str(check), "--quiet", "--no-time-limit",
                 "--no-benchmark"]) == 0
    summary = json.loads((check / "check_summary.json").read_text(encoding="utf-8"))
    assert summary["by_verdict"]["accept"] == summary["proposals"] == 3
    checked = json.loads((check / "check.geojson").read_text(encoding="utf-8"))["features"]
    for feature, where in zip(checked, planned, strict=True):
        assert metres(feature["geometry"]["coordinates"], where) < 0.01
    # check.csv names its columns' system, so it reads back in place whatever --crs says
    # (crs="gcj02" picks its GCJ-02 columns); 6 decimals keep it within 0.1 m.
    with (check / "check.csv").open(encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    # a Chinese run: Chinese headers that name their system, WGS-84 and GCJ-02
    assert {"经度(WGS-84)", "纬度(WGS-84)", "经度(GCJ-02)", "纬度(GCJ-02)"} <= set(header)
    for crs in (None, "wgs84", "gcj02"):
        back = sp.read_stations(check / "check.csv", crs=crs)
        assert back.attrs["read_report"]["crs_from"] == "header"
        for point, where in zip(back.geometry, planned, strict=True):
            assert metres(point.coords[0], where) < 0.1


# --- notes in sheets -------------------------------------------------------------------

def test_the_note_in_the_guixi_sheet_declares_gcj02(caplog):
    with caplog.at_level(logging.INFO, logger="stationplan"):
        read = sp.read_stations(shared_sheet("guixi_stations.xlsx"))
    assert read.attrs["read_report"]["crs_from"] == "note"
    assert any("note in row" in r.getMessage() and "GCJ-02" in r.getMessage()
               for r in caplog.records)
    ok = read[read["status"] == "ok"]
    assert len(ok) == 11
    for point, (_, _, lon, lat) in zip(ok.geometry, sheet_rows(), strict=True):
        assert metres(point.coords[0], chinacrs.gcj02_to_wgs84(lon, lat)) < 0.5


@pytest.mark.parametrize(("note", "crs_from", "system"), [
    ("注：坐标由高德地图坐标拾取器获取（GCJ-02）", "note", "gcj02"),
    ("备注：坐标取自百度地图", "note", "bd09"),
    ("注：坐标已转换为WGS-84", "note", "wgs84"),
    ("注：坐标由高德地图获取，已转换为WGS-84", "assumed", "wgs84"),  # names two: undeclared
    ("填报单位：高德大厦物业", "assumed", "wgs84"),  # not about coordinates
])
def test_notes_declare_one_system_or_nothing(tmp_path, note, crs_from, system):
    rows = sheet_rows()[:3]
    read = sp.read_stations(write_sheet(tmp_path / "s.csv", rows, note=note))
    assert read.attrs["read_report"]["crs_from"] == crs_from
    to_wgs = {"gcj02": chinacrs.gcj02_to_wgs84, "bd09": chinacrs.bd09_to_wgs84,
              "wgs84": lambda x, y: (x, y)}[system]
    for point, (_, _, lon, lat) in zip(read.geometry[:3], rows, strict=True):
        assert metres(point.coords[0], to_wgs(lon, lat)) < 0.5


def test_an_explicit_crs_beats_the_note(caplog):
    with caplog.at_level(logging.INFO, logger="stationplan"):
        read = sp.read_stations(shared_sheet("guixi_stations.xlsx"), crs="wgs84")
    assert read.attrs["read_report"]["crs_from"] == "option"
    assert any("not the note" in r.getMessage() for r in caplog.records)
    (_, _, lon, lat) = sheet_rows()[0]
    assert read.geometry.iloc[0].coords[0] == pytest.approx((lon, lat), abs=1e-12)


# --- export ----------------------------------------------------------------------------

def test_export_of_china_coordinates_needs_their_system(no_note, tmp_path, capsys):
    out = tmp_path / "amap.xlsx"
    assert main(["export", str(no_note), "--format", "amap", "--out", str(out),
                 "--quiet"]) == 2
    line = error_line(capsys)  # Chinese: the sheet is
    assert "--crs gcj02" in line and "--crs bd09" in line and "crs=" not in line
    assert not out.exists()
    assert main(["export", str(no_note), "--format", "amap", "--out", str(out), "--crs",
                 "gcj02", "--quiet"]) == 0
    header, first = openpyxl.load_workbook(out).worksheets[0].iter_rows(max_row=2,
                                                                         values_only=True)
    first = dict(zip(header, first, strict=True))
    _, _, lon, lat = sheet_rows()[0]  # the Amap sheet gives the cells back in GCJ-02
    assert first["经度"] == pytest.approx(lon, abs=1e-6)
    assert first["纬度"] == pytest.approx(lat, abs=1e-6)
    # The note of the xlsx declares GCJ-02 for export too.
    assert main(["export", str(shared_sheet("guixi_stations.xlsx")), "--format", "csv",
                 "--out", str(tmp_path / "noted.csv"), "--quiet"]) == 0


# --- area and district polygons --------------------------------------------------------

def gcj_copy(src, dst):
    """The polygons of ``src`` (WGS-84) with every vertex moved to GCJ-02."""
    frame = gpd.read_file(src)

    def shift(xy):
        return np.column_stack(chinacrs.wgs84_to_gcj02(xy[:, 0], xy[:, 1]))

    frame = frame.set_geometry(shapely.transform(frame.geometry.to_numpy(), shift), crs=4326)
    frame.to_file(dst, driver="GeoJSON")
    return dst


def test_area_in_gcj02_gives_the_same_network(guixi, tmp_path):
    wgs = shared_sheet("guixi_core_wgs.geojson")
    gcj = gcj_copy(wgs, tmp_path / "core_gcj.geojson")
    a = sp.load_network(guixi, area=wgs, margin_m=500)
    b = sp.load_network(guixi, area=gcj, area_crs="gcj02", margin_m=500)
    wrong = sp.load_network(guixi, area=gcj, margin_m=500)  # the GCJ-02 outline as WGS-84
    demand = {k: float(n.edges.loc[n.edges["demand"], "length_m"].sum())
              for k, n in (("a", a), ("b", b), ("wrong", wrong))}
    assert len(b.edges) == len(a.edges)
    assert demand["b"] == pytest.approx(demand["a"], abs=0.5)
    assert abs(demand["wrong"] - demand["a"]) > 100  # the option matters
    with pytest.raises(sp.InputError, match="area_crs"):
        sp.NetworkOptions(area_crs="gcj02")  # without an area
    with pytest.raises(sp.InputError, match="area_crs must name a coordinate system"):
        sp.NetworkOptions(area=wgs, area_crs=" ")


def test_districts_in_gcj02_are_converted(tmp_path):
    wgs = shared_sheet("guixi_jiedao_approx.geojson")
    gcj = gcj_copy(wgs, tmp_path / "jiedao_gcj.geojson")
    a = sp.read_districts(wgs)
    b = sp.read_districts(gcj, crs="gcj02")
    utm = a.estimate_utm_crs()
    for pa, pb in zip(a.to_crs(utm).geometry, b.to_crs(utm).geometry, strict=True):
        assert pa.hausdorff_distance(pb) < 0.05  # metres
    with pytest.raises(sp.InputError, match="districts_crs"):
        sp.read_districts(gcj, crs="mars")
