"""Write station markers for map apps: GeoJSON, CSV, KML, GPX and an Amap listing sheet.

Every writer takes a GeoDataFrame in EPSG:4326 with the columns ``station_id``,
``name`` and ``status`` ("existing", "proposed", "rejected"; other values pass
through), optionally ``address``, ``phone``, ``hours``, ``services`` (service keys
separated by ``;``, e.g. ``"drinking_water;seating"``) and ``reason``, and Point
geometries. Stations read in China as WGS-84 only because nothing named their
coordinate system (see :func:`~stationplan.read_stations`) are refused: Amap pins
would move about 600 m. A station without a location (missing, empty or non-finite point) is
never dropped silently: it is written with empty coordinates (CSV, Amap sheet), as
a null-geometry feature (GeoJSON), as a Placemark without a Point (KML), or listed
in the GPX ``<extensions>`` (a GPX waypoint must have a position); a warning is
logged with the count.

Files are built in memory and written atomically (a temporary file in the target
directory, then :func:`os.replace`), so a reader never sees half a file. The
bytes depend only on the input: no timestamps, row order kept. :func:`station_markers`
turns read or snapped stations into that table.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import shapely

from . import chinacrs
from ._errors import InputError
from ._i18n import section
from ._i18n import text as text_in
from ._io import atomic_write_bytes, csv_bytes, neutralise
from ._markers import station_markers
from ._read.coords import in_china
from ._read.stations import crs_assumed
from ._text import plain_text

logger = logging.getLogger(__name__)

__all__ = [
    "station_markers",
    "write_amap_sheet",
    "write_csv",
    "write_geojson",
    "write_gpx",
    "write_kml",
    "write_stations",
]

_REQUIRED = ("station_id", "name", "status")
_STATUSES = ("existing", "proposed", "rejected")
_STATUS_LABELS_ZH = MappingProxyType(
    {"existing": "现有站点", "proposed": "拟建站点", "rejected": "未采用站点"}
)
_SERVICE_LABELS_ZH = section("map_service", "zh")  # the map's labels, from the zh/en table
# KML paddle icons Google Earth and My Maps know; unknown statuses share the white one.
_KML_ICONS = MappingProxyType({
    "existing": "https://maps.google.com/mapfiles/kml/paddle/grn-circle.png",
    "proposed": "https://maps.google.com/mapfiles/kml/paddle/ylw-circle.png",
    "rejected": "https://maps.google.com/mapfiles/kml/paddle/red-circle.png",
    "other": "https://maps.google.com/mapfiles/kml/paddle/wht-circle.png",
})
_KML_NS = "http://www.opengis.net/kml/2.2"
_GPX_NS = "http://www.topografix.com/GPX/1/1"
_SP_NS = "urn:stationplan:gpx:1"
_MY_MAPS_LAYER_LIMIT = 2000  # features per layer, as reported for Google My Maps

_SERVICE_SPLIT = re.compile(r"[;；]")
# XML 1.0 allows tab, LF and CR among the C0 controls; CR is turned into LF beforehand.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_CSV_TEXT = ("station_id", "name", "status", "address", "phone", "hours", "services", "reason")
_CSV_COORDS = ("wgs84_lng", "wgs84_lat", "gcj02_lng", "gcj02_lat", "bd09_lng", "bd09_lat")
_AMAP_HEADER = (
    "名称", "地址", "经度(GCJ-02)", "纬度(GCJ-02)", "电话", "营业时间", "服务设施",
    "高德地图链接", "站点编号",
)

_Coord = tuple[float, float] | None


@dataclass(frozen=True)
class _Station:
    station_id: str
    name: str
    status: str
    address: str
    phone: str
    hours: str
    reason: str
    services: tuple[str, ...]
    wgs84: _Coord
    gcj02: _Coord
    bd09: _Coord


# --- input -----------------------------------------------------------------------------

def _services(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else _SERVICE_SPLIT.split(plain_text(value))
    return tuple(s for s in (plain_text(v).strip() for v in items) if s)


def _xy(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates, NaN for missing or empty points (GEOS refuses get_x on those)."""
    lng, lat = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
    usable = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    lng[usable], lat[usable] = shapely.get_x(geoms[usable]), shapely.get_y(geoms[usable])
    return lng, lat


