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
import errno
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from http.cookies import SimpleCookie
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import InputError, StationplanError
from ._i18n.cli import serve_text
from ._options import (
    MAX_UPLOAD_NETWORK_BYTES,
    MAX_UPLOAD_SHEET_BYTES,
    OSM_SUFFIXES,
    SERVE_HOST,
    SERVE_PORT,
)
from ._web import STATIC_DIR, asset_dirs
from ._webjobs import check_job, job_json, latest_job, plan_job, start_job
from ._workbench import (
    CRS_CHOICES,
    DOWNLOADS,
    ApiError,
    Workbench,
    compare,
    confirm_sheet,
    download,
    error_message,
    features,
    file_error,
    number,
    read_sheet,
    sha256_of,
    text_of,
)
from .project import Project, Station, safe_name, server_lock

log = logging.getLogger(__name__)

__all__ = ["MAX_UPLOAD_BYTES", "create_app", "serve"]

# Upload limits, bytes (defaults in stationplan._options).
MAX_UPLOAD_BYTES: Mapping[str, int] = MappingProxyType({"network": MAX_UPLOAD_NETWORK_BYTES,
                                                       "sheet": MAX_UPLOAD_SHEET_BYTES})
LOOPBACK = ("127.0.0.1", "::1", "localhost")
TOKEN_COOKIE = "stationplan_token"
TOKEN_HEADER = "x-stationplan-token"
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


# --- uploads ---------------------------------------------------------------------------------

class _TooLargeError(Exception):
    pass


