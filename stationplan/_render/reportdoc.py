"""Render the report data (:func:`stationplan.report.report_data`) as HTML and Markdown.

The report is first laid out as a list of blocks (headings, paragraphs, cards, tables,
images, links) whose texts are plain strings and whose numbers are :class:`Num` values
naming the JSON file and key they come from; the two renderers only escape and format.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .._i18n import (
    gap_street,
    one_language,
    percent_text,
    plan_certificate,
    plan_shortfall,
    road_class_text,
    section,
    text,
    time_label,
)
from .._io import json_ready
from .._text import isolate_bidi
from ..chinacrs import amap_marker_url, in_china, wgs84_to_gcj02

_MAX_AUDIT_ROWS = 50
_MAX_CHECK_ROWS = 200


@dataclass(frozen=True)
class Num:
    """A number shown in the report and where it comes from.

    Parameters
    ----------
    value
        The value as stored in the JSON file (``None`` shows as a dash).
    src
        File name: ``summary.json``, ``plan_summary.json``, ``check_summary.json`` or
        ``report.json``.
    key
        Path of keys (and list positions) to the value inside that file.
    kind
        "m" (metres), "km2" (square kilometres), "share" (0–1, shown as a percentage) or
        "count".
    """

    value: Any
    src: str
    key: tuple
    kind: str


@dataclass(frozen=True)
class Link:
    """A link with its label."""

    label: str
    href: str


Part = str | Num | Link
Block = tuple


def fmt(num: Num, lang: str) -> str:
    """Format a number for people.

    >>> fmt(Num(3500.0, "s", (), "m"), "en"), fmt(Num(3500.0, "s", (), "m"), "zh")
    ('3,500 m', '3,500 米')
    >>> fmt(Num(0.686275, "s", (), "share"), "en"), fmt(Num(None, "s", (), "count"), "en")
    ('68.6 %', '–')
    """
    v = num.value
    if v is None:
        return "–"
    if num.kind == "m":
        return f"{v:,.0f} {text('unit.m', lang)}"
    if num.kind == "share":
        return percent_text(v)
    if num.kind == "km2":
        return f"{v:,.1f} {text('unit.km2', lang)}"
    return f"{int(v):,d}"


# --- layout ----------------------------------------------------------------------------

def layout(data: Mapping[str, Any], images: Mapping[str, bytes]) -> list[Block]:
    """The report as blocks, in order."""
    lang = data["lang"]
    t = section("report", lang)
    s = data["summary"]
    blocks: list[Block] = [("h1", [t["title"]]),
                           ("meta", [t["meta"].format(source=data["source"],
                                                      version=data["stationplan_version"])])]
    blocks += _warnings(s, lang)
    rule = s["rule"]
    mode = t.get(f"mode.{s['mode']}", s["mode"])
    blocks.append(("p", [t["rule"], Num(rule["limit_m"], "summary.json", ("rule", "limit_m"), "m"),
                         t["rule_tail"].format(mode=mode,
                                               binding=t[f"binding.{rule['binding']}"]),
                         *_counting(rule, t)]))
    blocks.append(("p", _demand(s["demand"], t)))
    at = (s.get("hours") or {}).get("at")
    if at:  # --at: every figure is the coverage by the stations open then
        blocks.append(("p", [t["at_time"].format(
            label=time_label(at["label"], lang),
            open=at["stations_open"] + at["stations_assumed_open"],
            usable=sum(v for k, v in at.items() if k.startswith("stations_")))]))
    if data.get("plan_summary"):
        blocks.append(("p", [t["with_plan"]]))
    blocks += _headline(s, t, data.get("stations") if data.get("plan_summary") else None)
    blocks += _unused(data.get("unused_stations") or [], t)
    if "coverage_map.png" in images:
        blocks.append(("img", "coverage_map.png", t["map_alt"]))
    blocks += _by_class(s, t, lang)
    if data.get("districts"):
        blocks += _districts(data["districts"], t, with_proposed=bool(data.get("plan_summary")))
    if s.get("rules"):
        blocks += _rules(s["rules"], t, lang)
    blocks += _gaps(data["largest_gaps"], t, lang, data.get("gap_areas") or ())
    blocks += _audit(data["service_audit"], t, lang)
    blocks += _sole(data["sole_coverage"], t, with_kind=bool(data.get("plan_summary")))
    if data.get("plan_summary"):
        blocks += _plan(data["plan_summary"], data.get("curve") or [], data.get("stations"), t,
                        images, lang)
        blocks += _plan_sites(data.get("plan_rows") or [], t)
    if data.get("check_summary"):
        blocks += _check(data["check_summary"], data.get("check_rows") or [], t, lang)
    if data.get("files"):
        blocks.append(("h2", [t["maps"]]))
        blocks.append(("links", [Link(label, href) for label, href in data["files"].items()]))
    return blocks


def _demand(d: Mapping[str, Any], t: Mapping[str, str]) -> list[Any]:
    """What the streets to serve are: the planning area and dual carriageways once."""
    parts: list[Any]
    if d.get("area") is None:
        parts = [t["demand.all"]]
    else:
        where = (t["demand.auto"] if d.get("area_source") == "auto"
                 else t["demand.area"].format(area=d["area"]))
        parts = [where]
        if d.get("area_km2") is not None:
            parts += [t["demand.open"], Num(d["area_km2"], "summary.json", ("demand", "area_km2"),
                                            "km2"), t["demand.close"]]
    if d.get("paired_m"):
        parts += [t["demand.paired"], Num(d["paired_m"], "summary.json", ("demand", "paired_m"),
                                          "m"), t["demand.paired_tail"]]
    else:
        parts += [t["demand.end"]]
    return parts


def _counting(rule: dict[str, Any], t: Any) -> list[Any]:
    """The rule's k-coverage and per-station reaches in words (nothing without them)."""
    out = []
    if rule.get("cover", 1) != 1:
        out.append(t["rule_cover"].format(cover=rule["cover"]))
    if rule.get("reach_col"):
        out.append(t["rule_reach"].format(col=rule["reach_col"]))
    return out


