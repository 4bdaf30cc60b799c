"""Small output helpers: atomic writes, spreadsheet-safe CSV, deterministic GeoJSON / JSON text,
script-safe JSON."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import MissingDataError, OutputError
from ._outdir import DISK_FULL
from ._text import cell_text

# What a spreadsheet runs as a formula when a cell starts with it (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    An interrupted run never leaves a half-written file under the final name; the file
    gets the usual mode (0o666 less the umask). A missing folder is a
    :class:`~stationplan.MissingDataError` that names it.
    """
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
                fh.write(data)
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


def csv_bytes(rows: Iterable[Iterable[str]]) -> bytes:
    """CSV in UTF-8 with BOM and CRLF line ends, which Excel opens correctly.

    >>> csv_bytes([["a", "b,c"], ["1", ""]])
    b'\\xef\\xbb\\xbfa,"b,c"\\r\\n1,\\r\\n'
    """
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def json_text(data: Any) -> str:
    """Deterministic, human-readable JSON (sorted keys, UTF-8 text, NaN as null).

    Examples
    --------
    >>> json_text({"b": float("nan"), "a": np.int64(2)})
    '{\\n  "a": 2,\\n  "b": null\\n}\\n'
    """
    return json.dumps(json_ready(data), ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def script_json(value: Any) -> str:
    """Compact JSON that is safe inside a ``<script>`` element.

    Inside a script the HTML parser reacts only to ``</`` (an end tag such as
    ``</script>``) and to ``<!--``; JSON has ``<`` only inside strings, where ``<\\/``
    and ``\\u003c`` stand for the same characters. U+2028 and U+2029 end lines in older
    JavaScript, so they are escaped too. NaN is refused (it is not JSON).

    >>> print(script_json({"a": "</script><!--<b>", "b": "`${x}`\u2028"}))
    {"a":"<\\/script>\\u003c!--<b>","b":"`${x}`\\u2028"}
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def geojson_text(frame: gpd.GeoDataFrame, *, precision: int = 7) -> str:
    """RFC 7946 GeoJSON text (WGS-84 lon/lat), one feature per line, deterministic.

    Parameters
    ----------
    frame
        Any CRS; it is converted to EPSG:4326. Missing geometries become ``null``.
    precision
        Decimal places of coordinates (7 ≈ 1 cm).
    """
    if frame.crs is None:
        msg = "GeoDataFrame has no CRS; set it before writing GeoJSON"
        raise ValueError(msg)
    frame = frame.to_crs(4326)
    geoms = shapely.transform(frame.geometry.to_numpy(), lambda xy: np.round(xy, precision))
    props = frame.drop(columns=frame.geometry.name)
    lines = []
    for geom, rec in zip(geoms, props.to_dict("records"), strict=True):
        feature = {
            "type": "Feature",
            "properties": json_ready(rec),
            "geometry": None if geom is None or shapely.is_empty(geom) else geom.__geo_interface__,
        }
        lines.append(json.dumps(json_ready(feature), ensure_ascii=False, sort_keys=True,
                                separators=(",", ":")))
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


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
