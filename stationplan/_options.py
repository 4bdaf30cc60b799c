"""Defaults and option objects shared by the pipeline, the library and the command line.

Every default of a run is written here once: :mod:`stationplan.pipeline` uses these values
in its signatures and the command line shows them in its ``--help``. The module imports
nothing heavy, so the command line can build its parser from it quickly.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._errors import InputError

if TYPE_CHECKING:  # area imports geopandas; this module stays light
    from .area import RoadClasses

# --- coverage rule ---------------------------------------------------------------------
MODE = "walk"
# The planning area when none is given: the built-up area derived from the data
# (stationplan.area.built_up_area); "none" (None) is the whole network.
AREA = "auto"
# The keys of stationplan.network.MODES (tests check that they agree).
MODE_NAMES = ("bike", "ebike", "walk")
RADIUS_M = 500.0
MAX_MINUTES = 5.0
MAX_SNAP_M = 100.0
QUOTA_CURVE = 4  # batch plan: new sites per unit on the best-K curve, 0..N

# --- network ---------------------------------------------------------------------------
# Margin of the network command; coverage, plan, check and report use the coverage limit.
NETWORK_MARGIN_M = 500.0
JOIN_TOLERANCE_M = 1.0
# Largest distance between the two one-way carriageways of one road counted once.
PAIR_CARRIAGEWAYS_M = 40.0
# Halo of a partition's units: the default reach plus twice the default snap distance plus
# the distance between twin carriageway positions (stationplan.halo.required_halo_m): at
# most the pair distance, and 5 m more where a matched stretch is carried on to a
# carriageway's end (find_carriageway_pairs' min_overlap_m), so the default rule is exact
# on every unit.
HALO_M = RADIUS_M + 2 * MAX_SNAP_M + PAIR_CARRIAGEWAYS_M + 5.0
# Street segments one unit's extract may hold (its halo included): a larger region is
# split into tiles (partition). Workers held 0.7 GB at 10^5 segments a unit.
MAX_UNIT_EDGES = 300_000
# --- the planner's page (stationplan serve) ----------------------------------------------
SERVE_HOST = "127.0.0.1"  # this computer only; any other address needs the access token
SERVE_PORT = 8765
# Largest upload, bytes: a county's OSM extract is tens of MB, a city's a few hundred.
MAX_UPLOAD_NETWORK_BYTES = 200 * 2**20
MAX_UPLOAD_SHEET_BYTES = 20 * 2**20

OSM_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")
GRAPHML_SUFFIXES = (".graphml", ".graphml.xml")
CENTERLINE_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".parquet", ".geoparquet", ".fgb")

# The brief: "main and secondary roads, streets and alleys of the main urban area"
# (主城区的主次干道、街巷). Footways count as alleys (narrow 街巷 are often mapped so), but
# sidewalks and crossings duplicate the street beside them; service roads other than
# alleys are driveways and parking aisles. The Chinese names are the CJJ 37 urban road
# classes found in planning-bureau centerline files; 快速路 (expressways) carry no walkers.
# stationplan.area.BRIEF_ROAD_CLASSES is built from these two tuples.
BRIEF_SERVE = (
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street",
    "pedestrian", "road", "service:alley", "footway", "unknown",
    "主干路", "次干路", "支路", "街巷",
)
BRIEF_IGNORE = ("footway:sidewalk", "footway:crossing")

# --- siting (plan) ---------------------------------------------------------------------
TARGET_SHARE = 1.0
CANDIDATES = "auto"
CANDIDATE_SPACING_M = 50.0
CANDIDATE_SNAP_M = 50.0
RESOLUTION_M = 25.0
TIME_LIMIT_S = 20.0
SEED = 0

# --- demand weights (--demand) ---------------------------------------------------------
# Demand is street length ("length"), or weighted by rider points of the OSM file
# ("riders") or of a user's file (stationplan.weights): a quartic kernel of KERNEL_M
# metres (about four minutes on foot) over units of at most DEMAND_UNIT_M metres.
DEMAND = "length"
DEMAND_KINDS = ("length", "riders")
KERNEL_M = 300.0
DEMAND_UNIT_M = 25.0

# --- addresses of proposed sites --------------------------------------------------------
# An unnamed street takes the name of a named one this far along the streets; an address
# names a cross street this far along the streets (county towns have long streets between
# named crossings: at 1 km, 40 % of Guixi's street positions had none); a site is "near" a
# named place or house number this far in a straight line (what a team sees from the spot).
ADDRESS_STREET_M = 100.0
ADDRESS_CROSS_M = 3000.0
ADDRESS_NEAR_M = 100.0

# --- siting rules: one rule for plan and check -----------------------------------------
# A plan proposes only sites its own check accepts: both take the same options with the
# same defaults. Stations at least MIN_SPACING_M apart (None: the coverage limit, so
# that no new site stands inside another's catchment; 0: no minimum), measured along
# the streets ("network") or in a straight line; every new site adds at least
# MIN_GAIN_M street metres to the stations before it.
MIN_SPACING_M = None
SPACING = "network"
SPACING_METHODS = ("network", "straight")
MIN_GAIN_M = 150.0
# Coordinates read from files carry ~0.1 mm of noise: every threshold of check and of the
# rule for new sites (snap distance, spacing, minimum gain) allows 1 mm.
TOLERANCE_M = 1e-3

# --- maps and exports ------------------------------------------------------------------
LANGS = ("zh", "en")
BASEMAP: str | None = None  # follows the data: Gaode inside China, else OpenStreetMap
BASEMAPS = ("osm", "carto", "tianditu", "gaode")
EXPORT_FORMATS = ("geojson", "csv", "xlsx", "kml", "gpx", "amap", "amap-maplab")
# File format of a run's geometry tables (street pieces, gap runs, gap areas): "auto" writes
# GeoJSON up to PARQUET_ABOVE_PIECES street pieces and GeoParquet above (a GeoJSON of a
# million pieces is gigabytes of text that takes minutes to write and to open).
OUTPUT_FORMAT = "auto"
OUTPUT_FORMATS = ("auto", "geojson", "parquet")
PARQUET_ABOVE_PIECES = 200_000
# Above this many street pieces the HTML map draws merged, screen-simplified layers: the
# streets of one distance band and the gaps of one line width each become one line drawn
# to about a screen pixel at the map's first zoom (stationplan.maps.coverage_map).
MAP_MERGED_ABOVE_PIECES = 300_000
# Above this many street pieces the PNG's solid lines (distance bands, gap widths, service
# areas, streets not counted) are stroked by a compiled kernel into one picture instead of
# by Agg as collections of lines: the same strokes to within anti-aliasing, a million
# pieces in a third of a second (stationplan.staticmap).
PNG_STROKED_ABOVE_PIECES = 10_000
# Above this many street pieces forked child processes write the geometry tables, the gap
# table and the PNG while the HTML map is drawn (stationplan.outputs.write_coverage_outputs)
# and dissolve half of the map's service areas (stationplan._render.mapdata.service_areas);
# Linux only.
FORK_ABOVE_PIECES = 100_000
# Above this many gap runs gaps.csv and gaps.xlsx (tables to print) are not written: the
# gap layer (gaps.geojson or gaps.parquet) holds every run.
GAP_TABLE_MAX_ROWS = 50_000
_TIANDITU_KEY = re.compile(r"[0-9A-Za-z]{8,64}")


# --- ranges of the numeric options -----------------------------------------------------
# One rule per option, used by the option objects, the public functions that take the
# option, and the command line's argument types, so that each says the same thing.


@dataclass(frozen=True)
class Range:
    """The values a numeric option may take: finite, at least ``low`` (or above it when
    ``strict``), at most ``high``, and whole when ``whole``; ``what`` says what it measures.

    Examples
    --------
    >>> Range("metres", strict=True).check("radius_m", 500)
    >>> Range("metres", strict=True).check("radius_m", float("nan"))
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: radius_m must be a number > 0 (metres), not nan
    >>> Range("new sites", low=1, whole=True).parse("2"), Range("share", high=1).rule
    (2, 'must be a number >= 0 and <= 1 (share)')
    """

    what: str
    low: float = 0.0
    strict: bool = False
    high: float | None = None
    whole: bool = False

    @property
    def rule(self) -> str:
        """The rule in words, without the option's name."""
        kind = "a whole number" if self.whole else "a number"
        low = f"{'>' if self.strict else '>='} {self.low:g}"
        high = "" if self.high is None else f" and <= {self.high:g}"
        return f"must be {kind} {low}{high} ({self.what})"

    def holds(self, value: object) -> bool:
        """Whether ``value`` is allowed (a bool is not a number here)."""
        if isinstance(value, bool) or not isinstance(
                value, numbers.Integral if self.whole else numbers.Real):
            return False
        try:  # whole numbers are compared as they are: a huge seed is still a seed
            number = int(value) if self.whole else float(value)  # type: ignore[call-overload]
        except OverflowError:  # an int too large for a float
            return False
        return ((self.whole or math.isfinite(number))
                and (number > self.low if self.strict else number >= self.low)
                and (self.high is None or number <= self.high))

    def check(self, name: str, value: object) -> None:
        """Raise :class:`~stationplan.InputError` naming ``name`` unless ``value`` holds."""
        if not self.holds(value):
            msg = f"{name} {self.rule}, not {_shown(value)}"
            raise InputError(msg)

    def parse(self, text: str) -> Any:
        """The number written in ``text`` (an int when ``whole``), or an
        :class:`~stationplan.InputError` without the option's name (the caller adds it)."""
        try:
            value: float = int(text) if self.whole else float(text)
        except ValueError:
            value = math.nan
        if not self.holds(value):
            msg = f"{self.rule}, not {text!r}"
            raise InputError(msg)
        return value


