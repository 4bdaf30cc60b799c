"""Write station markers for map apps: GeoJSON, CSV, Excel, KML, GPX and sheets for Amap.

Every writer takes a GeoDataFrame in EPSG:4326 with the columns ``station_id``,
``name`` and ``status`` ("existing", "proposed", "rejected"; other values pass
through), optionally ``kind`` ("existing" or "proposed": an existing station or a
proposal, whatever its status; by default "proposed" for the status proposed),
``rank`` (a proposal's rank in its plan), ``address``, ``phone``, ``hours``,
``services`` (service keys separated by ``;``, e.g. ``"drinking_water;seating"``) and
``reason``, and Point geometries. Stations read in China as WGS-84 only because nothing
named their coordinate system (see :func:`~stationplan.read_stations`) are refused:
Amap pins would move about 600 m. A station without a location (missing, empty or
non-finite point) is never dropped silently: it is written with empty coordinates
(CSV, Excel, Map Lab CSV), on a second sheet 无坐标站点 (the Amap workbooks, whose
first sheet is the map layer), as a null-geometry feature (GeoJSON), as a Placemark
without a Point (KML), or listed in the GPX ``<extensions>`` (a GPX waypoint must have
a position); a warning is logged with the count.

The file's suffix must say its format (``.xlsx`` is always a real workbook, see
:func:`~stationplan._outdir.check_export_suffix`). Files are built in memory and written
atomically (a temporary file in the target directory, then :func:`os.replace`), so a
reader never sees half a file. The bytes depend only on the input: no timestamps (a
workbook's times are fixed), row order kept. :func:`station_markers` turns read or
snapped stations, a plan's ``stations.geojson`` or ``proposals.geojson`` into that table.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
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
from ._io import atomic_write_bytes, csv_bytes, neutralise, xlsx_bytes, xml_text
from ._markers import rank_number, station_markers
from ._outdir import check_export_suffix
from ._read.stations import crs_assumed, station_file
from ._text import plain_text

logger = logging.getLogger(__name__)

__all__ = [
    "station_markers",
    "write_amap_maplab",
    "write_amap_sheet",
    "write_csv",
    "write_geojson",
    "write_gpx",
    "write_kml",
    "write_stations",
    "write_xlsx",
    "xlsx_table",
]

_REQUIRED = ("station_id", "name", "status")
_STATUSES = ("existing", "proposed", "rejected")
_ZH = section("export", "zh")  # the sheets for Chinese map apps speak Chinese
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

_CSV_TEXT = ("station_id", "name", "status", "kind", "rank", "address", "phone", "hours",
             "services", "reason")
_CSV_COORDS = ("wgs84_lng", "wgs84_lat", "gcj02_lng", "gcj02_lat", "bd09_lng", "bd09_lat")
_DEGREES = "0.000000"  # Excel number format of coordinates: 6 decimals, about 0.1 m
# Amap's templates: 企业智图 point layers (lng/lat template: the system fields 名称 and
# 地址, then 经度 and 纬度) and Map Lab uploads (one 经纬度 cell "lng,lat"). The other
# columns follow as the layer's own (custom) fields.
_AMAP_FIELDS = ("名称", "地址", "经度", "纬度")
_MAPLAB_FIELDS = ("名称", "地址", "经纬度")
_OWN_FIELDS = tuple(_ZH[k] for k in ("station_id", "kind", "status", "rank", "phone", "hours",
                                     "services", "reason"))
_TEMPLATE_CHARS = 200  # 企业智图 keeps at most 200 characters of an address or text field
_MAPLAB_MIN_ROWS = 5  # Map Lab asks for more than 4 data rows

_Coord = tuple[float, float] | None


@dataclass(frozen=True)
class _Station:
    station_id: str
    name: str
    status: str
    kind: str
    rank: int | None
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
    if crs_assumed(stations) and np.any(chinacrs.in_china(lng, lat)):
        name = station_file(stations)
        raise InputError(text_in("error.export_unnamed_crs", "en", path=name),
                         zh=text_in("error.export_unnamed_crs", "zh", path=name))
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
    services, kinds, ranks = column("services"), column("kind"), column("rank")

    def points(x: np.ndarray, y: np.ndarray) -> list[_Coord]:
        return [(float(a), float(b)) if ok else None for a, b, ok in zip(x, y, placed, strict=True)]

    wgs_pts, gcj_pts, bd_pts = points(lng, lat), points(*gcj), points(*bd)
    records = []
    for i in range(n):
        text = {c: plain_text(v[i]) for c, v in cols.items()}
        kind = plain_text(kinds[i]).strip() or (
            "proposed" if text["status"] == "proposed" else "existing")
        records.append(_Station(**text, kind=kind, rank=rank_number(ranks[i]),
                                services=_services(services[i]), wgs84=wgs_pts[i],
                                gcj02=gcj_pts[i], bd09=bd_pts[i]))
    unplaced = n - int(placed.sum())
    if unplaced:
        logger.warning("%d of %d stations have no location; they are kept without "
                       "coordinates where the format allows", unplaced, n)
    return records


# --- shared helpers --------------------------------------------------------------------

def _status_label(status: str) -> str:
    return _ZH.get(f"status.{status}", status)


def _kind_label(kind: str) -> str:
    return _ZH.get(f"kind.{kind}", kind)


def _service_labels(services: Iterable[str]) -> str:
    return "、".join(_SERVICE_LABELS_ZH.get(s, s) for s in services)


def _details(r: _Station) -> list[tuple[str, str]]:
    """Label/value pairs for people reading a marker's description, empty ones left out."""
    pairs = [("状态", _status_label(r.status)),
             (_ZH["kind"], _kind_label(r.kind) if r.kind != "existing" else ""),
             (_ZH["rank"], "" if r.rank is None else str(r.rank)), ("地址", r.address),
             ("电话", r.phone), ("开放时间", r.hours), ("服务", _service_labels(r.services)),
             ("说明", r.reason), ("编号", r.station_id)]
    return [(k, v) for k, v in pairs if v]


