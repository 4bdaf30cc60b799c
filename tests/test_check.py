"""Checking proposed sites: every verdict on the hand network with answers worked out on
paper, the spacing threshold, disconnected pieces, duplicates, GCJ-02 proposal files, the
summary and its benchmark, and the check command.

Hand network at 500 m (see handnet.py): S1 covers 150..1150 of A—D (gaps 0..150 and
1150..1300); S2, S3, S6 cover P0..Q1 and R..R1 except Q1—R 1400..2000 (600 m gap); S4
covers X—Y; U—V (700 m) has no station. The test area leaves X—Y out, so 4800 m are to
be served and 3200 m of them are covered.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import geopandas as gpd
import numpy as np
import osmnx as ox
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, hand_graph, hand_lonlat, shared_osm, write_hand_stations

import stationplan as sp
from stationplan import chinacrs
from stationplan.check import CHECK_COLUMNS, VERDICTS, check_sites, check_summary
from stationplan.cli import main

RULE = sp.CoverageRule(radius_m=500, max_minutes=None)
AREA = gpd.GeoDataFrame(geometry=[shapely.box(X0 - 1000, Y0 - 1000, X0 + 6000, Y0 + 6000)],
                        crs=HAND_CRS)  # everything but X—Y

# id, name, x, y (metres in the hand frame; None: no position)
PROPOSALS = [
    ("P1", "on U—V, a piece with no station", 5000, 350),
    ("P2", "middle of the Q1—R gap", 1700, 5000),
    ("P3", "exactly 500 m from S1", 1150, 0),
    ("P4", "450 m from S1", 200, 0),
    ("P5", "same place as S3", 900, 4990),
    ("P6", "between S2 and S3", 400, 5000),
    ("P7", "far from every street", 3000, 3000),
    ("P8", "on X—Y, outside the area", 250, 10000),
    ("P9", "no coordinates", None, None),
]


def proposals_frame(rows=PROPOSALS) -> gpd.GeoDataFrame:
    """Proposals as read_stations gives them, in exact hand coordinates (UTM)."""
    return gpd.GeoDataFrame(
        {"station_id": [r[0] for r in rows], "name": [r[1] for r in rows],
         "status": ["ok" if r[2] is not None else "invalid" for r in rows],
         "reason": ["" if r[2] is not None else "row 10: column 'lat': value is missing"
                    for r in rows]},
        geometry=[None if r[2] is None else shapely.Point(X0 + r[2], Y0 + r[3]) for r in rows],
        crs=HAND_CRS,
    )


def write_proposals(path, rows=PROPOSALS, system="wgs84", header="name,lon,lat"):
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header.split(","))
    for _, name, x, y in rows:
        if x is None:
            out.writerow([name, "", ""])
            continue
        lon, lat = chinacrs.convert(*hand_lonlat(x, y), src="wgs84", dst=system)
        out.writerow([name, f"{lon:.9f}", f"{lat:.9f}"])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def hand(tmp_path):
    net = sp.with_demand(sp.network_from_graph(hand_graph()), area=AREA)
    stations = sp.snap_stations(net, sp.read_stations(write_hand_stations(tmp_path / "s.csv")))
    return net, stations


@pytest.fixture
def checked(hand):
    net, stations = hand
    return check_sites(net, stations, proposals_frame(), rule=RULE)


def by_id(frame):
    return {r["proposal_id"]: r for r in frame.to_dict("records")}


def test_every_verdict_with_its_reason(checked):
    assert checked["verdict"].tolist() == [
        "accept", "accept", "accept", "too_close", "redundant", "redundant", "off_network",
        "outside_area", "invalid"]
    assert set(checked["verdict"]) == set(VERDICTS)
    assert list(checked.columns) == [*CHECK_COLUMNS, "geometry"]
    r = by_id(checked)
    # what each adds on its own to the existing stations, and the streets it reaches
    assert [r[p]["gain_m"] for p in ("P1", "P2", "P3", "P4", "P5", "P6")] == pytest.approx(
        [700, 600, 150, 150, 0, 0], abs=1e-3)
    assert [r[p]["catchment_m"] for p in ("P1", "P2", "P3", "P4", "P5", "P6")] == pytest.approx(
        [700, 1000, 650, 700, 1000, 1000], abs=1e-3)
    assert r["P2"]["redundancy"] == pytest.approx(0.4)
    assert r["P3"]["redundancy"] == pytest.approx(500 / 650, abs=1e-6)
    assert r["P5"]["redundancy"] == pytest.approx(1.0)
    assert r["P2"]["street"] == "road 6"
    assert r["P2"]["road_class"] == "secondary"
    assert r["P2"]["nearest_station"] in ("S3", "S6")
    assert r["P2"]["dist_station_m"] == pytest.approx(800, abs=1e-3)
    # reasons say why, with the figures
    assert r["P1"]["reason"] == ("adds 700 m of uncovered street; on a piece of street not "
                                 "connected to the main network")
    assert r["P4"]["reason"].startswith("450 m along the streets from existing station S1")
    assert r["P4"]["conflict_with"] == r["P4"]["nearest_station_id"]
    assert r["P4"]["conflict_kind"] == "station"
    assert "adds only 0 m" in r["P6"]["reason"]
    assert r["P7"]["reason"].startswith("2040 m from the nearest street (more than 100 m)")
    assert r["P7"]["snap_dist_m"] == pytest.approx(np.hypot(2000, 400), abs=1e-3)
    assert r["P8"]["reason"] == "on road 8, outside the planning area"
    assert not r["P8"]["in_area"]
    assert r["P9"]["reason"] == "cannot be placed: row 10: column 'lat': value is missing"
    assert r["P9"]["lon"] != r["P9"]["lon"]  # NaN: no position, row kept
    assert checked.geometry.iat[8] is None
    assert checked.crs.to_epsg() == 4326


def test_proposal_exactly_at_the_spacing_threshold_is_not_a_conflict(hand, checked):
    """P3 is 500 m from S1 (S1 read from 9-decimal lon/lat: within 0.1 mm); spacing 500."""
    p3 = by_id(checked)["P3"]
    assert p3["dist_station_m"] == pytest.approx(500, abs=1e-3)
    assert not p3["spacing_conflict"]
    assert p3["verdict"] == "accept"
    assert p3["verdict_gain_m"] == pytest.approx(150, abs=1e-3)  # and exactly the minimum gain
    # one metre closer is too close
    net, stations = hand
    res = check_sites(net, stations, proposals_frame([("Q", "499 m", 1149, 0)]), rule=RULE)
    assert res["verdict"].iat[0] == "too_close"
    assert res["spacing_conflict"].iat[0]


def test_two_proposals_exactly_at_the_spacing_threshold():
    """Only S4 exists. On P0..R1, A at P (x=0) and B at x=500 are 500 m apart along the
    street: B first (adds 1000 m), then A adds 200 m (P0..P) and is not too close."""
    net = sp.network_from_graph(hand_graph())
    x4, y4 = hand_lonlat(150, 10000)
    stations = sp.snap_stations(net, gpd.GeoDataFrame(
        {"station_id": ["S4"], "name": ["S4"], "status": ["ok"], "reason": [""]},
        geometry=[shapely.Point(x4, y4)], crs=4326))
    rows = [("A", "at P", 0, 5000), ("B", "500 m east of P", 500, 5000)]
    res = by_id(check_sites(net, stations, proposals_frame(rows), rule=RULE))
    assert res["A"]["dist_proposal_m"] == 500.0
    assert (res["A"]["verdict"], res["B"]["verdict"]) == ("accept", "accept")
    assert (res["B"]["greedy_rank"], res["A"]["greedy_rank"]) == (1, 2)
    assert res["A"]["verdict_gain_m"] == pytest.approx(200)
    # half a metre closer: A would still add 200 m, but B adds more and came first
    rows[0] = ("A", "0.5 m east of P", 0.5, 5000)
    res = by_id(check_sites(net, stations, proposals_frame(rows), rule=RULE))
    assert res["A"]["verdict"] == "too_close"
    assert (res["A"]["conflict_with"], res["A"]["conflict_kind"]) == ("B", "proposal")
    assert res["A"]["conflict_m"] == pytest.approx(499.5)
    assert res["A"]["reason"].startswith("500 m along the streets from proposal B, which adds more")


def test_proposal_on_a_disconnected_piece(checked):
    p1 = by_id(checked)["P1"]
    assert p1["on_island"]
    assert p1["component_m"] == pytest.approx(700)
    assert np.isnan(p1["dist_station_m"])  # no station on its piece
    assert p1["nearest_station_id"] == ""
    assert np.isnan(p1["dist_proposal_m"])
    assert p1["verdict"] == "accept"
    assert by_id(checked)["P2"]["on_island"] is False or not by_id(checked)["P2"]["on_island"]


def test_proposal_duplicating_an_existing_station(hand, checked):
    p5 = by_id(checked)["P5"]
    assert p5["nearest_station"] == "S3"
    assert p5["dist_station_m"] == pytest.approx(0, abs=1e-3)
    assert p5["snap_dist_m"] == pytest.approx(10, abs=1e-3)
    assert p5["spacing_conflict"]
    assert p5["verdict"] == "redundant"  # adds nothing: that is the stronger reason
    assert p5["redundancy"] == 1.0
    assert "100% of the streets it reaches are already covered" in p5["reason"]
    # with no spacing rule at all it is still redundant
    net, stations = hand
    res = check_sites(net, stations, proposals_frame([PROPOSALS[4]]), rule=RULE, min_spacing_m=0)
    assert res["verdict"].iat[0] == "redundant"


def test_a_flagged_spacing_conflict_names_the_conflict(hand, checked):
    """P5 stands where S3 stands (0 m along the street): redundant, and its flag names S3;
    every flagged row names its conflict, every other row none."""
    _, stations = hand
    s3 = stations.loc[stations["name"] == "S3", "station_id"].item()
    p5 = by_id(checked)["P5"]
    assert (p5["verdict"], p5["spacing_conflict"]) == ("redundant", True)
    assert (p5["conflict_with"], p5["conflict_kind"]) == (s3, "station")
    assert p5["conflict_m"] == pytest.approx(0, abs=1e-3)
    for r in checked.to_dict("records"):
        named = r["conflict_kind"] != ""
        assert named == bool(r["spacing_conflict"]), r["proposal_id"]
        assert named == (r["conflict_with"] != "") == np.isfinite(r["conflict_m"])
        if named:
            assert r["conflict_m"] < 500  # the spacing
    # straight-line spacing too: S3 is 0 m away in a straight line as well
    res = by_id(check_sites(hand[0], stations, proposals_frame(), rule=RULE,
                            spacing="straight"))
    assert (res["P5"]["conflict_with"], res["P5"]["conflict_kind"]) == (s3, "station")


def test_check_csv_names_the_station_a_duplicate_conflicts_with(tmp_path):
    """guixi_proposals.xlsx #1 duplicates station 1 of guixi_stations.xlsx, about 6 m away
    (the sheets' README); the distance from the two rows' GCJ-02 cells."""
    import openpyxl
    import pyproj
    from handnet import shared_sheet

    guixi = shared_osm("guixi_county_city.osm.bz2")
    sheets = [shared_sheet("guixi_stations.xlsx"), shared_sheet("guixi_proposals.xlsx")]
    cells = []
    for path in sheets:
        book = openpyxl.load_workbook(path, read_only=True)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
        head, first = rows[1], rows[2]  # a title row, the header, then #1
        assert first[head.index("序号")] == 1
        cells.append(chinacrs.gcj02_to_wgs84(first[head.index("经度")],
                                             first[head.index("纬度")]))
    apart = pyproj.Geod(ellps="WGS84").inv(*cells[0], *cells[1])[2]
    assert 4 < apart < 8
    out = tmp_path / "o"
    assert main(["check", str(guixi), *map(str, sheets), "--crs", "gcj02", "--out",
                 str(out), "--no-benchmark", "--quiet", "--lang", "zh"]) == 0
    with (out / "check.csv").open(encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh))
    first = table[0]
    assert first["提议编号"] == "1" and first["间距冲突"] == "是"
    assert (first["冲突对象"], first["冲突类型"]) == ("1", "现有站点")
    assert float(first["冲突距离(米)"]) == pytest.approx(apart, abs=3)
    for row in table:  # the flag and the columns agree on every row
        assert (row["间距冲突"] == "是") == (row["冲突对象"] != "") == (row["冲突类型"] != "")


def test_redundant_once_a_better_proposal_is_accepted(hand):
    """Two proposals 20 m apart on U—V: each alone adds 700 m; with the spacing rule the
    second is too close to the first, without it the second adds nothing more."""
    net, stations = hand
    rows = [("A", "U—V 350", 5000, 350), ("B", "U—V 370", 5000, 370)]
    res = by_id(check_sites(net, stations, proposals_frame(rows), rule=RULE))
    assert res["A"]["gain_m"] == res["B"]["gain_m"] == pytest.approx(700)
    assert res["A"]["verdict"] == "accept"  # tie: the first one wins
    assert res["B"]["verdict"] == "too_close"
    assert res["B"]["conflict_with"] == "A"
    assert res["B"]["greedy_gain_m"] == pytest.approx(0)
    res = by_id(check_sites(net, stations, proposals_frame(rows), rule=RULE, min_spacing_m=0))
    assert res["B"]["verdict"] == "redundant"
    assert res["B"]["verdict_gain_m"] == pytest.approx(0)
    assert "once the proposals that add more are accepted" in res["B"]["reason"]


@pytest.mark.parametrize(
    ("options", "changes"),
    [
        ({"min_gain_m": 650}, {"P2": "redundant", "P3": "redundant", "P4": "redundant"}),
        ({"max_snap_m": 3000}, {"P7": "redundant"}),  # lands on R1, which S6 covers
        ({"min_spacing_m": 400}, {"P4": "accept"}),
    ],
)
def test_thresholds_are_configurable(hand, checked, options, changes):
    net, stations = hand
    res = check_sites(net, stations, proposals_frame(), rule=RULE, **options)
    expected = dict(zip(checked["proposal_id"], checked["verdict"], strict=True))
    got = dict(zip(res["proposal_id"], res["verdict"], strict=True))
    for pid, verdict in changes.items():
        assert got[pid] == verdict, pid
    assert {k: v for k, v in got.items() if k not in changes} == \
        {k: v for k, v in expected.items() if k not in changes}
    assert res.attrs["check_settings"][next(iter(options))] == next(iter(options.values()))


def test_greedy_order_when_all_are_accepted(checked):
    r = by_id(checked)
    ranks = {p: r[p]["greedy_rank"] for p in ("P1", "P2", "P3", "P4", "P5", "P6", "P8")}
    assert ranks == {"P1": 1, "P2": 2, "P3": 3, "P4": 4, "P5": 5, "P6": 6, "P8": 7}
    assert [r[p]["greedy_gain_m"] for p in ("P1", "P2", "P3", "P4", "P5")] == pytest.approx(
        [700, 600, 150, 150, 0], abs=1e-3)
    assert np.isnan(r["P7"]["greedy_rank"] if r["P7"]["greedy_rank"] is not None else np.nan) \
        or r["P7"]["greedy_rank"] is None


def test_class_weights_weigh_the_gains(hand):
    net, stations = hand
    res = by_id(check_sites(net, stations, proposals_frame(), rule=RULE,
                            class_weights={"tertiary": 3}))
    assert res["P1"]["gain_weight"] == pytest.approx(2100)
    assert res["P1"]["gain_m"] == pytest.approx(700)
    assert res["P2"]["gain_weight"] == pytest.approx(600)


def test_summary_before_after_and_benchmark(hand, checked):
    net, stations = hand
    s = check_summary(net, stations, checked, benchmark=True)
    assert s["by_verdict"] == {"accept": 3, "redundant": 2, "too_close": 1, "off_network": 1,
                               "outside_area": 1, "invalid": 1}
    assert s["accepted"] == ["P1", "P2", "P3"]
    assert (s["demand_m"], s["covered_m_before"], s["covered_m_after"]) == pytest.approx(
        (4800, 3200, 4650), abs=1e-3)
    assert s["gain_m"] == pytest.approx(1450, abs=1e-3)
    assert s["coverage_after"] == pytest.approx(4650 / 4800, abs=1e-6)
    # the same numbers from compute_coverage, an independent measure
    cov = sp.compute_coverage(net, stations, rule=RULE)
    assert s["covered_m_before"] == pytest.approx(cov.covered_m, abs=1e-3)
    b = s["benchmark"]
    assert b["new_sites"] == 3
    # among the proposals the best three add exactly as much as the accepted ones
    assert b["proposals"]["covered_m_after"] == pytest.approx(4650, abs=1e-3)
    assert b["proposals"]["shortfall_m"] == pytest.approx(0, abs=1e-3)
    assert b["proposals"]["certified"] == "optimal"
    # on street positions every 50 m the solver reaches U—V, the Q1—R gap and one end
    assert 4600 < b["street"]["covered_m_after"] <= 4650 + 1e-3
    assert s["rule"]["limit_m"] == 500
    assert check_summary(net, stations, checked, benchmark=False)["benchmark"] is None
    # no siting unless asked: the default is the cheap summary
    assert check_summary(net, stations, checked)["benchmark"] is None


def test_nothing_accepted_has_no_benchmark(hand):
    net, stations = hand
    res = check_sites(net, stations, proposals_frame([PROPOSALS[5]]), rule=RULE)
    s = check_summary(net, stations, res, benchmark=True)
    assert s["benchmark"] is None
    assert s["covered_m_after"] == s["covered_m_before"]


def test_gcj02_proposal_file_gives_the_same_verdicts(hand, checked, tmp_path):
    net, stations = hand
    path = write_proposals(tmp_path / "p.csv", system="gcj02")
    read = sp.read_stations(path, crs="gcj02")
    res = check_sites(net, stations, read, rule=RULE)
    assert res["verdict"].tolist() == checked["verdict"].tolist()
    np.testing.assert_allclose(res["gain_m"], checked["gain_m"], atol=1e-2)
    np.testing.assert_allclose(res["lon"][:8], checked["lon"][:8], atol=1e-7)  # WGS-84 out
    assert res["proposal_id"].tolist() == [str(i) for i in range(2, 11)]  # file rows
    # read as WGS-84 without naming a system, the offset stops the check ...
    with pytest.raises(sp.InputError, match="--crs gcj02"):
        check_sites(net, stations, sp.read_stations(path), rule=RULE)
    # ... and named as WGS-84 the same file lands hundreds of metres off
    wrong = check_sites(net, stations, sp.read_stations(path, crs="wgs84"), rule=RULE)
    assert "--crs gcj02" in wrong.attrs["crs_warning"]
    assert (wrong["snap_dist_m"] > 100).sum() > (res["snap_dist_m"] > 100).sum()


def test_input_is_not_changed(hand):
    net, stations = hand
    props = proposals_frame()
    before = props.copy()
    check_sites(net, stations, props, rule=RULE)
    assert props.equals(before)


def test_bad_settings_are_refused(hand):
    net, stations = hand
    with pytest.raises(sp.InputError, match="min_gain_m"):
        check_sites(net, stations, proposals_frame(), rule=RULE, min_gain_m=-1)
    with pytest.raises(sp.InputError, match="no CRS"):
        check_sites(net, stations, proposals_frame().set_crs(None, allow_override=True),
                    rule=RULE)


def test_exact_lengths_match_compute_coverage_on_a_real_extract():
    """Before/after lengths from the check equal compute_coverage with the accepted sites."""
    net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"))
    pts = net.edges.sample(24, random_state=3).geometry.interpolate(0.3, normalized=True)
    frame = gpd.GeoDataFrame({"station_id": [f"s{i}" for i in range(24)], "name": "x",
                              "status": "ok", "reason": ""}, geometry=pts.to_numpy(),
                             crs=net.crs).to_crs(4326)
    stations = sp.snap_stations(net, frame.iloc[:12].reset_index(drop=True))
    props = frame.iloc[12:].reset_index(drop=True)
    res = check_sites(net, stations, props, min_gain_m=50, min_spacing_m=200)
    s = check_summary(net, stations, res, benchmark=False)
    cov = sp.compute_coverage(net, stations)
    assert s["covered_m_before"] == pytest.approx(cov.covered_m, abs=1e-2)
    accepted = props[res["verdict"].to_numpy() == "accept"]
    both = sp.snap_stations(net, gpd.GeoDataFrame(
        gpd.pd.concat([frame.iloc[:12], accepted], ignore_index=True), crs=4326))
    assert s["covered_m_after"] == pytest.approx(sp.compute_coverage(net, both).covered_m,
                                                 abs=1e-2)
    # every accepted site adds at least the minimum, taken in the greedy order
    assert (res.loc[res["verdict"] == "accept", "verdict_gain_m"] >= 50 - 1e-3).all()
    assert s["covered_m_after"] - s["covered_m_before"] == pytest.approx(
        res.loc[res["verdict"] == "accept", "verdict_gain_m"].sum(), abs=1e-2)


# --- command line ----------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    return net, write_hand_stations(tmp_path / "stations.csv")


def test_check_command_writes_every_output(tmp_path, files, capsys):
    net, stations = files
    rows = [*PROPOSALS[:6], ("P7", "=HYPERLINK(\"http://x\")", 3000, 3000),
            ("P8", "<script>alert(1)</script>", 250, 10000), PROPOSALS[8]]
    props = write_proposals(tmp_path / "proposals.csv", rows)
    out = tmp_path / "检查 out"
    assert main(["check", str(net), str(stations), str(props), "--out", str(out), "--quiet",
                 "--no-time-limit"]) == 0
    # no area: X—Y is served, and S4 covers it
    assert "9 proposals: 3 accept, 3 redundant, 1 too_close" in capsys.readouterr().out
    raw = (out / "check.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(table) == 9
    assert table[6]["name"] == "'=HYPERLINK(\"http://x\")"  # shown, never run
    assert [t["verdict"] for t in table] == ["accept", "accept", "accept", "too_close",
                                             "redundant", "redundant", "off_network",
                                             "redundant", "invalid"]
    assert table[2]["dist_station_m"] == "500"
    # every site in WGS-84 and GCJ-02, 6 decimals (about 0.1 m)
    for row, rec in zip(table[:8], rows[:8], strict=True):
        lon, lat = hand_lonlat(rec[2], rec[3])
        assert (row["wgs84_lon"], row["wgs84_lat"]) == (f"{lon:.6f}", f"{lat:.6f}")
        gcj = chinacrs.wgs84_to_gcj02(lon, lat)
        assert (row["gcj02_lon"], row["gcj02_lat"]) == tuple(f"{c:.6f}" for c in gcj)
    assert table[8]["wgs84_lon"] == table[8]["gcj02_lat"] == ""  # no position, row kept
    feats = json.loads((out / "check.geojson").read_text(encoding="utf-8"))["features"]
    assert len(feats) == 9
    assert feats[8]["geometry"] is None
    summary = json.loads((out / "check_summary.json").read_text(encoding="utf-8"))
    assert summary["by_verdict"]["accept"] == 3
    assert summary["covered_m_after"] == pytest.approx(3500 + 700 + 600 + 150, abs=1e-2)
    html = (out / "check_map.html").read_text(encoding="utf-8")
    assert "stationplan-check-legend" in html
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "#1a9850" in html  # accept colour


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_check_map_shows_the_checks_headline(tmp_path, files, capsys, lang):
    """No area: 5,100 m to serve, 3,500 m covered today; the accepted P1, P2, P3 add 700,
    600 and 150 m (P4 too close; P5, P6 and P8 redundant; P7 off the network; P9
    invalid). The map says so with the closing line's figures."""
    net, stations = files
    props = write_proposals(tmp_path / "p.csv")
    out = tmp_path / "o"
    assert main(["check", str(net), str(stations), str(props), "--out", str(out), "--quiet",
                 "--no-time-limit", "--no-benchmark", "--lang", lang]) == 0
    closing = capsys.readouterr().out
    summary = json.loads((out / "check_summary.json").read_text(encoding="utf-8"))
    assert summary["coverage_before"] == pytest.approx(3500 / 5100, abs=1e-6)
    assert summary["coverage_after"] == pytest.approx(4950 / 5100, abs=1e-6)
    after, counts = {
        "zh": ("采纳通过的站点后覆盖率 68.6 % → 97.1 %",
               "9 个提议站点：采纳 3 个、重复覆盖 3 个、间距过近 1 个、不在路网上 1 个、无效 1 个"),
        "en": ("coverage 68.6 % → 97.1 % with the accepted ones",
               "9 proposals: 3 accept, 3 redundant, 1 too_close, 1 off_network, 1 invalid"),
    }[lang]
    page = (out / "check_map.html").read_text(encoding="utf-8")
    box = re.search(r'<div id="stationplan-check-headline"[^>]*>((?:<div>[^<]*</div>)+)</div>',
                    page)
    assert box is not None
    assert [html.unescape(x) for x in re.findall(r"<div>([^<]*)</div>", box.group(1))] == [
        after, counts]
    # the closing line: the same figures and counts
    assert ("68.6 % → 97.1 %" if lang == "zh" else "68.6 % -> 97.1 %") in closing
    assert counts in closing
    # the coverage map under the verdict circles draws no proposals of its own
    assert {"zh": "拟建站点（序号）", "en": "Proposed site (rank)"}[lang] not in page


def test_check_map_is_reproducible(tmp_path, files):
    net, stations = files
    props = write_proposals(tmp_path / "p.csv")
    args = [str(net), str(stations), str(props), "--quiet", "--no-time-limit", "--no-benchmark"]
    assert main(["check", *args, "--out", str(tmp_path / "a")]) == 0
    assert main(["check", *args, "--out", str(tmp_path / "b")]) == 0
    for name in ("check_map.html", "check.csv", "check.xlsx", "check.geojson",
                 "check_summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_check_command_reads_a_gcj02_proposal_file(tmp_path, files):
    net, stations = files
    wgs = write_proposals(tmp_path / "wgs.csv")
    gcj = write_proposals(tmp_path / "gcj.csv", system="gcj02")
    base = ["--quiet", "--no-time-limit", "--no-benchmark"]
    assert main(["check", str(net), str(stations), str(wgs), "--out", str(tmp_path / "w"),
                 *base]) == 0
    assert main(["check", str(net), str(stations), str(gcj), "--out", str(tmp_path / "g"),
                 "--proposal-crs", "gcj02", *base]) == 0
    # both files in GCJ-02: --crs applies to both
    gcj_stations = tmp_path / "st_gcj.csv"
    lines = stations.read_text(encoding="utf-8").splitlines()
    out_lines = [lines[0]]
    for line in lines[1:]:
        name, lon, lat = line.split(",")
        if lat:
            lon, lat = (f"{v:.9f}" for v in chinacrs.wgs84_to_gcj02(float(lon), float(lat)))
        out_lines.append(f"{name},{lon},{lat}")
    gcj_stations.write_text("\n".join(out_lines) + "\n", encoding="utf-8")
    assert main(["check", str(net), str(gcj_stations), str(gcj), "--out", str(tmp_path / "b"),
                 "--crs", "gcj02", *base]) == 0
    # a header naming the system works without any option
    labelled = write_proposals(tmp_path / "lab.csv", system="gcj02",
                               header="name,gcj02_lng,gcj02_lat")
    assert main(["check", str(net), str(stations), str(labelled), "--out", str(tmp_path / "l"),
                 *base]) == 0

    def table(d):
        text = (tmp_path / d / "check.csv").read_bytes().decode("utf-8-sig")
        return [(r["verdict"], round(float(r["gain_m"]), 1) if r["gain_m"] else None)
                for r in csv.DictReader(io.StringIO(text))]

    assert table("g") == table("w") == table("b") == table("l")
    assert [v for v, _ in table("g")][:3] == ["accept", "accept", "accept"]


def test_straight_spacing_is_the_plans_straight_spacing():
    """--spacing straight measures the straight line, as plan does: on the straight street
    P0..R1 it equals the network distance, and the reason says how it was measured."""
    net = sp.network_from_graph(hand_graph())
    x4, y4 = hand_lonlat(150, 10000)
    stations = sp.snap_stations(net, gpd.GeoDataFrame(
        {"station_id": ["S4"], "name": ["S4"], "status": ["ok"], "reason": [""]},
        geometry=[shapely.Point(x4, y4)], crs=4326))
    rows = [("A", "0.5 m east of P", 0.5, 5000), ("B", "500 m east of P", 500, 5000)]
    res = check_sites(net, stations, proposals_frame(rows), rule=RULE, spacing="straight")
    assert res.attrs["check_settings"]["spacing"] == "straight"
    a = by_id(res)["A"]
    assert a["verdict"] == "too_close"
    assert a["conflict_m"] == pytest.approx(499.5, abs=1e-3)
    assert a["reason"].startswith("500 m in a straight line from proposal B")
    with pytest.raises(sp.InputError, match="spacing must be one of network, straight"):
        check_sites(net, stations, proposals_frame(rows), rule=RULE, spacing="air")


def test_the_benchmark_shares_are_of_the_same_demand_as_the_coverage_run(tmp_path):
    """Every share of a check on Guixi (dual carriageways paired) is of the demand the
    coverage run reports: the benchmark once divided by the paired carriageways too
    (24,782 m shown as 42.8 % and, a line below, as 31.6 %)."""
    from handnet import shared_sheet

    osm, sheet = shared_osm("guixi_county_city.osm.bz2"), shared_sheet("guixi_stations.xlsx")
    props = shared_sheet("guixi_proposals.xlsx")
    cov = sp.pipeline.run_coverage(osm, sheet)
    demand_m = cov.summary["total_m"]  # the streets to serve, in the coverage run
    assert cov.network.carriageways is not None and len(cov.network.carriageways)
    run = sp.pipeline.run_check(osm, sheet, props, check_options=sp.CheckOptions(
        proposal_crs="gcj02", time_limit_s=10))
    s = run.check_summary
    assert s["demand_m"] == pytest.approx(demand_m, abs=1e-3)
    assert s["coverage_before"] == pytest.approx(cov.summary["covered_m"] / demand_m, abs=1e-6)
    assert s["coverage_after"] == pytest.approx(s["covered_m_after"] / demand_m, abs=1e-6)
    for name in ("street", "proposals"):
        b = s["benchmark"][name]
        assert b["coverage_after"] == pytest.approx(b["covered_m_after"] / demand_m, abs=1e-6)
    # the accepted sites are among the proposals the benchmark may choose: it covers at least
    # as much as they do
    assert s["benchmark"]["proposals"]["covered_m_after"] >= s["covered_m_after"] - 1e-3