def _shown(value: object) -> str:
    """A value for a message: numpy numbers as plain numbers."""
    item = getattr(value, "item", None)
    return repr(item() if callable(item) and getattr(value, "ndim", None) == 0 else value)


# Every numeric option of the library and the command line (``--radius-m`` is
# ``radius_m``). Nothing takes inf: a limit is switched off with None or its own flag.
RANGES: Mapping[str, Range] = MappingProxyType({
    # coverage rule
    "radius_m": Range("metres along the streets to a station", strict=True),
    "max_minutes": Range("minutes of travel to a station", strict=True),
    "speed_kmh": Range("km/h", strict=True),
    "cover": Range("stations that must reach a street", low=1, high=20, whole=True),
    # station files
    "max_snap_m": Range("metres from a station to its street", strict=True),
    # network
    "margin_m": Range("metres of streets kept beyond the area"),
    "pair_carriageways_m": Range("metres between the two carriageways of one road; 0: no "
                                 "pairs", high=200.0),
    "join_tolerance_m": Range("metres between line ends that are joined"),
    # batch: partition halo and Dask workers
    "halo_m": Range("metres of streets kept around a unit", strict=True),
    "max_unit_edges": Range("street segments in one unit's extract, the task budget",
                            low=1000, whole=True),
    "workers": Range("worker processes", low=1, whole=True),
    # batch plan and allocate: sites per unit, stations to share out
    "quota_curve": Range("new sites on each unit's curve", low=1, whole=True),
    "quota": Range("new stations to share out", low=0, whole=True),
    # siting rules of plan and check
    "min_gain_m": Range("metres of street a site must add"),
    "min_spacing_m": Range("metres between stations; 0 for no minimum"),
    # plan (candidate_spacing_m and time_limit_s also for check's benchmark)
    "target_share": Range("share of all demand street", strict=True, high=1.0),
    "new_sites": Range("new sites to place", low=1, whole=True),
    # Below a metre the candidates or units would be too many to hold.
    "candidate_spacing_m": Range("metres between street candidates", low=1),
    "candidate_snap_m": Range("metres from a host to its street", strict=True),
    "resolution_m": Range("metres of street per unit of the coarse model", low=1),
    "class_weight": Range("demand weight of a road class, 1 when not given"),
    "time_limit_s": Range("seconds", strict=True),
    # demand weights
    "kernel_m": Range("metres of the demand weights' kernel", strict=True),
    "seed": Range("seed of the local search", whole=True),
    # stationplan serve
    "port": Range("TCP port", low=1, high=65535, whole=True),
})