def _by_status(records: list[_Station]) -> dict[str, list[_Station]]:
    """Group records: the three known statuses first, then others in order of appearance."""
    groups: dict[str, list[_Station]] = {s: [] for s in _STATUSES}
    for r in records:
        groups.setdefault(r.status, []).append(r)
    return {s: rows for s, rows in groups.items() if rows}


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _done(path: Path, count: int, what: str) -> Path:
    logger.info("wrote %d stations to %s (%s)", count, path, what)
    return path


# --- writers ---------------------------------------------------------------------------

def write_geojson(stations: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write stations as an RFC 7946 GeoJSON FeatureCollection.

    Coordinates are WGS-84 ``[lon, lat]`` rounded to 7 decimals (1 cm). Each
    feature has ``id`` = station_id and the properties ``station_id``, ``name``,
    ``status``, ``kind``, ``rank`` (a number), ``address``, ``phone``, ``hours``,
    ``reason`` (``null`` when empty) and ``services`` (a list of keys). Stations without
    a location are features with ``"geometry": null``, as RFC 7946 allows. Keys are
    sorted and Chinese is written as UTF-8, not ``\\u`` escapes, so the same input gives
    the same bytes.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.geojson`` or ``.json``); replaced atomically.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "geojson")
    records = _records(stations)
    features = []
    for r in records:
        geometry = None
        if r.wgs84 is not None:
            geometry = {"type": "Point", "coordinates": [round(c, 7) for c in r.wgs84]}
        properties: dict[str, object] = {
            "station_id": r.station_id, "name": r.name, "status": r.status, "kind": r.kind,
            "rank": r.rank, "address": r.address or None, "phone": r.phone or None,
            "hours": r.hours or None, "reason": r.reason or None, "services": list(r.services),
        }
        features.append({"type": "Feature", "id": r.station_id, "geometry": geometry,
                         "properties": properties})
    doc = {"type": "FeatureCollection", "features": features}
    text = json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return _done(atomic_write_bytes(path, (text + "\n").encode("utf-8")), len(records), "GeoJSON")


