// Fault signals: the stack-overflow report, chaining to the host's
// handlers, and per-M alternate signal stacks (see signals.h).
#include "runtime/signals.h"

#include <pthread.h>
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
// The host's handlers, as they were when gort installed its own.
struct sigaction oldSegv, oldBus;
bool installed = false;

void faultHandler(int sig, siginfo_t* info, void* uctx);

struct sigaction* oldFor(int sig) {
    return sig == SIGSEGV ? &oldSegv : &oldBus;
}

// raiseDefault takes the default action for sig now: for a fault signal,
// the end of the process, with that signal (as Go does). The handler is
// put back if the process survives (the signal was blocked elsewhere).
void raiseDefault(int sig) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    struct sigaction ours;
    sigaction(sig, &dfl, &ours);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
    raise(sig);
    sigaction(sig, &ours, nullptr);
}

// chain passes a fault that is not gort's to the handler the host had
// installed before gort, with the host's semantics: its sa_mask (and the
// signal, unless SA_NODEFER) blocked while it runs, SA_RESETHAND honoured
// (the next such fault takes the default action), SIG_IGN and SIG_DFL as
// the kernel would apply them.
void chain(int sig, siginfo_t* info, void* uctx) {
    struct sigaction* old = oldFor(sig);
    bool siginfo = (old->sa_flags & SA_SIGINFO) != 0;
    void (*handler)(int) = old->sa_handler;
    void (*action)(int, siginfo_t*, void*) = old->sa_sigaction;
    bool isFunction = siginfo ? action != nullptr : handler != SIG_DFL && handler != SIG_IGN;
    if (!isFunction) {
        // A fault the kernel raised cannot be ignored: returning would
        // execute the faulting instruction again, forever. One sent with
        // kill or raise can.
        if (!siginfo && handler == SIG_IGN && info->si_code <= 0) return;
        raiseDefault(sig);
        return;
    }
    sigset_t mask = old->sa_mask, prev;
    if (!(old->sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
    if (old->sa_flags & SA_RESETHAND) {
        // Once only: the host's handler was to be replaced by the default.
        old->sa_handler = SIG_DFL;
        old->sa_flags &= ~(SA_SIGINFO | SA_RESETHAND);
    }
    pthread_sigmask(SIG_BLOCK, &mask, &prev);
    if (siginfo) {
        action(sig, info, uctx);
    } else {
        handler(sig);
    }
    pthread_sigmask(SIG_SETMASK, &prev, nullptr);
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
    // Put the host's handlers back, unless the host has replaced ours since:
    // then its newer handler stays.
    for (int sig : {SIGSEGV, SIGBUS}) {
        struct sigaction cur;
        if (sigaction(sig, nullptr, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
            cur.sa_sigaction == faultHandler) {
            sigaction(sig, oldFor(sig), nullptr);
        }
    }
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
    if (m->isExtra && sigaltstack(nullptr, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) {
        m->sigstackLo = reinterpret_cast<uintptr_t>(cur.ss_sp);
        m->sigstackHi = m->sigstackLo + cur.ss_size;
        return;
    }
    mallocSignalStack(m);
    stack_t ss{};
    ss.ss_sp = m->sigaltstack;
    ss.ss_size = kSigStackSize;
    m->sigaltstackInstalled = sigaltstack(&ss, nullptr) == 0;
    if (m->sigaltstackInstalled) {
        m->sigstackLo = reinterpret_cast<uintptr_t>(m->sigaltstack);
        m->sigstackHi = m->sigstackLo + kSigStackSize;
    }
}

void unminitSignalStack(M* m) {
    m->sigstackLo = m->sigstackHi = 0;
    if (!m->sigaltstackInstalled) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    m->sigaltstackInstalled = false;
}

}  // namespace gort
