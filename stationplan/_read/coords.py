"""Coordinate cells and coordinate systems of station files.

Parse what people type into coordinate cells (decimal degrees with full-width digits,
degree-minute-second strings, "lng,lat" pairs) and convert a source coordinate system
(WGS-84, CGCS2000, GCJ-02, BD-09 or any EPSG code) to WGS-84.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from .. import chinacrs
from .._errors import InputError

# Cells that mean "no value" in spreadsheets; a row made only of these is skipped.
NA_TOKENS = frozenset({"", "#n/a", "n/a", "#na", "na", "null", "none", "-", "--", "—", "/"})

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_HEMISPHERE = re.compile(r"东经|西经|南纬|北纬|[东西南北NSEW]")
_DMS_MARKS = re.compile(r"[°º˚度′'’‘分″\"”“秒:\s]+")
_SOUTH_WEST = frozenset({"西经", "南纬", "西", "南", "S", "W"})

_CHINESE_SYSTEMS = {
    "wgs84": ("wgs84", "wgs84"), "wgs": ("wgs84", "wgs84"), "gps": ("wgs84", "wgs84"),
    "epsg:4326": ("wgs84", "wgs84"), "4326": ("wgs84", "wgs84"),
    "cgcs2000": ("wgs84", "cgcs2000"), "epsg:4490": ("wgs84", "cgcs2000"),
    "4490": ("wgs84", "cgcs2000"),
    "gcj02": ("gcj02", "gcj02"), "amap": ("gcj02", "gcj02"), "gaode": ("gcj02", "gcj02"),
    "高德": ("gcj02", "gcj02"), "tencent": ("gcj02", "gcj02"), "腾讯": ("gcj02", "gcj02"),
    "bd09": ("bd09", "bd09"), "bd09ll": ("bd09", "bd09"), "baidu": ("bd09", "bd09"),
    "百度": ("bd09", "bd09"),
}


@dataclass(frozen=True)
class CrsSpec:
    """A source coordinate system: ``kind`` is "wgs84", "gcj02", "bd09" or "pyproj"."""

    kind: str
    label: str
    crs: pyproj.CRS | None = None

    @property
    def geographic(self) -> bool:
        """True for longitude/latitude in degrees."""
        return self.crs is None or self.crs.is_geographic


WGS84 = CrsSpec("wgs84", "wgs84")


def resolve_crs(value: Any, *, param: str = "crs") -> CrsSpec | None:
    """Turn a user's ``crs`` option into a :class:`CrsSpec` (``None`` stays ``None``).

    Examples
    --------
    >>> resolve_crs("GCJ-02").kind, resolve_crs("EPSG:4490").label, resolve_crs(None)
    ('gcj02', 'cgcs2000', None)
    >>> resolve_crs("EPSG:3857").label
    'EPSG:3857'
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, CrsSpec):
        return value
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        if key.startswith("epsg") and not key.startswith("epsg:"):
            key = "epsg:" + key[4:]
        if key in _CHINESE_SYSTEMS:
            kind, label = _CHINESE_SYSTEMS[key]
            return CrsSpec(kind, label)
        if key.startswith("epsg:"):
            value = key.upper()
    try:
        crs = pyproj.CRS.from_user_input(value)
    except (pyproj.exceptions.CRSError, TypeError) as exc:
        msg = (f"{param}={value!r} is not a coordinate system stationplan knows; use "
               "'wgs84', 'gcj02' (Amap, Tencent), 'bd09' (Baidu), 'cgcs2000' or 'EPSG:<code>'")
        close = closest_crs(value)
        if close:
            msg += f"; did you mean {close!r}?"
        raise InputError(msg) from exc
    return crs_spec(crs)


