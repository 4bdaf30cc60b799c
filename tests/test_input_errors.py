"""Inputs that used to crash (exit 70), succeed at nothing, or be read wrong without a word.

Each case runs the command line in-process on the hand network (or calls the reader) and
checks the exit code and the one line on stderr, or the rows read, against expectations
written by hand.
"""

from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import openpyxl
import osmnx as ox
import pytest
from handnet import HAND_EDGES, HAND_NODES, HAND_STATIONS, X0, Y0, hand_graph, hand_lonlat

import stationplan as sp
from stationplan.cli import main

# The first four hand stations (S1..S4), all within a few metres of a street.
NEAR = [(name, *hand_lonlat(x, y)) for name, x, y in HAND_STATIONS[:4]]


@pytest.fixture
def hand_net(tmp_path):
    path = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), path)
    return path


def write_csv(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def near_csv(path):
    return write_csv(path, "name,lon,lat", [f"{n},{lon:.7f},{lat:.7f}" for n, lon, lat in NEAR])


def error_line(capsys):
    """The one line the command printed on stderr (asserting it is one error line)."""
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    # a sheet with Chinese headers makes a Chinese run: the prefix is then "错误："
    assert err[0].startswith(("stationplan: error:", "stationplan: 错误：")), err[0]
    return err[0]


def coverage(network, stations, out, *extra):
    return main(["coverage", str(network), str(stations), "--out", str(out), "--quiet",
                 *map(str, extra)])


# --- 1. user errors that reached the CLI as internal errors (exit 70) ------------------

def test_folder_as_station_file(tmp_path, hand_net, capsys):
    folder = tmp_path / "stations.csv"  # a folder named like a file
    folder.mkdir()
    (folder / "inner.csv").write_text("name,lon,lat\n", encoding="utf-8")
    assert coverage(hand_net, folder, tmp_path / "out") == 3
    line = error_line(capsys)
    assert f"{folder}: a folder, not a station file" in line
    assert "it holds inner.csv" in line
    assert not (tmp_path / "out" / "summary.json").exists()


def test_graphml_without_node_coordinates(tmp_path, hand_stations_csv, capsys):
    saved = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), saved)
    keys = [line for line in saved.read_text(encoding="utf-8").splitlines()
            if 'for="node"' in line]
    assert len(keys) == 2  # x and y, the only node attributes of the hand graph
    ids = [line.split('id="')[1].split('"')[0] for line in keys]
    text = "\n".join(line for line in saved.read_text(encoding="utf-8").splitlines()
                     if not any(f'key="{k}"' in line for k in ids))
    bare = tmp_path / "bare.graphml"
    bare.write_text(text, encoding="utf-8")
    assert coverage(bare, hand_stations_csv, tmp_path / "out") == 2
    line = error_line(capsys)
    assert f"{bare}: 14 of 14 nodes have no coordinates ('x' and 'y'" in line
    assert "osmnx.save_graphml" in line


def test_graphml_not_written_by_osmnx(tmp_path, hand_stations_csv, capsys):
    path = tmp_path / "plain.graphml"
    nx.write_graphml(hand_graph(), path)  # typed attributes OSMnx cannot load
    assert coverage(path, hand_stations_csv, tmp_path / "out") == 2
    assert f"{path}: cannot read it as GraphML" in error_line(capsys)


def test_centerlines_in_metres_without_crs(tmp_path, hand_stations_csv, capsys):
    features = [{"type": "Feature", "properties": {"highway": hw},
                 "geometry": {"type": "LineString",
                              "coordinates": [[X0 + HAND_NODES[u][0], Y0 + HAND_NODES[u][1]],
                                              [X0 + HAND_NODES[v][0], Y0 + HAND_NODES[v][1]]]}}
                for u, v, hw in HAND_EDGES]
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    assert coverage(path, hand_stations_csv, tmp_path / "out") == 2
    line = error_line(capsys)
    # the hand nodes span x -200..5000 and y 0..10000 around (X0, Y0)
    assert "run from (499800, 4400000) to (505000, 4410000), which are not degrees" in line
    assert "probably in metres" in line and "Set CRS" in line


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_plan_exclude_file_missing(tmp_path, hand_net, hand_stations_csv, capsys, make):
    exclude = tmp_path / "zones.gpkg"
    if make == "folder":
        exclude.mkdir()
    code = main(["plan", str(hand_net), str(hand_stations_csv), "--out", str(tmp_path / "out"),
                 "--new-sites", "1", "--exclude", str(exclude), "--quiet"])
    assert code == 3
    line = error_line(capsys)
    expected = ("--exclude file not found" if make == "missing"
                else "a folder, not a --exclude file")
    assert f"{exclude}: {expected}" in line