def check_option(name: str, value: object, *, kind: str | None = None) -> None:
    """Raise :class:`~stationplan.InputError` unless ``value`` is in the range of option
    ``kind`` (default ``name``) of :data:`RANGES`; the message names ``name``.

    Examples
    --------
    >>> check_option("margin_m", 0)
    >>> check_option("spacing_m", 0, kind="candidate_spacing_m")
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: spacing_m must be a number >= 1 (metres between street \
candidates), not 0
    """
    RANGES[kind or name].check(name, value)


# The schedulers of stationplan batch, besides a Dask scheduler's address
SCHEDULERS = ("serial", "inprocess", "local")


def check_scheduler(scheduler: object) -> None:
    """Raise :class:`~stationplan.InputError` unless ``scheduler`` is one of
    :data:`SCHEDULERS`, a Dask scheduler address (``tcp://HOST:PORT``, any ``://``) or an
    object (a ``dask.distributed.Client``); a misspelt name gets the closest one.

    Examples
    --------
    >>> check_scheduler("local"), check_scheduler("tcp://10.0.0.5:8786")
    (None, None)
    >>> check_scheduler("locla")
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: scheduler must be serial, inprocess, local or an \
address tcp://HOST:PORT, not 'locla'; did you mean local?
    """
    if not isinstance(scheduler, str) or scheduler in SCHEDULERS or "://" in scheduler:
        return
    import difflib

    msg = (f"scheduler must be {', '.join(SCHEDULERS)} or an address tcp://HOST:PORT, "
           f"not {scheduler!r}")
    close = difflib.get_close_matches(scheduler.strip().lower(), SCHEDULERS, n=1)
    if close:
        msg += f"; did you mean {close[0]}?"
    raise InputError(msg)


