"""Reading station files as planners have them: formats, encodings, headers, CRSs, bad rows."""

from __future__ import annotations

import json
import re
import zipfile

import geopandas as gpd
import openpyxl
import pyproj
import pytest
import shapely

import stationplan as sp
from stationplan import chinacrs

GEOD = pyproj.Geod(ellps="WGS84")
# Published vectors (CONTEXT.md): Amap's own conversion of a GPS point, and Beijing.
AMAP_GPS, AMAP_GCJ = (116.481499, 39.990475), (116.487585177952, 39.991754014757)
BEIJING, BEIJING_GCJ = (116.377817, 39.911954), (116.38404722455657, 39.91334545536069)
BD_SRC_GCJ, BD_SRC_BD = (128.543, 37.065), (128.54944656269413, 37.07113427883019)


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def xy(stations, i):
    g = stations.geometry.iloc[i]
    return g.x, g.y


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# --- Proof: real-looking files ---------------------------------------------------------

def test_gbk_csv_with_chinese_headers_and_fullwidth_commas(tmp_path):
    """Chinese Excel's CSV: GBK, a title row, Chinese headers, full-width digits and commas."""
    text = (
        "新乐市爱心驿站名单（2024年）,,,,,,\n"
        "驿站名称,详细地址,经度，纬度,联系电话,开放时间,饮水,座椅\n"
        "长寿街爱心驿站,新乐市长寿街１号,１１４．６８１２３４，３８．３４５６７８,0311-88888888,"
        "08:00-22:00,是,√\n"
        "　中同街驿站,中同街,114.690123，38.351234,,全天,否,有\n"
        ",,,,,,\n"
        "#N/A,#N/A,#N/A,#N/A,#N/A,#N/A,#N/A\n"
        "坏数据,x,114.7，abc,,,,\n"
    )
    path = write(tmp_path / "驿站.csv", text, "gbk")
    st = sp.read_stations(path)
    assert st["name"].tolist() == ["长寿街爱心驿站", "中同街驿站", "坏数据"]
    assert st["status"].tolist() == ["ok", "ok", "invalid"]
    assert st["row"].tolist() == [3, 4, 7]  # true line numbers; blank and #N/A rows skipped
    assert xy(st, 0) == pytest.approx((114.681234, 38.345678), abs=1e-9)
    assert xy(st, 1) == pytest.approx((114.690123, 38.351234), abs=1e-9)
    assert st["address"].iat[0] == "新乐市长寿街１号"  # text is kept as written
    assert st["phone"].iat[0] == "0311-88888888"
    assert st["hours"].tolist() == ["08:00-22:00", "全天", ""]
    assert st["services"].tolist() == ["drinking_water;seating", "seating", ""]
    assert "驿站.csv row 7" in st["reason"].iat[2]
    assert "'abc' is not a number" in st["reason"].iat[2]
    report = st.attrs["read_report"]
    assert (report["encoding"], report["header_row"], report["blank_rows_skipped"]) == (
        "gb18030", 2, 2)


def test_file_typed_with_fullwidth_comma_delimiters(tmp_path):
    path = write(tmp_path / "s.txt", "名称，经度，纬度\n驿站，114.5123，38.0456\n", "gbk")
    st = sp.read_stations(path)
    assert st["name"].tolist() == ["驿站"]
    assert xy(st, 0) == pytest.approx((114.5123, 38.0456))