# --- 2. runs that succeeded at nothing --------------------------------------------------

def test_every_station_off_the_network(tmp_path, hand_net, capsys):
    # Four stations near 10°E 1°N: the hand network is near 117°E 39.8°N, thousands of km away.
    far = write_csv(tmp_path / "far.csv", "name,lon,lat",
                    [f"F{i},{10 + i / 1000:.3f},1.000" for i in range(4)])
    assert coverage(hand_net, far, tmp_path / "out") == 2
    line = error_line(capsys)
    assert ("far.csv: none of the 4 stations can be used: 4 farther than 100 m from every "
            "street (nearest ") in line
    nearest_km = float(line.split("(nearest ")[1].split(" km)")[0])
    assert 10_000 < nearest_km < 20_000  # 107° of longitude at 40° N and 39° of latitude apart
    assert "--crs" in line and "--max-snap-m" in line
    assert not (tmp_path / "out").exists()


def test_every_row_rejected(tmp_path, hand_net, capsys):
    nolat = write_csv(tmp_path / "nolat.csv", "name,lon,lat",
                      [f"{n},{lon:.7f}," for n, lon, _ in NEAR])
    assert coverage(hand_net, nolat, tmp_path / "out") == 2
    line = error_line(capsys)
    assert ("nolat.csv: none of the 4 stations can be used: 4 without a usable location "
            "(first: nolat.csv row 2: column 'lat': value is missing)") in line
    assert not (tmp_path / "out").exists()


def test_some_stations_usable_is_a_run(tmp_path, hand_net, hand_stations_csv):
    # S5 is far from every street and S7 has no latitude; the other five make a run.
    assert coverage(hand_net, hand_stations_csv, tmp_path / "out") == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["stations_used"] == 5
    assert summary["rejected_by_reason"] == {"invalid": 1, "too_far_from_street": 1}


def rows_with(cells):
    """CSV rows of the NEAR stations: ``cells(name, lon, lat)`` gives each row's cells."""
    return [",".join(cells(n, f"{lon:.7f}", f"{lat:.7f}")) for n, lon, lat in NEAR]


@pytest.mark.parametrize(("header", "cells", "words"), [
    # "lon" twice: the first holds zeros, the second the longitudes
    ("name,lon,lat,lon", lambda n, x, y: (n, "0", y, x),
     "columns 'lon' (column B) and 'lon' (column D; name it 'lon_2') both look like the "
     "longitude but hold different values (row 2: '0' and '{x}')"),
    # "lon" and "经度" from two sources
    ("name,lon,lat,经度", lambda n, x, y: (n, "0", y, x),
     "columns 'lon' (column B) and '经度' (column D) both look like the longitude"),
    # both coordinates twice, the copies differing in the latitude only ("lat" comes
    # first among the latitude headers, so it is the one picked)
    ("name,经度,纬度,lng,lat", lambda n, x, y: (n, x, y, x, "0"),
     "columns 'lat' (column E) and '纬度' (column C) both look like the latitude but hold "
     "different values (row 2: '0' and '{y}')"),
])
def test_rival_coordinate_columns(tmp_path, hand_net, capsys, header, cells, words):
    path = write_csv(tmp_path / "s.csv", header, rows_with(cells))
    assert coverage(hand_net, path, tmp_path / "out") == 2
    line = error_line(capsys)
    _, x, y = NEAR[0][0], f"{NEAR[0][1]:.7f}", f"{NEAR[0][2]:.7f}"
    assert f"{path}: " + words.format(x=x, y=y) in line
    assert line.endswith("name the columns to use with lon_col and lat_col "
                         "(--lon-col and --lat-col)")


