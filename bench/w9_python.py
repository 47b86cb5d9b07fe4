"""W9 python: gort's rows beside the Python peers of ../shared/anchors
(python/w9_greenlet.py, python/w9_peers.py), same workloads and units.

  W9-python-spawn      gort.go + run + join per goroutine (the body increments
                       a counter; all spawned, then all joined, as asyncio's
                       gather), from a goroutine, 1 P. ns per goroutine.
  W9-python-switch     two goroutines gort.gosched() to each other on 1 P.
                       ns per switch.
  W9-python-chan       ping-pong through unbuffered gort.Chan between two
                       goroutines, 1 P. ns per round trip.
  W9-python-blockingc  100 goroutines each make one blocking C call (libc
                       usleep, 50 ms, plain ctypes: no gort call around it),
                       2 Ps; wall time until all are done, ms. The runtime must
                       notice the stalled Ms and lend Ps (stall detection):
                       init(max_lent_procs=128).

  W9-python-ccall      an empty C function called through gort.ffi from a
                       goroutine, 1 P (a cgocall each). ns per call.
  W9-python-callback   C calls a gort.ffi.callback int(int) N times, from a
                       thread the C library creates (gort-cthread-P1) and
                       from the calling thread (gort-here-P1). ns per call.
  W9-python-blockingc  gort-ffi-P2: the blockingc workload through gort.ffi
                       (usleep as a cgocall).

Rows: `W9-python-spawn gort-P1 <ns> ns/task`, `W9-python-switch gort-P1 <ns>
ns/switch`, `W9-python-chan gort-P1 <ns> ns/roundtrip`, `W9-python-blockingc
gort-P2 <ms> ms`, `W9-python-ccall gort-P1 <ns> ns/call`, `W9-python-callback
gort-cthread-P1|gort-here-P1 <ns> ns/call`, `W9-python-blockingc gort-ffi-P2
<ms> ms`, and `-main` variants of spawn and chan driven from the main thread
(not a goroutine). The ffi rows need the project's C test library
(tests/python/ffi_testlib.c: the anchors' cthread.c workloads), found in the
build tree or at $GORT_FFI_TESTLIB.

Usage: PYTHONPATH=<build>/python /usr/bin/python3 bench/w9_python.py
       [SPAWN_N] [SWITCH_N] [CHAN_N] [CALL_N] [CB_N]
       (100000, 1000000, 100000, 1000000, 200000)
"""
import os
import ctypes
import sys
import time

import gort
import gort.ffi

N_BLOCK, BLOCK_US = 100, 50000


def out(workload, impl, value, unit):
    print(f"{workload} {impl} {value:.1f} {unit}", flush=True)


def spawn(n):
    count = 0

    def body():
        nonlocal count
        count += 1

    t0 = time.perf_counter_ns()
    gs = [gort.go(body) for _ in range(n)]
    for g in gs:
        g.join()
    d = time.perf_counter_ns() - t0
    assert count == n, (count, n)
    return d / n


def switch(n):
    half = n // 2

    def body():
        for _ in range(half):
            gort.gosched()

    t0 = time.perf_counter_ns()
    a, b = gort.go(body), gort.go(body)
    a.join()
    b.join()
    return (time.perf_counter_ns() - t0) / n


def chan(n):
    a, b = gort.Chan(), gort.Chan()

    def echo():
        for _ in range(n):
            b.send(a.recv())

    g = gort.go(echo)
    t0 = time.perf_counter_ns()
    for i in range(n):
        a.send(i)
        assert b.recv() == i
    d = time.perf_counter_ns() - t0
    g.join()
    return d / n


def blockingc():
    libc = ctypes.CDLL(None)
    libc.usleep.argtypes = [ctypes.c_uint]
    t0 = time.perf_counter_ns()
    gs = [gort.go(libc.usleep, BLOCK_US) for _ in range(N_BLOCK)]
    for g in gs:
        g.join()
    return (time.perf_counter_ns() - t0) / 1e6


def ffi_library():
    here = os.path.dirname(os.path.abspath(gort.__file__))
    path = os.environ.get("GORT_FFI_TESTLIB") or os.path.join(
        here, "..", "..", "tests", "python", "libgort_ffi_test.so")
    return gort.ffi.CDLL(path) if os.path.exists(path) else None


def ccall(lib, n):
    empty = lib.function("empty", "void", [])

    def loop():
        for _ in range(n):
            empty()

    loop()  # warm-up
    t0 = time.perf_counter_ns()
    loop()
    return (time.perf_counter_ns() - t0) / n


def callback(lib, name, n):
    cb = gort.ffi.callback(lambda x: x + 1, "int", ["int"])
    f = lib.function(name, "long", ["pointer", "long"])
    want = sum((i & 0xff) + 1 for i in range(n))
    t0 = time.perf_counter_ns()
    got = f(cb, n)
    d = time.perf_counter_ns() - t0
    assert got == want, (got, want)
    return d / n


def blockingc_ffi():
    usleep = gort.ffi.CDLL(None).function("usleep", "int", ["uint32"])
    t0 = time.perf_counter_ns()
    gs = [gort.go(usleep, BLOCK_US) for _ in range(N_BLOCK)]
    for g in gs:
        g.join()
    return (time.perf_counter_ns() - t0) / 1e6


def on_goroutine(fn, *args):
    return gort.go(fn, *args).join()


def main():
    spawn_n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    switch_n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000000
    chan_n = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    call_n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000000
    cb_n = int(sys.argv[5]) if len(sys.argv) > 5 else 200000
    gort.init(maxprocs=1, max_lent_procs=128)
    on_goroutine(spawn, spawn_n // 10)  # warm-up
    out("W9-python-spawn", "gort-P1", on_goroutine(spawn, spawn_n), "ns/task")
    out("W9-python-spawn", "gort-P1-main", spawn(spawn_n), "ns/task")
    on_goroutine(switch, switch_n // 10)
    out("W9-python-switch", "gort-P1", on_goroutine(switch, switch_n), "ns/switch")
    out("W9-python-chan", "gort-P1", on_goroutine(chan, chan_n), "ns/roundtrip")
    out("W9-python-chan", "gort-P1-main", chan(chan_n // 10), "ns/roundtrip")
    lib = ffi_library()
    if lib is None:
        print("# w9_python: no ffi test library (build the tree): ffi rows skipped",
              file=sys.stderr)
    else:
        out("W9-python-ccall", "gort-P1", on_goroutine(ccall, lib, call_n), "ns/call")
        for impl, name in (("gort-cthread-P1", "call_from_thread"), ("gort-here-P1", "call_here")):
            out("W9-python-callback", impl, on_goroutine(callback, lib, name, cb_n), "ns/call")
    gort.gomaxprocs(2)
    out("W9-python-blockingc", "gort-P2", on_goroutine(blockingc), "ms")
    out("W9-python-blockingc", "gort-ffi-P2", on_goroutine(blockingc_ffi), "ms")


if __name__ == "__main__":
    main()
