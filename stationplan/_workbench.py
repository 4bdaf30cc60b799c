"""The project a page works on: its network, its live coverage, its edits and its jobs.

:class:`Workbench` joins a :class:`~stationplan.project.Project` (the database) with the
street network and a :class:`~stationplan.live.LiveCoverage` kept current with the stored
stations. An edit is stored and applied to the coverage as one step, under one lock per
project; sheets, plans, checks, comparisons and downloads run the pipeline's own jobs on
the current stations. :mod:`stationplan.serve` puts HTTP in front of it; the shapes of
the answers (documented in docs/serve.md) are built here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import StationplanError
from ._i18n.cli import error_text, serve_text
from ._read.stations import DUPLICATE_POINT_M, EARTH_RADIUS_M
from .project import Edit, Project, Station

log = logging.getLogger(__name__)

__all__ = ["CRS_CHOICES", "DOWNLOADS", "ApiError", "Workbench", "station_frame",
           "write_stations_csv"]

CRS_CHOICES = ("gcj02", "wgs84", "bd09")
DOWNLOADS = ("amap.xlsx", "tables.xlsx", "report.html", "project.gpkg")
STATION_ATTRS = ("address", "phone", "hours", "services", "note")


class ApiError(Exception):
    """An error answered as ``{"error": message, "code": code}`` with ``status``."""

    def __init__(self, status: int, code: str, **fields: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.fields = status, code, fields


# --- the project's live state ------------------------------------------------------------

class Workbench:
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
        """The page's language: the project's stored choice, else the server's option,
        else Chinese for a network in China (and before a network), English elsewhere."""
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
    def load_network(self, path: Path) -> None:
        """Load ``path`` as ``stationplan coverage`` does and rebuild the coverage."""
        from .pipeline import coverage_network

        net = coverage_network(path)
        edges = net.edges.to_crs(4326)
        bounds = [float(v) for v in edges.total_bounds]
        # street segments as read (the log line's count; the planning area's boundary
        # cuts some in two for the computation)
        info = {"edges": int(net.stats.get("edges", len(net.edges))),
                "km": net.total_length_m / 1000,
                "demand_km": net.demand_length_m / 1000, "crs": str(net.crs),
                "bounds": bounds}
        digest = sha256_of(path)
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
        """The live coverage, or 409 while the network loads or before there is one."""
        if self.live is None:
            raise ApiError(409, "network_loading" if self.loading else "no_network")
        return self.live

    # edits ----------------------------------------------------------------------------
    def expect(self, scenario: int | None) -> int:
        """The current scenario, which must be ``scenario`` (the one the page that sent an
        edit shows) when it is given: another tab may have opened another one since, and
        the edit would land in a scenario its author does not see (409
        ``scenario_changed``). Call it holding :attr:`lock`."""
        current = self.project.scenario_id
        if scenario is not None and int(scenario) != current:
            try:
                mine = self.project.scenario(int(scenario))["name"]
            except KeyError:
                raise ApiError(404, "no_scenario", id=scenario) from None
            raise ApiError(409, "scenario_changed", mine=mine,
                           current=self.project.scenario(current)["name"])
        return current

    def proposal(self, scenario: int | None, job_id: int, rank: int) -> tuple[int, Any]:
        """The current scenario (see :meth:`expect`) and proposal ``rank`` of plan
        ``job_id``, which must be a plan of that scenario (404 ``no_proposal`` when there
        is none, 409 ``scenario_changed`` when it is another scenario's). Call it holding
        :attr:`lock`."""
        current = self.expect(scenario)
        try:
            prop = self.project.proposal(job_id, rank)
        except KeyError:
            raise ApiError(404, "no_proposal", id=job_id, rank=rank) from None
        owner = prop["scenario_id"]
        if owner is not None and int(owner) != current:  # a plan of another one
            self.expect(int(owner))
        return current, prop

    def edit(self, op: str, station_id: str | None, before: Any, after: Any,
             apply: Callable[[Any], Any], *, scenario: int | None = None,
             also: Callable[[Any], object] | None = None) -> dict[str, Any]:
        """Store an edit and apply it to the coverage, as one step: when the coverage
        refuses it, nothing is stored; the answer goes out after the commit. ``scenario``:
        the scenario the edit was made in (see :meth:`expect`)."""
        with self.lock:
            self.expect(scenario)
            live = self.require_live()
            try:
                with self.project.edit(op, station_id, before, after, also=also):
                    change = apply(live)
            except BaseException:
                self._resync()
                raise
            return self.update(change) | {"op": op, "station_id": station_id}

    def step(self, undo: bool, scenario: int | None = None) -> dict[str, Any]:
        """Undo or redo one edit of ``scenario`` (see :meth:`expect`); nothing to do: the
        state as it is."""
        with self.lock:
            self.expect(scenario)
            live = self.require_live()
            try:
                with (self.project.undo() if undo else self.project.redo()) as e:
                    change = None if e is None else self._apply(live, e)
            except BaseException:
                self._resync()
                raise
            # the step applied: an undone add is a "delete" of its station, and so on
            done = {"op": None if e is None else e.op,
                    "station_id": None if e is None else e.station_id}
            return self.update(change) | done

    def _apply(self, live: Any, e: Edit) -> Any:
        """Apply a stored edit (or its inverse) to the live coverage."""
        if e.op in ("add", "accept"):
            s = Station.from_dict(e.after)
            return live.add(s.station_id, s.lon, s.lat, name=s.name, attrs=_attrs(s),
                            at=self._row_for(live, s))
        if e.op == "delete":
            return live.delete(str(e.before["station_id"]))
        if e.op == "move":
            return live.move(str(e.station_id), float(e.after["lon"]), float(e.after["lat"]))
        # an import or its undo: the whole station set changes; one full computation
        return self._full_change()

    def _row_for(self, live: Any, s: Station) -> int | None:
        """Where a station put back (an undone delete) goes among the live ones: the
        stored order (``seq``), so that the coverage is that of a full run on the stored
        list (equally near stations serve in their order). ``None``: at the end."""
        if not s.seq:
            return None
        seq = {st.station_id: st.seq for st in self.project.stations()}
        ids = live.stations["station_id"].astype(str)
        return int(sum(1 for sid in ids if seq.get(sid, math.inf) < s.seq))

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
            out |= {"figures": figures_json(self.live.figures), "station": None, "edges": [],
                    "pieces": features(None), "compute_ms": 0.0}
            return out
        station = None
        if change.station is not None:
            sid = str(change.station["station_id"])
            stored = {s.station_id: s for s in p.stations()}
            if sid in stored:
                station = station_json(stored[sid], change.station, self.lang)
        out |= {"figures": figures_json(change.figures), "station": station,
                "edges": [int(e) for e in change.edges],
                "pieces": features(change.pieces),
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
                "stations": [station_json(s, rows.get(s.station_id), lang) for s in stored],
                "figures": None if self.live is None else figures_json(self.live.figures),
                "can_undo": p.can_undo(), "can_redo": p.can_redo(),
                # the sheets imported into this scenario: those its stations come from (an
                # undone import has none left; a sheet read but not confirmed neither)
                "sheets": [sheet_json(s) for s in p.sheets()
                           if s["id"] in {st.sheet_id for st in stored}],
                "style": style_json(self.live),
            }

    def gaps(self) -> Any:
        """The gap runs of the current coverage (cached until the next edit)."""
        from .gaps import find_gaps

        with self.lock:
            live = self.require_live()
            version = self.project.version
            if self._gaps is not None and self._gaps[0] == version:
                return self._gaps[1]
            coverage = live.coverage  # a snapshot: later edits build a new one
        # found outside the lock, so that edits made meanwhile do not wait for it
        gaps = find_gaps(coverage, lang=self.lang)
        with self.lock:
            if self.project.version == version:
                self._gaps = (version, gaps)
        return gaps


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
                        **{k: attrs.get(k) for k in STATION_ATTRS}})
    cols = ["station_id", "name", "status", "reason", *STATION_ATTRS]
    frame = pd.DataFrame(records, columns=cols)
    for c in cols:
        frame[c] = frame[c].astype(object)
    geom = [shapely.Point(s.lon, s.lat) for s in stations]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, crs=4326), crs=4326)


def _attrs(s: Station) -> dict[str, Any]:
    attrs = dict(s.attrs or {})
    return {k: attrs.get(k) for k in STATION_ATTRS}


def number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def station_json(s: Station, row: Any, lang: str) -> dict[str, Any]:
    from ._i18n import station_reason_text

    status = reason = None
    snap = snap_lon = snap_lat = None
    if row is not None:
        status = str(row["status"])
        reason = station_reason_text(row.get("reason"), lang) or None
        snap, snap_lon, snap_lat = (number(row.get(c)) for c in
                                    ("snap_dist_m", "snap_lon", "snap_lat"))
    return {"station_id": s.station_id, "name": s.name, "lon": s.lon, "lat": s.lat,
            "status": status, "reason": reason, "snap_dist_m": snap,
            "snap_lon": snap_lon, "snap_lat": snap_lat, "source": s.source,
            "attrs": dict(s.attrs or {})}


def figures_json(f: Any) -> dict[str, Any]:
    return dataclasses.asdict(f)


def sheet_json(s: Mapping[str, Any]) -> dict[str, Any]:
    rows = s["rows"]
    far = sum(1 for r in s["rejected"] if r.get("far"))  # read, imported, too far to serve
    file = s["read_report"].get("given") or s["file"]  # as the user named it
    return {"id": s["id"], "file": file, "crs": s["crs"], "crs_from": s["crs_from"],
            "rows": len(rows), "ok": sum(1 for r in rows if r.get("status") == "ok") - far,
            "rejected": len(s["rejected"]), "confirmed": s["confirmed"]}


def style_json(live: Any) -> dict[str, Any]:
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


def features(pieces: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """Pieces as a GeoJSON FeatureCollection in WGS-84 (6 decimals), properties
    ``edge_id``, ``status``, ``dist_m``, ``station_id``, ``length_m``."""
    if pieces is None or len(pieces) == 0:
        return {"type": "FeatureCollection", "features": []}
    geoms = pieces.geometry.to_crs(4326).to_numpy()
    kinds = shapely.get_type_id(geoms)
    lines = (kinds == 1) & ~shapely.is_empty(geoms)
    # LineStrings (every piece the engine makes) in one pass; anything else one by one
    coords, owner = shapely.get_coordinates(geoms[lines], return_index=True)
    cuts = np.flatnonzero(np.diff(owner)) + 1
    line_coords = iter(np.split(np.round(coords, 6), cuts) if len(coords) else [])
    edge = pieces["edge_id"].to_numpy().tolist()
    status = pieces["status"].astype(str).to_numpy().tolist()
    dist = [number(v) for v in pieces["dist_m"].to_numpy().tolist()]
    sid = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
           for v in pieces["station_id"].to_numpy().tolist()]
    length = pieces["length_m"].astype(float).to_numpy().tolist()
    feats = []
    for i, g in enumerate(geoms):
        if lines[i]:
            geometry = {"type": "LineString", "coordinates": next(line_coords).tolist()}
        elif g is None or g.is_empty:
            continue
        else:
            kind, c = _coords(g)
            geometry = {"type": kind, "coordinates": c}
        feats.append({"type": "Feature", "geometry": geometry,
                      "properties": {"edge_id": int(edge[i]), "status": status[i],
                                     "dist_m": dist[i], "station_id": sid[i],
                                     "length_m": length[i]}})
    return {"type": "FeatureCollection", "features": feats}


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _rows_json(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """A read station table as JSON rows (lon/lat WGS-84; ``None`` without a location)."""
    out = []
    for _, r in frame.iterrows():
        lon, lat = point_of(r.geometry)
        d = {"station_id": str(r["station_id"]), "name": text_of(r.get("name")),
             "row": int(r["row"]) if number(r.get("row")) is not None else None,
             "status": str(r["status"]), "reason": text_of(r.get("reason")) or None,
             "lon": lon, "lat": lat}
        d |= {k: text_of(r.get(k)) for k in STATION_ATTRS}
        out.append(d)
    return out


def point_of(g: Any) -> tuple[float | None, float | None]:
    """The x and y of a point geometry, or ``(None, None)`` without one.

    >>> point_of(shapely.Point(1.5, 2)), point_of(None), point_of(shapely.Point())
    ((1.5, 2.0), (None, None), (None, None))
    """
    if g is None or g.is_empty:
        return None, None
    x, y = shapely.get_coordinates(g)[0]
    return float(x), float(y)


def text_of(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


_FILE_ERRORS = (("unsupported station file type '.xls'", "old_xls"),
                ("unsupported station file type", "not_a_sheet"),
                ("unknown network file type", "not_a_network"),
                ("no longitude/latitude columns", "no_lonlat"),
                ("the file is empty, no station rows", "empty_sheet"))


def file_error(exc: StationplanError, path: Path, given: str) -> ApiError:
    """A reader's error about an uploaded file as the page says it: the name the user
    gave (never the server's path), and what to do on the page, not the command line's
    options. Errors without a page wording keep their text, the path replaced by the
    name and the parts that name options or Python arguments left out."""
    text = " ".join(str(exc).split())
    for found, code in _FILE_ERRORS:
        if found in text:
            return ApiError(400, code, file=given)
    if isinstance(exc, ApiError):
        return exc
    for full in sorted({str(path), str(path.resolve()), path.name}, key=len, reverse=True):
        text = text.replace(full, given)
        if exc.zh:
            exc.zh = exc.zh.replace(full, given)

    def plain(message: str) -> str:
        parts = [p for p in message.replace("；", ";").split(";")
                 if not any(w in p for w in ("--", "='", "_col", "crs=", "sheet="))]
        return "; ".join(p.strip() for p in parts if p.strip()).removeprefix(given + ": ")

    return ApiError(400, "unreadable", file=given, msg=plain(text), msg_zh=plain(
        " ".join(exc.zh.split())) if exc.zh else None)


def error_message(exc: BaseException, lang: str) -> str:
    if isinstance(exc, ApiError):
        fields = dict(exc.fields)
        zh = fields.pop("msg_zh", None)
        if zh and lang == "zh":
            fields["msg"] = zh
        elif lang == "zh" and "msg" in fields:
            fields["msg"] = error_text(fields["msg"], lang)
        return serve_text(exc.code, lang, **fields)
    if isinstance(exc, StationplanError):
        if lang == "zh" and exc.zh:
            return " ".join(exc.zh.split())
        return error_text(" ".join(str(exc).split()), lang)
    return serve_text("internal", lang, msg=" ".join(str(exc).split()) or type(exc).__name__)


@contextlib.contextmanager
def stations_csv(stations: list[Station]) -> Any:
    """The stations as a WGS-84 CSV the command line reads, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="stationplan-") as tmp:
        path = Path(tmp) / "stations.csv"
        write_stations_csv(stations, path)
        yield path


# the sheet's own columns a station keeps (``Station.attrs``), under headers the reader
# takes back as the same fields: a report on the page's stations audits their services
CSV_ATTRS = ("address", "phone", "hours", "services")


def write_stations_csv(stations: list[Station], path: str | os.PathLike[str]) -> Path:
    """Write stations as a CSV ``stationplan coverage FILE STATIONS --crs wgs84`` reads:
    ``station_id``, ``name``, ``lon``, ``lat`` (full float precision), and the address,
    phone, opening hours and services the sheet gave (services as their keys, ``;``
    between them, which the reader parses back to the same keys).

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
        w.writerow(["station_id", "name", "lon", "lat", *CSV_ATTRS])
        for s in stations:
            attrs = dict(s.attrs or {})
            w.writerow([s.station_id, s.name, repr(float(s.lon)), repr(float(s.lat)),
                        *(text_of(attrs.get(k)) for k in CSV_ATTRS)])
    return path


# --- sheets, plans, checks, comparisons, downloads ------------------------------------------------

def read_sheet(session: Workbench, path: Path, given: str | None = None) -> dict[str, Any]:
    """Read a sheet without importing it; run the coordinate-system detector. ``given``:
    the file's name as the user gave it (messages name it)."""
    from .stations import check_offset, read_stations

    try:
        frame = read_stations(path)
    except StationplanError as exc:
        path.unlink(missing_ok=True)
        raise file_error(exc, path, given or path.name) from None
    report = dict(frame.attrs.get("read_report") or {})
    report["given"] = given or path.name  # the name the user gave (the stored one may differ)
    rows = _rows_json(frame)
    rejected = [_rejected(r, session.lang) for r in rows if r["status"] != "ok"]
    crs = str(report.get("crs") or "wgs84")
    suggest = crs if crs in CRS_CHOICES else "wgs84"
    detector: dict[str, Any] = {"fired": False, "message": None}
    if session.network is not None:
        found = check_offset(session.network, frame)
        if found.suspected:
            detector = {"fired": True, "message": offset_text(found, session.lang),
                        "alternative": found.alternative}
            if found.alternative in CRS_CHOICES:
                suggest = found.alternative
    sheet_id = session.project.add_sheet(path.name, crs, report.get("crs_from"), report,
                                         rows, rejected)
    return {"sheet_id": sheet_id, "file": report["given"], "rows": len(rows),
            "ok": sum(1 for r in rows if r["status"] == "ok"),
            "crs_read": crs, "crs_from": report.get("crs_from"), "suggest": suggest,
            "detector": detector, "rejected": rejected}


CRS_NAMES = {"gcj02": "GCJ-02", "wgs84": "WGS-84", "bd09": "BD-09"}


def offset_text(found: Any, lang: str, *, imported: bool = False) -> str:
    """The coordinate-system detector's finding (:func:`~stationplan.check_offset`) as the
    page says it: what was found, in the command line's words, and the choice to make in
    the dialog (not the command line's ``--crs``)."""
    from ._i18n import text

    message = found.message_zh if lang == "zh" else found.message
    finding = message.split("：" if lang == "zh" else ": ", 1)[0]
    if lang == "zh":  # no space between a closing bracket and the next Chinese word
        finding = finding.replace("） ", "）")
    fix = found.alternative if found.alternative in CRS_CHOICES else "gcj02"
    return serve_text("crs_offset_undo" if imported else "crs_offset_page", lang,
                      finding=finding, fix=CRS_NAMES[fix],
                      fix_name=text(f"warning.crs.{fix}", lang))


# a sheet row this near a station of the same name repeats it (the reader's "same place")
SAME_PLACE_M = DUPLICATE_POINT_M


def _already_there(row: Mapping[str, Any], stations: list[Station]) -> bool:
    """Whether a sheet row repeats a station: the same name (spaces aside), within
    :data:`SAME_PLACE_M` metres (haversine on WGS-84).

    >>> st = [Station("1", "东门 驿站", 117.2, 28.3)]
    >>> _already_there({"name": "东门驿站", "lon": 117.20003, "lat": 28.3}, st)
    True
    >>> _already_there({"name": "东门驿站", "lon": 117.2001, "lat": 28.3}, st)  # 9.8 m
    False
    """
    name = "".join(str(row.get("name") or "").split())
    lon, lat = float(row["lon"]), float(row["lat"])
    for s in stations:
        if "".join(s.name.split()) != name:
            continue
        p1, p2 = math.radians(lat), math.radians(s.lat)
        h = (math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2)
             * math.sin(math.radians(s.lon - lon) / 2) ** 2)
        if 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)) <= SAME_PLACE_M:
            return True
    return False