def closest_crs(value: object) -> str | None:
    """The known system name closest to a misspelt ``value`` (``None`` when none is close).

    Examples
    --------
    >>> closest_crs("gcj2"), closest_crs("BD-9"), closest_crs("wsg84"), closest_crs("xyz")
    ('gcj02', 'bd09', 'wgs84', None)
    >>> closest_crs("EPSG:999999")  # a code is not a misspelt name

    """
    if not isinstance(value, str):
        return None
    import difflib

    key = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key.startswith("epsg") or key.isdigit():  # a code: no name is close to it
        return None
    names = [k for k in _CHINESE_SYSTEMS if not (k.startswith("epsg") or k.isdigit())]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    return _CHINESE_SYSTEMS[close[0]][1] if close else None


def crs_spec(crs: pyproj.CRS) -> CrsSpec:
    """Wrap a pyproj CRS; EPSG:4326 and EPSG:4490 count as WGS-84."""
    epsg = crs.to_epsg()
    if epsg == 4326:
        return WGS84
    if epsg == 4490:
        return CrsSpec("wgs84", "cgcs2000")
    label = f"EPSG:{epsg}" if epsg else crs.name
    return CrsSpec("pyproj", label, crs)


def to_wgs84(x: np.ndarray, y: np.ndarray, spec: CrsSpec) -> tuple[np.ndarray, np.ndarray]:
    """Convert source coordinates to WGS-84 longitude and latitude (NaN stays NaN).

    Examples
    --------
    >>> lng, lat = to_wgs84(np.array([116.38404722455657]), np.array([39.91334545536069]),
    ...                     resolve_crs("gcj02"))
    >>> round(float(lng[0]), 6), round(float(lat[0]), 6)
    (116.377817, 39.911954)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if spec.kind == "wgs84":
        return x.copy(), y.copy()
    # chinacrs returns floats only for 0-d input; the callers pass columns (1-D arrays).
    if spec.kind == "gcj02":
        return cast(tuple[np.ndarray, np.ndarray], chinacrs.gcj02_to_wgs84(x, y))
    if spec.kind == "bd09":
        return cast(tuple[np.ndarray, np.ndarray], chinacrs.bd09_to_wgs84(x, y))
    transformer = pyproj.Transformer.from_crs(spec.crs, 4326, always_xy=True)
    lng, lat = transformer.transform(x, y, errcheck=False)
    lng, lat = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    bad = ~np.isfinite(lng) | ~np.isfinite(lat)
    lng[bad], lat[bad] = np.nan, np.nan
    return lng, lat


def in_area(spec: CrsSpec, lng: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Whether WGS-84 points lie in the area of use of a CRS (1° margin); NaN is outside."""
    lng, lat = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    area = spec.crs.area_of_use if spec.crs is not None else None
    if area is None:
        return np.isfinite(lng) & np.isfinite(lat)
    return ((area.west - 1 <= lng) & (lng <= area.east + 1)
            & (area.south - 1 <= lat) & (lat <= area.north + 1))


def is_na(value: object) -> bool:
    """Whether a cell is empty or a spreadsheet "no value" marker.

    >>> is_na(" #N/A "), is_na(None), is_na(0), is_na("x")
    (True, True, False, False)
    """
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        if not value.isascii():  # NFKC leaves ASCII alone; skip it for speed
            value = unicodedata.normalize("NFKC", value)
        return value.strip().lower() in NA_TOKENS
    return False


