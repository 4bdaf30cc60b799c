"""Convert coordinates between WGS-84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu).

PROJ cannot do these conversions: GCJ-02 is WGS-84 plus an official obfuscation
and BD-09 is GCJ-02 plus Baidu's own shift. This module implements the public
formula (Krasovsky ellipsoid, the usual ``transformLat``/``transformLon``
polynomials) and inverts it by fixed-point iteration, which is accurate to far
below a millimetre, unlike the common one-step inverse that is off by metres.

Every function takes ``(lng, lat)`` in degrees, as scalars or numpy arrays that
broadcast together, and returns a ``(lng, lat)`` tuple: Python floats for scalar
input, float arrays otherwise. A point with a NaN coordinate comes back as
``(nan, nan)``. Outside the usual China rectangle (longitude 72.004..137.8347,
latitude 0.8293..55.8271) GCJ-02 equals WGS-84; the BD-09 shift applies
everywhere. CGCS2000 (EPSG:4490) is treated as WGS-84, which it equals at map
scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from string import Formatter
from typing import Any
from urllib.parse import quote

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "amap_marker_url",
    "amap_marker_urls",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLNG = 0.0065
_BD_DLAT = 0.006

_LNG_MIN, _LNG_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271

_TOL_DEG = 1e-9  # about 0.1 mm
_MAX_ITER = 10

_ALIASES = {"wgs84": "wgs84", "cgcs2000": "wgs84", "gcj02": "gcj02", "bd09": "bd09"}

_Float = NDArray[np.float64]
_Pair = tuple[_Float, _Float]


def _transform_lat(x: _Float, y: _Float) -> _Float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: _Float, y: _Float) -> _Float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _in_china(lng: _Float, lat: _Float) -> NDArray[np.bool_]:
    # NaN compares False, so NaN points count as inside and propagate through the formula.
    outside = (lng < _LNG_MIN) | (lng > _LNG_MAX) | (lat < _LAT_MIN) | (lat > _LAT_MAX)
    return ~outside


def _gcj_forward(lng: _Float, lat: _Float) -> _Pair:
    """WGS-84 -> GCJ-02 on float arrays of equal shape."""
    inside = _in_china(lng, lat)
    out_lng, out_lat = lng.copy(), lat.copy()
    x, y = lng[inside], lat[inside]
    dlat = _transform_lat(x - 105.0, y - 35.0)
    dlng = _transform_lng(x - 105.0, y - 35.0)
    radlat = y / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    out_lng[inside] = x + dlng
    out_lat[inside] = y + dlat
    return out_lng, out_lat


def _bd_forward(lng: _Float, lat: _Float) -> _Pair:
    """GCJ-02 -> BD-09 on float arrays of equal shape."""
    with np.errstate(invalid="ignore"):  # infinite input gives NaN, not a warning
        z = np.hypot(lng, lat) + 0.00002 * np.sin(lat * _X_PI)
        theta = np.arctan2(lat, lng) + 0.000003 * np.cos(lng * _X_PI)
        return z * np.cos(theta) + _BD_DLNG, z * np.sin(theta) + _BD_DLAT


def _bd_inverse_closed_form(lng: _Float, lat: _Float) -> _Pair:
    """Baidu's one-step BD-09 -> GCJ-02, off by up to a few decimetres."""
    x, y = lng - _BD_DLNG, lat - _BD_DLAT
    with np.errstate(invalid="ignore"):
        z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
        theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
        return z * np.cos(theta), z * np.sin(theta)