def _warnings(s: Mapping[str, Any], lang: str) -> list[Block]:
    """A visible paragraph per warning of the run (``summary.json`` ``warnings``).

    >>> _warnings({"warnings": [{"code": "crs_offset", "en": "off", "zh": "偏"}]}, "zh")
    [('warn', ['警告：', '偏'])]
    """
    label = text("warning.title", lang) + text("sep.label", lang)
    return [("warn", [label, w.get(lang) or w.get("en", "")]) for w in s.get("warnings") or []]


def _headline(s, t, stations=None) -> list[Block]:
    src = "summary.json"
    sites = (Num(s["stations_used"], src, ("stations_used",), "count"),
             [t["stations"], " · ", t["read"], " ", Num(s["stations_read"], src, ("stations_read",),
                                                         "count"),
              " · ", t["rejected"], " ", Num(s["stations_rejected"], src, ("stations_rejected",),
                                              "count")])
    if stations:  # a plan: existing stations and proposed sites counted apart
        key = ("stations",)
        sites = (Num(stations["existing"], "report.json", (*key, "existing"), "count"),
                 [t["existing_sites"], " + ",
                  Num(stations["proposed"], "report.json", (*key, "proposed"), "count"), " ",
                  t["new_sites"], " · ", t["rejected"], " ",
                  Num(s["stations_rejected"], src, ("stations_rejected",), "count")])
    cards = [
        (Num(s["covered_share"], src, ("covered_share",), "share"), [t["covered_share"]]),
        (Num(s["covered_m"], src, ("covered_m",), "m"),
         [t["covered"], " · ", t["of"], " ", Num(s["total_m"], src, ("total_m",), "m")]),
        (Num(s["gap_m"], src, ("gap_m",), "m"),
         [t["gap_in"], " ", Num(s["gap_runs"], src, ("gap_runs",), "count"), " ",
          t["gap_runs"]]),
        sites,
    ]
    out: list[Block] = [("h2", [t["headline"]]), ("cards", cards)]
    w = s.get("demand_weights")
    if w:  # a model figure beside the headline, never instead of it
        model = t[f"model.{w['kind']}"].format(kernel=f"{w.get('kernel_m') or 0:g}",
                                               source=w.get("source", ""))
        out.append(("p", [t["weighted"].format(model=model),
                          Num(w["covered_share_weighted"], src,
                              ("demand_weights", "covered_share_weighted"), "share"),
                          t["weighted_tail"]]))
    notes = s.get("notes_skipped") or []
    if notes:  # summary.json notes_skipped: the row numbers of the notes
        out.append(("p", [t["notes_skipped"].format(n=len(notes),
                                                    rows=", ".join(map(str, notes)))]))
    isl = s.get("islands") or {}
    if isl.get("count"):
        out.append(("p", [t["islands"], " ", Num(isl["count"], src, ("islands", "count"), "count"),
                          " ", t["islands_mid"], " ",
                          Num(isl["demand_m"], src, ("islands", "demand_m"), "m"), " ",
                          t["islands_tail"]]))
    return out


def _unused(rows: Sequence[Mapping[str, Any]], t: Mapping[str, str]) -> list[Block]:
    """Every station row the figures leave out (the headline's "rejected"), and why."""
    if not rows:
        return []
    table = [[str(r["row"]) if r.get("row") is not None else "–",
              isolate_bidi(r["name"]) or r["station_id"], r["status"], r["reason"]]
             for r in rows]
    return [("h3", [t["unused"]]), ("p", [t["unused_intro"]]),
            ("table", [t["row"], t["station"], t["status"], t["reason"]], table)]


def _class_words(classes: Sequence[str], lang: str) -> dict[str, str]:
    """Each OSM road class as the class word people read; where two classes share a word
    (residential and service are both 街巷), the road's own word tells them apart: its
    kind of road when that is not the class word itself, and 匝道 for a link road.

    >>> _class_words(["residential", "service", "primary"], "zh")
    {'residential': '街巷（居住区道路）', 'service': '街巷（内部道路）', 'primary': '主干路'}
    >>> _class_words(["secondary", "secondary_link", "trunk", "primary", "trunk_link"], "zh")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'secondary': '次干路', 'secondary_link': '次干路（匝道）', 'trunk': '主干路（快速路）',
     'primary': '主干路', 'trunk_link': '主干路（快速路匝道）'}
    >>> _class_words(["secondary", "secondary_link"], "en")
    {'secondary': 'secondary', 'secondary_link': 'secondary_link'}
    """
    words = {cls: road_class_text(cls, lang) for cls in classes}
    if lang != "zh":  # the English words are the tags themselves, each its own
        return words
    shared = {w for w in words.values() if list(words.values()).count(w) > 1}
    road = section("road", lang)
    out = {}
    for cls, word in words.items():
        base = cls.removesuffix("_link")
        own = road.get(base, "")
        if own == word:  # 次干路（次干路） says nothing
            own = ""
        if base != cls:
            own += road["link"]
        out[cls] = f"{word}（{own}）" if word in shared and own else word
    return out


