// A pybind11 extension for test_pybind.py: what C++ extensions do with the
// GIL (gil_scoped_acquire with the GIL held, gil_scoped_release around
// blocking work, PyGILState_Check), called from goroutines that move
// between threads. With the gilstate slot bound to the goroutine, none of
// these deadlocks or aborts.
#include <pybind11/pybind11.h>
#include <unistd.h>

namespace py = pybind11;

PYBIND11_MODULE(gort_pybind_probe, m) {
    m.def("acquire_held", [] {
        py::gil_scoped_acquire again;  // the GIL is held already
        return PyGILState_Check();
    });
    m.def("release_then_acquire", [](int us) {
        {
            py::gil_scoped_release nogil;
            usleep(static_cast<useconds_t>(us));
            py::gil_scoped_acquire back;  // nested: takes it again inside
        }
        return PyGILState_Check();
    });
    m.def("thread_state_is_current",
          [] { return PyGILState_GetThisThreadState() == PyThreadState_Get(); });
}
