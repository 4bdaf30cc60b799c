"""The planner's page: a local web server over a project folder (``stationplan serve``).

:func:`create_app` builds the Starlette application, :func:`serve` runs it on uvicorn.
The page (``stationplan/_web/static``) talks only to the JSON API below; the project
(:class:`~stationplan.project.Project`) stores every edit before the answer goes out, and
the coverage is kept current by :class:`~stationplan.live.LiveCoverage` on the network
``stationplan coverage`` computes on (:func:`~stationplan.pipeline.coverage_network`), so
the page's share is the command line's on the same stations.

Security: bound to a loopback address, no token is needed; bound to any other address,
every request (page, assets, API) must carry the random token printed in the start
address (``?token=``, the ``X-Stationplan-Token`` header, or the cookie the server sets
when the page is opened with the token). Uploads are refused above a size limit while
they stream (HTTP 413), and stored under sanitised names in ``inputs/``.

The API is described in docs/serve.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import InputError, StationplanError
from ._i18n.cli import error_text, serve_text
from ._options import (
    MAX_UPLOAD_NETWORK_BYTES,
    MAX_UPLOAD_SHEET_BYTES,
    OSM_SUFFIXES,
    SERVE_HOST,
    SERVE_PORT,
)
from ._web import STATIC_DIR, asset_dirs
from .project import Edit, Project, Station

log = logging.getLogger(__name__)

__all__ = ["MAX_UPLOAD_BYTES", "create_app", "serve"]

# Upload limits, bytes (defaults in stationplan._options).
MAX_UPLOAD_BYTES: Mapping[str, int] = MappingProxyType({"network": MAX_UPLOAD_NETWORK_BYTES,
                                                       "sheet": MAX_UPLOAD_SHEET_BYTES})
LOOPBACK = ("127.0.0.1", "::1", "localhost")
TOKEN_COOKIE = "stationplan_token"
TOKEN_HEADER = "x-stationplan-token"
CRS_CHOICES = ("gcj02", "wgs84", "bd09")
NETWORK_SUFFIXES = (*OSM_SUFFIXES, ".gpkg", ".shp", ".geojson", ".json", ".parquet",
                    ".graphml", ".zip")
SHEET_SUFFIXES = (".xlsx", ".xls", ".csv", ".txt", ".geojson", ".json", ".gpkg", ".kml",
                  ".kmz", ".gpx", ".zip", ".shp")
_TILE_HOSTS = ("https://tile.openstreetmap.org", "https://*.basemaps.cartocdn.com",
               "https://*.is.autonavi.com", "https://*.tianditu.gov.cn")
CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; "
       f"img-src 'self' data: blob: {' '.join(_TILE_HOSTS)}; "
       "style-src 'self' 'unsafe-inline'; font-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_SECURITY_HEADERS = ((b"content-security-policy", CSP.encode()),
                     (b"x-content-type-options", b"nosniff"),
                     (b"x-frame-options", b"DENY"),
                     (b"referrer-policy", b"no-referrer"),
                     (b"cache-control", b"no-store"))
_DOWNLOADS = ("amap.xlsx", "tables.xlsx", "report.html", "project.gpkg")
_STATION_ATTRS = ("address", "phone", "hours", "services", "note")


class ApiError(Exception):
    """An error answered as ``{"error": message, "code": code}`` with ``status``."""

    def __init__(self, status: int, code: str, **fields: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.fields = status, code, fields


# --- the project's live state ------------------------------------------------------------

class _Session:
    """One project served: its database, the network and the live coverage.

    ``lock`` serialises every edit with its commit (two tabs, two requests); reads of the
    state take it too, so that they see an edit whole.
    """

    def __init__(self, project: Project, lang: str | None) -> None:
        self.project = project
        self.lock = threading.RLock()
        self.lang_option = lang
        self.network: Any = None
        self.network_path: Path | None = None
        self.live: Any = None
        self.loading: int | None = None  # the network job running
        self._gaps: tuple[int, Any] | None = None
        self._bounds: list[float] | None = None

    # language -------------------------------------------------------------------------
    @property
    def lang(self) -> str:
        stored = self.project.meta("lang")
        if stored in ("zh", "en"):
            return str(stored)
        if self.lang_option in ("zh", "en"):
            return str(self.lang_option)
        if self._bounds is not None:
            from .chinacrs import in_china

            w, s, e, n = self._bounds
            return "zh" if bool(in_china((w + e) / 2, (s + n) / 2)) else "en"
        return "zh"

    # network --------------------------------------------------------------------------
    def restore(self) -> None:
        """Load the recorded network and rebuild the coverage from the database."""
        rec = self.project.network
        if rec is None:
            return
        path = self.project.inputs / rec["file"]
        if path.is_file():
            self.load_network(path)

    def load_network(self, path: Path) -> None:
        """Load ``path`` as ``stationplan coverage`` does and rebuild the coverage."""
        from .pipeline import coverage_network

        net = coverage_network(path)
        edges = net.edges.to_crs(4326)
        bounds = [float(v) for v in edges.total_bounds]
        info = {"edges": len(net.edges), "km": net.total_length_m / 1000,
                "demand_km": net.demand_length_m / 1000, "crs": str(net.crs),
                "bounds": bounds}
        digest = _sha256(path)
        with self.lock:
            self.network, self.network_path, self._bounds = net, path, bounds
            rec = self.project.network
            if rec is None or rec.get("file") != path.name or rec.get("sha256") != digest:
                self.project.set_network(path.name, digest, info)
            self.rebuild()

    def rebuild(self) -> None:
        """The live coverage from the stored stations of the current scenario."""
        from .live import LiveCoverage

        with self.lock:
            self._gaps = None
            if self.network is None:
                self.live = None
                return
            self.live = LiveCoverage(self.network, station_frame(self.project.stations()))

    def require_live(self) -> Any:
        if self.live is None:
            raise ApiError(409, "network_loading" if self.loading else "no_network")
        return self.live

    # edits ----------------------------------------------------------------------------
    def edit(self, op: str, station_id: str | None, before: Any, after: Any,
             apply: Callable[[Any], Any], *,
             also: Callable[[Any], object] | None = None) -> dict[str, Any]:
        """Store an edit and apply it to the coverage, as one step: when the coverage
        refuses it, nothing is stored; the answer goes out after the commit."""
        with self.lock:
            live = self.require_live()
            try:
                with self.project.edit(op, station_id, before, after, also=also):
                    change = apply(live)
            except BaseException:
                self._resync()
                raise
            return self.update(change)

    def step(self, undo: bool) -> dict[str, Any]:
        """Undo or redo one edit (nothing to do: the state as it is)."""
        with self.lock:
            live = self.require_live()
            try:
                with (self.project.undo() if undo else self.project.redo()) as e:
                    change = None if e is None else self._apply(live, e)
            except BaseException:
                self._resync()
                raise
            if change is None:
                return self.update(None)
            return self.update(change)

    def _apply(self, live: Any, e: Edit) -> Any:
        """Apply a stored edit (or its inverse) to the live coverage."""
        if e.op in ("add", "accept"):
            s = Station.from_dict(e.after)
            return live.add(s.station_id, s.lon, s.lat, name=s.name, attrs=_attrs(s))
        if e.op == "delete":
            return live.delete(str(e.before["station_id"]))
        if e.op == "move":
            return live.move(str(e.station_id), float(e.after["lon"]), float(e.after["lat"]))
        # an import or its undo: the whole station set changes; one full computation
        return self._full_change()

    def _full_change(self) -> Any:
        from .live import Change

        self.rebuild()
        t0 = time.perf_counter()
        cov = self.live.coverage
        return Change(np.arange(len(self.network.edges)), cov.pieces, self.live.figures, None,
                      time.perf_counter() - t0)

    def _resync(self) -> None:
        """After a failed step: the coverage again from what the database holds."""
        with contextlib.suppress(Exception):
            self.rebuild()

    def update(self, change: Any) -> dict[str, Any]:
        """The Update answer of an edit (see docs/serve.md)."""
        self._gaps = None
        p = self.project
        out: dict[str, Any] = {"version": p.version, "can_undo": p.can_undo(),
                               "can_redo": p.can_redo()}
        if change is None:
            out |= {"figures": _figures(self.live.figures), "station": None, "edges": [],
                    "pieces": _features(None), "compute_ms": 0.0}
            return out
        station = None
        if change.station is not None:
            sid = str(change.station["station_id"])
            stored = {s.station_id: s for s in p.stations()}
            if sid in stored:
                station = _station_json(stored[sid], change.station, self.lang)
        out |= {"figures": _figures(change.figures), "station": station,
                "edges": [int(e) for e in change.edges],
                "pieces": _features(change.pieces),
                "compute_ms": round(1000 * change.compute_s, 3)}
        return out

    # reads ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The whole state the page draws (see docs/serve.md)."""
        with self.lock:
            p = self.project
            sc = p.scenario(p.scenario_id)
            lang = self.lang
            stored = p.stations()
            snapped = None if self.live is None else self.live.stations
            rows: dict[str, Any] = {}
            if snapped is not None:
                rows = {str(sid): r for sid, (_, r) in
                        zip(snapped["station_id"], snapped.iterrows(), strict=True)}
            network = None
            rec = p.network
            if rec is not None and self.network is not None:
                network = {k: rec.get(k) for k in ("file", "edges", "km", "demand_km", "crs",
                                                   "bounds")}
            return {
                "version": p.version, "lang": lang, "network": network,
                "loading": self.loading,
                "scenario": {"id": sc["id"], "name": sc["name"]},
                "scenarios": [{"id": s["id"], "name": s["name"]} for s in p.scenarios()],
                "stations": [_station_json(s, rows.get(s.station_id), lang) for s in stored],
                "figures": None if self.live is None else _figures(self.live.figures),
                "can_undo": p.can_undo(), "can_redo": p.can_redo(),
                "sheets": [_sheet_json(s) for s in p.sheets()],
                "style": _style(self.live),
            }

    def gaps(self) -> Any:
        """The gap runs of the current coverage (cached until the next edit)."""
        from .gaps import find_gaps

        with self.lock:
            live = self.require_live()
            version = self.project.version
            if self._gaps is None or self._gaps[0] != version:
                self._gaps = (version, find_gaps(live.coverage, lang=self.lang))
            return self._gaps[1]


