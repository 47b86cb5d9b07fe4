"""gort.trace: an execution trace of the scheduler in the Chrome trace event
format (JSON; it loads in Perfetto and chrome://tracing): a track per M,
slices for goroutine runs, cgocalls and blocking regions, events for thread
creation, handoffs, retakes and steals.

    gort.trace.start("sched.json")
    ...
    gort.trace.stop()

Both raise gort.GortError (code gort.ENOTSUP) when the libgort in use was
built without tracing.

A picture of a trace: python3 -m gort.trace plot trace.json -o timeline.png
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


def _main(argv=None):
    """python3 -m gort.trace plot TRACE.json [-o timeline.png]"""
    import sys
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "plot":
        print("usage: python3 -m gort.trace plot TRACE.json [-o timeline.png]", file=sys.stderr)
        return 2
    from . import _trace_plot
    return _trace_plot.main(args[1:])


if __name__ == "__main__":
    import sys
    sys.exit(_main())
