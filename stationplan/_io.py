"""Small output helpers: atomic writes, spreadsheet-safe CSV, deterministic Excel workbooks,
deterministic GeoJSON / JSON text, script-safe JSON."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import MissingDataError, OutputError
from ._outdir import DISK_FULL
from ._text import cell_text, plain_text

# What a spreadsheet runs as a formula when a cell starts with it (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# XML 1.0 allows tab, LF and CR among the C0 controls; CR is turned into LF beforehand.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Excel's limit on the characters of one cell; a longer text makes it "repair" the file.
EXCEL_CELL_CHARS = 32_767
# The times a workbook carries (docProps/core.xml and every zip entry), fixed so that the
# same table gives the same bytes. 1980-01-01 is the earliest time a zip entry can hold.
_XLSX_TIME = (1980, 1, 1, 0, 0, 0)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    An interrupted run never leaves a half-written file under the final name; the file
    gets the usual mode (0o666 less the umask). A missing folder is a
    :class:`~stationplan.MissingDataError` that names it.
    """
    return atomic_write_with(path, lambda fh: fh.write(data))


def atomic_write_chunks(path: str | os.PathLike[str], chunks: Iterable[str], *,
                        encoding: str = "utf-8") -> Path:
    """Write text given in pieces atomically (see :func:`atomic_write_bytes`), one piece
    in memory at a time.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write_chunks(p, iter(["你", "好"])).read_text(encoding="utf-8")
    '你好'
    """
    def write(fh: Any) -> None:
        for chunk in chunks:
            fh.write(chunk.encode(encoding))

    return atomic_write_with(path, write)


