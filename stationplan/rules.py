"""Rules as data: the standards a planner reports against, and a verdict on each.

A **rule pack** is a small TOML file naming a standard's source (document, issuing body,
article, year), its thresholds (a distance, or a station spacing read as half that reach;
a time per travel mode; how many stations must reach a street), where it applies (road
classes; a stricter threshold inside a dense area the user gives) and the share of the
streets to serve that must be covered to pass, with where that target comes from. The
built-in packs live in ``stationplan/_rules/``: ``xinle`` (the rule stationplan checks by
default), ``acftu-15min``, ``shandong``, ``gb50180-5``, ``gb50180-10``, ``gb50180-15``.

:func:`rule_verdicts` runs the exact coverage engine once per rule (its
:class:`~stationplan.CoverageRule`, with its ``cover``) and gives each rule's covered share,
pass/fail against its target, the failing streets as gap runs
(:func:`~stationplan.find_gaps`) and, with districts, the same per district.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _route
from ._errors import InputError
from ._figures import round_m, share
from ._options import MODE_NAMES, check_option
from .coverage import Coverage, CoverageRule, compute_coverage
from .gaps import find_gaps
from .network import MODES, StreetNetwork

log = logging.getLogger(__name__)

__all__ = ["BUILTIN_RULES", "RulePack", "RuleVerdict", "load_rules", "read_rule_pack",
           "rule_verdicts"]

BUILTIN_RULES = ("xinle", "acftu-15min", "shandong", "gb50180-5", "gb50180-10", "gb50180-15")
TARGET_FROM = ("document", "stationplan")
_TOP_FAILING = 10  # failing streets listed per rule in summary.json
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_KEYS = ("id", "name", "radius_m", "spacing_m", "time", "cover", "road_classes", "dense",
         "target_share", "target_from", "source", "notes")
_SOURCE_KEYS = ("title", "issuer", "clause", "year", "url", "quote", "note")
_TIME_KEYS = ("minutes", "speed_kmh")
_DENSE_KEYS = ("radius_m", "spacing_m")
_LANG_KEYS = ("en", "zh")


@dataclass(frozen=True)
class RulePack:
    """A standard as data: its source, thresholds, where it applies and its target.

    Parameters
    ----------
    id
        Short name (``xinle``); ``--rules`` takes it.
    name_en, name_zh
        The rule in words.
    source
        ``title`` (required), ``issuer``, ``clause``, ``year``, ``url``, ``quote``,
        ``note``: where the figures come from.
    radius_m
        Metres along the streets to a station, or ``None`` (time only). A pack that gives
        ``spacing_m`` (stations at most that far apart) has ``radius_m`` = half of it.
    spacing_m
        The spacing the document gives, when it gives one (``radius_m`` derives from it).
    times
        ``(mode, minutes, speed_kmh or None)`` per travel mode; ``None`` speed: the mode's.
    cover
        Stations that must reach a street (2: cross-coverage, 交叉覆盖).
    road_classes
        OSM ``highway`` classes the rule applies to (of the run's streets to serve), or
        ``None``: all of them.
    dense_radius_m, dense_spacing_m
        A stricter reach (spacing) inside a dense area the user gives, or ``None``.
    target_share
        Share of the streets to serve that must be covered to pass (0 to 1].
    target_from
        "document" (the source gives it) or "stationplan" (it gives none: stationplan's
        default, 100 %).
    notes_en, notes_zh
        How the pack reads its source, or "".
    origin
        "built-in" or the file it was read from.
    """

    id: str
    name_en: str
    name_zh: str
    source: Mapping[str, Any]
    radius_m: float | None = None
    spacing_m: float | None = None
    times: tuple[tuple[str, float, float | None], ...] = ()
    cover: int = 1
    road_classes: tuple[str, ...] | None = None
    dense_radius_m: float | None = None
    dense_spacing_m: float | None = None
    target_share: float = 1.0
    target_from: str = "stationplan"
    notes_en: str = ""
    notes_zh: str = ""
    origin: str = "built-in"

    def name(self, lang: str) -> str:
        """The rule's name in ``lang``."""
        return self.name_zh if lang == "zh" else self.name_en

    def time_for(self, mode: str) -> tuple[float, float] | None:
        """``(minutes, speed_kmh)`` of the pack for travel ``mode``, or ``None``."""
        for m, minutes, speed in self.times:
            if m == mode:
                return minutes, speed if speed is not None else MODES[mode].speed_kmh
        return None

    def coverage_rule(self, mode: str, *, dense: bool = False) -> CoverageRule:
        """The engine's rule for a run in travel ``mode`` (inside the dense area with
        ``dense``).

        >>> p = builtin_pack("xinle")
        >>> p.coverage_rule("walk").limit_m, p.coverage_rule("bike").limit_m
        (500.0, 250.0)
        >>> builtin_pack("shandong").coverage_rule("walk", dense=True).limit_m
        250.0
        """
        time = self.time_for(mode)
        radius = self.dense_radius_m if dense else self.radius_m
        if radius is None and time is None:
            msg = (f"rule {self.id} has no threshold for --mode {mode}: it gives no distance "
                   f"and no [time.{mode}]")
            raise InputError(msg)
        return CoverageRule(radius_m=radius, max_minutes=None if time is None else time[0],
                            speed_kmh=time[1] if time else MODES[mode].speed_kmh,
                            cover=self.cover)

    def describe(self) -> dict[str, Any]:
        """The pack as plain data for ``summary.json``."""
        return {
            "id": self.id, "name_en": self.name_en, "name_zh": self.name_zh,
            "origin": self.origin, "source": dict(self.source),
            "radius_m": self.radius_m, "spacing_m": self.spacing_m,
            "times": [{"mode": m, "minutes": t, "speed_kmh": s} for m, t, s in self.times],
            "cover": self.cover,
            "road_classes": None if self.road_classes is None else list(self.road_classes),
            "dense_radius_m": self.dense_radius_m, "dense_spacing_m": self.dense_spacing_m,
            "target_share": self.target_share, "target_from": self.target_from,
            "notes_en": self.notes_en, "notes_zh": self.notes_zh,
        }


# --- reading packs ---------------------------------------------------------------------

def _toml() -> Any:
    """The TOML reader: tomllib (Python 3.11+), else the tomli package (a dependency
    there)."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # type: ignore[import-not-found, unused-ignore]

    return tomli


def builtin_pack(rule_id: str) -> RulePack:
    """A built-in rule pack by its id (:data:`BUILTIN_RULES`).

    >>> builtin_pack("acftu-15min").cover, builtin_pack("gb50180-5").radius_m
    (2, 300.0)
    >>> builtin_pack("xinel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: unknown rule 'xinel'; did you mean xinle? ...
    """
    if rule_id not in BUILTIN_RULES:
        close = difflib.get_close_matches(rule_id, BUILTIN_RULES, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        msg = (f"unknown rule {rule_id!r}{hint} (built-in: {', '.join(BUILTIN_RULES)}; or "
               "a .toml file of your own)")
        raise InputError(msg)
    data = (resources.files("stationplan") / "_rules" / f"{rule_id}.toml").read_bytes()
    return parse_rule_pack(_toml().loads(data.decode("utf-8")), where=f"rule {rule_id}",
                           origin="built-in")


def read_rule_pack(path: str | Path) -> RulePack:
    """Read a rule pack of your own from a TOML file.

    Parameters
    ----------
    path
        The file (see docs/outputs.md, "Rule packs", for its keys).

    Returns
    -------
    RulePack
    """
    path = Path(path)
    if not path.is_file():
        msg = f"rule file {path} not found"
        raise InputError(msg)
    toml = _toml()
    try:
        data = toml.loads(path.read_bytes().decode("utf-8-sig"))
    except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"{path.name}: not a valid TOML file ({' '.join(str(exc).split())})"
        raise InputError(msg) from None
    data.setdefault("id", _file_id(path))
    return parse_rule_pack(data, where=path.name, origin=str(path.name))


def _file_id(path: Path) -> str:
    stem = path.name.removesuffix(".toml").lower()
    return re.sub(r"[^a-z0-9_.-]+", "-", stem).strip("-") or "rule"


def _unknown(keys: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"{where}: unknown key {key!r}{hint} (keys: {', '.join(allowed)})"
            raise InputError(msg)


def _table(value: Any, where: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        msg = f"{where}: {key} must be a table ([{key}]), not {value!r}"
        raise InputError(msg)
    return value


def _number(value: Any, where: str, key: str, kind: str) -> float:
    try:
        check_option(key, value, kind=kind)
    except InputError as exc:
        msg = f"{where}: {exc}"
        raise InputError(msg) from None
    return float(value)


def _words(value: Any, where: str, key: str) -> tuple[str, str]:
    """(en, zh) of a text given as one string or as a table with en and zh."""
    if isinstance(value, str):
        return value, value
    table = _table(value, where, key)
    _unknown(table, _LANG_KEYS, f"{where} [{key}]")
    en, zh = table.get("en"), table.get("zh")
    if not isinstance(en or zh, str):
        msg = f"{where}: {key} needs en or zh text"
        raise InputError(msg)
    return str(en or zh), str(zh or en)


def _reach(table: Mapping[str, Any], where: str) -> tuple[float | None, float | None]:
    """(radius_m, spacing_m) of a table giving at most one of them."""
    if "radius_m" in table and "spacing_m" in table:
        msg = f"{where}: give radius_m or spacing_m, not both"
        raise InputError(msg)
    if "spacing_m" in table:
        spacing = _number(table["spacing_m"], where, "spacing_m", "radius_m")
        return spacing / 2.0, spacing
    if "radius_m" in table:
        return _number(table["radius_m"], where, "radius_m", "radius_m"), None
    return None, None


def parse_rule_pack(data: Mapping[str, Any], *, where: str = "rule",
                    origin: str = "built-in") -> RulePack:
    """Check a rule pack's data (as TOML reads it) and build the :class:`RulePack`.

    Every problem is a one-line :class:`~stationplan.InputError` naming ``where`` and the key.

    Examples
    --------
    >>> p = parse_rule_pack({"id": "mine", "spacing_m": 800, "source": {"title": "T"}})
    >>> p.radius_m, p.target_share, p.target_from
    (400.0, 1.0, 'stationplan')
    >>> parse_rule_pack({"id": "m", "radus_m": 5, "source": {"title": "T"}})
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: rule: unknown key 'radus_m'; did you mean 'radius_m'? \
(keys: id, name, radius_m, spacing_m, time, cover, road_classes, dense, target_share, \
target_from, source, notes)
    >>> parse_rule_pack({"id": "m", "source": {"title": "T"}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: rule: no threshold: give radius_m, spacing_m or ...
    """
    _unknown(data, _KEYS, where)
    rule_id = data.get("id")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        msg = (f"{where}: id must be a short name of lower-case letters, digits and - _ . "
               f"(e.g. my-rule), not {rule_id!r}")
        raise InputError(msg)
    name_en, name_zh = _words(data.get("name", rule_id), where, "name")
    radius, spacing = _reach(data, where)
    times = []
    time_table = _table(data.get("time", {}), where, "time")
    _unknown(time_table, MODE_NAMES, f"{where} [time]")
    for mode in MODE_NAMES:
        if mode not in time_table:
            continue
        t = _table(time_table[mode], where, f"time.{mode}")
        _unknown(t, _TIME_KEYS, f"{where} [time.{mode}]")
        if "minutes" not in t:
            msg = f"{where}: [time.{mode}] needs minutes"
            raise InputError(msg)
        minutes = _number(t["minutes"], where, f"time.{mode}.minutes", "max_minutes")
        speed = (None if "speed_kmh" not in t
                 else _number(t["speed_kmh"], where, f"time.{mode}.speed_kmh", "speed_kmh"))
        times.append((mode, minutes, speed))
    if radius is None and not times:
        msg = f"{where}: no threshold: give radius_m, spacing_m or a [time.walk] table"
        raise InputError(msg)
    cover = data.get("cover", 1)
    try:
        check_option("cover", cover)
    except InputError as exc:
        msg = f"{where}: {exc}"
        raise InputError(msg) from None
    classes = data.get("road_classes")
    if classes is not None and (not isinstance(classes, list) or not classes
                                or not all(isinstance(c, str) and c for c in classes)):
        msg = f"{where}: road_classes must be a list of OSM highway classes, not {classes!r}"
        raise InputError(msg)
    dense_radius = dense_spacing = None
    if "dense" in data:
        dense = _table(data["dense"], where, "dense")
        _unknown(dense, _DENSE_KEYS, f"{where} [dense]")
        dense_radius, dense_spacing = _reach(dense, f"{where} [dense]")
        if dense_radius is None:
            msg = f"{where}: [dense] needs radius_m or spacing_m"
            raise InputError(msg)
    target = _number(data.get("target_share", 1.0), where, "target_share", "target_share")
    target_from = data.get("target_from", "stationplan")
    if target_from not in TARGET_FROM:
        msg = f"{where}: target_from must be document or stationplan, not {target_from!r}"
        raise InputError(msg)
    source = _table(data.get("source"), where, "source") if "source" in data else None
    if source is None or not isinstance(source.get("title"), str) or not source["title"]:
        msg = f"{where}: [source] needs a title (the document the rule comes from)"
        raise InputError(msg)
    _unknown(source, _SOURCE_KEYS, f"{where} [source]")
    if "year" in source and (isinstance(source["year"], bool)
                             or not isinstance(source["year"], int)):
        msg = f"{where}: [source] year must be a whole number, not {source['year']!r}"
        raise InputError(msg)
    notes_en, notes_zh = _words(data["notes"], where, "notes") if "notes" in data else ("", "")
    return RulePack(
        id=rule_id, name_en=name_en, name_zh=name_zh, source=dict(source), radius_m=radius,
        spacing_m=spacing, times=tuple(times), cover=int(cover),
        road_classes=None if classes is None else tuple(classes),
        dense_radius_m=dense_radius, dense_spacing_m=dense_spacing, target_share=target,
        target_from=target_from, notes_en=notes_en, notes_zh=notes_zh, origin=origin)


def load_rules(spec: str | Sequence[str | RulePack]) -> tuple[RulePack, ...]:
    """The rule packs of a ``--rules`` value: built-in ids and TOML files, comma-separated.

    >>> [p.id for p in load_rules("xinle,acftu-15min")]
    ['xinle', 'acftu-15min']
    >>> load_rules("xinle,xinle")
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: --rules names rule xinle twice
    """
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    packs: list[RulePack] = []
    for item in items:
        if isinstance(item, RulePack):
            packs.append(item)
        elif not item:
            msg = f"--rules has an empty name in {spec!r}"
            raise InputError(msg)
        elif item.lower().endswith(".toml") or "/" in item or "\\" in item:
            packs.append(read_rule_pack(item))
        else:
            packs.append(builtin_pack(item))
    ids = [p.id for p in packs]
    for i, rule_id in enumerate(ids):
        if rule_id in ids[:i]:
            msg = f"--rules names rule {rule_id} twice"
            raise InputError(msg)
    return tuple(packs)


# --- verdicts --------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleVerdict:
    """One rule's verdict on a run.

    Parameters
    ----------
    pack
        The rule pack.
    rule
        The engine's rule used (outside the dense area).
    coverage
        Its coverage: the engine's pieces, with streets the rule does not apply to
        "ignored", and, with a dense area, the pieces inside it from the dense rule's run
        (cut exactly at the area's boundary).
    gaps
        Its failing streets as gap runs (:func:`~stationplan.find_gaps`).
    summary
        The rule's entry of ``summary.json`` ``rules``.
    """

    pack: RulePack
    rule: CoverageRule
    coverage: Coverage
    gaps: gpd.GeoDataFrame
    summary: dict[str, Any]


def rule_verdicts(
    network: StreetNetwork,
    stations: gpd.GeoDataFrame,
    packs: Sequence[RulePack],
    *,
    known: Sequence[Coverage] = (),
    dense_area: Any = None,
    districts: gpd.GeoDataFrame | None = None,
    lang: str | None = None,
) -> list[RuleVerdict]:
    """Check each rule with the exact engine: covered share, pass/fail, failing streets.

    Parameters
    ----------
    network, stations
        The street network and the snapped stations (rows with status "ok" are used).
    packs
        The rules (:func:`load_rules`).
    known
        Coverages already computed on the same stations: a rule whose engine rule equals
        one's is not computed again.
    dense_area
        Polygons (GeoDataFrame/GeoSeries with a CRS, or a shapely geometry in WGS-84)
        where a rule's ``[dense]`` threshold applies; ``None``: that part is not checked
        (the verdict says so).
    districts
        District polygons (:func:`~stationplan.read_districts`) for per-district verdicts.
    lang
        Language of the gap runs' words (see :func:`~stationplan.find_gaps`).

    Returns
    -------
    list of RuleVerdict
        In the order of ``packs``.
    """
    mode = network.mode.name
    area = None if dense_area is None else _area_polygon(dense_area, network.crs)
    # The engine reads a rule's limit and cover only (no per-station reaches here), so
    # rules that agree on both share one run.
    cache = {(c.rule.limit_m, c.rule.cover): c for c in known if c.rule.reach_col is None}

    def run(rule: CoverageRule) -> Coverage:
        key = (rule.limit_m, rule.cover)
        if key not in cache:
            cache[key] = compute_coverage(network, stations, rule=rule)
        return dataclasses.replace(cache[key], rule=rule)

    out = []
    for pack in packs:
        rule = pack.coverage_rule(mode)
        cov = run(rule)
        pieces = cov.pieces
        dense_checked = None
        if pack.dense_radius_m is not None:
            dense_checked = area is not None
            if area is not None:
                inner = run(pack.coverage_rule(mode, dense=True))
                pieces = _zoned(pieces, inner.pieces, area, network)
        if pack.road_classes is not None:
            pieces = _only_classes(pieces, pack.road_classes)
        cov = dataclasses.replace(cov, pieces=pieces)
        gaps = find_gaps(cov, lang=lang)
        entry = _verdict(pack, rule, cov, gaps, dense_checked, districts)
        log.info("rule %s: %.1f %% of %.1f km covered, target %.0f %%: %s", pack.id,
                 100 * entry["covered_share"], entry["demand_m"] / 1000,
                 100 * pack.target_share, "pass" if entry["passed"] else "fail")
        out.append(RuleVerdict(pack, rule, cov, gaps, entry))
    return out


def _passed(covered_m: float, demand_m: float, target: float) -> bool:
    """Covered at least ``target`` of the demand (to the millimetre)."""
    return covered_m >= target * demand_m - 1e-3


def _verdict(pack: RulePack, rule: CoverageRule, cov: Coverage, gaps: gpd.GeoDataFrame,
             dense_checked: bool | None, districts: gpd.GeoDataFrame | None) -> dict[str, Any]:
    covered, gap = cov.covered_m, cov.gap_m
    demand = covered + gap
    entry: dict[str, Any] = {
        **pack.describe(),
        "rule": rule.describe(),
        "dense_area_checked": dense_checked,
        "demand_m": round_m(demand),
        "covered_m": round_m(covered),
        "covered_share": share(covered, demand),
        "gap_m": round_m(gap),
        "passed": _passed(covered, demand, pack.target_share),
        "gap_runs": len(gaps),
        "failing_streets": [
            {"gap_id": int(g.gap_id), "street": str(g.street), "from_street": str(g.from_street),
             "to_street": str(g.to_street), "length_m": round_m(g.length_m),
             "amap_url": str(g.amap_url)}
            for g in gaps.head(_TOP_FAILING).itertuples()],
    }
    if districts is not None:
        from .report import district_table

        table = district_table(cov, districts)
        entry["districts"] = [
            {"district": r["district"], "demand_m": r["demand_m"], "covered_m": r["covered_m"],
             "covered_share": r["covered_share"], "gap_m": r["gap_m"],
             "passed": _passed(r["covered_m"], r["demand_m"], pack.target_share)
             if r["demand_m"] > 0 else None}
            for r in table["rows"]]
    return entry


def _only_classes(pieces: gpd.GeoDataFrame, classes: tuple[str, ...]) -> gpd.GeoDataFrame:
    """The pieces with demand streets of other classes than ``classes`` made "ignored"."""
    out = pieces.copy()
    off = out["status"].isin(["covered", "gap"]) & ~out["highway"].isin(classes)
    out.loc[off, "status"] = "ignored"
    out.loc[off, "demand"] = False
    return out


def _area_polygon(area: Any, crs: Any) -> Any:
    """One (multi)polygon in the network CRS from a frame, a series or a WGS-84 geometry."""
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            msg = "the dense area has no CRS"
            raise InputError(msg)
        geoms = area.to_crs(crs).geometry if isinstance(area, gpd.GeoDataFrame) \
            else area.to_crs(crs)
    else:
        geoms = gpd.GeoSeries([area], crs=4326).to_crs(crs)
    polys = [g for g in geoms if g is not None and g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        msg = "the dense area holds no polygon"
        raise InputError(msg)
    return shapely.make_valid(shapely.union_all(polys))


def _zoned(outer: gpd.GeoDataFrame, inner: gpd.GeoDataFrame, area: Any,
           network: StreetNetwork) -> gpd.GeoDataFrame:
    """The pieces of ``outer`` outside ``area`` and of ``inner`` inside it, both cut
    exactly where the streets cross the area's boundary."""
    cuts = _boundary_cuts(network, area)
    parts = []
    for frame, inside in ((outer, False), (inner, True)):
        cut = _cut_at(frame, cuts)
        mid = shapely.line_interpolate_point(cut.geometry.to_numpy(), 0.5, normalized=True)
        keep = shapely.covers(area, mid) == inside
        parts.append(cut.loc[keep])
    both = pd.concat(parts, ignore_index=True)
    both = both.sort_values(["edge_id", "start_m"], kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(both, geometry="geometry", crs=outer.crs)


def _boundary_cuts(network: StreetNetwork, area: Any) -> dict[int, list[float]]:
    """Per edge, the metres along it where it crosses the area's boundary."""
    lines = network.edges.geometry.to_numpy()
    boundary = shapely.boundary(area)
    hit = shapely.STRtree(lines).query(boundary, predicate="intersects")
    cuts: dict[int, list[float]] = {}
    length = _route.routing(network).length  # metres of routing, as start_m/end_m
    for e in hit.tolist():
        crossing = shapely.intersection(lines[e], boundary)
        points = shapely.get_parts(shapely.extract_unique_points(crossing))
        along = shapely.line_locate_point(lines[e], points)
        geo_len = float(shapely.length(lines[e]))
        scale = float(length[e]) / geo_len if geo_len > 0 else 1.0
        cuts[e] = sorted(float(x) * scale for x in np.atleast_1d(along))
    return cuts


def _cut_at(pieces: gpd.GeoDataFrame, cuts: dict[int, list[float]]) -> gpd.GeoDataFrame:
    """``pieces`` with each piece cut at the positions of its edge inside it."""
    from shapely.ops import substring

    edge = pieces["edge_id"].to_numpy()
    touched = np.flatnonzero(np.isin(edge, np.fromiter(cuts, dtype=np.int64, count=len(cuts))))
    rows, drop = [], []
    for i in touched.tolist():
        row = pieces.iloc[i]
        a, b = float(row["start_m"]), float(row["end_m"])
        inner = [x for x in cuts[int(edge[i])] if a + 1e-3 < x < b - 1e-3]
        if not inner:
            continue
        drop.append(i)
        geom = row.geometry
        scale = float(shapely.length(geom)) / (b - a) if b > a else 1.0
        bounds = [a, *inner, b]
        for x, y in itertools.pairwise(bounds):
            part = row.copy()
            part["start_m"], part["end_m"], part["length_m"] = x, y, y - x
            part["geometry"] = substring(geom, (x - a) * scale, (y - a) * scale)
            rows.append(part)
    if not drop:
        return pieces
    kept = pieces.drop(index=pieces.index[drop])
    added = gpd.GeoDataFrame(rows, geometry="geometry", crs=pieces.crs)
    out = pd.concat([kept, added], ignore_index=True)
    return gpd.GeoDataFrame(out.sort_values(["edge_id", "start_m"], kind="stable")
                            .reset_index(drop=True), geometry="geometry", crs=pieces.crs)

