"""Stations read in the wrong coordinate system: GCJ-02 or BD-09 coordinates taken as WGS-84
(or the other way round) sit hundreds of metres off the streets, all in one direction.

:func:`check_offset` is public through :mod:`stationplan.stations`, which also runs the
check when it snaps stations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from . import chinacrs
from ._i18n import WORDS, text
from ._read.stations import usable_points
from .network import StreetNetwork


@dataclass(frozen=True)
class OffsetCheck:
    """Whether stations sit off the streets as if read in the wrong coordinate system.

    Parameters
    ----------
    stations
        Usable stations checked.
    median_snap_m
        Median distance from a station to the nearest street, as read.
    share_300_700
        Share of stations 300–700 m from every street (GCJ-02's offset in China).
    coherence
        0–1: how much the directions from stations to their nearest streets agree
        (1 = all the same way, as a datum shift makes them).
    alternative
        The coordinate system that fits the streets best ("gcj02", "bd09", "wgs84"),
        or ``None`` when none does better than the one used.
    median_snap_alternative_m
        Median snap distance if the coordinates were read as ``alternative``.
    closer_share
        Share of stations that are closer to a street when read as ``alternative``.
    suspected
        True when the stations look read in the wrong system.
    message
        What was found and the fix (``crs='gcj02'``, ``--crs gcj02``); empty if nothing.
    message_zh
        The same in Chinese.
    """

    stations: int
    median_snap_m: float
    share_300_700: float
    coherence: float
    alternative: str | None
    median_snap_alternative_m: float
    closer_share: float
    suspected: bool
    message: str
    message_zh: str = ""

    def warning(self) -> dict[str, str]:
        """The finding as a run's warning: ``{"code": "crs_offset", "en": ..., "zh": ...}``."""
        return {"code": "crs_offset", "en": self.message, "zh": self.message_zh}


_MIN_STATIONS_FOR_CHECK = 5


def check_offset(network: StreetNetwork, stations: gpd.GeoDataFrame) -> OffsetCheck:
    """Check whether stations sit off the streets as GCJ-02 coordinates read as WGS-84 do.

    Each usable station's distance to the nearest street is compared with the distance
    it would have if its source coordinates were GCJ-02, BD-09 or WGS-84 instead of
    what they were read as (``src_crs``; WGS-84 when absent). Read correctly, stations
    lie a few metres beside their street; read in the wrong system they land 0.5 km
    away, which in a dense grid may still be only 20–70 m from *some* street. So a file
    is suspect when another reading brings at least 70 % of the stations closer and cuts
    the median distance by 40 % and 5 m or more; or when most stations sit 300–700 m
    from every street in one direction. Correct data never pass the first test: the
    other reading moves them away from their streets.

    Parameters
    ----------
    network
        The street network.
    stations
        Output of :func:`~stationplan.stations.read_stations` (with ``status``;
        ``src_lon``, ``src_lat`` and ``src_crs`` are used when present).

    Returns
    -------
    OffsetCheck
        The finding, with a message that names the fix.
    """
    return offset_check(network, stations, shapely.STRtree(network.edges.geometry.to_numpy()))


def _nearest(tree: shapely.STRtree, lines: np.ndarray, points: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest street and unit vector towards it, per point."""
    (pt_idx, edge_idx), dist = tree.query_nearest(points, return_distance=True)
    first = np.unique(pt_idx, return_index=True)[1]
    pt_idx, edge_idx, dist = pt_idx[first], edge_idx[first], dist[first]
    near = shapely.line_interpolate_point(
        lines[edge_idx], shapely.line_locate_point(lines[edge_idx], points[pt_idx]))
    vec = shapely.get_coordinates(near) - shapely.get_coordinates(points[pt_idx])
    norm = np.hypot(vec[:, 0], vec[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = vec / norm[:, None]
    return dist, np.nan_to_num(unit)


def offset_check(network: StreetNetwork, stations: gpd.GeoDataFrame,
                 tree: shapely.STRtree) -> OffsetCheck:
    """:func:`check_offset` with the STRtree of the network's edges already built
    (:func:`stationplan.stations.snap_stations` has one)."""
    return offset_verdict(stations, offset_distances(network, stations, tree))


@dataclass(frozen=True)
class OffsetDistances:
    """What :func:`offset_verdict` weighs, per usable station (``rows``: their positions
    in the station table): the distance to the nearest street as read (``dist``), the
    unit vector towards it (``unit``), and the distance if read in each other system
    (``alternatives``; NaN where that reading is not finite). Distances of disjoint sets
    of stations (the units of a batch run) are joined with :meth:`concat`."""

    rows: np.ndarray
    dist: np.ndarray
    unit: np.ndarray
    alternatives: dict[str, np.ndarray]

    @staticmethod
    def concat(parts: Sequence[OffsetDistances]) -> OffsetDistances:
        """The parts as one, in the order of ``rows``."""
        parts = [p for p in parts if len(p.rows)]  # a part without stations knows no system
        rows = np.concatenate([p.rows for p in parts] or [np.zeros(0, np.int64)])
        order = np.argsort(rows, kind="stable")
        systems = sorted({k for p in parts for k in p.alternatives})
        return OffsetDistances(
            rows[order], np.concatenate([p.dist for p in parts] or [np.zeros(0)])[order],
            np.concatenate([p.unit for p in parts] or [np.zeros((0, 2))])[order],
            {k: np.concatenate([p.alternatives.get(k, np.full(len(p.rows), np.nan))
                                for p in parts])[order] for k in systems})


def offset_distances(network: StreetNetwork, stations: gpd.GeoDataFrame,
                     tree: shapely.STRtree, *, rows: np.ndarray | None = None
                     ) -> OffsetDistances:
    """The distances :func:`offset_verdict` weighs, for the usable stations among
    ``rows`` (positions in ``stations``; default all), against the network's streets."""
    usable = usable_points(stations)
    if rows is not None:
        usable &= np.isin(np.arange(len(stations)), rows)
    lines = network.edges.geometry.to_numpy()
    # geopandas-stubs type a GeoSeries' mask selection as a Series of geometries
    geoms = stations.geometry[usable].to_crs(4326)  # type: ignore[operator]
    lon, lat = geoms.x.to_numpy(), geoms.y.to_numpy()
    current = _current_system(stations, usable)
    if not len(lon) or not len(lines):
        return OffsetDistances(np.flatnonzero(usable), np.full(len(lon), np.nan),
                               np.zeros((len(lon), 2)), {})
    dist, unit = _nearest(tree, lines, _project(network, lon, lat))
    alternatives = {}
    for system, (alt_lon, alt_lat) in _alternatives(stations, usable, current, lon, lat).items():
        ok = np.isfinite(alt_lon) & np.isfinite(alt_lat)
        alt = np.full(len(lon), np.nan)
        if ok.any():
            alt[ok] = _nearest(tree, lines, _project(network, alt_lon[ok], alt_lat[ok]))[0]
        alternatives[system] = alt
    return OffsetDistances(np.flatnonzero(usable), dist, unit, alternatives)


def offset_verdict(stations: gpd.GeoDataFrame, found: OffsetDistances) -> OffsetCheck:
    """Whether the stations of ``found`` sit off the streets as if read in the wrong
    system (the rule of :func:`check_offset`), with the message naming the fix."""
    n = len(found.rows)
    if n < _MIN_STATIONS_FOR_CHECK:
        return OffsetCheck(n, math.nan, 0.0, 0.0, None, math.nan, 0.0, False, "")
    usable = np.zeros(len(stations), dtype=bool)
    usable[found.rows] = True
    current = _current_system(stations, usable)
    dist = found.dist
    median = float(np.median(dist))
    share = float(np.mean((dist >= 300) & (dist <= 700)))
    coherence = float(np.hypot(*found.unit.mean(axis=0)))
    best, best_median, closer = None, median, 0.0
    for system, alt_dist in found.alternatives.items():
        if not np.isfinite(alt_dist).all():
            continue
        alt_median = float(np.median(alt_dist))
        if alt_median < best_median:
            best, best_median, closer = system, alt_median, float(np.mean(alt_dist < dist))
    better = (best is not None and closer >= 0.7 and best_median <= 0.6 * median
              and median - best_median >= 5)
    shifted = share >= 0.6 and coherence >= 0.8 and current == "wgs84"
    if not (better or shifted):
        return OffsetCheck(n, median, share, coherence, best, best_median, closer, False, "")
    fix = best if better and best is not None else "gcj02"
    declared = (stations.attrs.get("read_report") or {}).get("crs_from") == "file"
    fix_key = ("warning.crs_offset_fix_file" if declared
               else "warning.crs_offset_fix_proposals"  # the option of that one file
               if stations.attrs.get("role") == "proposals" else "warning.crs_offset_fix")
    fields = {"n": n, "median": f"{median:.0f}", "alt": f"{best_median:.0f}",
              "closer": f"{closer:.0%}", "share": f"{share:.0%}", "fix": fix}
    words = {}
    for lang in ("en", "zh"):
        name = {system: _system_name(system, lang) for system in (current, fix)}
        found_text = text("warning.crs_offset_closer" if better
                          else "warning.crs_offset_shifted",
                          lang, current=name[current], fix_name=name[fix], **fields)
        words[lang] = found_text + text(fix_key, lang, current=name[current],
                                        fix_name=name[fix], **fields)
    return OffsetCheck(n, median, share, coherence, best, best_median, closer, True,
                       words["en"], words["zh"])


def _system_name(system: str, lang: str) -> str:
    """A coordinate system's name for people ("GCJ-02 (Amap, Tencent)"); others as given."""
    key = f"warning.crs.{system}"
    return text(key, lang) if key in WORDS[lang] else system


def _project(network: StreetNetwork, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(network.crs).to_numpy()


def _current_system(stations: gpd.GeoDataFrame, usable: np.ndarray) -> str:
    if "src_crs" not in stations.columns:
        return "wgs84"
    labels = set(stations.loc[usable, "src_crs"].astype(str))
    system = labels.pop() if len(labels) == 1 else "mixed"
    return {"cgcs2000": "wgs84"}.get(system, system)


def _alternatives(stations: gpd.GeoDataFrame, usable: np.ndarray, current: str,
                  lon: np.ndarray, lat: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    """WGS-84 positions if the source coordinates were in another Chinese system."""
    if current not in ("wgs84", "gcj02", "bd09"):
        return {}
    if current == "wgs84" or not {"src_lon", "src_lat"} <= set(stations.columns):
        src_x, src_y = lon, lat
    else:
        src_x = stations.loc[usable, "src_lon"].to_numpy(dtype=float)
        src_y = stations.loc[usable, "src_lat"].to_numpy(dtype=float)
    convert: dict[str, Callable[..., Any]] = {
        "wgs84": lambda x, y: (x, y),
        "gcj02": chinacrs.gcj02_to_wgs84,
        "bd09": chinacrs.bd09_to_wgs84,
    }
    return {system: tuple(np.asarray(v, dtype=float) for v in func(src_x, src_y))
            for system, func in convert.items() if system != current}
