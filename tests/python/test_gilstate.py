"""The gilstate slot follows the goroutine: PyGILState_* calls, ctypes
callbacks (a new thread state per call without the binding) and switches
inside them."""
import ctypes
import threading

import gort
from conftest import on_goroutine

libc = ctypes.CDLL(None)
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
libc.qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, CMP]
libc.qsort.restype = None
api = ctypes.pythonapi
api.PyGILState_Check.restype = ctypes.c_int
api.PyGILState_GetThisThreadState.restype = ctypes.c_void_p
api.PyThreadState_Get.restype = ctypes.c_void_p
api.PyGILState_Ensure.restype = ctypes.c_int
api.PyGILState_Release.argtypes = [ctypes.c_int]


def test_gilstate_check_in_goroutines(procs):
    procs(2)

    def body():
        for _ in range(200):
            assert api.PyGILState_Check() == 1
            assert api.PyGILState_GetThisThreadState() == api.PyThreadState_Get()
            s = api.PyGILState_Ensure()  # with the GIL held: must not deadlock
            api.PyGILState_Release(s)
            gort.gosched()
        return True

    assert all(g.join(timeout=60) for g in [gort.go(body) for _ in range(8)])


def test_ctypes_callback_runs_on_the_goroutines_thread_state(procs):
    procs(2)
    local = threading.local()

    def body(k):
        local.k = k
        seen = set()

        def cmp(a, b):
            seen.add(getattr(local, "k", None))  # the goroutine's threading.local
            return a[0] - b[0]

        cb = CMP(cmp)
        for _ in range(20):
            arr = (ctypes.c_int * 64)(*range(64, 0, -1))
            libc.qsort(arr, 64, ctypes.sizeof(ctypes.c_int), cb)
            assert list(arr) == list(range(1, 65))
            gort.gosched()
        return seen

    gs = [gort.go(body, k) for k in range(6)]
    assert [g.join(timeout=60) for g in gs] == [{k} for k in range(6)]


def test_switch_inside_a_ctypes_callback(procs):
    procs(2)
    calls = [0]

    def cmp(a, b):
        calls[0] += 1
        gort.gosched()  # qsort's frames stay on the goroutine's stack
        return a[0] - b[0]

    cb = CMP(cmp)

    def body():
        arr = (ctypes.c_int * 32)(*range(32, 0, -1))
        libc.qsort(arr, 32, ctypes.sizeof(ctypes.c_int), cb)
        return list(arr)

    gs = [gort.go(body) for _ in range(4)]
    for g in gs:
        assert g.join(timeout=60) == list(range(1, 33))
    assert calls[0] > 0


def test_qsort_from_main_and_threads_still_works():
    def sort():
        cb = CMP(lambda a, b: a[0] - b[0])
        arr = (ctypes.c_int * 16)(*range(16, 0, -1))
        libc.qsort(arr, 16, ctypes.sizeof(ctypes.c_int), cb)
        return list(arr)

    assert sort() == list(range(1, 17))
    assert on_goroutine(sort) == list(range(1, 17))
    out = []
    t = threading.Thread(target=lambda: out.append(sort()))
    t.start()
    t.join()
    assert out == [list(range(1, 17))]
