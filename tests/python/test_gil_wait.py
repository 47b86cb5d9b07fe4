"""A goroutine waiting for the GIL holds no P (python/src/goroutine.cpp,
takeGil: a blocking region ended with gort_blocking_end_try), so the
scheduler goes on while another thread holds the GIL for long: on 1 P, with
stall detection off (max_lent_procs=-1, so no lent P hides it), a timer
fires on time while the main thread holds the GIL in a 300 ms C call and a
goroutine waits for it. (Waiting holding the P, the timer fired only once
the GIL was free: ~300 ms.) And 50 goroutines waiting on a busy GIL do not
start an M each: one waits in a region at a time, the others hold their P
(without the ticket: an M each, sysmon handing every region's P on)."""
from conftest import run_python

GIL_HELD = """
import ctypes, time, gort
gort.init(maxprocs=1, max_lent_procs=-1)
hold = ctypes.PyDLL(None).usleep  # a PyDLL call keeps the GIL
hold.argtypes = [ctypes.c_uint]
late = []
for _ in range(ROUNDS):
    started = gort.Chan(1)

    def waiter():
        started.send(None)
        gort.sleep(0.01)  # wakes while the main thread holds the GIL

    gs = [gort.go(waiter) for _ in range(WAITERS)]
    for _ in gs:
        started.recv()
    t = gort.after(0.05)
    t0 = time.monotonic()
    hold(300000)
    fired = t.recv()
    for g in gs:
        g.join(timeout=30)
    late.append(fired - t0)
s = gort.stats()
print(max(late), s["ms_total"])
"""


def run(rounds, waiters):
    code = GIL_HELD.replace("ROUNDS", str(rounds)).replace("WAITERS", str(waiters))
    r = run_python(code, timeout=120)
    assert r.returncode == 0, r.stderr
    late, ms = r.stdout.split()
    return float(late), int(ms)


def test_timer_fires_while_a_goroutine_waits_for_the_gil():
    late, _ = run(5, 1)
    assert late < 0.2, f"the 50 ms timer fired after {late * 1000:.0f} ms"


def test_goroutines_waiting_on_a_busy_gil_start_no_m_each():
    # The P the region's waiter left goes to an M that runs the next waiter,
    # which waits holding it (the ticket is taken): stall detection's job.
    _, ms = run(3, 50)
    assert ms < 25, f"{ms} Ms for 50 goroutines waiting for the GIL"