def _by_class(s, t, lang) -> list[Block]:
    src = "summary.json"
    words = _class_words(list(s["by_road_class"]), lang)
    rows = [[words[cls], Num(v["total_m"], src, ("by_road_class", cls, "total_m"), "m"),
             Num(v["covered_m"], src, ("by_road_class", cls, "covered_m"), "m"),
             Num(v["covered_share"], src, ("by_road_class", cls, "covered_share"), "share")]
            for cls, v in sorted(s["by_road_class"].items(), key=lambda kv: -kv[1]["total_m"])]
    return [("h2", [t["by_class"]]),
            ("table", [t["class"], t["to_serve"], t["covered"], t["share"]], rows)]


def _districts(d, t, *, with_proposed: bool = False) -> list[Block]:
    """The figures per district; with a plan (whose figures include its new sites) the
    existing stations and the proposed sites in two columns."""
    src = "report.json"
    counts = ("stations", "proposed") if with_proposed else ("stations",)
    rows = []
    for i, r in enumerate(d["rows"]):
        key: tuple[str | int, ...] = ("districts", "rows", i)
        rows.append([r["district"], Num(r["demand_m"], src, (*key, "demand_m"), "m"),
                     Num(r["covered_m"], src, (*key, "covered_m"), "m"),
                     Num(r["covered_share"], src, (*key, "covered_share"), "share"),
                     Num(r["gap_m"], src, (*key, "gap_m"), "m"),
                     *(Num(r[c], src, (*key, c), "count") for c in counts)])
    o = d["outside"]
    if o["demand_m"] > 0:
        key = ("districts", "outside")
        rows.append([t["outside"], Num(o["demand_m"], src, (*key, "demand_m"), "m"),
                     Num(o["covered_m"], src, (*key, "covered_m"), "m"),
                     Num(o["covered_share"], src, (*key, "covered_share"), "share"),
                     Num(o["gap_m"], src, (*key, "gap_m"), "m"), *([""] * len(counts))])
    heads = [t["n_existing"], t["n_proposed"]] if with_proposed else [t["n_stations"]]
    return [("h2", [t["by_district"]]),
            ("table", [t["district"], t["to_serve"], t["covered"], t["share"], t["not_covered"],
                       *heads], rows)]


def _rules(rules: Sequence[Mapping[str, Any]], t: Mapping[str, str], lang: str
           ) -> list[Block]:
    """The rules checked (``summary.json`` ``rules``): one verdict table with each rule's
    source, which rule the key figures are, notes, and the verdicts per district."""
    src = "summary.json"
    same = [r["name_zh"] if lang == "zh" else r["name_en"] for r in rules if r.get("headline")]
    which = (t["rules_same"].format(rules="、".join(same) if lang == "zh" else "; ".join(same))
             if same else t["rules_other"])
    rows = []
    for i, r in enumerate(rules):
        key: tuple[str | int, ...] = ("rules", i)
        name = r["name_zh"] if lang == "zh" else r["name_en"]
        failing: list[Part] = [Num(r["gap_m"], src, (*key, "gap_m"), "m"), " · ",
                               Num(r["gap_runs"], src, (*key, "gap_runs"), "count"), " ",
                               t["rule_runs"]]
        streets = _names(list(dict.fromkeys(f["street"] for f in r["failing_streets"]))[:3])
        if streets:
            failing += [" (", streets, " …)" if r["gap_runs"] > 3 else ")"]
        rows.append([
            f"{name} [{r['id']}]",
            threshold_text(r, lang),
            Num(r["covered_share"], src, (*key, "covered_share"), "share"),
            [Num(r["target_share"], src, (*key, "target_share"), "share"),
             "" if lang == "zh" else " ", t[f"target_{r['target_from']}"]],
            ("verdict", "pass", t["rule_pass"]) if r["passed"]
            else ("verdict", "fail", t["rule_fail"]),
            failing,
            source_text(r["source"], lang),
        ])
    out: list[Block] = [
        ("h2", [t["rules"]]),
        ("p", [t["rules_intro"].format(which=which)]),
        ("table", [t["rule_name"], t["rule_threshold"], t["share"], t["rule_target"],
                   t["rule_verdict"], t["rule_failing"], t["rule_source"]], rows)]
    if any(r["target_from"] == "stationplan" for r in rules):
        out.append(("p", [t["rules_targets"]]))
    for r in rules:
        if r.get("dense_area_checked") is False:
            out.append(("p", [t["rules_dense"].format(rule=r["id"])]))
    notes = [[r["id"], r["source"].get("clause") or "–",
              (r["notes_zh"] if lang == "zh" else r["notes_en"]) or "–"] for r in rules]
    out += [("h3", [t["rules_notes"]]),
            ("table", [t["rule_name"], t["rule_clause"], t["rule_reading"]], notes)]
    if any(r.get("districts") for r in rules):
        names = [d["district"] for d in next(r["districts"] for r in rules if r.get("districts"))]
        table = []
        for j, name in enumerate(names):
            row: list[Any] = [name]
            for i, r in enumerate(rules):
                d = (r.get("districts") or [None] * len(names))[j]
                if d is None:
                    row.append("–")
                    continue
                verdict = ("" if d["passed"] is None
                           else " " + (t["rule_pass"] if d["passed"] else t["rule_fail"]))
                row.append([Num(d["covered_share"], src,
                                ("rules", i, "districts", j, "covered_share"), "share"),
                            verdict])
            table.append(row)
        out += [("h3", [t["rules_by_district"]]),
                ("table", [t["district"], *(r["id"] for r in rules)], table)]
    return out


