"""Addresses of proposed sites (stationplan.addresses): street, cross street, landmark."""

from __future__ import annotations

import json

import geopandas as gpd
import openpyxl
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, cross_graph, hand_lonlat, shared_osm, shared_sheet

import stationplan as sp
from stationplan.addresses import read_landmarks, site_addresses
from stationplan.candidates import read_osm_pois, snap_candidates
from stationplan.cli import main

# Sites on the crossing streets of handnet.cross_graph (metres relative to (X0, Y0)) and
# their addresses worked out by hand: the distance along the streets to the intersection O
# where 建设路 and 雄石路 cross, rounded to 10 m, and the direction from O to the site.
SITES = [
    ("s1", 84, 0),      # on 建设路, 84 m east of O
    ("s2", 0, -123),    # on 雄石路, 123 m south of O
    ("s3", 0.5, 0),     # on 建设路, half a metre from O: at the intersection
    ("s4", 300, -40),   # on the unnamed alley, 40 m from 建设路 at A, 300 + 40 m from O
    ("s5", 0, 800),     # on the unnamed branch road, 300 m beyond N, 500 + 300 m from O
    ("s6", -250, 0),    # on 建设路, 250 m west of O
]
STREETS = ["建设路", "雄石路", "建设路", "建设路", "无名支路", "建设路"]
ADDRESSES_ZH = [
    "建设路与雄石路交叉口东 80 米",
    "雄石路与建设路交叉口南 120 米",
    "建设路与雄石路交叉口",
    "建设路与雄石路交叉口东 340 米",
    # 建设路 (1,000 m) is named before 雄石路 (800 m): the longer street is better known
    "无名支路，建设路与雄石路交叉口北 800 米",
    "建设路与雄石路交叉口西 250 米",
]
# A shop 30 m north of s1 (88.7 m from s3), a house number 10 m east of s4, a chemist's
# 120 m north of s6: beyond the 100 m limit.
LANDMARKS = [
    ("联华超市", "shop=supermarket", "", "", 84, 30),
    ("", "", "建设路", "12", 310, -40),
    ("远方药店", "amenity=pharmacy", "", "", -250, 120),
]
NEAR_ZH = ["近 联华超市 30 米", "", "近 联华超市 90 米", "近 建设路12号 10 米", "", ""]


def _points(rows, columns):
    return gpd.GeoDataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(columns)},
        geometry=[shapely.Point(X0 + r[-2], Y0 + r[-1]) for r in rows], crs=HAND_CRS)


@pytest.fixture(scope="module")
def cross():
    return sp.network_from_graph(cross_graph())


@pytest.fixture(scope="module")
def sites(cross):
    return snap_candidates(cross, _points(SITES, ["name"]), kind="file").assign(name="")


@pytest.fixture(scope="module")
def landmarks():
    return _points(LANDMARKS, ["name", "kind", "addr_street", "housenumber"])


def test_addresses_on_the_crossing_streets(cross, sites, landmarks):
    assert len(sites) == len(SITES)
    out = site_addresses(cross, sites, lang="zh", landmarks=landmarks)
    assert out["street"].tolist() == STREETS
    assert out["address"].tolist() == ADDRESSES_ZH
    assert out["near"].tolist() == NEAR_ZH
    # the columns follow the name; the input is left as it was
    names = list(out.columns)
    assert names[names.index("name") + 1:names.index("name") + 4] == ["street", "address", "near"]
    assert "street" not in sites


def test_english_keeps_the_names_as_they_are(cross, sites, landmarks):
    out = site_addresses(cross, sites, lang="en", landmarks=landmarks)
    assert out["address"].tolist()[:5] == [
        "建设路 at 雄石路, 80 m east",
        "雄石路 at 建设路, 120 m south",
        "建设路 at 雄石路",
        "建设路 at 雄石路, 340 m east",
        "unnamed branch road, 800 m north of 建设路 at 雄石路",
    ]
    assert out["near"].tolist()[0] == "near 联华超市, 30 m"
    assert out["near"].tolist()[3] == "near 建设路 12, 10 m"


def test_an_unnamed_street_takes_a_named_one_only_close_by(cross, sites):
    # s4 is 40 m along the alley from 建设路: named after it at 100 m, not at 30 m
    out = site_addresses(cross, sites.iloc[[3]], lang="zh", street_m=30)
    assert out["street"].tolist() == ["无名小巷"]
    assert out["address"].tolist() == ["无名小巷，建设路与雄石路交叉口东 340 米"]


def test_no_cross_street_within_reach_leaves_the_street(cross, sites):
    out = site_addresses(cross, sites, lang="zh", cross_m=100)
    # s1, s3 reach O within 100 m; s5 is 300 m from any named street
    assert out["address"].tolist()[0] == ADDRESSES_ZH[0]
    assert out["address"].tolist()[2] == ADDRESSES_ZH[2]
    assert out["address"].tolist()[4] == "无名支路"


