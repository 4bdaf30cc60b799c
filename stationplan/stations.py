"""Station tables: read them from the files planners have, validate every row, snap them to streets.

Every input row stays in every output. A row that cannot be used keeps its place with a
``status`` other than ``"ok"`` and a ``reason`` that names the file, row and column; a
row that was usable but looked odd (swapped columns that were fixed, rounded
coordinates, a likely duplicate) keeps status ``"ok"`` and says so in ``note``.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from . import chinacrs
from ._errors import InputError, MissingDataError
from ._read import coords as _coords
from ._read.columns import Columns, header_names, resolve
from ._read.coords import WGS84, CrsSpec, crs_spec, is_na
from ._read.tables import Table, read_table
from ._text import cell_text
from .network import StreetNetwork
from .services import parse_services

log = logging.getLogger(__name__)

__all__ = ["OffsetCheck", "check_offset", "read_stations", "snap_stations", "station_markers"]

STATION_COLUMNS = ("station_id", "name", "row", "status", "reason")
TEXT_FIELDS = ("address", "phone", "hours")
_OPTIONAL_FIELDS = ("category", "host", "input_status", "input_reason")
_RESERVED = frozenset({*STATION_COLUMNS, "note", *TEXT_FIELDS, *_OPTIONAL_FIELDS, "services",
                       "src_lon", "src_lat", "src_crs", "geometry"})

DUPLICATE_NAME_M = 50.0  # the same name this close is one station entered twice
DUPLICATE_POINT_M = 5.0  # two stations this close are probably the same place
_HEADER_SEARCH_ROWS = 30
_EARTH_RADIUS_M = 6_371_008.8

# Statuses of station plans as exported (export.py) or typed by people, by their meaning.
_PLAN_STATUS = {
    "existing": "existing", "现有站点": "existing", "现有": "existing", "已建": "existing",
    "已建成": "existing", "proposed": "proposed", "拟建站点": "proposed", "拟建": "proposed",
    "规划": "proposed", "rejected": "rejected", "未采用站点": "rejected", "未采用": "rejected",
    "too_far_from_street": "rejected",
}


def read_stations(
    path: str | Path,
    *,
    encoding: str | None = None,
    crs: Any = None,
    sheet: str | int | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    name_col: str | None = None,
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
        Coordinate system of the file's coordinates: ``"wgs84"``, ``"gcj02"`` (Amap,
        Tencent), ``"bd09"`` (Baidu), ``"cgcs2000"`` or ``"EPSG:<code>"`` (projected x/y
        too). By default: what a header says (``经度(GCJ-02)``, ``gcj02_lng``), a map
        file's own CRS, else WGS-84.
    sheet
        Sheet of a workbook or layer of a GeoPackage, by name or 0-based position
        (default the first).
    lon_col, lat_col, name_col
        Column names to use instead of the recognised ones; give ``lon_col`` and
        ``lat_col`` the same name for one "lng,lat" column.

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
        counts that are also logged. ``station_id`` is the id column's value, else the
        row number (``row<number>`` when a typed id already uses that number).

    Raises
    ------
    MissingDataError
        The file does not exist, or has no station rows (empty, or a header only): a
        plan needs stations, so this is an error that names the file, not an empty table.
    InputError
        The file cannot be read or has no coordinate columns, options conflict with it,
        or typed station ids repeat. Problems of single rows never raise; they make the
        row ``"invalid"`` with a ``reason``.
    """
    path = Path(path)
    spec = _coords.resolve_crs(crs)
    table = read_table(path, encoding=encoding, sheet=sheet)
    overrides = {"lon_col": lon_col, "lat_col": lat_col, "name_col": name_col}
    use_geometry = table.points is not None and lon_col is None and lat_col is None
    header_row = None
    if table.columns is None:
        header_row, cols, rows, skipped = _find_header(table, path, spec, overrides)
    else:
        cols, rows, skipped = _resolve(table.columns, path, 0, spec, overrides), table.rows, 0
        if not use_geometry and not cols.has_coordinates:
            msg = (f"{path}: lon_col={lon_col!r}, lat_col={lat_col!r} do not name both "
                   f"coordinate columns of {table.columns}; pass both")
            raise InputError(msg)
    if not rows:
        # Nothing to plan from is an error, not an empty result: the wrong file, sheet
        # or export more likely than a city without stations.
        msg = (f"{path}: the file has a header but no station rows" if table.columns is None
               else f"{path}: the file has no station {table.unit}s")
        raise MissingDataError(msg)
    rows = _join_spill(rows, cols)
    source, pre = _source_crs(spec, cols, table, path, use_geometry=use_geometry,
                              named=lon_col is not None or lat_col is not None)
    data = _by_column(rows, len(cols.names))
    parsed = _parse_rows(table, data, cols, source, pre, path, use_geometry=use_geometry)
    stations = _assemble(table, data, cols, source, parsed, path)
    stations.attrs["read_report"] = _report(stations, table, path, header_row, source,
                                            skipped, parsed)
    return stations


