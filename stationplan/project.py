"""A planner's project: a folder with a SQLite database of everything the page did.

``stationplan serve`` keeps each project in one folder::

    PROJECT_DIR/
      project.sqlite   # the database: WAL, every write one transaction (BEGIN IMMEDIATE)
      inputs/          # uploaded files as given, under safe names
      downloads/       # generated files, each written atomically

The database holds the network file (its name in ``inputs/`` and its SHA-256), the
station sheets as read (rows, chosen coordinate system, rejected rows and why), the
scenarios, the stations of each scenario (WGS-84 lon/lat, in order), the edit log with
undo and redo, the background jobs and the sites they proposed. Every change is one
transaction, so a crash leaves the last committed state; the server rebuilds its
coverage from it on start.

:class:`Project` is the one door to the database; it knows nothing of networks or
coverage. :func:`safe_name` keeps uploaded files inside ``inputs/``.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
import sqlite3
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import InputError

__all__ = ["DB_NAME", "SCHEMA_VERSION", "Edit", "Project", "Station", "safe_name",
           "server_lock"]

DB_NAME = "project.sqlite"
SCHEMA_VERSION = 1
_MAX_NAME = 120  # characters of a stored file name (stem shortened, suffix kept)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sheets (
    id INTEGER PRIMARY KEY, file TEXT NOT NULL, crs TEXT, crs_from TEXT,
    read_report_json TEXT, rows_json TEXT, rejected_json TEXT, confirmed INTEGER DEFAULT 0,
    at TEXT);
CREATE TABLE IF NOT EXISTS scenarios (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER, created TEXT);
CREATE TABLE IF NOT EXISTS stations (
    scenario_id INTEGER NOT NULL, station_id TEXT NOT NULL, name TEXT, lon REAL NOT NULL,
    lat REAL NOT NULL, source TEXT NOT NULL, sheet_id INTEGER, attrs_json TEXT,
    seq INTEGER NOT NULL, PRIMARY KEY (scenario_id, station_id));
CREATE TABLE IF NOT EXISTS edits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, scenario_id INTEGER NOT NULL, op TEXT NOT NULL,
    station_id TEXT, before_json TEXT, after_json TEXT, undone INTEGER NOT NULL DEFAULT 0,
    at TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, params_json TEXT, state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, message TEXT, result_json TEXT, at TEXT);
CREATE TABLE IF NOT EXISTS proposals (
    job_id INTEGER NOT NULL, rank INTEGER NOT NULL, scenario_id INTEGER, lon REAL, lat REAL,
    gain_m REAL, name TEXT, status TEXT NOT NULL DEFAULT 'proposed', station_id TEXT,
    PRIMARY KEY (job_id, rank));
"""

OPS = ("import", "add", "move", "delete", "accept")