def _table(records: list[_Station], *, lang: str = "en") -> list[list[object]]:
    """The rows of the CSV and Excel tables, header first: text, the rank as a number and
    coordinates rounded to 6 decimals (None where a station has no location). In Chinese
    the headers (coordinate ones tagged, e.g. ``经度(GCJ-02)``, so the table reads back in
    place), statuses, kinds and services are words."""
    zh = lang == "zh"
    rows: list[list[object]] = [[text_in(f"export_col.{c}", lang)
                                 for c in (*_CSV_TEXT, *_CSV_COORDS)]]
    for r in records:
        coords: list[object] = [None] * len(_CSV_COORDS)
        if r.wgs84 is not None and r.gcj02 is not None and r.bd09 is not None:
            coords = [round(c, 6) for c in (*r.wgs84, *r.gcj02, *r.bd09)]
        rows.append([r.station_id, r.name, _status_label(r.status) if zh else r.status,
                     _kind_label(r.kind) if zh else r.kind, r.rank, r.address, r.phone,
                     r.hours, _service_labels(r.services) if zh else ";".join(r.services),
                     r.reason, *coords])
    return rows


def _csv_cell(value: object) -> str:
    """A cell of :func:`_table` or of a Map Lab sheet as CSV text.

    >>> _csv_cell(117.2), _csv_cell(3), _csv_cell(None), _csv_cell("=1"), _csv_cell("-2")
    ('117.200000', '3', '', "'=1", '-2')
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return _fmt(value, 6)  # only coordinates are fractional
    if isinstance(value, int):
        return str(value)
    return neutralise(str(value))


def write_csv(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
              lang: str = "en") -> Path:
    """Write stations as a CSV table with WGS-84, GCJ-02 and BD-09 coordinates side by side.

    The file is UTF-8 with a BOM and CRLF line ends, so Excel shows Chinese correctly.
    Columns: station_id, name, status, kind, rank, address, phone, hours, services (keys
    joined by ``;``), reason, wgs84_lng, wgs84_lat, gcj02_lng, gcj02_lat, bd09_lng,
    bd09_lat (6 decimals, about 0.1 m; empty for stations without a location). A text
    cell starting with ``= + - @``, tab or CR gets a leading ``'`` so spreadsheets show
    it instead of running it as a formula; cells that are plain numbers such as
    ``-12.5`` are left alone.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.csv``); replaced atomically.
    lang
        "en", or "zh" for Chinese headers (the coordinate ones tagged, e.g.
        ``经度(GCJ-02)``, so the file still reads back in place), statuses, kinds and
        services.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "csv")
    records = _records(stations)
    rows = [[_csv_cell(v) for v in row] for row in _table(records, lang=lang)]
    return _done(atomic_write_bytes(path, csv_bytes(rows)), len(records), "CSV")


def write_xlsx(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
               lang: str = "en") -> Path:
    """Write stations as an Excel workbook with the columns of :func:`write_csv`.

    One sheet, ``stations`` (站点 in Chinese): a bold, frozen header row, then one row
    per station in input order (:func:`xlsx_table`). Coordinates and ranks are numbers
    (coordinates rounded to 6 decimals and shown with 6), text is text (never a formula;
    see :func:`~stationplan._io.xlsx_bytes`); stations without a location have empty
    coordinate cells. Identical input gives identical bytes.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.xlsx``); replaced atomically.
    lang
        Language of the headers, statuses, kinds and services ("en" or "zh").

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "xlsx")
    rows, formats = xlsx_table(stations, lang=lang)
    data = xlsx_bytes([(text_in("export.sheet", lang), rows)], number_formats=formats)
    return _done(atomic_write_bytes(path, data), len(rows) - 1, "Excel workbook")


def xlsx_table(stations: gpd.GeoDataFrame, *, lang: str = "en"
               ) -> tuple[list[list[object]], dict[str, str]]:
    """The sheet :func:`write_xlsx` writes, for a workbook of several sheets.

    Returns
    -------
    rows : list of list
        Header first, as in :func:`write_xlsx`.
    number_formats : dict
        Excel number formats by header (the coordinates' 6 decimals), for
        :func:`~stationplan._io.xlsx_bytes`.
    """
    return (_table(_records(stations), lang=lang),
            {text_in(f"export_col.{c}", lang): _DEGREES for c in _CSV_COORDS})


def write_kml(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
              lang: str = "en") -> Path:
    """Write stations as KML 2.2 with one folder and one icon style per status.

    Folders come in the order existing (green icon), proposed (yellow), rejected
    (red), then any other status (white); empty folders are left out. Each Placemark
    has the name, the address, an HTML description (status, kind and rank of a
    proposal, address, phone, hours, services in Chinese, reason, id; every value
    HTML-escaped), a ``styleUrl`` and the raw non-empty fields as ``ExtendedData``. A
    station without a location is a Placemark without a Point, which KML allows; Google
    Earth lists it without drawing it. Text is XML-escaped; C0 control characters other
    than tab and newline are removed and CR becomes LF, since XML 1.0 cannot hold them.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.kml``); replaced atomically.
    lang
        Language of the document's and the folders' names: "zh" gives 站点 and 现有站点, …;
        "en" gives ``stations`` and 现有站点 (existing), … (the descriptions are Chinese in
        both).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "kml")
    records = _records(stations)
    kml = ET.Element("kml", xmlns=_KML_NS)
    document = _sub(kml, "Document")
    _sub(document, "name", text_in("export.sheet", lang))
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
        name = _status_label(status) if lang == "zh" else f"{_status_label(status)} ({status})"
        _sub(folder, "name", name if known else status)
        for r in rows:
            _kml_placemark(folder, r, "status-" + (status if known else "other"))
    return _done(atomic_write_bytes(path, _xml_bytes(kml)), len(records), "KML")