def check_regions(regions: str) -> None:
    """Raise :class:`~stationplan.InputError` for a REGIONS argument of ``partition`` that
    cannot work: ``grid:KM`` without a number > 0, ``osm-admin:LEVEL`` without a whole
    number, or a region file that is not there.

    Examples
    --------
    >>> check_regions("grid:2.5"), check_regions("osm-admin:6")
    (None, None)
    >>> check_regions("grid:abc")
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: grid:KM needs the tiles' side in km, a number > 0, not 'abc'
    """
    kind, _, value = regions.partition(":")
    if kind == "grid":
        try:
            km = float(value)
        except ValueError:
            km = math.nan
        if not (math.isfinite(km) and km > 0):
            msg = f"grid:KM needs the tiles' side in km, a number > 0, not {value!r}"
            raise InputError(msg)
    elif kind == "osm-admin":
        if not value.isdigit():
            msg = (f"osm-admin:LEVEL needs an admin level, a whole number (6: counties), "
                   f"not {value!r}")
            raise InputError(msg)
    elif not Path(regions).exists():
        msg = f"{regions}: region file not found (or give grid:KM or osm-admin:LEVEL)"
        raise InputError(msg)


def check_class_weights(class_weights: object, *, name: str = "class_weights") -> None:
    """Raise unless ``class_weights`` maps road classes (text) to weights >= 0.

    Examples
    --------
    >>> check_class_weights({"primary": 2, "footway": 0})
    >>> check_class_weights({"primary": float("inf")})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: class_weights['primary'] must be a number >= 0 ..., not inf
    """
    if not isinstance(class_weights, Mapping):
        msg = f"{name} must map road classes to weights, not {class_weights!r}"
        raise InputError(msg)
    for key, weight in class_weights.items():
        if not (isinstance(key, str) and key.strip()):
            msg = f"{name} must map road classes (text) to weights, not {key!r}"
            raise InputError(msg)
        check_option(f"{name}[{key!r}]", weight, kind="class_weight")