def decimals(value: object) -> int | None:
    """Digits after the decimal point as written (``None`` for DMS strings or big numbers).

    >>> decimals("114.68"), decimals(38.0), decimals("114°30′"), decimals("１１４．５")
    (2, 1, None, 1)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | np.integer):
        return 0
    text = repr(float(value)) if isinstance(value, float | np.floating) else str(value)
    text = unicodedata.normalize("NFKC", text).strip().lstrip("+-")
    if "e" in text.lower() or not re.fullmatch(r"\d+(\.\d*)?", text):
        return None
    return len(text.split(".")[1]) if "." in text else 0


def parse_coordinate(value: object, column: str) -> tuple[float | None, str | None]:
    """Parse one coordinate cell; return ``(value, None)`` or ``(None, problem)``.

    Decimal degrees (full-width digits too), hemisphere letters (``E``, ``北纬``) and
    degree-minute-second strings are accepted.

    Examples
    --------
    >>> parse_coordinate("１１４．５", "lon")
    (114.5, None)
    >>> round(parse_coordinate("114°30′53.6″", "lon")[0], 6), parse_coordinate("38 30 0", "lat")
    (114.514889, (38.5, None))
    >>> parse_coordinate("东经114度30分", "经度"), parse_coordinate("#N/A", "lon")
    ((114.5, None), (None, "column 'lon': value is missing (#N/A)"))
    >>> parse_coordinate("abc", "lon")[1]
    "column 'lon': 'abc' is not a number; write decimal degrees such as 114.514238"
    """
    if isinstance(value, bool):
        return None, f"column '{column}': {value!r} is not a number"
    if isinstance(value, int | float | np.integer | np.floating):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float (a JSON number)
            return None, f"column '{column}': {value!r} is not a finite number"
        if math.isnan(number):
            return None, f"column '{column}': value is missing"
        if not math.isfinite(number):
            return None, f"column '{column}': {value!r} is not a finite number"
        return number, None
    raw = "" if value is None else str(value)
    text = unicodedata.normalize("NFKC", raw).strip().replace("−", "-")
    if is_na(text):
        shown = f" ({text})" if text else ""
        return None, f"column '{column}': value is missing{shown}"
    try:
        number = float(text)
    except ValueError:
        dms = _dms(text)
        if dms is None:
            return None, (f"column '{column}': {raw!r} is not a number; write decimal degrees "
                          "such as 114.514238")
        number = dms
    if not math.isfinite(number):
        return None, f"column '{column}': {raw!r} is not a finite number"
    return number, None


def _dms(text: str) -> float | None:
    """Degrees, minutes and seconds with any usual marks, or decimal degrees with a hemisphere.

    >>> _dms("114度30分53.6秒"), _dms("38.5N"), _dms("S 33 52 0"), _dms("114 61 0")
    (114.51488888888889, 38.5, -33.86666666666667, None)
    """
    sign = 1.0
    if text.startswith("-"):
        sign, text = -1.0, text[1:]
    hemispheres = _HEMISPHERE.findall(text.upper())
    if len(hemispheres) > 1:
        return None
    if hemispheres and hemispheres[0] in _SOUTH_WEST:
        sign = -sign
    text = _HEMISPHERE.sub(" ", text.upper())
    parts = _NUMBER.findall(text)
    if not parts or len(parts) > 3 or _DMS_MARKS.sub("", _NUMBER.sub("", text)):
        return None
    if any("." in p for p in parts[:-1]):
        return None  # only the last component may have decimals
    values = [float(p) for p in parts]
    if any(v >= 60 for v in values[1:]):
        return None
    degrees = values[0] + sum(v / 60**i for i, v in enumerate(values[1:], start=1))
    return sign * degrees


def _places(text: str) -> int:
    """Digits after the point of an ASCII decimal as :func:`decimals` counts them, or -1."""
    text = text.strip().lstrip("+-")
    head, _, tail = text.partition(".")
    if not head.isdecimal() or (tail and not tail.isdecimal()):
        return -1
    return len(tail)


def parse_cells(values: Sequence[Any], column: str
                ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Parse a column of coordinate cells as :func:`parse_coordinate` does, fast.

    Plain decimals (the usual cell) take a short path; anything else goes through
    :func:`parse_coordinate`.

    Parameters
    ----------
    values
        The cells.
    column
        The column's name, for the problems.

    Returns
    -------
    numbers : numpy.ndarray
        The values (NaN where a cell is not a coordinate).
    places : numpy.ndarray
        Digits after the decimal point as written (:func:`decimals`; -1 for ``None``).
    problems : dict
        Cell index -> problem text, for the cells that are not coordinates.

    Examples
    --------
    >>> numbers, places, problems = parse_cells(["114.50", 38.0, "１１４°30′", "x"], "lon")
    >>> numbers.tolist(), places.tolist(), sorted(problems)
    ([114.5, 38.0, 114.5, nan], [2, 1, -1, -1], [3])
    """
    numbers: list[float] = []
    places: list[int] = []
    problems: dict[int, str] = {}
    nan = math.nan
    # values is Sequence[Any]: the fast paths below test the exact type (``type(value) is
    # str``, so numpy scalars take the slow path), which mypy does not narrow through ``kind``.
    for i, value in enumerate(values):
        kind = type(value)
        if kind is str and value.isascii():
            try:
                number = float(value)
            except ValueError:
                number = nan
            if number - number == 0:  # finite: inf - inf and nan - nan are nan
                numbers.append(number)
                places.append(_places(value))
                continue
        elif kind is float and value - value == 0:
            numbers.append(value)
            places.append(_places(repr(value)))
            continue
        parsed, problem = parse_coordinate(value, column)
        if problem is not None:
            problems[i] = problem
            numbers.append(nan)
            places.append(-1)
            continue
        assert parsed is not None  # parse_coordinate gives a number when it finds no problem
        numbers.append(parsed)
        written = decimals(value)
        places.append(-1 if written is None else written)
    return (np.array(numbers, dtype=float).reshape(-1), np.array(places, dtype=np.int64),
            problems)