@dataclass(frozen=True)
class Station:
    """One station of a scenario as stored (WGS-84 degrees).

    Parameters
    ----------
    station_id, name
        The station's id (unique in its scenario) and name.
    lon, lat
        WGS-84 longitude and latitude.
    source
        "sheet", "added" or "proposal".
    sheet_id
        The sheet it came from, or ``None``.
    attrs
        Other fields of the sheet row (address, phone, hours, services, ...).
    seq
        Its place in the scenario's order.
    """

    station_id: str
    name: str
    lon: float
    lat: float
    source: str = "added"
    sheet_id: int | None = None
    attrs: Mapping[str, Any] | None = None
    seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The station as a JSON-ready dict (the form stored in the edit log)."""
        return {"station_id": self.station_id, "name": self.name, "lon": self.lon,
                "lat": self.lat, "source": self.source, "sheet_id": self.sheet_id,
                "attrs": dict(self.attrs or {}), "seq": self.seq}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Station:
        """The station of :meth:`as_dict`."""
        return cls(str(d["station_id"]), str(d.get("name") or ""), float(d["lon"]),
                   float(d["lat"]), str(d.get("source") or "added"), d.get("sheet_id"),
                   dict(d.get("attrs") or {}), int(d.get("seq") or 0))


@dataclass(frozen=True)
class Edit:
    """One step of the edit log, and how to apply it to a station set.

    ``op`` is "import" (``after``: the stations added), "add"/"accept" (``after``: the
    station), "move" (``before``/``after``: ``{"lon", "lat"}``) or "delete" (``before``:
    the station). :meth:`inverse` is the edit that undoes it.
    """

    seq: int
    scenario_id: int
    op: str
    station_id: str | None
    before: Any
    after: Any

    def inverse(self) -> Edit:
        """The edit that undoes this one (an accept is undone by a delete).

        >>> e = Edit(1, 1, "move", "a", {"lon": 1, "lat": 2}, {"lon": 3, "lat": 4})
        >>> e.inverse().after
        {'lon': 1, 'lat': 2}
        >>> Edit(2, 1, "add", "b", None, {"station_id": "b"}).inverse().op
        'delete'
        """
        flip = {"add": "delete", "accept": "delete", "delete": "add", "move": "move",
                "import": "unimport"}[self.op]
        return Edit(self.seq, self.scenario_id, flip, self.station_id, self.after, self.before)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


def safe_name(name: str, *, default: str = "upload") -> str:
    """A file name from an upload's name that stays inside the folder it is stored in.

    Keeps only the last path part (``/`` and ``\\`` both separate parts), drops a drive
    letter, control characters (NUL included) and characters Windows forbids, and leading
    dots and spaces (so no ``..`` and no hidden files); an empty result is ``default``.

    Parameters
    ----------
    name
        The name the browser sent.
    default
        The name used when nothing usable is left.

    Returns
    -------
    str
        A plain file name (no separators), at most 120 characters.

    Examples
    --------
    >>> safe_name("../x.xlsx"), safe_name("/etc/passwd"), safe_name("C:\\\\x")
    ('x.xlsx', 'passwd', 'x')
    >>> safe_name("..\\\\..\\\\驿站.xlsx"), safe_name(".."), safe_name("a\\x00b.csv")
    ('驿站.xlsx', 'upload', 'ab.csv')
    """
    text = unicodedata.normalize("NFC", str(name))
    text = text.replace("\x00", "")
    text = re.split(r"[/\\]", text)[-1]
    text = _DRIVE.sub("", text)
    text = _UNSAFE.sub("", text).strip().lstrip(". ").rstrip(". ")
    if not text or text in (".", ".."):
        text = default
    if len(text) > _MAX_NAME:
        stem, dot, suffix = text.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            text = stem[: _MAX_NAME - len(suffix) - 1] + "." + suffix
        else:
            text = text[:_MAX_NAME]
    return text


@contextlib.contextmanager
def server_lock(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the project folder for one server while the block runs.

    Two servers on one folder would each keep their own coverage of the same database;
    the second is refused. The lock is the operating system's on ``.serve.lock`` in the
    folder, so a server that was killed leaves nothing behind to clean up.

    Raises
    ------
    InputError
        Another process holds the folder (its pid is named when it can be read).
    """
    path = Path(folder) / ".serve.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+", encoding="utf-8")
    try:
        try:
            _lock(fh.fileno())
        except OSError:
            with contextlib.suppress(OSError):
                fh.seek(0)
                who = fh.read().strip()
            who = f" ({who})" if who else ""
            msg = (f"{Path(folder)}: another stationplan serve runs on this project{who}; "
                   "open its address, or stop it first")
            zh = (f"{Path(folder)}：已有另一个 stationplan serve 在使用此项目{who}；"
                  "请打开它的地址，或先停止它")
            raise InputError(msg, zh=zh) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fh.close()


