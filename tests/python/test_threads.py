"""Every gort call from an ordinary threading.Thread (they enter goroutine
context through the callback path and release the GIL while they wait)."""
import threading

import gort


def everything(on_goroutine=False):
    ch = gort.Chan(1)
    ch.send(1)
    assert ch.recv() == 1
    g = gort.go(lambda: 7)
    assert g.join() == 7
    gort.gosched()
    gort.sleep(0.001)
    assert gort.select([(ch, "recv")], timeout=0.001) == (-1, None, False)
    gort.after(0.001).recv()
    wg = gort.WaitGroup()
    wg.add(1)
    gort.go(wg.done)
    wg.wait()
    with gort.Mutex():
        pass
    with gort.locked_os_thread():
        pass
    gort.lock_os_thread()
    gort.unlock_os_thread()
    assert gort.gomaxprocs() >= 1
    assert gort.num_goroutine() >= 0
    assert "goroutines_live" in gort.stats()
    assert (gort.goid() != 0) == on_goroutine
    return True


def test_everything_from_threads():
    results = []
    ts = [threading.Thread(target=lambda: results.append(everything())) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == [True] * 4


def test_everything_from_main_and_goroutine():
    assert everything()
    assert gort.go(everything, True).join()


def test_threads_do_not_block_goroutines():
    # A thread waiting in gort holds no P and no GIL: goroutines go on.
    ch = gort.Chan()
    t = threading.Thread(target=ch.recv)
    t.start()
    assert sum(gort.go(lambda i=i: i).join() for i in range(100)) == 4950
    ch.send(None)
    t.join()


def test_thread_ping_pong_goroutine():
    a, b = gort.Chan(), gort.Chan()
    n = 2000

    def echo():
        for _ in range(n):
            b.send(a.recv() + 1)

    t = threading.Thread(target=echo)
    t.start()

    def driver():
        for i in range(n):
            a.send(i)
            assert b.recv() == i + 1
        return n

    assert gort.go(driver).join(timeout=60) == n
    t.join()
