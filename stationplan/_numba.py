"""The one ``numba.njit`` setup shared by the compiled kernels (routing and solving)."""

from __future__ import annotations

from typing import Any

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this is for a clear error
    numba = None  # type: ignore[assignment]  # jit checks for it and says what to install


def jit(fn: Any) -> Any:
    """``numba.njit`` with an on-disk cache when a cache folder is writable.

    Typed ``Any`` to ``Any``: numba's Dispatcher takes the place of the function and types
    its parameters from the arguments at compile time.
    """
    if numba is None:  # pragma: no cover
        msg = "stationplan needs numba for large networks: pip install numba"
        raise ImportError(msg)
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # pragma: no cover - no writable cache location
        return numba.njit(cache=False, nogil=True)(fn)
