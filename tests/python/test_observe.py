"""gort.trace and gort.dump: wired to gort_trace_start/stop and
gort_dump_goroutines."""
import json
import os
import tempfile
import time

import pytest

import gort


def wait_until(pred, what, timeout=10.0):
    """Polls pred (a state of the runtime, not a time) until it holds."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        gort.sleep(0.001)


def test_trace_start_stop():
    path = os.path.join(tempfile.mkdtemp(prefix="gort-trace."), "t.json")
    gort.trace.start(path)
    try:
        with pytest.raises(gort.GortError) as e:
            gort.trace.start(path)  # already running
        assert e.value.code == gort.EALREADY
        gs = [gort.go(lambda i=i: i) for i in range(100)]
        assert sum(g.join() for g in gs) == sum(range(100))
    finally:
        gort.trace.stop()
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    ran = {e["args"]["goid"] for e in events
           if e.get("ph") == "B" and e.get("cat") == "goroutine"}
    assert {g.id for g in gs} <= ran  # every goroutine has a run slice
    with pytest.raises(ValueError):  # GORT_EINVAL: no trace is running
        gort.trace.stop()


def test_trace_context_manager_and_bad_path():
    path = os.path.join(tempfile.mkdtemp(prefix="gort-trace."), "t.json")
    with gort.trace.tracing(path):
        gort.go(lambda: None).join()
    with open(path) as f:
        assert json.load(f)["traceEvents"]
    with pytest.raises(ValueError):
        gort.trace.start("/nonexistent-dir/t.json")


def test_dump():
    ch = gort.Chan()

    def parked_here():
        ch.recv()

    g = gort.go(parked_here)
    marker = f"goroutine {g.id} "
    text = ""

    def parked():
        nonlocal text
        text = gort.dump()
        # (Chan.recv waits in a select: it also watches for exit requests)
        return any(line.startswith(marker) and ("[select" in line or "[chan receive" in line)
                   for line in text.splitlines())

    try:
        wait_until(parked, "the goroutine to park in recv")
    finally:
        ch.send(None)
        g.join()
    assert "parked_here" in text  # its Python stack


def test_python_stacks_show_parked_goroutines():
    ch = gort.Chan()
    started = gort.Chan(1)

    def waiting_in_recv():
        started.send(True)
        ch.recv()

    g = gort.go(waiting_in_recv)
    assert started.recv()
    stacks = {gid: (name, frame, st) for gid, name, frame, st in gort._gort._python_stacks()}
    assert g.id in stacks
    name, frame, st = stacks[g.id]
    assert st and name.endswith("waiting_in_recv") and frame.f_code.co_name == "waiting_in_recv"
    ch.send(None)
    g.join()


def _dump_entry(text, gid):
    """The lines of the dump's "Python goroutines:" part for goroutine gid."""
    part = text.split("Python goroutines:", 1)[1].splitlines()
    at = next(i for i, line in enumerate(part) if line.startswith(f"goroutine {gid} "))
    rest = part[at + 1:]
    end = next((i for i, line in enumerate(rest) if line.startswith("goroutine ")), len(rest))
    return rest[:end]


def test_dump_tells_a_goroutine_not_started_from_one_in_c(procs):
    # One in C with no Python frame at all (read(2) through gort.ffi, called
    # directly: it waits in a blocking region, its P handed off), one that
    # has not started (spawned on the only P by the goroutine that dumps).
    read = gort.ffi.CDLL(None).function("read", "ssize_t", ["int", "pointer", "size_t"])
    r, w = os.pipe()
    buf = bytearray(1)
    try:
        in_c = gort.go(read, r, buf, 1)
        for _ in range(2000):
            if any(gid == in_c.id and st for gid, _, _, st in gort._gort._python_stacks()):
                break
            time.sleep(0.005)
        procs(1)

        def later_fn():
            return 7

        def spawn_and_dump():
            # On the only P, without a scheduling point in between: the new
            # goroutine cannot have started when the dump is taken.
            g = gort.go(later_fn)
            return g, gort.dump()

        later, text = gort.go(spawn_and_dump).join(timeout=60)
        assert later.join(timeout=60) == 7
        assert _dump_entry(text, later.id) == ["  (not started)"]
        assert _dump_entry(text, in_c.id) == [
            "  (no Python frame: it runs the C function it was started with)"]
    finally:
        os.write(w, b"x")
        assert in_c.join(timeout=60) == 1 and buf == b"x"
        os.close(r)
        os.close(w)
