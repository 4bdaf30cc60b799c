"""Reading station tables: the header and coordinate system, every row parsed and checked,
the table assembled.

Private: :func:`stationplan.stations.read_stations` is the public entry and documents the
result.
"""

from __future__ import annotations

import logging
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .._errors import InputError, MissingDataError
from .._i18n import text as words
from .._text import cell_text
from ..chinacrs import in_china
from ..services import parse_services
from . import coords as _coords
from .columns import Columns, header_names, note_row, repeat_of, resolve, systems_in_note
from .coords import WGS84, CrsSpec, crs_spec, is_na
from .tables import Table, read_table

# Messages come from the public stage, as they did before the reader had its own module.
log = logging.getLogger("stationplan.stations")

STATION_COLUMNS = ("station_id", "name", "row", "status", "reason")
TEXT_FIELDS = ("address", "phone", "hours")
_OPTIONAL_FIELDS = ("category", "host", "input_status", "input_reason")
_RESERVED = frozenset({*STATION_COLUMNS, "note", *TEXT_FIELDS, *_OPTIONAL_FIELDS, "services",
                       "src_lon", "src_lat", "src_crs", "geometry"})

DUPLICATE_NAME_M = 50.0  # the same name this close is one station entered twice
DUPLICATE_POINT_M = 5.0  # two stations this close are probably the same place
_HEADER_SEARCH_ROWS = 30
EARTH_RADIUS_M = 6_371_008.8


def read_station_table(
    path: str | Path,
    *,
    encoding: str | None,
    crs: Any,
    sheet: str | int | None,
    lon_col: str | None,
    lat_col: str | None,
    name_col: str | None,
    force_crs: bool = False,
) -> gpd.GeoDataFrame:
    """The station table of ``path`` (see :func:`stationplan.stations.read_stations`)."""
    path = Path(path)
    spec = _coords.resolve_crs(crs)
    table = read_table(path, encoding=encoding, sheet=sheet)
    overrides = {"lon_col": lon_col, "lat_col": lat_col, "name_col": name_col}
    use_geometry = table.points is not None and lon_col is None and lat_col is None
    header_row = None
    notes: list[int] = []
    if table.columns is None:
        header_row, cols, rows, skipped = _find_header(table, path, spec, overrides)
        # Notes and totals under or above the table are not stations: listed, not read.
        notes = [n for n, cells in table.rows if n != header_row and note_row(cells)]
        rows = [(n, c) for n, c in rows if n not in set(notes)]
    else:
        cols, rows, skipped = _resolve(table.columns, path, 0, spec, overrides), table.rows, 0
        if not use_geometry and not cols.has_coordinates:
            msg = (f"{path}: lon_col={lon_col!r}, lat_col={lat_col!r} do not name both "
                   f"coordinate columns of {table.columns}; pass both")
            raise InputError(msg)
    if not rows:
        # Nothing to plan from is an error, not an empty result: the wrong file, sheet
        # or export more likely than a city without stations.
        if table.columns is None:
            raise MissingDataError(words("error.header_only", "en", path=path),
                                   zh=words("error.header_only", "zh", path=path))
        raise MissingDataError(words("error.no_rows", "en", path=path),
                               zh=words("error.no_rows", "zh", path=path))
    rows = _join_spill(rows, cols)
    note = _sheet_note(table, header_row, path) if table.columns is None else None
    source, pre, crs_from = _source_crs(spec, cols, table, path, use_geometry=use_geometry,
                                        named=lon_col is not None or lat_col is not None,
                                        force=force_crs, note=note)
    data = _by_column(rows, len(cols.names))
    if not use_geometry:
        _check_rivals(cols, data, path, table.unit, spreadsheet=table.columns is None)
    found = _cell_findings(table, data, cols, use_geometry=use_geometry)
    parsed = _parse_rows(table, data, cols, source, pre, path, found, use_geometry=use_geometry)
    stations = _assemble(table, data, cols, source, parsed, path)
    stations.attrs["read_report"] = _report(stations, table, path, header_row, source,
                                            skipped, parsed, crs_from, notes)
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
    # A row whose cells the reader had to empty (formulas without a saved value) stays.
    flagged = {row for row, _ in (*table.cell_problems, *table.unsaved)}
    filled = [(n, cells) for n, cells in table.rows if n in flagged or not _blank(cells)]
    if not filled and len(table.sheets) > 1:
        others = [s for s in table.sheets if s != table.sheet]
        pick = others[0] if len(others) == 1 else "NAME"
        msg = (f"{path}: the sheet {table.sheet!r} is empty; the workbook's sheets are "
               f"{_sheet_list(table)}; choose the station sheet with sheet={pick!r} "
               f"(--sheet {pick})")
        raise InputError(msg)
    if not filled:
        raise MissingDataError(words("error.file_empty", "en", path=path),
                               zh=words("error.file_empty", "zh", path=path))
    for number, cells in filled[:_HEADER_SEARCH_ROWS]:
        try:
            cols = resolve(header_names(cells), prefer=spec.kind if spec else None, **overrides)
        except KeyError:
            continue
        if cols.has_coordinates:
            after = sum(n > number for n, _ in table.rows)
            rows = [(n, c) for n, c in filled if n > number]
            return number, cols, rows, after - len(rows)
    number, cells = _header_guess(filled[:_HEADER_SEARCH_ROWS])
    names = [n for n in header_names(cells) if n]
    if any(overrides[k] for k in ("lon_col", "lat_col")):
        _resolve(header_names(cells), path, number, spec, overrides)  # names the bad option

    def message(lang: str) -> str:
        other = (words("error.other_sheet", lang, sheets=_sheet_list(table, lang))
                 if len(table.sheets) > 1 else "")
        shown = names if lang == "en" else "、".join(names)
        chinese = "'经度'/'纬度'" if lang == "en" else "“经度”/“纬度”"  # the headers to write
        return words("error.no_coordinate_columns", lang, path=path, row=number, names=shown,
                    chinese=chinese, other=other)

    raise InputError(message("en"), zh=message("zh"))