def test_xlsx_with_title_row_above_the_header(tmp_path):
    book = openpyxl.Workbook()
    other = book.active
    other.title = "说明"
    other.append(["本表由街道办填写"])
    sheet = book.create_sheet("站点")
    sheet.append(["石家庄市户外劳动者服务站点一览表"])
    sheet.merge_cells("A1:F1")
    sheet.append([])
    sheet.append(["序号", "站点名称", "地址", "经度", "纬度", "营业时间", "微波炉", "医药箱"])
    sheet.append([1, "中山路站", "中山路 1 号", 114.514238, 38.042307, "08:00-22:00", "有", "无"])
    sheet.append([2, "裕华路站", "裕华路", "114°30′53.6″", "38度2分30秒", None, None, "√"])
    sheet.append([None, None, None, None, None, None, None, None])
    sheet.append([3, "平安站", "", 114.52, 38.05, None, None, None])
    path = tmp_path / "站点.xlsx"
    book.save(path)

    with pytest.raises(sp.InputError, match="no longitude/latitude columns"):
        sp.read_stations(path)  # the first sheet is the notes sheet
    st = sp.read_stations(path, sheet="站点")
    assert st["name"].tolist() == ["中山路站", "裕华路站", "平安站"]
    assert st["station_id"].tolist() == ["1", "2", "3"]
    assert st["row"].tolist() == [4, 5, 7]  # Excel row numbers
    assert xy(st, 0) == (114.514238, 38.042307)
    assert xy(st, 1) == pytest.approx((114 + 30 / 60 + 53.6 / 3600, 38 + 2 / 60 + 30 / 3600))
    assert st["services"].tolist() == ["microwave", "first_aid", ""]
    assert "rounded by Excel" in st["note"].iat[2]
    assert st["note"].iat[0] == ""
    assert st.attrs["read_report"]["header_row"] == 3
    assert sp.read_stations(path, sheet=1)["name"].iat[0] == "中山路站"
    with pytest.raises(sp.InputError, match=r"no sheet '汇总'; the sheets are \['说明', '站点'\]"):
        sp.read_stations(path, sheet="汇总")


def test_amap_style_lng_lat_column(tmp_path):
    """Amap exports one "lng,lat" column in GCJ-02; with crs="gcj02" it becomes WGS-84."""
    lng, lat = AMAP_GCJ
    text = (f'名称,"lng,lat",地址\n望京站,"{lng},{lat}",望京街\n'
            f"全角站,{lng:.6f}，{lat:.6f},\n")
    path = write(tmp_path / "amap.csv", text)
    st = sp.read_stations(path, crs="gcj02")
    assert st["status"].tolist() == ["ok", "ok"]
    assert metres(xy(st, 0), AMAP_GPS) < 0.05
    assert metres(xy(st, 1), AMAP_GPS) < 0.5
    assert st["src_crs"].tolist() == ["gcj02", "gcj02"]
    assert (st["src_lon"].iat[0], st["src_lat"].iat[0]) == (lng, lat)
    # Unquoted, the pair spills into a second cell; the last column takes it back.
    spill = write(tmp_path / "spill.csv", f"名称,坐标\n站,{lng},{lat}\n")
    assert metres(xy(sp.read_stations(spill, crs="gcj02"), 0), AMAP_GPS) < 0.05
    # Baidu's "lat,lng" order is recognised from the header.
    baidu = write(tmp_path / "baidu.csv", f'name,"lat,lng"\nA,"{lat},{lng}"\n')
    assert xy(sp.read_stations(baidu), 0) == (lng, lat)


def test_swapped_coordinates_are_detected_and_fixed(tmp_path):
    """In China the longitude is the larger number: swapped columns are unambiguous."""
    text = ("name,lon,lat\n"
            "right,114.514238,38.042307\n"
            "swapped,38.042307,114.514238\n"
            "xinjiang swapped,43.8,87.6\n"  # both in range, but only the swap is in China
            "helsinki,24.94,60.17\n")  # outside China: left alone
    st = sp.read_stations(write(tmp_path / "s.csv", text))
    assert st["status"].tolist() == ["ok"] * 4
    assert xy(st, 1) == xy(st, 0)
    assert xy(st, 2) == (87.6, 43.8)
    assert xy(st, 3) == (24.94, 60.17)
    assert "s.csv row 3: columns 'lon'/'lat': (38.042307, 114.514238) only makes sense swapped" \
        in st["note"].iat[1]
    assert "swapped" in st["note"].iat[2]
    assert "swapped" not in st["note"].iat[3]
    assert st.attrs["read_report"]["swapped_fixed"] == 2