@pytest.mark.parametrize(("header", "cells"), [
    ("name,lon,lat,经度,纬度", lambda n, x, y: (n, x, y, x, y)),  # the same values twice
    ("name,lon,lat,lon", lambda n, x, y: (n, x, y, "")),  # an empty second "lon"
    ("name,lon,lat,lon", lambda n, x, y: (n, x, y, x + "000")),  # the same numbers
    # tagged columns are no rivals: the untagged ones are WGS-84, the tagged ones GCJ-02
    ("name,经度,纬度,经度(GCJ-02),纬度(GCJ-02)", lambda n, x, y: (n, x, y, "1", "2")),
    # a projected x/y is a weaker match than lon/lat, which win
    ("name,x,y,lon,lat", lambda n, x, y: (n, "500000", "4400000", x, y)),
])
def test_coordinate_columns_that_agree(tmp_path, header, cells):
    path = write_csv(tmp_path / "s.csv", header, rows_with(cells))
    read = sp.read_stations(path)
    assert read["status"].tolist() == ["ok"] * 4
    for (name, lon, lat), point in zip(NEAR, read.geometry, strict=True):
        assert (point.x, point.y) == pytest.approx((lon, lat), abs=1e-7), name


def test_rival_columns_chosen_by_option(tmp_path):
    path = write_csv(tmp_path / "s.csv", "name,lon,lat,lon",
                     rows_with(lambda n, x, y: (n, "0", y, x)))
    read = sp.read_stations(path, lon_col="lon_2", lat_col="lat")
    assert read.geometry.x.tolist() == pytest.approx([lon for _, lon, _ in NEAR], abs=1e-7)


def test_geopackage_whose_first_layer_is_roads(tmp_path, hand_net, capsys):
    _, edges = ox.graph_to_gdfs(hand_graph())
    path = tmp_path / "plan.gpkg"
    edges.reset_index()[["highway", "geometry"]].to_file(path, layer="roads")
    stations = gpd.GeoDataFrame(
        {"name": [n for n, _, _ in NEAR]},
        geometry=gpd.points_from_xy([x for _, x, _ in NEAR], [y for _, _, y in NEAR]), crs=4326)
    stations.to_file(path, layer="stations")
    assert coverage(hand_net, path, tmp_path / "out") == 2
    assert error_line(capsys) == (
        f"stationplan: error: {path}: its first layer 'roads' holds no station points "
        "(LineString features); the layers are 'roads' (LineString), 'stations' (Point); "
        "choose one with sheet='stations' (--sheet stations)")
    assert coverage(hand_net, path, tmp_path / "out", "--sheet", "stations") == 0


def station_book(path, *, first="封面", more=("站点",)):
    """A workbook whose first sheet is empty and whose later sheets hold the NEAR stations."""
    book = openpyxl.Workbook()
    book.active.title = first
    for title in more:
        sheet = book.create_sheet(title)
        sheet.append(["name", "lon", "lat"])
        for row in NEAR:
            sheet.append(list(row))
    book.save(path)
    return path


@pytest.mark.parametrize(("more", "choose"), [
    (("站点",), "sheet='站点' (--sheet 站点)"),
    (("站点", "备用"), "sheet='NAME' (--sheet NAME)"),
])
def test_workbook_whose_first_sheet_is_empty(tmp_path, hand_net, capsys, more, choose):
    path = station_book(tmp_path / "book.xlsx", more=more)
    assert coverage(hand_net, path, tmp_path / "out") == 2
    sheets = ", ".join(f"'{s}'" for s in more)
    assert error_line(capsys) == (
        f"stationplan: error: {path}: the sheet '封面' is empty; the workbook's sheets are "
        f"'封面' (read), {sheets}; choose the station sheet with {choose}")
    read = sp.read_stations(path, sheet="站点")
    assert read["name"].tolist() == ["S1", "S2", "S3", "S4"]


# --- 3. readers that guessed wrong --------------------------------------------------------

def near_rows():
    return [f"{n},{lon:.7f},{lat:.7f}" for n, lon, lat in NEAR]


