"""Look and words of the coverage maps: colours, line widths, service icons, zh/en text.

Shared by the interactive map (:mod:`stationplan.maps`) and the static PNG
(:mod:`stationplan.staticmap`), so both read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import TYPE_CHECKING

from ._errors import InputError

if TYPE_CHECKING:
    from .coverage import Coverage

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

STATION_ICON = "fa-hand-holding-heart"
REJECTED_ICON = "fa-ban"

LANGS = ("zh", "en")
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# key -> (Font Awesome 6 icon, English, Chinese)
SERVICE_ICONS = MappingProxyType({
    "drinking_water": ("fa-glass-water", "drinking water", "饮水"),
    "seating": ("fa-couch", "seating", "休息座椅"),
    "phone_charging": ("fa-mobile-screen-button", "phone charging", "手机充电"),
    "microwave": ("fa-bowl-food", "microwave", "微波炉热饭"),
    "toilet": ("fa-restroom", "toilet", "卫生间"),
    "air_conditioning": ("fa-snowflake", "air conditioning", "空调"),
    "first_aid": ("fa-kit-medical", "first-aid kit", "急救药箱"),
    "rain_gear": ("fa-umbrella", "rain gear", "雨具"),
    "tools": ("fa-screwdriver-wrench", "repair tools", "维修工具"),
    "pump": ("fa-wrench", "tyre pump", "打气筒"),
    "reading": ("fa-book-open", "reading", "阅读"),
    "ebike_charging": ("fa-charging-station", "e-bike charging", "电动车充电"),
    "battery_swap": ("fa-car-battery", "battery swap", "换电"),
    "aed": ("fa-heart-pulse", "AED", "AED"),
    "wifi": ("fa-wifi", "Wi-Fi", "无线网络"),
})
OTHER_SERVICE_ICON = "fa-circle-check"

TEXT = MappingProxyType({
    "en": MappingProxyType({
        "title": "Care-station coverage",
        "streets": "Streets by distance to a station",
        "gaps": "Gaps: streets out of reach",
        "service": "Service areas",
        "stations": "Stations",
        "proposals": "Proposed sites",
        "rejected": "Rejected inputs",
        "area": "Planning area",
        "other": "Other streets (not counted)",
        "other_legend": "Street not counted (outside the area or class not served)",
        "covered": "covered",
        "gap": "gap",
        "of": "of",
        "clusters": "runs",
        "stations_used": "stations",
        "rejected_n": "rejected",
        "proposals_n": "proposed sites",
        "with_proposals": "with proposals",
        "rule": "Rule",
        "distance": "network distance",
        "time": "minutes at",
        "binding": "binding",
        "binding_distance": "distance",
        "binding_time": "time",
        "binding_distance and time": "distance and time",
        "band_title": "Distance to the nearest station",
        "gap_title": "Gap (line width: length of the run)",
        "service_legend": "Service area (streets within reach)",
        "station_legend": "Station",
        "proposal_legend": "Proposed site (rank)",
        "rejected_legend": "Rejected input",
        "area_legend": "Planning area",
        "unnamed": "unnamed street",
        "gap_label": "Gap",
        "streets_in_gap": "streets",
        "farthest": "up to",
        "from_station": "from a station",
        "beyond": "beyond reach of every station",
        "address": "Address",
        "services": "Services",
        "hours": "Hours",
        "phone": "Phone",
        "snap": "Distance to street",
        "catchment": "Streets served",
        "amap": "Open in Amap",
        "reason": "Why not used",
        "status": "Status",
        "rank": "Rank",
        "marginal": "Adds",
        "marginal_unit": "of covered street",
        "cumulative": "Coverage after it",
        "host": "Host",
        "kind": "Kind",
        "search": "Search stations",
        "not_found": "Not found",
        "service_of": "Service area of",
        "osm": "Street data © OpenStreetMap contributors",
        "mode_walk": "on foot",
        "mode_bike": "by bike",
        "mode_ebike": "by e-bike",
        "carto": "CartoDB light",
        "tianditu": "Tianditu",
        "tianditu_labels": "Tianditu labels",
        "gaode": "Gaode (GCJ-02)",
        "gaode_satellite": "Gaode satellite (GCJ-02)",
        "gcj_note": "All layers shifted to GCJ-02 to match the Gaode tiles.",
    }),
    "zh": MappingProxyType({
        "title": "爱心驿站覆盖",
        "streets": "街道（按到最近驿站的距离）",
        "gaps": "覆盖空白街道",
        "service": "服务范围",
        "stations": "现有驿站",
        "proposals": "拟建站点",
        "rejected": "未采用的输入",
        "area": "规划范围",
        "other": "其他街道（不计入）",
        "other_legend": "不计入的街道（规划范围外或不需服务的道路）",
        "covered": "已覆盖",
        "gap": "未覆盖",
        "of": "共",
        "clusters": "段",
        "stations_used": "个驿站",
        "rejected_n": "条未采用",
        "proposals_n": "个拟建站点",
        "with_proposals": "建成后",
        "rule": "标准",
        "distance": "路网距离",
        "time": "分钟，速度",
        "binding": "起作用的限制",
        "binding_distance": "距离",
        "binding_time": "时间",
        "binding_distance and time": "距离与时间",
        "band_title": "到最近驿站的距离",
        "gap_title": "覆盖空白（线宽表示空白段长度）",
        "service_legend": "服务范围（可达的街道）",
        "station_legend": "驿站",
        "proposal_legend": "拟建站点（序号）",
        "rejected_legend": "未采用的输入",
        "area_legend": "规划范围",
        "unnamed": "无名道路",
        "gap_label": "空白",
        "streets_in_gap": "街道",
        "farthest": "最远",
        "from_station": "到驿站",
        "beyond": "超出所有驿站的服务距离",
        "address": "地址",
        "services": "服务",
        "hours": "开放时间",
        "phone": "电话",
        "snap": "距街道",
        "catchment": "服务街道长度",
        "amap": "在高德地图中打开",
        "reason": "未采用原因",
        "status": "状态",
        "rank": "序号",
        "marginal": "新增覆盖",
        "marginal_unit": "街道",
        "cumulative": "建成后覆盖率",
        "host": "依托商户",
        "kind": "类型",
        "search": "搜索驿站",
        "not_found": "未找到",
        "service_of": "服务范围：",
        "osm": "街道数据 © OpenStreetMap 贡献者",
        "mode_walk": "步行",
        "mode_bike": "骑自行车",
        "mode_ebike": "骑电动车",
        "carto": "CartoDB 浅色",
        "tianditu": "天地图",
        "tianditu_labels": "天地图注记",
        "gaode": "高德地图（GCJ-02）",
        "gaode_satellite": "高德卫星图（GCJ-02）",
        "gcj_note": "为与高德底图对齐，所有图层已转换为 GCJ-02 坐标。",
    }),
})


def has_cjk(text: str) -> bool:
    """Tell whether ``text`` holds a Chinese (CJK) character.

    >>> has_cjk("人民北路"), has_cjk("Lönnrotinkatu"), has_cjk("")
    (True, False, False)
    """
    return bool(_CJK.search(text))


def detect_lang(texts: Iterable[object]) -> str:
    """Pick "zh" when any of ``texts`` (station and street names) is Chinese, else "en".

    >>> detect_lang(["K Market", None, "人民北路"])
    'zh'
    >>> detect_lang([])
    'en'
    """
    return "zh" if any(isinstance(t, str) and has_cjk(t) for t in texts) else "en"


def resolve_lang(lang: str | None, coverage: Coverage) -> str:
    """Check ``lang``, or pick it from the station and street names when it is None."""
    if lang is None:
        names = [*coverage.stations["name"].tolist(),
                 *coverage.pieces["name"].dropna().unique()[:5000].tolist()]
        return detect_lang(names)
    if lang not in LANGS:
        msg = f"lang {lang!r} is not supported; choose one of {', '.join(LANGS)}"
        raise InputError(msg)
    return lang


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


def fmt_m(metres: float, lang: str) -> str:
    """Format a length for people: metres below 1 km, else km with one decimal.

    >>> fmt_m(349.6, "en"), fmt_m(1234, "zh"), fmt_m(float("nan"), "en")
    ('350 m', '1.2 km', '–')
    """
    if metres != metres:  # NaN
        return "–"
    if abs(metres) < 999.5:
        return f"{metres:.0f} m"
    return f"{metres / 1000:.1f} km"


def mode_words(mode: str, lang: str) -> str:
    """The travel mode in words, e.g. "on foot" / "步行"; unknown modes as given."""
    return TEXT[lang].get(f"mode_{mode}", mode)


# Styles of the HTML map; class names start with sp- so they cannot clash with folium's.
CSS = """
.leaflet-container .sp-marker{display:flex;align-items:center;justify-content:center;
 border-radius:50%;border:2px solid #fff;box-shadow:0 1px 4px rgba(0,0,0,.45);color:#fff;
 font:bold 12px/1 system-ui,sans-serif;box-sizing:border-box}
