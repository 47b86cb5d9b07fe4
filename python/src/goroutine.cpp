// Python goroutines: a Python callable run by gort_go_ex on the runtime's
// own Ms, with the GIL and the gilstate slot kept right across every switch.
//
// Design (measured in a prototype on CPython 3.11):
//
// * Each Python goroutine owns a PyThreadState (GoCtx::ts). It holds the GIL
//   only while it runs Python. The switch hooks of gort_go_opts run on the
//   goroutine's own stack: onPark releases the GIL if, and only if, the
//   goroutine holds it (C code may have released it already: GoCtx::held
//   records which), onResume takes it back on whatever M the goroutine
//   resumed on.
// * Waiting for the GIL: the design makes it a blocking region, so that a
//   goroutine never holds a P while another thread runs Python. The one rule
//   that keeps that deadlock-free: nobody holding the GIL waits for a P
//   (CPython's eval loop itself waits for the GIL holding its P, at every
//   forced GIL switch). So the region ends with gort_blocking_end_try, which
//   takes a P only if one is free at once; when none is, the goroutine lets
//   go of the GIL again and waits for a P holding nothing (gort_blocking_end),
//   then tries again (takeGil). A GIL nobody holds is taken at once,
//   without the region. Only one goroutine at a time waits in a
//   region (a ticket): sysmon hands the P of each one on to a new M, which
//   would otherwise start an M per goroutine waiting on a busy GIL, up to
//   the thread limit. The others wait holding their P, as the eval loop
//   does; a P stuck behind a long GIL wait is then a stall the runtime's
//   stall detection compensates (issue 12). Without the ticket's region
//   (a library without GORT_HAVE_BLOCKING_END_TRY) every wait is of that
//   kind.
// * The module's own calls go through parkable() (goroutine.h): onResume
//   only notes that the GIL is wanted and acquireGil takes it after the
//   call, outside the hook (where parking is allowed). C code that parks
//   through gort.h while holding the GIL gets it back in onResume.
// * While the goroutine is on an M, that M's gilstate slot holds ts
//   (bind/unbind), so PyGILState_Ensure (ctypes callbacks, pybind11,
//   Cython) finds the goroutine's thread state. Bound on every resume (on
//   the M the goroutine resumed on), put back on every park.
//   A thread-local (tlCur) names the Python goroutine bound to the M; it is
//   read through a non-inlined accessor (a cached TLS address would name
//   the old thread's slot after a migration).
// * Thread states are made with PyThreadState_New, saving and restoring the
//   creating thread's slot around it (it fills an empty slot). A finished
//   goroutine's thread state is cleared and kept in a small pool for the
//   next spawn: a fresh one costs a 16 KiB frame-stack mmap on first use.
// * GoCtx::state is the goroutine's life as the exit code sees it (atomic):
//   kNew (not started), kActive (running, or on its way), kParked (switched
//   out without the GIL), kInC (running C code without the GIL through
//   releaseGil), kAcquiring (waiting for the GIL), kAbandoned (set by the
//   atexit hook, or by the goroutine itself once the hook gave up waiting:
//   it never runs Python again; if it ever resumes it blocks its M for good
//   in a blocking region, holding no P).
// * The registry (a list of live GoCtx) and the thread-state pool are
//   protected by the GIL.
//
// The Python-side object (gort.Goroutine, goroutine_object.cpp) holds the
// result or the exception; GoCtx holds a strong reference to it until the
// goroutine finishes.
#include "goroutine.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "gilstate_shim.h"

