"""The one ``numba.njit`` setup shared by the compiled kernels (routing and solving)."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
from pathlib import Path
from typing import Any

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this is for a clear error
    numba = None  # type: ignore[assignment]  # jit checks for it and says what to install

log = logging.getLogger(__name__)

# What each kernel module is for, in the one-line notice of its first compilation.
_KINDS = {"stationplan._route.kernels": "routing", "stationplan._solve.kernels": "solving",
          "stationplan._solve.setcover": "solving", "stationplan._synthetic": "test-network",
          "stationplan._read.kernels": "network-reading",
          "stationplan._render.kernels": "map-drawing", "stationplan._encode": "file-writing"}
_NOTICED: set[str] = set()  # modules checked, and "kind:<kind>" once its notice is out


def cache_dirs(source: Path) -> list[Path]:
    """Where numba keeps the on-disk cache of the kernels of ``source``: ``__pycache__``
    beside it, or ``NUMBA_CACHE_DIR`` when set (numba mirrors the path below it)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    return [Path(env)] if env else [source.parent / "__pycache__"]


def kernels_cached(source: Path, dirs: list[Path] | None = None) -> bool:
    """Whether compiled kernels of ``source`` are cached for this source and Python: an
    index file (``<stem>.<name>-<line>.py<XY>.nbi``) that numba would take as fresh.

    numba stamps an index with the source's modification time and size (older releases)
    or the SHA-256 of its bytes (0.61 and later); a checkout or a copy that rewrites the
    file with the same bytes keeps the cache fresh, so the time alone would announce a
    compilation that never comes.

    Examples
    --------
    >>> import hashlib, pickle, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> src = folder / "kernels.py"; _ = src.write_text("x = 1")
    >>> kernels_cached(src, [folder / "__pycache__"])  # no cache folder
    False
    >>> (folder / "__pycache__").mkdir()
    >>> tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    >>> index = folder / "__pycache__" / f"kernels.f-3.{tag}.nbi"
    >>> def stamp(value):
    ...     _ = index.write_bytes(pickle.dumps(numba.__version__) + pickle.dumps((value, {})))
    >>> stamp(hashlib.sha256(b"x = 1").digest()); kernels_cached(src, [index.parent])
    True
    >>> stamp(hashlib.sha256(b"x = 2").digest()); kernels_cached(src, [index.parent])
    False
    """
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    try:
        st = source.stat()
        stamps = ((st.st_mtime, st.st_size), hashlib.sha256(source.read_bytes()).digest())
    except OSError:
        return True  # no source to compile from: nothing to announce
    version = getattr(numba, "__version__", None)
    for folder in dirs if dirs is not None else cache_dirs(source):
        if not folder.is_dir():
            continue
        for index in folder.rglob(f"{source.stem}.*.{tag}.nbi"):
            try:
                with index.open("rb") as f:
                    if pickle.load(f) != version:
                        continue
                    stamp = pickle.loads(f.read())[0]
            except (OSError, pickle.UnpicklingError, EOFError, IndexError, TypeError,
                    AttributeError, ImportError):
                continue
            if stamp in stamps:
                return True
    return False


def _notice(fn: Any) -> None:
    """Log once per kind of kernels that they are compiled now (a module's cache is empty).

    Several modules share a kind (the solver's kernels and its set-cover loops are both
    "solving"): the notice is one line per kind, not one per module.
    """
    module = getattr(fn, "__module__", "")
    kind = _KINDS.get(module, "compiled")
    if module in _NOTICED or f"kind:{kind}" in _NOTICED:
        return
    _NOTICED.add(module)
    source = getattr(sys.modules.get(module), "__file__", None)
    if source and not kernels_cached(Path(source)):
        _NOTICED.add(f"kind:{kind}")
        log.info("compiling the %s kernels once (about 10 s)…", kind)


def jit(fn: Any) -> Any:
    """``numba.njit`` with an on-disk cache when a cache folder is writable.

    Typed ``Any`` to ``Any``: numba's Dispatcher takes the place of the function and types
    its parameters from the arguments at compile time. When the cache holds no kernels of
    the function's module for this source, a one-line notice says they are compiled now.
    """
    if numba is None:  # pragma: no cover
        msg = "stationplan needs numba for large networks: pip install numba"
        raise ImportError(msg)
    _notice(fn)
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # pragma: no cover - no writable cache location
        return numba.njit(cache=False, nogil=True)(fn)