.sp-station{background:@station@;font-size:14px}
.sp-proposal{background:@proposal@}
.sp-rejected{background:@rejected@;opacity:.85}
.sp-panel{background:rgba(255,255,255,.94);padding:6px 10px;border-radius:6px;max-width:290px;
 font:12px/1.45 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#222}
.sp-panel summary{font-weight:bold;font-size:14px;cursor:pointer}
.sp-panel table{border-collapse:collapse;margin:2px 0}
.sp-panel td{padding:0 4px 0 0;vertical-align:middle}
.sp-panel .sp-big{font-size:18px;font-weight:bold}
.sp-panel h4{margin:6px 0 2px;font-size:12px}
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
.sp-svc i{color:@station@;width:14px;text-align:center}
.leaflet-container .sp-cluster{background:@station@;color:#fff;border-radius:50%;display:flex;
 align-items:center;justify-content:center;font:bold 12px system-ui,sans-serif;
 border:3px solid rgba(255,255,255,.8);box-shadow:0 1px 4px rgba(0,0,0,.4)}
"""
for _token, _colour in (("@station@", STATION_COLOUR), ("@proposal@", PROPOSAL_COLOUR),
                       ("@rejected@", REJECTED_COLOUR)):
    CSS = CSS.replace(_token, _colour)
