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
import struct
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Generator, Iterator
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
        # a generator run here (no child): it and what it gave last ("yield" or "return")
        self._here: Generator[Any, Any, Any] | None = None
        self._gave: tuple[str, Any] | None = None
        if not (fork and _can_fork()):
            self._call = call
            return
        # the result comes back in a file in memory, read once the child has ended: through
        # a pipe, 45 MB took 0.4 s of the parent's time, 64 kB and a switch of process
        # at a time
        out_fd = _result_file()
        self._up, self._down = _Box(), _Box()  # a generator's values, and those sent to it
        came: list[int] = []
        handlers = _held_signals(came)
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns of native threads at a fork (Arrow's pool): Arrow resets
                # its pool in a child, and no other Python thread runs (_can_fork)
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:  # no memory or process left for a child: run here
            for fd in (out_fd, *self._up.fds, *self._down.fds):
                os.close(fd)
            self._call = call
            _release_signals(handlers, came)
            return
        if pid == 0:  # pragma: no cover - the child; its result reaches the parent's tests
            _release_signals(handlers, [])  # the parent stops the child
            self._up.keep("put")
            self._down.keep("get")
            _child(call, out_fd, self._up, self._down)
        self._up.keep("get")
        self._down.keep("put")
        self._pid, self._out_fd = pid, out_fd
        try:
            _release_signals(handlers, came)
        except BaseException:  # Ctrl-C during the fork: no child is left running
            self.stop()
            raise

    def receive(self) -> Any:
        """The next value the call, a generator, yields (see :func:`forked`).

        Raises
        ------
        EOFError
            The generator has returned instead (its value is :meth:`result`'s).
        ChildProcessError
            The child ended without a value (killed, out of memory).
        """
        if not self._pid:  # no child: the generator runs here, up to its next yield
            if self._here is None:
                steps = self._call_here()
                if not isinstance(steps, Generator):
                    msg = f"{self._name} is not a generator: it yields nothing"
                    raise TypeError(msg)
                self._here = steps
                self._step(next, steps)
            return self._yielded()
        came, value = self._up.get()
        if not came:  # the child has ended: its exception, else it returned (kept)
            self._gave = ("return", self.result())
            msg = f"{self._name} returned: its value is the result"
            raise EOFError(msg)
        return value

    def send(self, value: Any) -> None:
        """Give ``value`` to the generator (what its ``yield`` evaluates to), after
        :meth:`receive`; it then runs on to its next ``yield`` or its end."""
        if not self._pid:
            if self._here is None or self._gave is not None:
                msg = f"{self._name}: send() answers a value from receive()"
                raise RuntimeError(msg)
            self._step(self._here.send, value)
            return
        self._down.put(value)

    def _step(self, advance: Callable[[Any], Any], value: Any) -> None:
        """Run the generator here to its next yield or its end; keep what it gave."""
        try:
            self._gave = ("yield", advance(value))
        except StopIteration as stop:
            self._gave = ("return", stop.value)

    def _yielded(self) -> Any:
        """The value the generator run here yielded last (once)."""
        if self._gave is None:
            msg = f"{self._name}: receive() once a value, then send() the answer"
            raise RuntimeError(msg)
        kind, value = self._gave
        if kind == "return":
            msg = f"{self._name} returned: its value is the result"
            raise EOFError(msg)
        self._gave = None
        return value

    def _call_here(self) -> Any:
        """Run the call in this process, once."""
        call, self._call = self._call, None
        if call is None:
            msg = f"{self._name}: its result was taken already"
            raise RuntimeError(msg)
        return call()

    def result(self) -> Any:
        """The call's return value, once it has finished; its exception is raised here.
        A generator's is the value it returns; one still waiting at a ``yield`` for a
        value gets none (EOFError is raised there).

        Raises
        ------
        ChildProcessError
            The child ended without a result (killed, out of memory).
        """
        if self._here is not None:  # a generator run here
            steps, self._here = self._here, None
            if self._gave is None or self._gave[0] == "yield":  # waiting for a value
                self._step(steps.throw, EOFError(f"{self._name}: no value was sent"))
        if self._gave is not None:  # the generator returned (here, or in a child, seen by
            value, self._gave = self._gave[1], None  # receive())
            return value
        if self._call is not None:
            return self._call_here()
        if not self._pid:
            msg = f"{self._name}: its result was taken already"
            raise RuntimeError(msg)
        self._down.close()  # a child waiting for a value gets none
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        self._up.close()
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
            self._up.close()
            self._down.close()
            self._pid = 0
        if self._here is not None:
            self._here.close()
            self._here = None
        self._call = None


class _Box:
    """Values passed one way between a forked child and its parent, one at a time (the
    receiver has read one before the sender writes the next): pickled bytes in a file in
    memory, their length through a pipe (whose end of file says the sender has ended)."""

    def __init__(self) -> None:
        self._file = _result_file()
        self._read, self._write = os.pipe()

    @property
    def fds(self) -> tuple[int, int, int]:
        return self._file, self._read, self._write

    def keep(self, side: str) -> None:
        """Keep this process's side, "put" or "get", after the fork: close the other's."""
        os.close(self._read if side == "put" else self._write)
        if side == "put":
            self._read = -1
        else:
            self._write = -1

    def put(self, value: Any) -> None:
        """Write ``value`` for the other process: its pickle, then its arrays' memory
        as it is (pickle's out-of-band buffers: not copied into the pickle first), at
        offsets (the file's offset is shared); their lengths through the pipe."""
        buffers: list[pickle.PickleBuffer] = []
        parts = [memoryview(pickle.dumps(value, protocol=5, buffer_callback=buffers.append))]
        parts += [b.raw() for b in buffers]
        at = 0
        for part in parts:
            done = 0
            while done < part.nbytes:
                done += os.pwrite(self._file, part[done:], at + done)
            at += part.nbytes
        sizes = [p.nbytes for p in parts]
        os.write(self._write, struct.pack(f"<Q{len(sizes)}Q", len(sizes), *sizes))

    def get(self) -> tuple[bool, Any]:
        """``(True, value)`` for the next value put by the other process; ``(False,
        None)`` when it has ended first."""
        head = self._read_pipe(8)
        if head is None:
            return False, None
        n, = struct.unpack("<Q", head)
        sizes = struct.unpack(f"<{n}Q", self._read_pipe(8 * n) or b"")
        parts, at = [], 0
        for size in sizes:
            part = bytearray(size)  # (writable: the arrays made on it are)
            done = 0
            while done < size:
                got = os.preadv(self._file, [memoryview(part)[done:]], at + done)
                if not got:
                    msg = "a value passed between processes was cut short"
                    raise ChildProcessError(msg)
                done += got
            parts.append(part)
            at += size
        return True, pickle.loads(parts[0], buffers=parts[1:])  # our own process's bytes

    def _read_pipe(self, size: int) -> bytes | None:
        """``size`` bytes from the pipe; ``None`` at its end."""
        data = b""
        while len(data) < size:
            more = os.read(self._read, size - len(data))
            if not more:
                return None
            data += more
        return data

    def close(self) -> None:
        """Close what is still open of this side (once)."""
        for name in ("_file", "_read", "_write"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


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

    A call that returns a generator talks with the parent while it runs: each value it
    yields comes back from :meth:`Forked.receive` (pickled, as the result), and the value
    the parent then gives :meth:`Forked.send` is what that ``yield`` evaluates to; the
    value it returns is the result. Without a child it runs here, step by step, as the
    parent receives and sends.

    >>> from functools import partial
    >>> with forked(partial(sum, [1, 2, 3])) as child:
    ...     child.result()
    6
    >>> with forked(partial(int, "x")) as child:
    ...     child.result()
    Traceback (most recent call last):
    ValueError: invalid literal for int() with base 10: 'x'
    >>> def twice():
    ...     got = yield "ready"
    ...     return 2 * got
    >>> with forked(twice) as child:
    ...     child.receive(), child.send(21), child.result()
    ('ready', None, 42)
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


def _child(call: Callable[[], Any], out_fd: int, up: _Box, down: _Box
           ) -> None:  # pragma: no cover - the child
    """Run ``call`` (a generator: its values put in ``up``, those got from ``down`` sent to
    it), write ``(True, value, "")`` or ``(False, exception, its traceback)`` to the file
    ``out_fd`` and leave."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the child
        gc.disable()  # no finalizer of the parent's objects runs here
        try:
            out: tuple[bool, Any, str] = (True, _run_steps(call(), up, down), "")
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


def _run_steps(value: Any, up: _Box, down: _Box) -> Any:  # pragma: no cover - the child
    """``value``, or of a generator, the value it returns: each value it yields is put in
    ``up``, and each value got from ``down`` sent to it (at none, EOFError at its yield)."""
    if not isinstance(value, Generator):
        return value
    advance: Callable[[Any], Any] = value.send
    answer: Any = None
    while True:
        try:
            given = advance(answer)
        except StopIteration as stop:
            return stop.value
        up.put(given)
        came, answer = down.get()
        advance = value.send if came else value.throw
        if not came:
            answer = EOFError("the parent sent no value")


def _how_ended(status: int) -> str:
    """A child's wait status in words."""
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
