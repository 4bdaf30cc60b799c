"""The interactive coverage map (Folium/Leaflet): what a planner shows to a meeting.

Layers, each in the layer control: streets coloured by network distance to the nearest
station (graded bands up to the limit), gaps in red with the width growing with the run's
length, service areas (covered streets buffered and dissolved, never hulls), existing
stations, proposed sites numbered by rank, rejected inputs and the planning-area outline.
A panel gives the figures and the legend in Chinese or English.

City-scale maps stay light: street pieces are cut into distance bands, merged per street
and band, simplified and rounded; markers are plain ``L.divIcon`` badges built by one loop
from a compact array and clustered above a threshold. Every text from input files is
HTML-escaped before it reaches the page, and data enter scripts as JSON with ``<``
escaped, so a station called ``<script>`` is shown as text. Element ids are numbered in
tree order instead of random, so the same inputs give byte-identical HTML.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure
from jinja2 import Template

from ._errors import InputError
from ._i18n import (
    gap_street,
    percent_text,
    plan_certificate,
    plan_shortfall,
    run_lang,
    section,
    station_reason_text,
    station_status_text,
    time_label,
)
from ._i18n import text as text_in
from ._io import script_json
from ._options import (  # noqa: F401 - BASEMAPS kept as maps.BASEMAPS
    BASEMAPS,
    MAP_MERGED_ABOVE_PIECES,
    MapOptions,
)
from ._render import mapdata as md
from ._render import mapjs
from ._render import mapstyle as ms
from ._render.mapassets import (
    RawHTML,
    RawMacroElement,
    icon_css,
    inline_assets,
    layer_name,
)
from ._text import isolate_bidi, plain_text
from .chinacrs import amap_marker_url, in_china, wgs84_to_gcj02
from .coverage import Coverage
from .gaps import find_gaps, gap_areas

log = logging.getLogger(__name__)

_SERVICE_SPLIT = re.compile(r"[;；,，、/]")
# Search entries are one line: a text input drops line breaks from what it is given, so a
# name with one would never match its entry again when picked from the list.
_SEARCH_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_MARKER_PX = 28

_OSM_ATTR = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
             "contributors")
_TILES: dict[str, tuple[str, str, int, str]] = {  # url, attribution, max zoom, subdomains
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", _OSM_ATTR, 19, "abc"),
    "carto": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
              _OSM_ATTR + ' &copy; <a href="https://carto.com/attributions">CARTO</a>',
              20, "abcd"),
    "gaode": ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
              "&style=8&x={x}&y={y}&z={z}", "&copy; 高德地图 AutoNavi", 18, "1234"),
    "gaode_satellite": ("https://webst0{s}.is.autonavi.com/appmaptile?style=6"
                        "&x={x}&y={y}&z={z}", "&copy; 高德地图 AutoNavi", 18, "1234"),
}
_TIANDITU = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
             "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
             "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'

def coverage_map(
    coverage: Coverage,
    gaps: gpd.GeoDataFrame,
    *,
    summary: dict[str, Any] | None = None,
    proposals: gpd.GeoDataFrame | None = None,
    before: Coverage | None = None,
    plan_summary: Mapping[str, Any] | None = None,
    area: Any = None,
    map_options: MapOptions | None = None,
    lang: str | None = None,
    basemap: str | None = None,
    tianditu_key: str | None = None,
    precision: int = 6,
    cluster_threshold: int = 200,
    density: Any = None,
    rules: Any = None,
    before_gaps: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    merged_above: int = MAP_MERGED_ABOVE_PIECES,
    bands: gpd.GeoDataFrame | None = None,
    street_layers: StreetLayers | None = None,
) -> Any:
    """Draw a coverage result as an interactive Folium map.

    Above ``merged_above`` street pieces (:data:`~stationplan._options.MAP_MERGED_ABOVE_PIECES`)
    the map draws merged, screen-simplified layers, so that a city of a million pieces
    stays a page of a few MB: the covered streets of one distance band, the gap runs of
    one line width and the streets not counted each become one line, simplified to about
    a screen pixel at the first zoom (the larger side of the network's extent / 1,024);
    the service areas and gap areas are left out and lines have no popups. The panel's
    figures are the same exact figures (``summary``) either way.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    gaps
        Result of :func:`~stationplan.find_gaps` for it.
    summary
        Result of :func:`~stationplan.summarize` for the panel; computed when ``None``.
    proposals
        Proposed sites in rank order (any CRS): ``rank``, ``candidate_id``, ``name``,
        ``kind``, ``host_tag``, ``marginal_m``, ``cumulative_share``; or ``None``. They
        are drawn in their own layer; stations of ``kind`` "proposed" in ``coverage``
        (a plan's coverage after the proposals) are not drawn or counted as existing.
    before
        Coverage by the existing stations only, for a plan: its streets, gaps and service
        areas become "today" layers, and a switch in the panel shows today or the plan.
    plan_summary
        ``plan_summary.json`` of a plan, for the panel: ``coverage_before`` /
        ``coverage_after``, ``new_sites``, the certificate and why the plan falls short.
    area
        The planning area, drawn as an outline: a GeoDataFrame/GeoSeries with a CRS, or a
        shapely geometry in WGS-84 lon/lat; or ``None``.
    map_options
        Language and basemap (:class:`~stationplan.MapOptions`). With "gaode" (the default
        for data inside China) every layer is shifted to GCJ-02 to sit on Gaode's tiles,
        and OpenStreetMap (and Tianditu, given a key) are offered with their tiles moved
        by the same offset; elsewhere the default is OpenStreetMap.
    lang, basemap, tianditu_key
        Shorthand for the fields of ``map_options`` (not both).
    precision
        Decimal places of coordinates (6 ≈ 0.1 m, 5 ≈ 1 m).
    cluster_threshold
        Marker layers with more markers than this are clustered.
    density
        Demand weights (:class:`~stationplan.weights.DemandDensity`): a layer (hidden at
        first) colours the demand streets by weight density in four bands of the
        largest density; ``None`` draws none.
    rules
        The rules' verdicts (:mod:`stationplan.rules`) as ``(entry, gaps, limit_m)``: the
        rule's ``summary.json`` entry, its failing streets (gap runs) and its limit; each
        rule is one layer (hidden at first) of its failing streets, named with its share
        and verdict. ``None`` draws none.
    before_gaps, areas
        :func:`~stationplan.find_gaps` of ``before`` and :func:`~stationplan.gap_areas`
        of ``gaps`` when already computed (else computed here).
    merged_above
        Street pieces above which the layers are merged and screen-simplified.
    bands
        :func:`~stationplan._render.mapdata.distance_bands` of ``coverage`` at the
        map's band edges (:func:`~stationplan._render.mapstyle.band_edges` of its limit)
        when already computed (else computed here).
    street_layers
        :func:`street_layers` of ``coverage`` with the same ``map_options`` (or
        shorthands), ``precision`` and ``merged_above``, when already made (e.g. by
        another process while the gaps were found): its layers are drawn as they are.
        Made with other options, it is not used (the layers are made here).

    Returns
    -------
    folium.Map
        Render it with ``.get_root().render()`` or save it with ``.save(path)``. The page
        holds its scripts, styles and icons (:mod:`._render.mapassets`): it asks no server
        but the basemap's, and without tiles it shows every layer on a plain background.
    """
    opts = _map_options(map_options, lang, basemap, tianditu_key)
    made_with = (opts, precision, merged_above)
    if street_layers is not None and street_layers.made_with != made_with:
        log.debug("street layers made with %s, not %s: made again", street_layers.made_with,
                  made_with)
        street_layers = None
    look = (_Look.of(coverage, opts, precision=precision, merged_above=merged_above)
            if street_layers is None else street_layers.look)
    envelopes, extent, basemap, view = look.envelopes, look.extent, look.basemap, look.view
    tianditu_key = opts.tianditu_key
    lang = look.lang
    text = section("map", lang)
    gcj = view.gcj02
    if summary is None:
        from .summary import summarize

        summary = summarize(coverage, gaps)
    merged = view.chain
    if merged:
        log.info("map of %s street pieces (more than %s): merged layers drawn to %.0f m, "
                 "without service areas, gap areas and popups on lines",
                 f"{len(coverage.pieces):,}", f"{merged_above:,}", view.simplify_m)

    fmap = folium.Map(tiles=None, control_scale=False)
    root = cast(Figure, fmap.get_root())  # a Map's root is its Figure
    root.title = text["title"]
    root.header.add_child(RawHTML(f"<style>{ms.CSS}\n{icon_css(ms.ICONS)}\n</style>"),
                          name="stationplan_css")
    fmap.add_child(MapCall(mapjs.SCALE, fmap, [text_in("unit.m", lang), text_in("unit.km", lang)]))
    add_basemaps(fmap, basemap, tianditu_key, text, lang,
                  shift=_gcj_shift(coverage, extent=extent) if gcj else None)
    fmap.add_child(MapCall(mapjs.PANES, fmap))

    edges = ms.band_edges(coverage.rule.limit_m)
    catchment = _catchments(coverage)
    osm_attr = text["osm"] if ms.is_osm_source(coverage.network.source) else None

    pieces = coverage.pieces
    other, paired = _not_counted(pieces)
    if len(other):
        km = text_in("unit.km", lang)
        line_layer(fmap, f"{text['other']} ({other['length_m'].sum() / 1000:.1f} {km})",
                    "spOther", street_layers.other if street_layers is not None
                    else _other_features(other, text, view), precision, attribution=osm_attr)
    # the other carriageway of a road counted once: drawn thin, labelled as such
    if len(paired):
        km = text_in("unit.km", lang)
        line_layer(fmap, f"{text['paired']} ({paired['length_m'].sum() / 1000:.1f} {km})",
                    "spOther", street_layers.paired if street_layers is not None
                    else _other_features(paired, text, view, paired=True), precision,
                    attribution=osm_attr)
    phases: dict[str, list[Any]] = {"before": [], "after": []}
    if before is not None:
        # today first, under the plan's layers in the layer control; hidden until chosen
        if before_gaps is None:
            before_gaps = find_gaps(before, lang=lang)
        phases["before"] = _coverage_layers(fmap, before, before_gaps, text,
                                            lang, view, edges, osm_attr, today=True,
                                            merged=merged)
    phases["after"] = _coverage_layers(
        fmap, coverage, gaps, text, lang, view, edges, osm_attr, today=False, merged=merged,
        bands=bands, streets=None if street_layers is None else street_layers.streets)
    if not merged:
        areas = gap_areas(gaps) if areas is None else areas
        line_layer(fmap, f"{text['gap_areas']} ({len(areas)})", "spAreas",
                    _gap_area_features(areas, text, view, lang), precision, show=False)

    if density is not None:
        model = (text_in("weights.riders", lang) if density.kind == "riders"
                 else density.source)
        line_layer(fmap, text["weights"].format(model=model), "spOther",
                    _weight_features(coverage, density, text, view, lang), precision,
                    show=False)

    if rules:
        _rule_layers(fmap, rules, text, view, lang)

    stations = coverage.stations
    ok = md.existing_stations(stations)
    shut = ok.iloc[0:0]
    if "open_at" in ok.columns:  # --at: stations not open then are drawn apart, greyed
        open_now = ok["open_at"].isin(["open", "assumed_open"]).to_numpy()
        ok, shut = ok[open_now], ok[~open_now]
    station_group = _marker_layer(
        fmap, f"{text['stations']} ({len(ok)})", "sp-station",
        ms.icon(ms.STATION_ICON),
        _station_rows(ok, catchment, text, view, lang), cluster_threshold,
    )
    if len(shut):
        at_label = time_label(((summary.get("hours") or {}).get("at") or {}).get("label", ""),
                              lang)
        _marker_layer(fmap, f"{text['not_open'].format(label=at_label)} ({len(shut)})",
                      "sp-closed", ms.icon(ms.STATION_ICON),
                      _station_rows(shut, catchment, text, view, lang, not_open=True),
                      cluster_threshold)
    n_proposals = 0
    if proposals is not None:
        n_proposals = len(proposals)
        phases["after"].append(_marker_layer(
            fmap, f"{text['proposals']} ({n_proposals})", "sp-proposal", "",
            _proposal_rows(proposals, text, view, lang), cluster_threshold))
    bad = stations[(stations["status"] != "ok") & _has_point(stations)]
    _marker_layer(fmap, f"{text['rejected']} ({len(bad)})", "sp-rejected",
                  ms.icon(ms.REJECTED_ICON),
                  _rejected_rows(bad, text, view, lang), cluster_threshold)
    outline = md.area_outline(area)
    if outline is not None:
        line_layer(fmap, text["area"], "spOutline", _area_features(outline, view), precision,
                    interactive=False)

    if len(ok):
        fmap.add_child(MapCall(mapjs.SEARCH, fmap, station_group, _search_keys(ok),
                             {"placeholder": text["search"], "notFound": text["not_found"]}))
    folium.LayerControl(collapsed=False).add_to(fmap)
    # today's share from the coverage the today layers draw (the same exact figure as
    # plan_summary's coverage_before), else from the plan summary
    share_before = None
    if before is not None:
        share_before = before.covered_m / max(before.demand_m, 1e-9)
    elif plan_summary is not None and plan_summary.get("coverage_before") is not None:
        share_before = float(plan_summary["coverage_before"])
    panel = _panel_html(coverage, summary, len(ok) + len(shut), proposals, plan_summary,
                        share_before, text, lang, gcj02=gcj, edges=edges,
                        show_area=outline is not None,
                        show_other=len(other) > 0, show_phases=before is not None,
                        show_paired=len(paired) > 0, show_service=not merged,
                        show_closed=len(shut) > 0, show_proposals=n_proposals > 0)
    fmap.add_child(MapCall(mapjs.PANEL, fmap, panel))
    if before is not None:
        fmap.add_child(MapCall(mapjs.PHASES, fmap, phases["before"], phases["after"]))
    bounds = _bounds(coverage, outline, view, envelopes=envelopes)
    if bounds is not None:
        fmap.fit_bounds(bounds)
    inline_assets(root)
    mapjs.number_elements(root)
    today = ", with today's coverage" if before else ""
    if len(shut):  # under --at: the stations open then, as the headline counts them
        log.info("map: %d gap runs, %d existing stations open then and %d not, %d "
                 "proposals%s (%s, %s)", len(gaps), len(ok), len(shut), n_proposals, today,
                 lang, basemap)
    else:
        log.info("map: %d gap runs, %d existing stations, %d proposals%s (%s, %s)",
                 len(gaps), len(ok), n_proposals, today, lang, basemap)
    return fmap


@dataclasses.dataclass(frozen=True)
class StreetLayers:
    """The line layers of a coverage map that need the coverage alone (no gaps), made
    ahead of the map by :func:`street_layers` and drawn by :func:`coverage_map` as they
    are: the covered streets by distance band (``streets``), the streets not counted
    (``other``) and the other carriageways of roads counted once (``paired``), each as
    the map's features and styles (none: two empty lists). ``made_with``: the map's
    options, precision and merging threshold they were made with; ``look``: how the
    map shows that coverage (:class:`_Look`), found once for both."""

    made_with: tuple[MapOptions, int, int]
    look: _Look
    streets: tuple[list, list]
    other: tuple[list, list]
    paired: tuple[list, list]


def street_layers(coverage: Coverage, *, map_options: MapOptions | None = None,
                  precision: int = 6, merged_above: int = MAP_MERGED_ABOVE_PIECES,
                  bands: gpd.GeoDataFrame | None = None) -> StreetLayers:
    """The line layers of :func:`coverage_map` that need the coverage alone, made ahead
    of the map (e.g. in another process while the gaps are found), for its
    ``street_layers``.

    Parameters
    ----------
    coverage
        Result of :func:`~stationplan.compute_coverage`.
    map_options, precision, merged_above, bands
        As for :func:`coverage_map` (the same, or the map makes the layers again).

    Returns
    -------
    StreetLayers
    """
    opts = _map_options(map_options, None, None, None)
    look = _Look.of(coverage, opts, precision=precision, merged_above=merged_above)
    text = section("map", look.lang)
    other, paired = _not_counted(coverage.pieces)
    edges = ms.band_edges(coverage.rule.limit_m)
    return StreetLayers(
        (opts, precision, merged_above), look,
        _street_features(md.distance_bands(coverage, edges) if bands is None else bands,
                         edges, text, look.view, look.lang),
        _other_features(other, text, look.view) if len(other) else ([], []),
        _other_features(paired, text, look.view, paired=True) if len(paired) else ([], []))


def _not_counted(pieces: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The street pieces not counted (status "ignored") and the other carriageways of
    roads counted once ("paired"): their lengths and lines, as the map draws them."""
    drawn = ["length_m", pieces.geometry.name]
    status = pieces["status"]
    return (pieces.loc[(status == "ignored").to_numpy(), drawn],
            pieces.loc[(status == "paired").to_numpy(), drawn])


@dataclasses.dataclass(frozen=True)
class _Look:
    """How a coverage map shows its coverage: the network's envelopes and extent, the
    basemap, the language and the view (:class:`_View`)."""

    envelopes: np.ndarray
    extent: np.ndarray
    basemap: str
    lang: str
    view: _View

    @classmethod
    def of(cls, coverage: Coverage, opts: MapOptions, *, precision: int,
           merged_above: int) -> _Look:
        # each street's envelope, found once: the data's extent and centre, the first view
        envelopes = shapely.bounds(coverage.network.edges.geometry.to_numpy())
        extent = _extent(envelopes)
        basemap = resolve_basemap(opts.basemap, coverage, extent=extent)
        merged = len(coverage.pieces) > merged_above
        view = _View(gcj02=basemap == "gaode", precision=precision,
                     simplify_m=(_screen_pixel_m(coverage, extent=extent) if merged
                                 else md.SIMPLIFY_M), chain=merged)
        return cls(envelopes, extent, basemap, run_lang(opts.lang, coverage), view)


def _coverage_layers(fmap: Any, coverage: Coverage, gaps: gpd.GeoDataFrame,
                     text: Mapping[str, str], lang: str, view: _View, edges: list[float],
                     osm_attr: str | None, *, today: bool, merged: bool = False,
                     bands: gpd.GeoDataFrame | None = None,
                     streets: tuple[list, list] | None = None) -> list[Any]:
    """The service areas, streets by distance band and gaps of one coverage, as layers.

    ``today`` layers (coverage by the existing stations of a plan) are named so, hidden at
    first, and their shapes carry the class ``sp-today`` too. ``merged``: streets merged
    by band only, gaps by line width, no service areas (see :func:`coverage_map`).
    ``bands``: the distance bands of ``coverage`` when already computed; ``streets``: the
    streets' features (:func:`_street_features`) when already made.
    """
    prefix = text["before_prefix"] if today else ""
    km = text_in("unit.km", lang)
    limit = coverage.rule.limit_m
    if streets is None:
        streets = _street_features(md.distance_bands(coverage, edges) if bands is None
                                   else bands, edges, text, view, lang)
    layers = [
        (f"{prefix}{text['streets']} ({coverage.covered_m / 1000:.1f} {km})", "spStreets",
         streets, osm_attr),
        (f"{prefix}{text['gaps']} ({coverage.gap_m / 1000:.1f} {km})", "spGaps",
         (_merged_gap_features if merged else _gap_features)(gaps, limit, text, view, lang),
         osm_attr),
    ]
    if not merged:
        service = md.service_areas(coverage)
        names = _station_names(coverage.stations)
        layers.insert(0, (f"{prefix}{text['service']} ({len(service)})", "spAreas",
                          _service_features(service, names, text, lang, view), None))
    groups = []
    for name, pane, (feats, styles), attribution in layers:
        if today:
            styles = [{**st, "className": f"{st['className']} sp-today"} for st in styles]
        groups.append(line_layer(fmap, name, pane, (feats, styles), view.precision,
                                  attribution=attribution, show=not today))
    return groups


def _rule_layers(fmap: Any, rules: Iterable[tuple[Mapping[str, Any], gpd.GeoDataFrame, float]],
                 text: Mapping[str, str], view: _View, lang: str) -> None:
    """One layer per rule (:mod:`stationplan.rules`): the streets failing it, hidden at
    first, named with the rule, its covered share and its verdict."""
    for entry, gaps, limit in rules:
        name = entry["name_zh"] if lang == "zh" else entry["name_en"]
        verdict = text["rule_pass"] if entry["passed"] else text["rule_fail"]
        label = text["rule_layer"].format(name=name, share=percent_text(entry["covered_share"]),
                                          verdict=verdict)
        line_layer(fmap, label, "spGaps", _gap_features(gaps, limit, text, view, lang),
                    view.precision, show=False)


# --- options ---------------------------------------------------------------------------

def _map_options(given: MapOptions | None, lang: str | None, basemap: str | None,
                 tianditu_key: str | None) -> MapOptions:
    """The map options given as an object or as keywords, checked."""
    loose = MapOptions(lang, basemap, tianditu_key)
    if given is None:
        return loose
    if loose != MapOptions():
        msg = "give map options as map_options=MapOptions(...) or as keywords, not both"
        raise InputError(msg)
    return given


# --- elements --------------------------------------------------------------------------

class MapCall(RawMacroElement):
    """``(function)(args...);`` in the map script: elements by JS name, the rest as JSON."""

    _template = Template("{% macro script(this, kwargs) %}\n{{ this.js() }}\n{% endmacro %}")

    def __init__(self, function: str, *args: Any) -> None:
        super().__init__()
        self._name = "StationplanCall"
        self.function = function
        self.args = args

    def js(self) -> str:
        return f"({self.function})({', '.join(map(self._arg, self.args))});"

    @staticmethod
    def _arg(a: Any) -> str:
        if isinstance(a, Element):
            return a.get_name()
        if isinstance(a, list) and a and all(isinstance(x, Element) for x in a):
            return "[" + ", ".join(x.get_name() for x in a) + "]"
        return script_json(a)


def resolve_basemap(basemap: str | None, coverage: Coverage, *,
                    extent: np.ndarray | None = None) -> str:
    """The basemap to draw: ``basemap``, or for ``None`` the one that fits the data.

    Data inside China (the centre of the network, :func:`~stationplan.chinacrs.in_china`)
    get Gaode, whose Chinese labels and streets are current there; elsewhere OpenStreetMap.
    ``extent``: the network's bounds (:func:`_extent`) when already found.
    """
    if basemap is not None:
        return basemap
    centre = _centre_lonlat(coverage, extent=extent)
    return "gaode" if centre is not None and in_china(*centre) else "osm"


def _extent(envelopes: np.ndarray) -> np.ndarray:
    """[west, south, east, north] of envelopes (``shapely.bounds``), as
    ``GeoSeries.total_bounds`` gives them (NaN when there are none).

    >>> _extent(np.array([[0.0, 1.0, 2.0, 3.0], [np.nan] * 4, [-1.0, 2.0, 1.0, 5.0]]))
    array([-1.,  1.,  2.,  5.])
    """
    if not len(envelopes) or np.isnan(envelopes).all():
        return np.full(4, np.nan)
    return np.array([np.nanmin(envelopes[:, 0]), np.nanmin(envelopes[:, 1]),
                     np.nanmax(envelopes[:, 2]), np.nanmax(envelopes[:, 3])])


def _centre_lonlat(coverage: Coverage, *,
                   extent: np.ndarray | None = None) -> tuple[float, float] | None:
    """The WGS-84 centre of the network's bounding box (``extent``, when already found),
    or None for an empty network."""
    edges = coverage.network.edges
    if edges.empty:
        return None
    extent = edges.total_bounds if extent is None else extent
    box = gpd.GeoSeries([shapely.box(*extent)], crs=edges.crs).to_crs(4326)
    west, south, east, north = box.total_bounds
    if not np.isfinite([west, south, east, north]).all():
        return None
    return (float(west + east) / 2, float(south + north) / 2)


def _gcj_shift(coverage: Coverage, *, extent: np.ndarray | None = None) -> list[float] | None:
    """[lat, lng, dlat, dlng]: the GCJ-02 offset at the data's centre, for WGS-84 tiles."""
    centre = _centre_lonlat(coverage, extent=extent)
    if centre is None:
        return None
    lng, lat = centre
    glng, glat = wgs84_to_gcj02(lng, lat)
    return [round(lat, 6), round(lng, 6), round(float(glat) - lat, 7),
            round(float(glng) - lng, 7)]


def add_basemaps(fmap: Any, basemap: str, key: str | None, text: Mapping[str, str],
                  lang: str, *, shift: list[float] | None) -> None:
    """The basemaps in the layer control, the first one shown, and the no-tiles note.

    On a GCJ-02 map (``basemap`` "gaode") the WGS-84 alternatives, OpenStreetMap and
    Tianditu, move their tiles by ``shift`` (:data:`mapjs.BASEMAPS`).
    """
    layers: list[Any] = []
    moved: list[Any] = []

    def tiles(kind: str, name: str, *, show: bool, overlay: bool = False, url: str = "",
              attr: str = "", max_zoom: int = 18, subdomains: str = "abc") -> None:
        if kind in _TILES:
            url, attr, max_zoom, subdomains = _TILES[kind]
        layer = folium.TileLayer(url, name=name, attr=attr, max_zoom=max_zoom,
                                 max_native_zoom=max_zoom, subdomains=subdomains, show=show,
                                 overlay=overlay, control=True).add_to(fmap)
        layers.append(layer)
        if basemap == "gaode" and not kind.startswith("gaode"):
            moved.append(layer)

    if basemap == "gaode":
        tiles("gaode", text["gaode"], show=True)
        tiles("gaode_satellite", text["gaode_satellite"], show=False)
    tiles("osm", "OpenStreetMap", show=basemap == "osm")
    if basemap != "gaode":
        tiles("carto", text["carto"], show=basemap == "carto")
    if key:
        sub = "01234567"
        label_layer = "cva" if lang == "zh" else "eva"
        tiles("tianditu", text["tianditu"], show=basemap == "tianditu",
              url=_TIANDITU.replace("{layer}", "vec").replace("{key}", key),
              attr=_TIANDITU_ATTR, subdomains=sub)
        tiles("tianditu_labels", text["tianditu_labels"], show=basemap == "tianditu",
              overlay=True, url=_TIANDITU.replace("{layer}", label_layer).replace("{key}", key),
              attr=_TIANDITU_ATTR, subdomains=sub)
    fmap.add_child(MapCall(mapjs.BASEMAPS, fmap, layers, text["no_basemap"], moved or None,
                         shift if moved else None))


def line_layer(fmap: Any, name: str, pane: str, features: tuple[list, list], precision: int,
                *, attribution: str | None = None, interactive: bool = True,
                show: bool = True) -> Any:
    feats, styles = features
    if not interactive:
        styles = [{**s, "interactive": False} for s in styles]
    extra: dict[str, Any] = {"attribution": html.escape(attribution)} if attribution else {}
    group = folium.FeatureGroup(name=layer_name(name), show=show, **extra)
    if feats:
        group.add_child(MapCall(mapjs.GEOJSON, fmap, group, feats, styles, pane, 10**precision))
    group.add_to(fmap)
    return group


def _marker_layer(fmap: Any, name: str, cls: str, inner: str, rows: list[list],
                  threshold: int) -> Any:
    group: folium.plugins.MarkerCluster | folium.FeatureGroup
    if len(rows) > threshold:
        group = folium.plugins.MarkerCluster(
            name=layer_name(name), icon_create_function=mapjs.CLUSTER_ICON,
            showCoverageOnHover=False, chunkedLoading=True, disableClusteringAtZoom=17,
            maxClusterRadius=50,
        )
    else:
        group = folium.FeatureGroup(name=layer_name(name))
    opts = {"cls": cls, "html": inner, "size": _MARKER_PX}
    group.add_child(MapCall(mapjs.MARKERS, group, rows, opts))
    group.add_to(fmap)
    return group


class _View:
    """How geometries become browser coordinates: WGS-84 or GCJ-02, rounded, lines
    simplified to ``simplify_m``."""

    def __init__(self, *, gcj02: bool, precision: int, simplify_m: float = md.SIMPLIFY_M,
                 chain: bool = False) -> None:
        self.gcj02 = gcj02
        self.precision = precision
        self.simplify_m = simplify_m
        self.chain = chain

    def lines(self, frame: gpd.GeoDataFrame, *, simplify: bool = True) -> np.ndarray:
        geoms = md.display_geoms(frame, gcj02=self.gcj02, precision=self.precision,
                                 simplify_m=self.simplify_m if simplify else None)
        if self.chain:  # merged map: long chains through junctions, fewer starts to write
            geoms = np.array([_chained(g) for g in geoms], dtype=object)
        return geoms

    def merged_lines(self, frame: gpd.GeoDataFrame, by: list[str]
                     ) -> tuple[pd.DataFrame, list[dict[str, Any] | None]]:
        """The lines of ``frame`` merged by ``by`` (:func:`~._render.mapdata.merge_lines`,
        chained on a merged map) and encoded as the map draws them
        (:func:`~._render.mapdata.encode_geometries`): the groups and their geometries.

        On a merged map the chains stay arrays of points from the pieces to the page:
        the same points as the chained MultiLineStrings :meth:`lines` draws.
        """
        if not self.chain:
            merged = md.merge_lines(frame, by)
            return merged, md.encode_geometries(self.lines(merged), self.precision)
        groups, paths = md.chained_paths(frame, by)
        crs = frame.crs
        simplify_m = self.simplify_m if crs is not None and crs.is_projected else None
        shown = md.display_paths(paths, crs, gcj02=self.gcj02, precision=self.precision,
                                 simplify_m=simplify_m)
        # GEOS gives a simplified MultiLineString of one line back as a LineString
        alone = (np.bincount(shown.group, minlength=len(groups)) == 1) & bool(simplify_m)
        return groups, md.encode_paths(md.chain_paths(shown), len(groups), self.precision,
                                       alone=alone)

    def points(self, frame: gpd.GeoDataFrame) -> np.ndarray:
        return md.point_lonlat(frame, gcj02=self.gcj02, precision=self.precision)


# --- features --------------------------------------------------------------------------

def esc(value: object) -> str:
    """Escaped text of a cell; missing values become ''.

    Text with bidi controls is isolated (FSI … PDI), so that an unclosed right-to-left
    override cannot reverse what the popup or tooltip shows after it.

    >>> esc(" <b>S1</b> "), esc(float("nan")), esc("a\\u202eb")
    ('&lt;b&gt;S1&lt;/b&gt;', '', '\\u2068a\\u202eb\\u2069')
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NA:
        return ""
    text = html.escape(str(value).strip())
    return isolate_bidi(text)


_GEOM_TYPES = ("LineString", "MultiLineString", "Polygon", "MultiPolygon")


def line_features(geoms: np.ndarray, props: Iterable[tuple[int, str | None, str | None]],
              precision: int) -> list[list]:
    """Rows for mapjs.GEOJSON: [style, geometry type, encoded coordinates, tooltip, popup]."""
    return _feature_rows(md.encode_geometries(geoms, precision), props)


def _feature_rows(encoded: list[dict[str, Any] | None],
                  props: Iterable[tuple[int, str | None, str | None]]) -> list[list]:
    """Rows for mapjs.GEOJSON of encoded geometries (None: no row)."""
    out = []
    for g, (style, tooltip, popup) in zip(encoded, props, strict=True):
        if g is not None:
            out.append([style, _GEOM_TYPES.index(g["type"]), g["coordinates"], tooltip, popup])
    return out


def _band_label(k: int, edges: list[float], lang: str) -> str:
    """The label of distance band ``k``: "0–100 m" / "0–100 米"."""
    lo = 0.0 if k == 0 else edges[k - 1]
    return f"{lo:.0f}–{edges[k]:.0f} {text_in('unit.m', lang)}"


def _street_features(bands: gpd.GeoDataFrame, edges: list[float], text: Mapping[str, str],
                     view: _View, lang: str) -> tuple[list, list]:
    """The covered streets (:func:`~._render.mapdata.distance_bands`) merged by band and
    street name, or by band only on a merged map."""
    styles = [{"color": c, "weight": ms.STREET_WEIGHT, "opacity": 0.9, "lineCap": "round",
               "className": "sp-covered"} for c in ms.BAND_COLOURS[:len(edges)]]
    lines, encoded = view.merged_lines(bands, ["band"] if view.chain else ["band", "name"])
    if lines.empty:
        return [], styles
    sep = text_in("sep.label", lang)
    props = [
        (int(b), f"{esc(name) or text['unnamed']}{sep}{_band_label(int(b), edges, lang)}"
         if "name" in lines else f"{text['streets']}{sep}{_band_label(int(b), edges, lang)}",
         None)
        for b, name in zip(lines["band"], lines.get("name", lines["band"]), strict=True)
    ]
    return _feature_rows(encoded, props), styles


def _other_features(other: gpd.GeoDataFrame, text: Mapping[str, str],
                    view: _View, *, paired: bool = False) -> tuple[list, list]:
    """Streets not counted, or (``paired``) other carriageways of roads counted once."""
    style = {"color": ms.OTHER_COLOUR, "weight": 1.5, "opacity": 0.8, "className": "sp-other"}
    if paired:
        style = {**style, "dashArray": "2 4", "className": "sp-paired"}
    _, encoded = view.merged_lines(other.assign(layer=0), ["layer"])
    legend = text["paired_legend" if paired else "other_legend"]
    return _feature_rows(encoded, [(0, legend, None)]), [style]


# Demand-weight bands: a quarter of the largest density each, light to dark.
_WEIGHT_COLOURS = ("#e0d4f5", "#b39ddb", "#7e57c2", "#4527a0")


def _weight_features(coverage: Coverage, density: Any, text: Mapping[str, str], view: _View,
                     lang: str) -> tuple[list, list]:
    """The demand streets with weight, merged by density band (a quarter of the largest)."""
    styles = [{"color": c, "weight": 4, "opacity": 0.85, "lineCap": "round",
               "className": "sp-weight"} for c in _WEIGHT_COLOURS]
    units = density.units()
    units = units[units["density"] > 0]
    if units.empty:
        return [], styles
    top = float(units["density"].max())
    band = np.minimum((units["density"].to_numpy() / top * 4).astype(int), 3)
    net = coverage.network
    geoms = md.substrings(net.edges.geometry.to_numpy(), units["edge_id"].to_numpy(),
                          units["start_m"].to_numpy(float), units["end_m"].to_numpy(float))
    frame = gpd.GeoDataFrame({"band": band, "length_m": units["end_m"] - units["start_m"]},
                             geometry=geoms, crs=net.crs)
    merged = md.merge_lines(frame, ["band"])
    unit = text["weights_unit"]
    props = [(int(b), f"{text['weights_legend']} {top * b / 4:.3g}–{top * (b + 1) / 4:.3g} "
                      f"{unit}", None) for b in merged["band"]]
    return line_features(view.lines(merged), props, view.precision), styles


def _gap_features(gaps: gpd.GeoDataFrame, limit: float, text: Mapping[str, str], view: _View,
                  lang: str) -> tuple[list, list]:
    """The gap runs: street, cross streets, length, farthest point and its Amap link."""
    weights = sorted({w for _, w in ms.GAP_WEIGHTS})
    styles = [{"color": ms.GAP_COLOUR, "weight": w, "opacity": 0.9, "lineCap": "round",
               "className": "sp-gap"} for w in weights]
    if gaps.empty:
        return [], styles
    props = []
    sep = text_in("sep.label", lang)
    for g in gaps.drop(columns="geometry").to_dict("records"):
        title = f"{text['gap_label']} #{int(g['gap_id'])}"
        label = f"{title}{sep}{ms.fmt_m(g['length_m'], lang)}"
        # each name isolated on its own (esc), so one name's override cannot reverse the next
        names = {k: isolate_bidi(plain_text(g[k])) for k in ("street", "from_street", "to_street")}
        where = html.escape(gap_street({**g, **names}, lang))
        farthest = ms.fmt_farthest(g["farthest_m"], g["farthest_more_than_m"], lang)
        popup = (f'<div class="sp-popup"><b class="sp-name">{label}</b><table>'
                 f"<tr><th>{text['gap_street']}</th><td>{where}</td></tr>"
                 f"<tr><th>{text['gap_length']}</th><td>{ms.fmt_m(g['length_m'], lang)}</td></tr>"
                 f"<tr><th>{text['farthest']}</th><td>{farthest}</td></tr></table>"
                 f"{_amap_anchor(str(g['amap_url']), text)}"
                 "</div>")
        props.append((weights.index(ms.gap_weight(g["length_m"], limit)),
                      f"{label} · {where}", popup))
    return line_features(view.lines(gaps), props, view.precision), styles


def _merged_gap_features(gaps: gpd.GeoDataFrame, limit: float, text: Mapping[str, str],
                         view: _View, lang: str) -> tuple[list, list]:
    """The gap runs merged by line width (longer runs wider): one line per width, no
    popups (a map above :data:`~stationplan._options.MAP_MERGED_ABOVE_PIECES` pieces)."""
    weights = sorted({w for _, w in ms.GAP_WEIGHTS})
    styles = [{"color": ms.GAP_COLOUR, "weight": w, "opacity": 0.9, "lineCap": "round",
               "className": "sp-gap"} for w in weights]
    if gaps.empty:
        return [], styles
    width = np.searchsorted(weights, ms.gap_weights(gaps["length_m"].to_numpy(float), limit))
    lines, encoded = view.merged_lines(gaps[["length_m", "geometry"]].assign(width=width),
                                       ["width"])
    props = [(int(w), f"{text['gaps']} · {ms.fmt_m(m, lang)}", None)
             for w, m in zip(lines["width"], lines["length_m"], strict=True)]
    return _feature_rows(encoded, props), styles


def _chained(geom: Any) -> Any:
    """The lines of ``geom`` joined into long chains (:func:`~._render.mapdata.chain_lines`).

    >>> g = shapely.MultiLineString([[(0, 0), (1, 0)], [(1, 0), (1, 1)], [(1, 0), (2, 0)],
    ...                              [(1, -1), (1, 0)]])
    >>> c = _chained(g)
    >>> len(shapely.get_parts(c)), c.length == g.length
    (2, True)
    """
    parts = shapely.get_parts(geom)
    if len(parts) < 2:
        return geom
    return md.chain_lines(parts, np.zeros(len(parts), dtype=np.int64))[0]


def _screen_pixel_m(coverage: Coverage, *, extent: np.ndarray | None = None) -> float:
    """About a screen pixel at the map's first zoom, in metres: the larger side of the
    network's extent (``extent``, when already found) over 1,024 (the map opens fitted to
    it), at least 1 m."""
    west, south, east, north = (coverage.network.edges.total_bounds if extent is None
                                else extent)
    return max(float(max(east - west, north - south)) / 1024, md.SIMPLIFY_M)


def _gap_area_features(areas: gpd.GeoDataFrame, text: Mapping[str, str], view: _View,
                       lang: str) -> tuple[list, list]:
    """The gap areas (touching gap runs), a wide pale band under the runs."""
    styles = [{"color": ms.GAP_COLOUR, "weight": 14, "opacity": 0.25, "lineCap": "round",
               "className": "sp-gap-area"}]
    if areas.empty:
        return [], styles
    props = []
    sep = text_in("sep.label", lang)
    for a in areas.drop(columns="geometry").to_dict("records"):
        label = f"{text['gap_area']} #{int(a['area_id'])}{sep}{ms.fmt_m(a['length_m'], lang)}"
        streets = "; ".join(esc(n) for n in str(a["streets"]).split("; ")) if esc(
            a["streets"]) else ""
        farthest = ms.fmt_farthest(a["farthest_m"], a["farthest_more_than_m"], lang)
        popup = (f'<div class="sp-popup"><b class="sp-name">{label}</b><table>'
                 f"<tr><th>{text['gap_runs']}</th><td>{int(a['runs'])}</td></tr>"
                 + (f"<tr><th>{text['streets_in_gap']}</th><td>{streets}</td></tr>"
                    if streets else "")
                 + f"<tr><th>{text['farthest']}</th><td>{farthest}</td></tr></table></div>")
        props.append((0, label + (f" · {streets}" if streets else ""), popup))
    return line_features(view.lines(areas), props, view.precision), styles


def _service_features(areas: gpd.GeoDataFrame, names: dict[Any, str], text: Mapping[str, str],
                      lang: str, view: _View) -> tuple[list, list]:
    # Fill only: outlining polygons with hundreds of holes (city blocks) slows every zoom
    # step of a 1,000-station city by a third, and the soft fill reads well without it.
    styles = [{"stroke": False, "fillOpacity": 0.15, "fillColor": ms.SERVICE_COLOUR,
               "className": "sp-service"}]
    if areas.empty:
        return [], styles
    props = [(0, f"{text['service_of']} {names.get(sid, esc(sid))} · {ms.fmt_m(c, lang)}",
              None)
             for sid, c in zip(areas["station_id"], areas["catchment_m"], strict=True)]
    return line_features(view.lines(areas, simplify=False), props, view.precision), styles


def _area_features(outline: gpd.GeoSeries, view: _View) -> tuple[list, list]:
    styles = [{"color": ms.AREA_COLOUR, "weight": 2, "opacity": 0.8, "dashArray": "6 6",
               "fill": False, "className": "sp-area"}]
    geoms = md.display_geoms(outline, gcj02=view.gcj02, precision=view.precision)
    return line_features(geoms, [(0, None, None)], view.precision), styles


def _has_point(frame: gpd.GeoDataFrame) -> pd.Series:
    geom = frame.geometry
    return geom.notna() & ~geom.is_empty


# --- markers ---------------------------------------------------------------------------

def _station_names(stations: gpd.GeoDataFrame) -> dict[Any, str]:
    return {sid: esc(name) or esc(sid)
            for sid, name in zip(stations["station_id"], stations["name"], strict=True)}


def _catchments(coverage: Coverage) -> dict[Any, float]:
    p = coverage.pieces
    cov = p.loc[(p["status"] == "covered").to_numpy(), ["station_id", "length_m"]]
    return cov.groupby("station_id")["length_m"].sum().to_dict()


def _amap_link(lng: float, lat: float, name: str) -> str:
    """Amap marker link at a WGS-84 point (Amap converts with ``coordinate=wgs84``)."""
    return amap_marker_url(lng, lat, name=name)


def _amap_anchor(link: str, text: Mapping[str, str]) -> str:
    return (f'<a href="{html.escape(link)}" target="_blank" rel="noopener noreferrer">'
            f'{ms.icon(ms.AMAP_ICON)} {text["amap"]}</a>')


def _services_html(value: object, lang: str) -> str:
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    elif esc(value):
        items = _SERVICE_SPLIT.split(str(value))
    else:
        items = []
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        icon = ms.SERVICE_ICONS.get(item)
        icon, label = (icon, text_in(f"map_service.{item}", lang)) if icon else (
            ms.OTHER_SERVICE_ICON, item)
        out.append(f'<span class="sp-svc">{ms.icon(icon)} {html.escape(label)}</span>')
    return "".join(out)


def _popup(title: str, rows: list[tuple[str, str]], link: str | None,
           text: Mapping[str, str]) -> str:
    cells = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    anchor = _amap_anchor(link, text) if link else ""
    return (f'<div class="sp-popup"><b class="sp-name">{title}</b><table>{cells}</table>'
            f"{anchor}</div>")


def _cell(frame: pd.DataFrame, column: str) -> list[Any]:
    return frame[column].tolist() if column in frame.columns else [None] * len(frame)


def _station_rows(ok: gpd.GeoDataFrame, catchment: dict[Any, float], text: Mapping[str, str],
                  view: _View, lang: str, *, not_open: bool = False) -> list[list]:
    if ok.empty:
        return []
    shown = view.points(ok)
    wgs = md.point_lonlat(ok, gcj02=False, precision=6)
    rows = []
    for i, (sid, name, address, services, hours, phone, snap) in enumerate(zip(
            ok["station_id"], ok["name"], _cell(ok, "address"), _cell(ok, "services"),
            _cell(ok, "hours"), _cell(ok, "phone"), _cell(ok, "snap_dist_m"), strict=True)):
        title = esc(name) or esc(sid)
        snap_m = float(snap) if snap is not None and not pd.isna(snap) else math.nan
        state = ([(text["at_state"], text[f"at_{ok['open_at'].iloc[i]}"])] if not_open
                 else [])
        popup = _popup(
            f"{ms.icon(ms.STATION_ICON)} {title}",
            [*state,
             (text["address"], esc(address)), (text["services"], _services_html(services, lang)),
             (text["hours"], esc(hours)), (text["phone"], esc(phone)),
             (text["snap"], "" if math.isnan(snap_m) else ms.fmt_m(snap_m, lang)),
             (text["catchment"], ms.fmt_m(catchment.get(sid, 0.0), lang))],
            _amap_link(wgs[i, 0], wgs[i, 1], str(name if esc(name) else sid)), text,
        )
        key = f"closed-{i}" if not_open else f"station-{i}"
        rows.append([shown[i, 1], shown[i, 0], title, popup, key, None, 0])
    return rows


def _proposal_rows(proposals: gpd.GeoDataFrame, text: Mapping[str, str], view: _View,
                   lang: str) -> list[list]:
    if proposals.empty:
        return []
    if proposals.crs is None:
        msg = "proposals have no CRS; set it before drawing them"
        raise InputError(msg)
    frame = proposals.sort_values("rank", kind="stable") if "rank" in proposals else proposals
    frame = frame[_has_point(frame)]
    shown = view.points(frame)
    wgs = md.point_lonlat(frame, gcj02=False, precision=6)
    n = len(frame)
    rows = []
    for i, (rank, cid, name, kind, host, marginal, share, street, address, near) in enumerate(
            zip(_cell(frame, "rank"), _cell(frame, "candidate_id"), _cell(frame, "name"),
                _cell(frame, "kind"), _cell(frame, "host_tag"), _cell(frame, "marginal_m"),
                _cell(frame, "cumulative_share"), _cell(frame, "street"),
                _cell(frame, "address"), _cell(frame, "near"), strict=True)):
        number = int(rank) if rank is not None and not pd.isna(rank) else i + 1
        # a street position has no name: its street says where it is
        title = f"#{number} {esc(name) or esc(street) or esc(cid)}".strip()
        gain = "" if marginal is None or pd.isna(marginal) else (
            f"+{ms.fmt_m(float(marginal), lang)} {text['marginal_unit']}")
        cum = "" if share is None or pd.isna(share) else percent_text(float(share))
        popup = _popup(
            title,
            [(text["rank"], str(number)), (text["street"], esc(street)),
             (text["address"], esc(address)), (text["near"], esc(near)),
             (text["marginal"], gain), (text["cumulative"], cum),
             (text["host"], esc(host)), (text["kind"], esc(kind))],
            _amap_link(wgs[i, 0], wgs[i, 1], str(name) if esc(name) else
                       f"#{number} {plain_text(street).strip()}".strip()), text,
        )
        rows.append([shown[i, 1], shown[i, 0], title, popup, f"proposal-{number}",
                     str(number), 1000 + 10 * (n - i)])  # rank 1 drawn on top
    return rows


def _rejected_rows(bad: gpd.GeoDataFrame, text: Mapping[str, str], view: _View,
                   lang: str) -> list[list]:
    if bad.empty:
        return []
    shown = view.points(bad)
    rows = []
    for i, (sid, name, status, reason, snap) in enumerate(zip(
            bad["station_id"], bad["name"], bad["status"], _cell(bad, "reason"),
            _cell(bad, "snap_dist_m"), strict=True)):
        title = esc(name) or esc(sid)
        snap_m = float(snap) if snap is not None and not pd.isna(snap) else math.nan
        popup = _popup(
            f"{ms.icon(ms.REJECTED_ICON)} {title}",
            [(text["status"], esc(station_status_text(status, lang))),
             (text["reason"], esc(station_reason_text(reason, lang))),
             (text["snap"], "" if math.isnan(snap_m) else ms.fmt_m(snap_m, lang))],
            None, text,
        )
        rows.append([shown[i, 1], shown[i, 0], title, popup, f"rejected-{i}", None, -1000])
    return rows


def _search_keys(ok: gpd.GeoDataFrame) -> list[list]:
    """Search entries [text, marker index]; repeated names get their station id added.

    The text is the name on one line: runs of whitespace and control characters become
    one space.

    >>> frame = pd.DataFrame({"name": ["a\\r\\nb\\x00c", None, "\\x01"], "station_id": [1, 2, 3]})
    >>> _search_keys(frame)
    [['a b c', 0], ['2', 1], ['3', 2]]
    """
    names = [(_SEARCH_BLANKS.sub(" ", str(n)).strip() if esc(n) else "") or str(s)
             for n, s in zip(ok["name"], ok["station_id"], strict=True)]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [[n if seen[n] == 1 else f"{n} ({sid})", i]
            for i, (n, sid) in enumerate(zip(names, ok["station_id"], strict=True))]


# --- panel -----------------------------------------------------------------------------

def _swatch(style: str) -> str:
    return f'<span class="sp-sw" style="{style}"></span>'


def _panel_html(coverage: Coverage, summary: dict[str, Any], n_existing: int, proposals: Any,
                plan: Mapping[str, Any] | None, share_before: float | None,
                text: Mapping[str, str], lang: str, *, gcj02: bool, edges: list[float],
                show_area: bool, show_other: bool, show_phases: bool,
                show_paired: bool = False, show_service: bool = True,
                show_closed: bool = False, show_proposals: bool = True) -> str:
    zh = lang == "zh"
    # summary.json's covered_share: the coverage the map draws (plan_summary's
    # coverage_after is the same exact figure)
    after = float(summary.get("covered_share", 0.0))
    total_km = float(summary.get("total_m", 0.0)) / 1000
    covered_km = float(summary.get("covered_m", 0.0)) / 1000
    gap_km = float(summary.get("gap_m", 0.0)) / 1000
    n_runs = int(summary.get("gap_runs", 0))
    rejected = int(summary.get("stations_rejected", 0))
    rule = coverage.rule
    mode = ms.mode_words(coverage.network.mode.name, lang)
    limit = ms.fmt_m(rule.limit_m, lang)
    parts = []
    if rule.radius_m is not None:
        parts.append(ms.fmt_m(rule.radius_m, lang))
    if rule.max_minutes is not None:
        parts.append(f"{rule.max_minutes:g} {text['time']} {rule.speed_kmh:g} km/h")
    binding = text.get(f"binding_{rule.binding}", rule.binding)
    if zh:
        lines = [
            f"{text['covered']} {covered_km:.1f} 公里，{text['of']} {total_km:.1f} 公里",
            f"{text['gap']} {gap_km:.1f} 公里（{n_runs} {text['clusters']}）",
            f"{n_existing} {text['existing_n']}"
            + (f"，{rejected} {text['rejected_n']}" if rejected else ""),
            f"{text['rule']}：{mode}{text['distance']} {limit} 以内"
            f"（{'，或 '.join(parts)}；{text['binding']}：{binding}）",
        ]
    else:
        lines = [
            f"{covered_km:.1f} km {text['covered']} {text['of']} {total_km:.1f} km",
            f"{gap_km:.1f} km {text['gap']} in {n_runs} {text['clusters']}",
            f"{n_existing} {text['existing_n']}"
            + (f", {rejected} {text['rejected_n']}" if rejected else ""),
            f"{text['rule']}: within {limit} of {text['distance']} {mode} "
            f"({' or '.join(parts)}; {text['binding']}: {binding})",
        ]
    at = (summary.get("hours") or {}).get("at")
    if at:  # --at: the figures are those of the stations open then
        lines.insert(0, html.escape(ms.at_time_text(at, lang)))
    if rule.cover > 1:  # K-fold coverage: covered means reached by at least K stations
        lines[-1] += (f"；须至少 {rule.cover} 个站点可达（交叉覆盖）" if zh
                     else f"; by at least {rule.cover} stations (cross-coverage)")
    n_new = len(proposals) if proposals is not None else 0
    if plan is not None and plan.get("new_sites") is not None:
        n_new = int(plan["new_sites"])
    if proposals is not None or plan is not None:
        line = f"{n_new} {text['proposals_n']}"
        if plan is None and proposals is not None and "cumulative_share" in proposals \
                and proposals["cumulative_share"].notna().any():
            # drawn over today's coverage: the share once they are built, from the proposals
            with_all = percent_text(float(proposals["cumulative_share"].max()))
            line += (f"（{text['with_proposals']} {with_all}）" if zh
                     else f" ({with_all} {text['with_proposals']})")
        lines.insert(3, line)
    if plan is not None:
        certificate = plan_certificate(plan, lang)
        shortfall = plan_shortfall(plan, lang)
        lines += [f'<span class="sp-cert">{html.escape(certificate)}</span>'] if certificate \
            else []
        lines += [f'<span class="sp-short">{html.escape(shortfall)}</span>'] if shortfall else []
    today = "" if share_before is None else (
        f"（{text['today']} {percent_text(share_before)}）" if zh
        else f" ({percent_text(share_before)} {text['today']})")
    big = (f'<div class="sp-big">{text["coverage"]} {percent_text(after)}'
           f'<span class="sp-today-share">{today}</span></div>' if zh else
           f'<div class="sp-big">{percent_text(after)} {text["covered"]}'
           f'<span class="sp-today-share">{today}</span></div>')
    if show_phases:
        big += (f'<div class="sp-phases">{text["phase"]}{text_in("sep.label", lang)}'
                f'<label><input type="radio" name="sp-phase" value="before"> '
                f'{text["phase_before"]}</label> '
                f'<label><input type="radio" name="sp-phase" value="after" checked> '
                f'{text["phase_after"]}</label></div>')
    legend = [f"<h4>{text['band_title']}</h4><table>"]
    for k, colour in enumerate(ms.BAND_COLOURS[:len(edges)]):
        legend.append(f"<tr><td>{_swatch(f'height:{ms.STREET_WEIGHT}px;background:{colour}')}"
                      f"</td><td>{_band_label(k, edges, lang)}</td></tr>")
    legend.append(f"</table><h4>{text['gap_title']}</h4><table>")
    lim = rule.limit_m
    bounds = [0.0, *[f * lim for f, _ in ms.GAP_WEIGHTS[:-1]]]
    for (_, weight), lo, hi in zip(ms.GAP_WEIGHTS, bounds, [*bounds[1:], None], strict=True):
        # the first band (lo == 0) has an upper bound
        span = (f"&lt; {ms.fmt_m(hi, lang)}" if lo == 0 else  # type: ignore[arg-type]
                f"≥ {ms.fmt_m(lo, lang)}" if hi is None else
                f"{ms.fmt_m(lo, lang)} – {ms.fmt_m(hi, lang)}")
        legend.append(f"<tr><td>{_swatch(f'height:{weight}px;background:{ms.GAP_COLOUR}')}"
                      f"</td><td>{span}</td></tr>")
    legend.append("</table><table>")
    if show_service:  # not on a merged map (see coverage_map)
        legend.append(
            f"<tr><td>{_swatch(f'height:12px;background:{ms.SERVICE_COLOUR};opacity:.3')}"
            f"</td><td>{text['service_legend']}</td></tr>")
    for cls, inner, label in (
        ("sp-station", ms.icon(ms.STATION_ICON), text["station_legend"]),
        # only the markers the map draws (a check map's proposals have their own legend)
        *([("sp-proposal", "1", text["proposal_legend"])] if show_proposals else []),
        ("sp-rejected", ms.icon(ms.REJECTED_ICON), text["rejected_legend"]),
        *([("sp-closed", ms.icon(ms.STATION_ICON), text["closed_legend"])] if show_closed
          else []),
    ):
        legend.append(f'<tr><td><span class="sp-marker sp-dot {cls}">{inner}</span></td>'
                      f"<td>{label}</td></tr>")
    if show_other:
        legend.append(f"<tr><td>{_swatch(f'height:2px;background:{ms.OTHER_COLOUR}')}"
                      f"</td><td>{text['other_legend']}</td></tr>")
    if show_paired:
        legend.append(f"<tr><td>{_swatch(f'height:0;border-top:2px dotted {ms.OTHER_COLOUR}')}"
                      f"</td><td>{text['paired_legend']}</td></tr>")
    if show_area:
        legend.append(f"<tr><td>{_swatch(f'height:0;border-top:2px dashed {ms.AREA_COLOUR}')}"
                      f"</td><td>{text['area_legend']}</td></tr>")
    legend.append("</table>")
    if gcj02:
        legend.append(f"<div><i>{text['gcj_note']}</i></div>")
    body = "".join(f"<div>{line}</div>" for line in lines)
    return (f"<details open><summary>{text['title']}</summary>"
            f"{_warnings_html(summary, lang)}{big}{body}{''.join(legend)}</details>")


def _warnings_html(summary: Mapping[str, Any], lang: str) -> str:
    """The run's warnings (``summary["warnings"]``) at the top of the panel, in ``lang``.

    >>> _warnings_html({"warnings": [{"code": "c", "en": "a <b>", "zh": "甲"}]}, "en")
    '<div class="sp-warning" role="alert" style="color:#b30000;font-weight:bold">⚠ \
Warning: a &lt;b&gt;</div>'
    >>> _warnings_html({}, "zh")
    ''
    """
    label = text_in("warning.title", lang) + text_in("sep.label", lang)
    return "".join(
        '<div class="sp-warning" role="alert" style="color:#b30000;font-weight:bold">'
        f"⚠ {html.escape(label)}{esc(w.get(lang) or w.get('en', ''))}</div>"
        for w in summary.get("warnings") or [])


def _hull_points(xy: np.ndarray) -> np.ndarray:
    """The points of ``xy`` on its convex hull (all of them when they span no area).

    >>> _hull_points(np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0], [1.0, 3.0], [0.0, 2.0]]))
    array([[0., 0.],
           [2., 0.],
           [1., 3.],
           [0., 2.]])
    """
    from scipy.spatial import ConvexHull, QhullError

    if len(xy) < 3:
        return xy
    try:
        return xy[np.sort(ConvexHull(xy).vertices)]
    except QhullError:  # on one line (or one point): every point
        return xy


def _bounds(coverage: Coverage, outline: gpd.GeoSeries | None, view: _View, *,
            envelopes: np.ndarray | None = None) -> list[list[float]] | None:
    """The map's initial view: the display bounds of the corners of every street's and the
    outline's envelope (as points: no polygon per street is built).

    Only the corners on their convex hull are turned into display coordinates: a linear
    map takes its extremes there, and the projection and GCJ-02 shift are linear to far
    below a metre over a city, so the view is the same to its rounding (0.1 m). The
    corners inside the octagon of the extreme ones are left out before the hull is found
    (:func:`~._render.kernels.hull_candidates`: the same hull). ``envelopes``: the
    streets' envelopes (``shapely.bounds``) when already found.
    """
    from ._render.kernels import hull_candidates

    edges = coverage.network.edges.geometry
    frames = [(edges, shapely.bounds(edges.to_numpy()) if envelopes is None else envelopes)]
    if outline is not None:
        frames.append((outline, shapely.bounds(outline.to_numpy())))
    boxes = []
    for frame, envelope in frames:
        west, south, east, north = envelope.T
        x, y = np.r_[west, east, east, west], np.r_[south, south, north, north]
        near = hull_candidates(x, y)  # empty geometries (NaN envelopes) left out
        xy = md.display_xy(_hull_points(np.column_stack([x[near], y[near]])), frame.crs,
                           gcj02=view.gcj02, precision=6)
        boxes.append([*xy.min(axis=0), *xy.max(axis=0)] if len(xy) else [np.nan] * 4)
    box = np.array(boxes)
    if not np.isfinite(box).all():
        return None
    west, south = box[:, 0].min(), box[:, 1].min()
    east, north = box[:, 2].max(), box[:, 3].max()
    return [[float(south), float(west)], [float(north), float(east)]]
