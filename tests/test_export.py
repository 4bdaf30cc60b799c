"""Tests for stationplan.export: every file is parsed back with an independent reader."""

import csv
import json
import math
import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely

from stationplan import chinacrs, export
from stationplan.export import (
    write_amap_maplab,
    write_csv,
    write_geojson,
    write_gpx,
    write_kml,
    write_stations,
)

GEOD = pyproj.Geod(ellps="WGS84")
KML = "{http://www.opengis.net/kml/2.2}"
GPX = "{http://www.topografix.com/GPX/1/1}"
SP = "{urn:stationplan:gpx:1}"
FORMATS = ["geojson", "csv", "xlsx", "kml", "gpx", "amap", "amap-maplab"]
SUFFIX = {"geojson": ".geojson", "csv": ".csv", "xlsx": ".xlsx", "kml": ".kml", "gpx": ".gpx",
          "amap": ".xlsx", "amap-maplab": ".xlsx"}

# Beijing, published WGS-84 -> GCJ-02 vector (CONTEXT.md).
BEIJING = (116.377817, 39.911954)
BEIJING_GCJ = (116.38404722455657, 39.91334545536069)
# Amap's own conversion of this GPS point.
AMAP_GPS = (116.481499, 39.990475)
AMAP_GCJ = (116.487585177952, 39.991754014757)

SCRIPT = "<script>alert('x')</script> & \"quoted\" ]]>"
ROWS = [
    # station_id, name, status, address, phone, hours, services, reason, point
    ("s1", "新乐市爱心驿站🚴‍♂️", "existing", "新乐市长寿街 1 号", "0311-88888888", "08:00-22:00",
     "drinking_water;seating;phone_charging", None, BEIJING),
    ("s2", SCRIPT, "proposed", None, None, None, "microwave", "gap on 长安路",
     (121.5272106, 31.1774276)),
    ("s3", '=HYPERLINK("http://evil.example","x")', "rejected", "-12.5", "+86 311 1234567",
     "@8-22", None, "-too close", (113.912316, 22.543847)),
    ("s4", "驿站\x00\x07\tA\r\nB", "planned", None, None, None, "tools；unknown_key", None,
     (114.68, 38.34)),
    ("s5", "无坐标站", "existing", "待定", None, None, None, None, None),
    ("s6", "空点", "proposed", None, None, None, None, None, "empty"),
    ("s7", "高德样例", "existing", None, "13800138000", None, "", None, AMAP_GPS),
]
LOCATED = {r[0]: r[8] for r in ROWS if isinstance(r[8], tuple)}


def _geometry(point):
    if point is None:
        return None
    if point == "empty":
        return shapely.Point()
    return shapely.Point(point)


