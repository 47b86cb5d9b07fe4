"""gort.go, Goroutine.join/done, exceptions, the scheduler calls, stats."""
import threading
import traceback

import pytest

import gort
from conftest import on_goroutine


def test_result_through_join():
    def add(a, b, *, c=0):
        return a + b + c

    gs = [gort.go(add, i, 1, c=10) for i in range(100)]
    assert [g.join() for g in gs] == [i + 11 for i in range(100)]
    assert all(g.done() for g in gs)
    assert len({g.id for g in gs}) == 100


def test_none_result_and_repr():
    g = gort.go(lambda: None)
    assert g.join() is None
    assert g.join() is None  # joining twice is fine
    assert g.name.startswith(f"goroutine {g.id} (")
    assert "<lambda>" in repr(g) and "finished" in repr(g)


def test_exception_reraised_with_traceback():
    def inner():
        raise KeyError("deep")

    def outer():
        inner()

    g = gort.go(outer)
    with pytest.raises(KeyError) as info:
        g.join()
    names = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "outer" in names and "inner" in names
    with pytest.raises(KeyError):
        g.join()  # and again
    assert "raised" in repr(g)


def test_join_waits_and_times_out():
    ch = gort.Chan()
    g = gort.go(ch.recv)
    with pytest.raises(TimeoutError):
        g.join(timeout=0.05)
    assert not g.done()
    ch.send("late")
    assert g.join(timeout=10) == "late"
    with pytest.raises(ValueError):
        g.join(timeout=-1)


def test_join_from_goroutines_and_threads():
    target = gort.go(gort.sleep, 0.05)
    joiners = [gort.go(target.join) for _ in range(10)]
    out = []
    t = threading.Thread(target=lambda: out.append(target.join()))
    t.start()
    for j in joiners:
        assert j.join() is None
    t.join()
    assert out == [None]


def test_join_self_is_an_error():
    box = gort.Chan(1)

    def me():
        return box.recv().join()

    g = gort.go(me)
    box.send(g)
    with pytest.raises(RuntimeError, match="itself"):
        g.join()


def test_unjoined_exception_is_reported(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args))

    def boom():
        raise ValueError("nobody joins me")

    g = gort.go(boom)
    while not g.done():
        gort.sleep(0.001)
    assert seen == []  # still retrievable through g
    del g  # the last reference: reported now
    assert len(seen) == 1
    assert seen[0].exc_type is ValueError
    assert "nobody joins me" in str(seen[0].exc_value)
    assert seen[0].thread.name.startswith("goroutine ")

    # Dropped at once (nobody holds the Goroutine): reported when it ends.
    def dropped():
        raise OSError("dropped")

    gort.go(dropped)
    for _ in range(1000):
        if len(seen) == 2:
            break
        gort.sleep(0.001)
    assert len(seen) == 2 and seen[1].exc_type is OSError


def test_joined_exception_is_not_reported(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args))
    g = gort.go(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        g.join()
    del g
    assert seen == []


def test_bad_input():
    with pytest.raises(TypeError):
        gort.go()
    with pytest.raises(TypeError):
        gort.go(42)
    with pytest.raises(ValueError):
        gort.sleep(-1)
    with pytest.raises(ValueError):
        gort.sleep(float("nan"))
    with pytest.raises(TypeError):
        gort.sleep("1")
    with pytest.raises(ValueError):
        gort.gomaxprocs(0)
    with pytest.raises(TypeError):
        gort.Goroutine()
    with pytest.raises(gort.GortError) as e:
        gort.init()
    assert e.value.code == gort.EALREADY


def test_gosched_sleep_from_everywhere():
    def body():
        for _ in range(100):
            gort.gosched()
        gort.sleep(0.001)
        gort.sleep(0)
        return gort.goid()

    assert on_goroutine(body) > 0
    gort.gosched()
    gort.sleep(0.001)
    assert gort.goid() == 0
    t = threading.Thread(target=body)
    t.start()
    t.join()


def test_sleep_is_at_least_as_long():
    import time

    def nap():
        t0 = time.monotonic()
        gort.sleep(0.02)
        return time.monotonic() - t0

    assert on_goroutine(nap) >= 0.02
    assert nap() >= 0.02


def test_gomaxprocs_returns_previous(procs):
    cur = gort.gomaxprocs()
    assert cur >= 1
    assert gort.gomaxprocs(1) == cur
    assert gort.gomaxprocs() == 1
    assert on_goroutine(gort.gomaxprocs, 3) == 1
    assert gort.gomaxprocs(cur) == 3


def test_num_goroutine_and_stats():
    # A goroutine counts from its creation until it has exited, and an
    # earlier test's goroutine may still be exiting after its join returned
    # (its result is in before it is gone): such leftovers can only make the
    # count fall. So the 20 are checked by the count with them, and by its
    # fall of at least 20 once they are gone, not against a count before.
    ch = gort.Chan()
    gs = [gort.go(ch.recv) for _ in range(20)]
    live = gort.num_goroutine()
    assert live >= 20
    s = gort.stats()
    assert s["goroutines_live"] >= 20
    for key in ("maxprocs", "goroutines_created", "ms_total", "cgocalls", "callbacks",
                "p_retakes", "steals", "procs_lent"):
        assert key in s and isinstance(s[key], int)
    for _ in gs:
        ch.send(None)
    for g in gs:
        g.join()
    for _ in range(5000):
        if gort.num_goroutine() <= live - 20:
            break
        gort.sleep(0.001)
    assert gort.num_goroutine() <= live - 20


def test_stats_keys_are_the_field_names():
    import ctypes

    lib = ctypes.CDLL(gort._gort.__file__)
    lib.gort_stats_names.restype = ctypes.POINTER(ctypes.c_char_p)
    names, i = [], 0
    arr = lib.gort_stats_names()
    while arr[i] is not None:
        names.append(arr[i].decode())
        i += 1
    assert set(gort.stats()) == {"maxprocs", *names}


def test_goroutine_exit_is_base_exception():
    assert issubclass(gort.GoroutineExit, BaseException)
    assert not issubclass(gort.GoroutineExit, Exception)
    assert issubclass(gort.GortError, RuntimeError)


def test_many_spawned_from_a_goroutine():
    # A spawn storm: the spawner steps back when its queue fills.
    def storm(n):
        gs = [gort.go(lambda i=i: i * 2) for i in range(n)]
        return sum(g.join() for g in gs)

    assert on_goroutine(storm, 20000) == 2 * sum(range(20000))


def test_many_spawned_from_main():
    gs = [gort.go(lambda i=i: i) for i in range(5000)]
    assert sum(g.join() for g in gs) == sum(range(5000))
    # No M per goroutine waiting for the GIL (5,000); Ms for Ps that stall
    # detection lent (a slow, e.g. sanitized, interpreter blocks in the
    # kernel now and then) are compensation, within max_lent_procs.
    s = gort.stats()
    assert s["ms_total"] < 100 + s["procs_lent"]