def _rejected(r: Mapping[str, Any], lang: str) -> dict[str, Any]:
    from ._i18n import station_reason_text

    return {"row": r.get("row"), "station_id": r.get("station_id"), "name": r.get("name"),
            "reason": station_reason_text(r.get("reason"), lang)}


def confirm_sheet(session: Workbench, sheet_id: int, crs: str,
                  scenario: int | None = None, duplicates: str | None = None
                  ) -> dict[str, Any]:
    """Import a sheet's usable rows, read in ``crs``, into the current scenario (which
    must be ``scenario`` when given) as one edit.

    Rows that repeat a station of the scenario (the same name, within
    :data:`SAME_PLACE_M`) are refused (409 ``duplicate_stations``) unless ``duplicates``
    says what to do with them: ``"skip"`` them or ``"keep"`` them (import all)."""
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
    # the command line's two warnings: an answer against the sheet's own words, and
    # stations that sit off the streets as if read in the wrong system
    warnings = []
    if (sheet["crs_from"] in ("note", "header", "file") and sheet["crs"] in CRS_NAMES
            and sheet["crs"] != crs):
        warnings.append(serve_text("crs_against_note", lang, declared=CRS_NAMES[sheet["crs"]],
                                   chosen=CRS_NAMES[crs]))
    if session.network is not None:
        from .stations import check_offset

        found = check_offset(session.network, frame)
        if found.suspected:
            warnings.append(offset_text(found, lang, imported=True))
    with session.lock:
        session.expect(scenario)
        session.require_live()
        if project.sheet(sheet_id)["confirmed"]:  # another tab was first
            raise ApiError(409, "sheet_done", id=sheet_id)
        existing = project.stations()
        taken = {s.station_id for s in existing}
        usable = [r for r in rows if r["status"] == "ok" and r["lon"] is not None]
        same = [r for r in usable if _already_there(r, existing)]
        if same and duplicates not in ("skip", "keep"):
            raise ApiError(409, "duplicate_stations", n=len(same), rows=len(usable),
                           m=f"{SAME_PLACE_M:g}")
        if duplicates == "skip":
            usable = [r for r in usable if r not in same]
        new: list[dict[str, Any]] = []
        row_of: dict[str, Any] = {}  # station id -> its row in the sheet
        for r in usable:
            sid = r["station_id"]
            if sid in taken:
                sid = f"{sheet_id}-{sid}"
            taken.add(sid)
            row_of[sid] = r.get("row")
            attrs = {k: r[k] for k in STATION_ATTRS if r.get(k)}
            new.append(Station(sid, r["name"], r["lon"], r["lat"], "sheet", sheet_id,
                               attrs).as_dict())
        rejected = [_rejected(r, lang) for r in rows if r["status"] != "ok"]

        def also(db: Any) -> None:
            project.confirm_sheet(db, sheet_id, crs, rows, rejected)

        session.edit("import", None, None, new, lambda live: session._full_change(),
                     scenario=scenario, also=also)
        snapped = session.live.stations
        ids = {d["station_id"] for d in new}
        far = snapped[snapped["station_id"].astype(str).isin(ids)
                      & (snapped["status"] != "ok")]
        from ._i18n import station_reason_text

        by_id = {d["station_id"]: d for d in new}
        for _, r in far.iterrows():
            sid = str(r["station_id"])
            rejected.append({"row": row_of.get(sid), "station_id": sid,
                             "name": by_id[sid]["name"],
                             "reason": station_reason_text(r.get("reason"), lang),
                             "far": True})
        if len(far):  # the sheet's line counts them among the rows not used
            project.set_sheet_rejected(sheet_id, rejected)
        return {"state": session.state(), "rejected": rejected, "warnings": warnings}


