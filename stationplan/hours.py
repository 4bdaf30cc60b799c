"""Opening hours: which stations are open at a given time, and coverage by hour of the day.

A station sheet's 开放时间 (or an ``opening_hours`` column) is read with the OSM
``opening_hours`` parser of the PyPI package ``opening-hours-py`` (import name
``opening_hours``). Text in OSM syntax is used as it is; Chinese office writing is first
rewritten to OSM syntax by :func:`osm_hours` (words only: the times themselves are the
parser's):

- full-width digits, colons, dashes and separators (``０９：００～２１：００``, ``；``, ``、``);
  ``至``, ``到``, ``~`` and dashes between times or days;
- ``24小时``, ``全天``, ``全天24小时``, ``24h``, ``全天候`` → ``00:00-24:00``;
- ``周一``/``星期一``/``礼拜一`` … ``周日``/``周天`` → ``Mo`` … ``Su`` (also ``周一至五``);
  ``每天``/``每日``/``全年无休`` → ``Mo-Su``; ``工作日`` → ``Mo-Fr``; ``周末``/``双休日`` →
  ``Sa,Su``;
- clock words: ``8点``, ``8点半``, ``8点30分``, ``8时``, ``早8点-晚9点`` (早/上午/凌晨 keep the
  hour, 下午/晚/晚上 add 12 below 12, 中午 1–2 点 are 13–14 点), ``8am-9pm``, ``次日``
  dropped (``22:00-次日6:00`` runs past midnight), bare hours ``9-21``;
- ``休息``/``闭馆``/``不开放``/``关闭``/``停业`` → ``off``; rules that close something
  (``周一闭馆``) and holiday rules go last, so they override the others as the writer
  meant;
- ``节假日``/``法定节假日`` → ``PH`` (``节假日休息`` → ``PH off``; ``节假日照常`` is dropped:
  same hours). Public holidays come from ``opening-hours-py``'s calendar for China
  (``country="CN"``), which lists one day per holiday (New Year, the first day of the
  Spring Festival, Labour Day, Dragon Boat, Mid-Autumn, National Day) and not the
  make-up working days (调休);
- days written without times (``周一至周日``, ``工作日``) mean open on those days at
  hours not given: ``Mo-Su unknown`` (unknown on those days, closed on the others).

Times are local (Beijing time). Sunrise, sunset, dawn and dusk are those of the station's
own place.

What each station counts as at a time (:func:`station_states`):

- ``open`` / ``closed``: what its hours say;
- ``unknown``: its hours say unknown then (days without times, an OSM ``unknown``), or
  they could not be read (``hours_status`` "unparsed", with the reason): **not counted
  as open**, and listed;
- ``assumed_open``: the sheet gives no hours for it (``hours_status`` "not_given"):
  **counted as open**, and flagged, so the planner sees which figures rest on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import InputError
from ._figures import round_m, share
from ._i18n import time_label
from .coverage import Coverage, CoverageRule, compute_coverage
from .network import StreetNetwork

log = logging.getLogger(__name__)

__all__ = ["Hours", "coverage_at", "coverage_by_hour", "osm_hours", "parse_at",
           "parse_hours", "station_hours", "station_states"]

# Public holidays (PH) are those of this country in opening-hours-py's calendar.
COUNTRY = "CN"
# A time without a day (``--at 22:00``) is on this day: a Wednesday of a week without
# public holidays in the calendar (a mid-week working day; many places close on Mondays).
REFERENCE_DAY = dt.date(2025, 6, 11)
# What a station counts as at a time; the first two count as open.
COUNTED = ("open", "assumed_open")
STATES = ("open", "assumed_open", "closed", "unknown")
# The ``hours_status`` of a station row.
HOURS_STATUSES = ("ok", "not_given", "unparsed")
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # in labels ("Sat 07:00")

# Cells that say "no hours given".
_EMPTY = {"", "-", "--", "/", "无", "暂无", "不详", "未知", "nan", "none", "null", "n/a", "#n/a"}
_ZH_DAY = {"一": "Mo", "二": "Tu", "三": "We", "四": "Th", "五": "Fr", "六": "Sa", "日": "Su",
           "天": "Su", "七": "Su"}
_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"
_TIME = r"\d{2}:\d{2}"
_MORNING = ("早上", "早晨", "清晨", "上午", "早", "凌晨")
_EVENING = ("下午", "傍晚", "晚上", "夜间", "夜里", "晚")
_PERIOD = "|".join(sorted((*_MORNING, *_EVENING, "中午"), key=len, reverse=True))
_SUN = re.compile(r"sunrise|sunset|dawn|dusk")
_ALL_DAY = re.compile(r"全天\s*24\s*小时|24\s*小时|全天候|全天|(?<!\d)24\s*h(?:ours?)?(?![a-z])"
                      r"|(?<!\d)24\s*[x×*]\s*7(?!\d)|(?<!\d)7\s*[x×*]\s*24(?!\d)",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Hours:
    """One station's opening hours as written and as read.

    Parameters
    ----------
    text
        The hours as written in the sheet.
    osm
        The OSM ``opening_hours`` expression read from it, or ``""`` when there is none
        (not given, or unparsed).
    status
        "ok", "not_given" (empty cell) or "unparsed" (see ``reason``).
    reason
        Why the text could not be read ("" otherwise).
    """

    text: str
    osm: str = ""
    status: str = "not_given"
    reason: str = ""
    _parsed: Any = field(default=None, compare=False, repr=False)

    def state(self, when: dt.datetime) -> str:
        """What the station counts as at ``when`` (local time): one of :data:`STATES`."""
        if self.status == "not_given":
            return "assumed_open"
        if self._parsed is None:
            return "unknown"
        return str(self._parsed.state(when)[0]).lower()

    def intervals(self, start: dt.datetime, end: dt.datetime
                  ) -> list[tuple[dt.datetime, dt.datetime, str]]:
        """The intervals from ``start`` to ``end`` (whole minutes) in one state each, as
        :meth:`state` gives it minute by minute (opening-hours-py 2.1's own
        ``intervals`` misses the days of a fallback rule ``|| unknown``)."""
        out: list[tuple[dt.datetime, dt.datetime, str]] = []
        step = dt.timedelta(minutes=1)
        t = start
        while t < end:
            state = self.state(t)
            if out and out[-1][2] == state:
                out[-1] = (out[-1][0], t + step, state)
            else:
                out.append((t, t + step, state))
            t += step
        return out


def osm_hours(text: str) -> str:
    """Rewrite opening hours as Chinese offices write them into OSM ``opening_hours``.

    The words are rewritten (see the module's notes); whether the result is valid OSM
    syntax is for the parser to say (:func:`parse_hours`). Text already in OSM syntax
    comes back unchanged but for full-width characters.

    Examples
    --------
    >>> osm_hours("周一至周五 8:00-18:00；周六 9点-12点")
    'Mo-Fr 08:00-18:00; Sa 09:00-12:00'
    >>> osm_hours("全天24小时"), osm_hours("早8点-晚9点"), osm_hours("０９：００～２１：００")
    ('00:00-24:00', '08:00-21:00', '09:00-21:00')
    >>> osm_hours("9:00-17:00（周一闭馆，节假日照常开放）")
    '09:00-17:00; Mo off'
    >>> osm_hours("工作日")
    'Mo-Fr unknown'
    """
    s = _nfkc(text)
    s = re.sub(r"^\s*(?:营业|开放|服务|办公|值守)?时间\s*[:]?\s*", "", s)
    s = re.sub(r"[()\[\]【】〔〕「」]", " ; ", s)
    s = re.sub(r"[\n\r]+", " ; ", s)
    s = re.sub(r"(?:法定)?节假日\s*(?:照常|正常)\s*(?:营业|开放|服务)?", " ; ", s)
    s = re.sub(r"(?:法定)?节假日|节日|假日", " PH ", s)
    s = re.sub(r"全年无休|每天|每日|天天", " Mo-Su ", s)
    s = re.sub(r"工作日", " Mo-Fr ", s)
    s = re.sub(r"周末|双休日", " Sa,Su ", s)
    s = re.sub(r"(?:周|星期|礼拜)([一二三四五六日天七])",
               lambda m: f" {_ZH_DAY[m[1]]} ", s)
    s = re.sub(r"(?:不开放|休息|闭馆|闭店|关闭|停业|歇业|不营业)", " off ", s)
    s = re.sub(r"对外开放|营业|开放|服务", " ", s)
    s = _ALL_DAY.sub(" 00:00-24:00 ", s)
    s = re.sub(r"次日|第二天|翌日", "", s)
    s = re.sub(r"\s*(?:至|到|~|—|–|−|-)+\s*", "-", s)
    s = re.sub(rf"({_DAY})\s*-\s*([一二三四五六日天七])", lambda m: f"{m[1]}-{_ZH_DAY[m[2]]}", s)
    s = s.replace("、", ",")
    s = _clock_words(s)
    s = re.sub(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d])", lambda m: f"{int(m[1]):02d}:{m[2]}", s)
    # bare hours "9-21" (after the clock words, so only numbers without any unit remain)
    s = re.sub(r"(?<![\d:])(\d{1,2})\s*-\s*(\d{1,2})(?![\d:])",
               lambda m: (f"{int(m[1]):02d}:00-{int(m[2]):02d}:00"
                          if int(m[1]) <= 24 and int(m[2]) <= 24 else m[0]), s)
    s = re.sub(rf"({_TIME})\s*-\s*({_TIME})", r"\1-\2", s)
    s = re.sub(rf"({_TIME})\s*,?\s+(?=\d{{2}}:)", r"\1,", s)  # "8-12 14-18": one rule
    s = re.sub(rf"({_TIME}|off)\s*,\s*(?={_DAY})", r"\1 ; ", s)
    s = re.sub(rf"({_TIME}|off)\s+(?={_DAY})", r"\1 ; ", s)
    s = re.sub(rf"\boff\s+(?={_TIME})", "off ; ", s)
    s = re.sub(rf"({_DAY})\s*,\s*(?={_TIME})", r"\1 ", s)
    s = re.sub(r"\s*,\s*", ",", s)
    s = re.sub(r"(?<=[A-Za-z])(?=\d)", " ", s)
    rules = [" ".join(r.split()).strip(" ,") for r in s.split(";")]
    rules = [_with_time(r) for r in rules if r]
    # closing rules and holiday rules last: they are exceptions to the others
    rules.sort(key=lambda r: (r.endswith("off") or r.startswith("PH")))
    return "; ".join(rules)


def parse_hours(text: object) -> Hours:
    """Read one station's opening hours (OSM syntax or Chinese office writing).

    Parameters
    ----------
    text
        The cell as read (text, ``None`` or NaN for an empty cell).

    Returns
    -------
    Hours
        ``status`` "ok" with ``osm`` the expression read, "not_given" for an empty
        cell, or "unparsed" with ``reason``; never raises for a cell's content.

    Examples
    --------
    >>> parse_hours("24小时").osm, parse_hours(None).status
    ('24/7', 'not_given')
    >>> h = parse_hours("夏季8:00-18:00")
    >>> h.status, h.reason
    ('unparsed', "not read: '夏季' is not understood (read as '夏季08:00-18:00')")
    """
    import opening_hours

    raw = "" if text is None or (isinstance(text, float) and text != text) else str(text)
    raw = raw.strip()
    if _nfkc(raw).strip().lower() in _EMPTY:
        return Hours(raw)
    attempts = [_nfkc(raw).strip()]
    attempts.append(osm_hours(raw))
    for expr in attempts:
        if expr and opening_hours.validate(expr):
            parsed = opening_hours.OpeningHours(expr, country=COUNTRY)
            return Hours(raw, str(parsed.normalize()), "ok", "", parsed)
    words = re.findall(r"[^\x00-\x7f]+", attempts[-1])
    what = (f"{'、'.join(repr(w) for w in dict.fromkeys(words))} is not understood" if words
            else "not valid opening hours")
    return Hours(raw, "", "unparsed", f"not read: {what} (read as {attempts[-1]!r})")


def parse_at(text: str | dt.datetime) -> dt.datetime:
    """Read a time to evaluate opening hours at (the command line's ``--at``).

    ``22:00`` (on :data:`REFERENCE_DAY`, a Wednesday), a day and a time (``Sat 07:00``,
    ``Saturday 7:00``, ``周六 07:00``, ``星期六 7点``), or a date and a time
    (``2025-10-01 07:00``, where public holidays apply).

    Raises
    ------
    InputError
        The text is none of these (one line naming ``--at``).

    Examples
    --------
    >>> parse_at("Sat 07:00"), parse_at("周六 7点").weekday()
    (datetime.datetime(2025, 6, 14, 7, 0), 5)
    >>> parse_at("22:00").strftime("%a %H:%M")
    'Wed 22:00'
    >>> parse_at("25:00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: --at '25:00': give a time (22:00), a day and a time ...
    """
    if isinstance(text, dt.datetime):
        return text.replace(tzinfo=None)
    s = _clock_words(_nfkc(str(text)).strip())
    s = re.sub(r"(?:周|星期|礼拜)([一二三四五六日天七])", lambda m: _ZH_DAY[m[1]] + " ", s)
    m = re.fullmatch(r"(?:(?P<date>\d{4}-\d{1,2}-\d{1,2})|(?P<day>[A-Za-z]+))?[\sT]*"
                     r"(?P<h>\d{1,2}):(?P<m>\d{2})", s)
    when = None
    if m and int(m["h"]) < 24 and int(m["m"]) < 60:
        t = dt.time(int(m["h"]), int(m["m"]))
        if m["date"]:
            with contextlib.suppress(ValueError):
                when = dt.datetime.combine(dt.date.fromisoformat(
                    "-".join(f"{int(p):02d}" for p in m["date"].split("-"))), t)
        else:
            day = _weekday(m["day"]) if m["day"] else REFERENCE_DAY.weekday()
            if day is not None:
                monday = REFERENCE_DAY - dt.timedelta(days=REFERENCE_DAY.weekday())
                when = dt.datetime.combine(monday + dt.timedelta(days=day), t)
    if when is None:
        msg = (f"--at {str(text)!r}: give a time (22:00), a day and a time ('Sat 07:00', "
               "'周六 07:00') or a date and a time ('2025-10-01 07:00'), hours 0-23")
        raise InputError(msg, zh=f"--at {str(text)!r}：请给出时刻（22:00）、星期和时刻"
                                 "（'Sat 07:00'、'周六 07:00'）或日期和时刻"
                                 "（'2025-10-01 07:00'），小时为 0–23")
    return when


def at_label(when: dt.datetime, lang: str = "en") -> str:
    """``when`` as runs name it: the weekday and time, the date when it is not in the
    reference week; the weekday in ``lang`` ("en": machine-readable, as ``summary.json``
    keeps it).

    >>> at_label(parse_at("Sat 07:00")), at_label(parse_at("2025-10-01 7:00"))
    ('Sat 07:00', '2025-10-01 Wed 07:00')
    >>> at_label(parse_at("周六 21:30"), "zh")
    '周六 21:30'
    """
    monday = REFERENCE_DAY - dt.timedelta(days=REFERENCE_DAY.weekday())
    day = _DAY_NAMES[when.weekday()]  # not strftime's %a, which follows the C locale
    label = f"{day} {when:%H:%M}"
    if not monday <= when.date() < monday + dt.timedelta(days=7):
        label = f"{when:%Y-%m-%d} {label}"
    return time_label(label, lang)


def station_hours(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Read every station's ``hours`` cell (see :func:`parse_hours`).

    Parameters
    ----------
    stations
        Output of :func:`~stationplan.read_stations` or
        :func:`~stationplan.snap_stations` (a missing ``hours`` column is no hours).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``hours_osm`` (the OSM expression read), ``hours_status`` ("ok",
        "not_given", "unparsed") and ``hours_reason``.
    """
    cells = stations["hours"] if "hours" in stations else pd.Series([None] * len(stations))
    parsed = [parse_hours(c) for c in cells]
    out = stations.copy()
    out["hours_osm"] = [h.osm for h in parsed]
    out["hours_status"] = [h.status for h in parsed]
    out["hours_reason"] = [h.reason for h in parsed]
    ok = (stations["status"] == "ok").to_numpy() if "status" in stations else \
        np.ones(len(stations), bool)
    counts = {s: sum(1 for h, u in zip(parsed, ok, strict=True) if u and h.status == s)
              for s in HOURS_STATUSES}
    log.info("opening hours of %d usable stations: %d read, %d not given (counted as open), "
             "%d unreadable (counted as not open)", int(ok.sum()), counts["ok"],
             counts["not_given"], counts["unparsed"])
    for h, sid, usable in zip(parsed, stations["station_id"], ok, strict=True):
        if usable and h.status == "unparsed":
            log.warning("station %s: opening hours \"%s\" %s; it counts as not open",
                        sid, h.text, h.reason)
    return out


def station_states(stations: gpd.GeoDataFrame, when: dt.datetime) -> np.ndarray:
    """What each station counts as at ``when``: one of :data:`STATES` per row.

    Parameters
    ----------
    stations
        Output of :func:`station_hours`.
    when
        Local time (naive).

    Returns
    -------
    numpy.ndarray
        Strings, one per row; rows with a status other than "ok" are "unknown".
    """
    return _states(stations, _hours_of(stations), when)


def _states(stations: gpd.GeoDataFrame, hours: list[Hours], when: dt.datetime) -> np.ndarray:
    ok = (stations["status"] == "ok").to_numpy()
    return np.array([h.state(when) if usable else "unknown"
                     for h, usable in zip(hours, ok, strict=True)], dtype=object)


def stations_open_at(stations: gpd.GeoDataFrame, when: dt.datetime) -> gpd.GeoDataFrame:
    """The stations as the engine and siting see them at ``when``: every row kept, in
    order, with its state in ``open_at``; rows that do not count as open (closed,
    unknown) take status "not_open", so :func:`~stationplan.compute_coverage` and
    :func:`~stationplan.plan_sites` leave them out.

    Parameters
    ----------
    stations
        Output of :func:`station_hours`.
    when
        Local time (naive), e.g. from :func:`parse_at`.

    Returns
    -------
    geopandas.GeoDataFrame
    """
    states = station_states(stations, when)
    out = _engine_input(stations, states)
    out["open_at"] = states
    return out


def coverage_at(network: StreetNetwork, stations: gpd.GeoDataFrame, when: dt.datetime, *,
                rule: CoverageRule | None = None) -> Coverage:
    """Exact coverage by the stations open at ``when``.

    The engine (:func:`~stationplan.compute_coverage`) runs on the stations that count
    as open (``open``, ``assumed_open``); every row stays in the result's ``stations``
    with its ``status`` unchanged and its state in ``open_at``.

    Parameters
    ----------
    network
        The street network.
    stations
        Output of :func:`station_hours` on snapped stations.
    when
        Local time (naive), e.g. from :func:`parse_at`.
    rule
        The coverage rule (default: the mode's).

    Returns
    -------
    Coverage
    """
    states = station_states(stations, when)
    cov = compute_coverage(network, _engine_input(stations, states), rule=rule)
    rows = stations.copy()
    rows["open_at"] = states
    return _with_stations(cov, rows)


def coverage_by_hour(network: StreetNetwork, stations: gpd.GeoDataFrame, day: dt.date, *,
                     rule: CoverageRule | None = None,
                     known: Mapping[frozenset[int], Coverage] | None = None) -> pd.DataFrame:
    """Exact coverage at each full hour of ``day`` (00:00 to 23:00).

    The engine runs once per distinct set of open stations (hours with the same set
    share the run).

    Parameters
    ----------
    network
        The street network.
    stations
        Output of :func:`station_hours` on snapped stations.
    day
        The day (its weekday and, for public holidays, its date).
    rule
        The coverage rule (default: the mode's).
    known
        Coverage already computed by the engine for sets of open row positions (row
        positions of the stations counted as open; reused, not recomputed).

    Returns
    -------
    pandas.DataFrame
        One row per hour: ``hour`` (0–23), ``time`` ("Wed 03:00"), ``stations_open``
        (counted as open, ``assumed_open`` included), ``stations_assumed_open``,
        ``stations_closed``, ``stations_unknown``, ``open_station_ids`` (joined by
        ``;``), ``covered_m``, ``demand_m``, ``covered_share`` — each from the engine.
    """
    ids = stations["station_id"].astype(str).to_numpy()
    hours = _hours_of(stations)
    memo = {key: (c.covered_m, c.demand_m) for key, c in (known or {}).items()}
    runs = 0
    rows = []
    for hour in range(24):
        when = dt.datetime.combine(day, dt.time(hour))
        states = _states(stations, hours, when)
        counted = np.isin(states, COUNTED)
        key = frozenset(np.flatnonzero(counted).tolist())
        if key not in memo:
            cov = compute_coverage(network, _engine_input(stations, states), rule=rule)
            memo[key] = (cov.covered_m, cov.demand_m)
            runs += 1
        covered, demand_m = memo[key]
        rows.append({
            "hour": hour, "time": at_label(when),
            "stations_open": int(counted.sum()),
            "stations_assumed_open": int((states == "assumed_open").sum()),
            "stations_closed": int((states == "closed").sum()),
            "stations_unknown": int(((states == "unknown")
                                     & (stations["status"] == "ok").to_numpy()).sum()),
            "open_station_ids": ";".join(ids[counted]),
            "covered_m": round_m(covered), "demand_m": round_m(demand_m),
            "covered_share": share(covered, demand_m),
        })
    table = pd.DataFrame(rows)
    low, high = table["covered_share"].idxmin(), table["covered_share"].idxmax()
    log.info("coverage by hour on %s: %d engine runs for %d distinct sets of open stations; "
             "lowest %.1f %% at %s, highest %.1f %% at %s", day.isoformat(), runs,
             table["open_station_ids"].nunique(), 100 * table.loc[low, "covered_share"],
             table.loc[low, "time"], 100 * table.loc[high, "covered_share"],
             table.loc[high, "time"])
    return table


def hours_summary(stations: gpd.GeoDataFrame, *, when: dt.datetime | None,
                  by_hour: pd.DataFrame | None) -> dict[str, Any]:
    """The ``hours`` block of ``summary.json`` (see ``docs/outputs.md``)."""
    usable = (stations["status"] == "ok").to_numpy()
    status = stations["hours_status"].to_numpy()
    out: dict[str, Any] = {
        "rule": ("stations count as open when their hours say open; hours not given count "
                 "as open (assumed_open, flagged); unreadable hours and hours that say "
                 "unknown count as not open"),
        "country_holidays": COUNTRY,
        "stations_with_hours": int((usable & (status == "ok")).sum()),
        "not_given": [str(s) for s in stations.loc[usable & (status == "not_given"),
                                                   "station_id"]],
        "unparsed": [{"station_id": str(r.station_id), "name": str(r.name),
                      "hours": str(r.hours if r.hours == r.hours else ""),
                      "reason": str(r.hours_reason)}
                     for r in stations.loc[usable & (status == "unparsed")].itertuples()]
                    if "hours" in stations else [],
    }
    if when is not None and "open_at" in stations:
        states = stations["open_at"].to_numpy()[usable]
        out["at"] = {"time": when.isoformat(timespec="minutes"), "label": at_label(when),
                     **{f"stations_{s}": int((states == s).sum()) for s in STATES}}
    if by_hour is not None:
        out["by_hour"] = [
            {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in by_hour[["hour", "time", "stations_open", "covered_m", "demand_m",
                                "covered_share"]].to_dict("records")]
    return out


# --- helpers ---------------------------------------------------------------------------

def _nfkc(text: str) -> str:
    """NFKC (full-width digits, colons, separators) with the wave dash as a tilde."""
    return unicodedata.normalize("NFKC", text).replace("〜", "~").replace("\u3000", " ")


def _clock_words(s: str) -> str:
    """``早8点半`` → ``08:30``, ``下午2:00`` → ``14:00``, ``9pm`` → ``21:00``.

    >>> _clock_words("早8点-晚9点半"), _clock_words("中午1点"), _clock_words("凌晨12点")
    ('08:00-21:30', '13:00', '00:00')
    """
    def shifted(period: str | None, h: int) -> int:
        if period in _EVENING:
            return h + 12 if h < 12 else (24 if h == 12 else h)
        if period == "中午":
            return h + 12 if h < 6 else h
        if period == "凌晨" and h == 12:
            return 0
        return h

    def zh(m: re.Match[str]) -> str:
        minute = 30 if m["half"] else int(m["min"] or 0)
        return f"{shifted(m['p'], int(m['h'])):02d}:{minute:02d}"

    s = re.sub(rf"(?P<p>{_PERIOD})?\s*(?P<h>\d{{1,2}})\s*(?:点钟?|时)\s*"
               r"(?:(?P<half>半)|(?P<min>\d{1,2})\s*分?)?", zh, s)
    s = re.sub(rf"(?P<p>{_PERIOD})\s*(?P<h>\d{{1,2}}):(?P<min>\d{{2}})(?P<half>)", zh, s)

    def ampm(m: re.Match[str]) -> str:
        h = int(m[1]) % 12 + (12 if m[3].lower().startswith("p") else 0)
        return f"{h:02d}:{m[2] or '00'}"

    return re.sub(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?(?![a-z])", ampm, s,
                  flags=re.IGNORECASE)


def _with_time(rule: str) -> str:
    """A rule of days without a time or a state: open then at hours not given."""
    if re.fullmatch(rf"{_DAY}(?:[-,]{_DAY})*", rule):
        return f"{rule} unknown"
    return rule


def _weekday(word: str) -> int | None:
    """0 (Monday) to 6 for an English day name or its start (Mo, Mon, Monday), else None.

    >>> _weekday("Sat"), _weekday("su"), _weekday("x")
    (5, 6, None)
    """
    w = word.lower()
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    hits = [i for i, n in enumerate(names) if len(w) >= 2 and n.startswith(w)]
    return hits[0] if len(hits) == 1 else None


def _hours_of(stations: gpd.GeoDataFrame) -> list[Hours]:
    """The :class:`Hours` of each row of :func:`station_hours`'s table (the parsed objects
    are rebuilt from ``hours_osm``: they cannot be copied with a table's attrs)."""
    if "hours_status" not in stations:
        msg = "read the stations' hours first: stationplan.hours.station_hours(stations)"
        raise InputError(msg)
    texts = stations["hours"] if "hours" in stations else [""] * len(stations)
    places = _places(stations)
    return [Hours(str(t if t == t and t is not None else ""), osm, status, reason,
                  _opening_hours(osm, place) if status == "ok" else None)
            for t, osm, status, reason, place in zip(texts, stations["hours_osm"],
                                                     stations["hours_status"],
                                                     stations["hours_reason"], places,
                                                     strict=True)]


def _opening_hours(expr: str, place: tuple[float, float] | None) -> Any:
    """The parser's object for ``expr``; sunrise, sunset, dawn and dusk at ``place`` (lat,
    lon; times then local to its time zone), which only they need (it costs 0.6 ms)."""
    import opening_hours

    if place is not None and _SUN.search(expr):
        return opening_hours.OpeningHours(expr, country=COUNTRY, coords=place)
    return opening_hours.OpeningHours(expr, country=COUNTRY)


def _places(stations: gpd.GeoDataFrame) -> list[tuple[float, float] | None]:
    """(lat, lon) of each row in WGS-84, or None without a point."""
    geoms = stations.geometry
    if stations.crs is not None and not stations.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs(4326)
    import shapely

    arr = geoms.to_numpy()
    xs, ys = shapely.get_x(arr), shapely.get_y(arr)  # NaN for no point
    return [None if x != x or y != y else (float(y), float(x)) for x, y in zip(xs, ys,
                                                                                 strict=True)]


def _engine_input(stations: gpd.GeoDataFrame, states: np.ndarray) -> gpd.GeoDataFrame:
    """The stations the engine sees: those not counted as open take status "not_open"
    (the engine uses rows with status "ok" only), row order kept."""
    engine = stations.copy()
    engine.loc[~np.isin(states, COUNTED) & (engine["status"] == "ok").to_numpy(),
               "status"] = "not_open"
    return engine


def _with_stations(cov: Coverage, rows: gpd.GeoDataFrame) -> Coverage:
    """``cov`` with ``rows`` (the same rows, in the same order) as its stations."""
    import dataclasses

    return dataclasses.replace(cov, stations=rows)