def threshold_text(entry: Mapping[str, Any], lang: str) -> str:
    """A rule's thresholds in words, from its ``summary.json`` entry.

    >>> e = {"radius_m": 1000.0, "spacing_m": None, "cover": 2, "dense_radius_m": None,
    ...      "dense_spacing_m": None, "road_classes": None,
    ...      "rule": {"max_minutes": 15.0, "speed_kmh": 6.0, "limit_m": 1000.0}}
    >>> threshold_text(e, "en")
    '1,000 m; 15 min at 6 km/h; ≥ 2 stations'
    >>> threshold_text(e, "zh")
    '1,000 米；15 分钟（6 公里/小时）；≥ 2 个站点'
    """
    zh = lang == "zh"
    parts = []
    if entry.get("spacing_m"):
        parts.append(f"{'间隔' if zh else 'spacing'} {entry['spacing_m']:,.0f} "
                     f"{'米' if zh else 'm'} → {entry['radius_m']:,.0f} {'米' if zh else 'm'}")
    elif entry.get("radius_m"):
        parts.append(f"{entry['radius_m']:,.0f} {'米' if zh else 'm'}")
    r = entry["rule"]
    if r.get("max_minutes"):
        parts.append(f"{r['max_minutes']:g} 分钟（{r['speed_kmh']:g} 公里/小时）" if zh
                     else f"{r['max_minutes']:g} min at {r['speed_kmh']:g} km/h")
    if entry.get("cover", 1) > 1:
        parts.append(f"≥ {entry['cover']} 个站点" if zh else f"≥ {entry['cover']} stations")
    if entry.get("dense_radius_m"):
        d = entry["dense_radius_m"]
        parts.append(f"密集区 {d:,.0f} 米" if zh else f"{d:,.0f} m in the dense area")
    if entry.get("road_classes"):
        parts.append(("道路：" if zh else "roads: ") + ", ".join(entry["road_classes"]))
    return ("；" if zh else "; ").join(parts)


def source_text(source: Mapping[str, Any], lang: str = "en") -> str:
    """A rule's source in one line, in ``lang``: title, issuer, year, URL (the clause is in
    the notes).

    >>> source_text({"title": "T", "issuer": "I", "year": 2023})
    'T — I, 2023'
    >>> source_text({"title": "标题", "issuer": "山东省总工会 (Shandong FTU)", "year": 2022}, "zh")
    '标题 — 山东省总工会，2022'
    """
    head = " — ".join(one_language(str(source[k]), lang) for k in ("title", "issuer")
                      if source.get(k))
    tail = [str(source[k]) for k in ("year", "url") if source.get(k)]
    return text("sep.list_comma", lang).join([head, *tail]) if tail else head



def _gaps(gaps, t, lang, areas=()) -> list[Block]:
    """The longest gap runs, as a planner reads them ("建设路（人民路—解放路）"), then the
    largest gap areas (touching runs) as a short secondary table."""
    if not gaps:
        return [("h2", [t["gaps"]]), ("p", [t["no_gaps"]])]
    rows = []
    for i, g in enumerate(gaps):
        name = f"{t['gap']} {g['gap_id']}"
        names = {k: isolate_bidi(g.get(k) or "") for k in ("street", "from_street", "to_street")}
        rows.append([str(g["gap_id"]), gap_street({**g, **names}, lang),
                     Num(g["length_m"], "summary.json", ("largest_gaps", i, "length_m"), "m"),
                     _farthest(g, i, lang),
                     _where(g["lon"], g["lat"], name, t)])
    out: list[Block] = [("h2", [t["gaps"]]), ("p", [t["gaps_intro"]]),
                        ("table", ["#", t["gap_street"], t["length"], t["farthest"], t["where"]],
                         rows)]
    if areas:
        src = "report.json"
        area_rows = [[str(a["area_id"]),
                      Num(a["length_m"], src, ("gap_areas", j, "length_m"), "m"),
                      Num(a["runs"], src, ("gap_areas", j, "runs"), "count"),
                      _names(a["streets"]) or "–",
                      _farthest(a, j, lang, key=("gap_areas", j))]
                     for j, a in enumerate(areas)]
        out += [("h3", [t["gap_areas"]]), ("p", [t["gap_areas_intro"]]),
                ("table", ["#", t["length"], t["gap_runs_n"], t["streets"], t["farthest"]],
                 area_rows)]
    return out


