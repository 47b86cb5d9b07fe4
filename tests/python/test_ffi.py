"""gort.ffi: every type both ways, structs by value, variadics, callbacks
from C's own threads, blocking calls that do not hold up other goroutines,
and bad input for every entry point."""
import array
import ctypes
import os
import threading
import time

import pytest

import gort
from gort import ffi
from conftest import build_dir

LIB = os.environ.get("GORT_FFI_TESTLIB") or os.path.join(
    build_dir(), "tests", "python", "libgort_ffi_test.so")
pytestmark = pytest.mark.skipif(not os.path.exists(LIB), reason="ffi test library not built")

VALUES = {
    "bool": [True, False],
    "int8": [-128, 0, 127], "uint8": [0, 255],
    "int16": [-32768, 32767], "uint16": [0, 65535],
    "int32": [-2**31, 2**31 - 1], "uint32": [0, 2**32 - 1],
    "int64": [-2**63, 2**63 - 1], "uint64": [0, 2**64 - 1],
    "float": [0.5, -1.25], "double": [1e300, -2.5],
    "pointer": [0, 0xdeadbeef], "size_t": [0, 2**64 - 1], "ssize_t": [-1, 2**63 - 1],
    "long": [-2**63, 5], "ulong": [2**64 - 1],
    "int": [-7], "uint": [7],
}
SYMBOL = {"int": "int32", "uint": "uint32"}


@pytest.fixture(scope="module")
def lib():
    return ffi.CDLL(LIB)


@pytest.mark.parametrize("t", sorted(VALUES))
def test_scalars_both_ways(lib, t):
    sym = SYMBOL.get(t, t)
    ident = lib.function(f"id_{sym}", t, [t])
    through_cb = lib.function(f"cb_{sym}", t, ["pointer", t])
    seen = []

    def echo(x):
        seen.append(x)
        return x

    cb = ffi.callback(echo, t, [t])
    for v in VALUES[t]:
        assert ident(v) == v
        assert gort.go(ident, v).join() == v
        assert through_cb(cb, v) == v
    assert seen == VALUES[t]


def test_many_mixed_arguments(lib):
    mix = lib.function("mix", "double",
                       ["int8", "uint16", "int32", "int64", "float", "double", "uint8", "pointer"])
    assert mix(-1, 2, -3, 4, 0.5, 0.25, 6, None) == -1 + 2 - 3 + 4 + 0.5 + 0.25 + 6
    assert mix(0, 0, 0, 0, 0, 0, 0, b"x") == 1000


Small = ffi.Struct([("a", "int32"), ("b", "int8")], "Small")
Mixed = ffi.Struct([("f", "float"), ("i", "int32"), ("d", "double")], "Mixed")
Big = ffi.Struct([("d0", "double"), ("d1", "double"), ("d2", "double"), ("d3", "double"),
                  ("n", "int64")], "Big")
Nested = ffi.Struct([("s", Small), ("m", Mixed), ("tail", "uint8")], "Nested")


def test_struct_layout_matches_c(lib):
    for cls, fn in ((Small, "sizeof_small"), (Mixed, "sizeof_mixed"), (Big, "sizeof_big"),
                    (Nested, "sizeof_nested")):
        assert cls._size_ == lib.function(fn, "size_t", [])()
    assert Nested.m.__doc__.endswith(f"offset {lib.function('offsetof_nested_m', 'size_t', [])()}")


def test_structs_by_value(lib):
    assert lib.function("small_make", Small, ["int32", "int8"])(7, -2) == Small(7, -2)
    assert lib.function("small_sum", "int64", [Small])(Small(a=40, b=2)) == 42
    m = lib.function("mixed_scale", Mixed, [Mixed, "double"])(Mixed(1.5, 3, 2.5), 2.0)
    assert (m.f, m.i, m.d) == (3.0, 6, 5.0)
    big = lib.function("big_make", Big, ["double", "int64"])(10.0, 5)
    assert (big.d0, big.d3, big.n) == (10.0, 13.0, 5)
    assert lib.function("big_sum", "double", [Big])(big) == 10 + 11 + 12 + 13 + 5
    n = Nested(Small(1, 2), Mixed(3.0, 4, 5.0), 6)
    out = gort.go(lib.function("nested_bump", Nested, [Nested]), n).join()
    assert out.s == Small(2, 3) and out.m == Mixed(4.0, 5, 6.0) and out.tail == 7
    n.s.a = 100  # a nested field is a view
    assert n.s.a == 100 and n._asdict()["s"].a == 100