namespace gortpy {

namespace {

enum State : int { kNew, kActive, kParked, kInC, kAcquiring, kAbandoned };

// The goroutine bound to this M, read and written only through these.
thread_local GoCtx* tlCur = nullptr;
__attribute__((noinline, noipa)) GoCtx* curGet() {
    return tlCur;
}
__attribute__((noinline, noipa)) void curSet(GoCtx* g) {
    tlCur = g;
}

GoCtx* registry = nullptr;  // live goroutines (GIL)
constexpr int kPoolMax = 512;
PyThreadState* tsPool[kPoolMax];  // cleared thread states for reuse (GIL)
int tsPoolLen = 0;
PyInterpreterState* interp = nullptr;

void registryAdd(GoCtx* g) {
    g->prev = nullptr;
    g->next = registry;
    if (registry != nullptr) registry->prev = g;
    registry = g;
}

void registryRemove(GoCtx* g) {
    if (g->prev != nullptr) g->prev->next = g->next;
    if (g->next != nullptr) g->next->prev = g->prev;
    if (registry == g) registry = g->next;
    g->prev = g->next = nullptr;
}

// ---- the gilstate slot ---------------------------------------------------------------

void bind(GoCtx* g) {
    if (g->bound) return;
    g->savedSlot = static_cast<PyThreadState*>(PyThread_tss_get(slotKey));
    g->savedCur = curGet();
    PyThread_tss_set(slotKey, g->ts);
    curSet(g);
    g->bound = true;
}

void unbind(GoCtx* g) {
    if (!g->bound) return;
    PyThread_tss_set(slotKey, g->savedSlot);
    curSet(g->savedCur);
    g->bound = false;
}

// ---- the GIL -----------------------------------------------------------------------------

// hang blocks an abandoned goroutine's M for good, holding no P: the
// process is exiting and the goroutine's thread state may be gone.
[[noreturn]] void hang() {
    gort_blocking_begin();
    for (;;) pause();
}

// The right to wait for the GIL in a blocking region (see above).
std::atomic<bool> gilTicket{false};

// takeGil takes the GIL (state kAcquiring): in a blocking region if the
// ticket is free, else holding the P (see above). After interpreter
// finalization began, take_gil would pthread_exit the thread on the
// goroutine's stack: hang instead.
void takeGil(GoCtx* g) {
    if (_Py_IsFinalizing()) hang();
#ifdef GORT_HAVE_BLOCKING_END_TRY
    // A free GIL is taken at once (the region would cost a futex wake of
    // sysmon per switch); a race lost here waits holding the P, as before.
    if (gortpy_gil_locked() != 0 && !gilTicket.exchange(true, std::memory_order_acquire)) {
        for (;;) {
            gort_blocking_begin();
            PyEval_RestoreThread(g->ts);
            if (gort_blocking_end_try() != GORT_EAGAIN) break;  // the GIL and a P
            PyEval_SaveThread();  // no P free: never wait for one holding the GIL
            // Outside a switch hook this wait runs the hooks (kParked, then
            // kActive without the GIL): it is still acquiring.
            gort_blocking_end();
            int s = kActive;
            g->state.compare_exchange_strong(s, kAcquiring, std::memory_order_acq_rel);
            if (_Py_IsFinalizing()) {
                gilTicket.store(false, std::memory_order_release);
                hang();
            }
        }
        gilTicket.store(false, std::memory_order_release);
        return;
    }
#endif
    PyEval_RestoreThread(g->ts);
}

// casFrom moves the state from one of the expected values to to; false when
// it is something else (kAbandoned: the caller hangs).
bool casState(GoCtx* g, int from, int to) {
    return g->state.compare_exchange_strong(from, to, std::memory_order_acq_rel);
}

void onPark(void* arg) {
    auto* g = static_cast<GoCtx*>(arg);
    int s = g->state.load(std::memory_order_acquire);
    if (s == kAbandoned) return;
    g->held = _PyThreadState_UncheckedGet() == g->ts;
    if (g->held) PyEval_SaveThread();
    unbind(g);
    if (s == kActive || s == kAcquiring) casState(g, s, kParked);
}

void onResume(void* arg) {
    auto* g = static_cast<GoCtx*>(arg);
    for (;;) {
        int s = g->state.load(std::memory_order_acquire);
        if (s == kAbandoned) hang();
        if (s != kParked) break;  // kInC: C code goes on without the GIL
        if (casState(g, kParked, g->held ? kAcquiring : kActive)) break;
    }
    if (g->held && g->lazy) {
        g->needGil = true;  // parkable() takes it
    } else if (g->held) {
        takeGil(g);
        g->state.store(kActive, std::memory_order_release);
    }
    bind(g);
}

// ---- thread states -----------------------------------------------------------------------

PyThreadState* newThreadState() {
    if (tsPoolLen > 0) return tsPool[--tsPoolLen];
    auto* saved = static_cast<PyThreadState*>(PyThread_tss_get(slotKey));
    PyThreadState* ts = PyThreadState_New(interp);
    if (PyThread_tss_get(slotKey) != saved) PyThread_tss_set(slotKey, saved);
    return ts;
}

// ---- running -----------------------------------------------------------------------------

// run calls the goroutine's callable (GIL held) and stores what it gave.
void run(GoCtx* g) {
    GoroutineObject* o = g->obj;
    PyObject* res = nullptr;
    if (exiting.load(std::memory_order_acquire)) {
        PyErr_SetNone(GoroutineExit);  // cancelled before it ran
    } else {
        res = PyObject_Call(o->fn, o->args, o->kwargs);
    }
    goroutineFinished(o, res);
}

// finish ends the goroutine's life in Python (GIL held, ts current): its
// thread state is cleared (threading.local data and context go) and pooled
// or deleted; the GIL is released.
void finish(GoCtx* g) {
    registryRemove(g);
    Py_CLEAR(g->obj);
    PyThreadState* ts = g->ts;
    PyThreadState_Clear(ts);
    if (tsPoolLen < kPoolMax) {
        tsPool[tsPoolLen++] = ts;
        PyEval_SaveThread();
    } else {
        PyThreadState_DeleteCurrent();  // clears this M's slot, releases the GIL
    }
    unbind(g);
    liveCount.fetch_sub(1, std::memory_order_release);
    delete g;
}

void entry(void* arg) {
    auto* g = static_cast<GoCtx*>(arg);
    if (!casState(g, kNew, kAcquiring)) return;  // abandoned before it started
    bind(g);
    acquireGil(g);
    run(g);
    finish(g);
}

// kwargsDict builds the keyword arguments of a vectorcall-style call.
PyObject* kwargsDict(PyObject* const* values, PyObject* kwnames) {
    if (kwnames == nullptr || PyTuple_GET_SIZE(kwnames) == 0) return nullptr;
    PyObject* d = PyDict_New();
    if (d == nullptr) return nullptr;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
        if (PyDict_SetItem(d, PyTuple_GET_ITEM(kwnames, i), values[i]) < 0) {
            Py_DECREF(d);
            return nullptr;
        }
    }
    return d;
}

// go(fn, *args, **kw) -> Goroutine
PyObject* go(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError, "gort.go() needs a callable");
        return nullptr;
    }
    if (!PyCallable_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "gort.go(): %.100s object is not callable",
                     Py_TYPE(args[0])->tp_name);
        return nullptr;
    }
    if (!readyFast()) return nullptr;
    bool ok;
    GoCtx* self = currentGoroutine(&ok);
    if (!ok) return nullptr;
    if (exiting.load(std::memory_order_acquire)) {
        PyErr_SetString(PyExc_RuntimeError, "gort.go(): the interpreter is exiting");
        return nullptr;
    }
    PyObject* fnArgs = PyTuple_New(nargs - 1);
    if (fnArgs == nullptr) return nullptr;
    for (Py_ssize_t i = 1; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(fnArgs, i - 1, args[i]);
    }
    PyObject* kw = kwargsDict(args + nargs, kwnames);
    if (kw == nullptr && PyErr_Occurred()) {
        Py_DECREF(fnArgs);
        return nullptr;
    }
    GoroutineObject* o = newGoroutineObject(args[0], fnArgs, kw);
    if (o == nullptr) return nullptr;

    PyThreadState* ts = newThreadState();
    if (ts == nullptr) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    auto* g = new GoCtx;
    g->ts = ts;
    Py_INCREF(o);
    g->obj = o;
    registryAdd(g);
    liveCount.fetch_add(1, std::memory_order_relaxed);

    gort_go_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.struct_size = sizeof opts;
    opts.stack_size = pyStackSize;
    opts.name = goroutineName(o);
    opts.flags = GORT_GO_RESUME_AFFINITY;
    opts.on_park = onPark;
    opts.on_resume = onResume;
    opts.hook_arg = g;
    // The spawner holds the GIL until after gort_go_ex returns (or parks in
    // it, a spawn storm stepping back), so the new goroutine reads o->id
    // only once it is set.
    int rc = self != nullptr ? parkable(self, [&] { return gort_go_ex(&opts, entry, g, &o->id); })
                             : gort_go_ex(&opts, entry, g, &o->id);
    if (rc != GORT_OK) {
        registryRemove(g);
        liveCount.fetch_sub(1, std::memory_order_relaxed);
        PyThreadState_Clear(ts);
        PyThreadState_Delete(ts);
        Py_DECREF(g->obj);
        delete g;
        Py_DECREF(o);
        return raiseStatus(rc, "gort.go()");
    }
    return reinterpret_cast<PyObject*>(o);
}

}  // namespace