# --- JSON shapes ---------------------------------------------------------------------------

def station_frame(stations: list[Station]) -> gpd.GeoDataFrame:
    """Stored stations as :func:`~stationplan.read_stations` gives them (EPSG:4326).

    >>> f = station_frame([Station("a", "甲", 117.2, 28.2)])
    >>> f[["station_id", "name", "status"]].to_dict("records")
    [{'station_id': 'a', 'name': '甲', 'status': 'ok'}]
    >>> len(station_frame([]))
    0
    """
    records = []
    for s in stations:
        attrs = dict(s.attrs or {})
        records.append({"station_id": s.station_id, "name": s.name, "status": "ok",
                        "reason": None,
                        **{k: attrs.get(k) for k in _STATION_ATTRS}})
    cols = ["station_id", "name", "status", "reason", *_STATION_ATTRS]
    frame = pd.DataFrame(records, columns=cols)
    for c in cols:
        frame[c] = frame[c].astype(object)
    geom = [shapely.Point(s.lon, s.lat) for s in stations]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, crs=4326), crs=4326)


def _attrs(s: Station) -> dict[str, Any]:
    attrs = dict(s.attrs or {})
    return {k: attrs.get(k) for k in _STATION_ATTRS}


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _station_json(s: Station, row: Any, lang: str) -> dict[str, Any]:
    from ._i18n import station_reason_text

    status = reason = None
    snap = snap_lon = snap_lat = None
    if row is not None:
        status = str(row["status"])
        reason = station_reason_text(row.get("reason"), lang) or None
        snap, snap_lon, snap_lat = (_num(row.get(c)) for c in
                                    ("snap_dist_m", "snap_lon", "snap_lat"))
    return {"station_id": s.station_id, "name": s.name, "lon": s.lon, "lat": s.lat,
            "status": status, "reason": reason, "snap_dist_m": snap,
            "snap_lon": snap_lon, "snap_lat": snap_lat, "source": s.source,
            "attrs": dict(s.attrs or {})}


def _figures(f: Any) -> dict[str, Any]:
    return dataclasses.asdict(f)


