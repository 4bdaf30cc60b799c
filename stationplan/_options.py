"""Defaults and option objects shared by the pipeline, the library and the command line.

Every default of a run is written here once: :mod:`stationplan.pipeline` uses these values
in its signatures and the command line shows them in its ``--help``. The module imports
nothing heavy, so the command line can build its parser from it quickly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ._errors import InputError

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
EXPORT_FORMATS = ("geojson", "csv", "kml", "gpx", "amap")
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
        tol = self.join_tolerance_m
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not (
                math.isfinite(tol) and tol >= 0):
            msg = f"join_tolerance_m must be a number >= 0 (metres), not {tol!r}"
            raise InputError(msg)
        for name in ("class_column", "oneway_column"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value.strip()):
                msg = f"{name} must be a column name, not {value!r}"
                raise InputError(msg)
