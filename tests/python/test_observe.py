"""gort.trace and gort.dump: wired to gort_trace_start/stop and
gort_dump_goroutines. Until the runtime's observability work lands they
report GORT_ENOTSUP, which these tests accept."""
import json
import os
import tempfile

import pytest

import gort


def test_trace_start_stop():
    path = os.path.join(tempfile.mkdtemp(prefix="gort-trace."), "t.json")
    try:
        gort.trace.start(path)
    except gort.GortError as e:
        assert e.code == gort.ENOTSUP
        pytest.skip("libgort has no tracing yet (GORT_ENOTSUP)")
    try:
        with pytest.raises(gort.GortError):
            gort.trace.start(path)  # already running
        sum(gort.go(lambda i=i: i).join() for i in range(100))
    finally:
        gort.trace.stop()
    with open(path) as f:
        json.load(f)
    with pytest.raises(gort.GortError):
        gort.trace.stop()  # not running


def test_dump():
    ch = gort.Chan()

    def parked_here():
        ch.recv()

    g = gort.go(parked_here)
    gort.sleep(0.01)
    try:
        text = gort.dump()
    except gort.GortError as e:
        assert e.code == gort.ENOTSUP
        text = None
    ch.send(None)
    g.join()
    if text is None:
        pytest.skip("libgort cannot dump goroutines yet (GORT_ENOTSUP)")
    assert f"goroutine {g.id}" in text
    assert "parked_here" in text  # its Python stack


def test_python_stacks_show_parked_goroutines():
    ch = gort.Chan()

    def waiting_in_recv():
        ch.recv()

    g = gort.go(waiting_in_recv)
    gort.sleep(0.01)
    stacks = {gid: (name, frame) for gid, name, frame in gort._gort._python_stacks()}
    assert g.id in stacks
    name, frame = stacks[g.id]
    assert name.endswith("waiting_in_recv") and frame.f_code.co_name == "waiting_in_recv"
    ch.send(None)
    g.join()