def test_unclosed_quote_folding_rows(tmp_path, hand_net, capsys):
    s1, s2, s3, s4 = near_rows()
    # The quote opens S2's name and is never closed: S2..S4 fold into one cell.
    path = write_csv(tmp_path / "open.csv", "name,lon,lat", [s1, '"' + s2, s3, s4])
    assert coverage(hand_net, path, tmp_path / "out") == 2
    assert error_line(capsys) == (
        f"stationplan: error: {path} line 3: a quote (\") opened on this line is not closed "
        f"until the end of the file, so 3 line(s) that look like rows (first: {s2!r}) were "
        "read as one cell; close or remove the quote")
    # Opened in S2's longitude, closed after S4's name: S3 folds into S2.
    s2_open = s2.replace(",", ',"', 1)
    s4_close = s4.replace(",", '",', 1)
    path = write_csv(tmp_path / "closed.csv", "name,lon,lat", [s1, s2_open, s3, s4_close])
    assert coverage(hand_net, path, tmp_path / "out") == 2
    assert error_line(capsys) == (
        f"stationplan: error: {path} line 3: a quote (\") opened on this line is not closed "
        f"until line 5, so 1 line(s) that look like rows (first: {s3!r}) were read as one "
        "cell; close or remove the quote")


def test_quoted_cells_with_line_breaks_are_fine(tmp_path):
    # Two-line names and addresses in quotes, one with commas: no row inside them.
    rows = [f'"{n}\n(north gate)","Road 1,\nNo. 2, Block 3",{lon:.7f},{lat:.7f}'
            for n, lon, lat in NEAR]
    path = write_csv(tmp_path / "s.csv", "name,address,lon,lat", rows)
    read = sp.read_stations(path)
    assert read["status"].tolist() == ["ok"] * 4
    assert read["name"].tolist() == [f"{n}\n(north gate)" for n, _, _ in NEAR]
    assert read["row"].tolist() == [2, 5, 8, 11]  # each row spans three lines


@pytest.mark.parametrize("quoted", [False, True])
def test_one_huge_cell_rejects_its_row_only(tmp_path, hand_net, quoted):
    s1, s2, s3, s4 = near_rows()
    note = "x" * 200_000
    cell = f'"{note}"' if quoted else note
    path = write_csv(tmp_path / "s.csv", "name,lon,lat,remark",
                     [s1 + ",", f"{s2},{cell}", s3 + ",short", s4 + ","])
    read = sp.read_stations(path)
    assert read["name"].tolist() == ["S1", "S2", "S3", "S4"]
    assert read["status"].tolist() == ["ok", "invalid", "ok", "ok"]
    assert read["reason"].iat[1] == (
        "s.csv row 3: column 'remark': the cell has 200,000 characters, more than the "
        "131,072 a cell may have; shorten it")
    assert read["remark"].tolist() == ["", "x" * 40 + "… (200,000 characters)", "short", ""]
    # every row is in the outputs, the long one with its reason
    assert coverage(hand_net, path, tmp_path / "out") == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in summary["stations"]] == ["S1", "S2", "S3", "S4"]
    assert summary["stations_used"] == 3 and summary["rejected_by_reason"] == {"invalid": 1}