// ---- used by the rest of the module -------------------------------------------------------

GoCtx* currentGoroutine(bool* ok) {
    *ok = true;
    GoCtx* g = curGet();
    if (g == nullptr) return nullptr;
    if (PyThreadState_Get() != g->ts) {
        *ok = false;
        PyErr_SetString(PyExc_RuntimeError,
                        "gort: this goroutine runs Python on a thread state that is not its own "
                        "(C code swapped it in); it cannot wait here");
        return nullptr;
    }
    return g;
}

void releaseGil(GoCtx* g) {
    g->state.store(kInC, std::memory_order_release);
    PyEval_SaveThread();
}

void abandonIfExiting(GoCtx* g) {
    if (!abandonAll.load(std::memory_order_acquire)) return;
    g->state.store(kAbandoned, std::memory_order_release);
    if (_PyThreadState_UncheckedGet() == g->ts) PyEval_SaveThread();
    unbind(g);
    hang();
}

void acquireGil(GoCtx* g) {
    abandonIfExiting(g);
    takeGil(g);
    g->state.store(kActive, std::memory_order_release);
    bind(g);
}

// The way back from C races only the exit hook (abandonGoroutines), which
// marks a goroutine found in C abandoned. A CAS settled it, 12 ns of a
// 110 ns call from Python into C. With the process fence the goroutine
// stores kAcquiring and then reads abandonAll, and the hook fences after
// setting abandonAll, before it reads any state: either the goroutine
// sees abandonAll (and parks for good in acquireGil) or the hook sees
// kAcquiring (and lets it through to its next gort call). Without the
// fence, the CAS.
namespace {
// Set once, at module init, before any Python goroutine exists (both sides
// must agree). The module may use only gort's exported symbols, so it asks
// the kernel for the fence itself, as the runtime does for its own.
bool asymmetricExit = false;

void initExitFence() {
#if !defined(__SANITIZE_THREAD__)  // TSan cannot see the kernel's barrier: the CAS
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    asymmetricExit = cmds >= 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
                     syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}
}  // namespace