# --- header and coordinate system ------------------------------------------------------

def _resolve(names: list[str], path: Path, row: int, spec: CrsSpec | None,
             overrides: dict[str, str | None]) -> Columns:
    try:
        return resolve(names, prefer=spec.kind if spec else None, **overrides)
    except KeyError as exc:
        where = f" row {row}" if row else ""
        msg = f"{path}:{where} {exc.args[0]}"
        raise InputError(msg) from exc


def _blank(cells: list[Any]) -> bool:
    """Whether every cell of a row is empty or a "no value" marker."""
    return all(is_na(cell) for cell in cells)  # the first cell usually decides


def _find_header(table: Table, path: Path, spec: CrsSpec | None,
                 overrides: dict[str, str | None]
                 ) -> tuple[int, Columns, list[tuple[int, list[Any]]], int]:
    """The first row whose cells name longitude/latitude columns, then the data rows."""
    filled = [(n, cells) for n, cells in table.rows if not _blank(cells)]
    if not filled:
        msg = (f"{path}: the file is empty, no station rows; it needs a header row and one "
               "row per station")
        raise MissingDataError(msg)
    for number, cells in filled[:_HEADER_SEARCH_ROWS]:
        try:
            cols = resolve(header_names(cells), prefer=spec.kind if spec else None, **overrides)
        except KeyError:
            continue
        if cols.has_coordinates:
            after = sum(n > number for n, _ in table.rows)
            rows = [(n, c) for n, c in filled if n > number]
            return number, cols, rows, after - len(rows)
    number, cells = filled[0]
    names = [n for n in header_names(cells) if n]
    if any(overrides[k] for k in ("lon_col", "lat_col")):
        _resolve(header_names(cells), path, number, spec, overrides)  # names the bad option
    msg = (f"{path}: row {number}: no longitude/latitude columns in header {names}; name them "
           "e.g. 'lon'/'lat' or '经度'/'纬度' (or one 'lng,lat' column), or pass lon_col/lat_col "
           "(--lon-col/--lat-col)")
    raise InputError(msg)


def _source_crs(spec: CrsSpec | None, cols: Columns, table: Table, path: Path, *,
                use_geometry: bool, named: bool) -> tuple[CrsSpec, CrsSpec | None]:
    """The coordinate system of the values read, and one to apply first (map files only)."""
    if use_geometry:
        own = crs_spec(table.crs) if table.crs is not None else None
        if spec is None:
            if own is None:
                msg = (f"{path}: the file has no coordinate reference system (for a Shapefile "
                       "the .prj file is missing); add it, or pass the right one, e.g. "
                       "crs='EPSG:4326' (command line: --crs EPSG:4326)")
                raise InputError(msg)
            return own, None
        if own is not None and own.label != spec.label:
            log.info("%s: reading coordinates as %s (crs option); the file says %s",
                     path.name, spec.label, own.label)
        if spec.kind in ("gcj02", "bd09") and own is not None and own.kind == "pyproj":
            return spec, own  # the file's CRS to WGS-84 axes first, then the Chinese shift
        return spec, None
    if cols.tag is None:
        return spec or WGS84, None
    if spec is None:
        log.info("%s: columns %s are labelled %s; converting them to WGS-84",
                 path.name, cols.coordinate_label(), cols.tag)
        return _coords.resolve_crs(cols.tag), None
    if spec.kind != cols.tag and not named:
        msg = (f"{path}: columns {cols.coordinate_label()} are labelled {cols.tag}, but "
               f"crs={spec.label!r} was given; leave the crs option out to read them as "
               f"{cols.tag}, or name the columns with lon_col/lat_col")
        raise InputError(msg)
    return spec, None