def _invert(forward: Callable[[_Float, _Float], _Pair], lng: _Float, lat: _Float,
            start: _Pair) -> _Pair:
    """Solve ``forward(w) == (lng, lat)`` by the fixed point ``w <- w - (forward(w) - target)``.

    The shifts change by well under 1 % per degree, so each step shrinks the error
    by two orders of magnitude or more; three steps usually reach the tolerance.
    """
    w_lng, w_lat = start
    for _ in range(_MAX_ITER):
        f_lng, f_lat = forward(w_lng, w_lat)
        r_lng, r_lat = f_lng - lng, f_lat - lat
        # Only unconverged points move, so a point's result does not depend on its
        # neighbours in the array. NaN residuals compare False and count as done.
        active = (np.abs(r_lng) > _TOL_DEG) | (np.abs(r_lat) > _TOL_DEG)
        if not active.any():
            break
        w_lng = np.where(active, w_lng - r_lng, w_lng)
        w_lat = np.where(active, w_lat - r_lat, w_lat)
    return w_lng, w_lat


def _gcj_inverse(lng: _Float, lat: _Float) -> _Pair:
    return _invert(_gcj_forward, lng, lat, (lng, lat))


def _bd_inverse(lng: _Float, lat: _Float) -> _Pair:
    return _invert(_bd_forward, lng, lat, _bd_inverse_closed_form(lng, lat))


