"""Station tables: read them from the files planners have, validate every row, snap them to streets.

Every input row stays in every output. A row that cannot be used keeps its place with a
``status`` other than ``"ok"`` and a ``reason`` that names the file, row and column; a
row that was usable but looked odd (swapped columns that were fixed, rounded
coordinates, a likely duplicate) keeps status ``"ok"`` and says so in ``note``.

The public entry points live here; the table reader is :mod:`stationplan._read.stations`,
the GCJ-02 offset check :mod:`stationplan._offset` and the export markers
:mod:`stationplan._markers` (also :func:`stationplan.export.station_markers`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from ._errors import InputError
from ._i18n import length_text, text
from ._markers import station_markers
from ._offset import OffsetCheck, check_offset, offset_check
from ._options import check_option
from ._read.stations import (  # noqa: F401 - the table's columns, kept as stations.X
    DUPLICATE_NAME_M,
    DUPLICATE_POINT_M,
    STATION_COLUMNS,
    TEXT_FIELDS,
    crs_assumed,
    read_station_table,
    station_file,
    usable_points,
)
from .network import StreetNetwork

log = logging.getLogger(__name__)

__all__ = ["OffsetCheck", "check_offset", "read_stations", "snap_stations", "station_markers"]

_INVALID = "invalid"
_TOO_FAR = "too_far_from_street"
_OUTSIDE = "outside_units"  # a batch run's station in no unit's core


def read_stations(
    path: str | Path,
    *,
    encoding: str | None = None,
    crs: Any = None,
    sheet: str | int | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
    force_crs: bool = False,
) -> gpd.GeoDataFrame:
    """Read a station file into WGS-84 points, one row per data row, every problem named.

    Reads CSV/TXT (UTF-8 with or without BOM, GBK/GB18030, UTF-16), XLSX (title rows
    above the header are skipped), GeoJSON, GeoPackage, Shapefile, KML/KMZ and GPX,
    including the files stationplan writes (``stations.geojson``, the exports). Headers
    are matched in English or Chinese (``经度``/``lng``/``x``, ``纬度``/``lat``/``y``, one
    ``lng,lat`` column, ``名称``, ``地址``, ``电话``, ``开放时间``, service columns ...).

    Parameters
    ----------
    path
        The station file.
    encoding
        Force a text encoding (CSV, GeoJSON, KML, GPX, Shapefile attributes); by default
        UTF-8 is tried, then GB18030.
    crs
        Coordinate system of the file's coordinates when the file does not declare one:
        ``"wgs84"``, ``"gcj02"`` (Amap, Tencent), ``"bd09"`` (Baidu), ``"cgcs2000"`` or
        ``"EPSG:<code>"`` (projected x/y too). Which system is used, first match wins:

        1. what the file declares: a map file's own CRS (RFC 7946 GeoJSON, KML and GPX
           are always WGS-84; a GeoPackage's or a Shapefile's ``.prj``, stationplan's own
           outputs) or tagged coordinate headers (``经度(GCJ-02)``, ``高德经度``,
           ``wgs84_lng``). ``crs`` does not change it (an INFO log says so), unless
           ``force_crs`` is true;
        2. ``crs``;
        3. a note in a sheet naming exactly one system (a title or footer row such as
           "注：坐标由高德地图坐标拾取器获取（GCJ-02）"; a note naming several declares
           nothing);
        4. WGS-84, assumed: ``attrs["read_report"]["crs_from"]`` is then ``"assumed"``
           and :func:`snap_stations` refuses stations that sit off the streets the way
           GCJ-02 or BD-09 read as WGS-84 do.
    sheet
        Sheet of a workbook or layer of a GeoPackage, by name or 0-based position
        (default the first).
    lon_col, lat_col, name_col
        Column names to use instead of the recognised ones; give ``lon_col`` and
        ``lat_col`` the same name for one "lng,lat" column (their header tags are then
        not read).
    force_crs
        ``crs`` is about this one file (such as ``proposal_crs`` for a proposal file): it
        replaces a map file's own CRS, and a tagged header naming another system is an
        error.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, in file order: ``station_id``, ``name``, ``row`` (line, sheet row or
        feature number in the file), ``status`` ("ok" or "invalid"), ``reason`` (why a row
        is invalid: file, row, column and what to do), ``note`` (warnings on usable rows),
        ``address``, ``phone``, ``hours``, ``services`` (keys joined by ``;``, see
        :mod:`stationplan.services`), ``src_lon`` / ``src_lat`` / ``src_crs`` (the
        coordinates as given, x/y for projected systems), ``category``, ``host``,
        ``input_status``, ``input_reason`` when the file has them, the file's other
        columns (those named like the columns above get an ``input_`` prefix), and a
        Point geometry (``None`` for invalid rows). ``attrs["read_report"]`` holds the
        counts that are also logged, ``crs`` (the system read) and ``crs_from`` (where
        it came from: "file", "header", "option", "note" or "assumed"). ``station_id``
        is the id column's value, else the row number (``row<number>`` when a typed id
        already uses that number).

    Raises
    ------
    MissingDataError
        The file does not exist (or is a folder), or has no station rows (empty, or a
        header only): a plan needs stations, so this is an error that names the file,
        not an empty table.
    InputError
        The file cannot be read or has no coordinate columns, options conflict with it,
        or typed station ids repeat. Also when reading on would guess: two coordinate
        columns whose headers match equally hold different values (name one with
        ``lon_col``/``lat_col``), the first sheet or layer is empty or holds no points
        while others exist (pick one with ``sheet``), or a CSV quote that is never
        closed folded rows into one cell. Problems of single rows never raise; they make
        the row ``"invalid"`` with a ``reason`` (a cell longer than 131,072 characters,
        a coordinate formula without a saved value, ...).
    """
    return read_station_table(path, encoding=encoding, crs=crs, sheet=sheet, lon_col=lon_col,
                              lat_col=lat_col, name_col=name_col, force_crs=force_crs)


# --- snapping --------------------------------------------------------------------------

def snap_stations(
    network: StreetNetwork, stations: gpd.GeoDataFrame, *, max_snap_m: float | None = 100.0,
    check_offset: bool = True,
) -> gpd.GeoDataFrame:
    """Snap each station to the nearest point of the nearest street segment.

    Also checks whether the stations as a whole sit off the streets the way GCJ-02
    (Amap) coordinates read as WGS-84 do (see :func:`check_offset`). If so, and the
    stations were read as WGS-84 only because nothing named their system
    (``attrs["read_report"]["crs_from"] == "assumed"``, see :func:`read_stations`),
    this raises :class:`~stationplan.InputError` naming the fix; when the system was
    named, a warning is logged and stored in ``attrs["crs_warning"]`` (English) and
    ``attrs["warnings"]`` (``[{"code": "crs_offset", "en": ..., "zh": ...}]``), which
    :func:`~stationplan.summarize` carries into ``summary.json``.

    Parameters
    ----------
    network
        The street network.
    stations
        Output of :func:`read_stations` (any CRS with a ``status`` column).
    max_snap_m
        Stations farther than this many metres (a finite number > 0) from every street
        get status ``"too_far_from_street"``; ``None`` snaps every station, however far.
    check_offset
        Run the check. A batch run snaps each unit's share of the stations and checks
        them once, all together (:func:`settle_offset`), instead.

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows in the same order and CRS, plus ``snap_dist_m``, ``edge_id``
        (row of ``network.edges``), ``offset_m`` (metres from the edge's ``u`` end),
        ``snap_lon`` / ``snap_lat``; only rows with status ``"ok"`` are snapped.

    Raises
    ------
    InputError
        ``max_snap_m`` is out of range, the stations have no CRS, or they look read in
        the wrong coordinate system and nothing named their system.
    """
    if max_snap_m is not None:
        check_option("max_snap_m", max_snap_m)
    if stations.crs is None:
        msg = "stations have no CRS; set it, e.g. stations.set_crs(4326)"
        raise InputError(msg)
    out = stations.copy()
    for col, fill in (("snap_dist_m", np.nan), ("edge_id", -1), ("offset_m", np.nan),
                      ("snap_lon", np.nan), ("snap_lat", np.nan)):
        out[col] = fill
    out.attrs.pop("crs_warning", None)
    out.attrs.pop("warnings", None)
    usable = usable_points(out)
    if not usable.any():
        return out
    # geopandas-stubs type a GeoSeries' mask selection as a Series of geometries
    points = out.geometry[usable].to_crs(network.crs).to_numpy()  # type: ignore[operator]
    lines = network.edges.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    (pt_idx, edge_idx), dist = tree.query_nearest(
        points, return_distance=True, all_matches=True, max_distance=max_snap_m
    )
    # Equidistant edges: keep the lowest edge id so results do not depend on tree order.
    order = np.lexsort((edge_idx, pt_idx))
    pt_idx, edge_idx, dist = pt_idx[order], edge_idx[order], dist[order]
    first = np.unique(pt_idx, return_index=True)[1]
    pt_idx, edge_idx, dist = pt_idx[first], edge_idx[first], dist[first]
    offsets = shapely.line_locate_point(lines[edge_idx], points[pt_idx])
    snapped = gpd.GeoSeries(
        shapely.line_interpolate_point(lines[edge_idx], offsets), crs=network.crs
    ).to_crs(4326)

    rows = np.flatnonzero(usable)[pt_idx]
    out.loc[out.index[rows], "snap_dist_m"] = dist
    out.loc[out.index[rows], "edge_id"] = edge_idx
    out.loc[out.index[rows], "offset_m"] = offsets
    out.loc[out.index[rows], "snap_lon"] = snapped.x.to_numpy()
    out.loc[out.index[rows], "snap_lat"] = snapped.y.to_numpy()
    far = np.flatnonzero(usable)
    far = far[~np.isin(far, rows)]  # with no limit, only when there are no streets
    limit = "any distance" if max_snap_m is None else f"{max_snap_m:g} m"
    out.loc[out.index[far], "status"] = "too_far_from_street"
    out.loc[out.index[far], "reason"] = _far_reasons(network, out.geometry.to_numpy()[far],
                                                     limit)
    out["edge_id"] = out["edge_id"].astype(np.int64)
    if max_snap_m is None:  # no limit: only a network without streets leaves one unsnapped
        log.info("snapped %d of %d usable stations (no distance limit; %d with no street to "
                 "snap to)", len(rows), int(usable.sum()), len(far))
    else:
        log.info("snapped %d of %d usable stations (%d farther than %s from any street)",
                 len(rows), int(usable.sum()), len(far), limit)
    if check_offset:
        found = settle_offset(stations, offset_check(network, stations, tree))
        if found is not None:
            out.attrs["crs_warning"] = found["en"]
            out.attrs["warnings"] = [found]
    return out


def _far_reasons(network: StreetNetwork, points: np.ndarray, limit: str) -> list[str]:
    """Why stations (lon/lat ``points``) found no street within ``limit``: off the streets,
    or beyond the streets read, when the network was read only around a planning area
    (``--area``: the area and its margin), whatever their coordinates are worth."""
    far = f"more than {limit} from every street of the network"
    area, margin_m = network.demand.area, network.demand.margin_m
    if area is None or margin_m is None or len(points) == 0:
        return [far] * len(points)
    from .area import buffer_lonlat

    read = shapely.covers(buffer_lonlat(area, margin_m), points)
    beyond = (f"outside the streets read: more than {margin_m:g} m beyond the planning area "
              "(only the streets within the margin of the area are read)")
    return [far if inside else beyond for inside in read]


def settle_offset(stations: gpd.GeoDataFrame, check: OffsetCheck) -> dict[str, str] | None:
    """Act on an offset check of ``stations``: nothing when nothing is suspected; an
    :class:`~stationplan.InputError` naming the fix when the stations look read in the
    wrong system and nothing named their system (the run stops before anything is
    written); else the warning, logged and returned (``{"code", "en", "zh"}``)."""
    if not check.suspected:
        return None
    if crs_assumed(stations):
        # a file read with the station file's options for another role says so (--hosts)
        role = stations.attrs.get("role")
        role = role if role in ("hosts", "proposals") else "stations"
        en, zh = (text("error.crs_stop", lang, path=station_file(stations), finding=finding,
                       what=text(f"error.crs_what.{role}", lang),
                       how=text(f"error.crs_how.{role}", lang))
                  for lang, finding in (("en", check.message), ("zh", check.message_zh)))
        raise InputError(en, zh=zh)
    log.warning("%s", check.message, extra={"zh": check.message_zh})  # see cli.py
    return check.warning()


def require_usable(network: StreetNetwork, snapped: gpd.GeoDataFrame, *,
                   max_snap_m: float) -> None:
    """Refuse a station table of which no row can be used, counting the reasons.

    A coverage of 0 % from a sheet whose every row was rejected (wrong coordinate system,
    wrong columns, a network of another town) is not a result; this stops the run before
    coverage, naming the file and what to check.

    Parameters
    ----------
    network
        The street network the stations were snapped to.
    snapped
        Output of :func:`snap_stations`.
    max_snap_m
        The snapping distance used, for the message.

    Raises
    ------
    InputError
        No row has status ``"ok"``.
    """
    status = snapped["status"]
    if (status == "ok").any():
        return
    far = (status == _TOO_FAR).to_numpy()
    raise unusable_error(snapped, file=station_file(snapped), max_snap_m=max_snap_m,
                         nearest_m=_nearest_street_m(network, snapped[far]) if far.any()
                         else float("nan"))


def unusable_error(table: Any, *, file: str, max_snap_m: float, nearest_m: float
                   ) -> InputError:
    """The error of :func:`require_usable` for a station table none of whose rows is
    ``"ok"``: each status counted, the first invalid row's reason, what to check.
    ``table`` has ``status`` and ``reason`` (a batch run's ``stations.csv`` also counts
    ``outside_units``); ``file`` names the station file; ``nearest_m`` is the distance
    from the nearest of the stations too far from a street to a street."""
    status = table["status"]
    counts = status.value_counts()
    parts, hints = [], []
    far = int(counts.get(_TOO_FAR, 0))
    if far:
        parts.append(f"{far} farther than {max_snap_m:g} m from every street "
                     f"(nearest {length_text(nearest_m, 'en')})")
        hints.append("check the coordinate system (crs=..., --crs) and that the network "
                     "covers the stations, or raise max_snap_m (--max-snap-m)")
    outside = int(counts.get(_OUTSIDE, 0))
    if outside:
        parts.append(f"{outside} in no unit's core")
        if not far:
            hints.append("check the coordinate system (crs=..., --crs) and that the units "
                         "cover the stations")
    bad = int(counts.get(_INVALID, 0))
    if bad:
        first = table.loc[status == _INVALID, "reason"].iloc[0]
        parts.append(f"{bad} without a usable location (first: {first})")
        hints.append("fix those rows or name the coordinate columns (lon_col/lat_col, "
                     "--lon-col/--lat-col)")
    parts += [f"{int(n)} {s}" for s, n in counts.items()
              if s not in (_TOO_FAR, _INVALID, _OUTSIDE)]
    msg = (f"{file}: none of the {len(table)} stations can be used: {', '.join(parts)}; "
           f"{'; '.join(hints) or 'check the file'}")
    return InputError(msg)


def _nearest_street_m(network: StreetNetwork, stations: gpd.GeoDataFrame) -> float:
    """Metres from the nearest of ``stations`` to its nearest street."""
    points = stations.geometry.to_crs(network.crs).to_numpy()
    lines = network.edges.geometry.to_numpy()
    _, dist = shapely.STRtree(lines).query_nearest(points, return_distance=True)
    return float(dist.min())