def test_near_has_a_limit_and_skips_the_host_itself(cross, sites, landmarks):
    assert site_addresses(cross, sites, lang="zh", landmarks=landmarks,
                          near_m=150)["near"].tolist()[5] == "近 远方药店 120 米"
    host = sites.iloc[[0]].assign(name="联华超市")  # the shop hosts the site: not "near" it
    assert site_addresses(cross, host, lang="zh", landmarks=landmarks)["near"].tolist() == [""]
    assert site_addresses(cross, sites, lang="zh")["near"].tolist() == [""] * len(SITES)


def test_empty_and_unsnapped_sites(cross, sites):
    out = site_addresses(cross, sites.iloc[[]], lang="zh")
    assert out.empty and {"street", "address", "near"} <= set(out.columns)
    with pytest.raises(sp.InputError, match="edge_id"):
        site_addresses(cross, sites.drop(columns=["edge_id"]), lang="zh")
    with pytest.raises(sp.InputError, match="near_m"):
        site_addresses(cross, sites, lang="zh", near_m=-1)


def test_landmarks_and_hosts_come_from_one_reader(tmp_path):
    lon, lat = hand_lonlat(84, 30)
    lon2, lat2 = hand_lonlat(0, 200)
    path = tmp_path / "pois.osm"
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n"
        f"<node id='1' lat='{lat}' lon='{lon}'><tag k='shop' v='supermarket'/>"
        "<tag k='name' v='联华超市'/></node>\n"
        f"<node id='2' lat='{lat2}' lon='{lon2}'><tag k='place' v='quarter'/>"
        "<tag k='name' v='花园社区'/></node>\n"
        f"<node id='3' lat='{lat2}' lon='{lon2}'><tag k='highway' v='bus_stop'/>"
        "<tag k='name' v='建设路站'/></node>\n"
        f"<node id='4' lat='{lat}' lon='{lon2}'/>\n<node id='5' lat='{lat2}' lon='{lon}'/>\n"
        "<way id='9'><nd ref='4'/><nd ref='5'/><tag k='building' v='yes'/>"
        "<tag k='addr:street' v='建设路'/><tag k='addr:housenumber' v='12'/></way>\n"
        "</osm>\n", encoding="utf-8")
    marks = read_landmarks(path)
    assert marks[["osm_type", "osmid", "name", "kind", "addr_street", "housenumber"]].to_dict(
        "records") == [
        {"osm_type": "node", "osmid": 1, "name": "联华超市", "kind": "shop=supermarket",
         "addr_street": "", "housenumber": ""},
        {"osm_type": "node", "osmid": 3, "name": "建设路站", "kind": "highway=bus_stop",
         "addr_street": "", "housenumber": ""},
        {"osm_type": "way", "osmid": 9, "name": "", "kind": "", "addr_street": "建设路",
         "housenumber": "12"},
    ]
    way = marks.geometry.iloc[2]
    assert way.x == pytest.approx((lon + lon2) / 2) and way.y == pytest.approx((lat + lat2) / 2)
    hosts = read_osm_pois(path, {"shop": ("supermarket",)})
    assert hosts[["osmid", "name", "host_tag"]].to_dict("records") == [
        {"osmid": 1, "name": "联华超市", "host_tag": "shop=supermarket"}]


def test_every_guixi_proposal_has_a_street_and_an_address(tmp_path):
    osm = shared_osm("guixi_county_city.osm.bz2")
    stations = shared_sheet("guixi_stations.xlsx")
    out = tmp_path / "plan"
    assert main(["plan", str(osm), str(stations), "--new-sites", "10",
                 "--candidate-spacing-m", "100", "--time-limit-s", "1", "--out", str(out),
                 "--quiet"]) == 0
    features = json.loads((out / "proposals.geojson").read_text(encoding="utf-8"))["features"]
    assert len(features) == 10
    props = [f["properties"] for f in features]
    assert all(p["street"] and p["address"] for p in props), props
    assert all(p["near"] is not None for p in props)
    # mostly a named cross street, in Chinese as the run is
    assert sum("交叉口" in p["address"] for p in props) >= 8, props
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    assert timings["addresses_s"] < 5
    report, page = ((out / name).read_text(encoding="utf-8")
                    for name in ("report.md", "coverage_map.html"))
    for p in props:  # every proposal's street and address, in the report and the map popups
        assert p["street"] in report and p["address"] in report, p
        assert p["street"] in page and p["address"] in page, p
    # and in the sheets a field team gets: the Amap 企业智图 workbook of the proposals
    sheet = tmp_path / "proposals_amap.xlsx"
    assert main(["export", str(out / "proposals.geojson"), "--format", "amap", "--out",
                 str(sheet), "--quiet"]) == 0
    rows = list(openpyxl.load_workbook(sheet).worksheets[0].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == 10
    for p, row in zip(props, body, strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["名称"] and p["street"] in cells["名称"], cells
        assert cells["地址"] == p["address"], cells
