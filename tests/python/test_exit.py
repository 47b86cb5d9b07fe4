"""Interpreter exit with goroutines still parked, running or not started:
no hang, no crash, the exit status kept; cancelled goroutines run their
finally blocks (GoroutineExit); unretrieved exceptions are reported."""
import pytest

from conftest import run_python

PARKED = """
import sys, threading, gort
mu = gort.Mutex(); mu.lock()
wg = gort.WaitGroup(); wg.add(1)
never = gort.Chan()
started = gort.Chan(100)
def parked(kind):
    try:
        started.send(kind)
        if kind == "recv": never.recv()
        elif kind == "send": gort.Chan().send(1)
        elif kind == "sleep": gort.sleep(3600)
        elif kind == "lock": mu.lock()
        elif kind == "wait": wg.wait()
        elif kind == "join": gort.go(never.recv).join()
        elif kind == "select": gort.select([(never, "recv"), (gort.after(3600), "recv")])
        elif kind == "gosched":
            while True: gort.gosched()
    finally:
        sys.stdout.write(f"finally {kind}\\n"); sys.stdout.flush()
kinds = ["recv", "send", "sleep", "lock", "wait", "join", "select", "gosched"]
for k in kinds:
    gort.go(parked, k)
for _ in kinds:
    started.recv()
print("main done", flush=True)
"""


@pytest.mark.parametrize("ending,status", [("", 0), ("sys.exit(3)", 3),
                                           ("raise SystemExit(7)", 7),
                                           ("raise ValueError('main failed')", 1)])
def test_exit_with_parked_goroutines(ending, status):
    r = run_python(PARKED + ending, timeout=60)
    assert r.returncode == status, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "main done"
    for k in ["recv", "send", "sleep", "lock", "wait", "join", "select", "gosched"]:
        assert f"finally {k}" in lines, r.stdout
    assert "Fatal" not in r.stderr and "Segmentation" not in r.stderr, r.stderr


def test_exit_with_goroutines_not_started_and_stubborn():
    code = """
        import gort, time
        def stubborn():
            while True:
                try:
                    gort.sleep(3600)
                except gort.GoroutineExit:
                    pass  # swallows the cancellation: abandoned after the timeout
        def never_started():
            print("ran", flush=True)
        gort._exit_timeout = 0.2
        gort.go(stubborn)
        gort.sleep(0.01)
        for _ in range(1000):
            gort.go(never_started)
        t0 = time.monotonic()
        import atexit
        atexit.register(lambda: print("atexit before gort's", flush=True))
        raise SystemExit(5)
        """
    r = run_python(code, timeout=60)
    assert r.returncode == 5, r.stderr
    # spawned goroutines that had not run by exit never run
    assert r.stdout.count("ran") < 1000
    assert "atexit before gort's" in r.stdout


def test_unjoined_exception_reported_at_exit():
    code = """
        import gort
        def bad():
            raise LookupError("never joined")
        keep = gort.go(bad)   # alive until exit, never joined
        while not keep.done():
            gort.sleep(0.001)
        """
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert "LookupError: never joined" in r.stderr
    assert "Exception in thread goroutine" in r.stderr


def test_gort_unusable_after_exit_is_an_error_not_a_crash():
    code = """
        import atexit
        def late():
            try:
                gort.go(print, "no")
            except RuntimeError as e:
                print("late:", e, flush=True)
        atexit.register(late)   # before gort's hook, so it runs after it
        import gort
        ch = gort.Chan(1)
        gort.go(ch.send, 1).join()
        """
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert "late:" in r.stdout


def test_exit_while_thread_waits_in_gort():
    code = """
        import threading, gort
        ch = gort.Chan()
        t = threading.Thread(target=ch.recv, daemon=True)
        t.start()
        gort.sleep(0.05)
        print("exiting", flush=True)
        """
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "exiting"


def test_exit_from_goroutine_code_paths_repeatedly():
    # 10 short-lived interpreters, each exiting with goroutines mid-ping-pong.
    code = """
        import gort
        a, b = gort.Chan(), gort.Chan()
        def ping():
            while True: b.send(a.recv())
        for _ in range(4): gort.go(ping)
        for i in range(1000):
            a.send(i); b.recv()
        """
    for _ in range(10):
        r = run_python(code)
        assert r.returncode == 0, r.stderr


def test_exit_with_goroutines_busy_in_python():
    # They get GoroutineExit asynchronously (CPython 3.11 may skip their
    # finally blocks for an exception raised at a loop's back edge, as it does
    # for PyThreadState_SetAsyncExc on threads); the exit must stay clean.
    code = """
        import sys, gort
        gort.gomaxprocs(4)  # goroutines are cooperative: one P each, one for main
        started = gort.Chan(4)
        def spin():
            started.send(None)
            n = 0
            while True:
                n += 1
        for _ in range(3):
            gort.go(spin)
        for _ in range(3):
            started.recv()
        sys.exit(6)
        """
    r = run_python(code, timeout=60)
    assert r.returncode == 6, r.stderr
    assert "fatal" not in r.stderr, r.stderr