def _fields(r: _Station) -> list[tuple[str, str]]:
    """The raw fields of KML ExtendedData and GPX extensions, by their column names."""
    return [("station_id", r.station_id), ("status", r.status), ("kind", r.kind),
            ("rank", "" if r.rank is None else str(r.rank)), ("address", r.address),
            ("phone", r.phone), ("hours", r.hours), ("services", ";".join(r.services)),
            ("reason", r.reason)]


def _kml_placemark(folder: ET.Element, r: _Station, style: str) -> None:
    placemark = _sub(folder, "Placemark")
    _sub(placemark, "name", r.name)
    if r.address:
        _sub(placemark, "address", r.address)
    lines = [f"<b>{k}</b>: {html.escape(v, quote=False)}" for k, v in _details(r)]
    _sub(placemark, "description", "<br>".join(lines))
    _sub(placemark, "styleUrl", "#" + style)
    data = _sub(placemark, "ExtendedData")
    for key, value in _fields(r):
        if value or key in _REQUIRED:
            _sub(_sub(data, "Data", name=key), "value", value)
    if r.wgs84 is not None:
        lng, lat = (_fmt(c, 7) for c in r.wgs84)
        _sub(_sub(placemark, "Point"), "coordinates", f"{lng},{lat}")


def write_gpx(stations: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write stations as GPX 1.1 waypoints.

    Each waypoint has ``name``, a plain-text ``desc`` (status, kind and rank of a
    proposal, address, phone, hours, services in Chinese, reason, id, one per line) and
    ``type`` = status. GPX waypoints must have a position, so stations without a
    location are listed in the file's ``<extensions>`` as ``<sp:unlocated
    station_id=".." status=".." kind="..">name</sp:unlocated>`` (namespace
    ``urn:stationplan:gpx:1``; non-empty ``rank``, ``address``, ``phone``, ``hours``,
    ``services`` and ``reason`` as further attributes, so
    :func:`~stationplan.read_stations` gets them back), which GPX readers ignore.
    Text is XML-escaped; C0 control characters other than tab and newline are
    removed and CR becomes LF, since XML 1.0 cannot hold them.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.gpx``); replaced atomically.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "gpx")
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
            _sub(extensions, "sp:unlocated", r.name,
                 **{k: v for k, v in _fields(r) if v or k in ("station_id", "status")})
    return _done(atomic_write_bytes(path, _xml_bytes(gpx)), len(records), "GPX")


# --- sheets for Amap ---------------------------------------------------------------------

def _amap_link(lng: float, lat: float, name: str, *, max_chars: int | None = None) -> str:
    """The Amap marker link of a GCJ-02 point; the name is shortened to fit ``max_chars``."""
    return chinacrs.amap_marker_url(lng, lat, name=name, system="gcj02",
                                    max_chars=max_chars)


def _own_fields(r: _Station) -> list[object]:
    """The values of :data:`_OWN_FIELDS`: the columns after the templates' system fields."""
    return [r.station_id, _kind_label(r.kind), _status_label(r.status), r.rank, r.phone,
            r.hours, _service_labels(r.services), r.reason]