def _sheet_json(s: Mapping[str, Any]) -> dict[str, Any]:
    rows = s["rows"]
    return {"id": s["id"], "file": s["file"], "crs": s["crs"], "crs_from": s["crs_from"],
            "rows": len(rows), "ok": sum(1 for r in rows if r.get("status") == "ok"),
            "rejected": len(s["rejected"]), "confirmed": s["confirmed"]}


def _style(live: Any) -> dict[str, Any]:
    from ._render import mapstyle as ms

    limit = float(live.rule.limit_m) if live is not None else 500.0
    return {"bands": list(ms.BAND_COLOURS), "band_edges_m": ms.band_edges(limit),
            "gap": ms.GAP_COLOUR, "service": ms.SERVICE_COLOUR, "station": ms.STATION_COLOUR,
            "proposal": ms.PROPOSAL_COLOUR, "rejected": ms.REJECTED_COLOUR,
            "area": ms.AREA_COLOUR, "other": ms.OTHER_COLOUR,
            "street_weight": ms.STREET_WEIGHT, "gap_weights": [
                [w if math.isfinite(w) else None, px] for w, px in ms.GAP_WEIGHTS],
            "limit_m": limit}


def _coords(g: Any) -> Any:
    kind = shapely.get_type_id(g)
    if kind == 1:  # LineString
        return "LineString", np.round(shapely.get_coordinates(g), 6).tolist()
    if kind == 5:  # MultiLineString
        return "MultiLineString", [np.round(shapely.get_coordinates(p), 6).tolist()
                                   for p in shapely.get_parts(g)]
    if kind == 0:
        return "Point", np.round(shapely.get_coordinates(g)[0], 6).tolist()
    geo = json.loads(shapely.to_geojson(g))
    return geo["type"], geo.get("coordinates")


