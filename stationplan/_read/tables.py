"""Station file formats: turn CSV, XLSX, GeoJSON, GeoPackage, Shapefile, KML and GPX into rows.

Each reader returns a :class:`Table`. Spreadsheet-like files (CSV, XLSX) give raw rows;
the header row is found later, from the column names. Map files (GeoJSON, GeoPackage,
Shapefile, KML, GPX) give named properties and one point (or a problem) per feature.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import math
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyproj

from .._errors import InputError, MissingDataError
from .._paths import input_file

log = logging.getLogger(__name__)

TABULAR = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
VECTOR = {".geojson": "geojson", ".json": "geojson", ".gpkg": "ogr", ".shp": "ogr",
          ".kml": "kml", ".kmz": "kml", ".gpx": "gpx"}
_KINDS = "CSV/TXT, XLSX, GeoJSON, GeoPackage, Shapefile, KML/KMZ or GPX"

# Writers put ' before a cell a spreadsheet would run as a formula; undo it when reading.
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Labels of the GPX <desc> lines stationplan writes (export._details).
_DESC_LABELS = ("状态", "类型", "方案序号", "地址", "电话", "开放时间", "服务", "说明", "编号")
_UNLOCATED_FIELDS = (("station_id", "编号"), ("status", "状态"), ("kind", "类型"),
                     ("rank", "方案序号"), ("address", "地址"), ("phone", "电话"),
                     ("hours", "开放时间"), ("services", "服务"), ("reason", "说明"))

Point = tuple[Any, Any]


@dataclass(frozen=True)
class Table:
    """Rows of a station file before columns are interpreted.

    ``rows`` holds ``(number, cells)``: the line or sheet row for spreadsheets, the
    feature number for map files. Map files also have ``columns`` (property names, one
    per cell), ``points`` (``(x, y)`` or a problem text per row) and the file's ``crs``.
    ``sheet`` is the sheet or layer read, ``sheets`` all those of the file.

    Cells the reader could not take as they are, by ``(row number, cell position)``:
    ``cell_problems`` (a cell too long to be a station's, shortened in ``rows``; its row
    cannot be used) and ``unsaved`` (formulas without a saved value, the formula text; the
    cell is ``None`` in ``rows``).
    """

    fmt: str
    unit: str
    rows: list[tuple[int, list[Any]]]
    columns: list[str] | None = None
    points: list[Point | str] | None = None
    crs: pyproj.CRS | None = None
    encoding: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    cell_problems: dict[tuple[int, int], str] = field(default_factory=dict)
    unsaved: dict[tuple[int, int], str] = field(default_factory=dict)


def read_table(path: Path, *, encoding: str | None, sheet: str | int | None) -> Table:
    """Read any supported station file into a :class:`Table`."""
    input_file(path, "station file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        msg = (f"{path}: unsupported station file type '.xls' (the old Excel format); "
               "open it in Excel or WPS and save it as .xlsx or CSV")
        raise InputError(msg)
    kind = TABULAR.get(suffix) or VECTOR.get(suffix)
    if kind is None:
        msg = f"{path}: unsupported station file type {path.suffix!r}; use {_KINDS}"
        raise InputError(msg)
    if kind == "csv":
        return _read_csv(path, encoding, tab=suffix == ".tsv")
    if kind == "xlsx":
        return _read_xlsx(path, sheet)
    if kind == "geojson":
        return _read_geojson(path, encoding)
    if kind == "ogr":
        return _read_ogr(path, encoding, sheet)
    if kind == "kml":
        return _read_kml(path, encoding)
    return _read_gpx(path, encoding)


# --- text ------------------------------------------------------------------------------

def decode(data: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    """Decode file bytes: the forced encoding, else UTF-16/UTF-8 by BOM, UTF-8, GB18030."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            msg = f"{path}: cannot decode as {encoding}: {exc}"
            raise InputError(msg) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        msg = (f"{path}: the file is neither UTF-8 nor GBK/GB18030 text; pass the encoding "
               "explicitly (encoding=..., --encoding)")
        raise InputError(msg) from exc
    log.info("%s: decoded as GB18030 (GBK), the default of Chinese Excel", path.name)
    return text, "gb18030"


