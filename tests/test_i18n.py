"""The one zh/en table and the one language rule (stationplan._i18n)."""

from __future__ import annotations

import dataclasses
import re
from string import Formatter

import pandas as pd
import pytest
from mapcases import hand_case

import stationplan as sp
from stationplan import _i18n, maps
from stationplan.report import guess_lang, report_data


def _fields(template: str) -> list[tuple[str, str]]:
    """The ``{name:spec}`` fields of a template, sorted."""
    return sorted((name, spec or "") for _, name, spec, _ in Formatter().parse(template)
                  if name is not None)


def test_every_key_has_both_languages():
    assert set(_i18n.LANGS) == set(_i18n.WORDS) == {"zh", "en"}
    assert set(_i18n.WORDS["zh"]) == set(_i18n.WORDS["en"])
    for lang in _i18n.LANGS:
        # "report.islands" is empty in English on purpose: the sentence starts with a number
        blank = [k for k, v in _i18n.WORDS[lang].items() if not v.strip()]
        assert blank == ([] if lang == "zh" else ["report.islands"])


def test_placeholders_are_the_same_in_both_languages():
    with_fields = 0
    for key, en in _i18n.WORDS["en"].items():
        zh = _i18n.WORDS["zh"][key]
        assert _fields(en) == _fields(zh), key
        with_fields += bool(_fields(en))
    # the templates written by hand: meta, rule_tail, audit_intro, more, 9 reasons, the 4 parts
    # of the crs_offset warning, the plan sentences (see plan_certificate), the coarse-model
    # note, the 9 address templates (stationplan.addresses), the name of an unnamed proposal in
    # exports, the 16 closing lines and messages of the command line, the skipped note rows, the
    # minimum-gain shortfall and its certificate note, and the rule for new sites in the report
    # (sentence, spacing, gain), and the demand weights (the map's layer, the report's two
    # sentences and its two model names, the plan's two weighted goals), the 6 templates of a
    # gap run (stationplan._i18n.gap_text: link name, run, run beyond the search, street, ends,
    # an end near), and the report's planning area by name, and the rules checked
    # (stationplan.rules: the report's intro, the rule it is, the dense area not checked, the
    # map's rule layer), and the rule's cover and reach column in the report (k-coverage), and
    # the time the figures are for (--at: the map's panel and the report, the plan's closing
    # lines, the map's layer of the stations not open then, the PNG title's stations open then),
    # and 10 user errors of the library (error.*: empty, header-only or row-less files, no
    # coordinate columns and its sheet hint, the export's suffix and unnamed system), and the
    # stop of a file read in the wrong system (error.crs_stop: names the file's role, --hosts),
    # and the check map's headline (its verdict counts, its coverage before and after), and
    # the fix of a proposal file read in the wrong system (its own option, --proposal-crs)
    assert with_fields == 99


def test_chinese_text_is_in_the_chinese_column():
    cjk = re.compile("[\u4e00-\u9fff]")
    assert not [k for k, v in _i18n.WORDS["en"].items() if cjk.search(v)]
    # the only word the same in both: AED, which Chinese signs write in Latin letters
    same = {k for k in _i18n.WORDS["en"] if _i18n.WORDS["en"][k] == _i18n.WORDS["zh"][k]}
    assert same == {"map_service.aed", "service.aed"}


def test_text_fills_the_fields():
    assert _i18n.text("report.more", "en", n=3) == "… and 3 more"
    assert _i18n.text("reason.accept", "zh", gain=412.6) == "新增覆盖 413 米街道"
    assert _i18n.section("verdict", "zh")["outside_area"] == "规划范围外"


@pytest.mark.parametrize(("names", "lang"), [
    (["人民北路", "建设路"], "zh"),                 # Chinese
    (["Mannerheimintie", "Lönnrotinkatu"], "en"),  # Latin, with diacritics
    (["K Market", "解放路"], "zh"),                 # mixed: one Chinese name is enough
    (["Kauppa", None, float("nan"), 7], "en"),     # no text at all besides Latin
    (["Straße", "ｈａｌｌｏ"], "en"),                # full-width Latin is not Chinese
    (["㐀"], "zh"),                                 # CJK extension A
    ([], "en"),                                    # nothing to go by
])
def test_language_rule_on_names(names, lang):
    assert _i18n.resolve_lang(None, names) == lang


def test_given_language_wins_and_is_checked():
    assert _i18n.resolve_lang("en", ["人民北路"]) == "en"
    assert _i18n.resolve_lang("zh", ["Main Street"]) == "zh"
    with pytest.raises(sp.InputError, match="lang 'fr' is not supported"):
        _i18n.resolve_lang("fr", [])


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return hand_case(tmp_path_factory.mktemp("hand"))


def _map_lang(coverage, gaps) -> str:
    html = maps.coverage_map(coverage, gaps).get_root().render()
    zh, en = (_i18n.text("map.title", lang) in html for lang in ("zh", "en"))
    assert zh != en
    return "zh" if zh else "en"


def test_map_and_report_of_one_run_pick_one_language(hand):
    cov, gaps = hand.coverage, hand.gaps  # streets "road 0" ...; Latin station names
    summary = sp.summarize(cov, gaps)
    # Mixed: Latin stations and streets, one Chinese station name last: zh in both.
    names = [f"Station {i}" for i in range(len(cov.stations) - 1)] + ["人民路驿站"]
    mixed = dataclasses.replace(cov, stations=cov.stations.assign(name=names))
    assert _map_lang(mixed, gaps) == "zh"
    assert report_data(mixed, gaps, summary)["lang"] == "zh"
    # Latin stations and streets with Chinese proposal names, which the report is given
    # and the coverage map is not: one language, en, for both (the report used to say zh).
    latin = dataclasses.replace(cov, stations=cov.stations.assign(name=[*names[:-1], "Kiosk"]))
    proposals = pd.DataFrame({"name": ["解放路提议站点"]})
    assert _map_lang(latin, gaps) == "en"
    assert guess_lang(latin, proposals) == "en"
    assert report_data(latin, gaps, summary)["lang"] == "en"


