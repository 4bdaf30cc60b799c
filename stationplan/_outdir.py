"""The output folder: which files each command writes, the guard against replacing them, and
the transaction that writes them.

A run writes into a hidden staging folder inside the output folder and moves its files into
place only when every one is written (:func:`output_folder`). The folder then holds either
the earlier outputs or the complete new set, never a mix: Ctrl-C, SIGTERM, a full disk or a
crash while writing leave the earlier outputs and no temporary files, and a lock keeps a
second run out of a folder another run is writing to.

A leaf module (no heavy imports), so the command line can refuse a full folder before it
loads anything else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

from ._errors import InputError, OutputError
from ._i18n import text

COVERAGE_FILES = (
    "coverage.geojson", "stations.geojson", "gaps.geojson", "gaps.csv", "gaps.xlsx",
    "gap_areas.geojson", "summary.json", "coverage_map.html", "coverage_map.png",
)
# coverage --by-hour adds these (stationplan.hours)
HOURS_FILES = ("hours.csv", "hours.xlsx", "hours.png")
# The GeoParquet twins of coverage, gaps and gap_areas .geojson, written instead of them
# above a size (stationplan._options.PARQUET_ABOVE_PIECES) or with --format parquet.
LARGE_FILES = ("coverage.parquet", "gaps.parquet", "gap_areas.parquet")
PLAN_FILES = ("proposals.geojson", "plan_summary.json", "timings.json", "coverage_curve.csv",
              "coverage_curve.png")
CHECK_FILES = ("check.csv", "check.xlsx", "check.geojson", "check_summary.json",
               "check_map.html")
NETWORK_FILES = ("network.gpkg", "network_summary.json")
REPORT_FILES = ("report.html", "report.md", "report.json")
# stationplan partition: the units table and the folder of their extracts
PARTITION_FILES = ("units.csv", "extracts")
# stationplan batch coverage and plan (the GeoParquet datasets pieces/ and gaps/ are
# folders). The per-unit results under units/ are a store kept across runs for --resume,
# not an output: no run replaces or removes it.
BATCH_FILES = ("pieces.csv", "pieces", "gaps", "league.csv", "league.xlsx",
               "province_map.html", "province_map.png", "curves.csv", "sites.csv",
               "sites.xlsx", "stations.csv", "failed.csv")
# stationplan batch allocate, written beside the curves of a batch plan folder: it
# replaces only these
ALLOCATION_FILES = ("allocation.csv", "allocation.xlsx", "allocation_sites.csv",
                    "allocation_sites.xlsx", "allocation.json")
# Every file any run writes: a folder holds the outputs of one run, so these are what a run
# refuses to replace without ``overwrite`` and what it replaces (or removes) with it.
ALL_FILES = tuple(dict.fromkeys((*COVERAGE_FILES, *HOURS_FILES, *LARGE_FILES, *PLAN_FILES,
                                 *CHECK_FILES, *NETWORK_FILES, *REPORT_FILES,
                                 "timings.json", *PARTITION_FILES, *BATCH_FILES,
                                 *ALLOCATION_FILES)))
# The error numbers of a full disk (or quota).
DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
# The file name suffixes each ``export --format`` writes (the keys are
# stationplan._options.EXPORT_FORMATS); the first is the one to suggest. A .xlsx file is
# always a real workbook.
EXPORT_SUFFIXES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "geojson": (".geojson", ".json"),
    "csv": (".csv",),
    "kml": (".kml",),
    "gpx": (".gpx",),
    "xlsx": (".xlsx",),
    "amap": (".xlsx",),
    "amap-maplab": (".xlsx", ".csv"),
})
_LOCK = ".stationplan.lock"
_JOURNAL = ".stationplan-commit.json"
_STAGING = ".stationplan-new-"
_BACKUP = ".stationplan-old-"


def check_out_dir(out_dir: str | Path, names: Iterable[str] = ALL_FILES, *,
                  overwrite: bool) -> None:
    """Refuse to replace earlier outputs: raise InputError when ``out_dir`` holds any of
    ``names`` (by default any file a run writes) and ``overwrite`` is false; raise
    OutputError when ``out_dir`` is not a folder.

    Parameters
    ----------
    out_dir
        The output folder (it need not exist).
    names
        File names a run would write there.
    overwrite
        Whether replacing them is allowed.

    Examples
    --------
    >>> check_out_dir("/nonexistent-folder", ["summary.json"], overwrite=False)
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        msg = f"--out {out} is a file, not a folder; give a folder for the outputs"
        raise OutputError(msg)
    existing = [f for f in dict.fromkeys(names) if (out / f).exists()]
    if existing and not overwrite:
        msg = f"{out}: already holds {', '.join(existing)}; pass --overwrite or pick another folder"
        raise InputError(msg)


