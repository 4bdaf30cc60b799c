"""Look of the coverage maps: colours, line widths, service icons (words: :mod:`._i18n`).

Shared by the interactive map (:mod:`stationplan.maps`) and the static PNG
(:mod:`stationplan.staticmap`), so both read the same way.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from .._i18n import farthest_text, length_text, section, time_label
from .._i18n import text as text_in

# Distance bands, nearest first: YlGnBu, dark to light, readable on OSM and CartoDB tiles
# and for colour-blind readers; the gap red is far from every band.
BAND_COLOURS = ("#0c2c84", "#225ea8", "#1d91c0", "#41b6c4", "#7fcdbb")
GAP_COLOUR = "#e31a1c"
SERVICE_COLOUR = "#225ea8"
STATION_COLOUR = "#7b1fa2"
PROPOSAL_COLOUR = "#ef6c00"
REJECTED_COLOUR = "#757575"
AREA_COLOUR = "#222222"
OTHER_COLOUR = "#9e9e9e"  # streets that carry paths but are not to be served
STREET_WEIGHT = 3
# A gap run's line width grows with its length, in multiples of the coverage limit.
GAP_WEIGHTS = ((1.0, 3), (4.0, 5), (float("inf"), 7))

STATION_ICON = "hand-holding-heart"
REJECTED_ICON = "ban"
AMAP_ICON = "map-location-dot"

# service key -> Font Awesome 6 icon (solid); the labels are in the zh/en table (map_service.*)
SERVICE_ICONS = MappingProxyType({
    "drinking_water": "glass-water",
    "seating": "couch",
    "phone_charging": "mobile-screen-button",
    "microwave": "bowl-food",
    "toilet": "restroom",
    "air_conditioning": "snowflake",
    "first_aid": "kit-medical",
    "rain_gear": "umbrella",
    "tools": "screwdriver-wrench",
    "pump": "wrench",
    "reading": "book-open",
    "ebike_charging": "charging-station",
    "battery_swap": "car-battery",
    "aed": "heart-pulse",
    "wifi": "wifi",
})
OTHER_SERVICE_ICON = "circle-check"
# Every icon the map pages use: their drawings are inlined once (_render.mapassets).
ICONS = (STATION_ICON, REJECTED_ICON, AMAP_ICON, OTHER_SERVICE_ICON, *SERVICE_ICONS.values())


def icon(name: str) -> str:
    """HTML of a Font Awesome icon drawn by the map's inlined CSS (one of `ICONS`).

    >>> icon("ban")
    '<i class="sp-i sp-i-ban"></i>'
    """
    return f'<i class="sp-i sp-i-{name}"></i>'


def is_osm_source(source: object) -> bool:
    """Tell whether a network source is OpenStreetMap data, which needs attribution.

    >>> is_osm_source("chengdu_center.osm.bz2"), is_osm_source("OSMnx graph")
    (True, False)
    """
    text = str(source).lower()
    return any(s in text for s in (".osm", ".pbf", "openstreetmap", "overpass"))


def band_edges(limit_m: float, n_bands: int = len(BAND_COLOURS)) -> list[float]:
    """Upper edges of the distance bands: ``n_bands`` equal steps up to ``limit_m``.

    >>> band_edges(500)
    [100.0, 200.0, 300.0, 400.0, 500.0]
    >>> band_edges(375, 3)
    [125.0, 250.0, 375.0]
    """
    return [limit_m * (k + 1) / n_bands for k in range(n_bands)]


def gap_weight(length_m: float, limit_m: float) -> int:
    """Line width in pixels of a gap run of ``length_m`` under a ``limit_m`` rule.

    >>> gap_weight(300, 500), gap_weight(1500, 500), gap_weight(2000, 500)
    (3, 5, 7)
    """
    for factor, weight in GAP_WEIGHTS:
        if length_m < factor * limit_m:
            return weight
    return GAP_WEIGHTS[-1][1]  # pragma: no cover - the last factor is infinite


def gap_weights(length_m: np.ndarray, limit_m: float) -> np.ndarray:
    """:func:`gap_weight` of many gap runs at once.

    >>> gap_weights(np.array([300.0, 1500.0, 2000.0, np.nan]), 500)
    array([3, 5, 7, 7])
    """
    length = np.asarray(length_m, dtype=float)
    out = np.full(length.shape, GAP_WEIGHTS[-1][1])
    for factor, weight in reversed(GAP_WEIGHTS):  # the first factor that holds wins
        out = np.where(length < factor * limit_m, weight, out)
    return out


def fmt_m(metres: float, lang: str) -> str:
    """Format a length for people: metres below 1 km, else km with one decimal.

    >>> fmt_m(349.6, "en"), fmt_m(1234, "zh"), fmt_m(float("nan"), "en"), fmt_m(80, "zh")
    ('350 m', '1.2 公里', '–', '80 米')
    """
    if metres != metres:  # NaN
        return "–"
    return length_text(metres, lang)


def fmt_farthest(farthest_m: float, more_than_m: float, lang: str) -> str:
    """How far a gap's farthest point is from a station, as the report's gap table says it
    (:func:`~stationplan._i18n.farthest_text`).

    >>> fmt_farthest(1240.4, float("nan"), "zh"), fmt_farthest(float("nan"), 1500.0, "en")
    ('1,240 米', 'more than 1,500 m')
    """
    return farthest_text(farthest_m, more_than_m, lang)


def mode_words(mode: str, lang: str) -> str:
    """The travel mode in words, e.g. "on foot" / "步行"; unknown modes as given."""
    return section("map", lang).get(f"mode_{mode}", mode)


# Styles of the HTML map; class names start with sp- so they cannot clash with folium's.
CSS = """
.leaflet-container .sp-marker{display:flex;align-items:center;justify-content:center;
 border-radius:50%;border:2px solid #fff;box-shadow:0 1px 4px rgba(0,0,0,.45);color:#fff;
 font:bold 12px/1 system-ui,sans-serif;box-sizing:border-box}
