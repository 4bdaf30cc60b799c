"""The built-network cache: pickles under ``CACHE/networks``, keyed by a hash of inputs."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes

log = logging.getLogger(__name__)


def cache_path(cache_dir: Path, key: dict[str, Any]) -> Path:
    """Where the network for ``key`` (plain data) is cached; library versions are added.

    Examples
    --------
    >>> p = cache_path(Path("/c"), {"query": ["bbox", 1, 2, 3, 4]})
    >>> p.parent.as_posix(), len(p.stem)
    ('/c/networks', 32)
    """
    import geopandas as gpd
    import osmnx as ox

    from .._version import __version__

    data = {**key, "versions": [__version__, ox.__version__, gpd.__version__]}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return cache_dir / "networks" / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.pickle"


def read_cached(path: Path) -> Any:
    """The cached value, or ``None`` if absent or unreadable (then it is rebuilt)."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # our own cache file, written by write_cached
    except Exception as exc:  # a damaged entry is rebuilt, never fatal
        log.warning("ignoring unreadable network cache %s (%s)", path, exc)
        return None


def write_cached(path: Path, value: Any) -> None:
    """Pickle ``value`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