void reacquireGil(GoCtx* g) {
    if (asymmetricExit) {
        int s = g->state.load(std::memory_order_relaxed);
        if (s == kAbandoned) hang();  // abandoned at exit
        g->state.store(kAcquiring, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);  // the hook's fence orders it
        acquireGil(g);                                        // reads abandonAll first
        return;
    }
    for (;;) {  // kInC, or kActive after a callback in the C code took the GIL
        int s = g->state.load(std::memory_order_acquire);
        if (s == kAbandoned) hang();  // abandoned at exit
        if (casState(g, s, kAcquiring)) break;
    }
    acquireGil(g);
}

PyInterpreterState* mainInterpreter() {
    return interp;
}

void* callbackEnter() {
    GoCtx* g = curGet();
    if (g == nullptr || g->ts != PyThreadState_Get()) return nullptr;
    return casState(g, kInC, kActive) ? g : nullptr;
}

void callbackLeave(void* token) {
    if (token != nullptr) casState(static_cast<GoCtx*>(token), kActive, kInC);
}

int64_t goroutineId(const GoCtx* g) {
    return g->obj != nullptr ? g->obj->id : 0;
}

bool isCurrentGoroutine(GoroutineObject* o) {
    GoCtx* g = curGet();
    return g != nullptr && g->obj == o;
}

