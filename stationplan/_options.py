"""Defaults and option objects shared by the pipeline, the library and the command line.

Every default of a run is written here once: :mod:`stationplan.pipeline` uses these values
in its signatures and the command line shows them in its ``--help``. The module imports
nothing heavy, so the command line can build its parser from it quickly.
"""

from __future__ import annotations

import math
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
# The keys of stationplan.network.MODES (tests check that they agree).
MODE_NAMES = ("bike", "ebike", "walk")
RADIUS_M = 500.0
MAX_MINUTES = 5.0
MAX_SNAP_M = 100.0

# --- network ---------------------------------------------------------------------------
# Margin of the network command; coverage, plan, check and report use the coverage limit.
NETWORK_MARGIN_M = 500.0
JOIN_TOLERANCE_M = 1.0
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
SPACING = "network"
SPACING_METHODS = ("network", "straight")
TIME_LIMIT_S = 20.0
SEED = 0

# --- check -----------------------------------------------------------------------------
MIN_GAIN_M = 150.0

# --- maps and exports ------------------------------------------------------------------
LANGS = ("zh", "en")
BASEMAP = "osm"
BASEMAPS = ("osm", "carto", "tianditu", "gaode")
EXPORT_FORMATS = ("geojson", "csv", "xlsx", "kml", "gpx", "amap", "amap-maplab")
_TIANDITU_KEY = re.compile(r"[0-9A-Za-z]{8,64}")


@dataclass(frozen=True)
class MapOptions:
    """Language and basemap of the HTML maps; checked when made, before a long run.

    Parameters
    ----------
    lang
        "zh" or "en"; ``None`` picks Chinese when station or street names are Chinese.
    basemap
        "osm", "carto" (light CartoDB), "tianditu" (needs ``tianditu_key``) or "gaode".
        With "gaode" every layer is shifted to GCJ-02 to sit on Gaode's tiles.
    tianditu_key
        A Tianditu browser key (天地图 "浏览器端" key); it is written into the HTML.

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
    basemap: str = BASEMAP
    tianditu_key: str | None = None

    def __post_init__(self) -> None:
        if self.basemap not in BASEMAPS:
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
        Join line ends closer than this, in metres.
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
        _check_metres("join_tolerance_m", self.join_tolerance_m, what="metres")
        for name in ("class_column", "oneway_column"):
            _check_text(name, getattr(self, name), what="a column name")


def _check_metres(name: str, value: object, *, what: str) -> None:
    """Raise unless ``value`` is a finite number >= 0 (a bool is not a number here).

    >>> _check_metres("margin_m", 0, what="metres")
    >>> _check_metres("margin_m", -1.0, what="metres of streets kept beyond the area")
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: margin_m must be a number >= 0 (metres of streets kept \
beyond the area), not -1.0
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        msg = f"{name} must be a number >= 0 ({what}), not {value!r}"
        raise InputError(msg)


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
        The area to serve (see :func:`~stationplan.load_network`).
    area_crs
        The coordinate system of the ``area`` file's coordinates when it is not the
        file's own, e.g. "gcj02" for a polygon drawn on Amap (command line:
        ``--area-crs``); needs ``area``.
    margin_m
        Metres of streets kept beyond the area; ``None``: the coverage limit for coverage,
        plan, check and report, 500 m for the network command.
    roads
        Which road classes are demand; ``None`` (the default) means the brief's classes,
        :data:`~stationplan.BRIEF_ROAD_CLASSES` (kept as ``None`` here because building
        them needs :mod:`stationplan.area`, which this light module does not import); pass
        ``RoadClasses()`` to serve every class.
    centerline
        How a centerline file is joined (:class:`CenterlineOptions`).
    cache_dir, overpass_url, nominatim_url
        Download cache folder and endpoints.

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
    area: Any = None
    area_crs: Any = None
    area_place: str | None = None
    margin_m: float | None = None
    roads: RoadClasses | None = None
    centerline: CenterlineOptions | None = None
    cache_dir: str | Path | None = None
    overpass_url: str | None = None
    nominatim_url: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODE_NAMES:
            msg = f"mode {self.mode!r} is not known; choose one of {', '.join(MODE_NAMES)}"
            raise InputError(msg)
        if self.margin_m is not None:
            _check_metres("margin_m", self.margin_m, what="metres of streets kept beyond the "
                          "area; None for the default")
        _check_text("area_place", self.area_place, what="a place name")
        _check_crs("area_crs", self.area_crs)
        if self.area_crs is not None and self.area is None:
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


@dataclass(frozen=True)
class StationOptions:
    """How a station file is read and snapped; checked when made, before a long run.

    Parameters
    ----------
    crs, encoding, sheet, lon_col, lat_col, name_col
        As for :func:`~stationplan.read_stations` (``crs="gcj02"`` for Gaode/Tencent
        coordinates).
    max_snap_m
        Stations farther than this many metres from every street are not used.

    Examples
    --------
    >>> StationOptions(crs="gcj02").read_kwargs()["crs"]
    'gcj02'
    >>> StationOptions(max_snap_m=-5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: max_snap_m must be a number >= 0 ...
    """

    crs: Any = None
    encoding: str | None = None
    sheet: str | int | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    name_col: str | None = None
    max_snap_m: float = MAX_SNAP_M

    def __post_init__(self) -> None:
        _check_metres("max_snap_m", self.max_snap_m,
                      what="metres from a station to its street")
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
    min_gain_m, spacing_m, class_weights
        As for :func:`~stationplan.check_sites` (``class_weights`` is the command line's
        ``--weights``).
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
    spacing_m: float | None = None
    class_weights: Mapping[str, float] = field(default_factory=dict)
    benchmark: bool = True
    candidate_spacing_m: float = CANDIDATE_SPACING_M
    time_limit_s: float = TIME_LIMIT_S

    def __post_init__(self) -> None:
        _check_crs("proposal_crs", self.proposal_crs)
        _check_metres("min_gain_m", self.min_gain_m, what="metres of new coverage")
        if self.spacing_m is not None:
            _check_metres("spacing_m", self.spacing_m, what="metres between stations")
        _check_metres("candidate_spacing_m", self.candidate_spacing_m,
                      what="metres between street candidates")
        _check_metres("time_limit_s", self.time_limit_s, what="seconds")
        if not isinstance(self.class_weights, Mapping):
            msg = (f"class_weights must map road classes to weights, "
                   f"not {self.class_weights!r}")
            raise InputError(msg)
        # read-only, so that the frozen options stay unchanged
        object.__setattr__(self, "class_weights", MappingProxyType(dict(self.class_weights)))