# --- rows ------------------------------------------------------------------------------

@dataclass
class _Parsed:
    """Per-row results of reading coordinates: arrays in row order, texts by row index."""

    lon: np.ndarray
    lat: np.ndarray
    src_x: np.ndarray
    src_y: np.ndarray
    problems: dict[int, list[str]]
    notes: dict[int, list[str]]
    swapped: int = 0
    rounded: int = 0
    duplicates: int = 0


def _join_spill(rows: list[tuple[int, list[Any]]], cols: Columns
                ) -> list[tuple[int, list[Any]]]:
    """An unquoted "lng,lat" in the last column spills over: join it back."""
    width = len(cols.names)
    if cols.pair is None or cols.pair != width - 1:
        return rows
    out = []
    for number, cells in rows:
        if len(cells) > width:
            tail = [str(c) for c in cells[cols.pair:] if not is_na(c)]
            cells = [*cells[:cols.pair], ",".join(tail)]
        out.append((number, cells))
    return out


@dataclass(frozen=True)
class _Data:
    """The data rows by column: their numbers and the cells of each header column."""

    numbers: list[int]
    columns: list[tuple[Any, ...]]


def _by_column(rows: list[tuple[int, list[Any]]], width: int) -> _Data:
    """Transpose the rows; short rows get ``None`` cells, cells beyond the header go."""
    fitted = [cells if len(cells) == width else [*cells[:width], *[None] * (width - len(cells))]
              for _, cells in rows]
    columns = list(zip(*fitted, strict=True)) if width else []
    return _Data([number for number, _ in rows], columns)


def _label(xname: str, yname: str) -> str:
    return f"column '{xname}'" if xname == yname else f"columns '{xname}'/'{yname}'"


def _raw_xy(table: Table, data: _Data, cols: Columns,
            problems: dict[int, list[str]], *, use_geometry: bool
            ) -> tuple[list[Any], list[Any], str, str]:
    """The x and y cells of every row (``None`` and a problem where there are none)."""
    if use_geometry:
        assert table.points is not None
        xs: list[Any] = []
        ys: list[Any] = []
        for i, point in enumerate(table.points):
            if isinstance(point, str):
                problems[i].append(point)
                point = (None, None)
            xs.append(point[0])
            ys.append(point[1])
        return xs, ys, "longitude", "latitude"
    if cols.pair is not None:
        name = cols.names[cols.pair]
        first, second, bad = _coords.parse_pairs(data.columns[cols.pair], name)
        for i, problem in bad.items():
            problems[i].append(problem)
        return (second, first, name, name) if cols.pair_lat_first else (first, second, name,
                                                                          name)
    return (data.columns[cols.lon], data.columns[cols.lat], cols.names[cols.lon],
            cols.names[cols.lat])


def _without(texts: dict[int, list[str]], n: int) -> np.ndarray:
    """Mask of the rows that have no text in ``texts``."""
    mask = np.ones(n, dtype=bool)
    mask[[i for i, t in texts.items() if t]] = False
    return mask