def atomic_write_with(path: str | os.PathLike[str], write: Callable[[Any], object]) -> Path:
    """Call ``write`` with a binary file open on a temporary file beside ``path``, then
    move it to ``path`` (see :func:`atomic_write_bytes`)."""
    path = Path(path)
    if not path.parent.is_dir():
        msg = f"cannot write {path}: directory {path.parent} does not exist"
        raise MissingDataError(msg)
    if path.is_dir():
        msg = f"cannot write {path}: it is a folder; give a file name"
        raise OutputError(msg)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        hint = ("free some space and rerun" if exc.errno in DISK_FULL
                else "pick a folder you can write to")
        msg = f"cannot write {path}: {exc.strerror or exc}; {hint}"
        raise OutputError(msg) from exc
    return path


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` atomically (see :func:`atomic_write_bytes`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write_text(p, "你好").read_text(encoding="utf-8")
    '你好'
    """
    return atomic_write_bytes(path, text.encode(encoding))


def neutralise(text: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula; numbers stay as they are.

    >>> neutralise("=HYPERLINK(0)"), neutralise("-12.5"), neutralise("-1+cmd"), neutralise("")
    ("'=HYPERLINK(0)", '-12.5', "'-1+cmd", '')
    """
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: numbers to the millimetre, booleans as true/false, missing empty.

    >>> csv_cell(1.23456), csv_cell(True), csv_cell(float("nan")), csv_cell(3), csv_cell(" a")
    ('1.235', 'true', '', '3', 'a')
    """
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return "" if not np.isfinite(value) else f"{float(value):.3f}".rstrip("0").rstrip(".")
    return cell_text(value)


def csv_bytes(rows: Iterable[Iterable[str]], *, bom: bool = True) -> bytes:
    """CSV in UTF-8 with BOM and CRLF line ends, which Excel opens correctly.

    ``bom=False`` leaves the BOM out, for web apps that take the first bytes as text.

    >>> csv_bytes([["a", "b,c"], ["1", ""]])
    b'\\xef\\xbb\\xbfa,"b,c"\\r\\n1,\\r\\n'
    >>> csv_bytes([["经纬度"], ["1,2"]], bom=False).decode()
    '经纬度\\r\\n"1,2"\\r\\n'
    """
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig" if bom else "utf-8")


def xml_text(text: str) -> str:
    """Drop what XML 1.0 cannot hold: C0 controls except tab and LF (CR becomes LF).

    >>> xml_text("a\\x00b\\x1bc\\td\\r\\ne")
    'abc\\td\\ne'
    """
    return _XML_FORBIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def text_width(text: str) -> int:
    """How many columns ``text`` takes in a spreadsheet: wide (CJK) characters count two.

    >>> text_width("S1"), text_width("驿站 1"), text_width("")
    (2, 6, 0)
    """
    if text.isascii():  # no wide characters: most cells of large tables
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]], *,
               number_formats: Mapping[str, str] | None = None) -> bytes:
    """An Excel workbook (.xlsx) of plain tables, the same bytes for the same tables.

    Each sheet has its header row first, in bold and frozen, and columns as wide as their
    longest text (wide characters count two, at most 60). Cells keep their type: numbers
    (int, float, numpy) stay numbers, booleans booleans, text text; None, NaN and
    infinities are empty cells. Text is always a text cell, never a formula: one starting
    with ``= + - @`` is stored as it is with Excel's quote prefix, so that editing the
    cell does not run it either. Characters XML cannot hold are dropped and text longer
    than Excel's 32,767 characters is cut there. The workbook's creation and change times
    and the zip entries' times are fixed, so reruns give identical files.

    Parameters
    ----------
    sheets
        ``(title, rows)`` per sheet, in order; ``rows[0]`` is the header. Titles are
        cut to Excel's 31 characters.
    number_formats
        Excel number format by header text, e.g. ``{"经度": "0.000000"}``, applied to the
        data cells of the columns with that header in every sheet.

    Returns
    -------
    bytes
        The .xlsx file.

    Examples
    --------
    >>> import openpyxl
    >>> data = xlsx_bytes([("站点", [["名称", "经度"], ["=1+1", 117.5], ["S2", float("nan")]])])
    >>> ws = openpyxl.load_workbook(io.BytesIO(data)).active
    >>> [[c.value for c in row] for row in ws.iter_rows()], ws.freeze_panes
    ([['名称', '经度'], ['=1+1', 117.5], ['S2', None]], 'A2')
    >>> data == xlsx_bytes([("站点", [["名称", "经度"], ["=1+1", 117.5], ["S2", None]])])
    True
    """
    import datetime

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    formats = dict(number_formats or {})
    stamp = datetime.datetime(*_XLSX_TIME)  # core.xml holds UTC without a zone
    book = Workbook()
    for blank in book.worksheets:  # the sheet a new workbook starts with
        book.remove(blank)
    book.properties.creator = "stationplan"
    book.properties.created = book.properties.modified = stamp
    bold = Font(bold=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title[:31])
        widths: dict[int, int] = {}
        header = [plain_text(h) for h in rows[0]] if rows else []
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                cell = sheet.cell(row=r, column=c)
                shown = _xlsx_value(value)
                if shown is None:
                    continue
                cell.value = shown
                if isinstance(shown, str):
                    cell.data_type = "s"  # openpyxl makes a formula of "=..."
                    cell.quotePrefix = shown.startswith(_FORMULA_START)
                if r == 1:
                    cell.font = bold
                elif c <= len(header) and header[c - 1] in formats:
                    cell.number_format = formats[header[c - 1]]
                widths[c] = max(widths.get(c, 0), _shown_width(shown, cell.number_format))
        sheet.freeze_panes = "A2"
        for c, width in widths.items():
            sheet.column_dimensions[get_column_letter(c)].width = min(max(width, 6), 60) + 2
    raw = io.BytesIO()
    book.save(raw)  # stamps "modified" with the time of saving: replaced below
    return _fixed_zip(raw.getvalue(), core=_core_xml(book, stamp))


def _xlsx_value(value: Any) -> str | int | float | bool | None:
    """A table value as an Excel cell value (None for an empty cell)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    text = xml_text(plain_text(value))
    return text[:EXCEL_CELL_CHARS] if text else None


def _shown_width(value: str | int | float | bool, number_format: str) -> int:
    if isinstance(value, str):
        return max(text_width(line) for line in value.split("\n"))
    if isinstance(value, float) and number_format.startswith("0."):
        return len(f"{value:.{len(number_format) - 2}f}")
    return len(str(value))


def _core_xml(book: Any, stamp: Any) -> bytes:
    from openpyxl.xml.functions import tostring

    book.properties.created = book.properties.modified = stamp
    return bytes(tostring(book.properties.to_tree()))


def _fixed_zip(data: bytes, *, core: bytes) -> bytes:
    """The zip ``data`` again, with fixed entry times and ``docProps/core.xml`` = ``core``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=_XLSX_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            body = core if item.filename == "docProps/core.xml" else src.read(item)
            dst.writestr(entry, body)
    return out.getvalue()


def json_text(data: Any) -> str:
    """Deterministic, human-readable JSON (sorted keys, UTF-8 text, NaN as null).

    Examples
    --------
    >>> json_text({"b": float("nan"), "a": np.int64(2)})
    '{\\n  "a": 2,\\n  "b": null\\n}\\n'
    """
    return json.dumps(json_ready(data), ensure_ascii=False, sort_keys=True, indent=2) + "\n"


class RawJSON:
    """JSON text that :func:`script_json` puts into its output as it is (made elsewhere,
    such as the coordinates of a map's merged lines, written by a compiled loop).

    >>> RawJSON("[1,2]")
    RawJSON('[1,2]')
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawJSON) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def script_json(value: Any) -> str:
    """Compact JSON that is safe inside a ``<script>`` element.

    Inside a script the HTML parser reacts only to ``</`` (an end tag such as
    ``</script>``) and to ``<!--``; JSON has ``<`` only inside strings, where ``<\\/``
    and ``\\u003c`` stand for the same characters. U+2028 and U+2029 end lines in older
    JavaScript, so they are escaped too. NaN is refused (it is not JSON). A
    :class:`RawJSON` in ``value`` is written as its text (it holds no ``<``, U+2028 or
    U+2029).

    >>> print(script_json({"a": "</script><!--<b>", "b": "`${x}`\u2028"}))
    {"a":"<\\/script>\\u003c!--<b>","b":"`${x}`\\u2028"}
    >>> print(script_json([1, RawJSON("[[2,3],[4]]"), "raw"]))
    [1,[[2,3],[4]],"raw"]
    """
    raw: list[str] = []
    # a RawJSON's place while json.dumps writes: a text with a key of this call's (the
    # caller's texts cannot hold it) and a control character, which JSON escapes
    key = secrets.token_hex(8)

    def slot(obj: Any) -> str:
        if not isinstance(obj, RawJSON):
            msg = f"Object of type {type(obj).__name__} is not JSON serializable"
            raise TypeError(msg)
        raw.append(obj.text)
        return f"\x01{key}:{len(raw) - 1}"

    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                      default=slot)
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if not raw:
        return text
    return re.sub(f'"\\\\u0001{key}:(\\d+)"', lambda m: raw[int(m.group(1))], text)


def geojson_text(frame: gpd.GeoDataFrame, *, precision: int = 7) -> str:
    """RFC 7946 GeoJSON text (WGS-84 lon/lat), one feature per line, deterministic.

    Parameters
    ----------
    frame
        Any CRS; it is converted to EPSG:4326. Missing geometries become ``null``.
    precision
        Decimal places of coordinates (7 ≈ 1 cm).
    """
    return "".join(geojson_chunks(frame, precision=precision))


# Features per piece of text geojson_chunks gives (a few tens of MB of text).
_CHUNK_FEATURES = 50_000


def geojson_chunks(frame: gpd.GeoDataFrame, *, precision: int = 7,
                   chunk: int = _CHUNK_FEATURES) -> Iterator[str]:
    """The text of :func:`geojson_text` in pieces of ``chunk`` features, so that a large
    layer is written as a stream (:func:`write_geojson`) without its whole text in memory.

    >>> import shapely
    >>> f = gpd.GeoDataFrame({"a": [1, 2, 3]}, geometry=[shapely.Point(i, 0) for i in range(3)],
    ...                      crs=4326)
    >>> "".join(geojson_chunks(f, chunk=2)) == geojson_text(f)
    True
    """
    if frame.crs is None:
        msg = "GeoDataFrame has no CRS; set it before writing GeoJSON"
        raise ValueError(msg)
    yield '{"type":"FeatureCollection","features":[\n'
    for lo in range(0, len(frame), chunk):
        lines = _features_text(frame.iloc[lo:lo + chunk], precision)
        yield ("" if lo == 0 else ",\n") + ",\n".join(lines)
    yield "\n]}\n"


def _features_text(frame: gpd.GeoDataFrame, precision: int) -> list[str]:
    frame = frame.to_crs(4326)
    geoms = shapely.transform(frame.geometry.to_numpy(), lambda xy: np.round(xy, precision))
    props = frame.drop(columns=frame.geometry.name)
    fast = _feature_lines(geoms, props)
    if fast is not None:
        return fast
    lines = []
    for geom, rec in zip(geoms, props.to_dict("records"), strict=True):
        feature = {
            "type": "Feature",
            "properties": json_ready(rec),
            "geometry": None if geom is None or shapely.is_empty(geom) else geom.__geo_interface__,
        }
        lines.append(json.dumps(json_ready(feature), ensure_ascii=False, sort_keys=True,
                                separators=(",", ":")))
    return lines


def write_geojson(path: str | Path, frame: gpd.GeoDataFrame, *, precision: int = 7) -> Path:
    """Write :func:`geojson_text` of ``frame`` to ``path`` atomically, as a stream of
    pieces (the same bytes)."""
    return atomic_write_chunks(path, geojson_chunks(frame, precision=precision))


def write_geoparquet(path: str | Path, frame: gpd.GeoDataFrame) -> Path:
    """Write ``frame`` as GeoParquet atomically, in its own CRS (declared in the file) with
    coordinates as they are; text columns holding other values than text become JSON text.

    >>> import tempfile, pathlib, shapely
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.parquet"
    >>> f = gpd.GeoDataFrame({"osmid": [1, [2, 3]], "n": [1.5, None]},
    ...                      geometry=[shapely.Point(0, 1), shapely.Point(2, 3)], crs=3857)
    >>> back = gpd.read_parquet(write_geoparquet(p, f))
    >>> back["osmid"].tolist(), back.crs.to_epsg(), back.geometry[1].wkt
    (['1', '[2,3]'], 3857, 'POINT (2 3)')
    """
    frame = frame.copy(deep=False)
    for name in frame.columns:
        col = frame[name]
        if name == frame.geometry.name or col.dtype != object:
            continue
        values = col.to_numpy()
        missing = pd.isna(col).to_numpy()
        if all(isinstance(v, str) for v in values[~missing]):
            continue
        frame[name] = [None if m else v if isinstance(v, str) else _dumps(v)
                       for v, m in zip(values, missing, strict=True)]
    import pyarrow as pa
    import pyarrow.parquet as pq
    from geopandas.io import arrow

    # written to the file as it is encoded: a buffer in memory grown to the file's size
    # first cost a fresh page of memory for every 4 kB (55,000 for the gap runs of a
    # 10^6-segment city, 0.15 s of a forked writer's time)
    if all(hasattr(arrow, helper) for helper in _GEOPANDAS_WRITER_HELPERS):
        table = geoparquet_table(frame)
        # dictionaries for the text only (road classes, names, statuses: few values
        # repeated); numbers and geometries are mostly distinct, and the writer would build
        # a dictionary of each column's first megabyte to drop it (0.1 s of a million rows)
        text = [f.name for f in table.schema
                if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        return atomic_write_with(path, lambda fh: pq.write_table(
            table, fh, compression="snappy", use_dictionary=text))
    # a geopandas without the helpers geoparquet_table takes: its own writer
    return atomic_write_with(path, lambda fh: frame.to_parquet(fh, index=False,
                                                              compression="snappy"))


#: The private helpers of geopandas' GeoParquet writer that :func:`geoparquet_table` calls.
_GEOPANDAS_WRITER_HELPERS = ("_validate_dataframe", "_create_metadata", "_encode_metadata")


def geoparquet_table(frame: gpd.GeoDataFrame) -> Any:
    """The Arrow table ``frame.to_parquet(path, index=False)`` writes, with the same
    schema and metadata (geopandas' own "geo" metadata), built without a Python object
    per geometry: the WKB of 2-D LineStrings is written from their coordinates
    (:func:`wkb_array`), and their column's bounding box and type in the metadata come
    from the same coordinates.

    >>> import io, shapely, pyarrow.parquet as pq
    >>> f = gpd.GeoDataFrame({"a": ["x", None]}, crs=32650,
    ...     geometry=[shapely.LineString([(0, 1), (2, 3)]), shapely.LineString([(4, 5), (6, 7)])])
    >>> theirs, ours = io.BytesIO(), io.BytesIO()
    >>> f.to_parquet(theirs, index=False); pq.write_table(geoparquet_table(f), ours)
    >>> theirs.getvalue() == ours.getvalue()
    True
    """
    import pyarrow as pa
    from geopandas.io import arrow

    # geopandas' own checks and "geo" metadata (its writer's helpers, not in its stubs),
    # so that the bytes stay those of to_parquet
    writer: Any = arrow
    writer._validate_dataframe(frame)
    columns = frame.columns[frame.dtypes == "geometry"]
    # each geometry column's WKB, and for 2-D LineStrings (none missing) the bounding box
    # of their points; when every column has one, the metadata's types and boxes are
    # those, else geopandas finds them geometry by geometry
    wkb = {name: wkb_array(frame[name].to_numpy()) for name in columns}
    from_points = all(box is not None for _, box in wkb.values())
    geo = writer._create_metadata(frame.iloc[:0] if from_points else frame)
    if from_points:  # as geopandas finds them: ["LineString"] and total_bounds
        for name in columns:
            geo["columns"][name]["geometry_types"] = ["LineString"]
            geo["columns"][name]["bbox"] = wkb[name][1]
    attrs = pd.DataFrame(frame.copy(deep=False))
    for name in columns:
        attrs[name] = None  # a null column, replaced by the WKB below
    table = pa.Table.from_pandas(attrs, preserve_index=False)
    for name in columns:
        crs = frame[name].crs
        extension = {"ARROW:extension:name": "geoarrow.wkb", "ARROW:extension:metadata":
                     json.dumps({"crs": crs.to_json_dict()}) if crs is not None else "{}"}
        table = table.set_column(table.schema.get_field_index(name),
                                 pa.field(name, pa.binary(), nullable=True, metadata=extension),
                                 wkb[name][0])
    metadata = table.schema.metadata
    metadata[b"geo"] = writer._encode_metadata(geo)
    if frame.attrs:
        metadata["PANDAS_ATTRS"] = json.dumps(frame.attrs)
    return table.replace_schema_metadata(metadata)


def wkb_array(geoms: np.ndarray) -> tuple[Any, list[float] | None]:
    """The ISO WKB of ``geoms`` (shapely geometries, missing ones null) as an Arrow binary
    array: the bytes of ``shapely.to_wkb(geoms, flavor="iso")``. 2-D LineStrings (most of
    a run's layers) are written from their coordinates, without a Python object each, and
    their bounding box ``[xmin, ymin, xmax, ymax]`` (geopandas' ``total_bounds``) comes
    with them where they have points, all finite; else the box is ``None``.

    >>> import shapely
    >>> lines = np.array([shapely.LineString([(0, 1), (2.5, 3)]), shapely.LineString()])
    >>> wkb, box = wkb_array(lines)
    >>> wkb.to_pylist() == shapely.to_wkb(lines, flavor="iso").tolist(), box
    (True, [0.0, 1.0, 2.5, 3.0])
    >>> wkb_array(np.array([shapely.Point(0, 1)]))[1] is None
    True
    """
    import pyarrow as pa

    lines_2d = bool(len(geoms) and (shapely.get_type_id(geoms) == 1).all()
                    and not shapely.has_z(geoms).any())
    if not lines_2d:
        return pa.array(shapely.to_wkb(geoms, flavor="iso"), pa.binary()), None
    from ._encode import linestring_wkb

    xy, which = shapely.get_coordinates(geoms, return_index=True)
    count = np.bincount(which, minlength=len(geoms))
    ends = np.cumsum(9 + 16 * count)  # byte order, type, point count and the points
    if ends[-1] >= 2**31:  # beyond a binary array's 32-bit offsets
        return pa.array(shapely.to_wkb(geoms, flavor="iso"), pa.binary()), None
    # each geometry's 9 bytes of head, then its points; their box in the same pass
    data, bounds, finite = linestring_wkb(xy, count, ends)
    offsets = np.r_[0, ends].astype(np.int32)
    return (pa.Array.from_buffers(pa.binary(), len(geoms),
                                  [None, pa.py_buffer(offsets), pa.py_buffer(data)]),
            bounds.tolist() if len(xy) and finite else None)


def _dumps(value: Any) -> str:
    return json.dumps(json_ready(value), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


def _number_texts(values: np.ndarray) -> list[str]:
    """JSON text of floats as :func:`json_ready` and ``json.dumps`` write them."""
    return [repr(round(v, 6)) if math.isfinite(v) else "null" for v in values.tolist()]


def _column_texts(column: pd.Series) -> list[str] | None:
    """JSON text of each value of a column, as the per-feature writer makes it; ``None``
    for column types only that writer handles."""
    kind = column.dtype.kind
    if isinstance(column.dtype, np.dtype) and kind == "f":
        return _number_texts(column.to_numpy())
    if isinstance(column.dtype, np.dtype) and kind in "iu":
        return [str(v) for v in column.to_numpy().tolist()]
    if isinstance(column.dtype, np.dtype) and kind == "b":
        return ["true" if v else "false" for v in column.to_numpy().tolist()]
    if kind == "O" or isinstance(column.dtype, pd.StringDtype):
        values = np.asarray(column.astype(object).where(column.notna(), None), dtype=object)
        try:
            codes, uniques = pd.factorize(values)  # missing values: -1
        except TypeError:  # unhashable cells (lists)
            return [_dumps(v) for v in values]
        texts = [_dumps(v) for v in uniques] + ["null"]
        return [texts[c] for c in codes.tolist()]
    return None


def _feature_lines(geoms: np.ndarray, props: pd.DataFrame) -> list[str] | None:
    """The features of :func:`geojson_text` built column by column (millions of pieces
    in seconds), byte for byte as the per-feature writer makes them; ``None`` unless all
    geometries are 2-D LineStrings or all 2-D Points."""
    if len(geoms) == 0 or shapely.is_missing(geoms).any() or shapely.has_z(geoms).any():
        return None
    kinds = set(shapely.get_type_id(geoms).tolist())
    if kinds not in ({0}, {1}) or shapely.is_empty(geoms).any():
        return None
    keys = sorted(str(k) for k in props.columns)
    if len(set(keys)) != len(keys):
        return None
    by_key = {str(k): k for k in props.columns}
    columns = []
    for key in keys:
        texts = _column_texts(props[by_key[key]])
        if texts is None:
            return None
        columns.append(texts)
    xy, which = shapely.get_coordinates(geoms, return_index=True)
    xs, ys = _number_texts(xy[:, 0]), _number_texts(xy[:, 1])
    if kinds == {0}:  # Points
        shapes = [f'{{"coordinates":[{x},{y}],"type":"Point"}}'
                  for x, y in zip(xs, ys, strict=True)]
    else:
        pairs = [f"[{x},{y}]" for x, y in zip(xs, ys, strict=True)]
        bounds = np.r_[0, np.flatnonzero(np.diff(which)) + 1, len(which)].tolist()
        shapes = [f'{{"coordinates":[{",".join(pairs[a:b])}],"type":"LineString"}}'
                  for a, b in itertools.pairwise(bounds)]
    names = [json.dumps(k, ensure_ascii=False) + ":" for k in keys]
    props_text = [",".join(n + v for n, v in zip(names, row, strict=True))
                  for row in zip(*columns, strict=True)] if keys else [""] * len(shapes)
    return [f'{{"geometry":{g},"properties":{{{p}}},"type":"Feature"}}'
            for g, p in zip(shapes, props_text, strict=True)]


def json_ready(value: Any) -> Any:
    """Turn numpy/pandas values into JSON-ready Python values (NaN, inf -> None)."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 6)
    if value is None or isinstance(value, bool | int | str):
        return value
    if pd.isna(value):  # pandas NA / NaT
        return None
    return str(value)