def _select(records: list[_Station], statuses: Iterable[str] | None, what: str
            ) -> list[_Station]:
    if statuses is None:
        return records
    keep = set(statuses)
    selected = [r for r in records if r.status in keep]
    logger.info("%s: %d of %d stations have a status in %s", what, len(selected), len(records),
                ", ".join(sorted(keep)))
    return selected


def _workbook(rows: list[list[object]], unplaced: list[list[object]],
              number_formats: Mapping[str, str], what: str) -> bytes:
    """A template sheet (``rows``, header first) and, when some stations have no location,
    a second sheet 无坐标站点 with them (``unplaced``, header first)."""
    sheets = [("站点", rows)]
    if len(unplaced) > 1:
        sheets.append((_ZH["unlocated_sheet"], unplaced))
        logger.warning("%s: %d stations have no location; they are on the sheet %s, not on "
                       "the map layer", what, len(unplaced) - 1, _ZH["unlocated_sheet"])
    return xlsx_bytes(sheets, number_formats=number_formats)


def write_amap_sheet(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                     statuses: Iterable[str] | None = None) -> Path:
    """Write a point layer for Amap 企业智图 (Amap Enterprise Map): an Excel workbook.

    The first sheet follows the layer's longitude/latitude template: the system fields
    名称 and 地址, then 经度 and 纬度 (GCJ-02 numbers rounded to 6 decimals), then the
    station's other fields as the layer's own fields: 站点编号, 类型 (现有/拟建), 状态
    (现有站点/拟建站点/未采用站点), 方案序号 (a proposal's rank), 电话, 营业时间, 服务设施
    (Chinese labels joined by 、), 说明 (the reason) and 高德地图链接,
    ``https://uri.amap.com/marker?position=LNG,LAT&name=NAME&coordinate=gaode`` with the
    same coordinates, so each row can be checked on the map. 企业智图 takes at most 200
    characters of an address or text field: longer texts are cut (ending in …) and the
    link's name shortened, with a warning that counts them. Stations without a location
    are listed on a second sheet, 无坐标站点, with the same columns, so the layer sheet
    imports cleanly and no row is lost.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.xlsx``); replaced atomically.
    statuses
        Statuses to list (e.g. ``["existing"]``); default every station.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "amap")
    records = _select(_records(stations), statuses, "Amap 企业智图 sheet")
    names = [*_AMAP_FIELDS, *_OWN_FIELDS, _ZH["amap_link"]]
    header: list[object] = list(names)
    rows, unplaced = [header], [header]
    cut: Counter[str] = Counter()
    for r in records:
        lng = lat = link = None
        if r.gcj02 is not None:
            lng, lat = (round(c, 6) for c in r.gcj02)
            link = _amap_link(lng, lat, r.name, max_chars=_TEMPLATE_CHARS)
            if r.name and quote(r.name, safe="") not in link:
                cut[_ZH["amap_link"]] += 1
        cells = [r.name, r.address, lng, lat, *_own_fields(r), link]
        (rows if r.gcj02 is not None else unplaced).append(
            [_template_text(v, h, cut) for v, h in zip(cells, names, strict=True)])
    if cut:
        logger.warning("Amap 企业智图 keeps at most %d characters per text field: %d cut in %s",
                       _TEMPLATE_CHARS, sum(cut.values()), ", ".join(h for h in names if cut[h]))
    data = _workbook(rows, unplaced, dict.fromkeys(_AMAP_FIELDS[2:], _DEGREES),
                     "Amap 企业智图 sheet")
    return _done(atomic_write_bytes(path, data), len(records), "Amap 企业智图 sheet")


def _template_text(value: object, header: str, cut: Counter[str]) -> object:
    """A text cut to 企业智图's 200 characters (counted in ``cut``); other values as they are.

    >>> c = Counter()
    >>> _template_text("长" * 250, "地址", c)[-3:], _template_text(3, "x", c), c
    ('长长…', 3, Counter({'地址': 1}))
    """
    if isinstance(value, str) and len(value) > _TEMPLATE_CHARS:
        cut[header] += 1
        return value[:_TEMPLATE_CHARS - 1] + "…"
    return value


def write_amap_maplab(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                      statuses: Iterable[str] | None = None) -> Path:
    """Write the upload sheet of Amap Map Lab (高德开放平台数据可视化): Excel or CSV.

    One header row and one row per station, no merged cells: 名称, 地址, 经纬度 (one cell
    ``"lng,lat"``, GCJ-02 with 6 decimals, longitude first), then 站点编号, 类型, 状态,
    方案序号, 电话, 营业时间, 服务设施 and 说明 as in :func:`write_amap_sheet`. A ``.csv``
    path gives UTF-8 CSV without a BOM (the 经纬度 cells are quoted, as Map Lab asks;
    formula-like text is neutralised as in :func:`write_csv`); stations without a
    location keep their row with an empty 经纬度 cell, which Map Lab cannot draw. A
    ``.xlsx`` path gives a workbook whose first sheet is the upload and whose second
    sheet, 无坐标站点, lists stations without a location. Map Lab asks for more than 4
    data rows: fewer are written with a warning.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write (``.xlsx`` or ``.csv``); replaced atomically.
    statuses
        Statuses to list (e.g. ``["existing"]``); default every station.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    check_export_suffix(path, "amap-maplab")
    records = _select(_records(stations), statuses, "Amap Map Lab sheet")
    header: list[object] = [*_MAPLAB_FIELDS, *_OWN_FIELDS]
    table = [header]  # every station in input order (the CSV)
    for r in records:
        pair = None if r.gcj02 is None else ",".join(_fmt(c, 6) for c in r.gcj02)
        table.append([r.name, r.address, pair, *_own_fields(r)])
    rows = [header, *(row for row in table[1:] if row[2] is not None)]
    unplaced = [header, *(row for row in table[1:] if row[2] is None)]
    if len(rows) - 1 < _MAPLAB_MIN_ROWS:
        logger.warning("Amap Map Lab asks for more than %d data rows; this sheet has %d "
                       "with a location", _MAPLAB_MIN_ROWS - 1, len(rows) - 1)
    if Path(path).suffix.lower() == ".csv":
        if len(unplaced) > 1:
            logger.warning("Amap Map Lab sheet: %d stations have no location; their rows "
                           "have an empty 经纬度 cell", len(unplaced) - 1)
        # the 经纬度 pair is data, not a formula, even for western longitudes ("-70.1,...")
        text = [[str(v) if i == 2 and v is not None else _csv_cell(v)
                 for i, v in enumerate(row)] for row in table]
        data = csv_bytes(text, bom=False)
    else:
        data = _workbook(rows, unplaced, {}, "Amap Map Lab sheet")
    return _done(atomic_write_bytes(path, data), len(records), "Amap Map Lab sheet")


