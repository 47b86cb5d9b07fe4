"""The scheduler at work, watched from inside: worker goroutines mix channel
traffic, gort.sleep and blocking C calls (libc usleep through ctypes, which
stalls its M until the runtime lends a P), while a monitor goroutine prints
gort.stats() every 100 ms using gort.select over a ticker and a done channel.

Run from the build tree:  PYTHONPATH=build/python /usr/bin/python3 examples/python/stats_monitor.py
"""
import ctypes

import gort

libc = ctypes.CDLL(None)
libc.usleep.argtypes = [ctypes.c_uint]
FIELDS = ("goroutines_live", "ms_total", "ms_idle", "cgocalls", "steals", "handoffs",
          "p_retakes", "procs_lent")


def worker(k, ch, wg):
    try:
        for i in range(40):
            if i % 10 == k % 10:
                libc.usleep(2000)  # plain blocking C call
            elif i % 3 == 0:
                gort.sleep(0.002)
            else:
                ch.send((k, i))
    finally:
        wg.done()


def sink(ch):
    n = 0
    for _ in ch:
        n += 1
    return n


def monitor(done):
    print("  t(ms) " + " ".join(f"{f:>15}" for f in FIELDS))
    t = 0
    while True:
        idx, _, _ = gort.select([(done, "recv"), (gort.after(0.1), "recv")])
        s = gort.stats()
        print(f"{t:7d} " + " ".join(f"{s[f]:>15}" for f in FIELDS), flush=True)
        if idx == 0:
            return
        t += 100


def main():
    gort.init(maxprocs=2)
    ch, done = gort.Chan(16), gort.Chan()
    wg = gort.WaitGroup()
    mon = gort.go(monitor, done)
    n_workers = 50
    wg.add(n_workers)
    for k in range(n_workers):
        gort.go(worker, k, ch, wg)
    s = gort.go(sink, ch)
    wg.wait()
    ch.close()
    received = s.join()
    done.close()
    mon.join()
    print(f"stats_monitor: {received} messages, {gort.stats()['goroutines_created']} "
          "goroutines created")


if __name__ == "__main__":
    main()
