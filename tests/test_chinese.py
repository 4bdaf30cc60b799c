"""Chinese throughout: a ``--lang zh`` run speaks Chinese in every text people read.

Runs of coverage, plan and check on the hand network with ``--lang zh``; their closing
lines, log lines, check.csv, report and figures are searched for the English words of the
outputs (the English side of the zh/en table, the OSM road classes and the codes shown).
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import re
import shutil
from pathlib import Path

import matplotlib.text as mtext
import osmnx as ox
import pandas as pd
import pytest
from handnet import HAND_EDGES, hand_graph, hand_lonlat, write_hand_stations
from mapcases import hand_case
from matplotlib.font_manager import FontManager

from stationplan import _i18n
from stationplan._i18n import cli as cli_words
from stationplan.cli import _parser, main
from stationplan.outputs import curve_figure
from stationplan.staticmap import cjk_font, coverage_figure

_CJK = re.compile("[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
# Not language: file names and paths, URLs, command-line flags and their values, the
# hand network's names ("road 3", "S1", "P2") and names of systems and sources.
_NOT_WORDS = re.compile(
    r"https?://\S+|[\w./\\-]*\.(?:html|json|geojson|csv|png|md|graphml|gpkg)\b|/tmp\S*"
    r"|--[\w-]+(?: (?:streets|wgs84|gcj02|bd09))?|(?<![A-Za-z])road \d+|\b[SP]\d\b|\bC\d+\b"
    r"|\bWGS\\?-84\b|\bGCJ\\?-02\b|\bBD\\?-09\b|OpenStreetMap|\bstationplan\b|\bAED\b|\bOSM\b"
    r"|\b(?:osm|gaode|carto|tianditu)\b"  # the --basemap values
    r"|\bHiGHS\b|\bzh\b|\bwgs84\b|\bgcj02\b|\bbd09\b|“[^”]*”")  # “a column's name”


def _english_words() -> set[str]:
    """The English words an output might leak: the English side of the table (words of
    three letters or more), the OSM road classes and the verdict/certificate codes."""
    words = {w.lower() for v in _i18n.WORDS["en"].values() for w in _WORD.findall(v)
             if len(w) >= 3}
    words |= {hw for _, _, hw in HAND_EDGES}
    words |= {"accept", "redundant", "too_close", "off_network", "outside_area", "invalid",
              "optimal", "within", "exact", "units", "none", "true", "false"}
    return words - {"aed", "wifi", "osm", "openstreetmap", "amap"}


ENGLISH = _english_words()


def _leaks(text: str) -> set[str]:
    """English words of ``text`` outside names, files, links and flags."""
    return {w for w in _WORD.findall(_NOT_WORDS.sub(" ", text)) if w.lower() in ENGLISH}


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hand")
    net = tmp / "hand.graphml"
    ox.save_graphml(hand_graph(), net)
    stations = write_hand_stations(tmp / "stations.csv")
    proposals = tmp / "proposals.csv"
    with proposals.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "lon", "lat"])
        # adds a branch road; 50 m from it; on a covered main road; far from every street
        for name, (x, y) in {"P1": (5000, 300), "P2": (5000, 350), "P3": (700, 0),
                             "P4": (9000, 9000)}.items():
            w.writerow([name, *hand_lonlat(x, y)])
    return tmp, net, stations, proposals


@pytest.fixture(scope="module")
def runs(hand):
    tmp, net, stations, proposals = hand
    return {
        "coverage": (tmp / "cov", _run(["coverage", str(net), str(stations), "--out",
                                        str(tmp / "cov"), "--lang", "zh"])),
        "plan": (tmp / "plan", _run(["plan", str(net), str(stations), "--out",
                                     str(tmp / "plan"), "--new-sites", "2", "--lang", "zh"])),
        "check": (tmp / "check", _run(["check", str(net), str(stations), str(proposals),
                                       "--out", str(tmp / "check"), "--no-benchmark",
                                       "--lang", "zh"])),
    }


@pytest.mark.parametrize("command", ["coverage", "plan", "check"])
def test_closing_and_log_lines_are_chinese(runs, command):
    _, (code, out, err) = runs[command]
    assert code == 0, err
    closing = out.strip().splitlines()
    assert closing and all(_CJK.search(line) for line in closing)
    assert not _leaks(out)
    logs = err.strip().splitlines()
    assert logs and all(line.startswith(("信息 ", "警告 ")) for line in logs)
    assert not [line for line in logs if not _CJK.search(line.split(" ", 1)[1])]
    assert not _leaks(err)  # the reader's reasons too ("第 8 行：“lat”列缺少数值")


def test_check_csv_is_chinese(runs):
    out, _ = runs["check"]
    with (out / "check.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    assert all(_CJK.search(h) for h in head)
    assert head[3:5] == ["结论", "原因"] and "经度(WGS-84)" in head
    by_name = {r[1]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    assert [by_name[n]["结论"] for n in ("P1", "P2", "P3", "P4")] == [
        "采纳", "间距过近", "重复覆盖", "不在路网上"]
    assert by_name["P1"]["原因"] == "新增覆盖 700 米街道；位于与主路网不连通的路段"
    assert by_name["P1"]["道路等级"] == "支路" and by_name["P3"]["道路等级"] == "主干路"
    assert by_name["P1"]["位于孤立路段"] == "是" and by_name["P4"]["在规划范围内"] == "否"
    assert by_name["P2"]["冲突类型"] == "提议站点"
    for row in rows[1:]:
        assert not _leaks(" ".join(row)), row
    # the data file keeps the codes and raw tags
    geo = (out / "check.geojson").read_text(encoding="utf-8")
    assert '"verdict":"accept"' in geo and '"road_class":"tertiary"' in geo


def test_check_csv_reads_back_in_place(runs):
    import stationplan as sp

    out, _ = runs["check"]
    back = sp.read_stations(out / "check.csv", crs="gcj02")  # the headers name WGS-84
    assert back.attrs["read_report"]["crs_from"] == "header"
    assert list(back["name"]) == ["P1", "P2", "P3", "P4"]


def _report_text(out: Path) -> str:
    page = (out / "report.html").read_text(encoding="utf-8")
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_report_is_chinese(runs):
    out, _ = runs["plan"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "最优性：已证明最优" in md and "| 次干路 |" in md and "| 人行道 |" in md
    assert not _leaks(md)
    assert not _leaks(_report_text(out))


def test_figures_are_chinese(tmp_path):
    if cjk_font() is None:
        pytest.skip("no Chinese font: the figures are in English (install fonts-noto-cjk)")
    case = hand_case(tmp_path)
    fig = coverage_figure(case.coverage, case.gaps, summary=case.summary,
                          proposals=case.proposals, area=case.area, lang="zh")
    curve = pd.DataFrame({"new_sites": [0, 1, 2], "coverage_share": [0.686, 0.824, 0.941]})
    for figure in (fig, curve_figure(curve, curve, lang="zh")):
        texts = [t.get_text() for t in figure.findobj(mtext.Text) if t.get_text().strip()]
        words = [t for t in texts if not re.fullmatch(r"[−\d.,\s]+", t)]  # not tick labels
        assert words and all(_CJK.search(t) for t in words if not re.fullmatch(r"\d+", t))
        assert not [t for t in texts if _leaks(t)]


def test_help_is_chinese_with_an_example_per_command(capsys, monkeypatch):
    monkeypatch.delenv("LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    for command in _parser().commands:
        assert main([command, "--help", "--lang", "zh"]) == 0
        page = capsys.readouterr().out
        assert page.startswith("用法：") and "选项" in page and "示例：" in page
        assert re.search(rf"^  stationplan {command} .*|^  stationplan {command}$", page,
                         re.M), command
        assert "show this help" not in page
    assert main(["--help"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("usage:") and "examples:" in page
    assert all(f"  stationplan {c}" in page for c in _parser().commands)


def test_help_follows_a_chinese_locale(capsys, monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(["plan", "--help"]) == 0
    page = capsys.readouterr().out
    assert "提出新站点选址" not in page  # the command's own page: its options
    assert "新增 K 个站点" in page and "stationplan plan guixi.osm.pbf 驿站.xlsx" in page
    assert main(["plan", "--help", "--lang", "en"]) == 0
    assert "the K new sites" in capsys.readouterr().out


def test_every_chinese_help_names_an_option():
    parser = _parser()
    keys = {"description", "usage", "examples"}
    for p in [parser, *parser.commands.values()]:
        for action in p._actions:
            keys.add(action.option_strings[0] if action.option_strings else action.dest)
        keys |= {f"group.{g.title}" for g in p._action_groups}
        keys |= {f"group.{g.title}.description" for g in p._action_groups if g.description}
    keys |= {f"cmd.{c}" for c in parser.commands}
    assert set(cli_words.HELP_ZH) <= keys
    assert set(cli_words.HELP_EXAMPLES) == set(parser.commands)


def test_english_stays_with_lang_en(hand):
    tmp, net, stations, _ = hand
    code, out, err = _run(["coverage", str(net), str(stations), "--out", str(tmp / "en"),
                           "--lang", "en"])
    assert code == 0
    assert out.startswith("coverage map: ") and not _CJK.search(out)
    assert err.startswith("INFO network ") and not _CJK.search(err)


def test_chinese_headers_make_a_chinese_run(hand):
    tmp, net, stations, _ = hand
    sheet = tmp / "sheet.csv"
    rows = stations.read_text(encoding="utf-8").splitlines()
    sheet.write_text("\n".join(["名称,经度,纬度", *rows[1:]]), encoding="utf-8")
    code, out, err = _run(["coverage", str(net), str(sheet), "--out", str(tmp / "hdr")])
    assert code == 0
    assert out.startswith("覆盖地图：") and err.startswith("信息 路网 ")
    # the whole run follows: the map is in Chinese too
    assert "爱心驿站覆盖" in (tmp / "hdr" / "coverage_map.html").read_text(encoding="utf-8")


def test_common_errors_are_chinese(hand):
    tmp, net, stations, _ = hand
    code, _, err = _run(["coverage", str(net), str(tmp / "无此文件.csv"), "--out",
                         str(tmp / "x"), "--lang", "zh"])
    assert code == 3
    assert err.splitlines()[-1] == f"stationplan: 错误：{tmp / '无此文件.csv'}：找不到站点文件"
    full = tmp / "full"
    full.mkdir()
    (full / "summary.json").write_text("{}", encoding="utf-8")
    code, _, err = _run(["coverage", str(net), str(stations), "--out", str(full),
                         "--lang", "zh"])
    assert code != 0
    assert err.splitlines()[-1] == (f"stationplan: 错误：{full} 中已有 summary.json；要替换请加 "
                           "--overwrite，或换一个输出文件夹")


def test_road_classes_are_words():
    for _, _, tag in HAND_EDGES:
        assert _CJK.search(_i18n.road_class_text(tag, "zh"))
        assert _i18n.road_class_text(tag, "en") == tag
    assert {_i18n.road_class_text(t, "zh") for t in ("trunk", "primary")} == {"主干路"}
    assert _i18n.road_class_text("secondary_link", "zh") == "次干路"
    assert _i18n.road_class_text("service", "zh") == "街巷"


def test_log_templates_keep_their_fields():
    spec = re.compile(r"%[-#0 +]?\d*(?:\.\d+)?[sdrgf%]")
    for en, zh in cli_words.LOG_ZH.items():
        assert spec.findall(en) == spec.findall(zh), en
        assert _CJK.search(zh)
    assert cli_words.log_text("a new line %d", (3,), "zh") == "a new line 3"  # no entry: English


def test_a_font_installed_after_the_cache_is_found(tmp_path):
    """matplotlib's cache predates the font: the lookup adds the file to the manager."""
    manager = FontManager.__new__(FontManager)  # an empty cache, as before the install
    manager.ttflist, manager.afmlist = [], []
    import matplotlib

    plain = tmp_path / "plain.ttf"
    shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", plain)
    assert cjk_font(manager=manager, font_files=[tmp_path / "missing.ttc", plain]) is None
    assert manager.ttflist == []  # a font without Chinese (DejaVu) is not added
    known = next((Path(p) for p in ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                                    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
                  if Path(p).is_file()), None)
    if known is None:
        pytest.skip("no CJK font file on this machine (apt-get install fonts-noto-cjk)")
    copy = tmp_path / ("new-font" + known.suffix)  # a path no cache has seen
    shutil.copy(known, copy)
    name = cjk_font(manager=manager, font_files=[plain, copy])
    assert name is not None and name in {f.name for f in manager.ttflist}
    assert str(copy) in {f.fname for f in manager.ttflist}
    assert cjk_font(manager=manager, font_files=[]) == name  # now found in the cache