def test_struct_callback(lib):
    def scale(s, k):
        return Small(s.a * k, s.b + 1)

    cb = ffi.callback(scale, Small, [Small, "int32"])
    f = lib.function("cb_small", Small, ["pointer", Small, "int32"])
    assert f(cb, Small(3, 4), 5) == Small(15, 5)


def test_variadic_snprintf():
    libc = ffi.CDLL(None)
    snprintf = libc.function("snprintf", "int",
                             ["pointer", "size_t", "pointer", "int", "double", "pointer"], nfixed=3)
    buf = bytearray(64)
    n = snprintf(buf, len(buf), b"%d|%.3f|%s\0", 42, 2.5, b"ok\0")
    assert buf[:n] == b"42|2.500|ok"


def test_pointer_arguments(lib):
    fill = lib.function("fill", "int32", ["pointer", "int32", "uint8"])
    ba = bytearray(8)
    assert fill(ba, 8, 7) == 8 and ba == bytearray([7] * 8)
    arr = array.array("B", [0] * 4)
    fill(arr, 4, 9)
    assert list(arr) == [9] * 4
    cbuf = (ctypes.c_uint8 * 3)()
    fill(cbuf, 3, 5)
    assert list(cbuf) == [5] * 3
    fill(ctypes.cast(cbuf, ctypes.c_void_p), 3, 6)
    assert list(cbuf) == [6] * 3
    fill(ctypes.addressof(cbuf), 3, 1)
    assert list(cbuf) == [1] * 3
    mv = memoryview(ba)[2:4]
    fill(mv, 2, 3)
    assert ba == bytearray([7, 7, 3, 3, 7, 7, 7, 7])


def test_callback_from_c_threads(lib):
    calls = []
    lock = threading.Lock()

    def cb(i):
        with lock:
            calls.append(gort.goid())
        return i

    c = ffi.callback(cb, "int64", ["int64"])
    run = lib.function("run_threads", "int64", ["pointer", "int32", "int64"])
    n_threads, per = 4, 2000
    assert run(c, n_threads, per) == n_threads * per * (per - 1) // 2
    assert len(calls) == n_threads * per
    assert all(g > 0 for g in calls)  # each ran as goroutine code
    # and from a goroutine driving it
    assert gort.go(run, c, 2, 100).join() == 2 * 4950


def test_callback_on_the_calling_goroutine_parks_and_calls_c(lib, procs):
    # C that a goroutine called through gort.ffi runs on the goroutine's own
    # stack; its callbacks run there as that goroutine, may park (here on a
    # channel fed by another goroutine, on 1 P) and call C again, and every
    # one comes back to the thread the C frames below it live on.
    procs(1)
    n = 300
    ch = gort.Chan()
    fill = lib.function("fill", "int32", ["pointer", "int32", "uint8"])
    call_here = lib.function("call_here", "long", ["pointer", "long"])
    seen = []

    def cb(x):
        buf = bytearray(16)
        assert fill(buf, 16, 7) == 16
        seen.append((gort.goid(), threading.get_native_id()))
        return x + ch.recv() + buf[3]

    c = ffi.callback(cb, "int", ["int"])

    def feeder():
        for i in range(n):
            ch.send(i)

    def caller():
        return gort.goid(), call_here(c, n)

    f = gort.go(feeder)
    goid, got = gort.go(caller).join()
    f.join()
    assert got == sum((i & 0xff) + i + 7 for i in range(n))
    assert len(seen) == n
    assert {g for g, _ in seen} == {goid}
    assert len({t for _, t in seen}) == 1