// abandonGoroutines is the atexit hook's last step (GIL held, no Python
// goroutine can run Python): every goroutine that has not started or is
// parked is marked abandoned, and its thread state cleared and deleted
// (frame locals of a parked one are leaked, not finalized). A goroutine
// waiting for the GIL, or running Python without calling gort (it gets an
// asynchronous GoroutineExit), is let through first: the GIL is released
// briefly, it runs to its next gort call, where GoroutineExit ends it (or,
// once abandonAll is set, it parks for good). Those in C code stay: they
// are marked too, and hang if they come back through gort.
int abandonGoroutines() {
    abandonAll.store(true, std::memory_order_seq_cst);
    // Orders the store for goroutines coming back from C (reacquireGil).
    if (asymmetricExit && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        Py_FatalError("gort: membarrier failed after it was registered");
    }
    int inC = 0;
    for (int round = 0; round < 200; round++) {
        int acquiring = 0;
        inC = 0;
        for (GoCtx* g = registry; g != nullptr;) {
            GoCtx* next = g->next;
            int s = g->state.load(std::memory_order_acquire);
            if ((s == kNew || s == kParked) && casState(g, s, kAbandoned)) {
                registryRemove(g);
                Py_CLEAR(g->obj);
                PyThreadState_Clear(g->ts);
                PyThreadState_Delete(g->ts);
                g->ts = nullptr;  // g itself is never freed: the goroutine may still look
            } else if (s == kInC && casState(g, kInC, kAbandoned)) {
                registryRemove(g);
                inC++;
            } else if (s == kAcquiring || s == kActive) {
                // Running Python without coming to gort (a busy loop): make
                // the eval loop raise GoroutineExit when it next takes the
                // GIL (what PyThreadState_SetAsyncExc does, which finds
                // thread states by creating thread and cannot name one).
                if (s == kActive && !g->asyncExitSent) {
                    g->asyncExitSent = true;  // once: its finally blocks may run
                    Py_XSETREF(g->ts->async_exc, Py_NewRef(GoroutineExit));
                }
                acquiring++;
            }
            g = next;
        }
        if (acquiring == 0) break;
        Py_BEGIN_ALLOW_THREADS usleep(1000);
        Py_END_ALLOW_THREADS
    }
    while (tsPoolLen > 0) PyThreadState_Delete(tsPool[--tsPoolLen]);
    return inC;
}

// _python_stacks() -> [(id, name, frame or None, started)]: the Python
// goroutines and their innermost frames (GIL held: none of them runs Python
// meanwhile). A started goroutine has no frame when it runs a C function
// directly (gort.go(time.sleep, 1)).
PyObject* pythonStacks(PyObject*, PyObject*) {
    PyObject* list = PyList_New(0);
    if (list == nullptr) return nullptr;
    for (GoCtx* g = registry; g != nullptr; g = g->next) {
        if (g->obj == nullptr) continue;
        PyObject* frame = nullptr;
        bool started = g->state.load(std::memory_order_acquire) != kNew;
        if (started) frame = reinterpret_cast<PyObject*>(PyThreadState_GetFrame(g->ts));
        PyObject* item = Py_BuildValue("(LONO)", (long long)g->obj->id,
                                       g->obj->qualname != nullptr ? g->obj->qualname : Py_None,
                                       frame != nullptr ? frame : Py_NewRef(Py_None),
                                       started ? Py_True : Py_False);
        if (item == nullptr || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return nullptr;
        }
        Py_DECREF(item);
    }
    return list;
}

bool initGoroutines(PyObject* module) {
    interp = PyInterpreterState_Get();
    initExitFence();
    return initGoroutineType(module);
}

PyMethodDef goroutineFunctions[] = {
    {"go", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(go)),
     METH_FASTCALL | METH_KEYWORDS,
     "go(fn, *args, **kw) -> Goroutine\n\nRun fn(*args, **kw) in a new goroutine."},
    {"_python_stacks", pythonStacks, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace gortpy
