"""The province map of a batch run: each unit's core coloured by its covered share.

One shape per unit (its core polygon), coloured in five classes of covered share, with
the unit's row of the league table as its popup and the total in a panel; an HTML page
(Leaflet inlined, :mod:`.mapassets`, the coverage map's basemaps and script functions)
and a PNG (matplotlib, no tiles). Texts are in Chinese or English; unit names are
HTML-escaped and reach the page only as JSON data.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure

from .._i18n import has_cjk, percent_text, resolve_lang, section
from .._i18n import text as text_in
from ..chinacrs import in_china
from ..maps import MapCall, add_basemaps, esc, line_features, line_layer
from ..staticmap import cjk_font
from . import mapjs
from . import mapstyle as ms
from .mapassets import RawHTML, icon_css, inline_assets

# Covered share classes (upper bounds) and their colours, red (little covered) to green.
SHARE_BOUNDS = (0.2, 0.4, 0.6, 0.8, 1.0)
SHARE_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
NO_DEMAND_COLOUR = "#bdbdbd"
_FIELDS = ("demand_km", "covered_km", "covered_share", "gap_km", "stations", "proposed_sites",
           "cross_border_km")


def share_class(share: float) -> int:
    """The colour class of a covered share: 0 (< 20 %) … 4 (>= 80 %), 5 without demand.

    >>> [share_class(s) for s in (0.0, 0.2, 0.79, 0.8, 1.0, float("nan"))]
    [0, 1, 3, 4, 4, 5]
    """
    if not np.isfinite(share):
        return len(SHARE_COLOURS)
    return min(int(np.searchsorted(SHARE_BOUNDS, share, side="right")), len(SHARE_COLOURS) - 1)


def _class_label(k: int, words: Mapping[str, str]) -> str:
    if k == len(SHARE_COLOURS):
        return words["no_demand"]
    lo = 0 if k == 0 else round(100 * SHARE_BOUNDS[k - 1])
    hi = round(100 * SHARE_BOUNDS[k])
    return f"{lo}–{hi} %" if k < len(SHARE_COLOURS) - 1 else f">= {lo} %"


def _value(field: str, row: Mapping[str, Any], lang: str) -> str:
    value = row[field]
    if field == "covered_share":
        return percent_text(float(value)) if np.isfinite(value) else "–"
    if field in ("stations", "proposed_sites"):
        return f"{int(value):,}"
    return f"{float(value):,.1f} {text_in('unit.km', lang)}"


def _rows_html(row: Mapping[str, Any], words: Mapping[str, str], lang: str) -> str:
    cells = [(words["unit_id"], esc(row["unit_id"]))] if row["unit_id"] != "total" else []
    cells += [(words[f], html.escape(_value(f, row, lang))) for f in _FIELDS]
    return "<table>" + "".join(
        f'<tr><th style="text-align:left;padding-right:8px">{html.escape(k)}</th>'
        f"<td>{v}</td></tr>" for k, v in cells) + "</table>"


def _language(lang: str | None, units: Sequence[Any]) -> str:
    return resolve_lang(lang, [u.name for u in units])


def _cores(units: Sequence[Any], crs: Any) -> gpd.GeoSeries:
    return gpd.GeoSeries([u.core for u in units], crs=crs)


def _records(league: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in league.to_dict("records")]


def _unit_rows(units: Sequence[Any], league: pd.DataFrame) -> list[dict[str, Any]]:
    rows = {str(r["unit_id"]): r for r in _records(league)}
    return [rows[u.unit_id] for u in units]


def province_map(units: Sequence[Any], league: pd.DataFrame, *, crs: Any,
                 lang: str | None = None, precision: int = 6, failed: int = 0) -> folium.Map:
    """The interactive map of the units (:class:`stationplan.batch.Unit`, cores in ``crs``).

    Parameters
    ----------
    units
        The units that finished, in league order.
    league
        The league table (:func:`stationplan.batch.league_table`), its last row the total.
    crs
        The CRS of the cores (the network's).
    lang
        "zh" or "en"; by default Chinese when a unit name is Chinese.
    precision
        Decimal places of the coordinates.
    failed
        How many units failed (said in the panel; they have no row and no shape).

    Returns
    -------
    folium.Map
        A page that asks no server but its basemap's tiles; the same inputs give the same
        bytes.
    """
    lang = _language(lang, units)
    words = section("province", lang)
    text = section("map", lang)
    cores = _cores(units, crs) if units else gpd.GeoSeries([], crs=4326)
    centre = None
    if len(cores):
        box = gpd.GeoSeries([shapely.box(*cores.total_bounds)], crs=cores.crs).to_crs(4326)
        west, south, east, north = box.total_bounds
        centre = ((west + east) / 2, (south + north) / 2)
    gcj = centre is not None and bool(in_china(*centre))
    fmap = folium.Map(tiles=None, control_scale=False)
    root = cast(Figure, fmap.get_root())
    root.title = words["title"]
    root.header.add_child(RawHTML(f"<style>{ms.CSS}\n{icon_css(ms.ICONS)}\n</style>"),
                          name="stationplan_css")
    fmap.add_child(MapCall(mapjs.SCALE, fmap, [text_in("unit.m", lang),
                                              text_in("unit.km", lang)]))
    shift = None
    if gcj and centre is not None:
        from ..chinacrs import wgs84_to_gcj02

        glng, glat = wgs84_to_gcj02(centre[0], centre[1])
        shift = [round(centre[1], 6), round(centre[0], 6), round(float(glat) - centre[1], 7),
                 round(float(glng) - centre[0], 7)]
    add_basemaps(fmap, "gaode" if gcj else "osm", None, text, lang, shift=shift)
    fmap.add_child(MapCall(mapjs.PANES, fmap))
    styles = [{"color": "#555555", "weight": 1, "opacity": 0.9, "fillColor": c,
               "fillOpacity": 0.65, "className": f"sp-unit sp-unit-{k}"}
              for k, c in enumerate((*SHARE_COLOURS, NO_DEMAND_COLOUR))]
    feats: list[list] = []
    if len(cores):
        from .mapdata import display_geoms

        geoms = display_geoms(cores, gcj02=gcj, precision=precision)
        props = []
        for u, row in zip(units, _unit_rows(units, league), strict=True):
            title = esc(u.name) or esc(u.unit_id)
            share = float(row["covered_share"])
            props.append((share_class(share), f"{title}: {_value('covered_share', row, lang)}",
                          f'<div class="sp-popup"><b class="sp-name">{title}</b>'
                          f"{_rows_html(row, words, lang)}</div>"))
        feats = line_features(geoms, props, precision)
    line_layer(fmap, f"{words['units']} ({len(units)})", "spAreas", (feats, styles),
                precision)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.add_child(MapCall(mapjs.PANEL, fmap, _panel_html(league, words, lang, failed)))
    if len(cores):
        w, s, e, n = display_geoms(gpd.GeoSeries([shapely.box(*cores.total_bounds)],
                                                 crs=cores.crs), gcj02=gcj,
                                   precision=precision)[0].bounds
        fmap.fit_bounds([[s, w], [n, e]])
    inline_assets(root)
    mapjs.number_elements(root)
    return fmap


def _panel_html(league: pd.DataFrame, words: Mapping[str, str], lang: str,
                failed: int = 0) -> str:
    total = _records(league)[-1]
    n = len(league) - 1
    legend = "".join(
        f'<div><span style="display:inline-block;width:14px;height:10px;margin-right:6px;'
        f'border:1px solid #555;background:{c}"></span>{html.escape(_class_label(k, words))}'
        "</div>" for k, c in enumerate((*SHARE_COLOURS, NO_DEMAND_COLOUR)))
    note = (f'<div style="color:#b2182b">{failed:,} {html.escape(words["failed"])}</div>'
            if failed else "")
    return (f"<b>{html.escape(words['title'])}</b><div>{n:,} "
            f"{html.escape(words['n_units'])}</div>{note}"
            f"<b>{html.escape(words['total'])}</b>{_rows_html(total, words, lang)}"
            f"<b>{html.escape(words['legend'])}</b>{legend}")


def province_png(units: Sequence[Any], league: pd.DataFrame, *, crs: Any,
                 lang: str | None = None, width_in: float = 10.0, dpi: int = 120) -> bytes:
    """The province map as a PNG: the cores in ``crs`` coloured by covered share, with the
    unit ids, a legend and the total's figures (same inputs, same bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.patches import Patch

    lang = _language(lang, units)
    # Chinese names are drawn in a Chinese font in either language; without one on the
    # computer, the English map and the units' ids (DejaVu Sans has no Chinese glyph)
    chinese = lang == "zh" or any(has_cjk(u.name) for u in units)
    font = cjk_font() if chinese else None
    if lang == "zh" and font is None:
        lang = "en"
    words = section("province", lang)
    rc: dict[Any, Any] = {"font.family": [font, "DejaVu Sans"]} if font else {}
    import matplotlib as mpl

    with mpl.rc_context(rc):
        fig = MplFigure(figsize=(width_in, width_in * 0.8), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.02, 0.02, 0.74, 0.88))
        ax.set_axis_off()
        ax.set_aspect("equal")
        if units:
            cores = _cores(units, crs)
            rows = _unit_rows(units, league)
            colours = [(*SHARE_COLOURS, NO_DEMAND_COLOUR)[share_class(float(r["covered_share"]))]
                       for r in rows]
            cores.plot(ax=ax, color=colours, edgecolor="#555555", linewidth=0.6)
            if len(units) <= 400:
                pts = shapely.point_on_surface(cores.to_numpy())
                size = max(4.0, min(9.0, 300 / max(1, len(units)) ** 0.5))
                for u, p in zip(units, pts, strict=True):
                    named = len(units) <= 60 and (font is not None or not has_cjk(u.name))
                    ax.annotate(u.name if named else u.unit_id, (p.x, p.y),
                                ha="center", va="center", fontsize=size, color="#222222")
        total = _records(league)[-1]
        fig.suptitle(f"{words['title']}{text_in('sep.label', lang)}"
                     f"{_value('covered_share', total, lang)} "
                     f"({_value('covered_km', total, lang)} / "
                     f"{_value('demand_km', total, lang)}){text_in('sep.list', lang)}"
                     f"{len(units):,} {words['n_units']}", fontsize=12)
        handles = [Patch(facecolor=c, edgecolor="#555555", label=_class_label(k, words))
                   for k, c in enumerate((*SHARE_COLOURS, NO_DEMAND_COLOUR))]
        fig.legend(handles=handles, title=words["legend"], loc="upper left",
                   bbox_to_anchor=(0.77, 0.9), fontsize=8, title_fontsize=8, frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