def test_usage_errors_are_chinese_under_zh(capsys):
    assert main(["coverage", "net.osm", "--lang", "zh"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["stationplan coverage: 错误：缺少必需的参数：stations, --out"
                   "（见 stationplan coverage --help）"]
    assert main(["coverage", "net.osm"]) == 2
    assert capsys.readouterr().err.strip().startswith("stationplan coverage: error: the following")


@pytest.mark.parametrize("option", sorted({a.option_strings[0] for c in _parser().commands.values()
                                           for a in c._actions
                                           if getattr(a.type, "__qualname__", "")
                                           .startswith("_number.")}))
def test_a_value_out_of_range_is_refused_in_chinese_words(option, capsys):
    """Under --lang zh the one-line refusal of an out-of-range value is Chinese: no English
    word is left of the rule (only the option, the value and the numbers)."""
    from stationplan._options import RANGES

    command = next(name for name, c in _parser().commands.items()
                   if any(option in a.option_strings for a in c._actions))
    task = ["coverage"] if command == "batch" else []
    code = main([command, *task, "a", "b", "--out", "o", f"{option}=-7.5", "--lang", "zh"])
    assert code == 2
    line = capsys.readouterr().err.strip()
    rest = line.replace(f"stationplan {command}", "").replace(option, "").replace("--help", "")
    assert set(re.findall(r"[A-Za-z]{3,}", rest)) <= {"TCP"}, line
    assert all(r.what in cli_words.RANGE_WHAT_ZH for r in RANGES.values())


def test_every_log_line_of_the_library_has_chinese():
    """Every INFO and WARNING template the library logs (found in its source) has a
    Chinese template, so a zh run never prints an English log line."""
    import ast
    from pathlib import Path

    import stationplan

    missing = []
    for path in Path(stationplan.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("info", "warning")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("log", "logger")  # export.py's is "logger"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                    and not any(k.arg == "extra" for k in node.keywords)
                    and node.args[0].value not in cli_words.LOG_ZH):
                missing.append(f"{path.name}:{node.lineno}: {node.args[0].value[:60]}")
    assert missing == []


@pytest.mark.parametrize(("template", "args", "zh"), [
    # a rule's verdict in the map's words, not "fail"
    ("rule %s: %.1f %% of %.1f km covered, target %.0f %%: %s",
     ("xinle", 30.9, 52.0, 100, "fail"),
     "标准 xinle：30.9%（共 52.0 公里）已覆盖，目标 100%：未达标"),
    ("rule %s: %.1f %% of %.1f km covered, target %.0f %%: %s",
     ("gb50180-5", 100.0, 52.0, 100, "pass"), "目标 100%：达标"),
    # the first-run compile notices name their kernels in Chinese
    ("compiling the %s kernels once (about 10 s)…", ("network-reading",),
     "首次使用，正在编译路网读取计算内核（约 10 秒，仅此一次）…"),
    ("compiling the %s kernels once (about 10 s)…", ("map-drawing",), "正在编译地图绘制计算内核"),
], ids=["fail", "pass", "network-reading", "map-drawing"])
def test_fixed_words_of_log_lines_are_chinese(template, args, zh):
    line = cli_words.log_text(template, args, "zh")
    assert zh in line
    assert not re.search("[A-Za-z]{3,}", line.replace("xinle", "").replace("gb50180", ""))


def test_snapping_without_a_limit_says_so_not_more_than_any_distance(tmp_path, caplog):
    # "0 个距所有街道超过 任意距离" (farther than any distance) said nothing
    import logging

    import stationplan as sp

    sheet = tmp_path / "s.csv"
    lon, lat = hand_lonlat(0.0, 0.0)
    sheet.write_text(f"name,lon,lat\nA,{lon},{lat}\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="stationplan"):
        sp.snap_stations(sp.network_from_graph(hand_graph()), sp.read_stations(sheet),
                         max_snap_m=None)
    lines = [cli_words.LogFormatter("zh").format(r) for r in caplog.records]
    line = next(t for t in lines if "吸附到街道" in t)
    assert line == ("信息 已将 1 个站点（共 1 个可用站点）吸附到街道"
                    "（不限距离；0 个没有可吸附的街道）")


def test_english_log_lines_say_one_thing_in_the_singular(tmp_path, caplog):
    # "1 connected pieces", "1 blank rows skipped", "skipped 1 note rows (rows 4)"
    import logging

    import networkx as nx

    import stationplan as sp

    sheet = tmp_path / "s.csv"
    lon, lat = hand_lonlat(0.0, 0.0)
    sheet.write_text(f"name,lon,lat\nA,{lon},{lat}\n,,\nB,{lon + 0.001},{lat}\n"
                     "注：坐标为 WGS-84,,\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="stationplan"):
        sp.read_stations(sheet)
        g = hand_graph()
        one = max(nx.weakly_connected_components(g), key=len)
        sp.network_from_graph(g.subgraph(one).copy())
    en = [cli_words.LogFormatter("en").format(r) for r in caplog.records]
    zh = [cli_words.LogFormatter("zh").format(r) for r in caplog.records]
    assert any("; 1 blank row skipped;" in t for t in en)
    assert any("；1 个空行已跳过；" in t for t in zh)
    assert any(t.endswith("s.csv: skipped a note row (row 5): notes and totals, not stations")
               for t in en)
    assert any("跳过 1 行备注（第 5 行）" in t for t in zh)
    assert any(t.endswith(", one connected piece") for t in en)
    assert any(t.endswith("，全部连通") for t in zh)
    assert not any(re.search(r"\b1 [a-z ]*(pieces|rows)\b", t) for t in en)


def test_a_gap_beyond_the_search_reads_without_a_stray_space():
    run = {"street": "建设路", "from_street": "人民路", "to_street": "解放路", "length_m": 1290.0,
           "farthest_m": None, "farthest_more_than_m": 1500.0}
    assert _i18n.gap_text(run, "zh").endswith("，最远点距最近站点超过 1,500 米")
    assert _i18n.gap_text(run, "en").endswith("; farthest point more than 1,500 m from a station")


def test_a_sheet_note_is_logged_as_its_text_not_its_repr(tmp_path, caplog):
    # the note's full-width space (\u3000, common in Chinese sheets) was shown as "\u3000"
    import logging

    from stationplan import read_stations

    note = "注：坐标由高德地图坐标拾取器获取（GCJ-02）。填报单位：贵溪市总工会\u30002026年1月"
    sheet = tmp_path / "驿站.csv"
    sheet.write_text(f"名称,经度,纬度\nA,117.2,28.3\n{note},,\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="stationplan"):
        read_stations(sheet)
    for lang, quoted in (("zh", f"“{note}”"), ("en", f'"{note}"')):
        lines = [cli_words.LogFormatter(lang).format(r) for r in caplog.records]
        line = next(t for t in lines if "GCJ-02）。" in t)
        assert quoted in line and "\\u3000" not in line


def test_a_misspelt_rule_is_one_chinese_line_with_the_rule_meant(capsys):
    assert main(["coverage", "a.osm", "b.csv", "--rules", "xinle,acftu", "--lang", "zh"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "参数 --rules：未知的标准 'acftu'；是不是要用 acftu-15min？" in lines[0]
    assert "内置：xinle" in lines[0] and "unknown" not in lines[0]


# names, not words: commands, formats, systems, file names and a rule file's keys
_SYMBOLS = {"stationplan", "coverage", "plan", "export", "kml", "xlsx", "amap", "amap-maplab",
            "wgs84", "gcj02", "bd09", "WGS-84", "GCJ-02", "BD-09", "id", "name", "radius_m",
            "spacing_m", "time", "cover", "road_classes",
            "dense", "target_share", "target_from", "source", "notes"}


def _one_error(argv: list[str]) -> tuple[int, str]:
    code, _, err = _run(argv)
    lines = err.strip().splitlines()
    return code, lines[-1]


def test_the_sweeps_user_errors_are_chinese_under_zh(hand, tmp_path):
    """Each of these was English (or half English) under --lang zh: a wrong export suffix,
    export of unnamed China coordinates, --at, --target, an empty or header-only sheet,
    a rule file's unknown key. Under zh: Chinese words only, the option named."""
    _, net, stations, _ = hand
    china = tmp_path / "china.csv"
    china.write_text("name,lon,lat\nA,117.2,28.3\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    header = tmp_path / "header.csv"
    header.write_text("name,lon,lat\n", encoding="utf-8")
    toml = tmp_path / "mine.toml"
    toml.write_text('id = "town"\nname = "Town"\nradius_m = 400\ntargt_share = 0.9\n',
                    encoding="utf-8")
    out = str(tmp_path / "o")
    cases = [
        (["export", str(stations), "--format", "kml", "--out", str(tmp_path / "m.xlsx")], 2,
         "kml 格式写出的是 .kml 文件，不是 .xlsx 文件；请把文件命名为 m.kml，或改用写出 .xlsx "
         "文件的格式：xlsx、amap、amap-maplab"),
        (["export", str(china), "--format", "amap", "--out", str(tmp_path / "a.xlsx")], 2,
         "请加 --crs wgs84、--crs gcj02 或 --crs bd09 说明坐标系"),
        (["coverage", str(net), str(stations), "--out", out, "--at", "25:00"], 2,
         "参数 --at：请给出时刻（22:00）"),
        (["plan", str(net), str(stations), "--out", out, "--target", "120%"], 2,
         "参数 --target：须为数值 > 0 且 <= 1（占全部应覆盖街道的比例），或百分数（如 95%），"
         "而不是 '120%'"),
        (["coverage", str(net), str(empty), "--out", out], 3,
         "文件是空的，没有站点行；需要一行表头，每个站点一行"),
        (["coverage", str(net), str(header), "--out", out], 3, "文件只有表头，没有站点行"),
        (["coverage", str(net), str(stations), "--out", out, "--rules", f"xinle,{toml}"], 2,
         "mine.toml：未知的键 'targt_share'；是不是要用 'target_share'？（可用的键：id, name"),
    ]
    for argv, want_code, words in cases:
        code, line = _one_error([*argv, "--lang", "zh", "--quiet"])
        assert code == want_code, line
        assert words in line, line
        rest = re.sub(r"'[^']*'|--[a-z-]+|[\w/.-]*\.(?:csv|xlsx|kml|toml)\b", " ", line)
        words = set(re.findall(r"[A-Za-z][\w-]*[A-Za-z0-9]", rest))
        assert words <= _SYMBOLS, (words - _SYMBOLS, line)
        code, line = _one_error([*argv, "--lang", "en", "--quiet"])
        assert code == want_code and ": error: " in line and "错误" not in line, line
