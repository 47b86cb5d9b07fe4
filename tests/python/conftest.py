"""Shared set-up of the gort pytest suite.

ctest runs it with /usr/bin/python3 -m pytest and PYTHONPATH pointing at
<build>/python (tests/python/CMakeLists.txt); GORT_BUILD_DIR and
GORT_SOURCE_DIR name the trees for the tests that install or run examples.

The runtime is started once per session with 2 Ps; tests that need 1 P set
it with the `procs` fixture and restore it afterwards.

Marker `needs_stall_detection`: the test needs the runtime to notice a
goroutine blocked in the kernel without telling it (time.sleep, a ctypes
call, socket.recv) and lend another P (issue 12). Such tests are skipped
only while the runtime shows no sign of it: after a 300 ms time.sleep in one
goroutine on 1 P, another goroutine spawned meanwhile must have run.
"""
import os
import subprocess
import sys
import textwrap
import time

import pytest

import gort

gort.init(maxprocs=2)

_stall_probe = None


def runtime_has_stall_detection():
    global _stall_probe
    if _stall_probe is None:
        prev = gort.gomaxprocs(1)
        try:
            started = gort.Chan(1)
            ran = []

            def sleeper():
                started.send(None)
                time.sleep(0.3)  # blocks the M, holding the only P
                return bool(ran)

            a = gort.go(sleeper)
            started.recv()
            gort.go(ran.append, True)
            _stall_probe = a.join(timeout=10)
        finally:
            gort.gomaxprocs(prev)
    return _stall_probe


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_stall_detection: needs the runtime's stall detection (issue 12)")


def pytest_collection_modifyitems(config, items):
    marked = [i for i in items if i.get_closest_marker("needs_stall_detection")]
    if marked and not runtime_has_stall_detection():
        skip = pytest.mark.skip(reason="runtime lacks stall detection (issue 12)")
        for item in marked:
            item.add_marker(skip)


@pytest.fixture
def procs():
    """procs(n): run the test with GOMAXPROCS n (restored afterwards)."""
    saved = []

    def set_procs(n):
        saved.append(gort.gomaxprocs(n))

    yield set_procs
    if saved:
        gort.gomaxprocs(saved[0])


def build_dir():
    return os.environ.get("GORT_BUILD_DIR") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build")


def source_dir():
    return os.environ.get("GORT_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")


def run_python(code, timeout=60, env=None, **kw):
    """Run code in a fresh /usr/bin/python3 (the same PYTHONPATH); return
    the CompletedProcess (text mode)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=e, **kw)


def on_goroutine(fn, *args, **kw):
    """Run fn in a goroutine and return its result (re-raising)."""
    return gort.go(fn, *args, **kw).join(timeout=120)
