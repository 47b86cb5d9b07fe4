"""gort.trace: an execution trace of the scheduler in the Chrome trace event
format (JSON; it loads in Perfetto and chrome://tracing): a track per M,
slices for goroutine runs, cgocalls and blocking regions, events for thread
creation, handoffs, retakes and steals.

    gort.trace.start("sched.json")
    ...
    gort.trace.stop()

Both raise gort.GortError (code gort.ENOTSUP) when the libgort in use was
built without tracing.
"""

from . import _gort


def start(path):
    """Start writing the trace to path (created or truncated)."""
    _gort._trace_start(path)


def stop():
    """Stop the trace and finish its file."""
    _gort._trace_stop()


class tracing:
    """Context manager: start(path) on entry, stop() on exit."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        start(self.path)
        return self

    def __exit__(self, *exc):
        stop()
        return False