def _update(answer: dict[str, Any]) -> Response:
    """An edit's answer, its compute time also in a ``Server-Timing`` header (the
    browser's developer tools and the latency benchmark read it)."""
    timing = f"compute;dur={float(answer.get('compute_ms') or 0.0):.3f}"
    return JSONResponse(answer, headers={"Server-Timing": timing})


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
    session = Workbench(Project(project_dir), lang)
    if lang is not None:  # the command line's --lang: the project's language from now on
        session.project.set_meta("lang", lang)
    recorded = session.project.network
    if recorded is not None and (session.project.inputs / recorded["file"]).is_file():
        # the page answers at once and follows the loading (``loading`` in the state)
        _load_in_background(session, session.project.inputs / recorded["file"],
                            uploaded=False)

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

    async def version(request: Request) -> Response:
        # what a page polls to learn that another tab changed the project
        p = session.project
        return JSONResponse({"version": p.version, "scenario": p.scenario_id})

    async def networks(request: Request) -> Response:
        files = session.project.cached_inputs(NETWORK_SUFFIXES)
        return JSONResponse({"cached": [{"name": p.name, "file": p.name,
                                         "size": p.stat().st_size} for p in files]})

    async def load_network(request: Request) -> Response:
        project = session.project
        if request.headers.get("content-type", "").startswith("multipart/"):
            form = await _form(request, limits["network"],
                               serve_text("what.network", lang_of()))
            given = _given(form.get("file"))
            stored = await _store_upload(project, form.get("file"))
            path = await run_in_threadpool(_same_file, stored,
                                           project.cached_inputs(NETWORK_SUFFIXES))
            uploaded = path == stored  # a new file, not one the project had already
        else:
            body = await _json(request)
            name = str(body.get("cached") or "")
            path = project.inputs / name
            if not name or "/" in name or "\\" in name or not path.is_file():
                raise ApiError(404, "no_cached", name=name)
            project.check_inside(path, project.inputs)
            given = path.name
            uploaded = False
        job = _load_in_background(session, path, uploaded=uploaded, given=given)
        return JSONResponse({"job": job})

    async def coverage(request: Request) -> Response:
        def work() -> Any:
            with session.lock:
                return features(session.require_live().coverage.pieces)
        return JSONResponse(await run_in_threadpool(work))

    async def gaps(request: Request) -> Response:
        def work() -> Any:
            from ._i18n import beyond_text

            g = session.gaps()
            lang = lang_of()

            def beyond(r: Any) -> Any:
                more = number(r.get("farthest_more_than_m"))
                return None if more is None else beyond_text(more, lang)

            return {"gaps": [{"gap_id": int(r["gap_id"]), "length_m": float(r["length_m"]),
                              "name": text_of(r.get("street")), "lon": number(r.get("point_lon")),
                              "lat": number(r.get("point_lat")),
                              "farthest_m": number(r.get("farthest_m")),
                              "farthest_more_than_m": number(r.get("farthest_more_than_m")),
                              "beyond": beyond(r)}
                             for _, r in g.iterrows()]}
        return JSONResponse(await run_in_threadpool(work))

    async def add_sheet(request: Request) -> Response:
        form = await _form(request, limits["sheet"], serve_text("what.sheet", lang_of()))
        given = _given(form.get("file"))
        path = await _store_upload(session.project, form.get("file"))
        return JSONResponse(await run_in_threadpool(read_sheet, session, path, given))

    async def post_confirm(request: Request) -> Response:
        sheet_id = _int(request.path_params["sheet_id"], "no_sheet")
        body = await _json(request)
        crs = body.get("crs")
        if crs not in CRS_CHOICES:
            raise ApiError(400, "bad_crs")
        duplicates = body.get("duplicates")
        if duplicates not in (None, "skip", "keep"):
            raise ApiError(400, "bad_json")
        return JSONResponse(await run_in_threadpool(confirm_sheet, session, sheet_id, crs,
                                                    _scenario(request), duplicates))

    async def add_station(request: Request) -> Response:
        body = await _json(request)
        lon, lat = _lonlat(body)
        name = text_of(body.get("name"))[:200]
        scenario = _scenario(request)

        def work() -> Any:
            with session.lock:
                session.expect(scenario)
                sid = session.project.new_station_id()
                st = Station(sid, name, lon, lat, "added")
                return session.edit("add", sid, None, st.as_dict(),
                                    lambda live: live.add(sid, lon, lat, name=name),
                                    scenario=scenario)
        return _update(await run_in_threadpool(work))

    async def move_station(request: Request) -> Response:
        sid = request.path_params["station_id"]
        body = await _json(request)
        lon, lat = _lonlat(body)
        scenario = _scenario(request)

        def work() -> Any:
            with session.lock:
                session.expect(scenario)
                stored = {s.station_id: s for s in session.project.stations()}
                if sid not in stored:
                    raise ApiError(404, "no_station", id=sid)
                old = stored[sid]
                return session.edit("move", sid, {"lon": old.lon, "lat": old.lat},
                                    {"lon": lon, "lat": lat},
                                    lambda live: live.move(sid, lon, lat), scenario=scenario)
        return _update(await run_in_threadpool(work))

    async def delete_station(request: Request) -> Response:
        sid = request.path_params["station_id"]
        scenario = _scenario(request)

        def work() -> Any:
            with session.lock:
                session.expect(scenario)
                stored = {s.station_id: s for s in session.project.stations()}
                if sid not in stored:
                    raise ApiError(404, "no_station", id=sid)
                return session.edit("delete", sid, stored[sid].as_dict(), None,
                                    lambda live: live.delete(sid), scenario=scenario)
        return _update(await run_in_threadpool(work))

    async def undo(request: Request) -> Response:
        return _update(await run_in_threadpool(session.step, True, _scenario(request)))

    async def redo(request: Request) -> Response:
        return _update(await run_in_threadpool(session.step, False, _scenario(request)))

    async def plan(request: Request) -> Response:
        body = await _json(request)
        k, target = body.get("k"), body.get("target_share")
        if k is not None:
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 200:
                raise ApiError(400, "bad_plan")
            params: dict[str, Any] = {"k": k}
        elif target is not None:
            t = number(target)
            if t is None or not 0 < t <= 1 or isinstance(target, bool):
                raise ApiError(400, "bad_plan")
            params = {"target_share": t}
        else:
            raise ApiError(400, "bad_plan")
        scenario = _scenario(request)

        def work() -> dict[str, Any]:
            with session.lock:  # one plan of a scenario at a time (a double click)
                current = session.expect(scenario)
                session.require_live()
                running = next((j for j in session.project.jobs_of("plan", current)
                                if j["state"] in ("queued", "running")), None)
                if running is not None:
                    return {"job": running["id"], "running": True}
                job_params = params | {"scenario": current}
                return {"job": start_job(session, "plan", job_params,
                                         lambda job, report: plan_job(session, job,
                                                                      job_params, report)),
                        "running": False}
        return JSONResponse(await run_in_threadpool(work))

    async def job(request: Request) -> Response:
        job_id = _int(request.path_params["job_id"], "no_job")
        try:
            j = session.project.job(job_id)
        except KeyError:
            raise ApiError(404, "no_job", id=job_id) from None
        return JSONResponse(job_json(session, j))

    async def latest(request: Request) -> Response:
        sc = _int(request.path_params["scenario_id"], "no_scenario")

        def work() -> Any:
            try:
                session.project.scenario(sc)
            except KeyError:
                raise ApiError(404, "no_scenario", id=sc) from None
            return {kind: latest_job(session, kind, sc) for kind in ("plan", "check")}
        return JSONResponse(await run_in_threadpool(work))

    async def accept(request: Request) -> Response:
        job_id = _int(request.path_params["job_id"], "no_job")
        rank = _int(request.path_params["rank"], "no_proposal")
        scenario = _scenario(request)

        def work() -> Any:
            with session.lock:
                project = session.project
                current, prop = session.proposal(scenario, job_id, rank)
                done = prop["station_id"]
                if prop["status"] == "accepted" and done in {
                        s.station_id for s in project.stations(current)}:
                    # accepted already (a double click): the same answer, nothing changes
                    session.require_live()
                    return session.update(None) | {"op": None, "station_id": done}
                if prop["status"] != "proposed":
                    raise ApiError(409, "proposal_done", rank=rank, state=prop["status"])
                sid = project.new_station_id("plan-")
                name = prop["name"] or f"#{rank}"
                st = Station(sid, name, prop["lon"], prop["lat"], "proposal")
                after = st.as_dict() | {"proposal": {"job": job_id, "rank": rank}}
                return session.edit(
                    "accept", sid, None, after,
                    lambda live: live.add(sid, st.lon, st.lat, name=name), scenario=scenario,
                    also=lambda db: project.set_proposal(db, job_id, rank, "accepted", sid))
        return _update(await run_in_threadpool(work))

    async def reject(request: Request) -> Response:
        job_id = _int(request.path_params["job_id"], "no_job")
        rank = _int(request.path_params["rank"], "no_proposal")
        project = session.project
        scenario = _scenario(request)

        def work() -> Any:
            with session.lock:
                _, prop = session.proposal(scenario, job_id, rank)
                if prop["status"] == "rejected":  # rejected already: nothing to do
                    return {"status": "rejected", "version": project.version}
                if prop["status"] != "proposed":
                    raise ApiError(409, "proposal_done", rank=rank, state=prop["status"])
                project.reject_proposal(job_id, rank)
                return {"status": "rejected", "version": project.version}
        return JSONResponse(await run_in_threadpool(work))

    async def check(request: Request) -> Response:
        form = await _form(request, limits["sheet"], serve_text("what.sheet", lang_of()))
        crs = form.get("crs") or None
        if crs is not None and crs not in CRS_CHOICES:
            raise ApiError(400, "bad_crs")
        scenario = _scenario(request)
        try:
            with session.lock:  # before the upload is stored: a stale page stores nothing
                session.expect(scenario)
                session.require_live()
        except ApiError:
            await form.close()
            raise
        given = _given(form.get("file"))
        path = await _store_upload(session.project, form.get("file"))
        with session.lock:
            current = session.expect(scenario)
            params = {"file": path.name, "crs": crs, "scenario": current}
            job = start_job(session, "check", params,
                            lambda job, report: check_job(session, path, crs, current,
                                                          report, given))
        return JSONResponse({"job": job})

    async def new_scenario(request: Request) -> Response:
        body = await _json(request)
        name = text_of(body.get("name")).strip()
        if not name or len(name) > 100:
            raise ApiError(400, "bad_name")
        source = body.get("from", session.project.scenario_id)
        source = _int(source, "no_scenario")

        def work() -> Any:
            with session.lock:
                # one scenario per name: the lists on the page tell them apart by it (and a
                # second click of 另存为 makes no twin)
                if any(s["name"] == name for s in session.project.scenarios()):
                    raise ApiError(409, "name_taken", name=name)
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

    async def get_compare(request: Request) -> Response:
        a = _int(request.query_params.get("a", ""), "no_scenario")
        b = _int(request.query_params.get("b", ""), "no_scenario")
        return JSONResponse(await run_in_threadpool(compare, session, a, b))

    async def set_lang(request: Request) -> Response:
        body = await _json(request)
        if body.get("lang") not in ("zh", "en"):
            raise ApiError(400, "bad_json")
        session.project.set_meta("lang", body["lang"])
        return JSONResponse({"lang": body["lang"]})

    async def get_download(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in DOWNLOADS:
            raise ApiError(404, "bad_download", name=name)
        path = await run_in_threadpool(download, session, name, _scenario(request))
        return FileResponse(path, filename=name,
                            content_disposition_type="attachment")

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/version", version),
        Route("/api/networks", networks),
        Route("/api/network", load_network, methods=["POST"]),
        Route("/api/coverage", coverage),
        Route("/api/gaps", gaps),
        Route("/api/sheets", add_sheet, methods=["POST"]),
        Route("/api/sheets/{sheet_id}/confirm", post_confirm, methods=["POST"]),
        Route("/api/stations", add_station, methods=["POST"]),
        Route("/api/stations/{station_id}", move_station, methods=["PATCH"]),
        Route("/api/stations/{station_id}", delete_station, methods=["DELETE"]),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/redo", redo, methods=["POST"]),
        Route("/api/plan", plan, methods=["POST"]),
        Route("/api/jobs/{job_id}", job),
        Route("/api/scenarios/{scenario_id}/latest", latest),
        Route("/api/proposals/{job_id}/{rank}/accept", accept, methods=["POST"]),
        Route("/api/proposals/{job_id}/{rank}/reject", reject, methods=["POST"]),
        Route("/api/check", check, methods=["POST"]),
        Route("/api/scenarios", new_scenario, methods=["POST"]),
        Route("/api/scenarios/{scenario_id}/open", open_scenario, methods=["POST"]),
        Route("/api/compare", get_compare),
        Route("/api/lang", set_lang, methods=["POST"]),
        Route("/api/download/{name}", get_download),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR) if STATIC_DIR.is_dir()
              else _no_files, name="static"),
        *(Mount(f"/assets/{key}", app=StaticFiles(directory=folder), name=key)
          for key, folder in asset_dirs().items()),
    ]

    async def api_error(request: Request, exc: Exception) -> Response:
        return _error_response(exc, lang_of(), request.url.path)

    handlers: dict[Any, Any] = {ApiError: api_error, StationplanError: api_error,
                                KeyError: api_error, HTTPException: api_error,
                                Exception: api_error}
    app = Starlette(routes=routes, exception_handlers=handlers,
                    middleware=[Middleware(_Guard, token=token, lang=lang_of)])
    app.state.session = session
    app.state.token = token
    return app