def _delimiter(text: str) -> str:
    """Guess the CSV delimiter from the first lines: the most used of , tab ; | (else ，).

    >>> _delimiter("名称,经度,纬度\\n"), _delimiter("a\\tb\\n"), _delimiter("名称，经度，纬度")
    (',', '\\t', '，')
    """
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0, 0)
    for candidate in (",", "\t", ";", "|"):
        score = (sum(candidate in line for line in lines), sum(line.count(candidate)
                                                                 for line in lines))
        if score > best_score:
            best, best_score = candidate, score
    if best_score == (0, 0) and any("，" in line for line in lines):
        return "，"  # typed with a Chinese input method
    return best


def _read_csv(path: Path, encoding: str | None, *, tab: bool) -> Table:
    text, used = decode(path.read_bytes(), path, encoding)
    delimiter = "\t" if tab else _delimiter(text)
    text, parked = _park_long_cells(text, delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    ends = []
    long: dict[tuple[int, int], str] = {}
    line = 0
    quoted = "'" in text  # most files have no ' at all: skip the per-cell check
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if quoted and any(c[:1] == "'" for c in record):
                record = [_NEUTRALISED.sub("", c) for c in record]
            if parked:
                record = _unpark(record, parked, start, long)
            rows.append((start, record))
            ends.append(line)
    except csv.Error as exc:
        what = ("a cell runs past the reader's limit of "
                f"{_CELL_LIMIT:,} characters: a quote that is never closed, or a huge cell"
                if "field limit" in str(exc) else f"not valid CSV ({exc})")
        msg = f"{path} line {reader.line_num}: {what}; check the quotes"
        raise InputError(msg) from exc
    _check_quotes(rows, ends, path, delimiter)
    return Table("csv", "row", rows, encoding=used, cell_problems=long)


_CELL_LIMIT = csv.field_size_limit()  # csv's limit (131,072), not changed: it is global
_PARKED = "\ue000"  # a private-use character marks where a long cell was taken out


def _park_long_cells(text: str, delimiter: str) -> tuple[str, list[tuple[int, str]]]:
    """Take out runs of text too long for a CSV cell (no delimiter, quote or line break),
    so that the other cells of their rows are read; return the length and the start of
    each run taken out.

    >>> _park_long_cells("a,b\\n" + "x" * 200_000 + ",c\\n", ",")[1]
    [(200000, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')]
    """
    runs: list[tuple[int, str]] = []
    if len(text) < _CELL_LIMIT or _PARKED in text:
        return text, runs

    def park(found: re.Match[str]) -> str:
        runs.append((len(found.group()), found.group()[:40]))
        return f"{_PARKED}{len(runs) - 1}{_PARKED}"

    cell = f'[^{re.escape(delimiter)}"\r\n]'
    # from the start of a run only (the look-behind), so the search stays linear
    run = re.compile(f"(?<!{cell}){cell}{{{_CELL_LIMIT},}}")
    return run.sub(park, text), runs


def _unpark(record: list[str], runs: list[tuple[int, str]], row: int,
            long: dict[tuple[int, int], str]) -> list[str]:
    """Cells holding a taken-out run: shortened, and a problem recorded for their row."""
    out = []
    for j, cell in enumerate(record):
        if _PARKED in cell:
            parts = cell.split(_PARKED)  # text, run number, text, run number, ..., text
            taken = [runs[int(k)] for k in parts[1::2]]
            size = sum(len(t) for t in parts[0::2]) + sum(n for n, _ in taken)
            long[(row, j)] = (f"the cell has {size:,} characters, more than the "
                              f"{_CELL_LIMIT:,} a cell may have; shorten it")
            start = parts[0] + taken[0][1]
            cell = f"{start[:40]}… ({size:,} characters)"
        out.append(cell)
    return out


_DECIMAL = re.compile(r"\s*[+-]?\d+\.\d+\s*")


def _check_quotes(rows: list[tuple[int, list[str]]], ends: list[int], path: Path,
                  delimiter: str) -> None:
    """Refuse a file in which a quote that is never closed folded rows into one cell.

    A cell may hold line breaks (a two-line address in quotes), but not lines that look
    like rows of the file: as many cells as most rows have, one of them a decimal number.
    """
    widths = Counter(len(cells) for _, cells in rows if len(cells) > 1)
    if not widths:
        return
    width = widths.most_common(1)[0][0]
    for (start, cells), end in zip(rows, ends, strict=True):
        if end == start:
            continue
        for cell in cells:
            chunks = cell.splitlines()
            rowlike = [k for k, chunk in enumerate(chunks)
                       if chunk.count(delimiter) + 1 >= width
                       and any(_DECIMAL.fullmatch(c) for c in chunk.split(delimiter))]
            if len(chunks) > 1 and rowlike:
                first = chunks[rowlike[0]]
                # a quote never closed takes the file's last line break into the cell
                last = end == ends[-1] and cell.endswith(("\n", "\r"))
                until = "the end of the file" if last else f"line {end}"
                msg = (f"{path} line {start}: a quote (\") opened on this line is not closed "
                       f"until {until}, so {len(rowlike)} line(s) that look like rows "
                       f"(first: {first[:60]!r}) were read as one cell; close or remove the "
                       "quote")
                raise InputError(msg)


# --- Excel -----------------------------------------------------------------------------

def _excel_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _read_xlsx(path: Path, sheet: str | int | None) -> Table:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        msg = "reading .xlsx files needs openpyxl: pip install openpyxl"
        raise InputError(msg) from exc
    with warnings.catch_warnings():
        # openpyxl warns about styles and extensions it ignores; they do not affect values.
        warnings.simplefilter("ignore", UserWarning)
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            msg = f"{path}: not a readable .xlsx workbook ({exc}); save it again from Excel"
            raise InputError(msg) from exc
        try:
            names = book.sheetnames
            if sheet is None:
                name = names[0]
            elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit()
                                            and sheet not in names):
                index = int(sheet)
                if not 0 <= index < len(names):
                    msg = f"{path}: sheet={sheet!r} is out of range; the sheets are {names}"
                    raise InputError(msg)
                name = names[index]
            elif sheet in names:
                name = str(sheet)
            else:
                msg = f"{path}: there is no sheet {sheet!r}; the sheets are {names}"
                raise InputError(msg)
            rows = [(i, [_excel_value(v) for v in values])
                    for i, values in enumerate(book[name].iter_rows(values_only=True), start=1)]
            part = getattr(book[name], "_worksheet_path", None)  # openpyxl's, if it has one
        finally:
            book.close()
        unsaved = _unsaved_formulas(path, name, part, rows)
    return Table("xlsx", "row", rows, sheet=name, sheets=tuple(names), unsaved=unsaved)


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _unsaved_formulas(path: Path, name: str, part: str | None,
                      rows: list[tuple[int, list[Any]]]) -> dict[tuple[int, int], str]:
    """Formula cells that have no saved value: ``(row, position) -> formula``.

    The values read are the ones Excel or WPS saved with each formula; a file written by
    a program (openpyxl, a web export) often has formulas and no values, which would read
    as blank cells. The sheet is read a second time, for its formulas, only when it has any.
    """
    if part is not None:
        with zipfile.ZipFile(path) as book_zip:
            if _FORMULA_TAG.search(book_zip.read(part.lstrip("/"))) is None:
                return {}
    import openpyxl

    values = dict(rows)
    found: dict[tuple[int, int], str] = {}
    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for cells in book[name].iter_rows():
            for cell in cells:
                if getattr(cell, "data_type", None) != "f" or cell.row is None \
                        or cell.column is None:
                    continue
                row, j = cell.row, cell.column - 1
                here = values.get(row)
                if here is not None and j < len(here) and here[j] is None:
                    found[(row, j)] = str(cell.value)
    finally:
        book.close()
    return found