def _header_guess(rows: list[tuple[int, list[Any]]]) -> tuple[int, list[Any]]:
    """The row that most looks like the header when none names coordinate columns: the
    first of the fullest rows (a title above the table fills one cell, merged or not).

    >>> _header_guess([(1, ["名录", None, None]), (2, ["名称", "位置1", "位置2"]),
    ...                (3, ["甲", 117.2, 28.3])])
    (2, ['名称', '位置1', '位置2'])
    """
    counts = [sum(not is_na(c) for c in cells) for _, cells in rows]
    return rows[counts.index(max(counts))]


def _sheet_list(table: Table, lang: str = "en") -> str:
    return ", ".join(words("error.sheet_read", lang, sheet=f"'{s}'") if s == table.sheet
                     else f"'{s}'" for s in table.sheets)


def _sheet_note(table: Table, header_row: int | None, path: Path
                ) -> tuple[str, int, str] | None:
    """A note in a sheet that names the coordinate system: ``(system, row, text)``.

    Notes are one-cell rows (a title above the header, a footer such as "注：坐标由高德
    地图坐标拾取器获取（GCJ-02）") that speak of coordinates. A note naming several
    systems ("已由高德坐标转换为WGS-84"), or notes that disagree, declare nothing.
    """
    found: dict[str, tuple[int, str]] = {}
    for number, cells in table.rows:
        if number == header_row:
            continue
        texts = [c for c in cells if not is_na(c)]
        if len(texts) != 1 or not isinstance(texts[0], str):
            continue
        systems = systems_in_note(texts[0])
        if len(systems) > 1:
            log.info("%s row %d: the note \"%s\" names several coordinate systems (%s); it is "
                     "not read as a declaration", path.name, number, texts[0],
                     ", ".join(sorted(systems)))
            return None
        for system in systems:
            found.setdefault(system, (number, texts[0]))
    if len(found) != 1:
        if found:
            log.info("%s: notes name different coordinate systems (%s); none is used",
                     path.name, ", ".join(sorted(found)))
        return None
    system, (number, text) = next(iter(found.items()))
    return system, number, text


