"""A pybind11 extension called from goroutines on migrating threads:
gil_scoped_acquire with the GIL held, gil_scoped_release around blocking
work, PyGILState checks (the extension is imported on the main thread
first, as pybind11 modules must be)."""
import os
import sys
import threading

import pytest

import gort
from conftest import build_dir

sys.path.insert(0, os.path.join(build_dir(), "tests", "python"))
probe = pytest.importorskip("gort_pybind_probe")


def test_pybind11_gil_calls_from_goroutines(procs):
    procs(2)
    chans = [gort.Chan() for _ in range(6)]

    def body(k):
        moves, last = 0, threading.get_native_id()
        for i in range(300):
            chans[k].recv()
            assert probe.acquire_held() == 1
            assert probe.thread_state_is_current()
            if i % 50 == 0:
                assert probe.release_then_acquire(200) == 1
            n = threading.get_native_id()
            moves, last = moves + (n != last), n
        return moves

    def feeder():
        for _ in range(300):
            for c in chans:
                c.send(None)

    gs = [gort.go(body, k) for k in range(6)]
    t = threading.Thread(target=feeder)
    t.start()
    moves = [g.join(timeout=120) for g in gs]
    t.join()
    assert sum(moves) > 0