def _check_degrees(xs: np.ndarray, ys: np.ndarray, both: np.ndarray, label: str,
                   xname: str, yname: str, problems: dict[int, list[str]],
                   notes: dict[int, list[str]]) -> int:
    """Range checks; swapped columns are fixed (in place) when only the swap lies in China."""
    swap = both & ~_coords.in_china(xs, ys) & _coords.in_china(ys, xs)
    for i in np.flatnonzero(swap):
        x, y = float(xs[i]), float(ys[i])
        notes[i].append(f"{label}: ({x}, {y}) only makes sense swapped: "
                        f"read as longitude {y}, latitude {x}; check the file")
    xs[swap], ys[swap] = ys[swap], xs[swap]
    check = both & ~swap
    with np.errstate(invalid="ignore"):
        bad_x = check & ~((xs >= -180) & (xs <= 180))
        bad_y = check & ~((ys >= -90) & (ys <= 90))
    for i in np.flatnonzero(bad_x | bad_y):
        x, y = float(xs[i]), float(ys[i])
        if bad_x[i]:
            problems[i].append(f"column '{xname}': longitude {x} is out of range (-180 to 180)")
        if bad_y[i]:
            hint = "; are lat and lon swapped?" if -90 <= x <= 90 else ""
            problems[i].append(f"column '{yname}': latitude {y} is out of range (-90 to 90)"
                               f"{hint}")
    return int(swap.sum())


def _parse_rows(table: Table, data: _Data, cols: Columns,
                source: CrsSpec, pre: CrsSpec | None, path: Path, *,
                use_geometry: bool) -> _Parsed:
    n = len(data.numbers)
    # Texts only for the rows that have any (a list per row would be 2 x n lists).
    problems: dict[int, list[str]] = defaultdict(list)
    notes: dict[int, list[str]] = defaultdict(list)
    geographic = source.geographic and pre is None
    raw_x, raw_y, xname, yname = _raw_xy(table, data, cols, problems,
                                         use_geometry=use_geometry)
    label = _label(xname, yname)
    located = _without(problems, n)
    where = np.flatnonzero(located)
    px, places_x, bad_x = _coords.parse_cells([raw_x[i] for i in where], xname)
    py, places_y, bad_y = _coords.parse_cells([raw_y[i] for i in where], yname)
    for k in sorted({*bad_x, *bad_y}):
        problems[int(where[k])].extend(p for p in (bad_x.get(k), bad_y.get(k)) if p)
    both = np.zeros(n, dtype=bool)
    both[where] = np.isfinite(px) & np.isfinite(py)
    xs, ys = np.full(n, np.nan), np.full(n, np.nan)
    xs[where], ys[where] = px, py
    xs[~both], ys[~both] = np.nan, np.nan
    rounded = np.zeros(n, dtype=bool)
    swapped = 0
    if geographic:
        swapped = _check_degrees(xs, ys, both, label, xname, yname, problems, notes)
        rounded[where] = (((places_x >= 0) & (places_x <= 2))
                          | ((places_y >= 0) & (places_y <= 2)))
        rounded &= both
    usable = _without(problems, n) & np.isfinite(xs)
    sx, sy = np.where(usable, xs, np.nan), np.where(usable, ys, np.nan)
    if pre is not None:
        sx, sy = _coords.to_wgs84(sx, sy, pre)
    lon, lat = _coords.to_wgs84(sx, sy, source)
    if not geographic and pre is None:
        swapped += _check_projected(source, xs, ys, lon, lat, usable, label, problems, notes)
    for i in np.flatnonzero(usable & ~(np.isfinite(lon) & np.isfinite(lat))):
        if i not in problems:
            problems[i].append(f"{label}: ({xs[i]}, {ys[i]}) "
                               f"cannot be converted from {source.label} to WGS-84")
    ok = _without(problems, n)
    lon, lat = np.where(ok, lon, np.nan), np.where(ok, lat, np.nan)
    for i in np.flatnonzero(ok & rounded):
        notes[i].append(f"{label}: {xs[i]}, {ys[i]} have at "
                        "most 2 decimals (about 1 km): were they rounded by Excel? Format the "
                        "cells with 6 decimals")
    return _Parsed(lon, lat, xs, ys, problems, notes, swapped, int((ok & rounded).sum()))


