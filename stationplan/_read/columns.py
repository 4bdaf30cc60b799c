"""Which column is what: header aliases in English and Chinese, and the header row itself.

Headers are compared after NFKC normalisation (full-width letters, digits and commas
become ASCII), lower-casing and removing spaces. A coordinate header may carry its
coordinate system, ``经度(GCJ-02)``, ``wgs84_lng``, ``高德纬度``, ``bd09_lat``: the tag
is read and removed before the alias is matched, and bracketed notes (``名称(必填)``)
are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import services
from .coords import is_na

LON_ALIASES = ("lon", "lng", "long", "longitude", "经度", "东经", "x", "x坐标", "坐标x",
               "point_x", "pointx")
LAT_ALIASES = ("lat", "latitude", "纬度", "北纬", "y", "y坐标", "坐标y", "point_y", "pointy")
# One column holding both numbers, longitude first (Amap, Tencent) ...
PAIR_ALIASES = ("lng,lat", "lon,lat", "lnglat", "lonlat", "经度,纬度", "经纬度", "坐标",
                "经纬度坐标", "位置坐标", "坐标位置", "location", "coordinates", "coordinate",
                "coords", "x,y", "gps")
# ... or latitude first (Baidu's "lat,lng", Google Maps "copy coordinates").
PAIR_LAT_FIRST = ("lat,lng", "lat,lon", "latlng", "latlon", "纬度,经度", "纬经度", "y,x")
# Headers that match a role equally well, for telling two candidate columns apart: a
# "lon" and a "经度" column are rivals; an "x" column is a weaker match than either (it is
# only used when there is no longitude column) and no rival of them.
_RIVAL_TIERS = (
    frozenset(LON_ALIASES[:6]), frozenset(LON_ALIASES[6:]),
    frozenset(LAT_ALIASES[:4]), frozenset(LAT_ALIASES[4:]),
    frozenset(PAIR_ALIASES), frozenset(PAIR_LAT_FIRST),
)
_REPEATED = re.compile(r"(.+)_(\d+)")

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "station_id": ("station_id", "stationid", "id", "站点编号", "驿站编号", "编号", "站点id",
                   "序号", "no", "no.", "code"),
    "name": ("name", "名称", "站点名称", "驿站名称", "站名", "站点名", "站点", "驿站",
             "服务站名称", "站点全称", "名字", "title", "poi名称", "门店名称"),
    "address": ("address", "addr", "地址", "详细地址", "站点地址", "所在地址", "具体地址",
                "地点", "具体位置", "位置描述"),
    "phone": ("phone", "tel", "telephone", "phonenumber", "contact_phone", "contactphone",
              "电话", "联系电话", "联系方式", "手机", "手机号", "电话号码", "服务电话"),
    "hours": ("hours", "opening_hours", "openinghours", "open_hours", "开放时间", "营业时间",
              "服务时间", "开放时段", "运营时间"),
    "category": ("category", "type", "kind", "类型", "站点类型", "类别", "分类"),
    "host": ("host", "host_shop", "hostshop", "依托商户", "依托单位", "承接商户", "所属商户",
             "承建单位", "商户名称", "运营单位"),
    "input_status": ("status", "状态", "站点状态"),
    "input_reason": ("reason", "说明", "原因"),
}

_TAGS = (
    ("gcj02", re.compile(r"gcj-?0?2|高德|gaode|amap|火星|国测局|腾讯|tencent")),
    ("bd09", re.compile(r"bd-?0?9(ll)?|百度|baidu")),
    ("wgs84", re.compile(r"wgs-?84|cgcs-?2000|cgcs|epsg:?4326|epsg:?4490|天地图|gps")),
)
_BRACKETS = re.compile(r"[(\[【<{].*?[)\]】>}]")
_EDGES = "_-:.·/ "


def norm_header(text: object) -> str:
    """Normalise a header cell for alias matching.

    Examples
    --------
    >>> norm_header("  Ｌｏｎ ") , norm_header("经　度"), norm_header(None)
    ('lon', '经度', '')
    """
    if text is None:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(text)).lower().split())


def split_tag(key: str) -> tuple[str, str | None]:
    """Split a normalised header into its alias part and coordinate-system tag.

    Examples
    --------
    >>> split_tag("经度(gcj-02)"), split_tag("wgs84_lng"), split_tag("高德纬度"), split_tag("lat")
    (('经度', 'gcj02'), ('lng', 'wgs84'), ('纬度', 'gcj02'), ('lat', None))
    >>> split_tag("名称(必填)"), split_tag("gps")
    (('名称', None), ('gps', 'wgs84'))
    """
    tag = None
    base = key
    for name, pattern in _TAGS:
        if pattern.search(key):
            tag = name
            base = pattern.sub("", key)
            break
    base = _BRACKETS.sub("", base).strip(_EDGES)
    return (base or key), tag


_COORDINATE_WORDS = re.compile(r"坐标|经纬度|经度|纬度|coordinat|datum|crs")


def systems_in_note(text: object) -> set[str]:
    """The coordinate systems a free-text note about coordinates names.

    Only a text that speaks of coordinates (``坐标``, ``经纬度``, "coordinates", ...) is
    read; the systems are recognised as in headers (``高德``/``GCJ-02``, ``百度``/``BD-09``,
    ``WGS-84``/``GPS`` ...). A note naming several ("由高德坐标转换为WGS-84") names
    them all, so callers can tell it is not one declaration.

    Examples
    --------
    >>> systems_in_note("注：坐标由高德地图坐标拾取器获取（GCJ-02）")
    {'gcj02'}
    >>> sorted(systems_in_note("坐标已由高德转换为WGS-84")), systems_in_note("高德大厦驿站")
    (['gcj02', 'wgs84'], set())
    """
    key = norm_header(text)
    if not _COORDINATE_WORDS.search(key):
        return set()
    return {name for name, pattern in _TAGS if pattern.search(key)}


@dataclass(frozen=True)
class Columns:
    """Positions of the meaningful columns in a header (``None`` when absent).

    ``rivals`` maps a coordinate column that was picked from its header to the other
    columns whose headers match that role as well (``lon`` and ``经度``, or a repeated
    ``lon``, with the same coordinate-system tag); the reader compares their values.
    """

    names: list[str]
    lon: int | None = None
    lat: int | None = None
    pair: int | None = None
    pair_lat_first: bool = False
    tag: str | None = None
    fields: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    lists: list[int] = field(default_factory=list)
    rivals: dict[int, list[int]] = field(default_factory=dict)

    @property
    def has_coordinates(self) -> bool:
        """Whether longitude and latitude columns (or one pair column) were found."""
        return self.pair is not None or (self.lon is not None and self.lat is not None)

    def coordinate_label(self) -> str:
        """How the coordinate columns are named, for messages."""
        if self.pair is not None:
            return f"'{self.names[self.pair]}'"
        assert self.lon is not None and self.lat is not None  # no pair: two columns
        return f"'{self.names[self.lon]}'/'{self.names[self.lat]}'"


# A note or total written into the sheet under or above the table: its only text is in
# one (often merged) cell and starts with one of these words.
NOTE_PREFIXES = ("注", "备注", "说明", "合计", "总计", "填报", "制表", "审核")


def note_row(cells: Sequence[Any]) -> bool:
    """Whether a sheet row is a note or total, not a station: one cell of text starting
    with 注, 备注, 说明, 合计, 总计, 填报, 制表 or 审核, every other cell empty.

    Examples
    --------
    >>> note_row(["注：坐标由高德地图坐标拾取器获取（GCJ-02）", None, None])
    True
    >>> note_row(["合计 11 个", None]), note_row([None, " 填报人：王", "", "#N/A"])
    (True, True)
    >>> note_row(["说明书店驿站", "114.2", "28.3"]), note_row(["注意安全"]), note_row([])
    (False, True, False)
    """
    filled = [cell for cell in cells if not is_na(cell)]
    if len(filled) != 1 or not isinstance(filled[0], str):
        return False
    text = unicodedata.normalize("NFKC", filled[0]).strip()
    return text.startswith(NOTE_PREFIXES)


def header_names(cells: Sequence[Any]) -> list[str]:
    """Header texts, blank ones kept as ``""`` and repeated ones numbered (``备注_2``)."""
    names: list[str] = []
    for cell in cells:
        text = "" if is_na(cell) and not isinstance(cell, str) else str(cell).strip()
        if text and text in names:
            k = 2
            while f"{text}_{k}" in names:
                k += 1
            text = f"{text}_{k}"
        names.append(text)
    return names


def _override(names: list[str], keys: list[str], wanted: str | None, option: str) -> int | None:
    if wanted is None:
        return None
    key = norm_header(wanted)
    for i, k in enumerate(keys):
        if k == key:
            return i
    shown = [n for n in names if n]
    msg = f"{option}={wanted!r} is not a column of the header {shown}"
    raise KeyError(msg)


def _pick(candidates: list[tuple[int, str | None]], order: Sequence[str | None]
          ) -> tuple[int, str | None] | None:
    for tag in order:
        for index, candidate_tag in candidates:
            if candidate_tag == tag:
                return index, tag
    return None


def repeat_of(names: Sequence[str]) -> list[int]:
    """For each header, the position of the header it repeats (:func:`header_names` numbers
    a repeated ``lon`` as ``lon_2``), else its own position.

    >>> repeat_of(["lon", "lat", "lon_2", "x_1"])
    [0, 1, 0, 3]
    """
    out = []
    for i, name in enumerate(names):
        found = _REPEATED.fullmatch(name)
        base = found.group(1) if found else None
        out.append(names.index(base) if base is not None and base in names[:i] else i)
    return out


def _rivals(split: list[tuple[str, str | None]], origin: list[int], chosen: int) -> list[int]:
    """Other columns whose headers match the role of ``chosen`` equally (see Columns)."""
    base, tag = split[chosen]
    tier = next((t for t in _RIVAL_TIERS if base in t), frozenset({base}))
    return [i for i, o in enumerate(origin)
            if i != chosen and split[o][0] in tier and split[o][1] == tag]


def resolve(names: list[str], *, lon_col: str | None = None, lat_col: str | None = None,
            name_col: str | None = None, prefer: str | None = None) -> Columns:
    """Find the coordinate, field and service columns of a header.

    Parameters
    ----------
    names
        Header texts.
    lon_col, lat_col, name_col
        Explicit column names (matched after normalisation); the same name for
        ``lon_col`` and ``lat_col`` means one "lng,lat" column. A name that is not in
        the header raises ``KeyError`` with the message to show.
    prefer
        Coordinate system the user asked for ("wgs84", "gcj02", "bd09"); among tagged
        columns (``wgs84_lng``, ``gcj02_lng``) those with this tag win, then untagged
        ones. Without it, untagged columns win, then WGS-84, GCJ-02 and BD-09 ones.
    """
    keys = [norm_header(n) for n in names]
    split = [split_tag(k) for k in keys]
    order: list[str | None] = [None, "wgs84", "gcj02", "bd09"]
    if prefer in order:  # then the others, so that a conflict can be reported
        order = [prefer, *(t for t in order if t != prefer)]
    lon = _override(names, keys, lon_col, "lon_col")
    lat = _override(names, keys, lat_col, "lat_col")
    pair = None
    pair_lat_first = False
    tag = None
    if lon is not None and lon == lat:
        pair, lon, lat = lon, None, None
        pair_lat_first = split[pair][0] in PAIR_LAT_FIRST
    elif lon is None or lat is None:
        lon_cands = [(i, t) for a in LON_ALIASES for i, (b, t) in enumerate(split) if b == a]
        lat_cands = [(i, t) for a in LAT_ALIASES for i, (b, t) in enumerate(split) if b == a]
        if lon is None and lat is None:
            found = _pick(lon_cands, order)
            if found is not None:
                lon, tag = found
                # An untagged longitude goes with a tagged latitude (经度, 纬度(WGS84)):
                # the one tag then names the system of both.
                same = _pick(lat_cands, [tag, None] if tag is not None else [None, *order])
                lat, tag = same if same else (None, tag)
        elif lon is None:
            assert lat is not None  # both None is the branch above
            lon = (_pick(lon_cands, [split[lat][1], None]) or (None, None))[0]
        else:
            lat = (_pick(lat_cands, [split[lon][1], None]) or (None, None))[0]
        if lon is None or lat is None:
            pairs = [(i, t) for a in (*PAIR_ALIASES, *PAIR_LAT_FIRST)
                     for i, (b, t) in enumerate(split) if b == a]
            found = _pick(pairs, order) if lon is None and lat is None else None
            if found is not None:
                pair, tag = found
                lon = lat = None
                pair_lat_first = split[pair][0] in PAIR_LAT_FIRST
    # Columns picked from their headers (not named by an option) may have rivals.
    picked = [i for i, named in ((lon, lon_col), (lat, lat_col), (pair, lon_col))
              if i is not None and named is None]
    origin = repeat_of(names)
    rivals = {i: others for i in picked if (others := _rivals(split, origin, i))}
    if lon_col is not None or lat_col is not None:
        tag = None  # the user named the columns; their crs option decides
    used = {i for i in (lon, lat, pair) if i is not None}
    fields: dict[str, int] = {}
    name_index = _override(names, keys, name_col, "name_col")
    if name_index is not None:
        fields["name"] = name_index
        used.add(name_index)
    for fname, aliases in FIELD_ALIASES.items():
        if fname in fields:
            continue
        for alias in aliases:
            index = next((i for i, (b, _) in enumerate(split) if b == alias and i not in used),
                         None)
            if index is not None:
                fields[fname] = index
                used.add(index)
                break
    flags: dict[str, int] = {}
    lists: list[int] = []
    for i, (base, _) in enumerate(split):
        if i in used or not base:
            continue
        if base in services.LIST_ALIASES:
            lists.append(i)
        elif (key := services.service_key(base)) is not None and key not in flags:
            flags[key] = i
    return Columns(names, lon, lat, pair, pair_lat_first, tag, fields, flags, lists, rivals)
