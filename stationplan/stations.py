"""Station tables: read them, validate every row, and snap them onto the street network.

Every input row stays in every output. A row that cannot be used keeps its place with a
``status`` other than ``"ok"`` and a ``reason`` that names the file, row and column.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError, MissingDataError
from .network import StreetNetwork

log = logging.getLogger(__name__)

# Header aliases, compared after NFKC normalisation, lower-casing and stripping spaces.
LON_ALIASES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_ALIASES = ("lat", "latitude", "y", "纬度")
NAME_ALIASES = ("name", "名称", "站点名称", "驿站名称", "站名")
ID_ALIASES = ("id", "station_id", "编号", "序号")

STATION_COLUMNS = ("station_id", "name", "row", "status", "reason")


def read_stations(path: str | Path, *, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read a station table (CSV with name and WGS-84 lon/lat columns).

    Parameters
    ----------
    path
        CSV file, UTF-8 with or without BOM.
    encoding
        Force a text encoding; by default UTF-8 (BOM removed) is tried, then GB18030.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per data row, in file order, EPSG:4326: ``station_id``, ``name``, ``row``
        (line number in the file), ``status`` ("ok" or "invalid"), ``reason``, any other
        columns of the file, and a Point geometry (empty for invalid rows).
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: station file not found"
        raise MissingDataError(msg)
    if path.suffix.lower() not in (".csv", ".txt"):
        msg = f"{path}: unsupported station file type {path.suffix!r}; save it as CSV"
        raise InputError(msg)
    text = _decode(path.read_bytes(), path, encoding)
    rows = list(csv.reader(io.StringIO(text)))
    rows_with_line = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not rows_with_line:
        msg = f"{path}: the file is empty; it needs a header row and one row per station"
        raise MissingDataError(msg)
    header_line, header = rows_with_line[0]
    keys = [_norm_header(h) for h in header]
    lon_col = _find_column(keys, LON_ALIASES)
    lat_col = _find_column(keys, LAT_ALIASES)
    if lon_col is None or lat_col is None:
        msg = (
            f"{path}: row {header_line}: no longitude/latitude columns in header {header}; "
            f"name them e.g. 'lon'/'lat' or '经度'/'纬度'"
        )
        raise InputError(msg)
    name_col = _find_column(keys, NAME_ALIASES)
    id_col = _find_column(keys, ID_ALIASES)

    records = []
    lons, lats = [], []
    for line, raw in rows_with_line[1:]:
        cells = [c.strip() for c in raw] + [""] * max(0, len(header) - len(raw))
        record = {h.strip(): c for h, c in zip(header, cells, strict=False) if h.strip()}
        problems = []
        lon = _number(cells[lon_col], header[lon_col], problems)
        lat = _number(cells[lat_col], header[lat_col], problems)
        if lon is not None and not -180 <= lon <= 180:
            problems.append(f"column '{header[lon_col]}': longitude {lon} is out of range")
        if lat is not None and not -90 <= lat <= 90:
            hint = "; are lat and lon swapped?" if lon is not None and -90 <= lon <= 90 else ""
            problems.append(f"column '{header[lat_col]}': latitude {lat} is out of range{hint}")
        ok = not problems and lon is not None and lat is not None
        record["station_id"] = cells[id_col] if id_col is not None and cells[id_col] else str(line)
        record["name"] = cells[name_col] if name_col is not None else ""
        record["row"] = line
        record["status"] = "ok" if ok else "invalid"
        record["reason"] = "" if ok else f"{path.name} row {line}: " + "; ".join(problems)
        records.append(record)
        lons.append(lon if ok else np.nan)
        lats.append(lat if ok else np.nan)
    if not records:
        msg = f"{path}: the file has a header but no station rows"
        raise MissingDataError(msg)
    frame = pd.DataFrame.from_records(records)
    _check_unique_ids(frame, path)
    geometry = [
        shapely.Point(x, y) if not math.isnan(x) else None for x, y in zip(lons, lats, strict=True)
    ]
    columns = [*STATION_COLUMNS, *[c for c in frame.columns if c not in STATION_COLUMNS]]
    stations = gpd.GeoDataFrame(frame[columns], geometry=geometry, crs=4326)
    n_bad = int((stations["status"] != "ok").sum())
    log.info("%s: read %d stations (%d invalid)", path.name, len(stations), n_bad)
    return stations


def snap_stations(
    network: StreetNetwork, stations: gpd.GeoDataFrame, *, max_snap_m: float = 100.0
) -> gpd.GeoDataFrame:
    """Snap each station to the nearest point of the nearest street segment.

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
    usable = (out["status"] == "ok").to_numpy() & ~out.geometry.is_empty.to_numpy()
    usable &= ~out.geometry.isna().to_numpy()
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
    return out


def _decode(data: bytes, path: Path, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            msg = f"{path}: cannot decode as {encoding}: {exc}"
            raise InputError(msg) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        msg = f"{path}: neither UTF-8 nor GB18030 text; pass the encoding explicitly"
        raise InputError(msg) from exc
    log.info("%s: decoded as GB18030 (not UTF-8)", path.name)
    return text


def _norm_header(text: str) -> str:
    """Normalise a header cell for alias matching.

    Examples
    --------
    >>> _norm_header("  Ｌｏｎ ") , _norm_header("经　度"), _norm_header("")
    ('lon', '经度', '')
    """
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def _find_column(keys: list[str], aliases: tuple[str, ...]) -> int | None:
    for alias in aliases:
        if alias in keys:
            return keys.index(alias)
    return None


def _number(cell: str, column: str, problems: list[str]) -> float | None:
    """Parse a coordinate cell; full-width digits are normalised.

    Examples
    --------
    >>> _number("１１４．５", "lon", []), _number("", "lon", p := []), p
    (114.5, None, ["column 'lon': value is missing"])
    """
    text = unicodedata.normalize("NFKC", cell).strip()
    if not text:
        problems.append(f"column '{column}': value is missing")
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"column '{column}': {cell!r} is not a number")
        return None
    if not math.isfinite(value):
        problems.append(f"column '{column}': {cell!r} is not a finite number")
        return None
    return value


def _check_unique_ids(frame: pd.DataFrame, path: Path) -> None:
    dup = frame["station_id"].duplicated(keep=False)
    if dup.any():
        rows = frame.loc[dup, "row"].tolist()
        msg = f"{path}: station ids repeat on rows {rows}; make the id column unique or drop it"
        raise InputError(msg)