def _farthest(g, i, lang, key=None) -> Num | list[Part]:
    """How far a gap's farthest point is: "1,240 m", or "more than 1,500 m" beyond the search
    (the same words as the map's gap popups, :func:`.mapstyle.fmt_farthest`)."""
    key = key or ("largest_gaps", i)
    if g.get("farthest_m") is None and g.get("farthest_more_than_m") is not None:
        return [text("unit.more_than", lang), " ", Num(g["farthest_more_than_m"], "report.json",
                                         (*key, "farthest_more_than_m"), "m")]
    return Num(g.get("farthest_m"), "report.json", (*key, "farthest_m"), "m")


def _audit(a, t, lang) -> list[Block]:
    out: list[Block] = [("h2", [t["audit"]])]
    src = "report.json"
    if not a["with_service_data"]:
        return [*out, ("p", [t["audit_none"]])]
    sep = text("sep.list", lang)
    core = sep.join(_service(k, lang) for k in a["core"])
    out.append(("p", [Num(a["complete"], src, ("service_audit", "complete"), "count"), " ",
                      t["audit_intro"].format(core=core), _after(t["audit_intro"]),
                      Num(a["stations"], src, ("service_audit", "stations"), "count")]))
    lacking = a["stations_lacking"]
    rows = [[r["station_id"], r["name"],
             sep.join(_service(k, lang) for k in r["missing"])]
            for r in lacking[:_MAX_AUDIT_ROWS]]
    if rows:
        out.append(("table", [t["id"], t["station"], t["missing"]], rows))
    if len(lacking) > _MAX_AUDIT_ROWS:
        out.append(("p", [t["more"].format(n=len(lacking) - _MAX_AUDIT_ROWS)]))
    return out


def _after(label: str) -> str:
    """The space after a label before its figure: none after a Chinese colon."""
    return "" if label.endswith("：") else " "


def _sole(sole, t, *, with_kind: bool) -> list[Block]:
    src = "report.json"
    out: list[Block] = [("h2", [t["sole"]])]
    if not sole["stations"]:
        return [*out, ("p", [t["none_sole"]])]
    out.append(("p", [Num(sole["total_m"], src, ("sole_coverage", "total_m"), "m"), " ",
                      t["sole_intro"], _after(t["sole_intro"]),
                      Num(sole["stations_with_sole"], src, ("sole_coverage", "stations_with_sole"),
                          "count")]))
    rows = []
    for i, r in enumerate(sole["stations"][:15]):
        row: list[Any] = _sole_site(r)
        if with_kind:
            row.append(t.get(f"kinds.{r['kind']}", r["kind"]))
        row += [Num(r["sole_m"], src, ("sole_coverage", "stations", i, "sole_m"), "m"),
                _names(r["streets"]) or "–"]
        rows.append(row)
    head = [t["id"], t["station"], *([t["kind"]] if with_kind else []), t["sole_m"], t["streets"]]
    out.append(("table", head, rows))
    if len(sole["stations"]) > 15:
        out.append(("p", [t["more"].format(n=len(sole["stations"]) - 15)]))
    return out


def _sole_site(r: Mapping[str, Any]) -> list[Any]:
    """The id and name cells of a station in the sole-coverage table: a proposed site as
    the table of proposed sites shows it, by its rank and its name, address or street.

    >>> _sole_site({"station_id": "C1632", "name": "", "kind": "proposed", "rank": 7,
    ...             "street": "无名次干路", "address": "贵溪大道与建设路交叉口南 1.4 公里"})
    ['#7', '贵溪大道与建设路交叉口南 1.4 公里']
    >>> _sole_site({"station_id": "3", "name": "西街驿站", "kind": "existing", "rank": None})
    ['3', '西街驿站']
    """
    if r.get("kind") != "proposed" or r.get("rank") is None:
        return [r["station_id"], r["name"]]
    where = next((isolate_bidi(r[c]) for c in ("name", "address", "street") if r.get(c)), "–")
    return [f"#{r['rank']}", where]


def _site_rules(settings: Mapping[str, Any], lang: str) -> str:
    """The rule the plan's new sites meet (the same as check's), from its settings.

    >>> en = _site_rules({"min_spacing_m": 500.0, "spacing": "network", "min_gain_m": 150.0},
    ...                  "en")
    >>> en.startswith("Rule for new sites (the same as check): at least 500 m from any station")
    True
    >>> en.endswith(" along the streets; each adds at least 150 m of street.")
    True
    >>> _site_rules({"min_spacing_m": 0, "spacing": None, "min_gain_m": 0}, "zh")
    '新站点规则（与审核相同）：不限间距；不限最低新增覆盖。'
    >>> _site_rules({}, "en")
    ''
    """
    if "min_gain_m" not in settings:  # a summary from before the rule was recorded
        return ""
    spacing = float(settings.get("min_spacing_m") or 0)
    gain = float(settings.get("min_gain_m") or 0)
    apart = (text("rule.spacing", lang, m=spacing,
                  how=text(f"reason.spacing.{settings.get('spacing') or 'network'}", lang))
             if spacing else text("rule.no_spacing", lang))
    adds = text("rule.gain", lang, m=gain) if gain else text("rule.no_gain", lang)
    return text("rule.sites", lang, apart=apart, adds=adds)