def _features(pieces: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """Pieces as a GeoJSON FeatureCollection in WGS-84 (6 decimals)."""
    if pieces is None or len(pieces) == 0:
        return {"type": "FeatureCollection", "features": []}
    geoms = pieces.geometry.to_crs(4326).to_numpy()
    feats = []
    cols = [pieces[c].to_numpy() for c in ("edge_id", "status", "dist_m", "station_id",
                                           "length_m")]
    for g, edge, status, dist, sid, length in zip(geoms, *cols, strict=True):
        if g is None:
            continue
        kind, coords = _coords(g)
        sid_text = None if sid is None or (isinstance(sid, float) and math.isnan(sid)) \
            else str(sid)
        feats.append({"type": "Feature", "geometry": {"type": kind, "coordinates": coords},
                      "properties": {"edge_id": int(edge), "status": str(status),
                                     "dist_m": _num(dist), "station_id": sid_text,
                                     "length_m": float(length)}})
    return {"type": "FeatureCollection", "features": feats}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _rows_json(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """A read station table as JSON rows (lon/lat WGS-84; ``None`` without a location)."""
    out = []
    for _, r in frame.iterrows():
        lon, lat = _point(r.geometry)
        d = {"station_id": str(r["station_id"]), "name": _text(r.get("name")),
             "row": int(r["row"]) if _num(r.get("row")) is not None else None,
             "status": str(r["status"]), "reason": _text(r.get("reason")) or None,
             "lon": lon, "lat": lat}
        d |= {k: _text(r.get(k)) for k in _STATION_ATTRS}
        out.append(d)
    return out


def _point(g: Any) -> tuple[float | None, float | None]:
    """The x and y of a point geometry, or ``(None, None)`` without one.

    >>> _point(shapely.Point(1.5, 2)), _point(None), _point(shapely.Point())
    ((1.5, 2.0), (None, None), (None, None))
    """
    if g is None or g.is_empty:
        return None, None
    x, y = shapely.get_coordinates(g)[0]
    return float(x), float(y)


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


# --- uploads ---------------------------------------------------------------------------------

class _TooLargeError(Exception):
    pass


async def _counted(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused (``_TooLargeError``) as soon as it passes ``limit`` bytes."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _TooLargeError
        yield chunk


async def _form(request: Request, limit: int, what: str) -> Any:
    """The multipart form of ``request``, parsed while counting: above ``limit`` bytes the
    upload is refused with 413 before anything is stored in the project."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ApiError(413, "too_large", mb=f"{limit / 2**20:g}", what=what)
    parser = MultiPartParser(request.headers, _counted(request, limit), max_files=2,
                             max_fields=20)
    try:
        return await parser.parse()
    except _TooLargeError:
        raise ApiError(413, "too_large", mb=f"{limit / 2**20:g}", what=what) from None


async def _store_upload(project: Project, upload: Any) -> Path:
    """Copy an uploaded file into ``inputs/`` under its sanitised name (a temporary name
    first, renamed when complete)."""
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "no_file")
    path = project.input_path(upload.filename or "upload")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    project.check_inside(tmp, project.inputs)
    try:
        with tmp.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                out.write(chunk)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
        await upload.close()
    return path


# --- jobs ------------------------------------------------------------------------------------

def _start_job(session: _Session, kind: str, params: Mapping[str, Any],
               work: Callable[[int, Callable[[float, str], None]], Any]) -> int:
    """Run ``work(job_id, report)`` in a thread; its result or error is stored with the job."""
    project = session.project
    job = project.add_job(kind, params)
    last = [0.0]

    def report(progress: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] > 0.2 or progress >= 1:  # a few writes a second at most
            last[0] = now
            project.update_job(job, progress=max(0.0, min(1.0, progress)),
                               message=message or None)

    def run() -> None:
        project.update_job(job, state="running",
                           message=serve_text(f"job.{kind}", session.lang))
        try:
            result = work(job, report)
        except Exception as exc:
            message = _error_message(exc, session.lang)
            log.warning("job %d (%s) failed: %s", job, kind, message)
            project.update_job(job, state="failed", message=message)
        else:
            project.update_job(job, state="done", progress=1.0,
                               message=serve_text("job.done", session.lang), result=result)

    threading.Thread(target=run, name=f"stationplan-job-{job}", daemon=True).start()
    return job


def _error_message(exc: BaseException, lang: str) -> str:
    if isinstance(exc, ApiError):
        return serve_text(exc.code, lang, **exc.fields)
    if isinstance(exc, StationplanError):
        if lang == "zh" and exc.zh:
            return " ".join(exc.zh.split())
        return error_text(" ".join(str(exc).split()), lang)
    return serve_text("internal", lang, msg=" ".join(str(exc).split()) or type(exc).__name__)


@contextlib.contextmanager
def _stations_csv(stations: list[Station]) -> Any:
    """The stations as a WGS-84 CSV the command line reads, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="stationplan-") as tmp:
        path = Path(tmp) / "stations.csv"
        write_stations_csv(stations, path)
        yield path


def write_stations_csv(stations: list[Station], path: str | os.PathLike[str]) -> Path:
    """Write stations as a CSV ``stationplan coverage FILE STATIONS --crs wgs84`` reads:
    ``station_id``, ``name``, ``lon``, ``lat`` (full float precision).

    Parameters
    ----------
    stations
        The stations.
    path
        The file to write.

    Returns
    -------
    pathlib.Path
    """
    import csv

    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["station_id", "name", "lon", "lat"])
        for s in stations:
            w.writerow([s.station_id, s.name, repr(float(s.lon)), repr(float(s.lat))])
    return path


# --- the application ---------------------------------------------------------------------------

def create_app(project_dir: str | os.PathLike[str], *, host: str = SERVE_HOST,
               token: str | None = None, lang: str | None = None,
               max_upload_bytes: int | Mapping[str, int] | None = None) -> Starlette:
    """The planner's page and its JSON API over one project folder.

    Parameters
    ----------
    project_dir
        The project folder (created when missing; see :mod:`stationplan.project`).
    host
        The address the server is bound to. On a loopback address (127.0.0.1, ::1,
        localhost) no token is needed; on any other every request must carry ``token``.
    token
        The access token for a non-loopback ``host``; ``None`` makes a random one (read
        it from ``app.state.token``).
    lang
        "zh" or "en" for the page and its messages; default the project's stored choice,
        else Chinese for a network in China, English elsewhere.
    max_upload_bytes
        Largest upload in bytes: one number for every upload, or ``{"network": ...,
        "sheet": ...}``; default :data:`MAX_UPLOAD_BYTES` (200 MB networks, 20 MB
        sheets).

    Returns
    -------
    starlette.applications.Starlette
        With ``state.session`` (the project served) and ``state.token`` (``None`` on
        loopback).
    """
    if lang not in (None, "zh", "en"):
        msg = f"lang must be zh or en, not {lang!r}"
        raise InputError(msg)
    limits = dict(MAX_UPLOAD_BYTES)
    if isinstance(max_upload_bytes, int):
        limits = dict.fromkeys(limits, max_upload_bytes)
    elif max_upload_bytes is not None:
        limits |= {k: int(v) for k, v in max_upload_bytes.items()}
    needs_token = host not in LOOPBACK
    if needs_token and not token:
        token = secrets.token_urlsafe(24)
    if not needs_token:
        token = None
    session = _Session(Project(project_dir), lang)
    session.restore()

    def lang_of() -> str:
        return session.lang

    async def index(request: Request) -> Response:
        chosen = request.query_params.get("lang")
        if chosen in ("zh", "en"):
            session.project.set_meta("lang", chosen)
        page = STATIC_DIR / "index.html"
        if page.is_file():
            return FileResponse(page, media_type="text/html; charset=utf-8")
        return HTMLResponse(_PLACEHOLDER)

    async def state(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(session.state))

    async def networks(request: Request) -> Response:
        files = session.project.cached_inputs(NETWORK_SUFFIXES)
        return JSONResponse({"cached": [{"name": p.name, "file": p.name,
                                         "size": p.stat().st_size} for p in files]})

    async def load_network(request: Request) -> Response:
        project = session.project
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = await _form(request, limits["network"],
                               serve_text("what.network", lang_of()))
            path = await _store_upload(project, form.get("file"))
        else:
            body = await _json(request)
            name = str(body.get("cached") or "")
            path = project.inputs / name
            if not name or "/" in name or "\\" in name or not path.is_file():
                raise ApiError(404, "no_cached", name=name)
            project.check_inside(path, project.inputs)

        def work(job: int, report: Callable[[float, str], None]) -> Any:
            report(0.05, "")
            try:
                session.load_network(path)
            finally:
                session.loading = None
            return {"network": session.state()["network"]}

        job = _start_job(session, "network", {"file": path.name}, work)
        session.loading = job
        return JSONResponse({"job": job})

    async def coverage(request: Request) -> Response:
        def work() -> Any:
            with session.lock:
                return _features(session.require_live().coverage.pieces)
        return JSONResponse(await run_in_threadpool(work))

    async def gaps(request: Request) -> Response:
        def work() -> Any:
            g = session.gaps()
            return {"gaps": [{"gap_id": int(r["gap_id"]), "length_m": float(r["length_m"]),
                              "name": _text(r.get("street")), "lon": _num(r.get("point_lon")),
                              "lat": _num(r.get("point_lat")),
                              "farthest_m": _num(r.get("farthest_m"))}
                             for _, r in g.iterrows()]}
        return JSONResponse(await run_in_threadpool(work))

    async def add_sheet(request: Request) -> Response:
        form = await _form(request, limits["sheet"], serve_text("what.sheet", lang_of()))
        path = await _store_upload(session.project, form.get("file"))
        return JSONResponse(await run_in_threadpool(_read_sheet, session, path))

    async def confirm_sheet(request: Request) -> Response:
        sheet_id = _int(request.path_params["sheet_id"], "no_sheet")
        body = await _json(request)
        crs = body.get("crs")
        if crs not in CRS_CHOICES:
            raise ApiError(400, "bad_crs")
        return JSONResponse(await run_in_threadpool(_confirm_sheet, session, sheet_id, crs))

    async def add_station(request: Request) -> Response:
        body = await _json(request)
        lon, lat = _lonlat(body)
        name = _text(body.get("name"))[:200]

        def work() -> Any:
            with session.lock:
                sid = session.project.new_station_id()
                st = Station(sid, name, lon, lat, "added")
                return session.edit("add", sid, None, st.as_dict(),
                                    lambda live: live.add(sid, lon, lat, name=name))
        return JSONResponse(await run_in_threadpool(work))

    async def move_station(request: Request) -> Response:
        sid = request.path_params["station_id"]
        body = await _json(request)
        lon, lat = _lonlat(body)

        def work() -> Any:
            with session.lock:
                stored = {s.station_id: s for s in session.project.stations()}
                if sid not in stored:
                    raise ApiError(404, "no_station", id=sid)
                old = stored[sid]
                return session.edit("move", sid, {"lon": old.lon, "lat": old.lat},
                                    {"lon": lon, "lat": lat},
                                    lambda live: live.move(sid, lon, lat))
        return JSONResponse(await run_in_threadpool(work))

    async def delete_station(request: Request) -> Response:
        sid = request.path_params["station_id"]

        def work() -> Any:
            with session.lock:
                stored = {s.station_id: s for s in session.project.stations()}
                if sid not in stored:
                    raise ApiError(404, "no_station", id=sid)
                return session.edit("delete", sid, stored[sid].as_dict(), None,
                                    lambda live: live.delete(sid))
        return JSONResponse(await run_in_threadpool(work))

    async def undo(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(session.step, True))

    async def redo(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(session.step, False))

    async def plan(request: Request) -> Response:
        body = await _json(request)
        k, target = body.get("k"), body.get("target_share")
        if k is not None:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 200:
                raise ApiError(400, "bad_plan")
            params: dict[str, Any] = {"k": k}
        elif target is not None:
            t = _num(target)
            if t is None or not 0 < t <= 1 or isinstance(target, bool):
                raise ApiError(400, "bad_plan")
            params = {"target_share": t}
        else:
            raise ApiError(400, "bad_plan")
        session.require_live()
        job = _start_job(session, "plan", params,
                         lambda job, report: _plan(session, job, params, report))
        return JSONResponse({"job": job})

    async def job(request: Request) -> Response:
        job_id = _int(request.path_params["job_id"], "no_job")
        try:
            j = session.project.job(job_id)
        except KeyError:
            raise ApiError(404, "no_job", id=job_id) from None
        result = j["result"]
        if j["kind"] == "plan" and j["state"] == "done" and result is not None:
            status = {p["rank"]: p for p in session.project.proposals(job_id)}
            for p in result.get("proposals", []):
                rec = status.get(p["rank"])
                if rec is not None:
                    p["status"], p["station_id"] = rec["status"], rec["station_id"]
        return JSONResponse({"id": j["id"], "kind": j["kind"], "state": j["state"],
                             "progress": j["progress"], "message": j["message"],
                             "result": result})

    async def accept(request: Request) -> Response:
        job_id = _int(request.path_params["job_id"], "no_job")
        rank = _int(request.path_params["rank"], "no_proposal")

        def work() -> Any:
            with session.lock:
                project = session.project
                try:
                    prop = project.proposal(job_id, rank)
                except KeyError:
                    raise ApiError(404, "no_proposal", id=job_id, rank=rank) from None
                if prop["status"] != "proposed":
                    raise ApiError(409, "proposal_done", rank=rank, state=prop["status"])
                sid = project.new_station_id("plan-")
                name = prop["name"] or f"#{rank}"
                st = Station(sid, name, prop["lon"], prop["lat"], "proposal")
                after = st.as_dict() | {"proposal": {"job": job_id, "rank": rank}}
                return session.edit(
                    "accept", sid, None, after,
                    lambda live: live.add(sid, st.lon, st.lat, name=name),
                    also=lambda db: project.set_proposal(db, job_id, rank, "accepted", sid))
        return JSONResponse(await run_in_threadpool(work))

    async def reject(request: Request) -> Response:
        job_id = _int(request.path_params["job_id"], "no_job")
        rank = _int(request.path_params["rank"], "no_proposal")
        project = session.project
        try:
            prop = project.proposal(job_id, rank)
        except KeyError:
            raise ApiError(404, "no_proposal", id=job_id, rank=rank) from None
        if prop["status"] != "proposed":
            raise ApiError(409, "proposal_done", rank=rank, state=prop["status"])
        project.reject_proposal(job_id, rank)
        return JSONResponse({"status": "rejected", "version": project.version})

    async def check(request: Request) -> Response:
        form = await _form(request, limits["sheet"], serve_text("what.sheet", lang_of()))
        crs = form.get("crs") or None
        if crs is not None and crs not in CRS_CHOICES:
            raise ApiError(400, "bad_crs")
        path = await _store_upload(session.project, form.get("file"))
        session.require_live()
        params = {"file": path.name, "crs": crs}
        job = _start_job(session, "check", params,
                         lambda job, report: _check(session, path, crs, report))
        return JSONResponse({"job": job})

    async def new_scenario(request: Request) -> Response:
        body = await _json(request)
        name = _text(body.get("name")).strip()
        if not name or len(name) > 100:
            raise ApiError(400, "bad_name")
        source = body.get("from", session.project.scenario_id)
        source = _int(source, "no_scenario")

        def work() -> Any:
            with session.lock:
                try:
                    session.project.copy_scenario(name, source)
                except KeyError:
                    raise ApiError(404, "no_scenario", id=source) from None
                session.rebuild()
                return session.state()
        return JSONResponse(await run_in_threadpool(work))

    async def open_scenario(request: Request) -> Response:
        sc = _int(request.path_params["scenario_id"], "no_scenario")

        def work() -> Any:
            with session.lock:
                try:
                    session.project.open_scenario(sc)
                except KeyError:
                    raise ApiError(404, "no_scenario", id=sc) from None
                session.rebuild()
                return session.state()
        return JSONResponse(await run_in_threadpool(work))

    async def compare(request: Request) -> Response:
        a = _int(request.query_params.get("a", ""), "no_scenario")
        b = _int(request.query_params.get("b", ""), "no_scenario")
        return JSONResponse(await run_in_threadpool(_compare, session, a, b))

    async def set_lang(request: Request) -> Response:
        body = await _json(request)
        if body.get("lang") not in ("zh", "en"):
            raise ApiError(400, "bad_json")
        session.project.set_meta("lang", body["lang"])
        return JSONResponse({"lang": body["lang"]})

    async def download(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _DOWNLOADS:
            raise ApiError(404, "bad_download", name=name)
        path = await run_in_threadpool(_download, session, name)
        return FileResponse(path, filename=name,
                            content_disposition_type="attachment")

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/networks", networks),
        Route("/api/network", load_network, methods=["POST"]),
        Route("/api/coverage", coverage),
        Route("/api/gaps", gaps),
        Route("/api/sheets", add_sheet, methods=["POST"]),
        Route("/api/sheets/{sheet_id}/confirm", confirm_sheet, methods=["POST"]),
        Route("/api/stations", add_station, methods=["POST"]),
        Route("/api/stations/{station_id}", move_station, methods=["PATCH"]),
        Route("/api/stations/{station_id}", delete_station, methods=["DELETE"]),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/redo", redo, methods=["POST"]),
        Route("/api/plan", plan, methods=["POST"]),
        Route("/api/jobs/{job_id}", job),
        Route("/api/proposals/{job_id}/{rank}/accept", accept, methods=["POST"]),
        Route("/api/proposals/{job_id}/{rank}/reject", reject, methods=["POST"]),
        Route("/api/check", check, methods=["POST"]),
        Route("/api/scenarios", new_scenario, methods=["POST"]),
        Route("/api/scenarios/{scenario_id}/open", open_scenario, methods=["POST"]),
        Route("/api/compare", compare),
        Route("/api/lang", set_lang, methods=["POST"]),
        Route("/api/download/{name}", download),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR, check_dir=False),
              name="static"),
        *(Mount(f"/assets/{key}", app=StaticFiles(directory=folder), name=key)
          for key, folder in asset_dirs().items()),
    ]

    async def api_error(request: Request, exc: Exception) -> Response:
        return _error_response(exc, lang_of())

    handlers: dict[Any, Any] = {ApiError: api_error, StationplanError: api_error,
                                KeyError: api_error, Exception: api_error}
    app = Starlette(routes=routes, exception_handlers=handlers,
                    middleware=[Middleware(_Guard, token=token, lang=lang_of)])
    app.state.session = session
    app.state.token = token
    return app


