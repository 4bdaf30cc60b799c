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
    # the templates written by hand: meta, rule_tail, audit_intro, more, 9 reasons and 9
    # plan sentences (3 goals, 3 certificates, 3 shortfalls... see plan_certificate)
    assert with_fields == 22


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
