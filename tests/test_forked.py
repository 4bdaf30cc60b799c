"""A call in a forked child process (stationplan._process.forked): its value and its
exception come back, a killed child is an error, and leaving the block early leaves no
child behind."""

from __future__ import annotations

import os
import signal
import time
from functools import partial

import pytest

from stationplan import _process
from stationplan._process import forked


def _pid_and(value):
    return os.getpid(), value


def _pid_and_applied(fn, value):
    return os.getpid(), fn(value)


def test_the_call_runs_in_another_process_on_the_parents_memory():
    double = lambda x: x * 2  # noqa: E731 - cannot be pickled: reaches the child by fork
    with forked(partial(_pid_and_applied, double, 21)) as child:
        pid, value = child.result()
    assert value == 42
    assert pid != os.getpid()


def test_the_childs_exception_is_raised_in_the_parent_with_its_type():
    def fail():
        raise FileNotFoundError(2, "No such file or directory", "/nowhere/x.parquet")

    with forked(fail) as child, pytest.raises(FileNotFoundError) as info:
        child.result()
    assert info.value.filename == "/nowhere/x.parquet"
    assert "in fail" in str(info.value.__cause__)  # the child's traceback


def test_an_exception_that_cannot_be_pickled_comes_back_as_its_text():
    class LocalError(Exception):  # a local class cannot be pickled
        pass

    def fail():
        raise LocalError("the writer failed")

    with forked(fail) as child, pytest.raises(RuntimeError, match="LocalError: the writer failed"):
        child.result()


def test_a_killed_child_is_an_error_not_a_result():
    def killed():
        os.kill(os.getpid(), signal.SIGKILL)

    with forked(killed) as child, pytest.raises(ChildProcessError,
                                                 match="killed by signal 9"):
        child.result()


def test_leaving_the_block_early_kills_the_child(tmp_path):
    flag = tmp_path / "written"

    def slow():
        time.sleep(0.5)
        flag.write_text("late")

    with pytest.raises(KeyboardInterrupt), forked(slow) as child:
        pid = child._pid
        raise KeyboardInterrupt
    with pytest.raises(ChildProcessError):  # reaped: no such child any more
        os.waitpid(pid, os.WNOHANG)
    time.sleep(1.0)
    assert not flag.exists()


def test_without_fork_the_call_runs_here_when_asked(monkeypatch):
    with forked(partial(_pid_and, 1), fork=False) as child:
        assert child.result() == (os.getpid(), 1)
    monkeypatch.setattr(_process, "_can_fork", lambda: False)
    with forked(partial(_pid_and, 2)) as child:
        assert child.result() == (os.getpid(), 2)
    with forked(partial(int, "x")) as child, pytest.raises(ValueError, match="invalid literal"):
        child.result()


def test_no_fork_while_another_python_thread_runs():
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with forked(partial(_pid_and, 3)) as child:
            assert child.result() == (os.getpid(), 3)
    finally:
        stop.set()
        other.join()
    with forked(partial(_pid_and, 4)) as child:
        assert child.result()[0] != os.getpid()


def test_without_a_child_to_fork_the_call_runs_here(monkeypatch):
    def no_fork():
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", no_fork)
    with forked(partial(_pid_and, 5)) as child:
        assert child.result() == (os.getpid(), 5)