_WRITERS: Mapping[str, Callable[..., Path]] = MappingProxyType({
    "geojson": write_geojson,
    "csv": write_csv,
    "xlsx": write_xlsx,
    "kml": write_kml,
    "gpx": write_gpx,
    "amap": write_amap_sheet,
    "amap-maplab": write_amap_maplab,
})


def write_stations(stations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                   format: str, lang: str = "en") -> Path:
    """Write stations in one of the map-app formats.

    Parameters
    ----------
    stations
        Stations in EPSG:4326 (see the module docstring for the columns).
    path
        File to write; replaced atomically. Its suffix must be the format's
        (an :class:`~stationplan.InputError` otherwise, before anything is done).
    format
        ``"geojson"``, ``"csv"``, ``"xlsx"`` (the CSV's columns in a workbook),
        ``"kml"``, ``"gpx"``, ``"amap"`` (a point layer for Amap 企业智图, .xlsx) or
        ``"amap-maplab"`` (an Amap Map Lab upload, .xlsx or .csv).
    lang
        Language of the CSV and xlsx tables' headers, statuses, kinds, services and sheet
        name, and of the KML's document and folder names ("en" or "zh"); the other formats
        are the same in both (GPX and the Amap sheets show Chinese words).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    fmt = str(format).lower()
    check_export_suffix(path, fmt)
    if fmt in ("csv", "xlsx", "kml"):
        return _WRITERS[fmt](stations, path, lang=lang)
    return _WRITERS[fmt](stations, path)