def _lock(fd: int) -> None:
    """Lock an open file for this process, without waiting (OSError when taken)."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class Project:
    """A project folder and its database.

    Opening creates the folder, ``inputs/``, ``downloads/`` and the database when they
    are missing, and a first scenario. One connection is shared by the threads of a
    server, one call at a time (a lock); every write is one ``BEGIN IMMEDIATE``
    transaction, so other processes on the same file wait rather than interleave.

    Parameters
    ----------
    folder
        The project folder.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).resolve()
        self.inputs = self.folder / "inputs"
        self.downloads = self.folder / "downloads"
        for d in (self.folder, self.inputs, self.downloads):
            d.mkdir(parents=True, exist_ok=True)
        self.db_path = self.folder / DB_NAME
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.db_path, isolation_level=None,
                                   check_same_thread=False, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an acknowledged edit survives a crash
        self._db.execute("PRAGMA foreign_keys=ON")
        with self.transaction() as db:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            if self._get(db, "schema_version") is None:
                self._set(db, "schema_version", SCHEMA_VERSION)
                self._set(db, "version", 0)
            if db.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0] == 0:
                cur = db.execute("INSERT INTO scenarios (name, parent_id, created) "
                                 "VALUES (?, NULL, ?)", ("现状", _now()))
                self._set(db, "scenario", cur.lastrowid)
            # a job still running when the server stopped will never finish
            db.execute("UPDATE jobs SET state='failed', message='interrupted' "
                       "WHERE state IN ('queued', 'running')")

    # -- transactions -----------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends,
        rolled back (leaving no trace) when it raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the database (the folder stays)."""
        with self._lock:
            self._db.close()

    # -- meta -------------------------------------------------------------------------
    @staticmethod
    def _get(db: sqlite3.Connection, key: str) -> Any:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    @staticmethod
    def _set(db: sqlite3.Connection, key: str, value: Any) -> None:
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                   "DO UPDATE SET value=excluded.value", (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        """The stored value of ``key`` (JSON), or ``default``."""
        with self._lock:
            value = self._get(self._db, key)
        return default if value is None else value

    def set_meta(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-ready) under ``key`` in its own transaction."""
        with self.transaction() as db:
            self._set(db, key, value)
            self._bump(db)

    def _bump(self, db: sqlite3.Connection) -> int:
        version = int(self._get(db, "version") or 0) + 1
        self._set(db, "version", version)
        return version

    @property
    def version(self) -> int:
        """A number raised by every write: a page that saw another one reloads the state."""
        return int(self.meta("version", 0))

    # -- network ----------------------------------------------------------------------
    def set_network(self, file: str, sha256: str, info: Mapping[str, Any]) -> None:
        """Record the network file (a name in ``inputs/``), its SHA-256 and its summary."""
        with self.transaction() as db:
            self._set(db, "network", {"file": file, "sha256": sha256, **info})
            self._bump(db)

    @property
    def network(self) -> dict[str, Any] | None:
        """The recorded network (``file``, ``sha256`` and its summary), or ``None``."""
        value = self.meta("network")
        return dict(value) if value else None

    # -- uploads ----------------------------------------------------------------------
    def input_path(self, name: str) -> Path:
        """A new path in ``inputs/`` for an upload called ``name`` (sanitised; a name in
        use gets ``-2``, ``-3``, ... before its suffix).

        The result is checked to lie inside ``inputs/``.
        """
        clean = safe_name(name)
        stem, dot, suffix = clean.partition(".")
        path = self.inputs / clean
        n = 1
        while path.exists():
            n += 1
            path = self.inputs / f"{stem}-{n}{dot}{suffix}"
        self.check_inside(path, self.inputs)
        return path

    @staticmethod
    def check_inside(path: Path, folder: Path) -> Path:
        """``path`` resolved, or an :class:`InputError` when it lies outside ``folder``."""
        resolved = path.resolve()
        if not resolved.is_relative_to(folder.resolve()):
            msg = f"{path.name!r} is not a file name of this project"
            raise InputError(msg)
        return resolved

    def cached_inputs(self, suffixes: Sequence[str]) -> list[Path]:
        """Files in ``inputs/`` whose names end with one of ``suffixes``, by name."""
        return sorted(p for p in self.inputs.iterdir()
                      if p.is_file() and p.name.lower().endswith(tuple(suffixes)))

    # -- sheets -----------------------------------------------------------------------
    def add_sheet(self, file: str, crs: str | None, crs_from: str | None,
                  read_report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                  rejected: Sequence[Mapping[str, Any]]) -> int:
        """Store a sheet as read (not yet imported); return its id."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO sheets (file, crs, crs_from, read_report_json, rows_json, "
                "rejected_json, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (file, crs, crs_from, _dump(read_report), _dump(rows), _dump(rejected), _now()))
            self._bump(db)
            return int(cur.lastrowid or 0)

    def sheet(self, sheet_id: int) -> dict[str, Any]:
        """A stored sheet: ``id``, ``file``, ``crs``, ``crs_from``, ``read_report``,
        ``rows``, ``rejected``, ``confirmed``; :class:`KeyError` when there is none."""
        rows = self._read("SELECT * FROM sheets WHERE id=?", (int(sheet_id),))
        if not rows:
            raise KeyError(sheet_id)
        return _sheet(rows[0])

    @staticmethod
    def confirm_sheet(db: sqlite3.Connection, sheet_id: int, crs: str,
                      rows: Sequence[Mapping[str, Any]],
                      rejected: Sequence[Mapping[str, Any]]) -> None:
        """Inside an open transaction ``db``: the sheet as imported in ``crs``."""
        db.execute("UPDATE sheets SET crs=?, crs_from='user', rows_json=?, rejected_json=?, "
                   "confirmed=1 WHERE id=?", (crs, _dump(rows), _dump(rejected), int(sheet_id)))

    def set_sheet_rejected(self, sheet_id: int, rejected: Sequence[Mapping[str, Any]]) -> None:
        """Replace the rows of an imported sheet that were not used (with those found too
        far from every street once imported)."""
        with self.transaction() as db:
            db.execute("UPDATE sheets SET rejected_json=? WHERE id=?",
                       (_dump(rejected), int(sheet_id)))
            self._bump(db)

    def sheets(self) -> list[dict[str, Any]]:
        """Every stored sheet, oldest first."""
        return [_sheet(r) for r in self._read("SELECT * FROM sheets ORDER BY id")]

    # -- scenarios --------------------------------------------------------------------
    @property
    def scenario_id(self) -> int:
        """The scenario the page works on."""
        return int(self.meta("scenario"))

    def scenarios(self) -> list[dict[str, Any]]:
        """Every scenario: ``id``, ``name``, ``parent_id``, ``created``."""
        return [dict(r) for r in self._read("SELECT * FROM scenarios ORDER BY id")]

    def scenario(self, scenario_id: int) -> dict[str, Any]:
        """One scenario; :class:`KeyError` when there is none."""
        rows = self._read("SELECT * FROM scenarios WHERE id=?", (int(scenario_id),))
        if not rows:
            raise KeyError(scenario_id)
        return dict(rows[0])

    def copy_scenario(self, name: str, source_id: int) -> int:
        """A new scenario called ``name`` with the stations of ``source_id`` (no edit
        history); it becomes the current one. Returns its id."""
        self.scenario(source_id)
        with self.transaction() as db:
            cur = db.execute("INSERT INTO scenarios (name, parent_id, created) VALUES (?, ?, ?)",
                             (str(name), int(source_id), _now()))
            new = int(cur.lastrowid or 0)
            db.execute("INSERT INTO stations SELECT ?, station_id, name, lon, lat, source, "
                       "sheet_id, attrs_json, seq FROM stations WHERE scenario_id=?",
                       (new, int(source_id)))
            self._set(db, "scenario", new)
            self._bump(db)
        return new

    def open_scenario(self, scenario_id: int) -> None:
        """Make ``scenario_id`` the current scenario."""
        self.scenario(scenario_id)
        self.set_meta("scenario", int(scenario_id))

    # -- stations ---------------------------------------------------------------------
    def stations(self, scenario_id: int | None = None) -> list[Station]:
        """The stations of a scenario (default the current one), in order."""
        sid = self.scenario_id if scenario_id is None else int(scenario_id)
        rows = self._read("SELECT * FROM stations WHERE scenario_id=? ORDER BY seq, rowid",
                          (sid,))
        return [Station(r["station_id"], r["name"] or "", r["lon"], r["lat"], r["source"],
                        r["sheet_id"], json.loads(r["attrs_json"] or "{}"), r["seq"])
                for r in rows]

    def new_station_id(self, prefix: str = "new-") -> str:
        """An id ``<prefix>N`` (``new-1``, ``plan-2``) used by no station of any scenario
        nor by any edit; N counts on from the last one added with that prefix."""
        with self._lock:
            n = int(self._get(self._db, f"next_{prefix}") or 1)
            taken = {r[0] for r in self._db.execute(
                "SELECT station_id FROM stations UNION SELECT station_id FROM edits "
                "WHERE station_id IS NOT NULL")}
        while f"{prefix}{n}" in taken:
            n += 1
        return f"{prefix}{n}"

    # -- edits ------------------------------------------------------------------------
    @contextlib.contextmanager
    def edit(self, op: str, station_id: str | None, before: Any, after: Any, *,
             scenario_id: int | None = None,
             also: Callable[[sqlite3.Connection], object] | None = None) -> Iterator[Edit]:
        """Record an edit and apply it to the stored stations, in one transaction.

        The block runs inside the transaction (the server applies the edit to its
        coverage there): when it raises, nothing of the edit is stored. A new edit
        drops the scenario's undone edits (the redo stack).

        Parameters
        ----------
        op
            "import", "add", "move", "delete" or "accept" (see :class:`Edit`).
        station_id
            The station edited (``None`` for an import).
        before, after
            The edit's two sides, JSON-ready (see :class:`Edit`).
        scenario_id
            Default the current scenario.
        also
            Called with the open transaction's connection after the edit is stored, for
            what belongs to the same step (a sheet marked imported, a proposal accepted).

        Yields
        ------
        Edit
            The edit as stored (its ``seq``).
        """
        if op not in OPS:
            msg = f"op must be one of {', '.join(OPS)}, not {op!r}"
            raise InputError(msg)
        with self.transaction() as db:
            sid = int(self._get(db, "scenario") if scenario_id is None else scenario_id)
            db.execute("DELETE FROM edits WHERE scenario_id=? AND undone=1", (sid,))
            cur = db.execute(
                "INSERT INTO edits (scenario_id, op, station_id, before_json, after_json, "
                "undone, at) VALUES (?, ?, ?, ?, ?, 0, ?)",
                (sid, op, station_id, _dump(before), _dump(after), _now()))
            e = Edit(int(cur.lastrowid or 0), sid, op, station_id, before, after)
            self._apply(db, e)
            prefix, _, tail = (station_id or "").rpartition("-")
            if op in ("add", "accept") and prefix and tail.isdigit():
                self._set(db, f"next_{prefix}-", int(tail) + 1)
            if also is not None:
                also(db)
            self._bump(db)
            yield e

    def last_edit(self, *, undone: bool, scenario_id: int | None = None) -> Edit | None:
        """The edit undo would invert (``undone=False``: the latest applied) or redo
        would apply again (``undone=True``: the earliest of the latest undone run)."""
        sid = self.scenario_id if scenario_id is None else int(scenario_id)
        order = "ASC" if undone else "DESC"
        rows = self._read(f"SELECT * FROM edits WHERE scenario_id=? AND undone=? "
                          f"ORDER BY seq {order} LIMIT 1", (sid, int(undone)))
        if not rows:
            return None
        r = rows[0]
        return Edit(r["seq"], r["scenario_id"], r["op"], r["station_id"],
                    json.loads(r["before_json"]), json.loads(r["after_json"]))

    def can_undo(self, scenario_id: int | None = None) -> bool:
        """Whether the scenario has an edit to undo."""
        return self.last_edit(undone=False, scenario_id=scenario_id) is not None

    def can_redo(self, scenario_id: int | None = None) -> bool:
        """Whether the scenario has an undone edit to redo."""
        return self.last_edit(undone=True, scenario_id=scenario_id) is not None

    @contextlib.contextmanager
    def undo(self, scenario_id: int | None = None) -> Iterator[Edit | None]:
        """Undo the latest applied edit, in one transaction; yields the inverse edit that
        was applied to the stored stations (``None`` when there is nothing to undo)."""
        with self._step(undone=False, scenario_id=scenario_id) as e:
            yield e

    @contextlib.contextmanager
    def redo(self, scenario_id: int | None = None) -> Iterator[Edit | None]:
        """Apply the latest undone edit again, in one transaction; yields it (``None``
        when there is nothing to redo)."""
        with self._step(undone=True, scenario_id=scenario_id) as e:
            yield e

    @contextlib.contextmanager
    def _step(self, *, undone: bool, scenario_id: int | None) -> Iterator[Edit | None]:
        with self.transaction() as db:
            sid = int(self._get(db, "scenario") if scenario_id is None else scenario_id)
            order = "ASC" if undone else "DESC"
            r = db.execute(f"SELECT * FROM edits WHERE scenario_id=? AND undone=? "
                           f"ORDER BY seq {order} LIMIT 1", (sid, int(undone))).fetchone()
            if r is None:
                yield None
                return
            e = Edit(r["seq"], sid, r["op"], r["station_id"], json.loads(r["before_json"]),
                     json.loads(r["after_json"]))
            step = e if undone else e.inverse()
            self._apply(db, step)
            db.execute("UPDATE edits SET undone=? WHERE seq=?", (int(not undone), e.seq))
            prop = (e.after or {}).get("proposal") if e.op == "accept" else None
            if prop:  # the proposal follows its station
                self.set_proposal(db, prop["job"], prop["rank"],
                                  "accepted" if undone else "proposed",
                                  e.station_id if undone else None)
            self._bump(db)
            yield step

    def _apply(self, db: sqlite3.Connection, e: Edit) -> None:
        """Apply an edit (or an inverse) to the stored stations of its scenario."""
        sid = e.scenario_id
        if e.op in ("add", "accept"):
            self._insert(db, sid, [e.after])
        elif e.op == "import":
            self._insert(db, sid, e.after)
        elif e.op == "delete":
            self._delete(db, sid, [e.before["station_id"]])
        elif e.op == "unimport":
            self._delete(db, sid, [s["station_id"] for s in e.before])
        elif e.op == "move":
            cur = db.execute("UPDATE stations SET lon=?, lat=? WHERE scenario_id=? AND "
                             "station_id=?", (float(e.after["lon"]), float(e.after["lat"]), sid,
                                              e.station_id))
            if cur.rowcount != 1:
                raise KeyError(e.station_id)

    @staticmethod
    def _insert(db: sqlite3.Connection, sid: int, stations: Sequence[Mapping[str, Any]]) -> None:
        top = db.execute("SELECT COALESCE(MAX(seq), 0) FROM stations WHERE scenario_id=?",
                         (sid,)).fetchone()[0]
        for i, d in enumerate(stations):
            s = Station.from_dict(d)
            seq = s.seq or top + i + 1
            try:
                db.execute("INSERT INTO stations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (sid, s.station_id, s.name, s.lon, s.lat, s.source, s.sheet_id,
                            _dump(s.attrs or {}), seq))
            except sqlite3.IntegrityError:
                msg = f"station {s.station_id!r} exists already"
                raise InputError(msg) from None

    @staticmethod
    def _delete(db: sqlite3.Connection, sid: int, ids: Sequence[str]) -> None:
        for station_id in ids:
            cur = db.execute("DELETE FROM stations WHERE scenario_id=? AND station_id=?",
                             (sid, str(station_id)))
            if cur.rowcount != 1:
                raise KeyError(station_id)

    def edits(self, scenario_id: int | None = None) -> list[dict[str, Any]]:
        """The edit log of a scenario, oldest first (``undone`` 0 or 1)."""
        sid = self.scenario_id if scenario_id is None else int(scenario_id)
        return [dict(r) for r in self._read("SELECT * FROM edits WHERE scenario_id=? "
                                            "ORDER BY seq", (sid,))]

    # -- jobs and proposals -----------------------------------------------------------
    def add_job(self, kind: str, params: Mapping[str, Any]) -> int:
        """A queued job; returns its id."""
        with self.transaction() as db:
            cur = db.execute("INSERT INTO jobs (kind, params_json, state, progress, at) "
                             "VALUES (?, ?, 'queued', 0, ?)", (kind, _dump(params), _now()))
            return int(cur.lastrowid or 0)

    def update_job(self, job_id: int, *, state: str | None = None,
                   progress: float | None = None, message: str | None = None,
                   result: Any = None) -> None:
        """Set what is given of a job's state, progress (0..1), message and result."""
        sets, args = [], []
        for col, value in (("state", state), ("progress", progress), ("message", message)):
            if value is not None:
                sets.append(f"{col}=?")
                args.append(value)
        if result is not None:
            sets.append("result_json=?")
            args.append(_dump(result))
        if not sets:
            return
        with self.transaction() as db:
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id=?", (*args, int(job_id)))

    def job(self, job_id: int) -> dict[str, Any]:
        """A job: ``id``, ``kind``, ``params``, ``state``, ``progress``, ``message``,
        ``result``; :class:`KeyError` when there is none."""
        rows = self._read("SELECT * FROM jobs WHERE id=?", (int(job_id),))
        if not rows:
            raise KeyError(job_id)
        r = dict(rows[0])
        r["params"] = json.loads(r.pop("params_json") or "{}")
        r["result"] = json.loads(r.pop("result_json") or "null")
        return r

    def jobs_of(self, kind: str, scenario_id: int) -> list[dict[str, Any]]:
        """The jobs of ``kind`` ("plan", "check") run on a scenario, newest first (as
        :meth:`job`). The scenario is the one in the job's parameters (``scenario``), else,
        for a plan stored before it was recorded there, that of its proposals."""
        rows = self._read("SELECT id, params_json FROM jobs WHERE kind=? ORDER BY id DESC",
                          (str(kind),))
        owners = {r[0]: r[1] for r in self._read(
            "SELECT DISTINCT job_id, scenario_id FROM proposals")}
        out = []
        for r in rows:
            params = json.loads(r["params_json"] or "{}")
            owner = params.get("scenario", owners.get(r["id"]))
            if owner is not None and int(owner) == int(scenario_id):
                out.append(self.job(r["id"]))
        return out

    def add_proposals(self, job_id: int, scenario_id: int,
                      sites: Sequence[Mapping[str, Any]]) -> None:
        """Store a plan's proposed sites (``rank``, ``lon``, ``lat``, ``gain_m``, ``name``)."""
        with self.transaction() as db:
            for s in sites:
                db.execute("INSERT INTO proposals (job_id, rank, scenario_id, lon, lat, gain_m, "
                           "name, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'proposed')",
                           (int(job_id), int(s["rank"]), int(scenario_id), float(s["lon"]),
                            float(s["lat"]), float(s["gain_m"]), str(s.get("name") or "")))
            self._bump(db)

    def proposals(self, job_id: int) -> list[dict[str, Any]]:
        """The sites a plan job proposed, by rank, with their status."""
        return [dict(r) for r in self._read("SELECT * FROM proposals WHERE job_id=? "
                                            "ORDER BY rank", (int(job_id),))]

    def proposal(self, job_id: int, rank: int) -> dict[str, Any]:
        """One proposed site; :class:`KeyError` when there is none."""
        rows = self._read("SELECT * FROM proposals WHERE job_id=? AND rank=?",
                          (int(job_id), int(rank)))
        if not rows:
            raise KeyError((job_id, rank))
        return dict(rows[0])

    def accepted_rank(self, station_id: str) -> int | None:
        """The rank, in its plan, of the proposal that became station ``station_id``."""
        rows = self._read("SELECT rank FROM proposals WHERE station_id=? AND "
                          "status='accepted' ORDER BY job_id DESC LIMIT 1", (str(station_id),))
        return int(rows[0][0]) if rows else None

    def set_proposal(self, db: sqlite3.Connection, job_id: int, rank: int, status: str,
                     station_id: str | None = None) -> None:
        """Set a proposal's status inside an open transaction ``db``."""
        db.execute("UPDATE proposals SET status=?, station_id=? WHERE job_id=? AND rank=?",
                   (status, station_id, int(job_id), int(rank)))

    def reject_proposal(self, job_id: int, rank: int) -> None:
        """Mark a proposed site rejected."""
        self.proposal(job_id, rank)
        with self.transaction() as db:
            self.set_proposal(db, job_id, rank, "rejected")
            self._bump(db)


def _dump(value: Any) -> str:
    return json.dumps(_clean(value), ensure_ascii=False, allow_nan=False, default=_plain)


def _clean(value: Any) -> Any:
    """``value`` with float NaN (a blank cell) as ``None``, for strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """numpy scalars and other odd values as JSON (NaN becomes None via ``item``)."""
    item = getattr(value, "item", None)
    if callable(item):
        v = item()
        return None if isinstance(v, float) and v != v else v
    return str(value)


def _sheet(r: sqlite3.Row) -> dict[str, Any]:
    return {"id": r["id"], "file": r["file"], "crs": r["crs"], "crs_from": r["crs_from"],
            "read_report": json.loads(r["read_report_json"] or "{}"),
            "rows": json.loads(r["rows_json"] or "[]"),
            "rejected": json.loads(r["rejected_json"] or "[]"),
            "confirmed": bool(r["confirmed"]), "at": r["at"]}