def check_plan_options(
    *,
    target_share: object = None,
    new_sites: object = None,
    candidate_spacing_m: object = CANDIDATE_SPACING_M,
    candidate_snap_m: object = CANDIDATE_SNAP_M,
    resolution_m: object = RESOLUTION_M,
    class_weights: object = None,
    min_spacing_m: object = MIN_SPACING_M,
    spacing: object = SPACING,
    min_gain_m: object = MIN_GAIN_M,
    time_limit_s: object = TIME_LIMIT_S,
    seed: object = SEED,
) -> None:
    """Raise :class:`~stationplan.InputError` naming every siting option out of range.

    The options of :func:`~stationplan.run_plan` and :func:`~stationplan.plan_sites`
    (``None`` for ``target_share``, ``new_sites`` and ``class_weights`` means not given,
    for ``min_spacing_m`` the coverage limit); all problems are reported together.

    Examples
    --------
    >>> check_plan_options(new_sites=3, min_spacing_m=0)
    >>> check_plan_options(target_share=1.5, seed=-1)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: target_share must be a number > 0 and <= 1 (share of
    all demand street), not 1.5; seed must be a whole number >= 0 (seed of the local
    search), not -1
    """
    problems = []
    if target_share is not None and new_sites is not None:
        problems.append("give target_share or new_sites, not both")
    values = {"target_share": target_share, "new_sites": new_sites,
              "candidate_spacing_m": candidate_spacing_m, "candidate_snap_m": candidate_snap_m,
              "resolution_m": resolution_m, "min_spacing_m": min_spacing_m,
              "min_gain_m": min_gain_m, "time_limit_s": time_limit_s, "seed": seed}
    for name, value in values.items():
        if value is not None or name not in ("target_share", "new_sites", "min_spacing_m"):
            try:
                check_option(name, value)
            except InputError as exc:
                problems.append(str(exc))
    if (problem := _spacing_problem(spacing)) is not None:
        problems.append(problem)
    if class_weights is not None:
        try:
            check_class_weights(class_weights)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("; ".join(problems))


def _spacing_problem(spacing: object) -> str | None:
    """What is wrong with a spacing method, or None.

    >>> _spacing_problem("straight") is None, _spacing_problem("air")
    (True, "spacing must be one of network, straight, not 'air'")
    """
    if isinstance(spacing, str) and spacing in SPACING_METHODS:
        return None
    return f"spacing must be one of {', '.join(SPACING_METHODS)}, not {spacing!r}"


def check_spacing(spacing: object) -> None:
    """Raise :class:`~stationplan.InputError` unless ``spacing`` is "network" or "straight"."""
    if (problem := _spacing_problem(spacing)) is not None:
        raise InputError(problem)


@dataclass(frozen=True)
class MapOptions:
    """Language and basemap of the HTML maps, and the file format of the geometry tables;
    checked when made, before a long run.

    Parameters
    ----------
    lang
        "zh" or "en"; ``None`` picks Chinese when station or street names are Chinese.
    basemap
        "osm", "carto" (light CartoDB), "tianditu" (needs ``tianditu_key``) or "gaode";
        ``None`` follows the data: "gaode" inside China, else "osm". With "gaode" every
        layer is shifted to GCJ-02 to sit on Gaode's tiles.
    tianditu_key
        A Tianditu browser key (天地图 "浏览器端" key); it is written into the HTML.
    file_format
        File format of the geometry tables a run writes (street pieces, gap runs, gap
        areas): "geojson", "parquet" (GeoParquet) or "auto" (the default: GeoJSON up to
        :data:`PARQUET_ABOVE_PIECES` street pieces, GeoParquet above).

    Examples
    --------
    >>> MapOptions(lang="zh", basemap="gaode").basemap
    'gaode'
    >>> MapOptions(basemap="tianditu")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: basemap 'tianditu' needs a key: pass --tianditu-key ...
    """

    lang: str | None = None
    basemap: str | None = BASEMAP
    tianditu_key: str | None = None
    file_format: str = OUTPUT_FORMAT

    def __post_init__(self) -> None:
        if self.file_format not in OUTPUT_FORMATS:
            msg = (f"file format {self.file_format!r} is not known; choose one of "
                   f"{', '.join(OUTPUT_FORMATS)}")
            raise InputError(msg)
        if self.basemap is not None and self.basemap not in BASEMAPS:
            msg = f"basemap {self.basemap!r} is not known; choose one of {', '.join(BASEMAPS)}"
            raise InputError(msg)
        key = self.tianditu_key
        if key is not None and not (isinstance(key, str) and _TIANDITU_KEY.fullmatch(key)):
            msg = "tianditu_key must be the letters and digits of a Tianditu key"
            raise InputError(msg)
        if self.basemap == "tianditu" and not key:
            msg = ("basemap 'tianditu' needs a key: pass --tianditu-key "
                   "(a free browser key from https://console.tianditu.gov.cn/)")
            raise InputError(msg)
        if self.lang is not None and self.lang not in LANGS:
            msg = f"lang {self.lang!r} is not supported; choose one of {', '.join(LANGS)}"
            raise InputError(msg)