def patch_saved_values(path, saved):
    """Give formula cells the values Excel would have saved (openpyxl writes none)."""
    import zipfile

    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    for ref, value in saved.items():
        start = sheet.index(f'<c r="{ref}">')
        end = sheet.index("</c>", start)
        assert "<v />" in sheet[start:end]
        sheet = sheet[:start] + sheet[start:end].replace("<v />", f"<v>{value}</v>") + sheet[end:]
    parts["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def test_formula_cells_use_their_saved_values(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["name", "lon", "lat"])
    for n, lon, lat in NEAR:
        # the longitude as a formula (e.g. copied from another sheet), the name as one for S4
        sheet.append(['="S"&"4"' if n == "S4" else n, f"={lon:.7f}+0", lat])
    path = tmp_path / "book.xlsx"
    book.save(path)
    # Saved by Excel: S1..S3's values are in the file; S4's row was never recalculated.
    patch_saved_values(path, {f"B{r}": f"{NEAR[r - 2][1]:.7f}" for r in (2, 3, 4)})
    read = sp.read_stations(path)
    assert read["status"].tolist() == ["ok", "ok", "ok", "invalid"]
    assert read.geometry.x.iloc[:3].tolist() == pytest.approx(
        [float(f"{lon:.7f}") for _, lon, _ in NEAR[:3]], abs=1e-12)
    assert read["reason"].iat[3] == (
        f"book.xlsx row 5: column 'lon': the formula ={NEAR[3][1]:.7f}+0 has no saved value "
        "(the file was not saved by Excel or WPS); open and save the file in Excel or WPS")
    # S4's name is a formula without a value too: the row has both texts, the name none
    assert read["name"].iat[3] == ""
    assert read["note"].iat[3] == (
        "book.xlsx row 5: column 'name': the formula =\"S\"&\"4\" has no saved value (the "
        "file was not saved by Excel or WPS); open and save the file in Excel or WPS")


def test_formula_cells_never_saved(tmp_path, hand_net, capsys):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["name", "lon", "lat"])
    for n, lon, lat in NEAR:
        sheet.append([n, f"={lon:.7f}+0", f"={lat:.7f}+0"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    assert coverage(hand_net, path, tmp_path / "out") == 2
    assert (f"book.xlsx: none of the 4 stations can be used: 4 without a usable location "
            f"(first: book.xlsx row 2: column 'lon': the formula ={NEAR[0][1]:.7f}+0 has no "
            "saved value (the file was not saved by Excel or WPS); open and save the file in "
            "Excel or WPS; column 'lat': the formula") in error_line(capsys)


@pytest.mark.parametrize(("error", "code", "words"), [
    (PermissionError(13, "Permission denied", "locked.xlsx"), 3,
     "locked.xlsx: Permission denied; check that the file can be read"),
    (OSError(28, "No space left on device", "/tmp/x"), 6,
     "No space left on device; free some space"),
])
def test_operating_system_errors_are_not_internal_errors(tmp_path, hand_net, monkeypatch,
                                                          capsys, error, code, words):
    """A file the user may not read (Excel on Windows holds it open) or a full disk is
    the machine's problem, not a bug: its exit code and one line, never 70. (Root may
    read any file, so the error is raised by the reader here.)"""
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr("stationplan.pipeline.read_stations", refuse)
    stations = near_csv(tmp_path / "s.csv")
    assert main(["coverage", str(hand_net), str(stations), "--out", str(tmp_path / "o"),
                 "--quiet"]) == code
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("stationplan: error: ")
    assert words in err[0]
    assert not (tmp_path / "o").exists()


def test_an_exclude_file_that_is_not_vector_data(tmp_path, hand_net, capsys):
    stations = near_csv(tmp_path / "s.csv")
    bad = tmp_path / "zones.geojson"
    bad.write_text("not json at all", encoding="utf-8")
    code = main(["plan", str(hand_net), str(stations), "--out", str(tmp_path / "o"), "--quiet",
                 "--candidates", "streets", "--new-sites", "1", "--exclude", str(bad)])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"stationplan: error: {bad}: cannot read (")


def test_wrong_header_names_the_real_header_row(tmp_path, hand_net, capsys):
    """A merged title in row 1 and the header in row 2, whose coordinate columns are not
    called anything known: the error names row 2 and its columns (not the title), in
    English and, for the Chinese sheet, in Chinese with the command line's options."""
    path = tmp_path / "名录.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["贵溪市爱心驿站名录（2026年）"])
    ws.merge_cells("A1:D1")
    ws.append(["序号", "站点名称", "位置1", "位置2"])
    for i, (name, lon, lat) in enumerate(NEAR, 1):
        ws.append([i, name, lon, lat])
    wb.save(path)
    assert coverage(hand_net, path, tmp_path / "out", "--lang", "en") == 2
    line = error_line(capsys)
    assert (f"{path}: row 2: no longitude/latitude columns in header ['序号', '站点名称', "
            "'位置1', '位置2']") in line
    assert "(command line: --lon-col/--lat-col)" in line
    assert coverage(hand_net, path, tmp_path / "out") == 2  # Chinese: the sheet's language
    assert error_line(capsys) == (
        f"stationplan: 错误：{path}：第 2 行是表头，其中没有经度/纬度列（序号、站点名称、位置1、"
        "位置2）；请把两列命名为“经度”/“纬度”（或 lon/lat，或一列“经度,纬度”），或用 "
        "--lon-col/--lat-col 指定列名")