def compare(session: Workbench, a: int, b: int) -> dict[str, Any]:
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
        added = [{"station_id": sid, "name": s.name} for sid, s in mine.items()
                 if sid not in theirs or (theirs[sid].lon, theirs[sid].lat) != (s.lon, s.lat)]
        removed = [{"station_id": sid, "name": s.name} for sid, s in theirs.items()
                   if sid not in mine]
        f = figures[sc]
        out[key] = {"id": sc, "name": meta["name"], "share": f.share,
                    "covered_km": f.covered_m / 1000, "gap_km": f.gap_m / 1000,
                    "demand_km": f.demand_m / 1000, "stations": len(st),
                    "stations_ok": f.stations_ok, "added": added, "removed": removed}
    return out


def download(session: Workbench, name: str, scenario: int | None = None) -> Path:
    """Write the download ``name`` atomically into ``downloads/``; return its path.
    ``scenario``: the one the page asking shows (see :meth:`Workbench.expect`): a tab
    that shows another one than the current gets no file of a scenario it does not see."""
    project = session.project
    with session.lock:
        session.expect(scenario)
        live = session.require_live()
        stations = project.stations()
        cov = live.coverage
        snapped = live.stations.copy()
        figures = live.figures
        network_path = session.network_path
    lang = session.lang
    target = project.downloads / name
    tmp = target.with_name(f".{target.stem}.{secrets.token_hex(6)}{target.suffix}")
    try:
        if name == "amap.xlsx":
            from .export import write_amap_sheet

            write_amap_sheet(_markers(project, stations, snapped, lang), tmp)
        elif name == "tables.xlsx":
            _write_tables(session, tmp, _markers(project, stations, snapped, lang),
                          figures, lang)
        elif name == "report.html":
            from .pipeline import run_report

            with (stations_csv(stations) as csv_path,
                  tempfile.TemporaryDirectory(prefix="stationplan-report-") as out):
                from ._options import MapOptions, StationOptions

                run = run_report(network_path, csv_path, out=Path(out) / "report",
                                 station_options=StationOptions(crs="wgs84"),
                                 map_options=MapOptions(lang=lang))
                # the download is the one page: its maps are embedded, and it links none
                # of the run's other files (coverage_map.html, summary.json, ...), which
                # do not come with it
                from .outputs import write_report_outputs

                images = {k: v for k, v in run.paths.items()
                          if k in ("coverage_map.png", "coverage_curve.png")}
                alone = write_report_outputs(Path(out) / "alone", run.coverage, run.gaps,
                                             run.summary, images, lang=lang)
                shutil.copyfile(alone["report.html"], tmp)
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