# --- encodings and headers -------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_encodings_are_detected(tmp_path, encoding):
    name = "爱心驿站" if encoding == "gbk" else "爱心驿站·𠀀"  # 𠀀 is outside GBK
    path = write(tmp_path / "s.csv", f"名称,经度,纬度\n{name},114.5,38.0\n", encoding)
    st = sp.read_stations(path)
    assert st["name"].iat[0] == name
    assert xy(st, 0) == (114.5, 38.0)


def test_encoding_option_forces_one(tmp_path):
    path = write(tmp_path / "s.csv", "名称,经度,纬度\n驿站,114.5,38.0\n", "gbk")
    with pytest.raises(sp.InputError, match="cannot decode as utf-8"):
        sp.read_stations(path, encoding="utf-8")
    assert sp.read_stations(path, encoding="gbk")["name"].iat[0] == "驿站"


@pytest.mark.parametrize("header", [
    "Name,LON,LAT", "名称,经度,纬度", "站点名称,Lng,Lat",
    "驿站名称,Ｌｏｎｇｉｔｕｄｅ,Ｌａｔｉｔｕｄｅ", "名称（必填）,经　度,纬　度", "NAME,X,Y",
    "名称,东经,北纬", "name,wgs84_lng,wgs84_lat",
])
def test_header_aliases_are_case_and_width_insensitive(tmp_path, header):
    st = sp.read_stations(write(tmp_path / "s.csv", f"{header}\n站,114.5,38.25\n"))
    assert st["name"].iat[0] == "站"
    assert xy(st, 0) == (114.5, 38.25)


def test_column_overrides(tmp_path):
    path = write(tmp_path / "s.csv", "站名备注,东,北,坐标\nA,114.5,38.25,\"114.6,38.3\"\n")
    st = sp.read_stations(path, lon_col="东", lat_col="北", name_col="站名备注")
    assert (st["name"].iat[0], xy(st, 0)) == ("A", (114.5, 38.25))
    pair = sp.read_stations(path, lon_col="坐标", lat_col="坐标", name_col="站名备注")
    assert xy(pair, 0) == (114.6, 38.3)
    with pytest.raises(sp.InputError, match=r"lon_col='经度' is not a column of the header"):
        sp.read_stations(path, lon_col="经度", lat_col="北")


def test_columns_named_like_outputs_keep_their_values_with_a_prefix(tmp_path):
    text = "name,lon,lat,row,note,状态,services,geometry\nA,114.5,38.25,7,备注,拟建,饮水、充电,x\n"
    st = sp.read_stations(write(tmp_path / "s.csv", text))
    assert st["row"].iat[0] == 2
    assert st["input_row"].iat[0] == "7"
    assert st["input_note"].iat[0] == "备注"
    assert st["input_status"].iat[0] == "拟建"
    assert st["services"].iat[0] == "drinking_water;phone_charging"
    assert st["input_geometry"].iat[0] == "x"
    assert st.geometry.iat[0].x == 114.5


# --- validation ------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value"), [
    ("114°30′53.6″", 114 + 30 / 60 + 53.6 / 3600),
    ("114度30分53.6秒", 114 + 30 / 60 + 53.6 / 3600),
    ("114 30 53.6", 114 + 30 / 60 + 53.6 / 3600),
    ("114°30.5'", 114 + 30.5 / 60),
    ("E114.5", 114.5),
    ("东经114.5°", 114.5),
    ("１１４．５", 114.5),
])
def test_degree_minute_second_strings(tmp_path, cell, value):
    st = sp.read_stations(write(tmp_path / "s.csv", f"name\tlon\tlat\nA\t{cell}\t38.123456\n"))
    assert st["status"].iat[0] == "ok"
    assert st.geometry.iat[0].x == pytest.approx(value, abs=1e-12)


