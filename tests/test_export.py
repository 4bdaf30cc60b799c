"""Tests for stationplan.export: every file is parsed back with an independent reader."""

import csv
import json
import math
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely

from stationplan import chinacrs, export
from stationplan.export import (
    write_amap_sheet,
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
FORMATS = ["geojson", "csv", "kml", "gpx", "amap"]

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
    assert list(rows[0])[-6:] == ["wgs84_lng", "wgs84_lat", "gcj02_lng", "gcj02_lat",
                                  "bd09_lng", "bd09_lat"]
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
        assert all(len(row[c].split(".")[1]) >= 6 for c in list(row)[-6:])
        gcj = chinacrs.wgs84_to_gcj02(*point)
        assert float(row["gcj02_lng"]) == pytest.approx(gcj[0], abs=5e-8)
        assert float(row["gcj02_lat"]) == pytest.approx(gcj[1], abs=5e-8)
        bd = chinacrs.wgs84_to_bd09(*point)
        assert float(row["bd09_lng"]) == pytest.approx(bd[0], abs=5e-8)
        assert float(row["bd09_lat"]) == pytest.approx(bd[1], abs=5e-8)
    assert float(rows[0]["gcj02_lng"]) == pytest.approx(BEIJING_GCJ[0], abs=5e-8)
    assert float(rows[0]["gcj02_lat"]) == pytest.approx(BEIJING_GCJ[1], abs=5e-8)


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
    sheet = read_csv_rows(write_amap_sheet(frame, tmp_path / "b.csv"))
    assert sheet[0]["名称"] == "'" + cell


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


# --- Amap listing sheet ----------------------------------------------------------------

AMAP_HEADER = ["名称", "地址", "经度(GCJ-02)", "纬度(GCJ-02)", "电话", "营业时间", "服务设施",
               "高德地图链接", "站点编号"]


def test_amap_sheet_columns_and_coordinates(stations, tmp_path):
    path = write_amap_sheet(stations, tmp_path / "amap.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = read_csv_rows(path)
    assert list(rows[0]) == AMAP_HEADER
    assert [r["站点编号"] for r in rows] == ["s1", "s5", "s7"]  # existing only by default
    s1, s5, s7 = rows
    assert s1["名称"] == "新乐市爱心驿站🚴‍♂️"
    assert s1["服务设施"] == "饮水、休息座椅、手机充电"
    assert s1["营业时间"] == "08:00-22:00"
    # Exactly 6 decimals, equal to chinacrs and to the published Beijing vector.
    assert (s1["经度(GCJ-02)"], s1["纬度(GCJ-02)"]) == ("116.384047", "39.913345")
    assert (s1["经度(GCJ-02)"], s1["纬度(GCJ-02)"]) == tuple(
        f"{c:.6f}" for c in chinacrs.wgs84_to_gcj02(*BEIJING))
    assert float(s1["经度(GCJ-02)"]) == pytest.approx(BEIJING_GCJ[0], abs=5e-7)
    # Amap's own conversion agrees to 1e-6 degrees (the formula is 4 cm off it).
    assert float(s7["经度(GCJ-02)"]) == pytest.approx(AMAP_GCJ[0], abs=1e-6)
    assert float(s7["纬度(GCJ-02)"]) == pytest.approx(AMAP_GCJ[1], abs=1e-6)
    for row in (s1, s7):
        for key in ("经度(GCJ-02)", "纬度(GCJ-02)"):
            assert re.fullmatch(r"\d{1,3}\.\d{6}", row[key])
    assert s5["经度(GCJ-02)"] == s5["纬度(GCJ-02)"] == s5["高德地图链接"] == ""
    assert s5["地址"] == "待定"


def test_amap_links(stations, tmp_path):
    rows = read_csv_rows(write_amap_sheet(stations, tmp_path / "amap.csv", statuses=None))
    assert [r["站点编号"] for r in rows] == [r[0] for r in ROWS]
    for row in rows:
        if not row["高德地图链接"]:
            assert row["站点编号"] not in LOCATED
            continue
        url = urlsplit(row["高德地图链接"])
        assert (url.scheme, url.netloc, url.path) == ("https", "uri.amap.com", "/marker")
        query = parse_qs(url.query, keep_blank_values=True)
        assert query["position"] == [f"{row['经度(GCJ-02)']},{row['纬度(GCJ-02)']}"]
        assert query["coordinate"] == ["gaode"]
        original = next(r[1] for r in ROWS if r[0] == row["站点编号"])
        assert query["name"] == [original]
        assert " " not in row["高德地图链接"]
        assert "<" not in row["高德地图链接"]
    assert rows[2]["名称"] == "'" + ROWS[2][1]  # formula neutralised in the sheet too
    assert rows[2]["地址"] == "-12.5"


def test_amap_status_filter(stations, tmp_path):
    rows = read_csv_rows(write_amap_sheet(stations, tmp_path / "a.csv",
                                          statuses=["proposed", "planned"]))
    assert [r["站点编号"] for r in rows] == ["s2", "s4", "s6"]


# --- shared behaviour ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_deterministic_bytes(stations, tmp_path, fmt):
    first = write_stations(stations, tmp_path / f"a.{fmt}", format=fmt).read_bytes()
    second = write_stations(stations.copy(), tmp_path / f"b.{fmt}", format=fmt).read_bytes()
    assert first == second


@pytest.mark.parametrize("fmt", FORMATS)
def test_atomic_write_leaves_only_the_file(stations, tmp_path, fmt):
    target = tmp_path / "out.dat"
    target.write_bytes(b"old")
    assert write_stations(stations, target, format=fmt) == target
    assert [p.name for p in tmp_path.iterdir()] == ["out.dat"]
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
        write_stations(stations.to_crs(3857), tmp_path / "x", format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_refuses_missing_crs(stations, tmp_path):
    with pytest.raises(ValueError, match=r"no CRS.*set_crs\(4326\)"):
        write_geojson(stations.set_crs(None, allow_override=True), tmp_path / "x")


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
        write_stations(stations, tmp_path / "x", format="shp")


def test_input_is_not_modified(stations, tmp_path):
    before = stations.copy()
    for fmt in FORMATS:
        write_stations(stations, tmp_path / f"x.{fmt}", format=fmt)
    pd.testing.assert_frame_equal(stations, before)


@pytest.mark.parametrize("fmt", FORMATS)
def test_minimal_and_empty_input(tmp_path, fmt):
    minimal = gpd.GeoDataFrame({"station_id": [7], "name": ["站"], "status": ["existing"]},
                               geometry=[shapely.Point(116.4, 39.9)], crs="EPSG:4326")
    path = write_stations(minimal, tmp_path / f"m.{fmt}", format=fmt)
    assert "站".encode() in path.read_bytes()
    empty = minimal.iloc[:0]
    path = write_stations(empty, tmp_path / f"e.{fmt}", format=fmt)
    assert path.stat().st_size > 0
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