def _error_response(exc: Exception, lang: str) -> JSONResponse:
    if isinstance(exc, ApiError):
        return JSONResponse({"error": serve_text(exc.code, lang, **exc.fields),
                             "code": exc.code}, status_code=exc.status)
    if isinstance(exc, KeyError):
        what = exc.args[0] if exc.args else ""
        return JSONResponse({"error": serve_text("no_station", lang, id=what),
                             "code": "no_station"}, status_code=404)
    if isinstance(exc, StationplanError):
        return JSONResponse({"error": _error_message(exc, lang),
                             "code": type(exc).__name__}, status_code=400)
    log.debug("internal error", exc_info=exc)
    return JSONResponse({"error": _error_message(exc, lang), "code": "internal"},
                        status_code=500)


class _Guard:
    """The token check and the security headers around the application (ASGI).

    Requests without the right token get 403 (JSON) when one is needed; a page opened
    with ``?token=`` gets the token as an HttpOnly, SameSite=Strict cookie.
    """

    def __init__(self, app: ASGIApp, token: str | None, lang: Callable[[], str]) -> None:
        self.app, self.token, self.lang = app, token, lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_cookie = False
        if self.token is not None:
            given = self._given(scope)
            if not any(hmac.compare_digest(g.encode(), self.token.encode()) for g in given):
                body = json.dumps({"error": serve_text("forbidden", self.lang()),
                                   "code": "forbidden"}, ensure_ascii=False).encode()
                await send({"type": "http.response.start", "status": 403, "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *_SECURITY_HEADERS]})
                await send({"type": "http.response.body", "body": body})
                return
            set_cookie = "token" in parse_qs(scope.get("query_string", b"").decode("latin-1"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", [])
                           if h[0].lower() not in {k for k, _ in _SECURITY_HEADERS}]
                headers += list(_SECURITY_HEADERS)
                if set_cookie and self.token is not None:
                    headers.append((b"set-cookie", (
                        f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; "
                        "Path=/").encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _given(scope: Scope) -> list[str]:
        given = []
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given += query.get("token", [])
        for key, value in scope.get("headers", []):
            k = key.decode("latin-1").lower()
            if k == TOKEN_HEADER:
                given.append(value.decode("latin-1"))
            elif k == "cookie":
                cookie: SimpleCookie = SimpleCookie()
                with contextlib.suppress(Exception):
                    cookie.load(value.decode("latin-1"))
                if TOKEN_COOKIE in cookie:
                    given.append(cookie[TOKEN_COOKIE].value)
        return given


# --- request helpers -------------------------------------------------------------------------

async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json")
    return body


def _lonlat(body: Mapping[str, Any]) -> tuple[float, float]:
    lon, lat = body.get("lon"), body.get("lat")
    if isinstance(lon, bool) or isinstance(lat, bool):
        raise ApiError(400, "bad_lonlat")
    lon_f, lat_f = _num(lon), _num(lat)
    if lon_f is None or lat_f is None or not (-180 <= lon_f <= 180 and -90 <= lat_f <= 90):
        raise ApiError(400, "bad_lonlat")
    return lon_f, lat_f


def _int(value: Any, code: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ApiError(404, code, id=value, rank=value) from None


# --- sheets, plans, checks, comparisons, downloads ------------------------------------------------

def _read_sheet(session: _Session, path: Path) -> dict[str, Any]:
    """Read a sheet without importing it; run the coordinate-system detector."""
    from .stations import check_offset, read_stations

    try:
        frame = read_stations(path)
    except StationplanError:
        path.unlink(missing_ok=True)
        raise
    report = dict(frame.attrs.get("read_report") or {})
    rows = _rows_json(frame)
    rejected = [_rejected(r, session.lang) for r in rows if r["status"] != "ok"]
    crs = str(report.get("crs") or "wgs84")
    suggest = crs if crs in CRS_CHOICES else "wgs84"
    detector: dict[str, Any] = {"fired": False, "message": None}
    if session.network is not None:
        found = check_offset(session.network, frame)
        if found.suspected:
            detector = {"fired": True, "message": found.message_zh if session.lang == "zh"
                        else found.message, "alternative": found.alternative}
            if found.alternative in CRS_CHOICES:
                suggest = found.alternative
    sheet_id = session.project.add_sheet(path.name, crs, report.get("crs_from"), report,
                                         rows, rejected)
    return {"sheet_id": sheet_id, "file": path.name, "rows": len(rows),
            "ok": sum(1 for r in rows if r["status"] == "ok"),
            "crs_read": crs, "crs_from": report.get("crs_from"), "suggest": suggest,
            "detector": detector, "rejected": rejected}


def _rejected(r: Mapping[str, Any], lang: str) -> dict[str, Any]:
    from ._i18n import station_reason_text

    return {"row": r.get("row"), "station_id": r.get("station_id"), "name": r.get("name"),
            "reason": station_reason_text(r.get("reason"), lang)}


def _confirm_sheet(session: _Session, sheet_id: int, crs: str) -> dict[str, Any]:
    """Import a sheet's usable rows, read in ``crs``, into the current scenario as one
    edit."""
    from .stations import read_stations

    project = session.project
    try:
        sheet = project.sheet(sheet_id)
    except KeyError:
        raise ApiError(404, "no_sheet", id=sheet_id) from None
    if sheet["confirmed"]:
        raise ApiError(409, "sheet_done", id=sheet_id)
    path = project.inputs / sheet["file"]
    project.check_inside(path, project.inputs)
    frame = read_stations(path, crs=crs, force_crs=True)
    rows = _rows_json(frame)
    lang = session.lang
    with session.lock:
        session.require_live()
        taken = {s.station_id for s in project.stations()}
        new: list[dict[str, Any]] = []
        for r in rows:
            if r["status"] != "ok" or r["lon"] is None:
                continue
            sid = r["station_id"]
            if sid in taken:
                sid = f"{sheet_id}-{sid}"
            taken.add(sid)
            attrs = {k: r[k] for k in _STATION_ATTRS if r.get(k)}
            new.append(Station(sid, r["name"], r["lon"], r["lat"], "sheet", sheet_id,
                               attrs).as_dict())
        rejected = [_rejected(r, lang) for r in rows if r["status"] != "ok"]

        def also(db: Any) -> None:
            project.confirm_sheet(db, sheet_id, crs, rows, rejected)

        session.edit("import", None, None, new, lambda live: session._full_change(),
                     also=also)
        snapped = session.live.stations
        ids = {d["station_id"] for d in new}
        far = snapped[snapped["station_id"].astype(str).isin(ids)
                      & (snapped["status"] != "ok")]
        from ._i18n import station_reason_text

        by_id = {d["station_id"]: d for d in new}
        for _, r in far.iterrows():
            sid = str(r["station_id"])
            rejected.append({"row": None, "station_id": sid, "name": by_id[sid]["name"],
                             "reason": station_reason_text(r.get("reason"), lang)})
        return {"state": session.state(), "rejected": rejected}


def _plan(session: _Session, job: int, params: Mapping[str, Any],
          report: Callable[[float, str], None]) -> dict[str, Any]:
    """A plan on the current stations (``stationplan plan`` with the same defaults)."""
    from ._i18n import plan_certificate
    from ._options import StationOptions
    from .pipeline import PLAN_STAGES, run_plan

    with session.lock:
        stations = session.project.stations()
        scenario = session.project.scenario_id
        network = session.network_path
    stages = {name: i / len(PLAN_STAGES) for i, name in enumerate(PLAN_STAGES)}
    lang = session.lang

    def on_stage(name: str) -> None:
        report(stages.get(name, 0.0), name)

    def progress(done: int, total: int) -> None:
        base = stages["siting"]
        report(base + (1 / len(PLAN_STAGES)) * (done / max(total, 1)), "siting")

    with _stations_csv(stations) as csv_path:
        run = run_plan(network, csv_path, new_sites=params.get("k"),
                       target_share=params.get("target_share"),
                       station_options=StationOptions(crs="wgs84"), on_stage=on_stage,
                       progress=progress)
    props = run.plan.proposals
    pts = props.geometry.to_crs(4326)
    sites = []
    for i, (_, r) in enumerate(props.iterrows()):
        rank = int(r["rank"]) if "rank" in props.columns else i + 1
        gain = _num(r.get("marginal_m")) or 0.0
        name = _text(r.get("name")) or _text(r.get("address")) or f"#{rank}"
        lon, lat = _point(pts.iloc[i])
        sites.append({"rank": rank, "lon": lon, "lat": lat,
                      "gain_m": gain, "status": "proposed", "name": name,
                      "address": _text(r.get("address")), "kind": _text(r.get("kind")),
                      "cumulative_share": _num(r.get("cumulative_share"))})
    session.project.add_proposals(job, scenario, sites)
    s = run.plan.summary
    return {"proposals": sites, "share_after": s.get("coverage_after"),
            "share_before": s.get("coverage_before"),
            "certified": s.get("certified"), "optimal_for": plan_certificate(s, lang),
            "lang": lang,
            "summary": _jsonable(s)}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: getattr(v, "item", lambda: str(v))(),
                                 allow_nan=True).replace("NaN", "null"))


def _check(session: _Session, path: Path, crs: str | None,
           report: Callable[[float, str], None]) -> dict[str, Any]:
    """Verdicts on a proposals sheet (``stationplan check``) against the current stations."""
    from ._options import CheckOptions, StationOptions
    from .check import reason_text
    from .pipeline import run_check

    with session.lock:
        stations = session.project.stations()
        network = session.network_path
    lang = session.lang
    report(0.1, "")
    with _stations_csv(stations) as csv_path:
        run = run_check(network, csv_path, path, station_options=StationOptions(crs="wgs84"),
                        check_options=CheckOptions(proposal_crs=crs))
    checked = run.checked
    settings = run.check_summary.get("settings", {})
    pts = checked.geometry.to_crs(4326)
    sites = []
    for i, (_, r) in enumerate(checked.iterrows()):
        lon, lat = _point(pts.iloc[i])
        sites.append({"row": int(r["row"]) if _num(r.get("row")) is not None else None,
                      "name": _text(r.get("name")), "lon": lon, "lat": lat,
                      "verdict": _text(r.get("verdict")),
                      "reason": reason_text(r.to_dict(), settings, lang),
                      "gain_m": _num(r.get("gain_m"))})
    return {"sites": sites, "summary": _jsonable(run.check_summary)}


def _compare(session: _Session, a: int, b: int) -> dict[str, Any]:
    """Shares, sites and gap kilometres of two scenarios."""
    from .live import LiveCoverage

    with session.lock:
        session.require_live()
        project = session.project
        sets = {}
        for sc in (a, b):
            try:
                sets[sc] = (project.scenario(sc), project.stations(sc))
            except KeyError:
                raise ApiError(404, "no_scenario", id=sc) from None
        current = project.scenario_id
        figures = {sc: session.live.figures for sc in (a, b) if sc == current}
        network = session.network
    for sc in (a, b):
        if sc not in figures:
            figures[sc] = LiveCoverage(network, station_frame(sets[sc][1])).figures
    out = {}
    for key, sc, other in (("a", a, b), ("b", b, a)):
        meta, st = sets[sc]
        mine = {s.station_id: s for s in st}
        theirs = {s.station_id: s for s in sets[other][1]}
        added = [sid for sid, s in mine.items() if sid not in theirs
                 or (theirs[sid].lon, theirs[sid].lat) != (s.lon, s.lat)]
        removed = [sid for sid in theirs if sid not in mine]
        f = figures[sc]
        out[key] = {"id": sc, "name": meta["name"], "share": f.share,
                    "covered_km": f.covered_m / 1000, "gap_km": f.gap_m / 1000,
                    "demand_km": f.demand_m / 1000, "stations": len(st),
                    "stations_ok": f.stations_ok, "added": added, "removed": removed}
    return out


def _download(session: _Session, name: str) -> Path:
    """Write the download ``name`` atomically into ``downloads/``; return its path."""
    project = session.project
    with session.lock:
        live = session.require_live()
        stations = project.stations()
        cov = live.coverage
        snapped = live.stations.copy()
        network_path = session.network_path
    lang = session.lang
    target = project.downloads / name
    tmp = target.with_name(f".{target.stem}.{secrets.token_hex(6)}{target.suffix}")
    try:
        if name == "amap.xlsx":
            from .export import write_amap_sheet
            from .stations import station_markers

            write_amap_sheet(station_markers(station_frame(stations), lang=lang), tmp)
        elif name == "tables.xlsx":
            _write_tables(session, tmp, snapped, stations)
        elif name == "report.html":
            from .pipeline import run_report

            with (_stations_csv(stations) as csv_path,
                  tempfile.TemporaryDirectory(prefix="stationplan-report-") as out):
                from ._options import MapOptions, StationOptions

                run = run_report(network_path, csv_path, out=Path(out) / "report",
                                 station_options=StationOptions(crs="wgs84"),
                                 map_options=MapOptions(lang=lang))
                shutil.copyfile(run.paths["report.html"], tmp)
        elif name == "project.gpkg":
            gaps = session.gaps()
            st = snapped.to_crs(4326)
            st = st[[c for c in ("station_id", "name", "status", "reason", "snap_dist_m",
                                 "geometry") if c in st.columns]]
            st.to_file(tmp, layer="stations", driver="GPKG")
            pieces = cov.pieces.to_crs(4326)
            pieces.to_file(tmp, layer="pieces", driver="GPKG", mode="a")
            gaps.to_crs(4326).to_file(tmp, layer="gaps", driver="GPKG", mode="a")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _write_tables(session: _Session, path: Path, snapped: gpd.GeoDataFrame,
                  stations: list[Station]) -> None:
    """stations, gaps and figures sheets."""
    lang = session.lang
    st = pd.DataFrame([_station_json(s, None, lang) for s in stations])
    if len(st):
        status = dict(zip(snapped["station_id"].astype(str), snapped["status"], strict=True))
        dist = dict(zip(snapped["station_id"].astype(str), snapped["snap_dist_m"],
                        strict=True))
        st["status"] = st["station_id"].map(status)
        st["snap_dist_m"] = st["station_id"].map(dist)
        st = st.drop(columns=["attrs", "reason", "snap_lon", "snap_lat"])
    gaps = pd.DataFrame(session.gaps().drop(columns="geometry"))
    f = session.live.figures
    figures = pd.DataFrame([{"key": k, "value": v} for k, v in dataclasses.asdict(f).items()])
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        st.to_excel(xl, sheet_name="stations", index=False)
        gaps.to_excel(xl, sheet_name="gaps", index=False)
        figures.to_excel(xl, sheet_name="figures", index=False)


_PLACEHOLDER = """<!doctype html><meta charset="utf-8"><title>stationplan</title>
<link rel="stylesheet" href="/assets/leaflet/leaflet.css">
<p>stationplan serve: the page (stationplan/_web/static/index.html) is not installed.
<a href="/api/state">/api/state</a></p>
<script src="/assets/leaflet/leaflet.js"></script>
"""


# --- running -----------------------------------------------------------------------------

def start_url(host: str, port: int, token: str | None) -> str:
    """The address to open: ``http://HOST:PORT/`` with ``?token=`` when one is needed.

    >>> start_url("127.0.0.1", 8765, None)
    'http://127.0.0.1:8765/'
    >>> start_url("::", 80, "t0k")
    'http://[::]:80/?token=t0k'
    """
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(project_dir: str | os.PathLike[str], *, host: str = SERVE_HOST, port: int = SERVE_PORT,
          open_browser: bool = True, lang: str | None = None,
          max_upload_bytes: int | Mapping[str, int] | None = None) -> None:
    """Serve the planner's page over ``project_dir`` until interrupted (Ctrl-C).

    Parameters
    ----------
    project_dir
        The project folder (created when missing).
    host, port
        Where to listen. A host other than a loopback address needs the access token
        printed in the start address on every request.
    open_browser
        Open the start address in the default browser.
    lang
        "zh" or "en" (default: see :func:`create_app`).
    max_upload_bytes
        See :func:`create_app`.
    """
    import uvicorn

    app = create_app(project_dir, host=host, lang=lang, max_upload_bytes=max_upload_bytes)
    url = start_url(host, port, app.state.token)
    log.info("stationplan serve: project %s at %s (Ctrl-C stops the server)",
             Path(project_dir).resolve(), url)
    if app.state.token is not None:
        log.info("stationplan serve: bound to %s, beyond this computer: every request needs "
                 "the token in the address above", host)
    if open_browser:
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    uvicorn.Server(config).run()