async def _no_files(scope: Scope, receive: Receive, send: Send) -> None:
    """The page's folder when it is not installed: every file is missing (404)."""
    raise HTTPException(404)


def _load_in_background(session: Workbench, path: Path, *, uploaded: bool,
                        given: str | None = None) -> int:
    """Load the network ``path`` in a job (``session.loading`` while it runs); return the
    job's id. An uploaded file that is no network is removed. ``given``: the file's name
    as the user gave it (an error names it)."""

    def work(job: int, report: Callable[[float, str], None]) -> Any:
        report(0.05, "")
        try:
            session.load_network(path)
        except StationplanError as exc:
            if uploaded:  # not a network: not offered again among the cached ones
                path.unlink(missing_ok=True)
            raise file_error(exc, path, given or path.name) from None
        finally:
            session.loading = None
        return {"network": session.state()["network"]}

    return start_job(session, "network", {"file": path.name}, work,
                     on_start=lambda job: setattr(session, "loading", job))


def _same_file(path: Path, cached: list[Path]) -> Path:
    """The file already in ``inputs/`` with the content of the upload ``path`` (the same
    sha256), which is then removed; else ``path``. A network uploaded again keeps its
    name and is stored once."""
    size = path.stat().st_size
    same_size = [p for p in cached if p != path and p.stat().st_size == size]
    if not same_size:
        return path
    digest = sha256_of(path)
    for p in same_size:
        if sha256_of(p) == digest:
            path.unlink(missing_ok=True)
            return p
    return path


