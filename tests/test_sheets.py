"""Sheets for people and map apps: the Excel export, Amap 企业智图 and Map Lab sheets, a plan's
proposals in every format, check.xlsx. Every file is opened with an independent reader
(openpyxl, csv) and distances are computed with pyproj's geodesic."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import openpyxl
import osmnx as ox
import pyproj
import pytest
import shapely
from handnet import hand_graph, hand_lonlat, shared_sheet, write_hand_stations

import stationplan as sp
from stationplan import chinacrs
from stationplan._options import EXPORT_FORMATS
from stationplan._outdir import EXPORT_SUFFIXES
from stationplan.cli import main
from stationplan.export import write_amap_maplab, write_amap_sheet, write_stations

GEOD = pyproj.Geod(ellps="WGS84")

# The templates (the first four / three columns are the apps' own field names).
AMAP_HEADER = ("名称", "地址", "经度", "纬度", "站点编号", "类型", "状态", "方案序号", "电话",
               "营业时间", "服务设施", "说明", "高德地图链接")
MAPLAB_HEADER = ("名称", "地址", "经纬度", "站点编号", "类型", "状态", "方案序号", "电话",
                 "营业时间", "服务设施", "说明")
XLSX_HEADER = ("station_id", "name", "status", "kind", "rank", "address", "phone", "hours",
               "services", "reason", "wgs84_lng", "wgs84_lat", "gcj02_lng", "gcj02_lat",
               "bd09_lng", "bd09_lat")
SUFFIX = {"xlsx": ".xlsx", "amap": ".xlsx", "amap-maplab": ".xlsx", "csv": ".csv"}
READ_CRS = {"amap": "gcj02", "amap-maplab": "gcj02"}  # plain 经度/纬度, 经纬度 headers

# Beijing, published WGS-84 -> GCJ-02 vector (CONTEXT.md), and Amap's own conversion.
BEIJING = (116.377817, 39.911954)
BEIJING_GCJ = (116.38404722455657, 39.91334545536069)
AMAP_GPS = (116.481499, 39.990475)
AMAP_GCJ = (116.487585177952, 39.991754014757)


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def rows_of(sheet):
    """A worksheet as (header, rows as dicts)."""
    header, *rows = sheet.iter_rows(values_only=True)
    return header, [dict(zip(header, row, strict=True)) for row in rows]


def csv_rows(path, encoding="utf-8"):
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture
def markers():
    return gpd.GeoDataFrame(
        {"station_id": ["b1", "a7", "p1", "x"],
         "name": ["新乐市爱心驿站", "高德样例", "长" * 30, "无坐标站"],
         "status": ["existing", "existing", "proposed", "rejected"],
         "kind": ["existing", "existing", "proposed", "existing"],
         "rank": [None, None, 1, None],
         "address": ["新乐市长寿街 1 号", "", "路" * 250, ""],
         "phone": ["0311-88888888", "", "", ""], "hours": ["08:00-22:00", "", "", ""],
         "services": ["drinking_water;seating", "", "", ""],
         "reason": ["", "", "", "row 9: column 'lat': value is missing"]},
        geometry=[shapely.Point(BEIJING), shapely.Point(AMAP_GPS),
                  shapely.Point(114.68, 38.34), None], crs=4326)


def test_every_export_format_has_its_suffixes():
    assert set(EXPORT_SUFFIXES) == set(EXPORT_FORMATS)
    assert {f for f, suffixes in EXPORT_SUFFIXES.items() if ".xlsx" in suffixes} == {
        "xlsx", "amap", "amap-maplab"}  # .xlsx always means a real workbook


# --- the templates' header rows -------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "header"), [("amap", AMAP_HEADER),
                                             ("amap-maplab", MAPLAB_HEADER),
                                             ("xlsx", XLSX_HEADER)])
def test_workbooks_have_the_templates_header(markers, tmp_path, fmt, header):
    path = write_stations(markers, tmp_path / f"{fmt}.xlsx", format=fmt)
    book = openpyxl.load_workbook(path)
    first = book.worksheets[0]
    assert rows_of(first)[0] == header
    assert first.freeze_panes == "A2"  # one frozen header row
    assert all(c.font.bold for c in first[1])
    for sheet in book.worksheets:
        assert not sheet.merged_cells.ranges  # Map Lab refuses merged cells
        assert rows_of(sheet)[0] == header
        assert all((sheet.column_dimensions[c.column_letter].width or 0) >= 8 for c in sheet[1])


def test_amap_sheet_has_gcj02_numbers_with_six_decimals(markers, tmp_path):
    book = openpyxl.load_workbook(write_amap_sheet(markers, tmp_path / "a.xlsx"))
    _, rows = rows_of(book.worksheets[0])
    assert [r["站点编号"] for r in rows] == ["b1", "a7", "p1"]  # every located station
    b1, a7, p1 = rows
    assert (b1["经度"], b1["纬度"]) == tuple(round(c, 6) for c in chinacrs.wgs84_to_gcj02(*BEIJING))
    assert (b1["经度"], b1["纬度"]) == (116.384047, 39.913345)
    assert b1["经度"] == pytest.approx(BEIJING_GCJ[0], abs=5e-7)
    # Amap's own conversion agrees to 1e-6 degrees (the open formula is 4 cm off it).
    assert (a7["经度"], a7["纬度"]) == pytest.approx(AMAP_GCJ, abs=1e-6)
    sheet = book.worksheets[0]
    for cell in (*sheet["C"][1:], *sheet["D"][1:]):
        assert cell.data_type == "n"
        assert cell.number_format == "0.000000"
    assert (b1["类型"], b1["状态"], b1["方案序号"]) == ("现有", "现有站点", None)
    assert (p1["类型"], p1["状态"], p1["方案序号"]) == ("拟建", "拟建站点", 1)
    assert b1["服务设施"] == "饮水、休息座椅"
    assert (b1["电话"], b1["营业时间"], b1["地址"]) == ("0311-88888888", "08:00-22:00",
                                                  "新乐市长寿街 1 号")


def test_amap_links_and_the_200_character_fields(markers, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="stationplan.export"):
        book = openpyxl.load_workbook(write_amap_sheet(markers, tmp_path / "a.xlsx"))
    _, rows = rows_of(book.worksheets[0])
    for row, original in zip(rows, markers["name"], strict=False):
        link = row["高德地图链接"]
        assert len(link) <= 200
        url = urlsplit(link)
        assert (url.scheme, url.netloc, url.path) == ("https", "uri.amap.com", "/marker")
        query = parse_qs(url.query)
        assert query["position"] == [f"{row['经度']:.6f},{row['纬度']:.6f}"]
        assert query["coordinate"] == ["gaode"]
        assert original.startswith(query["name"][0])
    assert parse_qs(urlsplit(rows[0]["高德地图链接"]).query)["name"] == ["新乐市爱心驿站"]
    assert len(parse_qs(urlsplit(rows[2]["高德地图链接"]).query)["name"][0]) < 30  # shortened
    address = rows[2]["地址"]
    assert len(address) == 200 and address == "路" * 199 + "…"
    assert "at most 200 characters per text field: 2 cut in 地址, 高德地图链接" in caplog.text


def test_stations_without_location_are_on_a_second_sheet(markers, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="stationplan.export"):
        path = write_amap_sheet(markers, tmp_path / "a.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["站点", "无坐标站点"]
    _, rows = rows_of(book.worksheets[1])
    assert len(rows) == 1
    row = rows[0]
    assert (row["站点编号"], row["名称"], row["状态"]) == ("x", "无坐标站", "未采用站点")
    assert rows[0]["经度"] is rows[0]["高德地图链接"] is None
    assert rows[0]["说明"] == "row 9: column 'lat': value is missing"
    assert "1 stations have no location; they are on the sheet 无坐标站点" in caplog.text
    located = markers[markers.geometry.notna()]
    assert openpyxl.load_workbook(write_amap_sheet(located, tmp_path / "b.xlsx")
                                  ).sheetnames == ["站点"]


def test_maplab_sheets(markers, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="stationplan.export"):
        book = openpyxl.load_workbook(write_amap_maplab(markers, tmp_path / "m.xlsx"))
    _, rows = rows_of(book.worksheets[0])
    gcj = chinacrs.wgs84_to_gcj02(*BEIJING)
    assert rows[0]["经纬度"] == f"{gcj[0]:.6f},{gcj[1]:.6f}" == "116.384047,39.913345"
    assert [r["方案序号"] for r in rows] == [None, None, 1]
    assert "Map Lab asks for more than 4 data rows; this sheet has 3" in caplog.text
    raw = write_amap_maplab(markers, tmp_path / "m.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")  # UTF-8, no BOM: the upload reads bytes
    assert b'"116.384047,39.913345"' in raw  # the pair in one quoted cell
    table = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert tuple(table[0]) == MAPLAB_HEADER
    assert [r[3] for r in table[1:]] == ["b1", "a7", "p1", "x"]  # every row, input order
    assert table[4][2] == ""  # no position
    assert table[4][10] == "row 9: column 'lat': value is missing"


# --- back in: every station within 0.5 m ------------------------------------------------------

@pytest.mark.parametrize("fmt", ["amap", "amap-maplab", "xlsx", "csv"])
def test_the_guixi_sheet_goes_out_and_comes_back(tmp_path, fmt):
    src = shared_sheet("guixi_stations.xlsx")  # GCJ-02, declared by its note
    read = sp.read_stations(src)
    out = tmp_path / f"guixi{SUFFIX[fmt]}"
    assert main(["export", str(src), "--format", fmt, "--out", str(out), "--quiet"]) == 0
    back = sp.read_stations(out, crs=READ_CRS.get(fmt)).set_index("station_id")
    ok = read[read["status"] == "ok"]
    assert len(ok) == 11
    for _, row in ok.iterrows():
        again = back.loc[row["station_id"]]
        assert again["status"] == "ok"
        assert again["name"] == row["name"]
        assert again["address"] == row["address"]
        assert metres(row.geometry.coords[0], again.geometry.coords[0]) < 0.5
    if fmt in READ_CRS:  # the Amap sheets give the sheet's own GCJ-02 cells back
        assert set(back["src_crs"].dropna()) == {"gcj02"}
        for _, row in ok.iterrows():
            cells = (row["src_lon"], row["src_lat"])
            again = back.loc[row["station_id"]]
            assert (again["src_lon"], again["src_lat"]) == pytest.approx(cells, abs=1.1e-6)


def test_the_guixi_amap_sheet_is_in_chinese(tmp_path):
    src = shared_sheet("guixi_stations.xlsx")
    out = tmp_path / "amap.xlsx"
    assert main(["export", str(src), "--format", "amap", "--out", str(out), "--quiet"]) == 0
    _, rows = rows_of(openpyxl.load_workbook(out).worksheets[0])
    first = rows[0]
    assert (first["名称"], first["地址"]) == ("贵溪市总工会爱心驿站",
                                          "江西省鹰潭市贵溪市建设路88号（市总工会一楼）")
    assert (first["经度"], first["纬度"]) == pytest.approx((117.233543, 28.290376), abs=1.1e-6)
    assert first["服务设施"] == "饮水、休息座椅、手机充电、微波炉热饭、卫生间"


# --- reruns --------------------------------------------------------------------------------

def test_workbooks_are_byte_identical_a_second_apart(tmp_path, hand_stations_csv):
    def run(name):
        out = {}
        for fmt in ("xlsx", "amap", "amap-maplab"):
            path = tmp_path / f"{name}-{fmt}.xlsx"
            assert main(["export", str(hand_stations_csv), "--format", fmt, "--out", str(path),
                         "--crs", "wgs84", "--quiet"]) == 0
            out[fmt] = path.read_bytes()
        return out

    first = run("a")
    time.sleep(1.1)  # a later second: the times inside the workbook must not move
    assert run("b") == first


# --- a plan's stations and proposals --------------------------------------------------------

@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plan")
    net = tmp / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    stations = write_hand_stations(tmp / "stations.csv")
    out = tmp / "plan"
    assert main(["plan", str(net), str(stations), "--candidates", "streets", "--new-sites", "2",
                 "--serve", "all", "--crs", "wgs84", "--out", str(out), "--quiet",
                 "--no-time-limit"]) == 0
    return out


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_a_plans_stations_export_with_kind_rank_and_status(plan_dir, tmp_path):
    src = plan_dir / "stations.geojson"
    features = _features(src)
    proposals = {f["properties"]["station_id"]: int(f["properties"]["rank"])
                 for f in features if f["properties"]["kind"] == "proposed"}
    streets = {f["properties"]["station_id"]: f["properties"]["street"]
               for f in features if f["properties"]["kind"] == "proposed"}
    assert all(streets.values())  # the plan's stations.geojson carries the street too
    assert len(proposals) == 2
    out = tmp_path / "s.csv"
    assert main(["export", str(src), "--format", "csv", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(features) == 9  # every row, S7 without a position too
    by_id = {r["station_id"]: r for r in rows}
    for sid, rank in proposals.items():
        row = by_id[sid]
        assert (row["kind"], row["status"], row["rank"]) == ("proposed", "proposed", str(rank))
        assert row["name"] == f"Proposed site #{rank} {streets[sid]}"  # never empty
    existing = [r for r in rows if r["station_id"] not in proposals]
    assert {r["kind"] for r in existing} == {"existing"}
    assert {r["rank"] for r in existing} == {""}
    s5, s7 = (next(r for r in rows if r["name"] == n) for n in ("S5", "S7"))
    assert (s5["status"], s7["status"]) == ("rejected", "rejected")
    assert "100 m" in s5["reason"]
    assert "'lat'" in s7["reason"]
    assert s7["wgs84_lng"] == ""


@pytest.mark.parametrize("fmt", ["amap", "amap-maplab", "xlsx", "geojson", "kml", "gpx"])
def test_a_plans_proposals_export_with_their_rank(plan_dir, tmp_path, fmt):
    src = plan_dir / "proposals.geojson"
    planned = {f["properties"]["candidate_id"]: (f["properties"]["rank"],
                                                 f["geometry"]["coordinates"],
                                                 f["properties"]["street"])
               for f in _features(src)}
    suffix = {"geojson": ".geojson", "kml": ".kml", "gpx": ".gpx"}.get(fmt, ".xlsx")
    out = tmp_path / f"p{suffix}"
    assert main(["export", str(src), "--format", fmt, "--out", str(out), "--quiet"]) == 0
    back = sp.station_markers(sp.read_stations(out, crs=READ_CRS.get(fmt)))
    assert len(back) == len(planned) == 2  # no longer 0 rows in the Amap sheet
    for _, row in back.iterrows():
        rank, where, street = planned[row["station_id"]]  # the candidate's id, not a row
        assert (row["kind"], row["status"], row["rank"]) == ("proposed", "proposed", rank)
        assert row["name"] == f"Proposed site #{rank} {street}"  # as on the map
        assert metres(row.geometry.coords[0], where) < 0.5


def test_proposals_named_in_chinese_and_addressed_by_their_street():
    plan = gpd.GeoDataFrame(
        {"candidate_id": ["C3"], "name": [""], "status": ["proposed"], "kind": ["street"],
         "rank": [2.0], "street": ["建设路"]},
        geometry=[shapely.Point(117.23, 28.29)], crs=4326)
    row = sp.station_markers(plan).iloc[0]
    assert (row["station_id"], row["name"], row["address"]) == ("C3", "拟建站点 #2 建设路",
                                                                 "建设路")
    assert (row["kind"], row["status"], row["rank"]) == ("proposed", "proposed", 2)


# --- check.xlsx ------------------------------------------------------------------------------

def test_check_xlsx_holds_the_check_csv_table(tmp_path):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    stations = write_hand_stations(tmp_path / "stations.csv")
    lines = ["name,lon,lat"]
    for name, x, y in (("P1", 5000, 350), ("=HYPERLINK(\"x\")", 1700, 5000), ("P3", 1150, 0),
                       ("P4", 3000, 3000)):
        lon, lat = hand_lonlat(x, y)
        lines.append(f'"{name.replace(chr(34), chr(34) * 2)}",{lon:.9f},{lat:.9f}')
    lines.append("P5,117.1,")
    props = tmp_path / "proposals.csv"
    props.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "check"
    assert main(["check", str(net), str(stations), str(props), "--crs", "wgs84", "--out",
                 str(out), "--quiet", "--no-benchmark", "--no-time-limit"]) == 0
    table = csv_rows(out / "check.csv", encoding="utf-8-sig")
    sheet = openpyxl.load_workbook(out / "check.xlsx").worksheets[0]
    assert sheet.freeze_panes == "A2"
    cells = [list(row) for row in sheet.iter_rows()]
    assert len(cells) == len(table) == 6
    assert [c.value for c in cells[0]] == table[0]
    assert {"wgs84_lon", "wgs84_lat", "gcj02_lon", "gcj02_lat"} <= set(table[0])
    typed = 0
    for text_row, cell_row in zip(table[1:], cells[1:], strict=True):
        assert len(cell_row) == len(text_row)
        for text, header, cell in zip(text_row, table[0], cell_row, strict=True):
            value = cell.value
            if value is None:
                assert text == "", header
            elif isinstance(value, bool):
                assert text == str(value).lower(), header
            elif isinstance(value, int | float):
                assert float(text) == value, header  # the number the CSV shows
                typed += 1
                if header.endswith(("_lon", "_lat")):
                    assert len(text.split(".")[1]) == 6
                    assert cell.number_format == "0.000000"
            else:  # text: the CSV shows formula-like text with a leading '
                assert text in (value, "'" + value), header
    assert typed > 50
    assert cells[2][1].value == "=HYPERLINK(\"x\")" and cells[2][1].data_type == "s"
