"""Rules as data (stationplan.rules): the built-in packs against the numbers of their
documents, a user's TOML file, one-line errors, verdicts on hand networks worked out on
paper (a cover=2 rule and a dense area among them), and ``--rules xinle,acftu-15min`` on
the shared Guixi extract against independent engine runs."""

from __future__ import annotations

import itertools
import json
import re

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pandas as pd
import pytest
import shapely
from handnet import HAND_CRS, X0, Y0, hand_lonlat, shared_osm, shared_sheet

import stationplan as sp
from stationplan._i18n import one_language
from stationplan._options import MAX_MINUTES, RADIUS_M
from stationplan.cli import main
from stationplan.rules import (
    BUILTIN_RULES,
    builtin_pack,
    load_rules,
    parse_rule_pack,
    rule_verdicts,
)

# --- the built-in packs against their documents ------------------------------------------

# The figures as the sources write them (see the packs' [source]):
# Xinle 2024: 500 m, or 5 minutes on foot, or 1 minute by bike; one station.
# ACFTU 双15工程 2023: 1 km service radius, 15 minutes on foot, cross-coverage (2).
# Shandong 2022: stations under 1 km apart, 0.5 km where people are dense.
# GB 50180-2018 table 3.0.4: walking distance 300 m (5 min), 500 m (10 min),
#   800-1000 m (15 min; the pack checks 1000).
DOCUMENTS = {
    "xinle": {"radius_m": 500.0, "spacing_m": None, "cover": 1,
              "times": {"walk": 5.0, "bike": 1.0}, "dense_radius_m": None},
    "acftu-15min": {"radius_m": 1000.0, "spacing_m": None, "cover": 2,
                    "times": {"walk": 15.0}, "dense_radius_m": None},
    "shandong": {"radius_m": 500.0, "spacing_m": 1000.0, "cover": 1, "times": {},
                 "dense_radius_m": 250.0},
    "gb50180-5": {"radius_m": 300.0, "spacing_m": None, "cover": 1,
                  "times": {"walk": 5.0}, "dense_radius_m": None},
    "gb50180-10": {"radius_m": 500.0, "spacing_m": None, "cover": 1,
                   "times": {"walk": 10.0}, "dense_radius_m": None},
    "gb50180-15": {"radius_m": 1000.0, "spacing_m": None, "cover": 1,
                   "times": {"walk": 15.0}, "dense_radius_m": None},
}
# The distance checked on foot at stationplan's 6 km/h: the smaller of the distance and
# minutes x 100 m.
WALK_LIMIT_M = {"xinle": 500.0, "acftu-15min": 1000.0, "shandong": 500.0, "gb50180-5": 300.0,
                "gb50180-10": 500.0, "gb50180-15": 1000.0}
YEARS = {"xinle": 2024, "acftu-15min": 2023, "shandong": 2022, "gb50180-5": 2018,
         "gb50180-10": 2018, "gb50180-15": 2018}


@pytest.mark.parametrize("rule_id", BUILTIN_RULES)
def test_builtin_pack_has_its_documents_figures(rule_id):
    pack = builtin_pack(rule_id)
    want = DOCUMENTS[rule_id]
    assert pack.id == rule_id
    assert pack.radius_m == want["radius_m"]
    assert pack.spacing_m == want["spacing_m"]
    assert pack.cover == want["cover"]
    assert {m: t for m, t, _ in pack.times} == want["times"]
    assert pack.dense_radius_m == want["dense_radius_m"]
    assert pack.coverage_rule("walk").limit_m == WALK_LIMIT_M[rule_id]
    assert pack.coverage_rule("walk").cover == want["cover"]
    # no source gives a share to reach: the target is stationplan's, and says so
    assert (pack.target_share, pack.target_from) == (1.0, "stationplan")
    assert pack.source["year"] == YEARS[rule_id]
    assert pack.source["title"] and pack.source["issuer"] and pack.source["clause"]
    assert pack.name_en and pack.name_zh and re.search("[\u4e00-\u9fff]", pack.name_zh)