def open_out_dir(out_dir: str | Path, names: Iterable[str], *, overwrite: bool) -> Path:
    """The output folder, created, after :func:`check_out_dir` allowed writing ``names``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a" / "b"
    >>> open_out_dir(out, ["x.json"], overwrite=False).is_dir()
    True
    """
    out = Path(out_dir)
    check_out_dir(out, names, overwrite=overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(out, exc) from exc
    return out


def check_not_input(out_file: str | Path, inputs: Iterable[object]) -> None:
    """Raise OutputError when writing ``out_file`` would replace one of the ``inputs``
    (paths; other objects, such as download queries or data frames, are skipped).

    Examples
    --------
    >>> check_not_input("/tmp/a.kml", ["/tmp/b.csv", None, 3])
    >>> check_not_input("/tmp/a.kml", ["/tmp/../tmp/a.kml"])
    Traceback (most recent call last):
    ...
    stationplan._errors.OutputError: /tmp/a.kml is an input of this run; write the output \
to another file
    """
    target = _resolved(out_file)
    for item in inputs:
        if isinstance(item, str | os.PathLike) and _resolved(item) == target:
            msg = f"{out_file} is an input of this run; write the output to another file"
            raise OutputError(msg)


def check_export_suffix(out_file: str | os.PathLike[str], fmt: str) -> None:
    """Refuse an export file whose suffix says another format than ``fmt`` writes.

    A ``.xlsx`` file must be a workbook and a ``.kml`` file KML, so ``export --format kml
    --out a.xlsx`` is an :class:`~stationplan.InputError` naming both, raised before
    anything is read. Suffixes are compared without regard to case.

    Examples
    --------
    >>> check_export_suffix("a.XLSX", "amap"), check_export_suffix("a.csv", "amap-maplab")
    (None, None)
    >>> check_export_suffix("out/a.xlsx", "kml")
    Traceback (most recent call last):
    ...
    stationplan._errors.InputError: out/a.xlsx: the kml format writes .kml files, not .xlsx; \
name the file a.kml, or use a format that writes .xlsx: xlsx, amap, amap-maplab
    """
    suffixes = EXPORT_SUFFIXES.get(fmt)
    if suffixes is None:
        msg = f"format={fmt!r} is not supported; use one of {', '.join(EXPORT_SUFFIXES)}"
        raise InputError(msg)
    path = Path(out_file)
    suffix = path.suffix.lower()
    if suffix in suffixes:
        return
    fields = {"path": path, "fmt": fmt, "name": f"{path.stem if suffix else path.name}"
                                                 f"{suffixes[0]}", "suffix": suffix}
    if not suffix:
        en, zh = (text("error.export_no_suffix", lang, **fields,
                       wanted=text("error.or", lang).join(suffixes)) for lang in ("en", "zh"))
        raise InputError(en, zh=zh)
    others = [f for f, s in EXPORT_SUFFIXES.items() if suffix in s]

    def message(lang: str) -> str:
        formats = text("sep.list", lang).join(others)
        more = (text("error.export_others", lang, suffix=suffix, formats=formats)
                if others else "")
        return text("error.export_suffix", lang, **fields, others=more,
                    wanted=text("error.or", lang).join(suffixes))

    raise InputError(message("en"), zh=message("zh"))


def check_out_file(out_file: str | Path, *, overwrite: bool,
                   inputs: Iterable[object] = ()) -> None:
    """Refuse, before any work, to write a single output file (``export --out``) where it
    cannot or should not go: a folder, an input, a missing or read-only folder, or an
    existing file without ``overwrite``.

    Examples
    --------
    >>> import tempfile
    >>> check_out_file(tempfile.gettempdir(), overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    stationplan._errors.OutputError: --out ... is a folder; give a file name, e.g. ...
    """
    path = Path(out_file)
    if path.is_dir():
        msg = f"--out {path} is a folder; give a file name, e.g. {path / 'stations.kml'}"
        raise OutputError(msg)
    check_not_input(path, inputs)
    if path.exists() and not overwrite:
        msg = f"{path} already exists; pass --overwrite or pick another file name"
        raise InputError(msg)
    folder = path.parent
    if not folder.is_dir():
        msg = f"cannot write {path}: folder {folder} does not exist; create it first"
        raise OutputError(msg)
    if not os.access(folder, os.W_OK):
        msg = f"cannot write {path}: folder {folder} is read-only; pick a folder you can write to"
        raise OutputError(msg)


def output_folder(out_dir: str | Path, *, overwrite: bool, inputs: Iterable[object] = (),
                  replaces: Iterable[str] = ALL_FILES,
                  ) -> contextlib.AbstractContextManager[Path]:
    """Write a run's outputs to ``out_dir`` as one transaction.

    Entering checks the folder (no earlier outputs unless ``overwrite``, not a file, not
    an input's home, writable, not busy), takes its lock and yields an empty staging
    folder inside it; the run writes its files there. Leaving normally moves them into
    place, replacing every earlier output (``replaces``; other files in the folder
    are kept); leaving with an exception (Ctrl-C included) removes the staging folder,
    and a folder the run created, and leaves the earlier outputs as they were.

    The moves happen with SIGINT and SIGTERM held back and are logged in a journal, so
    even a run killed outright is completed by the next run into the folder.

    Parameters
    ----------
    out_dir
        The output folder; created (with missing parents) if missing.
    overwrite
        Replace earlier outputs; without it they are an :class:`~stationplan.InputError`,
        raised before anything is computed.
    inputs
        The run's inputs (paths; other objects are skipped): an input inside ``out_dir``
        under the name of an output is refused, since the run would replace it.
    replaces
        The names (files or folders) the run's outputs replace: by default every output
        of any run (:data:`ALL_FILES`), since a folder holds the outputs of one run;
        ``batch allocate``, which writes beside a plan's curves, replaces only its own
        (:data:`ALLOCATION_FILES`).

    Raises
    ------
    OutputError
        The folder is a file, cannot be written, is locked by another run, or the disk
        filled up while writing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with output_folder(out, overwrite=False) as staging:
    ...     _ = (staging / "summary.json").write_text("{}")
    >>> sorted(p.name for p in out.iterdir())
    ['summary.json']
    >>> with output_folder(out, overwrite=True) as staging:
    ...     _ = (staging / "summary.json").write_text("half")
    ...     raise RuntimeError("stopped while writing")
    Traceback (most recent call last):
    ...
    RuntimeError: stopped while writing
    >>> sorted(p.name for p in out.iterdir())
    ['summary.json']
    """
    return _transaction(Path(out_dir), overwrite=overwrite, inputs=tuple(inputs),
                        replaces=tuple(replaces))


@contextlib.contextmanager
def _transaction(out: Path, *, overwrite: bool, inputs: tuple[object, ...],
                 replaces: tuple[str, ...]) -> Iterator[Path]:
    for name in replaces:
        check_not_input(out / name, inputs)
    check_out_dir(out, replaces, overwrite=overwrite)
    created = _make_folder(out)
    try:
        with _locked(out):
            _recover(out)
            check_out_dir(out, replaces, overwrite=overwrite)  # again: no other run writes
            staging = out / f"{_STAGING}{secrets.token_hex(4)}"
            try:
                staging.mkdir()
                yield staging
                with _signals_held():
                    _commit(out, staging, replaces)
            except BaseException as exc:
                shutil.rmtree(staging, ignore_errors=True)
                cause = _os_cause(exc)
                if cause is not None and _is_output_problem(cause, staging):
                    raise _output_error(out, cause) from exc
                raise
    except BaseException:
        for folder in created:  # innermost first; only folders this run made, if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def moved(paths: Mapping[str, Path], out_dir: str | Path) -> dict[str, Path]:
    """The paths a run wrote to its staging folder, as they are after the move to
    ``out_dir``.

    >>> moved({"a.json": Path("/x/.stationplan-new-1/a.json")}, "/x")
    {'a.json': PosixPath('/x/a.json')}
    """
    return {name: Path(out_dir) / Path(p).name for name, p in paths.items()}


# --- the parts of the transaction ------------------------------------------------------

def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve(strict=False)


def _make_folder(out: Path) -> list[Path]:
    """Create ``out`` and its missing parents; return those created, innermost first."""
    missing = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(out, exc) from exc
    return missing


def _output_error(out: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno in DISK_FULL:
        hint = "free some space (or pick a folder on another disk) and rerun"
    else:
        hint = "pick a folder you can write to"
    return OutputError(f"cannot write the outputs to {out}: {reason}; {hint}; the folder was "
                       "left as it was")


def _os_cause(exc: BaseException) -> OSError | None:
    """The OSError with an error number behind ``exc`` (itself or its causes), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
        seen = seen.__cause__
    return None


def _is_output_problem(exc: OSError, staging: Path) -> bool:
    """Whether an OSError raised while the run wrote is about writing (not about reading
    an input): a full disk, or an error naming a file in the staging folder."""
    if exc.errno in (*DISK_FULL, errno.EFBIG, errno.EROFS):
        return True
    names = [n for n in (exc.filename, exc.filename2) if n]
    return any(str(n).startswith(str(staging)) for n in names)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock file for the run; raise OutputError when another run holds it.

    The lock is an OS file lock (released by the OS when a process dies), on a file that
    is removed when the run ends.
    """
    path = out / _LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _output_error(out, exc) from exc
        if not _try_lock(fd):
            holder = _read_holder(fd)
            os.close(fd)
            msg = (f"another stationplan run{holder} is writing to {out}; wait for it to "
                   "finish or pick another folder")
            raise OutputError(msg)
        try:  # the file may have been removed by the run that held it: lock the new one
            same = os.path.samestat(os.fstat(fd), path.stat())
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(),
                                 "started": time.strftime("%H:%M:%S")}).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(os.pread(fd, 200, 0) if hasattr(os, "pread") else b"{}")
        return f" (process {int(data['pid'])}, started {data['started']})"
    return ""