@dataclass(frozen=True)
class CenterlineOptions:
    """How lines of a road-centerline file are joined into a network, and its columns.

    They apply to centerline files only (``.gpkg``, ``.shp``, ``.geojson``, ...); giving
    them with an OSM file, a GraphML file, a graph or a download is an error.

    Parameters
    ----------
    split_at_crossings
        Also join lines where they cross (by default only where they share a vertex, an
        end lies on another line, or two ends lie within ``join_tolerance_m``).
    join_tolerance_m
        Join line ends closer than this, in metres (>= 0).
    class_column, oneway_column
        Columns holding the road class and the one-way flag (found among common names
        when not given).

    Examples
    --------
    >>> CenterlineOptions(class_column="dldj").join_tolerance_m
    1.0
    >>> CenterlineOptions(join_tolerance_m=-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: join_tolerance_m must be a number >= 0 ...
    """

    split_at_crossings: bool = False
    join_tolerance_m: float = JOIN_TOLERANCE_M
    class_column: str | None = None
    oneway_column: str | None = None

    def __post_init__(self) -> None:
        check_option("join_tolerance_m", self.join_tolerance_m)
        for name in ("class_column", "oneway_column"):
            _check_text(name, getattr(self, name), what="a column name")


CRS_HELP = ("'wgs84', 'gcj02' (Amap, Tencent), 'bd09' (Baidu), 'cgcs2000' or 'EPSG:<code>'")


def _check_crs(name: str, value: object) -> None:
    """Raise unless ``value`` can name a coordinate system: ``None``, a non-blank string,
    an EPSG code, or a CRS object. The name itself is resolved when the file is read
    (:mod:`stationplan._read.coords`, which this light module does not import).

    >>> _check_crs("area_crs", "gcj02"), _check_crs("area_crs", 4326)
    (None, None)
    >>> _check_crs("area_crs", " ")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: area_crs must name a coordinate system: 'wgs84', ...
    """
    text = isinstance(value, str) and bool(value.strip())
    code = isinstance(value, int) and not isinstance(value, bool) and value > 0
    crs_object = isinstance(value, dict) or hasattr(value, "to_wkt") or hasattr(value, "kind")
    ok = value is None or text or code or crs_object
    if not ok:
        msg = f"{name} must name a coordinate system: {CRS_HELP}, not {value!r}"
        raise InputError(msg)


def _check_text(name: str, value: object, *, what: str) -> None:
    """Raise unless ``value`` is ``None`` or a non-blank string."""
    if value is not None and not (isinstance(value, str) and value.strip()):
        msg = f"{name} must be {what}, not {value!r}"
        raise InputError(msg)


