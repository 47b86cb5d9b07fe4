"""Shared set-up of the gort pytest suite.

ctest runs it with /usr/bin/python3 -m pytest and PYTHONPATH pointing at
<build>/python (tests/python/CMakeLists.txt); GORT_BUILD_DIR and
GORT_SOURCE_DIR name the trees for the tests that install or run examples.

The runtime is started once per session with 2 Ps; tests that need 1 P set
it with the `procs` fixture and restore it afterwards.

A suite that hangs fails with its stacks instead of running into ctest's
timeout silently (GORT_PYTEST_WATCHDOG_S, default 780 of ctest's 900 s):
30 s before the limit a Python thread writes gort.dump() (goroutines, their
C and Python stacks) to stderr, and at the limit faulthandler's own thread,
which needs no GIL, writes every thread's Python stack and ends the process.
Both threads are started once per session.

Marker `needs_stall_detection`: the test needs the runtime to notice a
goroutine blocked in the kernel without telling it (time.sleep, a ctypes
call, socket.recv) and lend another P (issue 12). Such tests are skipped
only while the runtime shows no sign of it: after a 300 ms time.sleep in one
goroutine on 1 P, another goroutine spawned meanwhile must have run.
"""
import faulthandler
import os
import subprocess
import sys
import textwrap
import threading
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


_suite_done = threading.Event()


def _start_watchdog(config):
    limit = float(os.environ.get("GORT_PYTEST_WATCHDOG_S", "780"))
    if limit <= 0:
        return
    # The process's own stderr, not the capture pytest puts on fd 2 (its
    # file would go with the process).
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.suspend_global_capture()
    err = os.fdopen(os.dup(2), "w")
    if capman is not None:
        capman.resume_global_capture()
    faulthandler.dump_traceback_later(limit, exit=True, file=err)

    def dump_early():
        if _suite_done.wait(max(limit - 30, 1)):
            return
        try:
            text = gort.dump()
        except Exception as e:  # (the dump itself must not hide the hang)
            text = f"gort.dump() failed: {e!r}"
        err.write(f"\ngort tests: still running after {limit - 30:.0f} s; "
                  f"the runtime's goroutines:\n{text}\n")
        err.flush()

    threading.Thread(target=dump_early, name="gort-test-watchdog", daemon=True).start()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_stall_detection: needs the runtime's stall detection (issue 12)")
    _start_watchdog(config)


def pytest_unconfigure(config):
    _suite_done.set()
    faulthandler.cancel_dump_traceback_later()


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