def test_xinle_is_the_default_rule_and_its_bike_minute_is_not_500_m():
    xinle = builtin_pack("xinle")
    default = sp.CoverageRule.for_mode("walk", radius_m=RADIUS_M, max_minutes=MAX_MINUTES)
    assert xinle.coverage_rule("walk") == default
    # 1 minute at stationplan's 15 km/h is 250 m; the 500 m still holds but does not decide
    bike = xinle.coverage_rule("bike")
    assert (bike.max_minutes, bike.speed_kmh, bike.limit_m, bike.binding) == (1.0, 15.0, 250.0,
                                                                              "time")
    # GB 50180 gives no bike figure: its walking distance is all there is
    assert builtin_pack("gb50180-10").coverage_rule("bike").limit_m == 500.0


def test_a_users_toml_file(tmp_path):
    mine = tmp_path / "My Rule.toml"
    mine.write_text(
        'name.en = "Town rule"\nname.zh = "本市标准"\nspacing_m = 600\ncover = 2\n'
        'road_classes = ["primary", "secondary"]\ntarget_share = 0.9\n'
        'target_from = "document"\n[time.bike]\nminutes = 2\nspeed_kmh = 12\n'
        '[source]\ntitle = "本市驿站建设方案"\nyear = 2025\n', encoding="utf-8")
    xinle, own = load_rules(f"xinle,{mine}")
    assert xinle.id == "xinle"
    assert own.id == "my-rule"  # from the file's name
    assert (own.name_en, own.name_zh) == ("Town rule", "本市标准")
    assert (own.radius_m, own.spacing_m, own.cover) == (300.0, 600.0, 2)
    assert own.road_classes == ("primary", "secondary")
    assert (own.target_share, own.target_from) == (0.9, "document")
    rule = own.coverage_rule("bike")  # 2 min at 12 km/h = 400 m; 300 m decides
    assert (rule.radius_m, rule.max_minutes, rule.speed_kmh, rule.limit_m) == (300.0, 2.0,
                                                                               12.0, 300.0)
    assert own.coverage_rule("walk").max_minutes is None  # no walking time given


BAD_PACKS = [
    ('radus_m = 500\n[source]\ntitle = "T"\n', "unknown key 'radus_m'; did you mean 'radius_m'?"),
    ('radius_m = 500\n[source]\ntitle = "T"\nyaer = 2020\n',
     "[source]: unknown key 'yaer'; did you mean 'year'?"),
    ('[time.car]\nminutes = 5\n[source]\ntitle = "T"\n', "[time]: unknown key 'car'"),
    ('cover = 2\n[source]\ntitle = "T"\n', "no threshold: give radius_m, spacing_m or"),
    ('radius_m = -5\n[source]\ntitle = "T"\n', "radius_m must be a number > 0"),
    ('radius_m = "500"\n[source]\ntitle = "T"\n', "radius_m must be a number > 0"),
    ('radius_m = nan\n[source]\ntitle = "T"\n', "radius_m must be a number > 0"),
    ('radius_m = 500\ncover = 1.5\n[source]\ntitle = "T"\n', "cover must be a whole number"),
    ('radius_m = 500\ntarget_share = 1.5\n[source]\ntitle = "T"\n',
     "target_share must be a number > 0 and <= 1"),
    ('radius_m = 500\nspacing_m = 900\n[source]\ntitle = "T"\n', "radius_m or spacing_m, not both"),
    ('[time.walk]\nspeed_kmh = 5\n[source]\ntitle = "T"\n', "[time.walk] needs minutes"),
    ('radius_m = 500\n', "[source] needs a title"),
    ('radius_m = 500\ntarget_from = "law"\n[source]\ntitle = "T"\n',
     "target_from must be document or stationplan"),
    ('radius_m = 500 m\n', "not a valid TOML file"),
]


@pytest.mark.parametrize(("text", "message"), BAD_PACKS)
def test_a_bad_rule_file_is_one_line_naming_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(sp.InputError) as err:
        load_rules(str(path))
    assert message in str(err.value)
    assert str(err.value).startswith("mine.toml")
    assert "\n" not in str(err.value)


def test_unknown_rule_names_and_missing_files():
    with pytest.raises(sp.InputError, match="unknown rule 'acftu'; did you mean acftu-15min"):
        load_rules("xinle,acftu")
    with pytest.raises(sp.InputError, match=r"rule file .*nothere\.toml not found"):
        load_rules("./nothere.toml")
    with pytest.raises(sp.InputError, match="names rule xinle twice"):
        load_rules("xinle,xinle")