@dataclass(frozen=True)
class NetworkOptions:
    """How a run loads its street network; checked when made, before a long run.

    The fields are :func:`~stationplan.load_network`'s options, with the command line's
    defaults.

    Parameters
    ----------
    mode
        Travel mode, a key of :data:`~stationplan.MODES` ("walk", "bike", "ebike"); it also
        sets the coverage rule's default speed.
    area, area_place
        The area to serve (see :func:`~stationplan.load_network`). ``area`` defaults to
        ``"auto"``, the built-up area derived from the data
        (:func:`~stationplan.area.built_up_area`); ``None`` or ``"none"`` is the whole
        network; ``area_place`` overrides the default.
    area_crs
        The coordinate system of the ``area`` file's coordinates when it is not the
        file's own, e.g. "gcj02" for a polygon drawn on Amap (command line:
        ``--area-crs``); needs ``area``.
    margin_m
        Metres (>= 0) of streets kept beyond the area; ``None``: the coverage limit for
        coverage, plan, check and report, 500 m for the network command.
    roads
        Which road classes are demand; ``None`` (the default) means the brief's classes,
        :data:`~stationplan.BRIEF_ROAD_CLASSES` (kept as ``None`` here because building
        them needs :mod:`stationplan.area`, which this light module does not import); pass
        ``RoadClasses()`` to serve every class.
    centerline
        How a centerline file is joined (:class:`CenterlineOptions`).
    cache_dir, overpass_url, nominatim_url
        Download cache folder and endpoints.
    pair_carriageways_m
        Largest distance in metres between the two one-way carriageways of one road that
        count once (command line: ``--carriageway-pair-m``); 0 counts both.

    Examples
    --------
    >>> NetworkOptions(mode="bike", margin_m=300).margin_m
    300
    >>> NetworkOptions(mode="car")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: mode 'car' is not known; choose one of bike, ebike, walk
    """

    mode: str = MODE
    area: Any = AREA
    area_crs: Any = None
    area_place: str | None = None
    margin_m: float | None = None
    roads: RoadClasses | None = None
    centerline: CenterlineOptions | None = None
    cache_dir: str | Path | None = None
    overpass_url: str | None = None
    nominatim_url: str | None = None
    pair_carriageways_m: float = PAIR_CARRIAGEWAYS_M

    def __post_init__(self) -> None:
        check_option("pair_carriageways_m", self.pair_carriageways_m)
        if self.mode not in MODE_NAMES:
            msg = f"mode {self.mode!r} is not known; choose one of {', '.join(MODE_NAMES)}"
            raise InputError(msg)
        if self.margin_m is not None:
            check_option("margin_m", self.margin_m)
        _check_text("area_place", self.area_place, what="a place name")
        _check_crs("area_crs", self.area_crs)
        if isinstance(self.area, str) and self.area.strip().casefold() in ("auto", "none"):
            word = self.area.strip().casefold()
            object.__setattr__(self, "area", None if word == "none" else word)
        auto = isinstance(self.area, str) and self.area == AREA
        if auto and self.area_place is not None:
            object.__setattr__(self, "area", None)  # a place name replaces the default
        if self.area_crs is not None and (self.area is None or auto):
            msg = "area_crs (--area-crs) is the coordinate system of the area file; give area"
            raise InputError(msg)
        if self.roads is not None and not callable(getattr(self.roads, "serves", None)):
            msg = (f"roads must be a RoadClasses (or None for the brief's classes), "
                   f"not {self.roads!r}")
            raise InputError(msg)
        if self.centerline is not None and not isinstance(self.centerline, CenterlineOptions):
            msg = f"centerline must be a CenterlineOptions, not {self.centerline!r}"
            raise InputError(msg)
        for name in ("overpass_url", "nominatim_url"):
            _check_text(name, getattr(self, name), what="a URL (http://... or https://...)")

    @property
    def area_input(self) -> Any:
        """The area as an input of the run (a file, a frame), or ``None`` for the built-up
        area derived from the data ("auto", which names no file).

        >>> NetworkOptions().area_input, NetworkOptions(area="zone.geojson").area_input
        (None, 'zone.geojson')
        """
        return None if isinstance(self.area, str) and self.area == AREA else self.area


