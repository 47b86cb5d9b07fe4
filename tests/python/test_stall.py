"""Goroutines blocked in the kernel without telling gort (time.sleep,
socket.recv, a ctypes call, with the GIL released) must not hold up the
others: the runtime's stall detection lends Ps (issue 12). Skipped until the
runtime has it (conftest.py)."""
import ctypes
import socket
import time

import pytest

import gort

pytestmark = pytest.mark.needs_stall_detection

libc = ctypes.CDLL(None)
libc.usleep.argtypes = [ctypes.c_uint]


def test_time_sleep_goroutines_on_one_p_run_in_parallel(procs):
    procs(1)
    t0 = time.monotonic()
    gs = [gort.go(time.sleep, 0.2) for _ in range(10)]
    for g in gs:
        g.join(timeout=30)
    assert time.monotonic() - t0 < 1.5  # serialised it would take 2 s


def ticker_during(block, procs_n, procs):
    """Ticks of a ticker goroutine while another goroutine blocks."""
    procs(procs_n)
    ticks = []
    stop = gort.Chan()

    def tick():
        while gort.select([(stop, "recv"), (gort.after(0.005), "recv")])[0] != 0:
            ticks.append(time.monotonic())

    t = gort.go(tick)
    gort.sleep(0.02)
    start = time.monotonic()
    b = gort.go(block)
    b.join(timeout=30)
    end = time.monotonic()
    stop.close()
    t.join(timeout=30)
    during = [x for x in ticks if start < x < end]
    return during, end - start


def test_ticker_keeps_ticking_during_ctypes_sleep(procs):
    during, span = ticker_during(lambda: libc.usleep(300000), 1, procs)
    assert span >= 0.3
    assert len(during) >= 20, f"{len(during)} ticks in {span:.2f}s"


def test_ticker_keeps_ticking_during_socket_recv(procs):
    a, b = socket.socketpair()

    def blocked():
        return a.recv(1)

    def later():
        gort.sleep(0.3)
        b.send(b"x")

    gort.go(later)
    try:
        during, span = ticker_during(blocked, 1, procs)
    finally:
        a.close()
        b.close()
    assert len(during) >= 20, f"{len(during)} ticks in {span:.2f}s"


def test_blocking_c_calls_at_two_ps(procs):
    procs(2)
    t0 = time.monotonic()
    gs = [gort.go(libc.usleep, 50000) for _ in range(100)]
    for g in gs:
        g.join(timeout=60)
    # serialised on 2 Ps it takes 2.5 s (the speed itself: bench/w9_python.py)
    assert time.monotonic() - t0 < 2.0
    assert gort.stats()["procs_lent"] > 0
