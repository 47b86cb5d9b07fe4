"""gort: Go-style goroutines for Python, on gort's M:N scheduler.

Goroutines run Python callables on the runtime's own threads (Ms), any
number of them on GOMAXPROCS processors (Ps); only one runs Python at a time
(the GIL), the others wait in channels, sleeps, locks or C code without
holding a P::

    import gort

    ch = gort.Chan()
    g = gort.go(lambda: ch.send(6 * 7))
    print(ch.recv())      # 42
    g.join()

Everything here works alike from a goroutine, from the main thread and from
a threading.Thread (those wait with the GIL released; the main thread sees
Ctrl-C within 100 ms).

Rules worth knowing (python/README.md has the details):

* A goroutine switches only inside gort calls. Code that blocks the thread
  without telling gort (time.sleep, socket.recv, threading.Lock.acquire,
  queue.get, a ctypes call) holds its processor meanwhile; the runtime's
  stall detection lends the scheduler another one, but gort's own waits
  (gort.sleep, channels, gort.Mutex) are the cheap way.
* threading.local and contextvars follow the goroutine; threading.get_ident()
  and threading.current_thread() name the OS thread it runs on, which may
  change at every switch. Do not hold a threading.RLock or Condition across
  a gort call (use gort.Mutex); lock_os_thread() pins a goroutine to its
  thread (thread-affine C libraries).
* At interpreter exit, goroutines still running or parked are cancelled: their
  waits raise GoroutineExit (a BaseException), so finally blocks run. Those
  that do not finish within gort._exit_timeout seconds (default 1.0) are
  abandoned and never run Python again. The exit status is kept.
"""

import atexit as _atexit

from . import _gort
from ._gort import (  # noqa: F401  (the public names)
    EAGAIN,
    EALREADY,
    EBUSY,
    ECLOSED,
    EDEADLK,
    EINVAL,
    ENOMEM,
    ENOTGOROUTINE,
    ENOTINIT,
    ENOTSUP,
    EOVERFLOW,
    ETHREAD,
    ETIMEDOUT,
    OK,
    Chan,
    ChanClosed,
    Goroutine,
    GoroutineExit,
    GortError,
    Mutex,
    WaitGroup,
    after,
    go,
    gomaxprocs,
    goid,
    gosched,
    init,
    lock_os_thread,
    num_goroutine,
    runtime_version,
    select,
    sleep,
    stats,
    strerror,
    unlock_os_thread,
)

__version__ = _gort.__version__

__all__ = [
    "Chan", "ChanClosed", "Goroutine", "GoroutineExit", "GortError", "Mutex", "WaitGroup",
    "after", "dump", "ffi", "go", "gomaxprocs", "goid", "gosched", "init", "lock_os_thread",
    "locked_os_thread", "num_goroutine", "select", "sleep", "stats", "trace",
    "unlock_os_thread",
]

# Seconds the atexit hook waits for cancelled goroutines before abandoning them.
_exit_timeout = 1.0


class locked_os_thread:
    """Context manager: lock_os_thread() on entry, unlock_os_thread() on exit."""

    __slots__ = ()

    def __enter__(self):
        lock_os_thread()
        return self

    def __exit__(self, *exc):
        unlock_os_thread()
        return False


def dump():
    """Every goroutine: the runtime's dump (id, name, state, wait reason, C
    stack), then the Python stack of each Python goroutine.

    Raises GortError (code ENOTSUP) when the libgort in use cannot dump.
    """
    import traceback

    text = _gort._dump_runtime()
    parts = [text.rstrip("\n"), "", "Python goroutines:"]
    for gid, name, frame, started in _gort._python_stacks():
        parts.append(f"goroutine {gid} ({name or '?'}):")
        if not started:
            parts.append("  (not started)")
        elif frame is None:
            parts.append("  (no Python frame: it runs the C function it was started with)")
        else:
            parts.extend(line.rstrip("\n") for line in traceback.format_stack(frame))
    return "\n".join(parts) + "\n"


def _at_exit():
    _gort._atexit(_exit_timeout)


_atexit.register(_at_exit)

from . import ffi, trace  # noqa: E402,F401  (submodules)
