"""gort.WaitGroup and gort.Mutex: exact counts under contention, timeouts,
misuse, and use from threads."""
import threading

import pytest

import gort


def test_thousand_goroutines_waitgroup_mutex():
    wg = gort.WaitGroup()
    mu = gort.Mutex()
    state = {"n": 0, "inside": 0, "max_inside": 0}
    n, rounds = 1000, 5

    def worker():
        try:
            for _ in range(rounds):
                with mu:
                    state["inside"] += 1
                    state["max_inside"] = max(state["max_inside"], state["inside"])
                    v = state["n"]
                    gort.gosched()  # others run while we hold the lock
                    state["n"] = v + 1
                    state["inside"] -= 1
        finally:
            wg.done()

    wg.add(n)
    for _ in range(n):
        gort.go(worker)
    wg.wait(timeout=120)
    assert state["n"] == n * rounds
    assert state["max_inside"] == 1
    assert wg.count == 0


def test_waitgroup_timeout_and_reuse():
    wg = gort.WaitGroup()
    wg.wait()  # zero: returns at once
    wg.add(2)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.02)
    waiters = [gort.go(wg.wait) for _ in range(5)]
    wg.done()
    wg.done()
    for w in waiters:
        assert w.join(timeout=10) is None
    wg.add()
    gort.go(wg.done)
    wg.wait(timeout=10)


def test_waitgroup_misuse():
    wg = gort.WaitGroup()
    with pytest.raises(ValueError):
        wg.done()
    wg.add(1)
    with pytest.raises(ValueError):
        wg.add(-2)
    assert wg.count == 1
    with pytest.raises(TypeError):
        wg.add("1")
    with pytest.raises(TypeError):
        gort.WaitGroup(1)


def test_mutex_basics():
    mu = gort.Mutex()
    assert not mu.locked()
    mu.lock()
    assert mu.locked() and not mu.try_lock()
    with pytest.raises(TimeoutError):
        mu.lock(timeout=0.01)
    # Go allows another goroutine to unlock
    gort.go(mu.unlock).join()
    assert mu.try_lock()
    mu.unlock()
    with pytest.raises(RuntimeError, match="unlock of unlocked"):
        mu.unlock()
    with pytest.raises(RuntimeError):
        with mu:
            mu.unlock()  # then __exit__ finds it unlocked


def test_mutex_between_threads_and_goroutines():
    mu = gort.Mutex()
    counter = [0]
    per = 300

    def bump():
        for _ in range(per):
            with mu:
                v = counter[0]
                gort.gosched()
                counter[0] = v + 1

    gs = [gort.go(bump) for _ in range(4)]
    ts = [threading.Thread(target=bump) for _ in range(3)]
    for t in ts:
        t.start()
    bump()  # the main thread too
    for t in ts:
        t.join()
    for g in gs:
        g.join()
    assert counter[0] == per * 8


def test_waitgroup_from_threads():
    wg = gort.WaitGroup()
    wg.add(3)
    ts = [threading.Thread(target=wg.done) for _ in range(3)]
    waiter = threading.Thread(target=wg.wait)
    waiter.start()
    for t in ts:
        t.start()
    wg.wait(timeout=10)
    waiter.join()