def test_every_problem_of_a_row_is_reported_together(tmp_path):
    text = ("name,lon,lat\nA,abc,\nB,inf,38.1\nC,114.5,#N/A\nD,114°75′,38.1\nE,181,38.1\n"
            "F,114.5,-91\n")
    st = sp.read_stations(write(tmp_path / "s.csv", text))
    assert (st["status"] == "invalid").all()
    reasons = st["reason"].tolist()
    assert reasons[0].startswith("s.csv row 2: column 'lon': 'abc' is not a number")
    assert "column 'lat': value is missing" in reasons[0]
    assert "'inf' is not a finite number" in reasons[1]
    assert "column 'lat': value is missing (#N/A)" in reasons[2]
    assert "'114°75′' is not a number" in reasons[3]
    assert "longitude 181.0 is out of range" in reasons[4]
    assert "latitude -91.0 is out of range" in reasons[5]
    assert st.geometry.isna().all()
    assert st.attrs["read_report"]["invalid"] == 6


def test_duplicates_and_near_duplicates_are_noted_and_kept(tmp_path):
    def at(dx_m, dy_m):
        lon, lat, _ = GEOD.fwd(114.5, 38.0, 90, dx_m)
        lon, lat, _ = GEOD.fwd(lon, lat, 0, dy_m)
        return f"{lon:.8f},{lat:.8f}"

    text = "\n".join([
        "name,lon,lat",
        f"爱心驿站,{at(0, 0)}", f"爱心驿站,{at(30, 0)}",  # same name 30 m apart
        f"甲站,{at(1000, 0)}", f"乙站,{at(1002, 0)}",  # two names at one spot
        f"丙站,{at(3000, 0)}", f"丙站,{at(8000, 0)}",  # same name, other district: fine
    ]) + "\n"
    st = sp.read_stations(write(tmp_path / "s.csv", text))
    notes = st["note"].tolist()
    assert len(st) == 6 and (st["status"] == "ok").all()
    assert re.search(r"the same name as row 3 \('爱心驿站'\) is (29.9|30.0) m away", notes[0])
    assert "row 2" in notes[1]
    assert re.search(r"a station as row 5 \('乙站'\) is (1.9|2.0) m away", notes[2])
    assert notes[4] == notes[5] == ""
    assert st.attrs["read_report"]["possible_duplicates"] == 4


def test_file_without_stations(tmp_path):
    with pytest.raises(sp.MissingDataError, match="header but no station rows"):
        sp.read_stations(write(tmp_path / "s.csv", "名称,经度,纬度\n,,\n"))
    with pytest.raises(sp.InputError, match=r"unsupported station file type '\.dwg'"):
        sp.read_stations(write(tmp_path / "s.dwg", "x"))


# --- coordinate systems ----------------------------------------------------------------

@pytest.mark.parametrize(("crs", "given", "wgs"), [
    ("gcj02", BEIJING_GCJ, BEIJING),
    ("GCJ-02", AMAP_GCJ, AMAP_GPS),
    ("bd09", BD_SRC_BD, chinacrs.gcj02_to_wgs84(*BD_SRC_GCJ)),
    ("wgs84", BEIJING, BEIJING),
    ("cgcs2000", BEIJING, BEIJING),
    ("EPSG:4490", BEIJING, BEIJING),
])
def test_crs_option_converts_to_wgs84(tmp_path, crs, given, wgs):
    path = write(tmp_path / "s.csv", f"name,lon,lat\nA,{given[0]!r},{given[1]!r}\n")
    st = sp.read_stations(path, crs=crs)
    assert metres(xy(st, 0), wgs) < 0.05  # Amap's own conversion differs by 4 cm
    assert (st["src_lon"].iat[0], st["src_lat"].iat[0]) == given