# --- GeoJSON ---------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """Property values as cells: lists joined by ';', objects as JSON, numpy as Python."""
    if isinstance(value, list | tuple):
        return ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value.strip() if isinstance(value, str) else value


def _geojson_point(geometry: Any) -> Point | str:
    if geometry is None:
        return "the feature has no geometry"
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        return f"the geometry is a {kind}, not a point; convert areas to points first"
    if not isinstance(coords, list) or len(coords) < 2:
        return "the point has no coordinates"
    return coords[0], coords[1]


def _collect(records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    return columns, [[_plain(r.get(c)) for c in columns] for r in records]


def _read_geojson(path: Path, encoding: str | None) -> Table:
    text, used = decode(path.read_bytes(), path, encoding)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{path}: not valid JSON ({exc})"
        raise InputError(msg) from exc
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "FeatureCollection":
        features = doc.get("features") or []
    elif kind == "Feature":
        features = [doc]
    elif kind in ("Point", "MultiPoint"):
        features = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        msg = f"{path}: not a GeoJSON FeatureCollection (type {kind!r})"
        raise InputError(msg)
    crs = pyproj.CRS.from_epsg(4326)
    name = ((doc.get("crs") or {}).get("properties") or {}).get("name")
    if name and "crs84" not in name.lower():  # the pre-RFC 7946 "crs" member
        try:
            crs = pyproj.CRS.from_user_input(name)
        except pyproj.exceptions.CRSError as exc:
            msg = f"{path}: unknown \"crs\" {name!r}; remove it or pass crs=..."
            raise InputError(msg) from exc
    records = [dict(f.get("properties") or {}) if isinstance(f, dict) else {} for f in features]
    for record, feature in zip(records, features, strict=True):
        if isinstance(feature, dict) and "id" in feature and "id" not in record:
            record["id"] = feature["id"]
    columns, rows = _collect(records)
    points = [_geojson_point(f.get("geometry") if isinstance(f, dict) else None)
              for f in features]
    return Table("geojson", "feature", list(enumerate(rows, start=1)), columns, points, crs,
                 encoding=used)


# --- GeoPackage, Shapefile -------------------------------------------------------------

def _read_ogr(path: Path, encoding: str | None, layer: str | int | None) -> Table:
    import geopandas as gpd
    import pyogrio
    import shapely

    listed = pyogrio.list_layers(path)
    layers = [str(row[0]) for row in listed]
    if layer is None:
        name = layers[0]
    elif str(layer) in layers:
        name = str(layer)
    elif str(layer).isdigit() and int(layer) < len(layers):
        name = layers[int(layer)]
    else:
        msg = f"{path}: there is no layer {layer!r}; the layers are {layers}"
        raise InputError(msg)
    kwargs: dict[str, Any] = {"encoding": encoding} if encoding else {}
    try:
        frame = gpd.read_file(path, layer=name, engine="pyogrio", **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"{path}: cannot read layer {name!r} ({exc})"
        raise InputError(msg) from exc
    columns = [c for c in frame.columns if c != frame.geometry.name]
    rows = [[_plain(v) for v in values] for values in frame[columns].itertuples(index=False)]
    points: list[Point | str] = []
    for geom in frame.geometry.to_numpy():
        if geom is not None and geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        if geom is None or shapely.is_empty(geom):
            points.append("the feature has no geometry")
        elif geom.geom_type != "Point":
            points.append(f"the geometry is a {geom.geom_type}, not a point; "
                          "convert areas to points first")
        else:
            points.append((geom.x, geom.y))
    if layer is None and len(layers) > 1 and not any(isinstance(p, tuple) for p in points):
        # A GeoPackage often holds roads or areas before the stations: say which is which.
        kinds = {str(n): str(k) for n, k in listed}
        pick = next((n for n in layers if "point" in kinds[n].lower()), layers[1])
        shown = ", ".join(f"'{n}' ({kinds[n]})" for n in layers)
        msg = (f"{path}: its first layer {name!r} holds no station points "
               f"({kinds[name]} features); the layers are {shown}; choose one with "
               f"sheet={pick!r} (--sheet {pick})")
        raise InputError(msg)
    return Table("ogr", "feature", list(enumerate(rows, start=1)), columns, points, frame.crs,
                 encoding=encoding, sheet=name, sheets=tuple(layers))


# --- KML, GPX --------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return None


def _xml_root(data: bytes, path: Path, encoding: str | None) -> ET.Element:
    try:
        if encoding:
            text, _ = decode(data, path, encoding)
            return ET.fromstring(_XML_DECLARATION.sub("", text))
        return ET.fromstring(data)
    except ET.ParseError as exc:
        msg = f"{path}: not valid XML ({exc})"
        raise InputError(msg) from exc


def _read_kml(path: Path, encoding: str | None) -> Table:
    data = path.read_bytes()
    if path.suffix.lower() == ".kmz":
        with zipfile.ZipFile(io.BytesIO(data)) as kmz:
            inner = [n for n in kmz.namelist() if n.lower().endswith(".kml")]
            if not inner:
                msg = f"{path}: the KMZ holds no .kml file"
                raise InputError(msg)
            data = kmz.read("doc.kml" if "doc.kml" in inner else inner[0])
    root = _xml_root(data, path, encoding)
    records: list[dict[str, Any]] = []
    points: list[Point | str] = []

    def walk(element: ET.Element, folder: str | None) -> None:
        for child in element:
            tag = _local(child.tag)
            if tag in ("Folder", "Document"):
                walk(child, _child_text(child, "name") if tag == "Folder" else folder)
            elif tag == "Placemark":
                records.append(_placemark_record(child, folder))
                points.append(_placemark_point(child))

    walk(root, None)
    columns, rows = _collect(records)
    return Table("kml", "placemark", list(enumerate(rows, start=1)), columns, points,
                 pyproj.CRS.from_epsg(4326), encoding=encoding)


def _placemark_record(placemark: ET.Element, folder: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name in ("name", "address", "phoneNumber", "description"):
        value = _child_text(placemark, name)
        if value is not None:
            record[name] = value
    if folder:
        record["folder"] = folder
    for element in placemark.iter():
        tag = _local(element.tag)
        key = element.get("name")
        if tag == "Data" and key:
            record[key] = (_child_text(element, "value") or "")
        elif tag == "SimpleData" and key:
            record[key] = (element.text or "").strip()
    return record


def _placemark_point(placemark: ET.Element) -> Point | str:
    kinds = []
    for element in placemark.iter():
        tag = _local(element.tag)
        if tag == "Point":
            text = _child_text(element, "coordinates") or ""
            parts = text.split()[0].split(",") if text.split() else []
            if len(parts) < 2:
                return "the Point has no coordinates"
            return parts[0].strip(), parts[1].strip()
        if tag in ("LineString", "Polygon", "LinearRing", "Track", "Model"):
            kinds.append(tag)
    if kinds:
        return f"the placemark is a {kinds[0]}, not a Point"
    return "the placemark has no Point"


def _desc_fields(desc: str) -> dict[str, str]:
    """Fields of a stationplan GPX description ("地址: ..." one per line).

    >>> _desc_fields("状态: 现有站点\\n地址: 长寿街\\n二号\\n编号: s1")
    {'状态': '现有站点', '地址': '长寿街\\n二号', '编号': 's1'}
    >>> _desc_fields("just a note")
    {}
    """
    fields: dict[str, str] = {}
    last = None
    for line in desc.split("\n"):
        label, sep, value = line.partition(": ")
        if sep and label in _DESC_LABELS:
            fields[label] = value
            last = label
        elif last is not None:
            fields[last] += "\n" + line
        else:
            return {}
    return fields


def _read_gpx(path: Path, encoding: str | None) -> Table:
    root = _xml_root(path.read_bytes(), path, encoding)
    records: list[dict[str, Any]] = []
    points: list[Point | str] = []
    for wpt in (c for c in root if _local(c.tag) == "wpt"):
        record: dict[str, Any] = {}
        for name in ("name", "desc", "cmt", "type"):
            value = _child_text(wpt, name)
            if value is not None:
                record[name] = value
        record.update(_desc_fields(record.get("desc", "")))
        records.append(record)
        lon, lat = wpt.get("lon"), wpt.get("lat")
        points.append((lon, lat) if lon is not None and lat is not None
                      else "the waypoint has no lat/lon")
    for element in root.iter():
        if _local(element.tag) == "unlocated":  # stationplan's stations without a position
            # Same columns as the <desc> fields of the located waypoints.
            record = {"name": (element.text or "").strip()}
            record.update({label: element.get(attribute, "")
                           for attribute, label in _UNLOCATED_FIELDS})
            records.append(record)
            points.append("the station has no position (listed in the GPX extensions)")
    if not records:
        msg = f"{path}: the GPX file has no waypoints (<wpt>); stations must be waypoints"
        raise MissingDataError(msg)
    columns, rows = _collect(records)
    return Table("gpx", "waypoint", list(enumerate(rows, start=1)), columns, points,
                 pyproj.CRS.from_epsg(4326), encoding=encoding)