@dataclass(frozen=True)
class StationOptions:
    """How a station file is read and snapped; checked when made, before a long run.

    Parameters
    ----------
    crs, encoding, sheet, lon_col, lat_col, name_col
        As for :func:`~stationplan.read_stations` (``crs="gcj02"`` for Gaode/Tencent
        coordinates).
    max_snap_m
        Stations farther than this many metres (> 0) from every street are not used.

    Examples
    --------
    >>> StationOptions(crs="gcj02").read_kwargs()["crs"]
    'gcj02'
    >>> StationOptions(max_snap_m=-5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: max_snap_m must be a number > 0 ...
    """

    crs: Any = None
    encoding: str | None = None
    sheet: str | int | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    name_col: str | None = None
    max_snap_m: float = MAX_SNAP_M

    def __post_init__(self) -> None:
        check_option("max_snap_m", self.max_snap_m)
        _check_text("encoding", self.encoding, what="a text encoding such as 'gbk'")
        _check_crs("crs", self.crs)
        for name in ("lon_col", "lat_col", "name_col"):
            _check_text(name, getattr(self, name), what="a column name")
        sheet = self.sheet
        if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
            msg = f"sheet must be a sheet name or a 0-based index, not {sheet!r}"
            raise InputError(msg)

    def read_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~stationplan.read_stations`."""
        return {"crs": self.crs, "encoding": self.encoding, "sheet": self.sheet,
                "lon_col": self.lon_col, "lat_col": self.lat_col, "name_col": self.name_col}


@dataclass(frozen=True)
class CheckOptions:
    """How proposed sites are checked (``run_check``, and ``run_report`` with proposals).

    Parameters
    ----------
    proposal_crs
        Coordinate system of the proposal file when it differs from the stations' ``crs``.
        It is about that one file, so unlike the stations' ``crs`` it replaces the CRS a
        map file declares (see :func:`~stationplan.read_stations`, ``force_crs``).
    min_gain_m, min_spacing_m, spacing, class_weights
        As for :func:`~stationplan.check_sites` (``class_weights`` is the command line's
        ``--weights``); the first three are also :func:`~stationplan.run_plan`'s, with
        the same defaults, so a plan's proposals pass its own check.
    benchmark, candidate_spacing_m, time_limit_s
        As for :func:`~stationplan.check_summary`.

    Examples
    --------
    >>> CheckOptions(class_weights={"primary": 2}).class_weights["primary"]
    2
    >>> CheckOptions(min_gain_m=-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: min_gain_m must be a number >= 0 ...
    """

    proposal_crs: Any = None
    min_gain_m: float = MIN_GAIN_M
    min_spacing_m: float | None = MIN_SPACING_M
    spacing: str = SPACING
    class_weights: Mapping[str, float] = field(default_factory=dict)
    benchmark: bool = True
    candidate_spacing_m: float = CANDIDATE_SPACING_M
    time_limit_s: float = TIME_LIMIT_S

    def __post_init__(self) -> None:
        _check_crs("proposal_crs", self.proposal_crs)
        check_option("min_gain_m", self.min_gain_m)
        if self.min_spacing_m is not None:
            check_option("min_spacing_m", self.min_spacing_m)
        check_spacing(self.spacing)
        check_option("candidate_spacing_m", self.candidate_spacing_m)
        check_option("time_limit_s", self.time_limit_s)
        check_class_weights(self.class_weights)
        # read-only, so that the frozen options stay unchanged
        object.__setattr__(self, "class_weights", MappingProxyType(dict(self.class_weights)))


@dataclass(frozen=True)
class DemandOptions:
    """What demand is: street length, or street length weighted where riders work.

    Parameters
    ----------
    source
        "length" (street metres, the default), "riders" (weighted by the restaurants,
        shops and parcel points of the OSM network file; see
        :data:`stationplan.weights.RIDER_TAGS`) or the path of a file of weighted points
        or grid cells (the command line's ``--demand``).
    kernel_m
        Width in metres of the quartic kernel that spreads each point's weight over the
        streets near it.
    weight_col
        The file's weight column (detected when not given).
    crs
        Coordinate system of the file's coordinates when not the file's own ("gcj02", ...).

    Examples
    --------
    >>> DemandOptions().source, DemandOptions(source="riders").kernel_m
    ('length', 300.0)
    >>> DemandOptions(source="nonsense")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: demand must be 'length', 'riders' or a weight file; ...
    """

    source: str = DEMAND
    kernel_m: float = KERNEL_M
    weight_col: str | None = None
    crs: Any = None

    def __post_init__(self) -> None:
        source = self.source
        if isinstance(source, Path):
            object.__setattr__(self, "source", str(source))
        elif not isinstance(source, str) or (source not in DEMAND_KINDS
                                             and not Path(source).is_file()):
            msg = (f"demand must be 'length', 'riders' or a weight file; {source!r} is "
                   "neither (no such file)")
            raise InputError(msg)
        check_option("kernel_m", self.kernel_m)
        _check_text("weight_col", self.weight_col, what="a column name")
        _check_crs("crs", self.crs)