def _check(stations: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Refuse input the writers cannot export correctly, naming every problem at once.

    Returns the WGS-84 longitudes and latitudes, NaN where a station has no location.
    """
    if not isinstance(stations, gpd.GeoDataFrame):
        msg = f"stations must be a GeoDataFrame, not {type(stations).__name__}"
        raise TypeError(msg)
    if stations.crs is None:
        msg = ("stations have no CRS; if the coordinates are WGS-84 longitude/latitude, "
               "call stations.set_crs(4326) first")
        raise InputError(msg)
    if stations.crs.to_epsg() != 4326:
        msg = (f"stations are in {stations.crs.name} ({stations.crs.to_string()}), but map "
               "exports need WGS-84 longitude/latitude: call stations.to_crs(4326) first")
        raise InputError(msg)
    problems = []
    missing = [c for c in _REQUIRED if c not in stations.columns]
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    ids = stations["station_id"] if "station_id" in stations.columns else stations.index
    labels = [f"station {plain_text(i)!r} (row {n})" for n, i in enumerate(ids)]
    geoms = np.asarray(stations.geometry.array, dtype=object)
    kind = shapely.get_type_id(geoms)
    bad = np.flatnonzero((kind != -1) & (kind != shapely.GeometryType.POINT))
    if bad.size:
        names = ", ".join(labels[i] for i in bad[:5])
        problems.append(f"{bad.size} geometries are not points ({names}); "
                        "use .representative_point() for areas")
    else:
        lng, lat = _xy(geoms)
        for i in np.flatnonzero(np.abs(lat) > 90)[:5]:
            problems.append(f"{labels[i]}: latitude {lat[i]} is out of range; "
                            "are lat and lon swapped?")
        for i in np.flatnonzero(np.abs(lng) > 180)[:5]:
            problems.append(f"{labels[i]}: longitude {lng[i]} is out of range")
    if problems:
        raise InputError("cannot export stations: " + "; ".join(problems))
    if crs_assumed(stations) and np.any(in_china(lng, lat)):
        name = (stations.attrs.get("read_report") or {}).get("file", "the station file")
        msg = (f"{name}: the coordinates lie in China but nothing names their system (no "
               "--crs, tagged header, sheet note or file CRS), and Amap/Tencent (GCJ-02) or "
               "Baidu (BD-09) pins move hundreds of metres if taken as WGS-84: pass --crs "
               "wgs84|gcj02|bd09 (in Python crs='gcj02' etc.)")
        raise InputError(msg)
    return lng, lat


def _records(stations: gpd.GeoDataFrame) -> list[_Station]:
    """Validate ``stations`` and turn each row into a plain record, in row order."""
    lng, lat = _check(stations)
    n = len(stations)
    placed = np.isfinite(lng) & np.isfinite(lat)
    gcj = chinacrs.wgs84_to_gcj02(lng, lat)
    bd = chinacrs.gcj02_to_bd09(*gcj)

    def column(name: str) -> list[object]:
        return stations[name].tolist() if name in stations.columns else [None] * n

    cols = {c: column(c) for c in (*_REQUIRED, "address", "phone", "hours", "reason")}
    services = column("services")

    def points(x: np.ndarray, y: np.ndarray) -> list[_Coord]:
        return [(float(a), float(b)) if ok else None for a, b, ok in zip(x, y, placed, strict=True)]

    wgs_pts, gcj_pts, bd_pts = points(lng, lat), points(*gcj), points(*bd)
    records = [
        _Station(**{c: plain_text(v[i]) for c, v in cols.items()}, services=_services(services[i]),
                 wgs84=wgs_pts[i], gcj02=gcj_pts[i], bd09=bd_pts[i])
        for i in range(n)
    ]
    unplaced = n - int(placed.sum())
    if unplaced:
        logger.warning("%d of %d stations have no location; they are kept without "
                       "coordinates where the format allows", unplaced, n)
    return records


# --- shared helpers --------------------------------------------------------------------

def _status_label(status: str) -> str:
    return _STATUS_LABELS_ZH.get(status, status)


def _service_labels(services: Iterable[str]) -> str:
    return "、".join(_SERVICE_LABELS_ZH.get(s, s) for s in services)


def _details(r: _Station) -> list[tuple[str, str]]:
    """Label/value pairs for people reading a marker's description, empty ones left out."""
    pairs = [("状态", _status_label(r.status)), ("地址", r.address), ("电话", r.phone),
             ("开放时间", r.hours), ("服务", _service_labels(r.services)), ("说明", r.reason),
             ("编号", r.station_id)]
    return [(k, v) for k, v in pairs if v]


def _by_status(records: list[_Station]) -> dict[str, list[_Station]]:
    """Group records: the three known statuses first, then others in order of appearance."""
    groups: dict[str, list[_Station]] = {s: [] for s in _STATUSES}
    for r in records:
        groups.setdefault(r.status, []).append(r)
    return {s: rows for s, rows in groups.items() if rows}


def _xml_text(text: str) -> str:
    """Drop what XML 1.0 cannot hold: C0 controls except tab and LF (CR becomes LF).

    >>> _xml_text("a\\x00b\\x1bc\\td\\r\\ne")
    'abc\\td\\ne'
    """
    return _XML_FORBIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = _xml_text(text)
    return element


def _done(path: Path, count: int, what: str) -> Path:
    logger.info("wrote %d stations to %s (%s)", count, path, what)
    return path


# --- writers ---------------------------------------------------------------------------

def write_geojson(stations: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write stations as an RFC 7946 GeoJSON FeatureCollection.

    Coordinates are WGS-84 ``[lon, lat]`` rounded to 7 decimals (1 cm). Each
    feature has ``id`` = station_id and the properties ``station_id``, ``name``,
    ``status``, ``address``, ``phone``, ``hours``, ``reason`` (``null`` when empty)
    and ``services`` (a list of keys). Stations without a location are features
    with ``"geometry": null``, as RFC 7946 allows. Keys are sorted and Chinese is
    written as UTF-8, not ``\\u`` escapes, so the same input gives the same bytes.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    records = _records(stations)
    features = []
    for r in records:
        geometry = None
        if r.wgs84 is not None:
            geometry = {"type": "Point", "coordinates": [round(c, 7) for c in r.wgs84]}
        properties: dict[str, object] = {
            "station_id": r.station_id, "name": r.name, "status": r.status,
            "address": r.address or None, "phone": r.phone or None, "hours": r.hours or None,
            "reason": r.reason or None, "services": list(r.services),
        }
        features.append({"type": "Feature", "id": r.station_id, "geometry": geometry,
                         "properties": properties})
    doc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return _done(atomic_write_bytes(path, (text + "\n").encode("utf-8")), len(records), "GeoJSON")


def write_csv(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
              lang: str = "en") -> Path:
    """Write stations as a CSV table with WGS-84, GCJ-02 and BD-09 coordinates side by side.

    The file is UTF-8 with a BOM and CRLF line ends, so Excel shows Chinese correctly.
    Columns: station_id, name, status, address, phone, hours, services (keys joined
    by ``;``), reason, wgs84_lng, wgs84_lat, gcj02_lng, gcj02_lat, bd09_lng, bd09_lat
    (7 decimals; empty for stations without a location). A text cell starting with
    ``= + - @``, tab or CR gets a leading ``'`` so spreadsheets show it instead of
    running it as a formula; cells that are plain numbers such as ``-12.5`` are left
    alone.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically.
    lang
        "en", or "zh" for Chinese headers (the coordinate ones tagged, e.g.
        ``经度(GCJ-02)``, so the file still reads back in place), statuses and services.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    records = _records(stations)
    rows: list[tuple[str, ...]] = [tuple(text_in(f"export_col.{c}", lang)
                                         for c in (*_CSV_TEXT, *_CSV_COORDS))]
    for r in records:
        zh = lang == "zh"
        text = (r.station_id, r.name, _STATUS_LABELS_ZH.get(r.status, r.status) if zh
                else r.status, r.address, r.phone, r.hours,
                _service_labels(r.services) if zh else ";".join(r.services), r.reason)
        coords = ["", "", "", "", "", ""]
        if r.wgs84 is not None and r.gcj02 is not None and r.bd09 is not None:
            coords = [_fmt(c, 7) for c in (*r.wgs84, *r.gcj02, *r.bd09)]
        rows.append((*(neutralise(t) for t in text), *coords))
    return _done(atomic_write_bytes(path, csv_bytes(rows)), len(records), "CSV")


def write_kml(stations: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write stations as KML 2.2 with one folder and one icon style per status.

    Folders come in the order existing (green icon), proposed (yellow), rejected
    (red), then any other status (white); empty folders are left out. Each Placemark
    has the name, the address, an HTML description (status, address, phone, hours,
    services in Chinese, reason, id; every value HTML-escaped), a ``styleUrl`` and
    the raw non-empty fields as ``ExtendedData``. A station without a location is a
    Placemark without a Point, which KML allows; Google Earth lists it without
    drawing it. Text is
    XML-escaped; C0 control characters other than tab and newline are removed and
    CR becomes LF, since XML 1.0 cannot hold them.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    records = _records(stations)
    kml = ET.Element("kml", xmlns=_KML_NS)
    document = _sub(kml, "Document")
    _sub(document, "name", "stations")
    groups = _by_status(records)
    styles = sorted({s if s in _STATUSES else "other" for s in groups},
                    key=list(_KML_ICONS).index)
    for style in styles:
        icon = _sub(_sub(document, "Style", id=f"status-{style}"), "IconStyle")
        _sub(_sub(icon, "Icon"), "href", _KML_ICONS[style])
    for status, rows in groups.items():
        if len(rows) > _MY_MAPS_LAYER_LIMIT:
            logger.warning("KML folder %r has %d stations; Google My Maps reportedly "
                           "imports at most %d per layer", status, len(rows),
                           _MY_MAPS_LAYER_LIMIT)
        folder = _sub(document, "Folder")
        known = status in _STATUSES
        _sub(folder, "name", f"{_status_label(status)} ({status})" if known else status)
        for r in rows:
            _kml_placemark(folder, r, "status-" + (status if known else "other"))
    return _done(atomic_write_bytes(path, _xml_bytes(kml)), len(records), "KML")


def _kml_placemark(folder: ET.Element, r: _Station, style: str) -> None:
    placemark = _sub(folder, "Placemark")
    _sub(placemark, "name", r.name)
    if r.address:
        _sub(placemark, "address", r.address)
    lines = [f"<b>{k}</b>: {html.escape(v, quote=False)}" for k, v in _details(r)]
    _sub(placemark, "description", "<br>".join(lines))
    _sub(placemark, "styleUrl", "#" + style)
    data = _sub(placemark, "ExtendedData")
    for key, value in (("station_id", r.station_id), ("status", r.status),
                       ("address", r.address), ("phone", r.phone), ("hours", r.hours),
                       ("services", ";".join(r.services)), ("reason", r.reason)):
        if value or key in _REQUIRED:
            _sub(_sub(data, "Data", name=key), "value", value)
    if r.wgs84 is not None:
        lng, lat = (_fmt(c, 7) for c in r.wgs84)
        _sub(_sub(placemark, "Point"), "coordinates", f"{lng},{lat}")


def write_gpx(stations: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write stations as GPX 1.1 waypoints.

    Each waypoint has ``name``, a plain-text ``desc`` (status, address, phone, hours,
    services in Chinese, reason, id, one per line) and ``type`` = status. GPX
    waypoints must have a position, so stations without a location are listed in
    the file's ``<extensions>`` as ``<sp:unlocated station_id=".." status="..">name
    </sp:unlocated>`` (namespace ``urn:stationplan:gpx:1``; non-empty ``address``,
    ``phone``, ``hours``, ``services`` and ``reason`` as further attributes, so
    :func:`~stationplan.read_stations` gets them back), which GPX readers ignore.
    Text is XML-escaped; C0 control characters other than tab and newline are
    removed and CR becomes LF, since XML 1.0 cannot hold them.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    records = _records(stations)
    unlocated = [r for r in records if r.wgs84 is None]
    attrib = {
        "version": "1.1", "creator": "stationplan", "xmlns": _GPX_NS,
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:schemaLocation": f"{_GPX_NS} https://www.topografix.com/GPX/1/1/gpx.xsd",
    }
    if unlocated:
        attrib["xmlns:sp"] = _SP_NS
    gpx = ET.Element("gpx", attrib)
    for r in records:
        if r.wgs84 is None:
            continue
        wpt = _sub(gpx, "wpt", lat=_fmt(r.wgs84[1], 7), lon=_fmt(r.wgs84[0], 7))
        _sub(wpt, "name", r.name)
        _sub(wpt, "desc", "\n".join(f"{k}: {v}" for k, v in _details(r)))
        _sub(wpt, "type", r.status)
    if unlocated:
        extensions = _sub(gpx, "extensions")
        for r in unlocated:
            fields = (("address", r.address), ("phone", r.phone), ("hours", r.hours),
                      ("services", ";".join(r.services)), ("reason", r.reason))
            _sub(extensions, "sp:unlocated", r.name, station_id=r.station_id, status=r.status,
                 **{k: v for k, v in fields if v})
    return _done(atomic_write_bytes(path, _xml_bytes(gpx)), len(records), "GPX")


def write_amap_sheet(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                     statuses: Iterable[str] | None = ("existing",)) -> Path:
    """Write the listing sheet for submitting stations to Amap (高德地图) as POIs.

    A CSV (UTF-8 with BOM, CRLF) with the columns 名称, 地址, 经度(GCJ-02),
    纬度(GCJ-02) (exactly 6 decimals), 电话, 营业时间, 服务设施 (Chinese labels
    joined by 、), 高德地图链接 and 站点编号 (station_id, to match the rows back).
    The link, ``https://uri.amap.com/marker?position=LNG,LAT&name=NAME&coordinate=gaode``,
    uses the same GCJ-02 coordinates and the URL-encoded name, so each row can be
    checked on the map before submitting. Stations without a location keep their
    row with empty coordinates and no link. Cells are neutralised against formula
    injection as in :func:`write_csv`.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically.
    statuses
        Statuses to list. Only existing stations can be submitted (Amap wants photos
        of the place), so the default leaves proposed and rejected ones out; pass
        ``None`` for every station.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    records = _records(stations)
    if statuses is not None:
        keep = set(statuses)
        selected = [r for r in records if r.status in keep]
        logger.info("Amap sheet: %d of %d stations have a status in %s",
                    len(selected), len(records), sorted(keep))
        records = selected
    rows: list[tuple[str, ...]] = [_AMAP_HEADER]
    for r in records:
        lng = lat = link = ""
        if r.gcj02 is not None:
            lng, lat = _fmt(r.gcj02[0], 6), _fmt(r.gcj02[1], 6)
            link = (f"https://uri.amap.com/marker?position={lng},{lat}"
                    f"&name={quote(r.name, safe='')}&coordinate=gaode")
        text = (r.name, r.address, r.phone, r.hours, _service_labels(r.services))
        name, address, phone, hours, services = (neutralise(t) for t in text)
        rows.append((name, address, lng, lat, phone, hours, services, link,
                     neutralise(r.station_id)))
    return _done(atomic_write_bytes(path, csv_bytes(rows)), len(records), "Amap listing sheet")


_WRITERS: Mapping[str, Callable[..., Path]] = MappingProxyType({
    "geojson": write_geojson,
    "csv": write_csv,
    "kml": write_kml,
    "gpx": write_gpx,
    "amap": write_amap_sheet,
})


def write_stations(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                   format: str, lang: str = "en") -> Path:
    """Write stations in one of the map-app formats.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically.
    format
        ``"geojson"``, ``"csv"``, ``"kml"``, ``"gpx"`` or ``"amap"`` (the Amap listing
        sheet, existing stations only).
    lang
        Language of the CSV's headers, statuses and services ("en" or "zh"); the other
        formats are the same in both (KML, GPX and the Amap sheet show Chinese words).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    writer = _WRITERS.get(str(format).lower())
    if writer is None:
        msg = f"format={format!r} is not supported; use one of {', '.join(_WRITERS)}"
        raise InputError(msg)
    if writer is write_csv:
        return write_csv(stations, path, lang=lang)
    return writer(stations, path)
