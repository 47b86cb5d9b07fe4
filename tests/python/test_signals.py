"""Ctrl-C: SIGINT while the main thread waits in a gort call raises
KeyboardInterrupt there within 100 ms (it waits in 50 ms slices and runs
the signal handlers between them), and the runtime stays usable."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

WAITS = {
    "recv": "gort.Chan().recv()",
    "send": "gort.Chan().send(1)",
    "join": "gort.go(gort.Chan().recv).join()",
    "wait": "wg = gort.WaitGroup(); wg.add(1); wg.wait()",
    "sleep": "gort.sleep(3600)",
    "select": "gort.select([(gort.Chan(), 'recv'), (gort.after(3600), 'recv')])",
    "lock": "mu = gort.Mutex(); mu.lock(); mu.lock()",
    "select_empty": "gort.select([])",
}

# A child inherits an ignored SIGINT (a shell's background job ignores it, and
# so does everything it starts): Python then installs no handler, and Ctrl-C
# would do nothing. Each child installs Python's own first.
DEFAULT_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"

CHILD = DEFAULT_SIGINT + """
import sys, time, gort
gort.init(maxprocs=2)
# goroutines busy meanwhile (the interrupt must not need them to stop)
ticker = gort.Chan(1)
def tick():
    while True:
        gort.sleep(0.005)
        ticker.try_send(None)
gort.go(tick)
print("ready", flush=True)
try:
    {wait}
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), flush=True)
# the runtime is still usable
ch = gort.Chan()
gort.go(lambda: ch.send(41))
assert ch.recv() + 1 == 42
assert sum(g.join() for g in [gort.go(lambda i=i: i) for i in range(100)]) == 4950
print("usable", flush=True)
"""


@pytest.mark.parametrize("what", sorted(WAITS))
def test_ctrl_c_interrupts_main_thread_wait(what):
    code = textwrap.dedent(CHILD).replace("{wait}", WAITS[what])
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as p:
        latency = interrupt(p)
    # 50 ms slices: under 100 ms on a quiet machine; allow for a loaded one
    assert latency < 0.5, f"KeyboardInterrupt after {latency * 1000:.0f} ms"


def watchdog(p, seconds=60):
    """Kills the child if it is not done in time: its output then ends and
    the test fails on it instead of hanging."""
    t = threading.Timer(seconds, p.kill)
    t.daemon = True
    t.start()
    return t


def interrupt(p):
    dog = watchdog(p)
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # let it block
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        line = p.stdout.readline().split()
        assert line and line[0] == "interrupted", p.stderr.read()
        latency = float(line[1]) - sent
        assert p.stdout.readline().strip() == "usable"
        assert p.wait(timeout=30) == 0, p.stderr.read()
        return latency
    finally:
        dog.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()


def test_ctrl_c_while_goroutines_run_python():
    code = """
        import gort, time
        def spin():
            while True:
                sum(range(1000))
                gort.gosched()
        for _ in range(4):
            gort.go(spin)
        print("ready", flush=True)
        try:
            gort.sleep(3600)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        """
    code = DEFAULT_SIGINT + textwrap.dedent(code)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as p:
        dog = watchdog(p)
        try:
            assert p.stdout.readline().strip() == "ready"
            time.sleep(0.2)
            os.kill(p.pid, signal.SIGINT)
            assert p.stdout.readline().strip() == "interrupted"
            assert p.wait(timeout=30) == 0, p.stderr.read()
        finally:
            dog.cancel()
            if p.poll() is None:
                p.kill()
                p.wait()