def _check_projected(source: CrsSpec, xs: np.ndarray, ys: np.ndarray, lon: np.ndarray,
                     lat: np.ndarray, usable: np.ndarray, label: str,
                     problems: dict[int, list[str]], notes: dict[int, list[str]]) -> int:
    """Projected x/y outside the CRS's area or China: swap them when the swap lies in both."""
    inside = _coords.in_area(source, lon, lat)
    china = _coords.in_china(lon, lat)
    check = np.flatnonzero(usable & ~(inside & china))
    a, b = _coords.to_wgs84(ys[check], xs[check], source)  # all swaps in one transform
    fits = _coords.in_area(source, a, b) & _coords.in_china(a, b)
    for k, i in enumerate(check):
        if fits[k]:
            notes[i].append(f"{label}: ({xs[i]}, {ys[i]}) only lies in the "
                            f"area of {source.label} swapped; used them swapped")
            xs[i], ys[i], lon[i], lat[i] = ys[i], xs[i], a[k], b[k]
        elif not inside[i]:
            problems[i].append(f"{label}: ({xs[i]}, {ys[i]}) lies outside "
                               f"the area of {source.label}; is that the right crs?")
    return int(fits.sum())


# --- assembling the table --------------------------------------------------------------

def _services(data: _Data, cols: Columns) -> list[str]:
    """The services of every row; rows with the same service cells share one parse."""
    keys = list(cols.flags)
    columns = [data.columns[cols.flags[k]] for k in keys]
    columns += [data.columns[j] for j in cols.lists]
    if not columns:
        return [""] * len(data.numbers)
    seen: dict[tuple[Any, ...], str] = {}
    out = []
    width = len(keys)
    for cells in zip(*columns, strict=True):
        text = seen.get(cells)
        if text is None:
            text = parse_services(dict(zip(keys, cells[:width], strict=True)), cells[width:])
            seen[cells] = text
        out.append(text)
    return out


def _assemble(table: Table, data: _Data, cols: Columns,
              source: CrsSpec, parsed: _Parsed, path: Path) -> gpd.GeoDataFrame:
    n = len(data.numbers)
    numbers = data.numbers
    tabular = table.columns is None

    def field(name: str) -> list[str]:
        index = cols.fields.get(name)
        return [cell_text(v) for v in data.columns[index]] if index is not None else [""] * n

    def joined(texts: dict[int, list[str]]) -> list[str]:
        out = [""] * n
        for i, t in texts.items():
            if t:
                out[i] = f"{path.name} {table.unit} {numbers[i]}: " + "; ".join(t)
        return out

    status = np.full(n, "ok", dtype=object)
    status[[i for i, t in parsed.problems.items() if t]] = "invalid"
    columns: dict[str, Any] = {
        "station_id": _station_ids(field("station_id"), numbers, table.unit),
        "name": field("name"),
        "row": numbers,
        "status": status.tolist(),
        "reason": joined(parsed.problems),
        "note": joined(parsed.notes),
        **{f: field(f) for f in TEXT_FIELDS},
        "services": _services(data, cols),
        "src_lon": parsed.src_x,
        "src_lat": parsed.src_y,
        "src_crs": [source.label] * n,
        **{f: field(f) for f in _OPTIONAL_FIELDS if f in cols.fields},
    }
    sources = {i: f for f, i in cols.fields.items()}
    for i, name in enumerate(cols.names):
        key = None if not name else f"input_{name}" if name in _RESERVED else name
        if key is None or sources.get(i) in (name, key) or key in columns:
            continue
        cells = data.columns[i]
        columns[key] = [cell_text(v) for v in cells] if tabular else list(cells)
    _flag_duplicates(columns, parsed, path.name, table.unit)
    frame = pd.DataFrame(columns)
    _check_unique_ids(frame, path)
    ok = np.isfinite(parsed.lon)
    geometry = np.full(n, None, dtype=object)
    geometry[ok] = shapely.points(parsed.lon[ok], parsed.lat[ok])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)