def parse_pairs(values: Sequence[object], column: str
                ) -> tuple[list[object], list[object], dict[int, str]]:
    """Split a column of "lng,lat" cells as :func:`parse_pair` does, fast.

    Returns
    -------
    first, second : list
        The two parts of each cell (``None`` where the cell is not a pair).
    problems : dict
        Cell index -> problem text.

    Examples
    --------
    >>> first, second, problems = parse_pairs(["114.5,38.0", "114.5", "1 2"], "xy")
    >>> first, second, problems[1]
    (['114.5', None, '1'], ['38.0', None, '2'], "column 'xy': '114.5' is not a 'lng,lat' pair")
    """
    first: list[object] = []
    second: list[object] = []
    problems: dict[int, str] = {}
    for i, value in enumerate(values):
        if type(value) is str and value.isascii() and ";" not in value \
                and value.count(",") == 1:
            a, b = value.split(",")
            a, b = a.strip(), b.strip()
            if a and b:
                first.append(a)
                second.append(b)
                continue
        pair, problem = parse_pair(value, column)
        if pair is None:
            problems[i] = str(problem)
            first.append(None)
            second.append(None)
        else:
            first.append(pair[0])
            second.append(pair[1])
    return first, second, problems


def parse_pair(value: object, column: str) -> tuple[tuple[object, object] | None, str | None]:
    """Split a "lng,lat" cell (ASCII or full-width comma, semicolon or space) in two cells.

    Examples
    --------
    >>> parse_pair("114.5，38.0", "坐标"), parse_pair("114.5 38.0", "坐标")[0]
    ((('114.5', '38.0'), None), ('114.5', '38.0'))
    >>> parse_pair("114.5", "lnglat")[1]
    "column 'lnglat': '114.5' is not a 'lng,lat' pair"
    """
    raw = "" if value is None else str(value)
    text = unicodedata.normalize("NFKC", raw).strip()
    if is_na(text):
        shown = f" ({text})" if text else ""
        return None, f"column '{column}': value is missing{shown}"
    parts = [p.strip() for p in re.split(r"[,;]", text)]
    if len(parts) != 2:
        parts = text.split()
    if len(parts) != 2 or not all(parts):
        return None, f"column '{column}': {raw!r} is not a 'lng,lat' pair"
    return (parts[0], parts[1]), None
