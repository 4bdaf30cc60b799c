"""Opening hours (stationplan.hours): strings as people write them, and coverage by time.

The expected intervals are written out by hand for a reference week (Monday 2025-06-09 to
Sunday 2025-06-15, no public holiday in it), day by day, independent of the parser's
output; the coverage at a time is checked against the exact engine run on the stations a
test selects by hand from the sheet's hour strings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math

import openpyxl
import osmnx as ox
import pandas as pd
import pytest
from handnet import hand_graph, hand_lonlat, shared_osm, shared_sheet

import stationplan as sp
from stationplan import hours
from stationplan.cli import main
from stationplan.siting import stations_with_proposals

MONDAY = dt.datetime(2025, 6, 9)
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
ALL = "Mo-Su"
DAY = ["00:00-24:00"]


def _days(selector: str) -> list[int]:
    """'Mo-Fr' -> [0..4], 'Sa,Su' -> [5, 6] (the test's own, tiny day reader)."""
    out: list[int] = []
    for part in selector.split(","):
        a, _, b = part.partition("-")
        i, j = DAYS.index(a), DAYS.index(b or a)
        out += list(range(i, j + 1))
    return out


def _minutes(text: str) -> tuple[int, int]:
    a, b = text.split("-")
    return tuple(int(t[:2]) * 60 + int(t[3:]) for t in (a, b))  # type: ignore[return-value]


def _expected(spec: dict[str, list[str]]) -> set[tuple[int, int, int]]:
    """{day selector: ["HH:MM-HH:MM", ...]} -> {(day, start minute, end minute)}."""
    return {(d, *_minutes(iv)) for sel, ivs in spec.items() for d in _days(sel) for iv in ivs}


def _week(h: hours.Hours, state: str) -> set[tuple[int, int, int]]:
    """The parser's intervals in ``state`` over the reference week, cut at midnight."""
    out = set()
    for a, b, st in h.intervals(MONDAY, MONDAY + dt.timedelta(days=7)):  # minute by minute
        if st != state:
            continue
        t = a
        while t < b:
            midnight = dt.datetime.combine(t.date() + dt.timedelta(days=1), dt.time())
            end = min(b, midnight)
            day = (t.date() - MONDAY.date()).days
            out.add((day, t.hour * 60 + t.minute,
                     1440 if end == midnight else end.hour * 60 + end.minute))
            t = end
    return out


# (as written, {days: open intervals}, {days: unknown intervals}) — by hand
CASES = [
    # OSM opening_hours syntax
    ("24/7", {ALL: DAY}, {}),
    ("Mo-Fr 08:00-18:00", {"Mo-Fr": ["08:00-18:00"]}, {}),
    ("Mo-Fr 08:00-18:00; Sa 09:00-12:00", {"Mo-Fr": ["08:00-18:00"], "Sa": ["09:00-12:00"]},
     {}),
    ("Mo-Su 07:00-22:00; PH off", {ALL: ["07:00-22:00"]}, {}),
    ("Mo-Fr 08:00-12:00,13:00-17:30", {"Mo-Fr": ["08:00-12:00", "13:00-17:30"]}, {}),
    ("Tu-Su 09:00-17:00", {"Tu-Su": ["09:00-17:00"]}, {}),
    ("22:00-06:00", {ALL: ["00:00-06:00", "22:00-24:00"]}, {}),
    ("Mo-Sa 08:00-20:00; Su off", {"Mo-Sa": ["08:00-20:00"]}, {}),
    # a fallback rule applies on days no rule before it names: none here, Sa-Su below
    ("08:00-18:00 || unknown", {ALL: ["08:00-18:00"]}, {}),
    ("Mo-Fr 08:00-18:00 || unknown", {"Mo-Fr": ["08:00-18:00"]}, {"Sa-Su": DAY}),
    ("Mo,We,Fr 09:00-17:00", {"Mo,We,Fr": ["09:00-17:00"]}, {}),
    ("Sa,Su 10:00-16:00", {"Sa-Su": ["10:00-16:00"]}, {}),
    ("Mo-Fr 09:00-17:00; We 09:00-12:00", {"Mo-Tu,Th-Fr": ["09:00-17:00"],
                                           "We": ["09:00-12:00"]}, {}),
    ("10:00-20:00; Mo off", {"Tu-Su": ["10:00-20:00"]}, {}),
    ("Mo-Fr 00:00-24:00", {"Mo-Fr": DAY}, {}),
    ("Mo-Su 06:00-24:00", {ALL: ["06:00-24:00"]}, {}),
    # Chinese office writing
    ("9:00-21:00", {ALL: ["09:00-21:00"]}, {}),
    ("09:00～21:00", {ALL: ["09:00-21:00"]}, {}),
    ("24小时", {ALL: DAY}, {}),
    ("全天", {ALL: DAY}, {}),
    ("全天24小时", {ALL: DAY}, {}),
    ("24h", {ALL: DAY}, {}),
    ("周一至周五 8:00-18:00", {"Mo-Fr": ["08:00-18:00"]}, {}),
    ("周一至周日", {}, {ALL: DAY}),  # every day, hours not given
    ("工作日", {}, {"Mo-Fr": DAY}),
    ("周末", {}, {"Sa-Su": DAY}),
    ("每天 7:00-22:00", {ALL: ["07:00-22:00"]}, {}),
    ("早8点-晚9点", {ALL: ["08:00-21:00"]}, {}),
    ("０８：００－２０：００", {ALL: ["08:00-20:00"]}, {}),
    ("周一至周五 8:00-18:00；周六 9:00-12:00",
     {"Mo-Fr": ["08:00-18:00"], "Sa": ["09:00-12:00"]}, {}),
    ("9:00-17:00（周一闭馆）", {"Tu-Su": ["09:00-17:00"]}, {}),
    ("周一至周五 8:30-17:30，节假日休息", {"Mo-Fr": ["08:30-17:30"]}, {}),
    ("8:00-12:00，14:00-18:00", {ALL: ["08:00-12:00", "14:00-18:00"]}, {}),
    ("8:00-12:00 14:00-18:00", {ALL: ["08:00-12:00", "14:00-18:00"]}, {}),
    ("22:00-次日6:00", {ALL: ["00:00-06:00", "22:00-24:00"]}, {}),
    ("周一到周五9:00-18:00 周末10:00-16:00",
     {"Mo-Fr": ["09:00-18:00"], "Sa-Su": ["10:00-16:00"]}, {}),
    ("周一至五 8:00-17:00", {"Mo-Fr": ["08:00-17:00"]}, {}),
    ("上午8:00-下午6:00", {ALL: ["08:00-18:00"]}, {}),
    ("8am-9pm", {ALL: ["08:00-21:00"]}, {}),
    ("9-21", {ALL: ["09:00-21:00"]}, {}),
    ("9点-21点", {ALL: ["09:00-21:00"]}, {}),
    ("8点半-17点半", {ALL: ["08:30-17:30"]}, {}),
    ("周六、周日 9:00-17:00", {"Sa-Su": ["09:00-17:00"]}, {}),
    ("全年无休 24小时", {ALL: DAY}, {}),
    ("每日08:00—20:00", {ALL: ["08:00-20:00"]}, {}),
    ("星期一至星期五 08:00-18:00", {"Mo-Fr": ["08:00-18:00"]}, {}),
    ("节假日照常开放 9:00-21:00", {ALL: ["09:00-21:00"]}, {}),
    ("营业时间：9:00-21:00", {ALL: ["09:00-21:00"]}, {}),
    ("周一休息 9:00-18:00", {"Tu-Su": ["09:00-18:00"]}, {}),
    ("早上7点到晚上10点", {ALL: ["07:00-22:00"]}, {}),
    ("周一至周五 24小时", {"Mo-Fr": DAY}, {}),
    ("晚10点-凌晨2点", {ALL: ["00:00-02:00", "22:00-24:00"]}, {}),
    ("中午12点-下午2点", {ALL: ["12:00-14:00"]}, {}),
    ("礼拜一至礼拜六 8:00-20:00", {"Mo-Sa": ["08:00-20:00"]}, {}),
    ("周一至周五 8:00-12:00、14:00-17:30", {"Mo-Fr": ["08:00-12:00", "14:00-17:30"]}, {}),
    ("开放时间：周一至周五 9:00—17:00；周六、周日 10:00—16:00",
     {"Mo-Fr": ["09:00-17:00"], "Sa-Su": ["10:00-16:00"]}, {}),
]


def test_at_least_forty_strings():
    assert len(CASES) >= 40
    assert len({text for text, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "open_", "unknown"), CASES, ids=[c[0] for c in CASES])
def test_hours_over_the_reference_week(text, open_, unknown):
    h = hours.parse_hours(text)
    assert h.status == "ok", h.reason
    assert _week(h, "open") == _expected(open_)
    assert _week(h, "unknown") == _expected(unknown)


@pytest.mark.parametrize(("text", "when", "state"), [
    # 2025-10-01 (Wed) is National Day in the parser's calendar for China; 10-08 is not
    ("周一至周五 8:30-17:30，节假日休息", "2025-10-01 10:00", "closed"),
    ("周一至周五 8:30-17:30，节假日休息", "2025-10-08 10:00", "open"),
    ("周一至周五 8:30-17:30", "2025-10-01 10:00", "open"),
    ("Mo-Su 07:00-22:00; PH off", "2025-10-01 10:00", "closed"),
    ("节假日照常开放 9:00-21:00", "2025-10-01 10:00", "open"),
    ("节假日 10:00-16:00", "2025-10-01 09:00", "closed"),
])
def test_public_holidays(text, when, state):
    assert hours.parse_hours(text).state(hours.parse_at(when)) == state


@pytest.mark.parametrize("text", ["夏季8:00-18:00 冬季8:30-17:30", "不定时", "电话预约",
                                  "随时", "看情况", "8:00-"])
def test_unreadable_hours_are_unknown_and_say_why(text):
    h = hours.parse_hours(text)
    assert h.status == "unparsed"
    assert h.reason.startswith("not read: ")
    assert h.osm == ""
    for day in range(7):
        assert h.state(MONDAY + dt.timedelta(days=day, hours=12)) == "unknown"


@pytest.mark.parametrize("text", ["", "  ", None, math.nan, "无", "-", "／"])
def test_empty_hours_are_assumed_open(text):
    h = hours.parse_hours(text)
    assert h.status == "not_given"
    assert h.state(MONDAY + dt.timedelta(hours=3)) == "assumed_open"


@pytest.mark.parametrize(("text", "expected"), [
    ("22:00", dt.datetime(2025, 6, 11, 22)),
    ("7:05", dt.datetime(2025, 6, 11, 7, 5)),
    ("Sat 07:00", dt.datetime(2025, 6, 14, 7)),
    ("saturday 7:00", dt.datetime(2025, 6, 14, 7)),
    ("Mo 00:00", dt.datetime(2025, 6, 9, 0)),
    ("周六 07:00", dt.datetime(2025, 6, 14, 7)),
    ("星期日 23:30", dt.datetime(2025, 6, 15, 23, 30)),
    ("周一 晚10点", dt.datetime(2025, 6, 9, 22)),
    ("２２：００", dt.datetime(2025, 6, 11, 22)),
    ("2025-10-01 07:00", dt.datetime(2025, 10, 1, 7)),
    ("2026-2-17T08:00", dt.datetime(2026, 2, 17, 8)),
])
def test_parse_at(text, expected):
    assert hours.parse_at(text) == expected


@pytest.mark.parametrize("text", ["24:00", "25:00", "Sat", "Xyz 07:00", "S 07:00",
                                  "2025-13-01 07:00", "noon", "", "07:60"])
def test_bad_at_is_one_input_error(text):
    with pytest.raises(sp.InputError, match=r"^--at "):
        hours.parse_at(text)


def test_bad_at_on_the_command_line(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["coverage", "net.osm", "st.csv", "--out", str(out), "--at", "Sun 25:00"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("stationplan coverage: error: argument --at: give a time")
    assert not out.exists()


# --- coverage at a time on the hand network --------------------------------------------

def test_coverage_at_counts_open_and_unmarked_stations(tmp_path):
    """Hand network, Saturday 03:00: S4 (24 h) is open, S2 (no hours) counts as open,
    S3 (unreadable) and S1, S6 (daytime) do not; every row stays with its state."""
    net = sp.network_from_graph(hand_graph())
    rows = [("S1", 650, 20, "9:00-21:00"), ("S2", -100, 5010, ""),
            ("S3", 900, 4990, "夏季8:00-18:00"), ("S4", 150, 10000, "24小时"),
            ("S6", 2500, 5005, "周一至周五 8:00-18:00")]
    path = tmp_path / "hours.csv"
    lines = ["name,lon,lat,开放时间"]
    for name, x, y, h in rows:
        lon, lat = hand_lonlat(x, y)
        lines.append(f"{name},{lon:.9f},{lat:.9f},{h}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    snapped = sp.snap_stations(net, sp.read_stations(path))
    table = hours.station_hours(snapped)
    assert list(table["hours_status"]) == ["ok", "not_given", "unparsed", "ok", "ok"]

    cov = hours.coverage_at(net, table, hours.parse_at("Sat 03:00"))
    assert list(cov.stations["open_at"]) == ["closed", "assumed_open", "unknown", "open",
                                            "closed"]
    assert list(cov.stations["status"]) == ["ok"] * 5  # rows kept, as read
    # by hand on paper: S2 sits 100 m from P0 on the 200 m footway P0-P and reaches 100 m
    # back to P0 and 400 m on towards Q (P at 100 m, then 400 m of the 800 m P-Q): 500 m;
    # S4 sits on X-Y (300 m), all of it within 500 m: 300 m; S2's footway counts as demand
    # (footway is served), so covered = 100 + 100 + 400 + 300 = 900 m
    assert cov.covered_m == pytest.approx(900.0, abs=1e-3)  # coordinates via lon/lat
    # and the engine on just those two rows, selected by hand
    alone = sp.compute_coverage(net, snapped[snapped["name"].isin(["S2", "S4"])])
    assert cov.covered_m == pytest.approx(alone.covered_m, abs=1e-9)

    summary = hours.hours_summary(cov.stations, when=hours.parse_at("Sat 03:00"), by_hour=None)
    assert summary["not_given"] == [str(snapped["station_id"].iloc[1])]
    assert [u["hours"] for u in summary["unparsed"]] == ["夏季8:00-18:00"]
    assert summary["at"]["stations_open"] == 1
    assert summary["at"]["stations_assumed_open"] == 1
    assert summary["at"]["stations_unknown"] == 1


# --- the Guixi sheet: coverage at 03:00 and by hour ------------------------------------

# The sheet's 开放时间, read by hand from guixi_stations.xlsx (station_id: hours).
GUIXI_HOURS = {
    "1": "08:00-18:00", "2": "08:00-20:00", "3": "全天24小时", "4": "08:30-17:30",
    "5": "07:00-22:00", "6": "08:00-18:00", "7": "08:00-21:00", "8": "09:00-17:00",
    "9": "08:00-20:00", "10": "09:00-22:00", "11": "08:00-17:30",
}


def _open_by_hand(minute: int) -> set[str]:
    """The stations open at ``minute`` of a day, from GUIXI_HOURS by simple comparison."""
    out = set()
    for sid, text in GUIXI_HOURS.items():
        if text == "全天24小时":
            out.add(sid)
            continue
        a, b = _minutes(text)
        if a <= minute < b:
            out.add(sid)
    return out


@pytest.fixture(scope="module")
def guixi(tmp_path_factory):
    osm = shared_osm("guixi_county_city.osm.bz2")
    sheet = shared_sheet("guixi_stations.xlsx")
    out = tmp_path_factory.mktemp("guixi-hours")
    run = sp.run_coverage(osm, sheet, out=out, at="03:00", by_hour=True)
    return run, out


def test_guixi_sheet_is_as_read_by_hand(guixi):
    run, _ = guixi
    assert dict(zip(run.stations["station_id"].astype(str), run.stations["hours"],
                    strict=True)) == GUIXI_HOURS
    assert _open_by_hand(3 * 60) == {"3"}
    assert _open_by_hand(12 * 60) == set(GUIXI_HOURS)


def test_guixi_coverage_at_3am_is_the_open_stations_coverage(guixi):
    run, out = guixi
    snapped = run.stations
    alone = sp.compute_coverage(run.network, snapped[snapped["station_id"].astype(str).isin(
        _open_by_hand(3 * 60))], rule=run.coverage.rule)
    assert run.coverage.covered_m == pytest.approx(alone.covered_m, abs=1e-6)
    assert run.summary["covered_m"] == pytest.approx(alone.covered_m, abs=1e-3)
    assert run.summary["total_m"] == pytest.approx(alone.demand_m, abs=1e-3)
    # every station row is in the outputs with its state at 03:00
    features = json.loads((out / "stations.geojson").read_text(encoding="utf-8"))["features"]
    states = {f["properties"]["station_id"]: f["properties"]["open_at"] for f in features}
    assert len(states) == 11
    assert {str(k) for k, v in states.items() if v == "open"} == {"3"}
    assert sorted(v for v in states.values()) == ["closed"] * 10 + ["open"]
    assert run.summary["hours"]["at"]["stations_closed"] == 10


def test_guixi_headlines_at_3am_count_the_open_stations(guixi, tmp_path, caplog):
    """The PNG title and the log line pair the share with the stations open then (1 of
    the 11, by the hand table), not with all 11."""
    from stationplan.staticmap import coverage_figure

    run, _ = guixi
    n_open = len(_open_by_hand(3 * 60))
    for lang, words in (("zh", f"11 个现有驿站中 {n_open} 个开放"),
                        ("en", f"{n_open} of 11 existing stations open")):
        fig = coverage_figure(run.coverage, run.gaps, summary=run.summary, lang=lang)
        assert words in fig.texts[0].get_text()
    with caplog.at_level(logging.INFO, logger="stationplan"):
        sp.run_coverage(shared_osm("guixi_county_city.osm.bz2"),
                        shared_sheet("guixi_stations.xlsx"), at="03:00", out=tmp_path / "o")
    lines = [r.getMessage() for r in caplog.records]
    line = next(m for m in lines if m.startswith("covered "))
    assert line.endswith(f"; {n_open} of 11 usable stations open at "
                         f"{run.summary['hours']['at']['label']} count")
    # the map's line counts them the same way
    line = next(m for m in lines if m.startswith("map: "))
    assert f" {n_open} existing stations open then and {11 - n_open} not, " in line


def test_guixi_map_at_3am_draws_the_closed_stations_apart(guixi):
    # the stations the hand table says are closed at 03:00 are in their own greyed layer,
    # each popup saying so; the open one alone is an existing station
    run, out = guixi
    page = (out / "coverage_map.html").read_text(encoding="utf-8")
    closed = set(GUIXI_HOURS) - _open_by_hand(3 * 60)
    names = dict(zip(run.stations["station_id"].astype(str), run.stations["name"],
                     strict=True))
    assert run.summary["hours"]["at"]["label"] == "Wed 03:00"  # machine-readable
    # layer names are JSON-escaped in the page; a zh map names the day in Chinese
    assert json.dumps(f"周三 03:00 时未开放 ({len(closed)})")[1:-1] in page
    assert json.dumps(f"现有驿站 ({11 - len(closed)})")[1:-1] in page  # a zh map
    assert page.count('"closed-') == len(closed) and page.count('"station-') == 1
    assert page.count("关闭（按开放时间）") == len(closed)
    for sid in closed:
        assert json.dumps(names[sid], ensure_ascii=False)[1:-1] in page


def test_at_label_in_the_runs_language():
    # the user types 周六 21:30 and reads 周六 21:30, not Sat 21:30; the date stays a date
    from stationplan._i18n.cli import log_text

    assert hours.at_label(hours.parse_at("周六 21:30"), "zh") == "周六 21:30"
    assert hours.at_label(hours.parse_at("2025-10-01 07:00"), "zh") == "2025-10-01 周三 07:00"
    assert hours.at_label(hours.parse_at("Sun 07:00")) == "Sun 07:00"
    assert log_text("at %s: %d of %d usable stations open (%d by hours not given), %d "
                    "closed, %d unknown", ("Sat 21:30", 3, 11, 0, 8, 0), "zh").startswith(
        "周六 21:30：3 个站点开放")
    assert "（周六 00:00）" in log_text(
        "coverage by hour on %s: %d engine runs for %d distinct sets of open stations; "
        "lowest %.1f %% at %s, highest %.1f %% at %s",
        ("2025-06-14", 7, 8, 5.0, "Sat 00:00", 29.1, "Sat 09:00"), "zh")


def test_guixi_zh_outputs_name_the_day_in_chinese(guixi):
    # a Chinese run at 03:00 (a Wednesday): the map's panel, the PNG's subtitle, the
    # 时刻 column of hours.csv and hours.xlsx and the sheet's name are Chinese
    from stationplan.staticmap import coverage_figure

    run, out = guixi
    page = (out / "coverage_map.html").read_text(encoding="utf-8")
    assert "周三 03:00：11 个站点中 1 个开放" in page
    assert "Wed 03:00" not in page
    fig = coverage_figure(run.coverage, run.gaps, summary=run.summary, lang="zh")
    assert any("周三 03:00" in t.get_text() for t in fig.texts)
    csv_rows = (out / "hours.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv_rows[0].split(",")[1] == "时刻" and csv_rows[4].split(",")[1] == "周三 03:00"
    book = openpyxl.load_workbook(out / "hours.xlsx")
    assert book.sheetnames == ["逐小时覆盖"]
    assert book.worksheets[0]["B5"].value == "周三 03:00"
    assert run.summary["hours"]["by_hour"][3]["time"] == "Wed 03:00"  # machine-readable


def test_plan_at_closing_line_names_the_day_in_chinese(tmp_path, hand_stations_csv, capsys):
    graphml = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), graphml)
    assert main(["plan", str(graphml), str(hand_stations_csv), "--out", str(tmp_path / "o"),
                 "--quiet", "--area", "none", "--lang", "zh", "--new-sites", "1",
                 "--at", "周六 21:30"]) == 0
    out = capsys.readouterr().out
    assert "以上为周六 21:30 时的数字" in out and "Sat" not in out


def test_guixi_hours_curve_steps_through_the_independent_runs(guixi):
    # the curve in hours.png: the share at each hour held until the next; at 03:00 and
    # 12:00 the share of the engine on the stations open then, picked by hand
    from stationplan.outputs import hours_figure

    run, out = guixi
    assert (out / "hours.png").is_file()
    table = pd.read_csv(out / "hours.csv", encoding="utf-8-sig")  # headers in the run's
    table.columns = ["hour", "time", "stations_open", "stations_assumed_open",  # language
                     "stations_closed", "stations_unknown", "open_station_ids", "covered_m",
                     "demand_m", "covered_share"]
    line = hours_figure(table).axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert list(x) == [*range(24), 24]
    snapped = run.stations
    for hour in (3, 12):
        alone = sp.compute_coverage(run.network, snapped[snapped["station_id"].astype(
            str).isin(_open_by_hand(hour * 60))], rule=run.coverage.rule)
        assert y[hour] == pytest.approx(100 * alone.covered_m / alone.demand_m, abs=1e-4)


@pytest.mark.parametrize("hour", [3, 12])
def test_guixi_hourly_rows_equal_independent_runs(guixi, hour):
    run, out = guixi
    snapped = run.stations
    alone = sp.compute_coverage(run.network, snapped[snapped["station_id"].astype(str).isin(
        _open_by_hand(hour * 60))], rule=run.coverage.rule)
    row = run.summary["hours"]["by_hour"][hour]
    assert row["hour"] == hour
    assert row["stations_open"] == len(_open_by_hand(hour * 60))
    assert row["covered_m"] == pytest.approx(alone.covered_m, abs=1e-3)
    assert row["covered_share"] == pytest.approx(alone.covered_m / alone.demand_m, abs=1e-6)
    lines = (out / "hours.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 25
    cells = lines[1 + hour].split(",")
    assert cells[0] == str(hour)
    assert float(cells[7]) == pytest.approx(alone.covered_m, abs=1e-3)
    assert set(cells[6].split(";")) == _open_by_hand(hour * 60)


def test_by_hour_on_the_command_line_and_a_rerun_without_it(tmp_path, hand_stations_csv):
    """--by-hour without --at: the headline stays every station's coverage; hours.csv and
    hours.xlsx hold the same 24 rows; a rerun without --by-hour leaves no stale table."""
    graphml = tmp_path / "hand.graphml"
    ox.save_graphml(hand_graph(), graphml)
    out = tmp_path / "o"
    args = ["coverage", str(graphml), str(hand_stations_csv), "--out", str(out), "--quiet",
            "--area", "none", "--lang", "en"]
    assert main([*args, "--by-hour"]) == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "at" not in summary["hours"]
    # the hand stations have no hours column: every usable station is assumed open, always
    rows = summary["hours"]["by_hour"]
    assert [r["hour"] for r in rows] == list(range(24))
    assert {r["covered_m"] for r in rows} == {summary["covered_m"]}
    assert {r["stations_open"] for r in rows} == {summary["stations_used"]}
    assert len(summary["hours"]["not_given"]) == summary["stations_used"]
    csv_rows = [line.split(",") for line in
                (out / "hours.csv").read_text(encoding="utf-8-sig").splitlines()]
    sheet = openpyxl.load_workbook(out / "hours.xlsx").worksheets[0]
    xlsx_rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert csv_rows[0] == xlsx_rows[0] == ["hour", "time", "stations_open",
                                           "stations_assumed_open", "stations_closed",
                                           "stations_unknown", "open_station_ids",
                                           "covered_m", "demand_m", "covered_share"]
    for c, x in zip(csv_rows[1:], xlsx_rows[1:], strict=True):
        assert int(c[0]) == x[0]
        assert float(c[7]) == pytest.approx(x[7], abs=1e-3)
    assert (out / "hours.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([*args, "--overwrite"]) == 0
    assert not (out / "hours.csv").exists()
    assert not (out / "hours.xlsx").exists()
    assert not (out / "hours.png").exists()
    assert "hours" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _sun_noaa(lat: float, lon: float, day: dt.date, utc_hours: int) -> tuple[float, float]:
    """Sunrise and sunset in local minutes after midnight, by NOAA's general solar position
    equations (gml.noaa.gov/grad/solcalc/solareqns.PDF), independent of the parser."""
    g = 2 * math.pi / 365 * (day.timetuple().tm_yday - 1)
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                       - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
            - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
            - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    ha = math.degrees(math.acos(math.cos(math.radians(90.833))
                                / (math.cos(math.radians(lat)) * math.cos(decl))
                                - math.tan(math.radians(lat)) * math.tan(decl)))
    return (720 - 4 * (lon + ha) - eqtime + 60 * utc_hours,
            720 - 4 * (lon - ha) - eqtime + 60 * utc_hours)


def test_sunrise_is_the_stations_own():
    """'sunrise-sunset' at Guixi (28.24 N, 117.2 E) on 2025-06-11 follows the sun there
    (NOAA's equations: about 05:13 to 19:07 Beijing time), not the parser's default place
    (07:00 to 19:00)."""
    import geopandas as gpd
    import shapely

    stations = gpd.GeoDataFrame({"station_id": ["a"], "status": ["ok"],
                                 "hours": ["sunrise-sunset"]},
                                geometry=[shapely.Point(117.2, 28.24)], crs=4326)
    table = hours.station_hours(stations)
    day = dt.date(2025, 6, 11)
    rise, set_ = _sun_noaa(28.24, 117.2, day, 8)
    midnight = dt.datetime.combine(day, dt.time())
    # the parser's solar model and NOAA's agree to well within 3 minutes
    for minute, state in ((rise - 3, "closed"), (rise + 3, "open"), (set_ - 3, "open"),
                          (set_ + 3, "closed")):
        when = midnight + dt.timedelta(minutes=minute)
        assert list(hours.station_states(table, when)) == [state], when


def test_guixi_plan_at_22_closes_the_gap_left_by_the_open_stations(tmp_path):
    # plan --at: the sites that close the night gap; figures against the engine on the
    # stations open at 22:00 picked by hand from the sheet, with and without the sites
    osm = shared_osm("guixi_county_city.osm.bz2")
    sheet = shared_sheet("guixi_stations.xlsx")
    run = sp.run_plan(osm, sheet, out=tmp_path / "plan", new_sites=3, at="22:00",
                      time_limit_s=5)
    night = _open_by_hand(22 * 60)
    assert night == {"3"}
    snapped = sp.snap_stations(run.network, sp.read_stations(sheet))
    open_now = snapped[snapped["station_id"].astype(str).isin(night)]
    before = sp.compute_coverage(run.network, open_now, rule=run.coverage.rule)
    sites = run.plan.proposals
    assert len(sites) == 3
    after = sp.compute_coverage(run.network, stations_with_proposals(open_now, sites),
                                rule=run.coverage.rule)
    plan = run.plan.summary
    assert plan["coverage_before"] == pytest.approx(before.covered_m / before.demand_m,
                                                    abs=1e-6)
    assert plan["coverage_after"] == pytest.approx(after.covered_m / after.demand_m, abs=1e-6)
    assert run.summary["covered_m"] == pytest.approx(after.covered_m, abs=1e-3)
    assert plan["at"]["stations_open"] == 1 and plan["at"]["stations_closed"] == 10
    # all 11 sheet rows and the 3 sites are in the outputs, each with its state then
    features = json.loads((tmp_path / "plan" / "stations.geojson").read_text(
        encoding="utf-8"))["features"]
    states = [f["properties"].get("open_at") for f in features]
    assert len(features) == 14 and states.count("closed") == 10 and states.count("open") == 4
    # as coverage at a time: a closed station is a usable one, closed then, not a rejected
    # row; summary.json says each one's state
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text(encoding="utf-8"))
    assert summary["stations_used"] == 11 and summary["stations_rejected"] == 0
    assert [s["open_at"] for s in summary["stations"]] == states
    assert [s["status"] for s in summary["stations"]] == ["ok"] * 14
    # and the map and the report say that the figures are those of 22:00
    page = (tmp_path / "plan" / "coverage_map.html").read_text(encoding="utf-8")
    assert "22:00" in page and "1 个开放" in page
    report = (tmp_path / "plan" / "report.md").read_text(encoding="utf-8")
    assert "以下数字均为周三 22:00 时的覆盖" in report  # a zh run: the day in Chinese
    assert "周三 22:00：11 个站点中 1 个开放" in page and "Wed 22:00" not in page + report


def test_guixi_rules_at_22_count_the_stations_open_then(tmp_path):
    # the verdicts beside the headline mean the same time as the headline
    osm = shared_osm("guixi_county_city.osm.bz2")
    sheet = shared_sheet("guixi_stations.xlsx")
    run = sp.run_coverage(osm, sheet, rules="xinle,acftu-15min", at="22:00")
    snapped = sp.snap_stations(run.network, sp.read_stations(sheet))
    open_now = snapped[snapped["station_id"].astype(str).isin(_open_by_hand(22 * 60))]
    alone = sp.compute_coverage(run.network, open_now, rule=sp.CoverageRule(radius_m=500,
                                                                              max_minutes=5))
    rules = {r["id"]: r for r in run.summary["rules"]}
    assert rules["xinle"]["covered_m"] == pytest.approx(alone.covered_m, abs=1e-3)
    assert rules["xinle"]["covered_m"] == pytest.approx(run.summary["covered_m"], abs=1e-3)
    assert rules["acftu-15min"]["covered_m"] == 0  # one station open: nothing reached twice
