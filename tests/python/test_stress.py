"""20 runs of a 2-P stress: goroutines ping-pong objects through channels
(unbuffered and buffered), with select, a Mutex and a WaitGroup; the totals
must be exact."""
import gort


def one_run(n_pairs=16, rounds=300):
    wg = gort.WaitGroup()
    mu = gort.Mutex()
    totals = {"sent": 0, "echoed": 0}
    quit_ch = gort.Chan()

    def pinger(a, b, k):
        try:
            for i in range(rounds):
                obj = {"k": k, "i": i, "payload": [k] * (i % 7)}
                a.send(obj)
                back = b.recv()
                assert back is obj and back["echo"] == i
                with mu:
                    totals["sent"] += 1
        finally:
            wg.done()

    def ponger(a, b):
        while True:
            idx, obj, ok = gort.select([(a, "recv"), (quit_ch, "recv")])
            if idx == 1:
                return
            obj["echo"] = obj["i"]
            with mu:
                totals["echoed"] += 1
            b.send(obj)

    pongers = []
    wg.add(n_pairs)
    for k in range(n_pairs):
        a, b = gort.Chan(k % 3), gort.Chan()
        gort.go(pinger, a, b, k)
        pongers.append(gort.go(ponger, a, b))
    wg.wait(timeout=120)
    quit_ch.close()
    for p in pongers:
        p.join(timeout=60)
    return totals


def test_stress_twenty_runs(procs):
    procs(2)
    for _ in range(20):
        t = one_run()
        assert t == {"sent": 16 * 300, "echoed": 16 * 300}