def test_cli_rejects_a_bad_rule_with_exit_2_and_one_line(tmp_path, capsys):
    code = main(["coverage", "net.graphml", "st.csv", "--out", str(tmp_path / "o"),
                 "--rules", "xinle,gb50180-50", "--lang", "en"])
    err = capsys.readouterr().err
    assert code == 2
    assert "did you mean gb50180-5" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "districts give the rules' verdicts per district: pass rules too (--rules)"),
    ("zh", "--districts 用于各标准的分街道结论，须同时给出 --rules"),
])
def test_districts_without_rules_is_refused_before_anything(tmp_path, capsys, lang, said):
    """coverage --districts without --rules read the file and then gave no district figure
    anywhere, silently: refused at once (the network is not even looked for), naming the
    command that gives coverage per district."""
    out = tmp_path / "o"
    code = main(["coverage", "no-such-net.osm", "st.csv", "--out", str(out),
                 "--districts", "districts.geojson", "--lang", lang])
    err = capsys.readouterr().err
    assert code == 2 and said in err and "report --districts" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


# --- verdicts on hand networks -----------------------------------------------------------

def _line_net(xs, classes=None):
    """A straight two-way street along y=0 through ``xs`` (metres)."""
    g = nx.MultiDiGraph(crs=HAND_CRS)
    for i, x in enumerate(xs):
        g.add_node(i, x=X0 + x, y=Y0)
    for i, (a, b) in enumerate(itertools.pairwise(xs)):
        hw = classes[i] if classes else "residential"
        for s, t in ((i, i + 1), (i + 1, i)):
            g.add_edge(s, t, osmid=100 + i, highway=hw, length=b - a, name=f"街{i}")
    return sp.network_from_graph(g)


def _stations(net, tmp_path, xs):
    rows = [dict(zip(("name", "lng", "lat"), (f"S{i + 1}", *hand_lonlat(x, 0)), strict=True))
            for i, x in enumerate(xs)]
    path = tmp_path / "stations.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return sp.snap_stations(net, sp.read_stations(path))


def _pack(rule_id, **fields):
    return parse_rule_pack({"id": rule_id, "source": {"title": "paper"}, **fields})


def _box(x0, x1):
    """A polygon over the street from x0 to x1 (metres), in WGS-84."""
    return gpd.GeoDataFrame(geometry=[shapely.box(X0 + x0, Y0 - 50, X0 + x1, Y0 + 50)],
                            crs=HAND_CRS).to_crs(4326)


def test_verdicts_on_a_street_with_two_stations_paper_values(tmp_path):
    # A 2 km street, stations at 600 m and 1000 m.
    net = _line_net([0, 2000])
    st = _stations(net, tmp_path, [600, 1000])
    packs = (*load_rules(["xinle", "acftu-15min", "gb50180-5"]),
             _pack("two-500", radius_m=500, cover=2, target_share=0.25, target_from="document"))
    verdicts = rule_verdicts(net, st, packs)
    got = {v.pack.id: v.summary for v in verdicts}
    # xinle, 500 m: S1 reaches 100-1100, S2 500-1500 -> 100-1500, 1400 of 2000 m
    # acftu, 1000 m by 2 stations: S1 0-1600, S2 0-2000 -> 0-1600, 1600 m
    # gb50180-5, 300 m: 300-900 and 700-1300 -> 300-1300, 1000 m
    # two-500: both stations 500-1100, 600 m = 30 % >= 25 % target: pass
    want = {"xinle": (1400.0, 0.7, False), "acftu-15min": (1600.0, 0.8, False),
            "gb50180-5": (1000.0, 0.5, False), "two-500": (600.0, 0.3, True)}
    for rule_id, (covered, share, passed) in want.items():
        entry = got[rule_id]
        assert entry["demand_m"] == pytest.approx(2000.0, abs=1e-3)
        assert entry["covered_m"] == pytest.approx(covered, abs=1e-3)
        assert entry["covered_share"] == pytest.approx(share, abs=1e-6)
        assert entry["passed"] is passed
    # the failing streets: xinle's gaps 0-100 and 1500-2000 as two runs, longest first
    assert [f["length_m"] for f in got["xinle"]["failing_streets"]] == pytest.approx([500, 100])
    assert got["xinle"]["gap_runs"] == 2
    # cover=2 at 500 m: 0-500 and 1100-2000 fail
    assert [f["length_m"] for f in got["two-500"]["failing_streets"]] == pytest.approx([900, 500])