@pytest.mark.parametrize("epsg", [32650, 3857, 4547])  # UTM 50N, web mercator, CGCS2000 GK
def test_projected_coordinates_in_x_y_columns(tmp_path, epsg):
    x, y = pyproj.Transformer.from_crs(4326, epsg, always_xy=True).transform(*BEIJING)
    text = f"name,x,y\nA,{x:.3f},{y:.3f}\nswapped,{y:.3f},{x:.3f}\nfar,1e9,2e9\n"
    st = sp.read_stations(write(tmp_path / "s.csv", text), crs=f"EPSG:{epsg}")
    assert metres(xy(st, 0), BEIJING) < 0.01
    assert metres(xy(st, 1), BEIJING) < 0.01
    assert "swapped" in st["note"].iat[1]
    assert st["status"].tolist() == ["ok", "ok", "invalid"]
    assert "outside the area of" in st["reason"].iat[2]
    assert st["src_crs"].iat[0] == f"EPSG:{epsg}"


def test_crs_from_the_header_and_conflicts(tmp_path):
    text = f"名称,经度(GCJ-02),纬度(GCJ-02)\nA,{AMAP_GCJ[0]},{AMAP_GCJ[1]}\n"
    path = write(tmp_path / "s.csv", text)
    st = sp.read_stations(path)
    assert metres(xy(st, 0), AMAP_GPS) < 0.05
    assert st["src_crs"].iat[0] == "gcj02"
    # The header declares GCJ-02: a general crs option does not change it ...
    named = sp.read_stations(path, crs="wgs84")
    assert metres(xy(named, 0), AMAP_GPS) < 0.05
    assert named.attrs["read_report"]["crs_from"] == "header"
    # ... and an option about this one file that disagrees is an error.
    with pytest.raises(sp.InputError, match=r"labelled gcj02, but crs='wgs84' was given"):
        sp.read_stations(path, crs="wgs84", force_crs=True)
    with pytest.raises(sp.InputError, match=r"crs='mars' is not a coordinate system"):
        sp.read_stations(path, crs="mars")


# --- map files -------------------------------------------------------------------------

