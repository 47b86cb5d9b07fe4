"""Driving a thread-affine C library from goroutines: one goroutine locks
itself to its OS thread (gort.locked_os_thread), opens the library there and
serves requests from a channel, so every call into the library comes from
the thread that opened it, while any number of other goroutines (which
move between threads freely) send it work.

Run from the build tree:  PYTHONPATH=build/python /usr/bin/python3 examples/python/thread_affine.py
(the library, libgort_affine_demo.so, is built into build/examples/python).
"""
import ctypes
import os
import sys
import threading

import gort


def load_library():
    here = os.path.dirname(os.path.abspath(gort.__file__))
    candidates = [os.environ.get("GORT_AFFINE_LIB", ""),
                  os.path.join(here, "..", "..", "examples", "python", "libgort_affine_demo.so")]
    for path in candidates:
        if path and os.path.exists(path):
            lib = ctypes.CDLL(path)
            lib.affine_work.argtypes = [ctypes.c_long]
            lib.affine_work.restype = ctypes.c_long
            lib.affine_calls.restype = ctypes.c_long
            return lib
    sys.exit("thread_affine.py: libgort_affine_demo.so not found (build the tree first)")


def library_server(lib, requests):
    """The only goroutine that touches the library: locked to its thread."""
    with gort.locked_os_thread():
        assert lib.affine_open() == 0
        home = threading.get_native_id()
        for x, reply in requests:
            assert threading.get_native_id() == home  # never moves
            reply.send(lib.affine_work(x))
        lib.affine_close()
    return home


def client(requests, n):
    reply = gort.Chan()
    total = 0
    threads = set()
    for i in range(n):
        requests.send((i, reply))
        r = reply.recv()
        assert r == i + 1, "a call came from the wrong thread"
        total += r
        threads.add(threading.get_native_id())
        gort.gosched()
    return total, len(threads)


def main():
    gort.init(maxprocs=2)
    lib = load_library()
    requests = gort.Chan()
    server = gort.go(library_server, lib, requests)
    clients = [gort.go(client, requests, 500) for _ in range(6)]
    results = [c.join() for c in clients]
    requests.close()
    home = server.join()
    print(f"thread_affine: {lib.affine_calls()} library calls, all on thread {home}")
    print(f"{len(clients)} client goroutines, on up to {max(n for _, n in results)} OS threads "
          f"each; sums {[t for t, _ in results]}")


if __name__ == "__main__":
    main()
