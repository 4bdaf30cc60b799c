"""A call in a forked child process (stationplan._process.forked): its value and its
exception come back, a killed child is an error, and leaving the block early leaves no
child behind.

A child is forked only from a process running one Python thread; the test session runs
others (Dask's, the browser's), so the cases with a child run in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from functools import partial
from pathlib import Path

import pytest

from stationplan import _process
from stationplan._process import forked

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="forks on Linux only")


def fresh_python(code: str, tmp_path: Path) -> str:
    """Run ``code`` in a new interpreter (one thread) with stationplan importable; its
    standard output."""
    script = tmp_path / "child_case.py"
    script.write_text(textwrap.dedent(code), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


_HEAD = """
import os, signal, time
from functools import partial
from stationplan._process import forked
parent = os.getpid()
"""


def test_the_call_runs_in_another_process_on_the_parents_memory(tmp_path):
    out = fresh_python(_HEAD + """
double = lambda x: x * 2  # cannot be pickled: reaches the child by fork
with forked(partial(lambda f, x: (os.getpid(), f(x)), double, 21)) as child:
    pid, value = child.result()
print(value, pid != parent)
""", tmp_path)
    assert out.split() == ["42", "True"]


def test_the_childs_exception_is_raised_in_the_parent_with_its_type(tmp_path):
    out = fresh_python(_HEAD + """
def fail():
    raise FileNotFoundError(2, "No such file or directory", "/nowhere/x.parquet")

try:
    with forked(fail) as child:
        child.result()
except FileNotFoundError as exc:
    print(exc.filename, "in fail" in str(exc.__cause__))  # the child's traceback
""", tmp_path)
    assert out.split() == ["/nowhere/x.parquet", "True"]


def test_an_exception_that_cannot_be_pickled_comes_back_as_its_text(tmp_path):
    out = fresh_python(_HEAD + """
def fail():
    class LocalError(Exception):  # a local class cannot be pickled
        pass
    raise LocalError("the writer failed")

try:
    with forked(fail) as child:
        child.result()
except RuntimeError as exc:
    print("LocalError: the writer failed" in str(exc))
""", tmp_path)
    assert out.split() == ["True"]


def test_a_large_value_comes_back_whole(tmp_path):
    # 80 MB, more than a pipe holds many times over; its sum known in closed form
    out = fresh_python(_HEAD + """
import numpy as np
n = 10_000_000
with forked(lambda: (os.getpid(), np.arange(n, dtype=np.int64))) as child:
    pid, value = child.result()