def test_a_dense_area_takes_the_stricter_threshold_inside_it(tmp_path):
    net = _line_net([0, 2000])
    st = _stations(net, tmp_path, [600, 1000])
    shandong = load_rules("shandong")
    # Outside the dense area (800-2000) at 500 m: 800-1500 = 700 m. Inside (0-800) at
    # 250 m: S1 350-850, S2 750-1250 -> 350-800 = 450 m. Together 1150 of 2000.
    (v,) = rule_verdicts(net, st, shandong, dense_area=_box(-100, 800))
    assert v.summary["dense_area_checked"] is True
    assert v.summary["covered_m"] == pytest.approx(1150.0, abs=1e-3)
    assert v.summary["demand_m"] == pytest.approx(2000.0, abs=1e-3)
    p = v.coverage.pieces
    assert p["length_m"].sum() == pytest.approx(2000.0, abs=1e-3)  # still tiles the street
    # the pieces are cut exactly at the area's edge, 800 m
    assert any(abs(a - 800.0) < 1e-6 for a in p["start_m"])
    gaps = sorted(v.gaps["length_m"].round(3))
    assert gaps == pytest.approx([350.0, 500.0])  # 0-350 inside, 1500-2000 outside
    # without a dense area the 0.5 km part is not checked, and the verdict says so
    (plain,) = rule_verdicts(net, st, shandong)
    assert plain.summary["dense_area_checked"] is False
    assert plain.summary["covered_m"] == pytest.approx(1400.0, abs=1e-3)


def test_road_classes_and_districts(tmp_path):
    # 0-1000 primary, 1000-2000 residential; stations at 600 and 1000, 500 m.
    net = _line_net([0, 1000, 2000], classes=["primary", "residential"])
    st = _stations(net, tmp_path, [600, 1000])
    alleys = _pack("alleys", radius_m=500, road_classes=["residential"])
    west, east = _box(-100, 1000), _box(1000, 2100)
    districts = gpd.GeoDataFrame({"district": ["西", "东"]},
                                 geometry=[west.geometry[0], east.geometry[0]], crs=4326)
    v_all, v_alleys = rule_verdicts(net, st, (*load_rules("xinle"), alleys),
                                    districts=districts)
    # only residential counts: 1000-2000, covered 1000-1500
    assert v_alleys.summary["demand_m"] == pytest.approx(1000.0, abs=1e-3)
    assert v_alleys.summary["covered_share"] == pytest.approx(0.5, abs=1e-6)
    # per district, xinle: west 100-1000 of 0-1000, east 1000-1500 of 1000-2000
    rows = {d["district"]: d for d in v_all.summary["districts"]}
    assert rows["西"]["covered_share"] == pytest.approx(0.9, abs=1e-6)
    assert rows["东"]["covered_share"] == pytest.approx(0.5, abs=1e-6)
    assert rows["西"]["passed"] is False
    # the alleys rule has no demand in the west: no verdict there
    rows = {d["district"]: d for d in v_alleys.summary["districts"]}
    assert rows["西"]["passed"] is None and rows["西"]["demand_m"] == 0


# --- the shared Guixi extract ------------------------------------------------------------

