"""gort.ffi: calling C from goroutines without holding up the scheduler.

Not implemented yet (issue 14): it waits for the C side's struct and
variadic support. Until then, ctypes works from goroutines (a blocking
ctypes call holds its processor until the runtime's stall detection lends
another one).
"""

__all__ = []
