"""Settings of the process a command runs in, set for one run and restored afterwards.

The library never changes them: the command line sets them around a run
(:func:`run_settings`), and ``stationplan batch`` gives its Dask workers the caller's
(:func:`current`, :func:`apply`).

- **The garbage collector's thresholds.** A large run keeps millions of objects alive for
  its whole length (geometries, texts, rows); with CPython's default thresholds (700, 10,
  10) a young collection follows every 700 new objects and an old one rescans them all,
  which took a tenth of a 10^6-segment run. Reference counting frees almost everything at
  once anyway; the collector is only needed for cycles, which these thresholds still find.
- **Arrow's memory allocator.** pandas keeps text columns in Arrow arrays and GeoParquet
  is read and written through Arrow. Arrow's default allocator (mimalloc) fetched fresh
  memory from the system for large growing buffers, and a million-row text column then
  took up to a second instead of a twentieth; with jemalloc, where Arrow is built with it
  (Linux and macOS wheels), a 10^6-segment run took 2-3 s less (docs in
  ``benchmarks/results/floor.md``).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: The command line's garbage-collection thresholds (CPython's are 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)
#: The command line's Arrow allocator, where Arrow has it (else Arrow's default stays).
ARROW_ALLOCATOR = "jemalloc"


@dataclass(frozen=True)
class ProcessSettings:
    """What a run sets in its process.

    Parameters
    ----------
    gc_thresholds
        :func:`gc.set_threshold`'s three thresholds.
    arrow_allocator
        The name of Arrow's default memory pool ("jemalloc", "mimalloc", "system"); a
        name this Arrow is built without leaves its pool as it is.
    """

    gc_thresholds: tuple[int, int, int]
    arrow_allocator: str

    def __post_init__(self) -> None:
        if len(self.gc_thresholds) != 3 or any(
                not isinstance(t, int) or t < 0 for t in self.gc_thresholds):
            msg = f"gc_thresholds: three whole numbers >= 0, not {self.gc_thresholds!r}"
            raise ValueError(msg)


#: What the command line runs with.
RUN_SETTINGS = ProcessSettings(gc_thresholds=GC_THRESHOLDS, arrow_allocator=ARROW_ALLOCATOR)


def current() -> ProcessSettings:
    """This process's settings now.

    >>> current().gc_thresholds == gc.get_threshold()
    True
    """
    import pyarrow as pa

    threshold = gc.get_threshold()
    return ProcessSettings(gc_thresholds=(threshold[0], threshold[1], threshold[2]),
                           arrow_allocator=pa.default_memory_pool().backend_name)


def apply(settings: ProcessSettings) -> ProcessSettings:
    """Set ``settings`` in this process; returns the settings it had before.

    >>> before = apply(ProcessSettings(gc_thresholds=(1000, 5, 5), arrow_allocator="system"))
    >>> now = current()
    >>> now.gc_thresholds, now.arrow_allocator
    ((1000, 5, 5), 'system')
    >>> _ = apply(before)
    >>> current() == before
    True
    """
    previous = current()
    gc.set_threshold(*settings.gc_thresholds)
    pool = _arrow_pool(settings.arrow_allocator)
    if pool is not None:
        import pyarrow as pa

        pa.set_memory_pool(pool)
    return previous


@contextlib.contextmanager
def run_settings(settings: ProcessSettings = RUN_SETTINGS) -> Iterator[None]:
    """Run with ``settings``, then restore the process's own.

    >>> before = current()
    >>> with run_settings(ProcessSettings(gc_thresholds=(1000, 5, 5),
    ...                                   arrow_allocator="system")):
    ...     current().gc_thresholds
    (1000, 5, 5)
    >>> current() == before
    True
    """
    previous = apply(settings)
    try:
        yield
    finally:
        apply(previous)


def _arrow_pool(name: str) -> Any:
    """Arrow's memory pool of that name, or ``None`` where Arrow is built without it."""
    import pyarrow as pa

    if name not in pa.supported_memory_backends():
        return None
    return {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool,
            "system": pa.system_memory_pool}[name]()