def test_callback_exception_returns_error_value(lib):
    seen = []
    old = __import__("sys").unraisablehook
    __import__("sys").unraisablehook = lambda u: seen.append(u.exc_type)
    try:
        def bad(x):
            raise RuntimeError("in callback")

        f = lib.function("cb_int32", "int32", ["pointer", "int32"])
        assert f(ffi.callback(bad, "int32", ["int32"], error=-1), 5) == -1
        assert f(ffi.callback(bad, "int32", ["int32"]), 5) == 0
        assert f(ffi.callback(lambda x: "not an int", "int32", ["int32"], error=-9), 5) == -9
    finally:
        __import__("sys").unraisablehook = old
    assert seen == [RuntimeError, RuntimeError, TypeError]


def test_callback_release(lib):
    c = ffi.callback(lambda x: x, "int32", ["int32"])
    addr = c.address
    assert isinstance(addr, int) and addr != 0
    c.release()
    with pytest.raises(ValueError):
        c.address
    f = lib.function("cb_int32", "int32", ["pointer", "int32"])
    with pytest.raises(ValueError):
        f(c, 1)  # refused before C sees it
    c.release()  # twice is fine


def test_blocking_calls_do_not_hold_up_goroutines(lib, procs):
    procs(1)
    sleep_ms = lib.function("sleep_ms", "void", ["int32"])
    ticks = []
    stop = gort.Chan()

    def ticker():
        while gort.select([(stop, "recv"), (gort.after(0.005), "recv")])[0] != 0:
            ticks.append(time.monotonic())

    t = gort.go(ticker)
    t0 = time.monotonic()
    a, b = gort.go(sleep_ms, 400), gort.go(sleep_ms, 400)
    a.join()
    b.join()
    elapsed = time.monotonic() - t0
    stop.close()
    t.join()
    assert elapsed < 0.7, f"two 400 ms C sleeps on 1 P took {elapsed:.2f}s"
    assert len([x for x in ticks if t0 < x < t0 + elapsed]) >= 20


def test_bad_input(lib):
    with pytest.raises(OSError, match="nonexistent"):
        ffi.CDLL("/nonexistent/libnothing.so")
    with pytest.raises(AttributeError, match="no_such_symbol"):
        lib.function("no_such_symbol", "int", [])
    with pytest.raises(ValueError, match="argument 1: unknown type"):
        lib.function("id_int32", "int32", ["int33"])
    with pytest.raises(ValueError, match="void is only a return type"):
        lib.function("id_int32", "int32", ["void"])
    with pytest.raises(TypeError):
        lib.function("id_int32", "int32", [int])
    f = lib.function("id_int8", "int8", ["int8"])
    with pytest.raises(TypeError, match="takes 1 arguments"):
        f()
    with pytest.raises(TypeError, match="argument 1"):
        f("x")
    with pytest.raises(ValueError, match="argument 1.*out of range"):
        f(200)
    with pytest.raises(ValueError):
        lib.function("id_uint8", "uint8", ["uint8"])(-1)
    with pytest.raises(TypeError, match="argument 1"):
        lib.function("small_sum", "int64", [Small])(Mixed())
    with pytest.raises(ValueError):
        lib.function("mix", "double", ["int"] * 65)
    with pytest.raises(ValueError):
        ffi.CDLL(None).function("snprintf", "int", ["pointer"], nfixed=2)
    with pytest.raises(TypeError):
        ffi.callback(42, "int", [])
    with pytest.raises(ValueError):
        ffi.Struct([])
    with pytest.raises(ValueError):
        ffi.Struct([("a", "int"), ("a", "int")])
    with pytest.raises(TypeError):
        Small(1, 2, 3)
    with pytest.raises(ValueError):
        Small(a=2**40)


def count_thread_states():
    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
    n, ts = 0, api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
    while ts:
        n, ts = n + 1, api.PyThreadState_Next(ts)
    return n


def test_c_threads_thread_states_go_with_them(lib):
    c = ffi.callback(lambda i: i, "int64", ["int64"])
    run = lib.function("run_threads", "int64", ["pointer", "int32", "int64"])
    run(c, 4, 10)
    before = count_thread_states()
    for _ in range(20):
        assert run(c, 4, 10) == 4 * 45  # 80 threads, each with a thread state while it lives
    assert count_thread_states() <= before + 2