def _commit(out: Path, staging: Path, replaces: tuple[str, ...]) -> None:
    """Move the staged files into ``out``, replacing every earlier output (``replaces``).

    A journal written first lets :func:`_recover` finish the moves if the process dies
    in the middle; an error in the middle (a file held open on Windows) undoes them.
    """
    new = sorted(p.name for p in staging.iterdir())
    old = [n for n in replaces if (out / n).exists()]
    backup = out / f"{_BACKUP}{secrets.token_hex(4)}"
    journal = {"staging": staging.name, "backup": backup.name, "new": new, "old": old}
    _write_journal(out, journal)
    done: list[tuple[Path, Path]] = []
    try:
        backup.mkdir()
        for name in old:
            (out / name).replace(backup / name)
            done.append((out / name, backup / name))
        for name in new:
            (staging / name).replace(out / name)
            done.append((staging / name, out / name))
    except OSError as exc:
        for src, dst in reversed(done):
            with contextlib.suppress(OSError):
                dst.replace(src)
        (out / _JOURNAL).unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
        msg = (f"cannot replace the outputs in {out}: {exc.strerror or exc} "
               f"({Path(exc.filename or '').name}); close the files if another program has "
               "them open, and rerun; the folder was left as it was")
        raise OutputError(msg) from exc
    (out / _JOURNAL).unlink()
    shutil.rmtree(backup, ignore_errors=True)
    staging.rmdir()