def _plan(p, curve, stations, t, images, lang) -> list[Block]:
    """The plan: coverage today and with the proposals, the added street, the certificate.

    Keys absent from ``plan_summary.json`` are left out rather than guessed.
    """
    src = "plan_summary.json"

    def num(key: str, kind: str) -> Num | None:
        return Num(p[key], src, (key,), kind) if p.get(key) is not None else None

    def parts(*items: Any) -> list[Part]:
        """The items, dropping any label whose number (the item after it) is missing."""
        out: list[Part] = []
        for item in items:
            if isinstance(item, tuple):
                if all(x is not None for x in item):
                    out += list(item)
            else:
                out.append(item)
        return out

    existing = (Num(stations["existing"], "report.json", ("stations", "existing"), "count")
                if stations else None)
    cards: list[tuple[Num, list[Part]]] = []
    after, before = num("coverage_after", "share"), num("coverage_before", "share")
    if after is not None:
        cards.append((after, parts(t["coverage_after"], (" · ", t["coverage_before"], " ",
                                                          before))))
    m_after, m_before, added = (num("covered_m_after", "m"), num("covered_m_before", "m"),
                                num("added_m", "m"))
    if m_after is not None:
        cards.append((m_after, parts(t["covered_after"],
                                     (" · ", t["covered_before"], " ", m_before),
                                     (" · ", t["added"], " ", added))))
    elif added is not None:
        cards.append((added, [t["added_by"]]))
    new = num("new_sites", "count")
    if new is not None:
        cards.append((new, parts(t["new_sites"], (" · ", existing, " ", t["existing_sites"]))))
    out: list[Block] = [("h2", [t["plan"]]), ("cards", cards)]
    rules = _site_rules(p.get("settings") or {}, lang)
    if rules:
        out.append(("p", [rules]))
    certificate = plan_certificate(p, lang)
    if certificate:
        out.append(("p", [t["certificate"], certificate]))
    demand = (p.get("settings") or {}).get("demand") or {}
    if demand.get("kind") in ("riders", "file"):  # the objective was a model's demand
        model = t[f"model.{demand['kind']}"].format(kernel=f"{demand.get('kernel_m') or 0:g}",
                                                    source=demand.get("source", ""))
        out.append(("p", [t["plan_weighted"].format(model=model),
                          *parts((num("weighted_coverage_before", "share"), " → ",
                                  num("weighted_coverage_after", "share"))),
                          t["plan_weighted_tail"]]))
    shortfall = plan_shortfall(p, lang)
    if shortfall:
        out.append(("p", [shortfall]))
    if p.get("unreachable_m") and not (shortfall and p.get("objective") == "target"):
        # (a missed target's sentence already names it)
        out.append(("p", [Num(p["unreachable_m"], src, ("unreachable_m",), "m"), " ",
                          t["unreachable"]]))
    if curve:
        out.append(("h3", [t["curve"]]))
        if "coverage_curve.png" in images:
            out.append(("img", "coverage_curve.png", t["curve_alt"]))
        picks = sorted({0, 1, 2, 3, 5, 10, 20, 50, 100, len(curve) - 1, int(p["new_sites"])}
                       & set(range(len(curve))))
        out.append(("table", [t["curve_sites"], t["share"]],
                    [[Num(curve[i]["new_sites"], "report.json", ("curve", i, "new_sites"), "count"),
                      Num(curve[i]["coverage_share"], "report.json", ("curve", i, "coverage_share"),
                          "share")] for i in picks]))
    return out


def _where(lon: float, lat: float, name: str, t: Mapping[str, str]) -> list[Any]:
    """A site's cell: WGS-84 and, in China, GCJ-02 (Amap) at 6 decimals (about 0.1 m) to
    paste into a map app, and an Amap link."""
    cell: list[Any] = [f"{lon:.6f}, {lat:.6f} (WGS-84) "]
    if in_china(lon, lat):
        glon, glat = wgs84_to_gcj02(lon, lat)
        cell.append(f"{glon:.6f}, {glat:.6f} (GCJ-02) ")
    cell.append(Link(t["map_link"], amap_marker_url(lon, lat, name=name)))
    return cell


def _plan_sites(rows, t) -> list[Block]:
    """The proposed sites in rank order, with the words a field team finds them by."""
    if not rows:
        return []
    table = []
    for i, r in enumerate(rows[:_MAX_CHECK_ROWS]):
        name = r["name"] or f"#{r['rank']} {r['street']}".strip()
        table.append([str(r["rank"]), *(isolate_bidi(r[c]) or "–" for c in
                                        ("name", "street", "address", "near")),
                      Num(r["marginal_m"], "report.json", ("plan_rows", i, "marginal_m"), "m"),
                      _where(r["lon"], r["lat"], name, t)])
    out: list[Block] = [("h3", [t["plan_sites"]]),
                        ("table", ["#", t["name"], t["street"], t["address"], t["near"],
                                   t["gain"], t["where"]], table)]
    if len(rows) > _MAX_CHECK_ROWS:
        out.append(("p", [t["more"].format(n=len(rows) - _MAX_CHECK_ROWS)]))
    return out