def _source_crs(spec: CrsSpec | None, cols: Columns, table: Table, path: Path, *,
                use_geometry: bool, named: bool, force: bool,
                note: tuple[str, int, str] | None
                ) -> tuple[CrsSpec, CrsSpec | None, str]:
    """The coordinate system of the values read, one to apply first (map files only), and
    where it came from: "file", "header", "option", "note" or "assumed".

    The rule (documented for users in :func:`stationplan.stations.read_stations`): a
    system the file declares (a map file's own CRS, tagged coordinate headers) wins over
    the ``crs`` option unless the option is about this one file (``force``); then the
    option; then a sheet note naming one system; else WGS-84 is assumed.
    """
    if use_geometry:
        own = crs_spec(table.crs) if table.crs is not None else None
        if own is None:
            if spec is None:
                msg = (f"{path}: the file has no coordinate reference system (for a "
                       "Shapefile the .prj file is missing); add it, or pass the right one, "
                       "e.g. crs='EPSG:4326' (command line: --crs EPSG:4326)")
                raise InputError(msg)
            return spec, None, "option"
        if spec is None or spec.label == own.label:
            return own, None, "file"
        if not force:
            log.info("%s: the file declares its coordinates as %s (%s), so the crs option "
                     "%r is not used for it", path.name, own.label,
                     "RFC 7946 GeoJSON is always WGS-84" if table.fmt == "geojson"
                     else f"its own {table.fmt.upper()} coordinate system", spec.label)
            return own, None, "file"
        log.info("%s: reading coordinates as %s (an option for this file); the file says %s",
                 path.name, spec.label, own.label)
        if spec.kind in ("gcj02", "bd09") and own.kind == "pyproj":
            return spec, own, "option"  # the file's CRS to WGS-84 axes first, then the shift
        return spec, None, "option"
    if cols.tag is not None:
        tagged = cast(CrsSpec, _coords.resolve_crs(cols.tag))  # a tag names a system
        if spec is None or spec.kind == cols.tag:
            log.info("%s: columns %s are labelled %s; converting them to WGS-84",
                     path.name, cols.coordinate_label(), cols.tag)
            return (tagged if spec is None else spec), None, "header"
        if force:
            msg = (f"{path}: columns {cols.coordinate_label()} are labelled {cols.tag}, but "
                   f"crs={spec.label!r} was given for this file; leave the option out to "
                   f"read them as {cols.tag}, or name the columns with lon_col/lat_col")
            raise InputError(msg)
        log.info("%s: columns %s are labelled %s, so the crs option %r is not used for "
                 "this file", path.name, cols.coordinate_label(), cols.tag, spec.label)
        return tagged, None, "header"
    if spec is not None:
        if note is not None and note[0] != spec.kind:
            log.info("%s: the crs option %r is used, not the note in row %d that names %s "
                     "(\"%s\")", path.name, spec.label, note[1], note[0], note[2])
        return spec, None, "option"
    if note is not None:
        system, number, text = note
        log.info("%s: the note in row %d names the coordinate system %s (\"%s\"); reading the "
                 "coordinates as %s", path.name, number, system, text, system)
        return cast(CrsSpec, _coords.resolve_crs(system)), None, "note"
    return WGS84, None, "assumed"


def _column_letter(index: int) -> str:
    """Spreadsheet column letters of a 0-based position.

    >>> _column_letter(0), _column_letter(25), _column_letter(26), _column_letter(701)
    ('A', 'Z', 'AA', 'ZZ')
    """
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _same_cells(a: tuple[Any, ...], b: tuple[Any, ...]) -> int | None:
    """The first position where two columns of cells differ (as numbers or text), or
    ``None`` when they hold the same values."""
    xa, _, _ = _coords.parse_cells(a, "")
    xb, _, _ = _coords.parse_cells(b, "")
    neither = np.isnan(xa) & np.isnan(xb)
    differ = ~((xa == xb) | neither)
    for i in np.flatnonzero(neither).tolist():  # no numbers: compare the texts
        differ[i] = cell_text(a[i]) != cell_text(b[i]) and not (is_na(a[i]) and is_na(b[i]))
    where = np.flatnonzero(differ)
    return int(where[0]) if len(where) else None


def _check_rivals(cols: Columns, data: _Data, path: Path, unit: str, *,
                  spreadsheet: bool) -> None:
    """Refuse two coordinate columns whose headers match equally but whose values differ.

    The first would otherwise be used without a word (a "lon" column of zeros before the
    real "lon", or "lon" and "经度" from two different sources). A rival column that is
    entirely empty is ignored; one with the same values is a harmless copy.
    """
    origin = repeat_of(cols.names)

    def shown(i: int) -> str:
        name = cols.names[origin[i]]
        where = f"column {_column_letter(i)}" if spreadsheet else f"property {i + 1}"
        again = f"; name it '{cols.names[i]}'" if i != origin[i] else ""
        return f"'{name}' ({where}{again})"

    problems = []
    for chosen, rivals in cols.rivals.items():
        for rival in rivals:
            cells = data.columns[rival]
            if all(is_na(c) for c in cells):
                continue
            first = _same_cells(data.columns[chosen], cells)
            if first is None:
                continue
            a, b = data.columns[chosen][first], cells[first]
            problems.append(f"columns {shown(chosen)} and {shown(rival)} both look like "
                            f"{_ROLES[_role(cols, chosen)]} but hold different values "
                            f"({unit} {data.numbers[first]}: {cell_text(a)!r} and "
                            f"{cell_text(b)!r})")
    if problems:
        msg = (f"{path}: {'; '.join(problems)}; name the columns to use with lon_col and "
               "lat_col (--lon-col and --lat-col)")
        raise InputError(msg)