# --- the plan's certificate and shortfall (issue 14) -------------------------------------

# plan_summary.json as the siting rewrite writes it (the keys these sentences read)
TARGET_PLAN = {"objective": "target", "target_share": 1.0, "new_sites_requested": None,
               "new_sites": 68, "target_reached": True, "certified": "within",
               "optimality_gap": 0.0037, "bound": 67.75, "bound_unit": "sites", "proof": "lp",
               "unreachable_m": 0.0, "sites_possible": None,
               "candidates": {"source": "osm", "total": 412}}
K_PLAN = {"objective": "new_sites", "target_share": None, "new_sites_requested": 80,
          "new_sites": 68, "target_reached": False, "sites_possible": 68,
          "certified": "optimal", "optimality_gap": 0.0, "proof": "milp",
          "unreachable_m": 1234.0, "candidates": {"source": "streets"}}
_LATIN = re.compile("[A-Za-z]+")


@pytest.mark.parametrize(("plan", "lang", "sentence"), [
    (TARGET_PLAN, "zh",
     "与最优解相差不超过 0.4 %（达到 100 % 目标的最少新增站点数；线性规划松弛界）"),
    (TARGET_PLAN, "en", "within 0.4 % of the optimum (fewest new sites reaching 100 %; LP bound)"),
    # the gap is rounded up: "within" must hold
    (TARGET_PLAN | {"optimality_gap": 0.0121}, "en",
     "within 1.3 % of the optimum (fewest new sites reaching 100 %; LP bound)"),
    (TARGET_PLAN | {"target_share": 0.95, "certified": "optimal", "proof": "milp"}, "zh",
     "已证明最优（达到 95 % 目标的最少新增站点数；整数规划证明）"),
    (TARGET_PLAN | {"target_reached": False, "certified": "optimal", "proof": "lagrangian"},
     "en", "proved optimal (fewest new sites for the most coverage these candidates allow; "
     "Lagrangian bound)"),
    (K_PLAN, "zh", "已证明最优（68 个新站点覆盖的街道最多；整数规划证明）"),
    (K_PLAN, "en", "proved optimal (most street covered by 68 new sites; MILP proof)"),
    (K_PLAN | {"certified": "none", "optimality_gap": None, "proof": "none"}, "zh",
     "未能证明最优（规模过大，未求得下界）"),
    (K_PLAN | {"certified": "none", "optimality_gap": None, "proof": "none"}, "en",
     "not proved optimal (too large: no bound found)"),
])
def test_certificate_sentence(plan, lang, sentence):
    assert _i18n.plan_certificate(plan, lang) == sentence


def test_certificate_never_claims_complete_coverage():
    for plan in (TARGET_PLAN, K_PLAN, TARGET_PLAN | {"target_reached": False}):
        for certified in ("optimal", "within", "none"):
            zh = _i18n.plan_certificate(plan | {"certified": certified}, "zh")
            en = _i18n.plan_certificate(plan | {"certified": certified}, "en")
            assert "全覆盖" not in zh and "完全" not in zh
            assert "complete" not in en and "full" not in en
            assert not _LATIN.findall(zh)  # no English inside Chinese


def test_certificate_needs_the_new_keys():
    assert _i18n.plan_certificate({"quality": "optimal"}, "zh") is None


@pytest.mark.parametrize(("plan", "lang", "sentence"), [
    (TARGET_PLAN | {"target_reached": False, "unreachable_m": 1234.0}, "zh",
     "目标 100 % 无法达到：有 1.2 公里 街道任何候选点都覆盖不到；"
     "可改用 --candidates streets 或提供愿意设站的商户文件。"),
    (TARGET_PLAN | {"target_reached": False, "unreachable_m": 1234.0}, "en",
     "Target 100 % cannot be reached: 1.2 km of street is out of reach of every candidate "
     "site; try --candidates streets or give a file of willing hosts."),
    (TARGET_PLAN | {"target_reached": False, "unreachable_m": 640.0, "target_share": 0.9,
                    "candidates": {"source": "streets"}}, "zh",
     "目标 90 % 无法达到：有 640 米 街道任何候选点都覆盖不到；"
     "可减小 --candidate-spacing-m 或提供愿意设站的商户文件。"),
    (K_PLAN, "zh", "要求 80 个新站点，但只有 68 个新站点还能增加覆盖。"),
    (K_PLAN, "en", "80 new sites were asked for, but only 68 new sites can still add coverage."),
])
def test_shortfall_sentence(plan, lang, sentence):
    assert _i18n.plan_shortfall(plan, lang) == sentence
    if lang == "zh":  # only the command-line flags are in Latin letters
        assert set(_LATIN.findall(sentence)) <= {"km", "candidates", "streets", "candidate",
                                                 "spacing", "m"}


def test_no_shortfall_when_the_target_is_reached():
    assert _i18n.plan_shortfall(TARGET_PLAN, "zh") is None
    assert _i18n.plan_shortfall(K_PLAN | {"target_reached": True}, "en") is None


@pytest.mark.parametrize(("share", "shown"), [
    (0.0, "0.0 %"), (1.0, "100.0 %"), (0.686275, "68.6 %"),
    (0.99951, "99.9 %"),  # 100.0 would claim full coverage
    (0.00049, "0.1 %"),   # 0.0 would claim none
])
def test_percent_never_rounds_to_a_false_end(share, shown):
    assert _i18n.percent_text(share) == shown