def _error_response(exc: Exception, lang: str, path: str) -> JSONResponse:
    if isinstance(exc, ApiError):
        return JSONResponse({"error": error_message(exc, lang), "code": exc.code},
                            status_code=exc.status)
    if isinstance(exc, HTTPException):
        what = serve_text("not_found", lang, what=path[:200]) if exc.status_code == 404 \
            else " ".join(str(exc.detail).split())
        return JSONResponse({"error": what, "code": "http_" + str(exc.status_code)},
                            status_code=exc.status_code, headers=exc.headers)
    if isinstance(exc, KeyError):
        what = exc.args[0] if exc.args else ""
        return JSONResponse({"error": serve_text("no_station", lang, id=what),
                             "code": "no_station"}, status_code=404)
    if isinstance(exc, StationplanError):
        return JSONResponse({"error": error_message(exc, lang),
                             "code": type(exc).__name__}, status_code=400)
    log.debug("internal error", exc_info=exc)
    return JSONResponse({"error": error_message(exc, lang), "code": "internal"},
                        status_code=500)


class _Guard:
    """The access checks and the security headers around the application (ASGI).

    - With a token (bound beyond loopback): requests without the right one get 403; a
      page opened with ``?token=`` gets it as an HttpOnly, SameSite=Strict cookie.
    - Without (loopback): the ``Host`` must be a loopback name or an IP address, so that
      a web site that points its own name at 127.0.0.1 (DNS rebinding) gets nothing.
    - Requests that change something (POST, PATCH, DELETE) sent by a browser from
      another site (its ``Origin`` is not this server, or ``Sec-Fetch-Site: cross-site``)
      get 403: another tab's web page cannot upload to or edit the project.
    """

    def __init__(self, app: ASGIApp, token: str | None, lang: Callable[[], str]) -> None:
        self.app, self.token, self.lang = app, token, lang

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        set_cookie = False
        if self.token is not None:
            given = self._given(scope)
            if not any(hmac.compare_digest(g.encode(), self.token.encode()) for g in given):
                await self._refuse(send, "forbidden")
                return
            set_cookie = "token" in parse_qs(scope.get("query_string", b"").decode("latin-1"))
        elif not _local_host(host):
            await self._refuse(send, "bad_host", host=host[:100])
            return
        if scope.get("method", "GET") not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            site = headers.get("sec-fetch-site")
            if site == "cross-site" or (origin is not None and origin.lower() not in (
                    f"http://{host}".lower(), f"https://{host}".lower())):
                await self._refuse(send, "cross_site")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [h for h in message.get("headers", [])
                       if h[0].lower() not in {k for k, _ in _SECURITY_HEADERS}]
                out += list(_SECURITY_HEADERS)
                if set_cookie and self.token is not None:
                    out.append((b"set-cookie", (
                        f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; "
                        "Path=/").encode()))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, send: Send, code: str, **fields: Any) -> None:
        body = json.dumps({"error": serve_text(code, self.lang(), **fields), "code": code},
                          ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 403, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), *_SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})

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


