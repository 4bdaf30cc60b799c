"""The map of a site check: the coverage map of the existing stations, with every proposal
drawn as a circle coloured by its verdict (one layer per verdict) and a legend.

Texts from input files are HTML-escaped and reach the page only as JSON data of one
constant script, so a proposal called ``</script>`` or holding a backtick is shown as text.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
from jinja2 import Template

from .. import chinacrs
from .._i18n import percent_text, run_lang, section, text, verdict_counts_text
from .._io import script_json
from .._options import MapOptions
from ..check import VERDICTS, reason_text
from ..maps import coverage_map, resolve_basemap
from .mapassets import RawMacroElement, inline_assets, layer_name
from .mapjs import number_elements

VERDICT_COLOURS = {
    "accept": "#1a9850", "redundant": "#fdae61", "too_close": "#d73027",
    "off_network": "#7b3294", "outside_area": "#4d4d4d", "invalid": "#999999",
}
_JS_MARKERS = """function (group, rows, style) {
  rows.forEach(function (r) {
    L.circleMarker([r[0], r[1]], {radius: 8, weight: 2, color: "#ffffff",
      fillColor: style.colour, fillOpacity: 0.95, className: style.cls})
      .bindTooltip(r[2], {direction: "right"})
      .bindPopup(r[3], {maxWidth: 340})
      .addTo(group);
  });
}"""


class _Markers(RawMacroElement):
    """``(function)(group, rows, style);`` with the rows as script-safe JSON."""

    _template = Template("{% macro script(this, kwargs) %}\n{{ this.js() }}\n{% endmacro %}")

    def __init__(self, group: Any, rows: list[list], style: dict[str, str]) -> None:
        super().__init__()
        self._name = "StationplanCheckMarkers"
        self.group, self.rows, self.style = group, rows, style

    def js(self) -> str:
        rows, style = script_json(self.rows), script_json(self.style)
        return f"({_JS_MARKERS})({self.group.get_name()}, {rows}, {style});"


class _Legend(RawMacroElement):
    _template = Template("{% macro html(this, kwargs) %}{{ this.inner }}{% endmacro %}")

    def __init__(self, inner: str) -> None:
        super().__init__()
        self._name = "StationplanCheckLegend"
        self.inner = inner


def check_map(
    coverage: Any,
    gaps: gpd.GeoDataFrame,
    checked: gpd.GeoDataFrame,
    *,
    area: Any = None,
    map_options: MapOptions | None = None,
    summary: Mapping[str, Any] | None = None,
) -> folium.Map:
    """The coverage map with the checked proposals coloured by verdict.

    ``summary`` (:func:`~stationplan.check_summary` of ``checked``) puts the check's
    headline in its legend, as the command's closing line says it: the verdict counts and
    coverage today and after accepting the sites that pass, its exact figures.
    """
    opts = map_options or MapOptions()
    basemap = resolve_basemap(opts.basemap, coverage)
    lang = run_lang(opts.lang, coverage)
    fmap = coverage_map(coverage, gaps, area=area,
                        map_options=dataclasses.replace(opts, lang=lang, basemap=basemap))
    words = {**section("checkmap", lang), "m": text("unit.m", lang)}
    labels = section("verdict", lang)
    settings = checked.attrs.get("check_settings", {})
    gcj = basemap == "gaode"
    legend = []
    for verdict in VERDICTS:
        sel = checked[checked["verdict"] == verdict]
        rows = _rows(sel, settings, words, labels, lang, gcj=gcj)
        if not len(sel):
            continue
        colour = VERDICT_COLOURS[verdict]
        group = folium.FeatureGroup(name=layer_name(f"{labels[verdict]} ({len(sel)})"))
        if rows:
            group.add_child(_Markers(group, rows, {"colour": colour,
                                                   "cls": f"sp-check sp-check-{verdict}"}))
        group.add_to(fmap)
        legend.append(f'<div><span style="display:inline-block;width:12px;height:12px;'
                      f'border-radius:6px;background:{colour};margin-right:6px"></span>'
                      f"{html.escape(labels[verdict])} ({len(sel)})</div>")
    fmap.add_child(_Legend(
        '<div id="stationplan-check-legend" style="position:fixed;bottom:24px;right:12px;'
        "z-index:1000;background:#fff;padding:8px 10px;border-radius:4px;"
        'box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px sans-serif">'
        f"{_headline(summary, words, lang)}"
        f"<b>{html.escape(words['legend'])}</b>{''.join(legend)}</div>"))
    # The layer control lists the layers that come before it in the script.
    children = fmap._children
    for key in [k for k, c in children.items() if isinstance(c, folium.LayerControl)]:
        children.move_to_end(key)
    root = fmap.get_root()
    inline_assets(root)
    number_elements(root)
    return fmap


def _headline(summary: Mapping[str, Any] | None, words: Mapping[str, str], lang: str) -> str:
    """The check's result as its closing line gives it (nothing without a summary).

    >>> words = section("checkmap", "zh")
    >>> s = {"proposals": 3, "by_verdict": {"accept": 2, "redundant": 1, "invalid": 0},
    ...      "coverage_before": 0.290543, "coverage_after": 0.427818}
    >>> page = _headline(s, words, "zh")
    >>> "<div>采纳通过的站点后覆盖率 29.1 % → 42.8 %</div>" in page
    True
    >>> "<div>3 个提议站点：采纳 2 个、重复覆盖 1 个</div>" in page, _headline(None, words, "zh")
    (True, '')
    """
    if summary is None:
        return ""
    before, after = (percent_text(summary[k]) for k in ("coverage_before", "coverage_after"))
    lines = [words["after"].format(before=before, after=after),
             words["counts"].format(n=summary["proposals"],
                                    counts=verdict_counts_text(summary["by_verdict"], lang))]
    return ('<div id="stationplan-check-headline" style="font-weight:bold;margin-bottom:4px">'
            + "".join(f"<div>{html.escape(line)}</div>" for line in lines) + "</div>")


def _rows(sel, settings, words, labels, lang, *, gcj: bool) -> list[list]:
    has = sel["lon"].notna().to_numpy() & sel["lat"].notna().to_numpy()
    sel = sel[has]
    lon, lat = sel["lon"].to_numpy(float), sel["lat"].to_numpy(float)
    if gcj and len(sel):
        lon, lat = chinacrs.wgs84_to_gcj02(lon, lat)
    rows = []
    for x, y, rec in zip(np.atleast_1d(lon), np.atleast_1d(lat), sel.to_dict("records"),
                         strict=True):
        title = " ".join(t for t in (str(rec["proposal_id"]), str(rec["name"] or "")) if t)
        lines = [(words["verdict"], labels[rec["verdict"]]),
                 (words["reason"], reason_text(rec, settings, lang))]
        if rec.get("street"):
            lines.append((words["street"], str(rec["street"])))
        if np.isfinite(rec.get("gain_m", np.nan)):
            lines.append((words["gain"], f"{rec['gain_m']:.0f} {words['m']}"))
        if np.isfinite(rec.get("dist_station_m", np.nan)):
            lines.append((words["station"],
                          f"{rec['nearest_station']} · {rec['dist_station_m']:.0f} {words['m']}"))
        if np.isfinite(rec.get("dist_proposal_m", np.nan)):
            lines.append((words["proposal"],
                          f"{rec['nearest_proposal_id']} · {rec['dist_proposal_m']:.0f} "
                          f"{words['m']}"))
        popup = f"<b>{html.escape(title)}</b><table>" + "".join(
            f"<tr><th style='text-align:left;padding-right:6px'>{html.escape(k)}</th>"
            f"<td>{html.escape(v)}</td></tr>" for k, v in lines) + "</table>"
        rows.append([round(float(y), 7), round(float(x), 7), html.escape(title), popup])
    return rows
