"""The planning report: its numbers against the JSON outputs, tables worked out on paper,
what one closure uncovers against a recomputation, escaping, and self-containment."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import osmnx as ox
import pytest
import shapely
from handnet import HAND_CRS, HAND_STATIONS, X0, Y0, hand_graph, hand_lonlat, shared_osm
from test_check import write_proposals

import stationplan as sp
from stationplan.cli import main
from stationplan.report import district_table, read_districts, sole_coverage

RULE = sp.CoverageRule(radius_m=500, max_minutes=None)
HOSTILE = "<img src=x onerror=alert(1)> a|b*c*"

# Services per hand station (饮水, 座椅, 充电); S6 gets the hostile name.
SERVICES = {"S1": ("是", "是", "是"), "S2": ("是", "", ""), "S3": ("", "有", "√"),
            "S4": ("是", "是", "是"), "S5": ("", "", ""), "S6": ("是", "", "是"),
            "S7": ("", "", "")}


def write_stations(path):
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["name", "lon", "lat", "饮水", "座椅", "充电"])
    for name, x, y in HAND_STATIONS:
        label = HOSTILE if name == "S6" else name
        if y is None:
            out.writerow([label, "", "", *SERVICES[name]])
            continue
        lon, lat = hand_lonlat(x, y)
        out.writerow([label, f"{lon:.9f}", f"{lat:.9f}", *SERVICES[name]])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def write_districts(path, column="街道名称"):
    """West: A—D from 0 to 600 m; east: A—D from 600 m to D (S1 at 650 m inside)."""
    boxes = [shapely.box(X0 - 50, Y0 - 100, X0 + 600, Y0 + 100),
             shapely.box(X0 + 600, Y0 - 100, X0 + 1400, Y0 + 100)]
    frame = gpd.GeoDataFrame({column: ["西街道", "东<b>社区"]}, geometry=boxes, crs=HAND_CRS)
    frame.to_crs(4326).to_file(path, driver="GeoJSON")
    return path


@pytest.fixture
def files(tmp_path):
    net = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    return net, write_stations(tmp_path / "stations.csv")


class _Numbers(HTMLParser):
    """Collects every <span class="num"> with its data attributes and text, and all
    resource URLs (src/href) and tag names."""

    def __init__(self) -> None:
        super().__init__()
        self.nums: list[dict] = []
        self.tags: list[tuple[str, dict]] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "span" and a.get("class") == "num":
            self._open = {**a, "text": ""}

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open is not None:
            self.nums.append(self._open)
            self._open = None


def _lookup(data, key):
    for k in key:
        data = data[k]
    return data


def check_numbers(out, html_text, md_text):
    """Every number in the report equals its JSON source; returns the sources used."""
    parser = _Numbers()
    parser.feed(html_text)
    assert len(parser.nums) > 20
    cache: dict[str, dict] = {}
    used = set()
    for num in parser.nums:
        src = num["data-src"]
        if src not in cache:
            cache[src] = json.loads((out / src).read_text(encoding="utf-8"))
        expected = _lookup(cache[src], json.loads(num["data-key"]))
        value = json.loads(num["data-value"])
        assert value == expected, num
        used.add(src)
        text = num["text"]
        if expected is None:
            assert text == "–"
            continue
        kind = num["data-kind"]
        shown = float(re.sub(r"[^0-9.\-]", "", text))
        if kind == "m":
            assert abs(shown - expected) <= 0.5 + 1e-9, num
        elif kind == "share":
            assert text.endswith(" %")
            assert abs(shown / 100 - expected) <= 0.0005 + 1e-12, num
        else:
            assert shown == expected, num
        assert text in md_text, f"{text!r} is not in the Markdown"
    return used, parser


def test_report_numbers_equal_the_json_outputs(tmp_path, files, capsys):
    net, stations = files
    props = write_proposals(tmp_path / "proposals.csv")
    districts = write_districts(tmp_path / "districts.geojson")
    out = tmp_path / "report out"
    assert main(["report", str(net), str(stations), "--proposals", str(props), "--districts",
                 str(districts), "--out", str(out), "--quiet", "--no-time-limit",
                 "--lang", "en"]) == 0
    assert "report.html" in capsys.readouterr().out
    for name in ("report.html", "report.md", "report.json", "summary.json",
                 "check_summary.json", "check.csv", "check_map.html", "coverage_map.html"):
        assert (out / name).exists(), name
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md_text = (out / "report.md").read_text(encoding="utf-8")
    used, parser = check_numbers(out, html_text, md_text)
    assert used == {"summary.json", "check_summary.json", "report.json"}
    keys = {(n["data-src"], n["data-key"]) for n in parser.nums}
    assert ("summary.json", '["covered_m"]') in keys
    assert ("summary.json", '["by_road_class", "tertiary", "total_m"]') in keys
    assert ("check_summary.json", '["benchmark", "street", "covered_m_after"]') in keys
    assert ("report.json", '["districts", "rows", 1, "covered_m"]') in keys
    assert ("report.json", '["sole_coverage", "stations", 0, "sole_m"]') in keys
    for heading in ("Key figures", "By road class", "By district", "Largest gaps",
                    "Station services", "Streets served by only one station",
                    "Check of proposed sites", "Maps and files"):
        assert f"<h2>{heading}</h2>" in html_text
        assert f"## {heading}" in md_text
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"] == json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # district names are escaped, and the name column was found by itself
    assert report["districts"]["column"] == "街道名称"
    assert "东&lt;b&gt;社区" in html_text
    assert "东&lt;b\\>社区" in md_text
    # largest gaps with their street names
    assert [g["street"] for g in report["largest_gaps"]][:2] == ["road 9", "road 6"]
    # the maps are linked
    assert 'href="coverage_map.html"' in html_text
    assert "[check\\_map.html](check_map.html)" in md_text


def test_plan_writes_a_report_with_the_coverage_curve(tmp_path, files):
    net, stations = files
    out = tmp_path / "plan"
    assert main(["plan", str(net), str(stations), "--out", str(out), "--quiet",
                 "--no-time-limit", "--candidates", "streets", "--new-sites", "2",
                 "--lang", "zh"]) == 0
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md_text = (out / "report.md").read_text(encoding="utf-8")
    used, _ = check_numbers(out, html_text, md_text)
    assert {"summary.json", "plan_summary.json", "report.json"} <= used
    assert "<h2>新增站点方案（求解器）</h2>" in html_text
    assert html_text.count('src="data:image/png;base64,') == 2  # map and curve
    assert "![覆盖曲线](coverage_curve.png)" in md_text
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["plan_summary"]["new_sites"] == 2
    assert report["curve"][0]["new_sites"] == 0
    kinds = {r["kind"] for r in report["sole_coverage"]["stations"]}
    assert kinds == {"existing", "proposed"}  # the new sites are stations of the plan
    assert report["service_audit"]["stations"] == 5  # existing stations only


def test_report_is_self_contained_and_escapes_inputs(tmp_path, files):
    net, stations = files
    out = tmp_path / "o"
    assert main(["report", str(net), str(stations), "--out", str(out), "--quiet",
                 "--no-time-limit"]) == 0
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md_text = (out / "report.md").read_text(encoding="utf-8")
    parser = _Numbers()
    parser.feed(html_text)
    tags = {t for t, _ in parser.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed"}
    assert "<img src=x" not in html_text
    assert "&lt;img src=x onerror=alert(1)&gt; a|b*c*" in html_text
    for tag, attrs in parser.tags:
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), (tag, attrs)
        if tag == "a":
            assert not attrs["href"].startswith("javascript")
    assert "<img src=x" not in md_text
    assert "&lt;img src=x onerror=alert\\(1\\)\\> a\\|b\\*c\\*" in md_text
    assert "<style>" in html_text  # inline CSS
    # the names are not Chinese, but the sheet's headers (饮水, 座椅, 充电) are: a Chinese run
    assert '<html lang="zh-CN">' in html_text


def test_service_audit_in_the_report(tmp_path, files):
    net, stations = files
    out = tmp_path / "o"
    assert main(["report", str(net), str(stations), "--out", str(out), "--quiet",
                 "--no-time-limit", "--lang", "en"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    audit = report["service_audit"]
    read = sp.read_stations(stations)
    snapped = sp.snap_stations(sp.network_from_graph(hand_graph()), read)
    assert audit == sp.service_audit(snapped[snapped["status"] == "ok"])
    assert audit["complete"] == 2  # S1, S4
    assert [r["name"] for r in audit["stations_lacking"]] == ["S2", "S3", HOSTILE]
    html_text = (out / "report.html").read_text(encoding="utf-8")
    assert "seating, phone charging" in html_text  # what S2 lacks, in words


def test_district_table_on_paper(tmp_path):
    net = sp.network_from_graph(hand_graph())
    stations = sp.snap_stations(net, sp.read_stations(write_stations(tmp_path / "s.csv")))
    cov = sp.compute_coverage(net, stations, rule=RULE)
    districts = read_districts(write_districts(tmp_path / "d.geojson"))
    table = district_table(cov, districts)
    west, east = table["rows"]
    assert west == {"district": "西街道", "demand_m": pytest.approx(600, abs=1e-3),
                    "covered_m": pytest.approx(450, abs=1e-3), "covered_share": 0.75,
                    "gap_m": pytest.approx(150, abs=1e-3), "stations": 0, "proposed": 0}
    assert east["district"] == "东<b>社区"
    assert (east["demand_m"], east["covered_m"], east["stations"]) == pytest.approx(
        (700, 550, 1), abs=1e-3)
    assert table["outside"]["demand_m"] == pytest.approx(3800, abs=1e-3)
    assert table["outside"]["covered_m"] == pytest.approx(2500, abs=1e-3)


def test_district_name_column(tmp_path):
    path = write_districts(tmp_path / "d.geojson", column="label")
    assert read_districts(path)["district"].tolist() == ["西街道", "东<b>社区"]  # a text column
    assert read_districts(path, name_col="label").attrs["name_column"] == "label"
    with pytest.raises(sp.InputError, match="no column 'NAME'"):
        read_districts(path, name_col="NAME")
    with pytest.raises(sp.MissingDataError):
        read_districts(tmp_path / "missing.geojson")


@pytest.mark.parametrize("real", [False, True])
def test_sole_coverage_is_what_closing_each_station_uncovers(tmp_path, real):
    """Independent check: coverage with every station minus coverage without station j."""
    if real:
        net = sp.load_network(shared_osm("guixi_county_city.osm.bz2"))
        pts = net.edges.sample(15, random_state=7).geometry.interpolate(0.5, normalized=True)
        read = gpd.GeoDataFrame({"station_id": [f"s{i}" for i in range(15)], "name": "x",
                                 "status": "ok", "reason": ""}, geometry=pts.to_numpy(),
                                crs=net.crs).to_crs(4326)
    else:
        net = sp.network_from_graph(hand_graph())
        read = sp.read_stations(write_stations(tmp_path / "s.csv"))
    stations = sp.snap_stations(net, read)
    rule = RULE if not real else sp.CoverageRule()
    cov = sp.compute_coverage(net, stations, rule=rule)
    sole = {r["station_id"]: r["sole_m"] for r in sole_coverage(cov)["stations"]}
    ok = stations[stations["status"] == "ok"]
    for sid in ok["station_id"]:
        without = stations.assign(status=np.where(stations["station_id"] == sid, "closed",
                                                  stations["status"]))
        lost = cov.covered_m - sp.compute_coverage(net, without, rule=rule).covered_m
        assert sole.get(sid, 0.0) == pytest.approx(lost, abs=1e-2), sid
    if not real:  # on paper: no two hand stations reach the same street
        assert sole == pytest.approx({"2": 1000, "4": 1000, "7": 600, "3": 600, "5": 300})


def test_no_benchmark_is_reported_as_not_run(tmp_path, files):
    net, stations = files
    props = write_proposals(tmp_path / "proposals.csv")
    out = tmp_path / "o"
    assert main(["report", str(net), str(stations), "--proposals", str(props), "--out", str(out),
                 "--quiet", "--no-time-limit", "--no-benchmark", "--lang", "en"]) == 0
    summary = json.loads((out / "check_summary.json").read_text(encoding="utf-8"))
    assert summary["accepted"] and summary["benchmark"] is None  # sites accepted, no benchmark
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md_text = (out / "report.md").read_text(encoding="utf-8")
    assert "<p>The benchmark was not run, as requested (--no-benchmark).</p>" in html_text
    assert "\nThe benchmark was not run, as requested \\(\\-\\-no\\-benchmark\\).\n" in md_text
    assert "Nothing was accepted" not in html_text + md_text


@pytest.mark.parametrize(
    ("accepted", "lang", "sentence"),
    [(1, "en", "The benchmark was not run, as requested (--no-benchmark)."),
     (1, "zh", "已按要求（--no-benchmark）跳过对比基准。"),
     (0, "en", "Nothing was accepted, so there is no benchmark."),
     (0, "zh", "没有站点通过审核，因此没有对比基准。")],
)
def test_missing_benchmark_says_why(accepted, lang, sentence):
    from stationplan._i18n import section
    from stationplan._render.reportdoc import _check
    from stationplan.check import VERDICTS

    c = {"proposals": 1, "by_verdict": dict.fromkeys(VERDICTS, 0) | {"accept": accepted},
         "covered_m_before": 1.0, "coverage_before": 0.5, "covered_m_after": 1.0,
         "coverage_after": 0.5, "gain_m": 0.0, "benchmark": None}
    paragraphs = [b[1] for b in _check(c, [], section("report", lang), lang) if b[0] == "p"]
    assert [sentence] in paragraphs


def test_joined_street_names_are_isolated(tmp_path, hand_stations_csv):
    # U—V split at 400 m into two named streets (one gap of two names); A—D's middle street,
    # which only S1 covers, gets an unclosed right-to-left override
    g = hand_graph()
    g.remove_edges_from([(30, 31, 0), (31, 30, 0)])
    g.add_node(32, x=X0 + 5000, y=Y0 + 400)
    for (u, v), name, length in [((30, 32), "x\u202ey", 400.0), ((32, 31), "road 10", 300.0)]:
        g.add_edge(u, v, osmid=200 + u, highway="tertiary", length=length, name=name)
        g.add_edge(v, u, osmid=200 + u, highway="tertiary", length=length, name=name)
    for u, v in [(2, 3), (3, 2)]:
        g.edges[u, v, 0]["name"] = "甲\u202e乙"
    net = tmp_path / "bidi.graphml"
    ox.save_graphml(g, net)
    out = tmp_path / "o"
    assert main(["report", str(net), str(hand_stations_csv), "--out", str(out), "--quiet",
                 "--no-time-limit", "--lang", "en"]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    # two gap runs (the name changes at 32), one gap area of both names
    run = next(g for g in report["largest_gaps"] if g["length_m"] == 400)
    assert (run["street"], run["to_street"]) == ("x\u202ey", "road 10")  # data stays as read
    area = next(a for a in report["gap_areas"] if a["length_m"] == 700)
    assert area["streets"] == "x\u202ey; road 10"
    html_text = (out / "report.html").read_text(encoding="utf-8")
    md_text = (out / "report.md").read_text(encoding="utf-8")
    gap = "\u2068x\u202ey\u2069; road 10"
    sole = r"\u2068甲\u202e乙\u2069; road [02]; road [02]"
    assert f"<td>{gap}</td>" in html_text
    assert f"| {gap} |" in md_text
    assert re.search(f"<td>{sole}</td>", html_text)
    assert re.search(rf"\| {sole} \|", md_text)
    # every override in the report sits inside an isolate that ends it
    # (the names appear in the gap runs, their cross streets and the gap areas too)
    for text in (html_text, md_text):
        assert text.count("\u202e") >= 2
        assert "\u202e" not in re.sub("\u2068[^\u2066-\u2069]*\u2069", "", text)


# plan_summary.json as the siting rewrite writes it (issue 14)
PLAN = {"objective": "target", "target_share": 1.0, "new_sites_requested": None,
        "new_sites": 2, "target_reached": False, "coverage_before": 0.220863,
        "coverage_after": 0.252995, "covered_m_before": 24570.482, "covered_m_after": 28145.1,
        "added_m": 3574.618, "demand_m": 111249.484, "reachable_m": 28153.556,
        "reachable_share": 0.253, "unreachable_m": 83095.928, "sites_possible": None,
        "certified": "within", "optimality_gap": 0.0037, "bound": 1.99, "bound_unit": "sites",
        "proof": "lp", "candidates": {"source": "osm", "total": 2}}
CURVE = [{"new_sites": 0, "coverage_share": 0.220863}, {"new_sites": 1, "coverage_share": 0.24},
         {"new_sites": 2, "coverage_share": 0.252995}]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_section_reads_the_plan_summary(lang):
    from stationplan._i18n import section
    from stationplan._render.reportdoc import _md_parts, _plan

    blocks = _plan(PLAN, CURVE, {"existing": 11, "proposed": 2}, section("report", lang), {},
                   lang)
    [cards] = [b[1] for b in blocks if b[0] == "cards"]
    shown = [(_md_parts([big], lang), _md_parts(sub, lang)) for big, sub in cards]
    paragraphs = [_md_parts(b[1], lang) for b in blocks if b[0] == "p"]
    sources = {(p.src, p.key) for _, sub in cards for p in [*sub] if hasattr(p, "src")}
    assert ("plan_summary.json", ("added_m",)) in sources
    if lang == "zh":
        assert shown == [
            ("25.3 %", "的应覆盖街道在建成后被覆盖 · 现状 22.1 %"),
            ("28,145 米", "建成后覆盖 · 现状 24,570 米 · 新增覆盖 3,575 米"),
            ("2", "个拟建站点 · 11 个现有驿站"),
        ]
        assert paragraphs[0] == ("最优性：与最优解相差不超过 0.4 %（这些候选点所能达到的最大覆盖"
                                 "所需的最少新增站点数；线性规划松弛界）")
        assert paragraphs[1].startswith(
            "目标 100 % 无法达到：有 83.1 公里 街道任何候选点都覆盖不到")
        assert len(paragraphs) == 2  # the missed target's sentence names the street
        reached = _plan(PLAN | {"target_reached": True}, CURVE, None, section("report", lang),
                        {}, lang)
        assert _md_parts([b for b in reached if b[0] == "p"][-1][1], lang).startswith(
            "83,096 米 应覆盖街道任何候选点都覆盖不到")
        assert not any("optimal" in p or "quality" in p for p in paragraphs)
    else:
        assert shown[1] == ("28,145 m", "covered with the proposed sites · today 24,570 m · "
                                        "new coverage 3,575 m")
        assert paragraphs[0].startswith("Certificate: within 0.4 % of the optimum")


def test_a_site_cell_gives_both_systems_at_six_decimals():
    """Every table with a site (gaps, proposals) gives WGS-84 and, in China, GCJ-02 to
    paste into a map app, at 6 decimals; checked on the published Beijing vector of
    ../shared/CONTEXT.md (WGS-84 116.377817, 39.911954 -> GCJ-02 116.38404722455657,
    39.91334545536069)."""
    from stationplan._render.reportdoc import _where

    t = {"map_link": "高德地图"}
    inside = _where(116.377817, 39.911954, "x", t)
    assert inside[0] == "116.377817, 39.911954 (WGS-84) "
    assert inside[1] == "116.384047, 39.913345 (GCJ-02) "
    outside = _where(24.9384, 60.1699, "x", t)  # Helsinki: no GCJ-02
    assert [type(c).__name__ for c in outside] == ["str", "Link"]


def test_road_class_rows_have_their_own_labels(tmp_path):
    """secondary and secondary_link both read 次干路: the link road is 次干路（匝道）, the road
    itself 次干路 (never 次干路（次干路）). On the hand network Q—Q1 and P—Q are secondary
    (200 + 800 m), Q1—R (1,400 m) is made the link road."""
    g = hand_graph()
    for u, v in ((13, 14), (14, 13)):
        g.edges[u, v, 0]["highway"] = "secondary_link"
    net = tmp_path / "link.graphml"
    ox.save_graphml(g, net)
    out = tmp_path / "o"
    assert main(["report", str(net), str(write_stations(tmp_path / "s.csv")), "--out", str(out),
                 "--quiet", "--no-time-limit", "--lang", "zh"]) == 0
    md_text = (out / "report.md").read_text(encoding="utf-8")
    table = md_text.split("## 按道路等级")[1].split("\n## ")[0]
    rows = {r.split(" | ")[0].lstrip("| "): r.split(" | ")[1]
            for r in table.splitlines() if r.startswith("| ") and "应覆盖" not in r}
    labels = list(rows)
    assert len(labels) == len(set(labels)) == 6  # six road classes, six labels
    assert not [w for w in labels if re.fullmatch(r"(.+)（\1）", w)]
    assert rows["次干路（匝道）"] == "1,400 米"
    assert rows["次干路"] == "1,000 米"


def _md_table(md_text: str, heading: str) -> list[list[str]]:
    """The cells of the first table after ``heading`` in report.md (header row first), as
    Markdown shows them (escapes undone)."""
    part = md_text.split(heading, 1)[1]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    rows, started = [], False
    for ln in part.splitlines():
        if ln.startswith("|"):
            started = True
            if not ln.startswith("|---"):
                rows.append([re.sub(r"\\(.)", r"\1", c.strip())  # as Markdown shows it
                             for c in re.split(r"(?<!\\)\|", ln)[1:-1]])
        elif started:
            break
    assert lines and rows
    return rows


@pytest.fixture(scope="module")
def hand_plan(tmp_path_factory):
    """A plan of 2 sites on the hand network with two districts: 北区 around component 2
    (S2, S3, S6) and 东区 around U—V (no station). On paper the 2 best sites close U—V
    (700 m) and the Q1—R gap (600 m): one proposed site in each district."""
    tmp = tmp_path_factory.mktemp("plan")
    net = tmp / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    boxes = {"北区": shapely.box(X0 - 300, Y0 + 4900, X0 + 2700, Y0 + 5100),
             "东区": shapely.box(X0 + 4900, Y0 - 50, X0 + 5100, Y0 + 750)}
    districts = tmp / "d.geojson"
    gpd.GeoDataFrame({"街道": list(boxes)}, geometry=list(boxes.values()),
                     crs=HAND_CRS).to_crs(4326).to_file(districts, driver="GeoJSON")
    out = tmp / "plan"
    assert main(["plan", str(net), str(write_stations(tmp / "s.csv")), "--out", str(out),
                 "--quiet", "--no-time-limit", "--candidates", "streets", "--new-sites", "2",
                 "--districts", str(districts), "--lang", "zh"]) == 0
    return out, boxes


def test_sole_coverage_names_a_proposed_site_as_the_proposals_table_does(hand_plan):
    out, _ = hand_plan
    sites = json.loads((out / "proposals.geojson").read_text(encoding="utf-8"))["features"]
    by_rank = {int(f["properties"]["rank"]): f["properties"] for f in sites}
    md_text = (out / "report.md").read_text(encoding="utf-8")
    head, *rows = _md_table(md_text, "## 仅由一个站点覆盖的街道")
    assert head[:3] == ["编号", "站点", "类型"]
    proposed = [r for r in rows if r[2] == "拟建"]
    assert proposed  # the new sites are the only station of their streets
    for r in proposed:
        assert re.fullmatch(r"#\d+", r[0]), r  # the rank, never the candidate id
        site = by_rank[int(r[0][1:])]
        assert r[1] == (site["name"] or site["address"] or site["street"])
    ids = {f["properties"]["candidate_id"] for f in sites}
    assert not [r for r in rows for c in r[:2] if c in ids]
    # the proposals table lists the same ranks
    plan_rows = _md_table(md_text, "### 拟建站点（按贡献排序）")[1:]
    assert {r[0] for r in plan_rows} >= {r[0][1:] for r in proposed}
    html_text = (out / "report.html").read_text(encoding="utf-8")
    assert all(f"<td>{r[0]}</td>" in html_text for r in proposed)


def test_district_table_counts_existing_and_proposed_sites_apart(hand_plan):
    out, boxes = hand_plan
    sites = gpd.read_file(out / "proposals.geojson").to_crs(HAND_CRS)
    in_box = {name: int(sites.within(box).sum()) for name, box in boxes.items()}
    assert in_box == {"北区": 1, "东区": 1}  # on paper (see hand_plan)
    md_text = (out / "report.md").read_text(encoding="utf-8")
    head, *rows = _md_table(md_text, "## 按街道（社区）")
    assert head[-2:] == ["现有站点数", "拟建站点数"]
    cells = {r[0]: (r[-2], r[-1]) for r in rows}
    assert cells["北区"] == ("3", "1")  # S2, S3, S6 and one new site
    assert cells["东区"] == ("0", "1")
    # 东区 is U—V, 700 m, covered only by its new site
    assert rows[[r[0] for r in rows].index("东区")][1:3] == ["700 米", "700 米"]


def test_report_lists_every_station_not_used_with_its_row_and_reason(tmp_path, files):
    net, stations = files
    lines = stations.read_text(encoding="utf-8").splitlines()
    row = {ln.split(",")[0]: i for i, ln in enumerate(lines, start=1)}  # file line numbers
    expected = {
        "zh": [[str(row["S5"]), "S5", "距街道过远", "距路网所有街道超过 100 米"],
               [str(row["S7"]), "S7", "无效",
                f"第 {row['S7']} 行：“lon”列缺少数值；“lat”列缺少数值"]],
        "en": [[str(row["S5"]), "S5", "too far from a street",
                "more than 100 m from every street of the network"],
               [str(row["S7"]), "S7", "invalid", f"row {row['S7']}: column 'lon': value is "
                                                 "missing; column 'lat': value is missing"]],
    }
    heading = {"zh": "### 未采用的站点", "en": "### Stations not used"}
    for lang in ("zh", "en"):
        out = tmp_path / lang
        assert main(["report", str(net), str(stations), "--out", str(out), "--quiet",
                     "--no-time-limit", "--lang", lang]) == 0
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["stations_rejected"] == 2
        md_text = (out / "report.md").read_text(encoding="utf-8")
        _, *rows = _md_table(md_text, heading[lang])
        # the reason may name the file first ("stations.csv 第 8 行：…")
        shown = [[r[0], r[1], r[2], r[3].removeprefix("stations.csv ")] for r in rows]
        assert shown == expected[lang]
        html_text = (out / "report.html").read_text(encoding="utf-8")
        for r in expected[lang]:
            assert html.escape(r[3]) in html_text


def test_chinese_sentences_of_the_report_have_chinese_punctuation():
    # "检查站点数： 11", "现有站点覆盖： 16,830 米 (29.1 %); …" and "新增覆盖 4347 米街道" were
    # half English; the English sentences stay as they were
    from stationplan._i18n import section, text
    from stationplan._render import reportdoc as rd

    check = {"proposals": 5, "by_verdict": {"accept": 2}, "covered_m_before": 16830.0,
             "coverage_before": 0.291, "covered_m_after": 24782.0, "coverage_after": 0.428,
             "gain_m": 7952.0,
             "benchmark": {"street": {"covered_m_after": 26042.0, "coverage_after": 0.45},
                           "proposals": {"covered_m_after": 24782.0, "coverage_after": 0.428}}}
    audit = {"with_service_data": True, "core": [], "complete": 11, "stations": 11,
             "stations_lacking": []}
    sole = {"total_m": 14495.0, "stations_with_sole": 10,
            "stations": [{"station_id": "1", "name": "A", "sole_m": 99.0, "streets": []}]}

    def lines(lang):
        t = section("report", lang)
        blocks = [*rd._audit(audit, t, lang), *rd._sole(sole, t, with_kind=False),
                  *rd._check(check, [], t, lang)]
        return [rd._md_parts(b[1], lang) for b in blocks if b[0] == "p"]

    zh = lines("zh")
    assert zh[0].endswith("；检查站点数：11")
    assert zh[1].endswith("有此类街道的站点：10")
    assert zh[3] == ("现有站点覆盖：16,830 米（29.1 %）；"
                     "采纳全部通过的站点后：24,782 米（42.8 %），\\+7,952 米")
    assert zh[4] == ("新增同样数量的站点，求解器可覆盖 26,042 米（45.0 %）（在全部街道上选址）；"
                     "24,782 米（42.8 %）（只在提议站点中选择）。")
    en = lines("en")
    assert en[0].endswith("; stations checked: 11")
    assert en[3] == ("Covered by the existing stations: 16,830 m \\(29.1 %\\); with every "
                     "accepted site: 24,782 m \\(42.8 %\\), \\+7,952 m")
    assert en[4].endswith("26,042 m \\(45.0 %\\) placing them anywhere on the streets; "
                          "24,782 m \\(42.8 %\\) choosing among the proposals.")
    assert text("reason.accept", "zh", gain=4347.2) == "新增覆盖 4,347 米街道"
    assert text("reason.accept", "en", gain=4347.2) == "adds 4,347 m of uncovered street"