def _write_tables(session: Workbench, path: Path, markers: gpd.GeoDataFrame,
                  figures: Any, lang: str) -> None:
    """The sheets stations (:func:`stationplan.export.write_xlsx`'s table), gaps (the
    command line's ``gaps.xlsx``) and figures, in the page's language, with WGS-84 and
    GCJ-02 coordinates (text never a formula)."""
    from ._io import xlsx_bytes
    from .export import xlsx_table
    from .outputs import gap_table

    st_rows, formats = xlsx_table(markers, lang=lang)
    _, gap_rows = gap_table(session.gaps(), lang=lang)
    fig_rows: list[list[Any]] = [[serve_text("tables.what", lang),
                                  serve_text("tables.value", lang)]]
    fig_rows += [[serve_text(f"fig.{k}", lang), v]
                 for k, v in dataclasses.asdict(figures).items()]
    path.write_bytes(xlsx_bytes([(serve_text("tables.stations", lang), st_rows),
                                 (serve_text("tables.gaps", lang), gap_rows),
                                 (serve_text("tables.figures", lang), fig_rows)],
                                number_formats=formats))


def _markers(project: Project, stations: list[Station], snapped: gpd.GeoDataFrame,
             lang: str) -> gpd.GeoDataFrame:
    """The stations as the exports take them (:func:`~stationplan.station_markers`):
    those added on the map and accepted proposals are planned sites (拟建), a proposal
    with its rank in its plan; a station too far from every street is not used."""
    from ._i18n import station_reason_text
    from .stations import station_markers

    frame = station_frame(stations)
    status = dict(zip(snapped["station_id"].astype(str), snapped["status"], strict=True))
    reason = dict(zip(snapped["station_id"].astype(str), snapped["reason"], strict=True))
    frame["status"] = [str(status.get(s.station_id, "ok")) for s in stations]
    frame["reason"] = [station_reason_text(reason.get(s.station_id), lang) or None
                       for s in stations]
    frame["kind"] = ["proposed" if s.source in ("added", "proposal") else "existing"
                     for s in stations]
    frame["rank"] = [project.accepted_rank(s.station_id) if s.source == "proposal" else None
                     for s in stations]
    return station_markers(frame, lang=lang)