@pytest.fixture
def stations():
    columns = ["station_id", "name", "status", "address", "phone", "hours", "services", "reason"]
    frame = pd.DataFrame([r[:8] for r in ROWS], columns=columns)
    return gpd.GeoDataFrame(frame, geometry=[_geometry(r[8]) for r in ROWS], crs=4326)


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def read_csv_rows(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


# --- GeoJSON ---------------------------------------------------------------------------

def test_geojson_round_trip(stations, tmp_path):
    path = write_geojson(stations, tmp_path / "s.geojson")
    raw = path.read_bytes()
    doc = json.loads(raw.decode("utf-8"))
    assert doc["type"] == "FeatureCollection"
    features = doc["features"]
    assert [f["id"] for f in features] == [r[0] for r in ROWS]
    assert [f["properties"]["station_id"] for f in features] == [r[0] for r in ROWS]
    assert [f["properties"]["name"] for f in features] == [r[1] for r in ROWS]
    assert [f["properties"]["status"] for f in features] == [r[2] for r in ROWS]
    for feature, row in zip(features, ROWS, strict=True):
        if row[0] in LOCATED:
            assert feature["geometry"]["type"] == "Point"
            lng, lat = feature["geometry"]["coordinates"]
            assert metres((lng, lat), row[8]) < 0.5
        else:
            assert feature["geometry"] is None  # kept, not dropped
    s1 = features[0]["properties"]
    assert s1["services"] == ["drinking_water", "seating", "phone_charging"]
    assert s1["address"] == "新乐市长寿街 1 号"
    assert features[1]["properties"]["address"] is None
    assert features[3]["properties"]["services"] == ["tools", "unknown_key"]
    # UTF-8 without \u escapes for Chinese, emoji kept.
    assert "新乐市爱心驿站🚴‍♂️".encode() in raw
    assert b"\\u65b0" not in raw


def test_geojson_rfc7946_precision_and_sorted_keys(stations, tmp_path):
    raw = write_geojson(stations, tmp_path / "s.geojson").read_text(encoding="utf-8")
    doc = json.loads(raw)
    for feature in doc["features"]:
        if feature["geometry"]:
            for value in feature["geometry"]["coordinates"]:
                assert len(repr(value).split(".")[1]) <= 7
    assert raw == json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    assert "NaN" not in raw


# --- CSV -------------------------------------------------------------------------------

def test_csv_round_trip_and_coordinates(stations, tmp_path):
    path = write_csv(stations, tmp_path / "s.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_csv_rows(path)
    assert list(rows[0]) == ["station_id", "name", "status", "kind", "rank", "address", "phone",
                             "hours", "services", "reason", "wgs84_lng", "wgs84_lat",
                             "gcj02_lng", "gcj02_lat", "bd09_lng", "bd09_lat"]
    assert [r["station_id"] for r in rows] == [r[0] for r in ROWS]
    assert [r["status"] for r in rows] == [r[2] for r in ROWS]
    assert rows[0]["name"] == "新乐市爱心驿站🚴‍♂️"
    assert rows[1]["name"] == SCRIPT
    assert rows[3]["name"] == "驿站\x00\x07\tA\r\nB"  # CSV keeps control characters
    for row in rows:
        if row["station_id"] not in LOCATED:
            assert all(row[c] == "" for c in ("wgs84_lng", "gcj02_lat", "bd09_lng"))
            continue
        point = LOCATED[row["station_id"]]
        wgs = (float(row["wgs84_lng"]), float(row["wgs84_lat"]))
        assert metres(wgs, point) < 0.5
        assert all(len(row[c].split(".")[1]) == 6 for c in list(row)[-6:])  # about 0.1 m
        gcj = chinacrs.wgs84_to_gcj02(*point)
        assert (row["gcj02_lng"], row["gcj02_lat"]) == tuple(f"{c:.6f}" for c in gcj)
        bd = chinacrs.wgs84_to_bd09(*point)
        assert (row["bd09_lng"], row["bd09_lat"]) == tuple(f"{c:.6f}" for c in bd)
    assert float(rows[0]["gcj02_lng"]) == pytest.approx(BEIJING_GCJ[0], abs=5e-7)
    assert float(rows[0]["gcj02_lat"]) == pytest.approx(BEIJING_GCJ[1], abs=5e-7)
    # every row is an existing station unless a kind says otherwise; no ranks here
    assert [r["kind"] for r in rows] == ["existing", "proposed", "existing", "existing",
                                         "existing", "proposed", "existing"]
    assert {r["rank"] for r in rows} == {""}


def test_csv_formula_injection_neutralised(stations, tmp_path):
    rows = read_csv_rows(write_csv(stations, tmp_path / "s.csv"))
    s3 = rows[2]
    assert s3["name"] == "'" + ROWS[2][1]
    assert s3["phone"] == "'+86 311 1234567"
    assert s3["hours"] == "'@8-22"
    assert s3["reason"] == "'-too close"
    assert s3["address"] == "-12.5"  # a number, not a formula
    assert rows[0]["phone"] == "0311-88888888"
    formula = re.compile(r"^[=+\-@\t\r]")
    for row in rows:
        for value in row.values():
            if formula.match(value):
                float(value)  # only plain numbers may start like a formula


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\r=1"])
def test_every_formula_start_is_neutralised(tmp_path, cell):
    frame = gpd.GeoDataFrame({"station_id": ["a"], "name": [cell], "status": ["existing"]},
                             geometry=[shapely.Point(116.4, 39.9)], crs=4326)
    assert read_csv_rows(write_csv(frame, tmp_path / "a.csv"))[0]["name"] == "'" + cell
    assert read_csv_rows(write_amap_maplab(frame, tmp_path / "b.csv"))[0]["名称"] == "'" + cell
    # A workbook keeps the text as it is (CR as LF) in a text cell, which Excel never runs;
    # the quote prefix keeps editing the cell from turning it into a formula.
    for fmt in ("xlsx", "amap", "amap-maplab"):
        path = write_stations(frame, tmp_path / f"{fmt}.xlsx", format=fmt)
        written = [c for c in openpyxl.load_workbook(path).worksheets[0][2]
                   if c.value == cell.replace("\r", "\n")]
        assert len(written) == 1, fmt
        assert written[0].data_type == "s"
        assert written[0].quotePrefix == written[0].value.startswith(("=", "+", "-", "@", "\t"))


# --- KML -------------------------------------------------------------------------------

def _placemarks(folder):
    return folder.findall(f"{KML}Placemark")


def _data(placemark):
    return {d.get("name"): d.findtext(f"{KML}value")
            for d in placemark.iter(f"{KML}Data")}


def test_kml_folders_styles_and_names(stations, tmp_path):
    path = write_kml(stations, tmp_path / "s.kml")
    raw = path.read_bytes()
    assert b"<script>" not in raw
    document = ET.parse(path).getroot().find(f"{KML}Document")
    folders = document.findall(f"{KML}Folder")
    names = [f.findtext(f"{KML}name") for f in folders]
    assert names == [
        "现有站点 (existing)", "拟建站点 (proposed)", "未采用站点 (rejected)", "planned"]
    by_folder = {n: [_data(p)["station_id"] for p in _placemarks(f)]
                 for n, f in zip(names, folders, strict=True)}
    assert by_folder == {names[0]: ["s1", "s5", "s7"], names[1]: ["s2", "s6"],
                         names[2]: ["s3"], names[3]: ["s4"]}
    styles = {s.get("id"): s.findtext(f"{KML}IconStyle/{KML}Icon/{KML}href")
              for s in document.findall(f"{KML}Style")}
    assert len(set(styles.values())) == len(styles) == 4
    for folder in folders:
        for placemark in _placemarks(folder):
            style = placemark.findtext(f"{KML}styleUrl")
            assert style.startswith("#")
            assert style[1:] in styles
            status = _data(placemark)["status"]
            assert style == "#status-" + (status if status != "planned" else "other")


def test_kml_and_xlsx_names_in_a_chinese_run(stations, tmp_path):
    # a Chinese run's KML is 站点 with folders 现有站点 …, its workbook's sheet 站点; the
    # English names stay as they were
    document = ET.parse(write_stations(stations, tmp_path / "s.kml", format="kml", lang="zh")
                        ).getroot().find(f"{KML}Document")
    assert document.findtext(f"{KML}name") == "站点"
    assert [f.findtext(f"{KML}name") for f in document.findall(f"{KML}Folder")] == [
        "现有站点", "拟建站点", "未采用站点", "planned"]
    assert ET.parse(write_kml(stations, tmp_path / "e.kml")).getroot().findtext(
        f"{KML}Document/{KML}name") == "stations"
    for lang, sheet in (("zh", "站点"), ("en", "stations")):
        path = write_stations(stations, tmp_path / f"{lang}.xlsx", format="xlsx", lang=lang)
        assert openpyxl.load_workbook(path).sheetnames == [sheet]


def test_export_log_lines_are_chinese_in_a_chinese_run(stations, tmp_path, caplog):
    # the warnings and the "wrote" lines of the writers, and the command line's count
    import logging

    from stationplan._i18n.cli import LogFormatter, log_text

    long = stations.copy()
    long.loc[0, "address"] = "路" * 250
    with caplog.at_level(logging.INFO, logger="stationplan.export"):
        write_stations(long, tmp_path / "a.xlsx", format="amap")
        write_stations(long, tmp_path / "m.xlsx", format="amap-maplab")
        write_stations(long, tmp_path / "x.xlsx", format="xlsx", lang="zh")
    lines = [LogFormatter("zh").format(r) for r in caplog.records]
    assert "警告 高德企业智图每个文本字段最多保留 200 个字符：已截断 1 处（地址）" in lines
    assert any(t.endswith("a.xlsx（高德企业智图标注表）") for t in lines)
    assert any(t.endswith("m.xlsx（高德 Map Lab 上传表）") for t in lines)
    assert any(t.endswith("x.xlsx（Excel 工作簿）") for t in lines)
    for line in lines:  # file names and Map Lab aside, no English words
        rest = re.sub(r"\S*\.xlsx|Map Lab|Excel", "", line)
        assert not re.search("[A-Za-z]{3,}", rest), line
    assert log_text("exported %s", ("34 proposed, 11 existing",), "zh") == (
        "已导出 34 个拟建站点，11 个现有站点")


def test_kml_text_and_coordinates(stations, tmp_path):
    root = ET.parse(write_kml(stations, tmp_path / "s.kml")).getroot()
    placemarks = {_data(p)["station_id"]: p for p in root.iter(f"{KML}Placemark")}
    assert set(placemarks) == {r[0] for r in ROWS}  # none dropped
    assert placemarks["s1"].findtext(f"{KML}name") == "新乐市爱心驿站🚴‍♂️"
    assert placemarks["s2"].findtext(f"{KML}name") == SCRIPT
    # XML 1.0 cannot hold NUL or BEL: removed; tab kept; CR LF becomes LF.
    assert placemarks["s4"].findtext(f"{KML}name") == "驿站\tA\nB"
    description = placemarks["s1"].findtext(f"{KML}description")
    expected = ("饮水", "休息座椅", "手机充电", "新乐市长寿街 1 号", "08:00-22:00", "0311-88888888")
    for text in expected:
        assert text in description
    assert placemarks["s1"].findtext(f"{KML}address") == "新乐市长寿街 1 号"
    # The description is HTML: the name inside it stays escaped, so it cannot run.
    assert "<script>" not in placemarks["s2"].findtext(f"{KML}description")
    assert "gap on 长安路" in placemarks["s2"].findtext(f"{KML}description")
    assert _data(placemarks["s3"])["address"] == "-12.5"
    for sid, placemark in placemarks.items():
        coordinates = placemark.findtext(f"{KML}Point/{KML}coordinates")
        if sid in LOCATED:
            lng, lat = map(float, coordinates.split(","))
            assert metres((lng, lat), LOCATED[sid]) < 0.5
        else:
            assert coordinates is None


# --- GPX -------------------------------------------------------------------------------

def test_gpx_waypoints(stations, tmp_path):
    path = write_gpx(stations, tmp_path / "s.gpx")
    root = ET.parse(path).getroot()
    assert root.tag == f"{GPX}gpx"
    assert root.get("version") == "1.1"
    waypoints = root.findall(f"{GPX}wpt")
    assert [w.findtext(f"{GPX}type") for w in waypoints] == [
        r[2] for r in ROWS if r[0] in LOCATED]
    names = [w.findtext(f"{GPX}name") for w in waypoints]
    assert names == ["新乐市爱心驿站🚴‍♂️", SCRIPT, ROWS[2][1], "驿站\tA\nB", "高德样例"]
    located = [LOCATED[r[0]] for r in ROWS if r[0] in LOCATED]
    for waypoint, point in zip(waypoints, located, strict=True):
        assert metres((float(waypoint.get("lon")), float(waypoint.get("lat"))), point) < 0.5
    desc = waypoints[0].findtext(f"{GPX}desc")
    assert "饮水" in desc
    assert "新乐市长寿街 1 号" in desc
    # Child order follows the GPX 1.1 schema: name, desc, type.
    assert [c.tag for c in waypoints[0]] == [f"{GPX}name", f"{GPX}desc", f"{GPX}type"]
    unlocated = root.findall(f"{GPX}extensions/{SP}unlocated")
    assert [(u.get("station_id"), u.get("status"), u.text) for u in unlocated] == [
        ("s5", "existing", "无坐标站"), ("s6", "proposed", "空点")]


def test_gpx_without_unlocated_has_no_extensions(stations, tmp_path):
    located = stations[stations["station_id"].isin(list(LOCATED))]
    root = ET.parse(write_gpx(located, tmp_path / "s.gpx")).getroot()
    assert root.find(f"{GPX}extensions") is None
    assert len(root.findall(f"{GPX}wpt")) == len(LOCATED)


# --- shared behaviour ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_bytes(stations, tmp_path, fmt):
    first = write_stations(stations, tmp_path / f"a{SUFFIX[fmt]}", format=fmt).read_bytes()
    second = write_stations(stations.copy(), tmp_path / f"b{SUFFIX[fmt]}",
                            format=fmt).read_bytes()
    assert first == second


@pytest.mark.parametrize("fmt", FORMATS)
def test_atomic_write_leaves_only_the_file(stations, tmp_path, fmt):
    target = tmp_path / f"out{SUFFIX[fmt]}"
    target.write_bytes(b"old")
    assert write_stations(stations, target, format=fmt) == target
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert target.read_bytes() != b"old"


def test_failed_write_keeps_old_file_and_removes_temp(stations, tmp_path, monkeypatch):
    target = tmp_path / "out.geojson"
    target.write_bytes(b"old")

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(export.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        write_geojson(stations, target)
    assert [p.name for p in tmp_path.iterdir()] == ["out.geojson"]
    assert target.read_bytes() == b"old"


def test_missing_directory_is_reported(stations, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_csv(stations, tmp_path / "nope" / "s.csv")


@pytest.mark.parametrize("fmt", FORMATS)
def test_refuses_projected_crs(stations, fmt, tmp_path):
    with pytest.raises(ValueError, match=r"EPSG:3857.*\.to_crs\(4326\)"):
        write_stations(stations.to_crs(3857), tmp_path / f"x{SUFFIX[fmt]}", format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_refuses_missing_crs(stations, tmp_path):
    with pytest.raises(ValueError, match=r"no CRS.*set_crs\(4326\)"):
        write_geojson(stations.set_crs(None, allow_override=True), tmp_path / "x.geojson")


def test_reports_all_problems_together(stations, tmp_path):
    bad = stations.drop(columns=["status"])
    bad.loc[0, "geometry"] = shapely.Point(39.9, 116.4)
    with pytest.raises(ValueError, match=r"missing column\(s\) status.*'s1'.*swapped"):
        write_csv(bad, tmp_path / "x.csv")


def test_refuses_non_points(stations, tmp_path):
    bad = stations.copy()
    bad.loc[1, "geometry"] = shapely.box(116, 39, 116.1, 39.1)
    with pytest.raises(ValueError, match=r"not points.*'s2'"):
        write_kml(bad, tmp_path / "x.kml")


def test_refuses_non_geodataframe(tmp_path):
    with pytest.raises(TypeError, match="GeoDataFrame"):
        write_csv(pd.DataFrame({"station_id": ["a"]}), tmp_path / "x.csv")


def test_unknown_format(stations, tmp_path):
    with pytest.raises(ValueError, match=r"format='shp'.*geojson"):
        write_stations(stations, tmp_path / "x.shp", format="shp")


@pytest.mark.parametrize(("fmt", "name", "words"), [
    ("kml", "a.xlsx", "the kml format writes .kml files, not .xlsx; name the file a.kml, or "
                      "use a format that writes .xlsx: xlsx, amap, amap-maplab"),
    ("amap", "a.csv", "the amap format writes .xlsx files, not .csv; name the file a.xlsx, or "
                      "use a format that writes .csv: csv, amap-maplab"),
    ("csv", "a.xlsx", "not .xlsx"),
    ("xlsx", "a.xls", "the xlsx format writes .xlsx files, not .xls; name the file a.xlsx"),
    ("geojson", "a", "the geojson format writes .geojson or .json files and the name has no "
                     "suffix; name the file a.geojson"),
])
def test_suffix_must_match_the_format(stations, tmp_path, fmt, name, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        write_stations(stations, tmp_path / name, format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_suffixes_are_compared_without_case(stations, tmp_path):
    assert write_stations(stations, tmp_path / "A.XLSX", format="amap").exists()
    assert write_stations(stations, tmp_path / "b.JSON", format="geojson").exists()


def test_input_is_not_modified(stations, tmp_path):
    before = stations.copy()
    for fmt in FORMATS:
        write_stations(stations, tmp_path / f"x-{fmt}{SUFFIX[fmt]}", format=fmt)
    pd.testing.assert_frame_equal(stations, before)


@pytest.mark.parametrize("fmt", FORMATS)
def test_minimal_and_empty_input(tmp_path, fmt):
    minimal = gpd.GeoDataFrame({"station_id": [7], "name": ["站"], "status": ["existing"]},
                               geometry=[shapely.Point(116.4, 39.9)], crs="EPSG:4326")
    path = write_stations(minimal, tmp_path / f"m{SUFFIX[fmt]}", format=fmt)
    if path.suffix == ".xlsx":
        assert "站" in [c.value for c in openpyxl.load_workbook(path).worksheets[0][2]]
    else:
        assert "站".encode() in path.read_bytes()
    empty = minimal.iloc[:0]
    path = write_stations(empty, tmp_path / f"e{SUFFIX[fmt]}", format=fmt)
    assert path.stat().st_size > 0
    if path.suffix == ".xlsx":  # the header row alone
        assert openpyxl.load_workbook(path).worksheets[0].max_row == 1
    if fmt == "geojson":
        assert json.loads(path.read_text(encoding="utf-8"))["features"] == []
    if fmt in ("kml", "gpx"):
        ET.parse(path)


def test_integer_ids_become_text(tmp_path):
    frame = gpd.GeoDataFrame({"station_id": [12], "name": ["a"], "status": ["existing"]},
                             geometry=[shapely.Point(116.4, 39.9)], crs=4326)
    doc = json.loads(write_geojson(frame, tmp_path / "x.geojson").read_text(encoding="utf-8"))
    assert doc["features"][0]["id"] == "12"


def test_unlocated_stations_are_logged(stations, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="stationplan.export"):
        write_gpx(stations, tmp_path / "x.gpx")
    assert "2 of 7 stations have no location" in caplog.text


def test_coordinates_are_not_nan_strings(stations, tmp_path):
    text = write_csv(stations, tmp_path / "x.csv").read_text(encoding="utf-8-sig")
    assert "nan" not in text.lower()
    assert not any(math.isnan(float(v)) for row in read_csv_rows(tmp_path / "x.csv")
                   for k, v in row.items() if k.endswith(("_lng", "_lat")) and v)
