"""gort.Chan, gort.select and gort.after, between goroutines, the main
thread and threading.Threads."""
import gc
import sys
import threading
import time

import pytest

import gort
from conftest import on_goroutine


def test_unbuffered_between_goroutines():
    ch = gort.Chan()
    n = 2000

    def producer():
        for i in range(n):
            ch.send(i)
        ch.close()

    def consumer():
        return list(ch)  # iteration ends at close

    p, c = gort.go(producer), gort.go(consumer)
    assert c.join() == list(range(n))
    p.join()


def test_values_keep_identity_and_refcounts():
    ch = gort.Chan(4)
    obj = object()
    before = sys.getrefcount(obj)
    ch.send(obj)
    assert sys.getrefcount(obj) == before + 1  # the channel holds it
    assert ch.recv() is obj
    assert sys.getrefcount(obj) == before
    # values still buffered when the channel goes are released
    ch.send(obj)
    ch.send(obj)
    del ch
    gc.collect()
    assert sys.getrefcount(obj) == before


def test_buffered_len_cap_close_drain():
    ch = gort.Chan(3)
    assert ch.cap == 3 and len(ch) == 0
    assert ch.try_send(1) and ch.try_send(2) and ch.try_send(3)
    assert not ch.try_send(4)
    assert len(ch) == 3
    ch.close()
    with pytest.raises(gort.ChanClosed):
        ch.send(5)
    with pytest.raises(gort.ChanClosed):
        ch.try_send(5)
    with pytest.raises(gort.ChanClosed):
        ch.close()
    assert ch.recv() == 1
    assert ch.recv2() == (2, True)
    assert ch.try_recv() == (3, True)
    assert ch.recv2() == (None, False)
    with pytest.raises(gort.ChanClosed):
        ch.recv()
    with pytest.raises(gort.ChanClosed):
        ch.try_recv()
    assert list(ch) == []


def test_try_ops_would_block():
    ch = gort.Chan()
    assert ch.try_recv() == (None, False)
    assert not ch.try_send("x")  # nobody receives
    assert gort.Chan(0).cap == 0
    assert "cap=0" in repr(ch)


def test_timeouts_everywhere():
    ch = gort.Chan()

    def timed():
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0.03)
        with pytest.raises(TimeoutError):
            ch.send(1, timeout=0.03)
        with pytest.raises(TimeoutError):
            ch.recv2(timeout=0)
        return time.monotonic() - t0

    assert timed() >= 0.06
    assert on_goroutine(timed) >= 0.06
    t = threading.Thread(target=timed)
    t.start()
    t.join()


def test_main_thread_and_goroutines():
    req, rep = gort.Chan(), gort.Chan()

    def server():
        for x in req:
            rep.send(x * x)

    s = gort.go(server)
    for i in range(500):
        req.send(i)
        assert rep.recv() == i * i
    req.close()
    s.join()


def test_threads_and_goroutines():
    ch = gort.Chan(8)
    total = gort.Chan(1)
    n_threads, per = 4, 500

    def thread_producer(k):
        for i in range(per):
            ch.send(k * per + i)

    def goroutine_consumer():
        s = 0
        for _ in range(n_threads * per):
            s += ch.recv()
        total.send(s)

    g = gort.go(goroutine_consumer)
    ts = [threading.Thread(target=thread_producer, args=(k,)) for k in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    g.join()
    n = n_threads * per
    assert total.recv() == n * (n - 1) // 2


def test_goroutines_feed_threads():
    ch = gort.Chan()
    got = []

    def thread_consumer():
        got.extend(ch)

    t = threading.Thread(target=thread_consumer)
    t.start()

    def producer():
        for i in range(300):
            ch.send(i)
        ch.close()

    gort.go(producer).join()
    t.join()
    assert got == list(range(300))


def test_select_default_and_timeout():
    a, b = gort.Chan(), gort.Chan(1)
    assert gort.select([(a, "recv"), (b, "recv")], default=True) == (-1, None, False)
    assert gort.select([], default=True) == (-1, None, False)
    t0 = time.monotonic()
    assert gort.select([(a, "recv")], timeout=0.03) == (-1, None, False)
    assert time.monotonic() - t0 >= 0.03
    assert gort.select([(None, "recv")], timeout=0.01) == (-1, None, False)
    b.send("v")
    assert gort.select([(a, "recv"), (b, "recv")]) == (1, "v", True)
    assert gort.select([(a, "send", 1), (b, "send", 2)]) == (1, None, True)
    assert b.recv() == 2
    b.close()
    assert gort.select([(a, "recv"), (b, "recv")]) == (1, None, False)
    with pytest.raises(gort.ChanClosed):
        gort.select([(b, "send", 3)])


def test_select_uniform_among_ready():
    chans = [gort.Chan(1000) for _ in range(3)]
    for c in chans:
        for i in range(300):
            c.send(i)
    counts = [0, 0, 0]
    for _ in range(600):
        i, _, ok = gort.select([(c, "recv") for c in chans])
        assert ok
        counts[i] += 1
    assert all(c > 120 for c in counts), counts


def test_select_in_goroutines_sends_once():
    out = gort.Chan()
    stop = gort.Chan()
    sent = []

    def sender():
        i = 0
        while True:
            idx, _, _ = gort.select([(out, "send", i), (stop, "recv")])
            if idx == 1:
                return i
            sent.append(i)
            i += 1

    g = gort.go(sender)
    got = [out.recv() for _ in range(200)]
    stop.close()
    n = g.join()
    assert got == list(range(200)) and n == 200 and sent == got


def test_select_bad_input():
    ch = gort.Chan()
    with pytest.raises(TypeError):
        gort.select(42)
    with pytest.raises(TypeError):
        gort.select([(ch,)])
    with pytest.raises(ValueError):
        gort.select([(ch, "peek")])
    with pytest.raises(ValueError):
        gort.select([(ch, "send")])
    with pytest.raises(TypeError):
        gort.select([("not a chan", "recv")])
    with pytest.raises(TypeError):
        gort.select([(gort.after(1), "send", 1)])
    with pytest.raises(ValueError):
        gort.Chan(-1)
    with pytest.raises(TypeError):
        gort.Chan("x")


def test_after():
    t0 = time.monotonic()
    a = gort.after(0.02)
    fired = a.recv()
    assert time.monotonic() - t0 >= 0.02
    assert t0 < fired <= time.monotonic()
    with pytest.raises(TypeError):
        a.send(1)
    with pytest.raises(TypeError):
        a.close()
    # as a timeout in select, from a goroutine
    ch = gort.Chan()
    assert on_goroutine(gort.select, [(ch, "recv"), (gort.after(0.01), "recv")])[0] == 1
    # released before it fires: nothing happens
    for _ in range(100):
        gort.after(10)
    gc.collect()


def test_blocked_waiters_wake_on_close():
    ch = gort.Chan()
    gs = [gort.go(ch.recv2) for _ in range(50)]
    ts = []
    res = []
    for _ in range(3):
        t = threading.Thread(target=lambda: res.append(ch.recv2()))
        t.start()
        ts.append(t)
    gort.sleep(0.02)
    ch.close()
    assert [g.join(timeout=10) for g in gs] == [(None, False)] * 50
    for t in ts:
        t.join()
    assert res == [(None, False)] * 3