def _write_journal(out: Path, journal: Mapping[str, object]) -> None:
    tmp = out / f"{_JOURNAL}.{secrets.token_hex(4)}.tmp"
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(journal, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(out / _JOURNAL)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _recover(out: Path) -> None:
    """Finish a commit a killed run left half done, and remove what killed runs left
    (staging and backup folders, temporary files). Runs with the lock held."""
    journal_path = out / _JOURNAL
    if journal_path.exists():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
            staging, new = out / journal["staging"], list(journal["new"])
        except (OSError, ValueError, KeyError, TypeError):
            journal_path.unlink(missing_ok=True)
        else:
            for name in journal["old"]:
                if name not in new:
                    _remove(out / name)
            for name in new:
                if (staging / name).exists():
                    if (out / name).is_dir():  # an old folder not yet moved aside
                        _remove(out / name)
                    (staging / name).replace(out / name)
            journal_path.unlink()
    for entry in out.iterdir():
        if entry.name.startswith((_STAGING, _BACKUP)) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f"{_JOURNAL}.") and entry.name.endswith(".tmp"):
            entry.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    """Remove an output, a file or a folder (the datasets and extracts are folders)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back for the few milliseconds of the moves: one arriving
    then is delivered after them."""
    held = (hasattr(signal, "pthread_sigmask")
            and threading.current_thread() is threading.main_thread())
    if not held:
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
