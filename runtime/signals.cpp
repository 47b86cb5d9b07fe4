// Fault signals: the stack-overflow report, chaining to the host's
// handlers, and per-M alternate signal stacks (see signals.h).
#include "runtime/signals.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/gmp.h"
#include "runtime/traceback.h"

namespace gort {

namespace {

constexpr size_t kSigStackSize = 64 * 1024;
// How far below a thread stack's lowest address a fault still counts as an
// overflow of it (the kernel's guard gap, frames that skip over it).
constexpr uintptr_t kThreadGuard = 256 * 1024;

struct sigaction oldSegv, oldBus;
bool installed = false;

void chain(int sig, siginfo_t* info, void* uctx) {
    struct sigaction* old = sig == SIGSEGV ? &oldSegv : &oldBus;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction != nullptr) {
            old->sa_sigaction(sig, info, uctx);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    // Default action: reinstate it; returning re-executes the fault.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
}

[[noreturn]] void reportOverflow(G* gp, const char* what, uintptr_t lo, uintptr_t hi,
                                 uintptr_t addr) {
    printerr("gort: fatal error: stack overflow");
    printerr("%s", "");
    if (gp != nullptr) {
        printerr("goroutine %lld%s%s [running]: %s of %zu bytes [%#lx, %#lx) overflowed at %#lx",
                 (long long)gp->goid, gp->name != nullptr ? " " : "",
                 gp->name != nullptr ? gp->name : "", what, size_t(hi - lo), (unsigned long)lo,
                 (unsigned long)hi, (unsigned long)addr);
    } else {
        printerr("%s of %zu bytes [%#lx, %#lx) overflowed at %#lx", what, size_t(hi - lo),
                 (unsigned long)lo, (unsigned long)hi, (unsigned long)addr);
    }
    printerr("%s", "");
    dumpgoroutines(nullptr);
    abort();
}

void faultHandler(int sig, siginfo_t* info, void* uctx) {
    auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
    M* m = getm();
    G* gp = m != nullptr ? m->curg : nullptr;
    if (gp != nullptr && stackGuardContains(gp->stack, addr)) {
        reportOverflow(gp, "goroutine stack", gp->stack.lo, gp->stack.hi, addr);
    }
    if (m != nullptr && stackGuardContains(m->schedStack, addr)) {
        reportOverflow(nullptr, "scheduler stack (during a callback)", m->schedStack.lo,
                       m->schedStack.hi, addr);
    }
    // The thread's own stack: gort_run_main's goroutine and callbacks run
    // there, and so does C code called through gort_cgocall.
    if (m != nullptr && m->stackLo != 0 && addr < m->stackLo + kPageSize &&
        addr + kThreadGuard >= m->stackLo) {
        reportOverflow(gp != nullptr && gp->onNativeStack ? gp : nullptr, "thread stack",
                       m->stackLo, m->stackHi, addr);
    }
    chain(sig, info, uctx);
}

}  // namespace

void initsig() {
    if (installed) return;
    struct sigaction sa {};
    sa.sa_sigaction = faultHandler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &oldSegv);
    sigaction(SIGBUS, &sa, &oldBus);
    installed = true;
}

void resetsig() {
    if (!installed) return;
    sigaction(SIGSEGV, &oldSegv, nullptr);
    sigaction(SIGBUS, &oldBus, nullptr);
    installed = false;
}

void mallocSignalStack(M* m) {
    if (m->sigaltstack == nullptr) m->sigaltstack = rtalloc(kSigStackSize, "a signal stack");
}

void freeSignalStack(M* m) {
    free(m->sigaltstack);
    m->sigaltstack = nullptr;
}

void minitSignalStack(M* m) {
    // A C thread may have an alternate stack of its own: keep it. A new
    // pthread starts without one (Linux clears it on clone), so the runtime's
    // own threads skip the question.
    stack_t cur;
    if (m->isExtra && sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return;
    mallocSignalStack(m);
    stack_t ss{};
    ss.ss_sp = m->sigaltstack;
    ss.ss_size = kSigStackSize;
    m->sigaltstackInstalled = sigaltstack(&ss, nullptr) == 0;
}

void unminitSignalStack(M* m) {
    if (!m->sigaltstackInstalled) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    m->sigaltstackInstalled = false;
}

}  // namespace gort