print(pid != parent, len(value), int(value.sum()) == n * (n - 1) // 2)
""", tmp_path)
    assert out.split() == ["True", "10000000", "True"]


def test_a_child_killed_while_writing_its_value_is_an_error(tmp_path):
    # the child's result file is cut short: the parent says so, not what it could read
    out = fresh_python(_HEAD + """
from stationplan import _process
def write_half(call, out_fd, *boxes):
    os.write(out_fd, b"\\x80\\x04")  # the start of a pickle
    os.kill(os.getpid(), signal.SIGKILL)
_process._child = write_half
try:
    with forked(lambda: 1) as child:
        child.result()
except ChildProcessError as exc:
    print(exc)
""", tmp_path)
    assert "killed by signal 9" in out


def test_a_killed_child_is_an_error_not_a_result(tmp_path):
    out = fresh_python(_HEAD + """
def killed():
    if os.getpid() != parent:  # never the test's own process
        os.kill(os.getpid(), signal.SIGKILL)

try:
    with forked(killed) as child:
        child.result()
except ChildProcessError as exc:
    print(exc)
""", tmp_path)
    assert "killed by signal 9" in out


def test_leaving_the_block_early_kills_the_child(tmp_path):
    flag = tmp_path / "written"
    out = fresh_python(_HEAD + f"""
def slow():
    time.sleep(0.5)
    open({str(flag)!r}, "w").write("late")

try:
    with forked(slow) as child:
        pid = child._pid
        raise KeyboardInterrupt
except KeyboardInterrupt:
    pass
try:
    os.waitpid(pid, os.WNOHANG)
except ChildProcessError:
    print("reaped", pid != parent)
time.sleep(1.0)
""", tmp_path)
    assert out.split() == ["reaped", "True"]
    assert not flag.exists()


def _pid_and(value):
    return os.getpid(), value


def test_without_fork_the_call_runs_here_when_asked(monkeypatch):
    with forked(partial(_pid_and, 1), fork=False) as child:
        assert child.result() == (os.getpid(), 1)
    monkeypatch.setattr(_process, "_can_fork", lambda: False)
    with forked(partial(_pid_and, 2)) as child:
        assert child.result() == (os.getpid(), 2)
    with forked(partial(int, "x")) as child, pytest.raises(ValueError, match="invalid literal"):
        child.result()


def test_without_a_child_to_fork_the_call_runs_here(monkeypatch):
    def no_fork():
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(_process, "_can_fork", lambda: True)
    monkeypatch.setattr(os, "fork", no_fork)
    with forked(partial(_pid_and, 5)) as child:
        assert child.result() == (os.getpid(), 5)


def test_no_fork_while_another_python_thread_runs(tmp_path):
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with forked(partial(_pid_and, 3)) as child:
            assert child.result() == (os.getpid(), 3)
    finally:
        stop.set()
        other.join()
    out = fresh_python(_HEAD + """
with forked(partial(os.getpid)) as child:
    print(child.result() != parent)
""", tmp_path)
    assert out.split() == ["True"]


def test_service_areas_split_with_a_forked_child_are_each_stations_own(tmp_path):
    # A map's service areas: above FORK_ABOVE_PIECES a child dissolves every other
    # station's. Forced here on a small city: the same bytes as in one process, and each
    # area the buffered pieces of its station dissolved by geopandas.
    out = fresh_python("""
import os
import geopandas as gpd
import numpy as np
import shapely
import stationplan as sp
from stationplan._render import mapdata
from stationplan._synthetic import synthetic_city

net = synthetic_city(3000, seed=2)
e = net.edges.iloc[::97]
pts = shapely.line_interpolate_point(e.geometry.to_numpy(), 0.5, normalized=True)
stations = gpd.GeoDataFrame({"station_id": [f"S{i}" for i in range(len(pts))],
                             "name": "s", "status": "ok", "reason": ""},
                            geometry=pts, crs=net.crs).to_crs(4326)
cov = sp.compute_coverage(net, sp.snap_stations(net, stations, check_offset=False))
forks = []
fork = os.fork
os.fork = lambda: forks.append(1) or fork()
mapdata.FORK_ABOVE_PIECES = 10**9
alone = mapdata.service_areas(cov)
mapdata.FORK_ABOVE_PIECES = 0
split = mapdata.service_areas(cov)
pieces = cov.pieces[(cov.pieces["status"] == "covered") & cov.pieces["station_id"].notna()]
own = gpd.GeoDataFrame({"sid": pieces["station_id"].to_numpy()},
                       geometry=pieces.buffer(mapdata.SERVICE_BUFFER_M, quad_segs=2).to_numpy(),
                       crs=pieces.crs).dissolve("sid")
want = shapely.simplify(own.geometry.loc[split["station_id"]].to_numpy(),
                        mapdata.SERVICE_SIMPLIFY_M)
print(len(forks), len(split), len(stations),
      shapely.to_wkb(alone.geometry.to_numpy()).tolist() ==
      shapely.to_wkb(split.geometry.to_numpy()).tolist(),
      alone["station_id"].tolist() == split["station_id"].tolist(),
      bool(np.all(shapely.equals(split.geometry.to_numpy(), want))))
""", tmp_path)
    forks, n_areas, n_stations, *same = out.split()
    assert forks == "1" and int(n_areas) > 10 and int(n_areas) <= int(n_stations)
    assert same == ["True", "True", "True"]


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_during_the_fork_is_not_lost(tmp_path, signum):
    # Python runs a signal's handler at its next instruction; when the signal comes while
    # the process forks, that is in the fork's hooks (logging's, ...), where an exception
    # is printed and dropped: Ctrl-C did nothing and the run went on. It is raised once
    # the fork is done, and the child is stopped.
    flag = tmp_path / "written"
    out = fresh_python(_HEAD + f"""
import logging  # its hooks run at every fork, as in a run

def terminate(signum, frame):  # as the command line turns SIGTERM into an interruption
    raise KeyboardInterrupt

signal.signal(signal.SIGTERM, terminate)
armed = []
os.register_at_fork(after_in_parent=lambda: armed and os.kill(os.getpid(), signal.{signum}))

def slow():
    time.sleep(0.5)
    open({str(flag)!r}, "w").write("late")

armed.append(1)
try:
    with forked(slow) as child:
        print("not interrupted")
        child.result()
except KeyboardInterrupt:
    print("interrupted")
armed.clear()
print(signal.getsignal(signal.SIGINT) is signal.default_int_handler,
      signal.getsignal(signal.SIGTERM) is terminate)
time.sleep(1.0)
""", tmp_path)
    assert out.split() == ["interrupted", "True", "True"]
    assert not flag.exists()


def test_a_generator_talks_with_the_parent_and_its_arrays_come_back_whole(tmp_path):
    # each value it yields comes back from receive(), each value sent is its yield's value;
    # the arrays passed are writable and whole (sums in closed form)
    out = fresh_python(_HEAD + """
import numpy as np
def talk(n):
    got = yield os.getpid(), np.arange(n, dtype=np.int64)
    got[0] += 1  # writable on this side too
    more = yield int(got.sum())
    return more * 2, os.getpid()
n = 5_000_000
with forked(partial(talk, n)) as child:
    pid, first = child.receive()
    first[-1] = 0  # writable
    child.send(np.arange(n, dtype=np.int64))
    total = child.receive()
    child.send(21)
    value, pid_again = child.result()
print(pid != parent, pid == pid_again, int(first[:-1].sum()) == (n - 1) * (n - 2) // 2,
      total == n * (n - 1) // 2 + 1, value)
""", tmp_path)
    assert out.split() == ["True", "True", "True", "True", "42"]


def test_a_generators_errors_and_a_value_never_sent(tmp_path):
    out = fresh_python(_HEAD + """
def fails_first():
    raise ValueError("before any value")
    yield
try:
    with forked(fails_first) as child:
        child.receive()
except ValueError as exc:
    print("raised:", exc)
def waits():
    try:
        yield "ready"
    except EOFError as exc:
        return f"told: {exc}"
with forked(waits) as child:
    child.receive()
    print(child.result())  # nothing sent: EOFError at its yield
def returns():
    yield 1
    return 2
with forked(returns) as child:
    child.receive()
    child.send(None)
    try:
        child.receive()
    except EOFError:
        print("returned:", child.result())
def killed():
    os.kill(os.getpid(), signal.SIGKILL)
    yield
try:
    with forked(killed) as child:
        child.receive()
except ChildProcessError as exc:
    print("killed:", "signal 9" in str(exc))
with forked(waits) as child:  # left while the child waits: it is killed
    child.receive()
    pid = child._pid
print("left:", not os.path.exists(f"/proc/{pid}"))
""", tmp_path)
    assert out.splitlines() == [
        "raised: before any value", "told: the parent sent no value", "returned: 2",
        "killed: True", "left: True"]


def _talk_here(n):
    got = yield os.getpid(), list(range(n))
    try:
        more = yield sum(got)
    except EOFError:
        return "no more"
    return more * 2


def test_without_fork_a_generator_runs_here_step_by_step():
    with forked(partial(_talk_here, 4), fork=False) as child:
        with pytest.raises(RuntimeError, match="answers a value"):
            child.send(1)  # nothing received yet
        assert child.receive() == (os.getpid(), [0, 1, 2, 3])
        child.send([5, 6])
        assert child.receive() == 11
        child.send(21)
        with pytest.raises(EOFError, match="returned"):
            child.receive()
        assert child.result() == 42
        with pytest.raises(RuntimeError, match="taken already"):
            child.result()  # once, as from a child
    with forked(partial(_talk_here, 2), fork=False) as child:
        child.receive()
        child.send([1])
        child.receive()
        assert child.result() == "no more"  # nothing sent: EOFError at its yield
    with forked(partial(_pid_and, 1), fork=False) as child, \
            pytest.raises(TypeError, match="not a generator"):
        child.receive()