_ROLES = {"lon": "the longitude", "lat": "the latitude", "pair": "the coordinates"}


def _role(cols: Columns, index: int) -> str:
    return "lon" if index == cols.lon else "lat" if index == cols.lat else "pair"


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
            ) -> tuple[list[Any] | tuple[Any, ...], list[Any] | tuple[Any, ...], str, str]:
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
    assert cols.lon is not None and cols.lat is not None  # no pair column: lon and lat ones
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
    swap = both & ~in_china(xs, ys) & in_china(ys, xs)
    for i in np.flatnonzero(swap).tolist():
        x, y = float(xs[i]), float(ys[i])
        notes[i].append(f"{label}: ({x}, {y}) only makes sense swapped: "
                        f"read as longitude {y}, latitude {x}; check the file")
    xs[swap], ys[swap] = ys[swap], xs[swap]
    check = both & ~swap
    with np.errstate(invalid="ignore"):
        bad_x = check & ~((xs >= -180) & (xs <= 180))
        bad_y = check & ~((ys >= -90) & (ys <= 90))
    for i in np.flatnonzero(bad_x | bad_y).tolist():
        x, y = float(xs[i]), float(ys[i])
        if bad_x[i]:
            problems[i].append(f"column '{xname}': longitude {x} is out of range (-180 to 180)")
        if bad_y[i]:
            hint = "; are lat and lon swapped?" if -90 <= x <= 90 else ""
            problems[i].append(f"column '{yname}': latitude {y} is out of range (-90 to 90)"
                               f"{hint}")
    return int(swap.sum())