def test_rules_on_guixi_match_independent_engine_runs(tmp_path):
    osm = shared_osm("guixi_county_city.osm.bz2")
    sheet = shared_sheet("guixi_stations.xlsx")
    out = tmp_path / "out"
    run = sp.run_report(osm, sheet, out=out, rules="xinle,acftu-15min")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rules = {r["id"]: r for r in summary["rules"]}
    assert list(rules) == ["xinle", "acftu-15min"]
    # each rule against its own engine run, the rule written out here from the documents
    independent = {
        "xinle": sp.CoverageRule(radius_m=500.0, max_minutes=5.0, speed_kmh=6.0),
        "acftu-15min": sp.CoverageRule(radius_m=1000.0, max_minutes=15.0, speed_kmh=6.0,
                                       cover=2),
    }
    for rule_id, rule in independent.items():
        cov = sp.compute_coverage(run.network, run.stations, rule=rule)
        assert rules[rule_id]["covered_m"] == pytest.approx(cov.covered_m, abs=2e-3)
        assert rules[rule_id]["demand_m"] == pytest.approx(cov.demand_m, abs=2e-3)
        assert rules[rule_id]["covered_share"] == pytest.approx(
            cov.covered_m / cov.demand_m, abs=1e-6)
        assert rules[rule_id]["passed"] is False  # far from 100 %
        assert rules[rule_id]["gap_m"] == pytest.approx(cov.gap_m, abs=2e-3)
    # cross-coverage is harder than one station at 500 m here... and reaches less
    assert rules["acftu-15min"]["covered_m"] < rules["xinle"]["covered_m"]
    # the headline is the run's own rule, which is xinle's
    assert summary["covered_m"] == rules["xinle"]["covered_m"]
    assert rules["xinle"]["headline"] is True and rules["acftu-15min"]["headline"] is False
    # the report's verdict table: its heading, each rule's name, share and source
    md = (out / "report.md").read_text(encoding="utf-8")
    table = md.split("## 标准核验", 1)[1].split("\n## ", 1)[0]
    for r in rules.values():
        assert r["name_zh"] in table
        assert f"{100 * r['covered_share']:.1f} %" in table
        # the source in the run's language only: no "/ original title not recorded",
        # no "(All-China Federation of Trade Unions, ACFTU)"
        assert one_language(r["source"]["title"], "zh") in table.replace("\\", "")
        assert one_language(r["source"]["issuer"], "zh") in table
    assert "原标题未记录）" in table and "original" not in table and "Federation" not in table
    assert "| 标准 | 阈值 | 覆盖率 | 目标 | 结论 | 未达标街道 | 依据 |" in table
    assert table.count("✘ 未达标") == 2
    html = (out / "report.html").read_text(encoding="utf-8")
    for i, r in enumerate(summary["rules"]):
        key = json.dumps(["rules", i, "covered_share"]).replace('"', "&quot;")
        assert f'data-key="{key}" data-kind="share" data-value="{r["covered_share"]}"' in html
    # the map: one layer of failing streets per rule
    page = (out / "coverage_map.html").read_text(encoding="utf-8")
    for r in rules.values():
        assert json.dumps(f"标准 {r['name_zh']}：覆盖")[1:-1] in page


def test_cli_coverage_with_rules_a_file_and_districts(tmp_path):
    # The command line end to end on a 2 km street (stations at 600 and 1000 m): a user's
    # rule file beside a built-in, per district, the headline unchanged.
    g = nx.MultiDiGraph(crs=HAND_CRS)
    g.add_node(0, x=X0, y=Y0)
    g.add_node(1, x=X0 + 2000, y=Y0)
    for s, t in ((0, 1), (1, 0)):
        g.add_edge(s, t, osmid=7, highway="residential", length=2000.0, name="街")
    net = tmp_path / "street.graphml"
    ox.save_graphml(g, net)
    rows = [{"name": f"S{i}", "lng": hand_lonlat(x, 0)[0], "lat": hand_lonlat(x, 0)[1]}
            for i, x in enumerate((600, 1000))]
    stations = tmp_path / "stations.csv"
    pd.DataFrame(rows).to_csv(stations, index=False)
    mine = tmp_path / "mine.toml"
    mine.write_text('id = "wide"\nradius_m = 800\n[source]\ntitle = "T"\n', encoding="utf-8")
    districts = tmp_path / "districts.geojson"
    gpd.GeoDataFrame({"name": ["W", "E"]}, geometry=[_box(-100, 1000).geometry[0],
                                                   _box(1000, 2100).geometry[0]],
                     crs=4326).to_file(districts, driver="GeoJSON")
    out = tmp_path / "out"
    code = main(["coverage", str(net), str(stations), "--out", str(out), "--area", "none",
                 "--rules", f"xinle,{mine}", "--districts", str(districts), "--quiet",
                 "--lang", "en"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    xinle, wide = summary["rules"]
    # wide, 800 m: 0-1800 covered (S1 reaches 0-1400, S2 200-1800)
    assert wide["id"] == "wide" and wide["origin"] == "mine.toml"
    assert wide["covered_m"] == pytest.approx(1800.0, abs=1e-3)
    assert [d["covered_share"] for d in wide["districts"]] == pytest.approx([1.0, 0.8])
    assert [d["passed"] for d in wide["districts"]] == [True, False]
    assert xinle["covered_m"] == pytest.approx(1400.0, abs=1e-3) == summary["covered_m"]
    assert xinle["headline"] is True and wide["headline"] is False
