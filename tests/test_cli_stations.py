"""The station options and the export command of the CLI, in-process through main(argv)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET

import openpyxl
import osmnx as ox
import pytest
from handnet import HAND_STATIONS, hand_graph, hand_lonlat

import stationplan as sp
from stationplan import chinacrs
from stationplan.cli import main

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture
def hand_net(tmp_path):
    path = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), path)
    return path


def hand_stations_in(path, system, header="name,lon,lat"):
    """The hand stations with coordinates in ``system`` ("wgs84", "gcj02", "bd09")."""
    lines = [header]
    for name, x, y in HAND_STATIONS:
        if y is None:
            lines.append(f"{name},,")
            continue
        lon, lat = chinacrs.convert(*hand_lonlat(x, y), src="wgs84", dst=system)
        lines.append(f"{name},{lon:.9f},{lat:.9f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def summary(out):
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def sheet_dicts(sheet):
    """The rows of a worksheet as dicts keyed by its header row."""
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_export_writes_every_format(tmp_path, hand_stations_csv, capsys):
    for fmt, name in (("geojson", "s.geojson"), ("csv", "s.csv"), ("xlsx", "s.xlsx"),
                      ("kml", "s.kml"), ("gpx", "s.gpx"), ("amap", "amap.xlsx"),
                      ("amap-maplab", "maplab.xlsx"), ("amap-maplab", "maplab.csv")):
        out = tmp_path / name
        assert main(["export", str(hand_stations_csv), "--format", fmt, "--out", str(out),
                     "--crs", "wgs84", "--quiet"]) == 0
        assert out.exists()
        assert str(out) in capsys.readouterr().out
    book = openpyxl.load_workbook(tmp_path / "amap.xlsx")
    rows = sheet_dicts(book.worksheets[0])
    assert [r["名称"] for r in rows] == ["S1", "S2", "S3", "S4", "S5", "S6"]  # S7 has no point
    assert [r["名称"] for r in sheet_dicts(book.worksheets[1])] == ["S7"]  # so it is here
    gcj = chinacrs.wgs84_to_gcj02(*hand_lonlat(650, 20))
    assert rows[0]["经度"] == pytest.approx(gcj[0], abs=5e-7)
    assert rows[0]["纬度"] == pytest.approx(gcj[1], abs=5e-7)
    assert {r["状态"] for r in rows} == {"现有站点"}  # without a network S5 is not "too far"
    with (tmp_path / "maplab.csv").open(encoding="utf-8", newline="") as fh:
        lab = list(csv.DictReader(fh))
    assert lab[0]["经纬度"] == f"{gcj[0]:.6f},{gcj[1]:.6f}"
    assert [r["经纬度"] == "" for r in lab] == [False] * 6 + [True]  # S7 kept, no position
    features = json.loads((tmp_path / "s.geojson").read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["status"] for f in features] == ["existing"] * 6 + ["rejected"]
    assert "row 8" in features[6]["properties"]["reason"]


@pytest.mark.parametrize(("fmt", "out", "words"), [
    ("kml", "a.xlsx", "the kml format writes .kml files, not .xlsx; name the file a.kml, or use "
                      "a format that writes .xlsx: xlsx, amap, amap-maplab"),
    ("amap", "a.csv", "the amap format writes .xlsx files, not .csv"),
    ("csv", "a.kml", "the csv format writes .csv files, not .kml"),
    ("xlsx", "a", "the xlsx format writes .xlsx files and the name has no suffix"),
])
def test_export_suffix_must_match_the_format(tmp_path, capsys, fmt, out, words):
    """Refused before the station file is read: it does not even exist here."""
    assert main(["export", str(tmp_path / "none.csv"), "--format", fmt,
                 "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(("stationplan: error:",
                                                 "stationplan export: error:"))
    assert words in err[0]
    assert list(tmp_path.iterdir()) == []


def test_export_of_coverage_output_keeps_rejections(tmp_path, hand_net, hand_stations_csv):
    out = tmp_path / "run"
    assert main(["coverage", str(hand_net), str(hand_stations_csv), "--out", str(out),
                 "--quiet"]) == 0
    kml = tmp_path / "stations.kml"
    assert main(["export", str(out / "stations.geojson"), "--format", "kml", "--out", str(kml),
                 "--quiet"]) == 0
    folders = ET.parse(kml).getroot().find(f"{KML}Document").findall(f"{KML}Folder")
    names = {f.findtext(f"{KML}name"): [p.findtext(f"{KML}name")
                                        for p in f.findall(f"{KML}Placemark")] for f in folders}
    assert names == {"现有站点 (existing)": ["S1", "S2", "S3", "S4", "S6"],
                     "未采用站点 (rejected)": ["S5", "S7"]}
    back = sp.station_markers(sp.read_stations(kml)).set_index("name")
    assert "100 m" in back.loc["S5", "reason"]
    assert "'lat'" in back.loc["S7", "reason"]


def test_coverage_reads_amap_coordinates_with_crs_option(tmp_path, hand_net, capsys):
    wgs = hand_stations_in(tmp_path / "wgs.csv", "wgs84")
    gcj = hand_stations_in(tmp_path / "gcj.csv", "gcj02", header="站点名称,经度,纬度")
    assert main(["coverage", str(hand_net), str(wgs), "--out", str(tmp_path / "a"),
                 "--quiet"]) == 0
    assert main(["coverage", str(hand_net), str(gcj), "--out", str(tmp_path / "b"), "--quiet",
                 "--crs", "gcj02"]) == 0
    a, b = summary(tmp_path / "a"), summary(tmp_path / "b")
    assert b["covered_m"] == pytest.approx(a["covered_m"], abs=0.05)
    assert [s["catchment_m"] for s in b["stations"]] == pytest.approx(
        [s["catchment_m"] for s in a["stations"]], abs=0.05)
    # Without --crs the offset is detected: the run stops and names the fix on stderr.
    capsys.readouterr()
    assert main(["coverage", str(hand_net), str(gcj), "--out", str(tmp_path / "c"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--crs gcj02" in err and not (tmp_path / "c").exists()
    # Named (wrongly) as WGS-84 the run goes on, with the warning on stderr, as long as
    # some station reaches a street (the offset here is about 280 m) ...
    assert main(["coverage", str(hand_net), str(gcj), "--out", str(tmp_path / "d"),
                 "--quiet", "--crs", "wgs84", "--max-snap-m", "500"]) == 0
    err = capsys.readouterr().err
    # (in Chinese: the sheet's headers are Chinese, so the run is)
    assert "警告" in err and "--crs gcj02" in err and "GCJ-02" in err
    # ... and stops when none does: a coverage from no station is no result.
    assert main(["coverage", str(hand_net), str(gcj), "--out", str(tmp_path / "e"),
                 "--quiet", "--crs", "wgs84"]) == 2
    err = capsys.readouterr().err
    assert "警告" in err and "7 个站点都无法使用" in err


def test_column_options_and_sheet(tmp_path, hand_net):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "封面"
    data = book.create_sheet("站点")
    data.append(["驿站", "东经", "北纬"])
    for name, x, y in HAND_STATIONS:
        lon, lat = hand_lonlat(x, y if y is not None else 0)
        data.append([name, lon, lat if y is not None else None])
    path = tmp_path / "s.xlsx"
    book.save(path)
    out = tmp_path / "o"
    assert main(["coverage", str(hand_net), str(path), "--out", str(out), "--quiet",
                 "--sheet", "站点", "--lon-col", "东经", "--lat-col", "北纬",
                 "--name-col", "驿站"]) == 0
    assert summary(out)["covered_m"] == pytest.approx(3500, abs=1e-2)
    assert [s["name"] for s in summary(out)["stations"]][:2] == ["S1", "S2"]


@pytest.mark.parametrize(("extra", "code", "words"), [
    (["--crs", "mars"], 2, "argument --crs: must be wgs84, gcj02"),  # refused by the parser
    (["--lon-col", "经度"], 2, "lon_col='经度' is not a column"),
    (["--encoding", "klingon"], 2, "cannot decode as klingon"),
])
def test_export_errors_are_one_line(tmp_path, hand_stations_csv, capsys, extra, code, words):
    args = ["export", str(hand_stations_csv), "--format", "csv", "--out", str(tmp_path / "o.csv")]
    assert main([*args, *extra]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(("stationplan: error:",
                                                 "stationplan export: error:"))
    assert words in err[0]


def test_export_missing_file(tmp_path, capsys):
    assert main(["export", str(tmp_path / "none.csv"), "--format", "kml",
                 "--out", str(tmp_path / "o.kml")]) == 3
    assert "not found" in capsys.readouterr().err