def test_geojson_points_nulls_other_geometries_and_legacy_crs(tmp_path):
    features = [
        {"type": "Feature", "id": 7, "properties": {"name": "点", "电话": 13800138000},
         "geometry": {"type": "Point", "coordinates": [114.5, 38.0, 50]}},
        {"type": "Feature", "properties": {"name": "无点"}, "geometry": None},
        {"type": "Feature", "properties": {"name": "面"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
        {"type": "Feature", "properties": {"name": "多点", "services": ["seating", "AED"]},
         "geometry": {"type": "MultiPoint", "coordinates": [[114.6, 38.1]]}},
    ]
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    st = sp.read_stations(path)
    assert st["status"].tolist() == ["ok", "invalid", "invalid", "ok"]
    assert st["station_id"].tolist() == ["7", "2", "3", "4"]
    assert st["phone"].iat[0] == "13800138000"
    assert st["services"].iat[3] == "seating;aed"
    assert "s.geojson feature 2: the feature has no geometry" in st["reason"].iat[1]
    assert "Polygon, not a point" in st["reason"].iat[2]
    # pre-RFC 7946 files may carry a "crs" member
    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(114.5, 38.0)
    legacy = {"type": "FeatureCollection",
              "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},
              "features": [{"type": "Feature", "properties": {"name": "m"},
                            "geometry": {"type": "Point", "coordinates": [x, y]}}]}
    path.write_text(json.dumps(legacy), "utf-8")
    assert xy(sp.read_stations(path), 0) == pytest.approx((114.5, 38.0))


def test_geopackage_in_any_crs_becomes_wgs84(tmp_path):
    frame = gpd.GeoDataFrame({"站点名称": ["甲", "乙"], "饮水": ["是", "否"]},
                             geometry=[shapely.Point(*BEIJING), shapely.Point(116.4, 39.9)],
                             crs=4326).to_crs(32650)
    path = tmp_path / "s.gpkg"
    frame.to_file(path, layer="stations", engine="pyogrio")
    st = sp.read_stations(path)
    assert st["name"].tolist() == ["甲", "乙"]
    assert metres(xy(st, 0), BEIJING) < 0.01
    assert st["src_crs"].iat[0] == "EPSG:32650"
    assert st["services"].tolist() == ["drinking_water", ""]
    with pytest.raises(sp.InputError, match="no layer 'x'"):
        sp.read_stations(path, sheet="x")


def test_shapefile_without_prj_needs_a_crs(tmp_path):
    frame = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[shapely.Point(*BEIJING_GCJ)], crs=4326)
    path = tmp_path / "s.shp"
    frame.to_file(path, engine="pyogrio", encoding="utf-8")
    path.with_suffix(".prj").unlink()
    with pytest.raises(sp.InputError, match=r"no coordinate reference system.*\.prj.*--crs"):
        sp.read_stations(path)
    st = sp.read_stations(path, crs="gcj02")  # Amap coordinates saved without a .prj
    assert metres(xy(st, 0), BEIJING) < 0.01


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>我的地图</name>
<Folder><name>驿站</name>
  <Placemark><name>长寿街驿站</name><description>有饮水机</description>
    <ExtendedData><Data name="电话"><value>0311-1234</value></Data>
      <Data name="饮水"><value>是</value></Data></ExtendedData>
    <Point><coordinates> 114.681234,38.345678,0 </coordinates></Point></Placemark>
  <Placemark><name>线</name><LineString><coordinates>114,38 115,39</coordinates></LineString>
  </Placemark>
</Folder>
<Placemark><name>无点</name></Placemark>
<Placemark><name>表格</name><ExtendedData><SchemaData schemaUrl="#s">
  <SimpleData name="开放时间">全天</SimpleData></SchemaData></ExtendedData>
  <MultiGeometry><Point><coordinates>114.7,38.4</coordinates></Point></MultiGeometry></Placemark>
</Document></kml>
"""


def test_kml_and_kmz_placemarks(tmp_path):
    path = write(tmp_path / "s.kml", KML)
    st = sp.read_stations(path)
    assert st["name"].tolist() == ["长寿街驿站", "线", "无点", "表格"]
    assert st["status"].tolist() == ["ok", "invalid", "invalid", "ok"]
    assert xy(st, 0) == (114.681234, 38.345678)
    assert (st["phone"].iat[0], st["services"].iat[0], st["folder"].iat[0]) == (
        "0311-1234", "drinking_water", "驿站")
    assert st["hours"].iat[3] == "全天"
    assert "s.kml placemark 2: the placemark is a LineString, not a Point" in st["reason"].iat[1]
    kmz = tmp_path / "s.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.writestr("doc.kml", KML)
    assert sp.read_stations(kmz)["name"].tolist() == st["name"].tolist()


def test_gpx_waypoints(tmp_path):
    gpx = ('<?xml version="1.0"?><gpx version="1.1" creator="x" '
           'xmlns="http://www.topografix.com/GPX/1/1">'
           '<wpt lat="38.3" lon="114.6"><name>甲</name><desc>好地方</desc></wpt>'
           '<wpt lat="38.4" lon="114.7"><name>乙</name></wpt>'
           '<trk><trkseg><trkpt lat="1" lon="2"/></trkseg></trk></gpx>')
    st = sp.read_stations(write(tmp_path / "s.gpx", gpx))
    assert st["name"].tolist() == ["甲", "乙"]
    assert st["desc"].iat[0] == "好地方"
    assert xy(st, 1) == (114.7, 38.4)
    with pytest.raises(sp.MissingDataError, match="no waypoints"):
        sp.read_stations(write(tmp_path / "t.gpx", '<gpx xmlns="http://www.topografix.com/GPX/1/1"/>'))