def _local_host(host: str) -> bool:
    """Whether a ``Host`` header names this computer: an IP address (which no other site
    can take over), ``localhost``, or ``testserver`` (Starlette's test client).

    >>> [_local_host(h) for h in ("127.0.0.1:8765", "[::1]:80", "localhost", "evil.example")]
    [True, True, True, False]
    """
    name = host.strip().lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name in ("localhost", "testserver"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


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
    lon_f, lat_f = number(lon), number(lat)
    if lon_f is None or lat_f is None or not (-180 <= lon_f <= 180 and -90 <= lat_f <= 90):
        raise ApiError(400, "bad_lonlat")
    return lon_f, lat_f


def _given(upload: Any) -> str:
    """The name the user gave an uploaded file (its last part, cleaned), for messages."""
    return safe_name(getattr(upload, "filename", None) or "upload")


def _scenario(request: Request) -> int | None:
    """The scenario an edit was made in (``?scenario=ID``, which the page sends with every
    edit), or ``None`` (the current one, for scripts that do not say)."""
    value = request.query_params.get("scenario")
    if value is None or value == "":
        return None
    return _int(value, "no_scenario")


def _int(value: Any, code: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ApiError(404, code, id=value, rank=value) from None


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
    with server_lock(project_dir), _listen(host, port) as sock:
        app = create_app(project_dir, host=host, lang=lang, max_upload_bytes=max_upload_bytes)
        _run(app, project_dir, sock, host=host, port=port, open_browser=open_browser)


@contextlib.contextmanager
def _listen(host: str, port: int) -> Iterator[socket.socket]:
    """A socket listening on ``host``:``port``, made before anything else starts, so that
    an address in use is one clear error (not a server that says where it is and stops).

    >>> with _listen("127.0.0.1", 0) as s:
    ...     busy = s.getsockname()[1]
    ...     try:
    ...         with _listen("127.0.0.1", busy):
    ...             pass
    ...     except InputError as e:
    ...         print(str(e).split(";")[0].replace(str(busy), "PORT"))
    cannot listen on 127.0.0.1:PORT: the port is in use by another program
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            where = start_url(host, port, None)[len("http://"):-1]
            if exc.errno == errno.EADDRINUSE:
                msg = (f"cannot listen on {where}: the port is in use by another program; "
                       "choose another with --port")
                zh = f"无法在 {where} 上监听：该端口已被其他程序占用；请用 --port 换一个端口"
            else:
                msg = (f"cannot listen on {where}: {exc.strerror or exc}; check --host "
                       "and --port")
                zh = f"无法在 {where} 上监听：{exc.strerror or exc}；请检查 --host 和 --port"
            raise InputError(msg, zh=zh) from None
        sock.listen(128)
        sock.set_inheritable(True)
        yield sock
    finally:
        sock.close()


def _run(app: Starlette, project_dir: str | os.PathLike[str], sock: socket.socket, *,
         host: str, port: int, open_browser: bool) -> None:
    """Say where the page is, open it, and run uvicorn until interrupted."""
    import uvicorn

    url = start_url(host, port, app.state.token)
    log.info("stationplan serve: project %s at %s (Ctrl-C stops the server)",
             Path(project_dir).resolve(), url)
    if app.state.token is not None:
        log.info("stationplan serve: bound to %s, beyond this computer: every request needs "
                 "the token in the address above", host)
    if open_browser:
        import webbrowser

        # a browser cannot open the wildcard addresses (0.0.0.0, ::) on every system
        here = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        threading.Timer(1.0, webbrowser.open,
                        args=(start_url(here, port, app.state.token),)).start()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