def _station_ids(typed: list[str], numbers: list[int], unit: str) -> list[str]:
    """Ids of the rows: the typed id, else the row number, else ``row<number>`` if taken.

    A 序号 column 1, 2, 3 with one blank cell must not give the blank row the number of
    the next row's id.

    >>> _station_ids(["a", "", "b"], [2, 3, 4], "row")
    ['a', '3', 'b']
    >>> _station_ids(["", "2", ""], [2, 3, 4], "row")
    ['row2', '2', '4']
    """
    taken = set(typed)
    out = []
    for sid, number in zip(typed, numbers, strict=True):
        if not sid:
            sid = str(number)
            k = 1
            while sid in taken:
                sid = f"{unit}{number}" + (f"_{k}" if k > 1 else "")
                k += 1
            taken.add(sid)
        out.append(sid)
    return out


def _flag_duplicates(columns: dict[str, Any], parsed: _Parsed, file: str, unit: str) -> None:
    """Note the same name within 50 m, and any two stations within 5 m (rows are kept)."""
    ok = np.flatnonzero(np.isfinite(parsed.lon))
    if len(ok) < 2:
        return
    lam, phi = np.radians(parsed.lon[ok]), np.radians(parsed.lat[ok])
    xyz = _EARTH_RADIUS_M * np.column_stack(
        [np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    pairs = cKDTree(xyz).query_pairs(DUPLICATE_NAME_M, output_type="ndarray")
    if not len(pairs):
        return
    names, rows = columns["name"], columns["row"]
    keys = np.array([unicodedata.normalize("NFKC", name).strip().lower() for name in names],
                    dtype=object)
    i, j = ok[pairs[:, 0]], ok[pairs[:, 1]]
    dist = np.linalg.norm(xyz[pairs[:, 0]] - xyz[pairs[:, 1]], axis=1)  # chord = arc here
    same = (keys[i] != "") & (keys[i] == keys[j])
    keep = same | (dist <= DUPLICATE_POINT_M)
    i, j, dist, same = i[keep], j[keep], dist[keep], same[keep]
    order = np.lexsort((pairs[keep, 1], pairs[keep, 0]))
    extra: dict[int, list[str]] = {}
    for a, b, d, s in zip(i[order].tolist(), j[order].tolist(), dist[order].tolist(),
                          same[order].tolist(), strict=True):
        what = "the same name" if s else "a station"
        for k, other in ((a, b), (b, a)):
            extra.setdefault(k, []).append(
                f"{what} as {unit} {rows[other]} ('{names[other]}') is "
                f"{d:.1f} m away: a duplicate? (both kept)")
    notes = columns["note"]
    for k, texts in extra.items():
        start = notes[k] + "; " if notes[k] else f"{file} {unit} {rows[k]}: "
        notes[k] = start + "; ".join(texts)
    parsed.duplicates = len(extra)


def _check_unique_ids(frame: pd.DataFrame, path: Path) -> None:
    dup = frame["station_id"].duplicated(keep=False)
    if dup.any():
        rows = frame.loc[dup, "row"].tolist()
        msg = f"{path}: station ids repeat on rows {rows}; make the id column unique or drop it"
        raise InputError(msg)


def _report(stations: gpd.GeoDataFrame, table: Table, path: Path, header_row: int | None,
            source: CrsSpec, skipped: int, parsed: _Parsed) -> dict[str, Any]:
    n_bad = int((stations["status"] != "ok").sum())
    report = {
        "file": path.name, "format": table.fmt, "encoding": table.encoding,
        "sheet": table.sheet, "header_row": header_row, "crs": source.label,
        "stations": len(stations), "ok": len(stations) - n_bad, "invalid": n_bad,
        "blank_rows_skipped": skipped, "swapped_fixed": parsed.swapped,
        "rounded": parsed.rounded, "possible_duplicates": parsed.duplicates,
    }
    extras = [f"{v} {k.replace('_', ' ')}" for k, v in report.items()
              if k in ("blank_rows_skipped", "swapped_fixed", "rounded", "possible_duplicates")
              and v]
    log.info("%s: read %d stations (%d ok, %d invalid%s), coordinates %s",
             path.name, len(stations), len(stations) - n_bad, n_bad,
             "".join("; " + e for e in extras), source.label)
    if n_bad:
        first = next(r for r, st in zip(stations["reason"], stations["status"], strict=True)
                     if st != "ok")
        log.info("%s: %d of %d rows have no usable location and are kept as invalid; "
                 "first: %s", path.name, n_bad, len(stations), first)
    return report


# --- snapping --------------------------------------------------------------------------

def snap_stations(
    network: StreetNetwork, stations: gpd.GeoDataFrame, *, max_snap_m: float = 100.0
) -> gpd.GeoDataFrame:
    """Snap each station to the nearest point of the nearest street segment.

    Also checks whether the stations as a whole sit off the streets the way GCJ-02
    (Amap) coordinates read as WGS-84 do (see :func:`check_offset`); if so a warning
    naming the fix is logged and stored in ``attrs["crs_warning"]``.

    Parameters
    ----------
    network
        The street network.
    stations
        Output of :func:`read_stations` (any CRS with a ``status`` column).
    max_snap_m
        Stations farther than this from every street get status ``"too_far_from_street"``.

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows in the same order and CRS, plus ``snap_dist_m``, ``edge_id``
        (row of ``network.edges``), ``offset_m`` (metres from the edge's ``u`` end),
        ``snap_lon`` / ``snap_lat``; only rows with status ``"ok"`` are snapped.
    """
    if stations.crs is None:
        msg = "stations have no CRS; set it, e.g. stations.set_crs(4326)"
        raise InputError(msg)
    out = stations.copy()
    for col, fill in (("snap_dist_m", np.nan), ("edge_id", -1), ("offset_m", np.nan),
                      ("snap_lon", np.nan), ("snap_lat", np.nan)):
        out[col] = fill
    out.attrs.pop("crs_warning", None)
    usable = _usable(out)
    if not usable.any():
        return out
    points = out.geometry[usable].to_crs(network.crs).to_numpy()
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
    far = far[~np.isin(far, rows)]
    out.loc[out.index[far], "status"] = "too_far_from_street"
    out.loc[out.index[far], "reason"] = [
        f"more than {max_snap_m:g} m from every street of the network" for _ in far
    ]
    out["edge_id"] = out["edge_id"].astype(np.int64)
    log.info(
        "snapped %d of %d usable stations (%d farther than %g m from any street)",
        len(rows), int(usable.sum()), len(far), max_snap_m,
    )
    check = _offset_check(network, stations, tree)
    if check.suspected:
        log.warning("%s", check.message)
        out.attrs["crs_warning"] = check.message
    return out


def _usable(stations: gpd.GeoDataFrame) -> np.ndarray:
    geoms = stations.geometry
    return ((stations["status"] == "ok").to_numpy() & ~geoms.isna().to_numpy()
            & ~geoms.is_empty.to_numpy())


# --- GCJ-02 read as WGS-84 -------------------------------------------------------------

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


_MIN_STATIONS_FOR_CHECK = 5
_DESCRIBE = {"gcj02": "GCJ-02 (Amap, Tencent)", "bd09": "BD-09 (Baidu)", "wgs84": "WGS-84 (GPS)"}


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
        Output of :func:`read_stations` (with ``status``; ``src_lon``, ``src_lat`` and
        ``src_crs`` are used when present).

    Returns
    -------
    OffsetCheck
        The finding, with a message that names the fix.
    """
    return _offset_check(network, stations, shapely.STRtree(network.edges.geometry.to_numpy()))


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


def _offset_check(network: StreetNetwork, stations: gpd.GeoDataFrame,
                  tree: shapely.STRtree) -> OffsetCheck:
    usable = _usable(stations)
    n = int(usable.sum())
    if n < _MIN_STATIONS_FOR_CHECK:
        return OffsetCheck(n, math.nan, 0.0, 0.0, None, math.nan, 0.0, False, "")
    lines = network.edges.geometry.to_numpy()
    geoms = stations.geometry[usable].to_crs(4326)
    lon, lat = geoms.x.to_numpy(), geoms.y.to_numpy()
    current = _current_system(stations, usable)
    dist, unit = _nearest(tree, lines, _project(network, lon, lat))
    median = float(np.median(dist))
    share = float(np.mean((dist >= 300) & (dist <= 700)))
    coherence = float(np.hypot(*unit.mean(axis=0)))
    best, best_median, closer = None, median, 0.0
    for system, (alt_lon, alt_lat) in _alternatives(stations, usable, current, lon, lat).items():
        if not np.isfinite(alt_lon).all():
            continue
        alt_dist, _ = _nearest(tree, lines, _project(network, alt_lon, alt_lat))
        alt_median = float(np.median(alt_dist))
        if alt_median < best_median:
            best, best_median, closer = system, alt_median, float(np.mean(alt_dist < dist))
    better = (best is not None and closer >= 0.7 and best_median <= 0.6 * median
              and median - best_median >= 5)
    shifted = share >= 0.6 and coherence >= 0.8 and current == "wgs84"
    if not (better or shifted):
        return OffsetCheck(n, median, share, coherence, best, best_median, closer, False, "")
    fix = best if better and best is not None else "gcj02"
    message = (
        f"{n} stations sit {median:.0f} m (median) from the nearest street as read "
        f"({_DESCRIBE.get(current, current)})"
        + (f", but {best_median:.0f} m if their coordinates are {_DESCRIBE[fix]} ({closer:.0%} "
           "of them closer)" if better
           else f"; {share:.0%} of them 300-700 m away in one direction")
        + f": the file looks like {_DESCRIBE[fix]} coordinates read as "
        f"{_DESCRIBE.get(current, current)}. Re-read it with crs='{fix}' "
        f"(command line: --crs {fix})"
    )
    return OffsetCheck(n, median, share, coherence, best, best_median, closer, True, message)


def _project(network: StreetNetwork, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(network.crs).to_numpy()


def _current_system(stations: gpd.GeoDataFrame, usable: np.ndarray) -> str:
    if "src_crs" not in stations.columns:
        return "wgs84"
    labels = set(stations.loc[usable, "src_crs"].astype(str))
    system = labels.pop() if len(labels) == 1 else "mixed"
    return {"cgcs2000": "wgs84"}.get(system, system)


def _alternatives(stations: gpd.GeoDataFrame, usable: np.ndarray, current: str,
                  lon: np.ndarray, lat: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
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


# --- markers for export ----------------------------------------------------------------

def station_markers(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn read (or snapped) stations into the table the map exports write.

    A status typed in the file (``existing``/``proposed``/``rejected`` or 现有站点/拟建站点/
    未采用站点, e.g. from a proposals file) is kept; otherwise a usable station is
    ``"existing"`` and any other (invalid, too far from a street) is ``"rejected"``.

    Parameters
    ----------
    stations
        Output of :func:`read_stations` or :func:`snap_stations`, or any GeoDataFrame
        with ``station_id``, ``name`` and ``status``.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 with ``station_id``, ``name``, ``status`` (existing, proposed,
        rejected), ``address``, ``phone``, ``hours``, ``services``, ``reason`` (the
        file's reason if it had one, else why the row could not be used) and the
        geometry.
    """
    if stations.crs is None:
        msg = "stations have no CRS; set it, e.g. stations.set_crs(4326)"
        raise InputError(msg)
    n = len(stations)

    def column(name: str) -> list[str]:
        return [cell_text(v) for v in stations[name]] if name in stations.columns else [""] * n

    read_status, given = column("status"), column("input_status")
    reason, given_reason = column("reason"), column("input_reason")
    status = []
    for now, typed in zip(read_status, given, strict=True):
        plan = _PLAN_STATUS.get(typed.strip().lower(), "")
        status.append(plan or _PLAN_STATUS.get(now, "existing" if now == "ok" else "rejected"))
    frame = pd.DataFrame({
        "station_id": column("station_id"), "name": column("name"), "status": status,
        **{f: column(f) for f in (*TEXT_FIELDS, "services")},
        "reason": [g or (r if now != "ok" else "")
                   for g, r, now in zip(given_reason, reason, read_status, strict=True)],
    })
    return gpd.GeoDataFrame(frame, geometry=stations.geometry.to_crs(4326).to_numpy(), crs=4326)