def _check(c, rows, t, lang) -> list[Block]:
    src = "check_summary.json"
    labels = section("verdict", lang)
    op, cl = ("（", "）") if lang == "zh" else (" (", ")")  # around a share
    clause = text("sep.clause", lang)
    out: list[Block] = [
        ("h2", [t["check"]]),
        ("p", [Num(c["proposals"], src, ("proposals",), "count"), " ", t["proposals"]]),
        ("table", [t["verdict"], t["count"]],
         [[("verdict", v, labels[v]), Num(n, src, ("by_verdict", v), "count")]
          for v, n in c["by_verdict"].items()]),
        ("p", [t["check_before"], _after(t["check_before"]),
               Num(c["covered_m_before"], src, ("covered_m_before",), "m"),
               op, Num(c["coverage_before"], src, ("coverage_before",), "share"), cl + clause,
               t["check_after"], _after(t["check_after"]),
               Num(c["covered_m_after"], src, ("covered_m_after",), "m"),
               op, Num(c["coverage_after"], src, ("coverage_after",), "share"),
               cl + text("sep.list_comma", lang) + "+", Num(c["gain_m"], src, ("gain_m",), "m")]),
    ]
    b = c.get("benchmark")
    if b:
        parts: list[Part] = [t["bench"], " "]
        for i, (key, label) in enumerate((("street", t["bench_street"]),
                                          ("proposals", t["bench_own"]))):
            if not b.get(key):
                continue
            parts += [clause if i else "",
                      Num(b[key]["covered_m_after"], src, ("benchmark", key, "covered_m_after"),
                          "m"),
                      op, Num(b[key]["coverage_after"], src, ("benchmark", key, "coverage_after"),
                              "share"), cl if lang == "zh" else ") ", label]
        out.append(("p", [*parts, text("sep.stop", lang)]))
    elif c["by_verdict"].get("accept"):
        # check_summary leaves the benchmark out with accepted sites only on request
        out.append(("p", [t["bench_skipped"]]))
    else:
        out.append(("p", [t["bench_none"]]))
    table = []
    for i, r in enumerate(rows[:_MAX_CHECK_ROWS]):
        table.append([r["proposal_id"], r["name"], ("verdict", r["verdict"], labels[r["verdict"]]),
                      Num(r["gain_m"], "report.json", ("check_rows", i, "gain_m"), "m"),
                      Num(r["dist_station_m"], "report.json", ("check_rows", i, "dist_station_m"),
                          "m"),
                      r["reason"]])
    out.append(("table", [t["proposal"], t["name"], t["verdict"], t["gain"], t["dist"],
                          t["reason"]], table))
    if len(rows) > _MAX_CHECK_ROWS:
        out.append(("p", [t["more"].format(n=len(rows) - _MAX_CHECK_ROWS)]))
    return out


def _names(names: Sequence[str] | str) -> str:
    """Street names joined by "; ", each isolated (FSI … PDI) when it has bidi controls.

    An unclosed right-to-left override in one name would otherwise reverse the names after
    it in the same cell. A string is taken as names already joined by "; " (``gaps.streets``);
    a name that itself holds "; " is then isolated in two parts, which is just as safe.

    >>> _names(["a\\u202eb", "c"]), _names("a\\u202eb; c"), _names("x; y"), _names([])
    ('\\u2068a\\u202eb\\u2069; c', '\\u2068a\\u202eb\\u2069; c', 'x; y', '')
    """
    parts = names.split("; ") if isinstance(names, str) else names
    return "; ".join(isolate_bidi(n) for n in map(str, parts))


def _service(key: str, lang: str) -> str:
    return section("service", lang).get(key, key)