def _apply(func: Callable[[_Float, _Float], _Pair], lng: ArrayLike,
           lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Broadcast the inputs, run ``func`` on 1-D float arrays, restore shape and scalars."""
    scalar = np.ndim(lng) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lng, dtype=float), np.asarray(lat, dtype=float))
    shape = x.shape
    x, y = x.ravel(), y.ravel()
    out_x, out_y = func(x, y)
    missing = np.isnan(x) | np.isnan(y)
    out_x = np.where(missing, np.nan, out_x).reshape(shape)
    out_y = np.where(missing, np.nan, out_y).reshape(shape)
    if scalar:
        return float(out_x), float(out_y)
    return out_x, out_y


def in_china(lng: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_] | bool:
    """Tell whether points lie in the rectangle where GCJ-02 differs from WGS-84.

    The rectangle is the usual coarse one (it takes in China's neighbours too); NaN is
    not in China. Scalars give a bool, arrays an array.

    >>> in_china(117.2, 28.3), in_china(24.94, 60.17)  # Guixi, Helsinki
    (True, False)
    >>> in_china(float("nan"), 30.0), in_china(38.0, 114.5)
    (False, False)
    >>> in_china([117.2, 24.94], [28.3, 60.17]).tolist()
    [True, False]
    """
    x, y = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    inside = (x >= _LNG_MIN) & (x <= _LNG_MAX) & (y >= _LAT_MIN) & (y <= _LAT_MAX)
    return bool(inside) if np.ndim(inside) == 0 else inside


def amap_marker_url(lng: float, lat: float, *, name: str, system: str = "wgs84",
                    max_chars: int | None = None) -> str:
    """The Amap (高德地图) link that opens a marker at a point, in a browser or the app.

    Parameters
    ----------
    lng, lat
        The point, in ``system``.
    name
        The marker's title; shortened, when ``max_chars`` is given, until the link fits.
    system
        "wgs84" (Amap converts) or "gcj02" (Amap's own coordinates).
    max_chars
        The longest link allowed (Amap 企业智图 keeps 200 characters of a text field).

    Examples
    --------
    >>> amap_marker_url(116.4, 39.9, name="驿站 A&B")
    'https://uri.amap.com/marker?position=116.400000,39.900000&name=%E9%A9%BF%E7%AB%99%20A%26B&coordinate=wgs84'
    >>> amap_marker_url(117.2335431, 28.290376, name="驿站 1", system="gcj02")
    'https://uri.amap.com/marker?position=117.233543,28.290376&name=%E9%A9%BF%E7%AB%99%201&coordinate=gaode'
    >>> len(amap_marker_url(117.2, 28.3, name="长" * 40, system="gcj02", max_chars=200))
    197
    """
    coordinate = _amap_coordinate(system)

    def link(text: str) -> str:
        return _amap_link(lng, lat, quote(text, safe=""), coordinate)

    while max_chars is not None and name and len(link(name)) > max_chars:
        name = name[:-1]
    return link(name)


def amap_marker_urls(lng: ArrayLike, lat: ArrayLike, names: list[str] | str, *,
                     system: str = "wgs84",
                     fields: Mapping[str, Any] | None = None) -> Any:
    """The Amap marker links of many points: :func:`amap_marker_url` of each, faster.

    Percent-encoding works character by character, so each distinct text is encoded once
    (through a table of its characters); the links are joined column by column in Arrow.

    Parameters
    ----------
    lng, lat
        The points, in ``system``.
    names
        The markers' titles, one per point; or, with ``fields``, one ``str.format``
        template of them (plain ``{field}`` replacements only).
    system
        "wgs84" (Amap converts) or "gcj02" (Amap's own coordinates).
    fields
        With a template: each field's values (a list or an array), one per point; the
        title of point ``i`` is ``names.format(**{k: v[i] for k, v in fields.items()})``.

    Returns
    -------
    pandas.api.extensions.ExtensionArray
        The links, a pandas ``str`` array (Arrow strings), one per point.

    Examples
    --------
    >>> list(amap_marker_urls([116.4, 117.2], [39.9, 28.3], ["驿站 A&B", "x"])) == [
    ...     amap_marker_url(116.4, 39.9, name="驿站 A&B"), amap_marker_url(117.2, 28.3, name="x")]
    True
    >>> list(amap_marker_urls([116.4, 117.2], [39.9, 28.3], "缺口{n}：{s}",
    ...                       fields={"n": [1, 2], "s": ["中山路", "A&B"]})) == [
    ...     amap_marker_url(116.4, 39.9, name="缺口1：中山路"),
    ...     amap_marker_url(117.2, 28.3, name="缺口2：A&B")]
    True
    """
    import pandas as pd  # deferred: this module is imported at start-up
    import pyarrow as pa
    import pyarrow.compute as pc

    coordinate = _amap_coordinate(system)
    if fields is None:
        template, fields = "{name}", {"name": names}
    elif isinstance(names, str):
        template = names
    else:
        msg = "with fields, names is one str.format template"
        raise TypeError(msg)
    # The link, piece by piece: fixed texts and one column per coordinate and field.
    x, y = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    parts: list[Any] = ["https://uri.amap.com/marker?position=", _fixed6_texts(x), ",",
                        _fixed6_texts(y), "&name="]
    for literal, field, spec, conversion in Formatter().parse(template):
        parts.append(quote(literal, safe=""))
        if field is None:
            continue
        if spec or conversion or field not in fields:
            msg = f"template field {{{field}}}: plain fields of {sorted(fields)} only"
            raise ValueError(msg)
        parts.append(_quoted_texts(fields[field]))
    parts.append(f"&coordinate={coordinate}")
    if any(len(p) != len(x) for p in parts if not isinstance(p, str)):
        msg = "lng, lat and each field need one value per point"
        raise ValueError(msg)
    text = pa.large_string()
    link = pc.binary_join_element_wise(
        *(pa.scalar(p, text) if isinstance(p, str) else p for p in parts), pa.scalar("", text))
    return pd.array(link, dtype="str")


def _fixed6_texts(values: np.ndarray) -> Any:
    """Each number as ``format(x, ".6f")`` writes it, as Arrow texts.

    >>> _fixed6_texts(np.array([116.4, -1e-7, 0.0078125, 0.0234375, np.nan])).to_pylist()
    ['116.400000', '-0.000000', '0.007812', '0.023438', 'nan']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    # The product is off the exact one by half an ulp at most: its nearest whole number
    # is the exact one's unless it lies that close to a half (Python decides those, and
    # NaN, infinities and huge numbers, whose product may overflow).
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(values) * 1e6
        whole = np.rint(scaled)
        sure = (scaled < 2.0**52) & (np.abs(np.abs(scaled - whole) - 0.5) > scaled * 2.0**-52)
    from ._encode import fixed6_text

    text = pa.large_string()
    offsets, data = fixed6_text(np.where(sure, whole, 0).astype(np.int64),
                                np.signbit(values).astype(np.int64))
    digits = pa.Array.from_buffers(text, len(values),
                                   [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    if sure.all():
        return digits
    return pc.replace_with_mask(digits, pa.array(~sure), pa.array(
        [format(v, ".6f") for v in values[~sure].tolist()], type=text))


def _quoted_texts(values: Any) -> Any:
    """Each value as ``str.format`` writes it, percent-encoded as :func:`quote` does (one
    table of the distinct characters, each distinct text encoded once), as Arrow texts.

    >>> _quoted_texts([12, "A&B", "中", 12]).to_pylist()
    ['12', 'A%26B', '%E4%B8%AD', '12']
    >>> _quoted_texts(np.array([3, -12])).to_pylist()
    ['3', '-12']
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":  # digits and "-" stay
        return pc.cast(pa.array(values), text)
    if not isinstance(values, np.ndarray | pd.Series | pd.api.extensions.ExtensionArray):
        values = np.asarray(values, dtype=object)
    number, distinct = pd.factorize(values, use_na_sentinel=False)
    texts = [format(v) for v in distinct]
    table = {ord(c): quote(c, safe="") for c in set("".join(texts))}
    return pa.array([t.translate(table) for t in texts], type=text).take(pa.array(number))


def _amap_coordinate(system: str) -> str:
    """Amap's ``coordinate`` word for ``system`` ("wgs84" or "gcj02")."""
    coordinate = {"wgs84": "wgs84", "gcj02": "gaode"}.get(_system(system, "system"))
    if coordinate is None:
        msg = f"system={system!r}: Amap links take 'wgs84' or 'gcj02' coordinates"
        raise ValueError(msg)
    return coordinate


def _amap_link(lng: float, lat: float, quoted_name: str, coordinate: str) -> str:
    """One Amap marker link, the name already percent-encoded."""
    return (f"https://uri.amap.com/marker?position={lng:.6f},{lat:.6f}"
            f"&name={quoted_name}&coordinate={coordinate}")


def wgs84_to_gcj02(lng: ArrayLike, lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Convert WGS-84 (GPS, OSM) coordinates to GCJ-02 (Amap, Tencent).

    Parameters
    ----------
    lng, lat
        WGS-84 longitude and latitude in degrees, scalars or arrays.

    Returns
    -------
    tuple
        GCJ-02 ``(lng, lat)`` in degrees; unchanged outside China.

    Examples
    --------
    >>> lng, lat = wgs84_to_gcj02(116.377817, 39.911954)  # Beijing
    >>> round(lng, 9), round(lat, 9)
    (116.384047225, 39.913345455)
    >>> wgs84_to_gcj02(2.35, 48.85)  # Paris: outside China, unchanged
    (2.35, 48.85)
    """
    return _apply(_gcj_forward, lng, lat)


def gcj02_to_wgs84(lng: ArrayLike, lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Convert GCJ-02 (Amap, Tencent) coordinates to WGS-84, exactly inverting the forward shift.

    Parameters
    ----------
    lng, lat
        GCJ-02 longitude and latitude in degrees, scalars or arrays.

    Returns
    -------
    tuple
        WGS-84 ``(lng, lat)`` in degrees, within 1e-9 degrees (0.1 mm) of the point
        whose GCJ-02 coordinates are the input.

    Examples
    --------
    >>> lng, lat = gcj02_to_wgs84(116.38404722455657, 39.91334545536069)
    >>> round(lng, 9), round(lat, 9)
    (116.377817, 39.911954)
    >>> gcj02_to_wgs84(float("nan"), 39.9)
    (nan, nan)
    """
    return _apply(_gcj_inverse, lng, lat)


def gcj02_to_bd09(lng: ArrayLike, lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Convert GCJ-02 coordinates to BD-09 (Baidu).

    Parameters
    ----------
    lng, lat
        GCJ-02 longitude and latitude in degrees, scalars or arrays.

    Returns
    -------
    tuple
        BD-09 ``(lng, lat)`` in degrees.

    Examples
    --------
    >>> lng, lat = gcj02_to_bd09(128.543, 37.065)
    >>> round(lng, 9), round(lat, 9)
    (128.549446563, 37.071134279)
    """
    return _apply(_bd_forward, lng, lat)


def bd09_to_gcj02(lng: ArrayLike, lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Convert BD-09 (Baidu) coordinates to GCJ-02, exactly inverting the forward shift.

    Baidu's closed-form inverse is off by up to a few decimetres, so it is only the
    starting point of a fixed-point iteration.

    Parameters
    ----------
    lng, lat
        BD-09 longitude and latitude in degrees, scalars or arrays.

    Returns
    -------
    tuple
        GCJ-02 ``(lng, lat)`` in degrees, within 1e-9 degrees.

    Examples
    --------
    >>> lng, lat = bd09_to_gcj02(128.54944656269413, 37.07113427883019)
    >>> round(lng, 9), round(lat, 9)
    (128.543, 37.065)
    """
    return _apply(_bd_inverse, lng, lat)


def wgs84_to_bd09(lng: ArrayLike, lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Convert WGS-84 coordinates to BD-09 (Baidu), through GCJ-02.

    Parameters
    ----------
    lng, lat
        WGS-84 longitude and latitude in degrees, scalars or arrays.

    Returns
    -------
    tuple
        BD-09 ``(lng, lat)`` in degrees.

    Examples
    --------
    >>> lng, lat = wgs84_to_bd09(128.543, 37.065)
    >>> round(lng, 9), round(lat, 9)
    (128.554681929, 37.071683449)
    """
    return _apply(lambda x, y: _bd_forward(*_gcj_forward(x, y)), lng, lat)


def bd09_to_wgs84(lng: ArrayLike, lat: ArrayLike) -> tuple[float, float] | _Pair:
    """Convert BD-09 (Baidu) coordinates to WGS-84, through GCJ-02.

    Parameters
    ----------
    lng, lat
        BD-09 longitude and latitude in degrees, scalars or arrays.

    Returns
    -------
    tuple
        WGS-84 ``(lng, lat)`` in degrees.

    Examples
    --------
    >>> lng, lat = bd09_to_wgs84(128.55468192918485, 37.07168344938498)
    >>> round(lng, 9), round(lat, 9)
    (128.543, 37.065)
    """
    return _apply(lambda x, y: _gcj_inverse(*_bd_inverse(x, y)), lng, lat)


_CONVERTERS = {
    ("wgs84", "gcj02"): wgs84_to_gcj02,
    ("gcj02", "wgs84"): gcj02_to_wgs84,
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
    ("wgs84", "bd09"): wgs84_to_bd09,
    ("bd09", "wgs84"): bd09_to_wgs84,
}


def _system(name: str, param: str) -> str:
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in _ALIASES:
        msg = (f"{param}={name!r} is not a supported coordinate system; "
               "use 'wgs84' (or 'cgcs2000'), 'gcj02' or 'bd09'")
        raise ValueError(msg)
    return _ALIASES[key]


def convert(lng: ArrayLike, lat: ArrayLike, *, src: str,
            dst: str) -> tuple[float, float] | _Pair:
    """Convert coordinates from one Chinese map datum to another.

    Parameters
    ----------
    lng, lat
        Longitude and latitude in degrees in ``src``, scalars or arrays.
    src, dst
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``; ``"cgcs2000"`` means WGS-84.
        Case, ``-`` and ``_`` are ignored (``"GCJ-02"`` works).

    Returns
    -------
    tuple
        ``(lng, lat)`` in degrees in ``dst``.

    Examples
    --------
    >>> lng, lat = convert(116.377817, 39.911954, src="cgcs2000", dst="GCJ-02")
    >>> round(lng, 9), round(lat, 9)
    (116.384047225, 39.913345455)
    >>> convert(116.4, 39.9, src="wgs84", dst="wgs84")
    (116.4, 39.9)
    """
    source, target = _system(src, "src"), _system(dst, "dst")
    if source == target:
        return _apply(lambda x, y: (x, y), lng, lat)
    return _CONVERTERS[(source, target)](lng, lat)
