"""What a care station offers: a documented schema with Chinese and English column names.

Station files describe services in two ways, and both are read:

* one column per service (``饮水``, ``座椅``, ``充电`` ... or ``drinking_water``, ``seating``
  ...) holding yes/no values: ``是 有 √ ✓ ● yes y true 1 提供`` count as yes; ``否 无 × ✗
  no n false 0`` and empty cells count as no; any other text (``饮水机 2 台``) counts as yes
  unless it starts with a negation (``无``, ``没有``, ``不``, ``暂无``, ``no``);
* one list column (``services``, ``服务``, ``服务设施``, ``服务项目``) whose items are
  separated by ``;`` ``,`` ``、`` ``/`` or line breaks (or spaces between known labels),
  each a key or a label of the table below; other items are kept as written.

:func:`parse_services` turns them into service keys, written as ``"drinking_water;seating"``
in the ``services`` column that :mod:`stationplan.export` writes and reads back.

=================  =====================  ===============================================
key                Chinese                also recognised
=================  =====================  ===============================================
drinking_water     饮水                   饮用水 饮水机 热水 开水 water drinking water
seating            座椅                   休息座椅 沙发 桌椅 休息区 seats sofa
phone_charging     充电                   手机充电 充电宝 充电器 charging charger
microwave          微波炉                 微波炉热饭 热饭 加热 microwave
first_aid          急救包                 医药箱 急救药箱 药箱 急救箱 first aid kit
toilet             厕所                   卫生间 洗手间 公厕 restroom wc
air_conditioning   空调                   暖气 取暖 冷暖 空调暖气 ac heating
rain_gear          雨具                   雨伞 雨衣
tools              维修工具               工具 修车工具 toolkit
pump               打气筒                 打气 充气
reading            阅读                   书报 图书 书籍 books
ebike_charging     电动车充电             电瓶车充电 电动车 e-bike charging
battery_swap       换电                   换电柜 battery swap
aed                AED                    除颤仪
wifi               无线网络               wifi wi-fi 无线
=================  =====================  ===============================================

Text attributes (kept as text, not flags): opening hours ``hours`` (开放时间, 营业时间,
服务时间), contact phone ``phone`` (电话, 联系电话, 联系方式), host shop ``host`` (依托商户,
依托单位, 承接商户, 所属商户).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from ._i18n import text

__all__ = ["CORE_SERVICES", "SERVICES", "Service", "parse_services", "service_audit"]


@dataclass(frozen=True)
class Service:
    """One service a station may offer: its key, English and Chinese names, aliases."""

    key: str
    en: str
    zh: str
    aliases: tuple[str, ...] = ()


def _service(key: str, *aliases: str) -> Service:
    """The service ``key`` with its English and Chinese names from the zh/en table."""
    return Service(key, text(f"service.{key}", "en"), text(f"service.{key}", "zh"), aliases)


SERVICES: Mapping[str, Service] = MappingProxyType({s.key: s for s in (
    _service("drinking_water", "饮用水", "饮水机", "热水", "开水", "喝水", "water",
             "drinking water"),
    _service("seating", "休息座椅", "沙发", "桌椅", "休息区", "座位", "seats", "seat", "sofa"),
    _service("phone_charging", "手机充电", "充电宝", "充电器", "charging", "charger",
             "phone charger"),
    _service("microwave", "微波炉热饭", "热饭", "加热"),
    _service("first_aid", "医药箱", "急救药箱", "药箱", "急救箱", "急救", "first aid",
             "first aid kit"),
    _service("toilet", "卫生间", "洗手间", "公厕", "restroom", "wc"),
    _service("air_conditioning", "暖气", "取暖", "冷暖", "空调暖气", "ac", "heating",
             "air conditioning"),
    _service("rain_gear", "雨伞", "雨衣"),
    _service("tools", "工具", "修车工具", "toolkit"),
    _service("pump", "打气", "充气", "tyre pump", "tire pump"),
    _service("reading", "书报", "图书", "书籍", "books"),
    _service("ebike_charging", "电瓶车充电", "电动车", "e-bike charging", "ebike charging"),
    _service("battery_swap", "换电柜", "battery swap"),
    _service("aed", "除颤仪", "自动体外除颤器"),
    _service("wifi", "wi-fi", "无线"),
)})

CORE_SERVICES = ("drinking_water", "seating", "phone_charging")

# The list column and the text attributes, as normalised header names.
LIST_ALIASES = ("services", "service", "服务", "服务设施", "服务项目", "服务内容", "设施",
                "facilities", "amenities")

_TRUE = frozenset({"是", "有", "√", "✓", "✔", "●", "☑", "yes", "y", "true", "t", "1", "提供",
                   "配备", "已配备"})
_FALSE = frozenset({"否", "无", "没有", "×", "✗", "✘", "x", "no", "n", "false", "f", "0", "",
                    "□", "不提供", "未配备", "暂无"})
_NEGATION = re.compile(r"^(无|没有|没|不|未|暂无|no\b|not\b|none\b)")
_SPLIT = re.compile(r"[;,、/|\n]+")


def _key(text: str) -> str:
    """Normalise a header or a list item: NFKC, lower case, no spaces, ``-`` and ``_``."""
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", text).lower())


_LOOKUP = MappingProxyType({
    _key(name): s.key
    for s in SERVICES.values() for name in (s.key, s.en, s.zh, *s.aliases)
})


def service_key(text: str) -> str | None:
    """The service key for a column name or list item, or ``None``.

    Examples
    --------
    >>> service_key("饮水"), service_key("Drinking water"), service_key("医药箱"), service_key("x")
    ('drinking_water', 'drinking_water', 'first_aid', None)
    """
    return _LOOKUP.get(_key(text))


def truthy(value: object) -> bool:
    """Whether a yes/no cell says the service is there.

    Examples
    --------
    >>> [truthy(v) for v in ("是", "√", "Yes", 1, "否", "", None, "饮水机2台", "暂无")]
    [True, True, True, True, False, False, False, True, False]
    """
    if value is None or (isinstance(value, float) and value != value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text in {"#n/a", "n/a", "na", "-"}:
        return False
    return not _NEGATION.match(text)


def split_services(value: object) -> list[str]:
    """Split a list cell into service keys; unknown items are kept as written.

    Examples
    --------
    >>> split_services("饮水、休息座椅、手机充电"), split_services("microwave; AED；first aid")
    (['drinking_water', 'seating', 'phone_charging'], ['microwave', 'aed', 'first_aid'])
    >>> split_services("饮水 座椅 无线网络"), split_services("无")
    (['drinking_water', 'seating', 'wifi'], [])
    """
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = _SPLIT.split(unicodedata.normalize("NFKC", str(value)).replace("；", ";"))
    keys: list[str] = []
    for item in (i.strip() for i in items):
        words = item.split()
        if key := service_key(item):
            keys.append(key)
        elif len(words) > 1 and all(service_key(w) for w in words):  # "饮水 座椅"
            keys.extend(k for w in words if (k := service_key(w)))
        elif item and not _NEGATION.match(item.lower()):
            keys.append(item)
    return keys


def parse_services(flags: Mapping[str, object], lists: Iterable[object] = ()) -> str:
    """Combine yes/no columns and list cells of one row into ``"key;key"``.

    Parameters
    ----------
    flags
        Service key -> cell value of that service's yes/no column.
    lists
        Cells of list columns.

    Returns
    -------
    str
        Keys present, in schema order, then unknown items in the order met; ``""`` for none.

    Examples
    --------
    >>> parse_services({"seating": "有", "toilet": "否"}, ["饮水、tea"])
    'drinking_water;seating;tea'
    """
    found = {key for key, value in flags.items() if truthy(value)}
    extra: list[str] = []
    for cell in lists:
        for key in split_services(cell):
            if key in SERVICES:
                found.add(key)
            elif key not in extra:
                extra.append(key)
    return ";".join([k for k in SERVICES if k in found] + extra)


def service_audit(stations: pd.DataFrame, *,
                  core: Sequence[str] = CORE_SERVICES) -> dict[str, Any]:
    """List which stations lack which core services, for ``summary.json``.

    Parameters
    ----------
    stations
        A table with ``station_id``, ``name`` and ``services`` (keys joined by ``;``, as
        :func:`~stationplan.read_stations` writes it); a missing ``services`` column
        means nothing is known.
    core
        The service keys every station should offer (default drinking water, seating,
        phone charging).

    Returns
    -------
    dict
        JSON-ready: ``core`` (the keys checked), ``stations`` (rows checked),
        ``with_service_data`` (rows that list any service; when 0 the file simply has
        no service columns), ``complete`` (rows with every core service), ``lacking``
        (key -> station ids without it, input order) and ``stations_lacking``
        (``station_id``, ``name``, ``missing`` keys, for rows that lack any).

    Examples
    --------
    >>> df = pd.DataFrame({"station_id": ["a", "b"], "name": ["A", "B"],
    ...                    "services": ["drinking_water;seating;phone_charging", "seating"]})
    >>> audit = service_audit(df)
    >>> audit["complete"], audit["lacking"]["drinking_water"], audit["stations_lacking"][0]
    (1, ['b'], {'station_id': 'b', 'name': 'B', 'missing': ['drinking_water', 'phone_charging']})
    """
    unknown = [k for k in core if k not in SERVICES]
    if unknown:
        msg = f"core={list(core)!r}: unknown service keys {unknown}; use keys of SERVICES"
        raise ValueError(msg)
    n = len(stations)
    cells = stations["services"].tolist() if "services" in stations.columns else [""] * n
    ids = stations["station_id"].tolist() if "station_id" in stations.columns else list(range(n))
    names = stations["name"].tolist() if "name" in stations.columns else [""] * n
    lacking: dict[str, list[str]] = {k: [] for k in core}
    per_station = []
    with_data = complete = 0
    for sid, name, cell in zip(ids, names, cells, strict=True):
        have = set(split_services(cell))
        with_data += bool(have)
        missing = [k for k in core if k not in have]
        for k in missing:
            lacking[k].append(str(sid))
        if missing:
            per_station.append({"station_id": str(sid), "name": "" if name is None else str(name),
                                "missing": missing})
        else:
            complete += 1
    return {"core": list(core), "stations": n, "with_service_data": with_data,
            "complete": complete, "lacking": lacking, "stations_lacking": per_station}