def _cell_findings(table: Table, data: _Data, cols: Columns, *, use_geometry: bool
                   ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Problems and notes by row index for the cells the file reader flagged.

    A cell too long makes its row unusable. A formula without a saved value does so in a
    coordinate column; elsewhere (a name made by a formula) the row is kept with a note.
    """
    problems: dict[int, list[str]] = defaultdict(list)
    notes: dict[int, list[str]] = defaultdict(list)
    if not (table.cell_problems or table.unsaved):
        return problems, notes
    index = {number: i for i, number in enumerate(data.numbers)}
    coordinates = set() if use_geometry else {cols.lon, cols.lat, cols.pair} - {None}

    def named(j: int) -> str:
        name = cols.names[j]
        return f"column '{name}'" if name else f"column {_column_letter(j)}"

    for (row, j), text in table.cell_problems.items():
        if row in index and j < len(cols.names):
            problems[index[row]].append(f"{named(j)}: {text}")
    for (row, j), formula in table.unsaved.items():
        if row in index and j < len(cols.names):
            where = problems if j in coordinates else notes
            where[index[row]].append(
                f"{named(j)}: the formula {formula} has no saved value (the file was not "
                "saved by Excel or WPS); open and save the file in Excel or WPS")
    return problems, notes


def _parse_rows(table: Table, data: _Data, cols: Columns,
                source: CrsSpec, pre: CrsSpec | None, path: Path,
                found: tuple[dict[int, list[str]], dict[int, list[str]]], *,
                use_geometry: bool) -> _Parsed:
    n = len(data.numbers)
    # Texts only for the rows that have any (a list per row would be 2 x n lists).
    problems, notes = found
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
    for i in np.flatnonzero(usable & ~(np.isfinite(lon) & np.isfinite(lat))).tolist():
        if i not in problems:
            problems[i].append(f"{label}: ({xs[i]}, {ys[i]}) "
                               f"cannot be converted from {source.label} to WGS-84")
    ok = _without(problems, n)
    lon, lat = np.where(ok, lon, np.nan), np.where(ok, lat, np.nan)
    for i in np.flatnonzero(ok & rounded).tolist():
        notes[i].append(f"{label}: {xs[i]}, {ys[i]} have at "
                        "most 2 decimals (about 1 km): were they rounded by Excel? Format the "
                        "cells with 6 decimals")
    return _Parsed(lon, lat, xs, ys, problems, notes, swapped, int((ok & rounded).sum()))


def _check_projected(source: CrsSpec, xs: np.ndarray, ys: np.ndarray, lon: np.ndarray,
                     lat: np.ndarray, usable: np.ndarray, label: str,
                     problems: dict[int, list[str]], notes: dict[int, list[str]]) -> int:
    """Projected x/y outside the CRS's area or China: swap them when the swap lies in both."""
    inside = _coords.in_area(source, lon, lat)
    china = in_china(lon, lat)
    check = np.flatnonzero(usable & ~(inside & china))
    a, b = _coords.to_wgs84(ys[check], xs[check], source)  # all swaps in one transform
    fits = _coords.in_area(source, a, b) & in_china(a, b)
    for k, i in enumerate(check.tolist()):
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
    xyz = EARTH_RADIUS_M * np.column_stack(
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
            source: CrsSpec, skipped: int, parsed: _Parsed, crs_from: str,
            notes: list[int]) -> dict[str, Any]:
    n_bad = int((stations["status"] != "ok").sum())
    report = {
        "file": path.name, "format": table.fmt, "encoding": table.encoding,
        "sheet": table.sheet, "header_row": header_row, "crs": source.label,
        "crs_from": crs_from,
        "stations": len(stations), "ok": len(stations) - n_bad, "invalid": n_bad,
        "blank_rows_skipped": skipped, "swapped_fixed": parsed.swapped,
        "rounded": parsed.rounded, "possible_duplicates": parsed.duplicates,
        "notes_skipped": notes,
    }
    extras = [f"{v} {k.replace('_', ' ')}" if v != 1 else f"1 {_ONE[k]}"
              for k, v in report.items()
              if k in ("blank_rows_skipped", "swapped_fixed", "rounded", "possible_duplicates")
              and v]
    log.info("%s: read %d stations (%d ok, %d invalid%s), coordinates %s (%s)",
             path.name, len(stations), len(stations) - n_bad, n_bad,
             "".join("; " + e for e in extras), source.label, _CRS_FROM[crs_from])
    if len(notes) == 1:
        log.info("%s: skipped a note row (row %d): notes and totals, not stations",
                 path.name, notes[0])
    elif notes:
        log.info("%s: skipped %d note rows (rows %s): notes and totals, not stations",
                 path.name, len(notes), ", ".join(map(str, notes)))
    if n_bad:
        first = next(r for r, st in zip(stations["reason"], stations["status"], strict=True)
                     if st != "ok")
        log.info("%s: %d of %d rows have no usable location and are kept as invalid; "
                 "first: %s", path.name, n_bad, len(stations), first)
    return report


# The reader's counts when there is one ("1 blank row skipped", not "1 blank rows skipped").
_ONE = {"blank_rows_skipped": "blank row skipped", "swapped_fixed": "swapped fixed",
        "rounded": "rounded", "possible_duplicates": "possible duplicate"}
_CRS_FROM = {"file": "declared by the file", "header": "named by the column headers",
             "option": "the crs option", "note": "named by a note in the sheet",
             "assumed": "assumed: neither the file nor an option names the system"}


def crs_assumed(stations: gpd.GeoDataFrame) -> bool:
    """Whether the stations were read as WGS-84 only because nothing named their system.

    True when :func:`read_station_table` found no crs option, no tagged header, no
    note and no CRS of the file's own; False for anything else, including tables made
    by a caller (whose CRS the caller set).
    """
    report = stations.attrs.get("read_report") or {}
    return report.get("crs_from") == "assumed"


def station_file(stations: gpd.GeoDataFrame) -> str:
    """The name of the file the stations were read from (:func:`read_stations`), for
    messages; "the station file" when they were not read from one."""
    return str((stations.attrs.get("read_report") or {}).get("file", "the station file"))


def usable_points(stations: gpd.GeoDataFrame) -> np.ndarray:
    """Rows with status "ok" and a point (a boolean mask)."""
    geoms = stations.geometry
    return ((stations["status"] == "ok").to_numpy() & ~geoms.isna().to_numpy()
            & ~geoms.is_empty.to_numpy())