# --- HTML ------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.55 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
sans-serif;color:#222;margin:0;background:#f6f6f4}
main{max-width:1000px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #225ea8;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
.meta{color:#666;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 200px;border:1px solid #ddd;border-radius:6px;padding:10px 14px}
.card .big{font-size:26px;font-weight:600;color:#225ea8}.card .sub{color:#555;font-size:13px}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:14px}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f7}td.n{text-align:right;white-space:nowrap}
img{max-width:100%;border:1px solid #ddd;margin:8px 0}
.v{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:13px;
white-space:nowrap}
.v-accept{background:#1a9850}.v-redundant{background:#e08214}.v-too_close{background:#d73027}
.v-off_network{background:#7b3294}.v-outside_area{background:#4d4d4d}.v-invalid{background:#999}
.v-pass{background:#1a9850}.v-fail{background:#d73027}
@page{size:A4;margin:15mm}
@media print{body{background:#fff}main{padding:0}}
"""


def render_html(data: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """The report as one self-contained HTML page."""
    lang = data["lang"]
    body = []
    for block in layout(data, images):
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{_html_parts(block[1], lang)}</{kind}>")
        elif kind == "meta":
            body.append(f'<p class="meta">{_html_parts(block[1], lang)}</p>')
        elif kind == "p":
            body.append(f"<p>{_html_parts(block[1], lang)}</p>")
        elif kind == "warn":
            label, *rest = block[1]
            body.append('<p class="warning" role="alert" style="color:#b30000;border:2px '
                        'solid #b30000;padding:8px 12px;background:#fff3f3">'
                        f"<strong>⚠ {html.escape(label)}</strong>{_html_parts(rest, lang)}</p>")
        elif kind == "cards":
            cards = "".join(
                f'<div class="card"><div class="big">{_html_parts([big], lang)}</div>'
                f'<div class="sub">{_html_parts(sub, lang)}</div></div>' for big, sub in block[1])
            body.append(f'<div class="cards">{cards}</div>')
        elif kind == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(_html_cell(c, lang) for c in row) + "</tr>"
                           for row in block[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            b64 = base64.b64encode(images[block[1]]).decode("ascii")
            body.append(f'<p><img alt="{html.escape(block[2])}" '
                        f'src="data:image/png;base64,{b64}"></p>')
        elif kind == "links":
            items = "".join(f"<li>{_html_parts([link], lang)}</li>" for link in block[1])
            body.append(f"<ul>{items}</ul>")
    title = html.escape(text("report.title", lang))
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def _html_cell(cell: Any, lang: str) -> str:
    if _is_number(cell):
        parts = cell if isinstance(cell, list) else [cell]
        return f'<td class="n">{_html_parts(parts, lang)}</td>'
    if isinstance(cell, tuple) and cell and cell[0] == "verdict":
        return f'<td><span class="v v-{cell[1]}">{html.escape(cell[2])}</span></td>'
    parts = cell if isinstance(cell, list) else [cell]
    return f"<td>{_html_parts(parts, lang)}</td>"


def _html_parts(parts: Sequence[Part], lang: str) -> str:
    out = []
    for p in parts:
        if isinstance(p, Num):
            value = json.dumps(json_ready(p.value), ensure_ascii=False)
            key = json.dumps(list(p.key), ensure_ascii=False)
            out.append(f'<span class="num" data-src="{p.src}" data-key="{html.escape(key)}" '
                       f'data-kind="{p.kind}" data-value="{html.escape(value)}">'
                       f"{html.escape(fmt(p, lang))}</span>")
        elif isinstance(p, Link):
            out.append(f'<a href="{html.escape(p.href)}">{html.escape(p.label)}</a>')
        else:
            out.append(html.escape(str(p)))
    return "".join(out)


# --- Markdown --------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")
# Whitespace and C0/C1 control characters: a raw ESC could drive a terminal that shows the
# file, NUL becomes U+FFFD in CommonMark, and a line break would end a table row.
_MD_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def md_escape(text: str) -> str:
    """Escape text so Markdown shows it as written (no markup, no HTML, one line).

    Runs of whitespace and control characters become one space.

    >>> md_escape("<b>a*b|c</b> & [x](y)")
    '&lt;b\\\\>a\\\\*b\\\\|c&lt;/b\\\\> &amp; \\\\[x\\\\]\\\\(y\\\\)'
    >>> md_escape("第一行\\n第二行"), md_escape("a\\x1b[2Jb\\x00\\x85c")
    ('第一行 第二行', 'a \\\\[2Jb c')
    """
    text = _MD_BLANKS.sub(" ", str(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(data: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """The report as Markdown (images and maps linked as files beside it)."""
    lang = data["lang"]
    out = []
    for block in layout(data, images):
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + _md_parts(block[1], lang))
        elif kind in ("p", "meta"):
            out.append(_md_parts(block[1], lang))
        elif kind == "warn":
            label, *rest = block[1]
            out.append(f"> **⚠ {md_escape(label)}**{_md_parts(rest, lang)}")
        elif kind == "cards":
            out.append("\n".join(f"- **{_md_parts([big], lang)}** {_md_parts(sub, lang)}"
                                 for big, sub in block[1]))
        elif kind == "table":
            head = "| " + " | ".join(md_escape(h) for h in block[1]) + " |"
            rule = "|" + "|".join("---:" if _numeric_column(block[2], i) else "---"
                                  for i in range(len(block[1]))) + "|"
            rows = ["| " + " | ".join(_md_cell(c, lang) for c in row) + " |" for row in block[2]]
            out.append("\n".join([head, rule, *rows]))
        elif kind == "img":
            out.append(f"![{md_escape(block[2])}]({quote(block[1])})")
        elif kind == "links":
            out.append("\n".join(f"- {_md_parts([link], lang)}" for link in block[1]))
    return "\n\n".join(out) + "\n"


def _numeric_column(rows: list, i: int) -> bool:
    return bool(rows) and all(_is_number(r[i]) for r in rows if i < len(r))


def _is_number(cell: Any) -> bool:
    """A number, or words that qualify one ("more than", Num): right-aligned in tables."""
    if isinstance(cell, list):
        return bool(cell) and isinstance(cell[-1], Num) and all(
            isinstance(p, str) for p in cell[:-1])
    return isinstance(cell, Num)


def _md_cell(cell: Any, lang: str) -> str:
    if isinstance(cell, tuple) and cell and cell[0] == "verdict":
        return md_escape(cell[2])
    return _md_parts(cell if isinstance(cell, list) else [cell], lang)


def _md_parts(parts: Sequence[Part], lang: str) -> str:
    out = []
    for p in parts:
        if isinstance(p, Num):
            out.append(fmt(p, lang))
        elif isinstance(p, Link):
            href = p.href.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
            out.append(f"[{md_escape(p.label)}]({href})")
        else:
            out.append(md_escape(str(p)))
    return "".join(out)