.sp-station{background:@station@;font-size:14px}
.sp-proposal{background:@proposal@}
.sp-rejected{background:@rejected@;opacity:.85}
.leaflet-container .sp-marker.sp-closed{background:#fff;color:@station@;
 border-color:@station@;opacity:.85}
.sp-panel{background:rgba(255,255,255,.94);padding:6px 10px;border-radius:6px;max-width:290px;
 max-height:calc(100vh - 200px);overflow-y:auto;
 font:12px/1.45 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#222}
.sp-panel summary{font-weight:bold;font-size:14px;cursor:pointer}
.sp-panel table{border-collapse:collapse;margin:2px 0}
.sp-panel td{padding:0 4px 0 0;vertical-align:middle}
.sp-panel .sp-big{font-size:18px;font-weight:bold}
.sp-panel h4{margin:6px 0 2px;font-size:12px}
.sp-panel .sp-today-share{font-size:13px;font-weight:normal}
.sp-panel .sp-phases{margin:2px 0 4px}
.sp-panel .sp-phases label{display:block;cursor:pointer}
.sp-panel .sp-cert{color:#225ea8}
.sp-panel .sp-short{color:#b2182b}
.sp-sw{display:inline-block;width:22px;vertical-align:middle;border-radius:2px}
.leaflet-container .sp-dot{display:inline-flex;width:16px;height:16px;font-size:9px;
 vertical-align:middle}
.sp-popup{font:12px/1.5 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.sp-popup b.sp-name{font-size:14px}
.sp-popup table{border-collapse:collapse;margin:4px 0}
.sp-popup th{text-align:left;font-weight:normal;color:#666;padding:0 8px 0 0;
 vertical-align:top;white-space:nowrap}
.sp-popup td{padding:0}
.sp-svc{display:inline-block;margin:0 6px 0 0;white-space:nowrap}
.sp-svc .sp-i{color:@station@}
.leaflet-container .sp-cluster{background:@station@;color:#fff;border-radius:50%;display:flex;
 align-items:center;justify-content:center;font:bold 12px system-ui,sans-serif;
 border:3px solid rgba(255,255,255,.8);box-shadow:0 1px 4px rgba(0,0,0,.4)}
.folium-map.leaflet-container{background:#f2f1ee}
.sp-nobase{position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:1000;
 background:rgba(255,255,255,.92);color:#444;padding:3px 10px;border-radius:4px;
 box-shadow:0 1px 4px rgba(0,0,0,.3);white-space:nowrap;pointer-events:none;
 font:13px/1.4 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.leaflet-control.sp-search{background:#fff;font:13px/1.4 system-ui,"Noto Sans CJK SC",
 "Microsoft YaHei",sans-serif}
.sp-search-input{width:13em;box-sizing:border-box;border:0;border-radius:4px;padding:5px 8px;
 font:inherit;outline-offset:-2px}
.sp-search-tips{list-style:none;margin:0;padding:0;max-width:13em;max-height:16em;
 overflow-y:auto}
.sp-search-tips li{padding:3px 8px;border-top:1px solid #eee;overflow:hidden;
 text-overflow:ellipsis;white-space:nowrap}
.sp-search-tips .sp-search-tip{cursor:pointer}
.sp-search-tips .sp-search-tip:hover{background:#eef3fb}
.sp-search-tips .sp-search-none{color:#888}
"""
for _token, _colour in (("@station@", STATION_COLOUR), ("@proposal@", PROPOSAL_COLOUR),
                       ("@rejected@", REJECTED_COLOUR)):
    CSS = CSS.replace(_token, _colour)


def at_time_text(at: dict, lang: str) -> str:
    """The line that says which time the figures are for (``summary.json`` ``hours.at``).

    >>> at_time_text({"label": "Wed 03:00", "stations_open": 1, "stations_closed": 10}, "en")
    'At Wed 03:00: 1 of 11 stations open; every figure here is the coverage at that time'
    """
    n_open = int(at.get("stations_open", 0)) + int(at.get("stations_assumed_open", 0))
    n_usable = sum(int(v) for k, v in at.items() if k.startswith("stations_"))
    return text_in("map.at_time", lang, label=time_label(at.get("label", ""), lang),
                   open=n_open, usable=n_usable)
