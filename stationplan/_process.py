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
- **Transparent huge pages** (Linux). Where the kernel backs new memory by 2 MiB pages,
  every fresh array, Arrow buffer or file page touched first costs the zeroing of a whole
  huge page; a run allocates and frees several GB in short-lived arrays. Without them
  (``prctl(PR_SET_THP_DISABLE)``, for this process and the children it starts) a
  10^6-segment run took 2.5 s less on the 2-core test machine (system time 6.5-7.0 ->
  3.6-3.8 s, three runs each way).

It also runs a call in a forked child process (:func:`forked`), where the writing of a
large run's files goes on beside the drawing of its map on a second core.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: The command line's garbage-collection thresholds (CPython's are 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)
#: The command line's Arrow allocator, where Arrow has it (else Arrow's default stays).
ARROW_ALLOCATOR = "jemalloc"
#: Whether the command line lets the kernel give it transparent huge pages.
HUGE_PAGES = False
_PR_SET_THP_DISABLE, _PR_GET_THP_DISABLE = 41, 42  # <linux/prctl.h>


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
    huge_pages
        Whether the kernel may back the process's new memory by transparent huge pages
        (Linux); ``None``: as it is (and where the system has no such setting).
    """

    gc_thresholds: tuple[int, int, int]
    arrow_allocator: str
    huge_pages: bool | None = None

    def __post_init__(self) -> None:
        if len(self.gc_thresholds) != 3 or any(
                not isinstance(t, int) or t < 0 for t in self.gc_thresholds):
            msg = f"gc_thresholds: three whole numbers >= 0, not {self.gc_thresholds!r}"
            raise ValueError(msg)


#: What the command line runs with.
RUN_SETTINGS = ProcessSettings(gc_thresholds=GC_THRESHOLDS, arrow_allocator=ARROW_ALLOCATOR,
                               huge_pages=HUGE_PAGES)


def current() -> ProcessSettings:
    """This process's settings now.

    >>> current().gc_thresholds == gc.get_threshold()
    True
    """
    import pyarrow as pa

    threshold = gc.get_threshold()
    return ProcessSettings(gc_thresholds=(threshold[0], threshold[1], threshold[2]),
                           arrow_allocator=pa.default_memory_pool().backend_name,
                           huge_pages=_huge_pages())


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
    if settings.huge_pages is not None and previous.huge_pages is not None:
        _prctl(_PR_SET_THP_DISABLE, int(not settings.huge_pages))
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


def _prctl(option: int, arg: int = 0) -> int:
    """Linux's ``prctl(option, arg, 0, 0, 0)``; -1 where it fails or does not exist."""
    if not sys.platform.startswith("linux"):
        return -1
    try:
        return int(ctypes.CDLL(None).prctl(option, arg, 0, 0, 0))
    except (OSError, AttributeError):  # no C library to ask, or no prctl in it
        return -1


def _huge_pages() -> bool | None:
    """Whether the kernel may give this process transparent huge pages; ``None`` where it
    cannot be asked."""
    disabled = _prctl(_PR_GET_THP_DISABLE)
    return None if disabled < 0 else disabled == 0


def _arrow_pool(name: str) -> Any:
    """Arrow's memory pool of that name, or ``None`` where Arrow is built without it."""
    import pyarrow as pa

    if name not in pa.supported_memory_backends():
        return None
    return {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool,
            "system": pa.system_memory_pool}[name]()


class Forked:
    """A call running in a forked child process (see :func:`forked`)."""

    def __init__(self, call: Callable[[], Any], *, fork: bool) -> None:
        self._name = getattr(getattr(call, "func", call), "__qualname__", repr(call))
        self._pid = 0
        self._call: Callable[[], Any] | None = None
        if not (fork and _can_fork()):
            self._call = call
            return
        # the result comes back in a file in memory, read once the child has ended: through
        # a pipe, 45 MB took 0.4 s of the parent's time, 64 kB and a switch of process
        # at a time
        out_fd = _result_file()
        came: list[int] = []
        handlers = _held_signals(came)
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns of native threads at a fork (Arrow's pool): Arrow resets
                # its pool in a child, and no other Python thread runs (_can_fork)
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:  # no memory or process left for a child: run here
            os.close(out_fd)
            self._call = call
            _release_signals(handlers, came)
            return
        if pid == 0:  # pragma: no cover - the child; its result reaches the parent's tests
            _release_signals(handlers, [])  # the parent stops the child
            _child(call, out_fd)
        self._pid, self._out_fd = pid, out_fd
        try:
            _release_signals(handlers, came)
        except BaseException:  # Ctrl-C during the fork: no child is left running
            self.stop()
            raise

    def result(self) -> Any:
        """The call's return value, once it has finished; its exception is raised here.

        Raises
        ------
        ChildProcessError
            The child ended without a result (killed, out of memory).
        """
        if self._call is not None:
            call, self._call = self._call, None
            return call()
        if not self._pid:
            msg = f"{self._name}: its result was taken already"
            raise RuntimeError(msg)
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        with os.fdopen(self._out_fd, "rb") as file:  # the child's offset is shared: from 0
            file.seek(0)
            data = file.read()
        if not data or os.waitstatus_to_exitcode(status) != 0:  # (killed while writing it)
            msg = (f"{self._name} in a child process ended without a result "
                   f"({_how_ended(status)})")
            raise ChildProcessError(msg)
        done, value, where = pickle.loads(data)  # our own child's bytes
        if done:
            return value
        raise value from ChildProcessError(f"{self._name} in a child process:\n{where}")

    def stop(self) -> None:
        """Kill the child if it still runs and wait for it (nothing else is left behind)."""
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._out_fd)
            self._pid = 0
        self._call = None


@contextlib.contextmanager
def forked(call: Callable[[], Any], *, fork: bool = True) -> Iterator[Forked]:
    """Run ``call()`` in a forked child process while the block runs.

    The child shares the parent's memory as it was at the fork (nothing is copied or
    pickled on the way in); its return value or exception comes back pickled in a file
    in memory, from :meth:`Forked.result`. Leaving the block by an exception (Ctrl-C included:
    the child ignores SIGINT and is killed here) kills a child still running, so no file
    is written after the block. With ``fork`` false, or where fork is not safe (not
    Linux, or other Python threads running), the call runs in this process when its
    result is asked for.

    >>> from functools import partial
    >>> with forked(partial(sum, [1, 2, 3])) as child:
    ...     child.result()
    6
    >>> with forked(partial(int, "x")) as child:
    ...     child.result()
    Traceback (most recent call last):
    ValueError: invalid literal for int() with base 10: 'x'
    """
    child = Forked(call, fork=fork)
    try:
        yield child
    finally:
        child.stop()


#: The signals a run turns into an interruption (Ctrl-C, and SIGTERM on the command line).
_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def _held_signals(came: list[int]) -> dict[int, Any]:
    """Hold Ctrl-C and SIGTERM while the process forks: their handlers only note them in
    ``came``. Python runs a handler at its next instruction, which during a fork is in the
    fork's hooks (logging's, ...), where an exception is printed and dropped: the run
    would go on as if the key had not been pressed. Returns the handlers held (none
    outside the main thread, where handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, lambda signum, frame: came.append(signum))
            for signum in _INTERRUPTS
            if signal.getsignal(signum) is not None}  # (None: set outside Python, kept)


def _release_signals(handlers: dict[int, Any], came: list[int]) -> None:
    """Put back the ``handlers`` :func:`_held_signals` held and deliver the signals that
    ``came`` meanwhile, each once, to them (a KeyboardInterrupt is raised here)."""
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
    for signum in dict.fromkeys(came):
        signal.raise_signal(signum)


def _can_fork() -> bool:
    """Whether a child is forked: on Linux (fork is unsafe on macOS and absent on Windows)
    from a process running one Python thread. Another thread (a Dask worker's, a web
    server's) may hold a lock at the fork that the child would then wait on for ever;
    Arrow's and BLAS's own threads make themselves safe across a fork."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def _result_file() -> int:
    """A new file descriptor of an empty file for a child's result: in memory where the
    system has such files (Linux), else a temporary file."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("stationplan-result", os.MFD_CLOEXEC)
    import tempfile

    with tempfile.TemporaryFile() as file:  # (deleted already where the system allows)
        return os.dup(file.fileno())


def _child(call: Callable[[], Any], out_fd: int) -> None:  # pragma: no cover - the child
    """Run ``call``, write ``(True, value, "")`` or ``(False, exception, its traceback)`` to
    the file ``out_fd`` and leave."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the child
        gc.disable()  # no finalizer of the parent's objects runs here
        try:
            out: tuple[bool, Any, str] = (True, call(), "")
        except BaseException as exc:  # the parent raises it
            out = (False, exc, "".join(traceback.format_exception(exc)))
        try:
            data = pickle.dumps(out)
        except Exception:  # an unpicklable value or exception
            data = pickle.dumps((False, RuntimeError(f"in a child process: {out[2] or out[1]!r}"),
                                 out[2]))
        with os.fdopen(out_fd, "wb") as file:
            file.write(data)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:  # never return into the parent's code
        code = 1
    finally:
        os._exit(code)


def _how_ended(status: int) -> str:
    """A child's wait status in words."""
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
