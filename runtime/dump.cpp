// Goroutine dumps and Go's SCHED lines.
//
// A dump lists every goroutine with its state, its wait reason and for how
// long (G::waitsince), the M it is locked to, how much of its stack it has
// touched, and its stack as function names (file:line where the binary has
// debug information), parked goroutines included: their saved fcontext
// holds the registers the unwinder starts from.
//
// Unwinding is libunwind's (remote mode over our own process): the
// goroutine's stack is first copied (process_vm_readv on ourselves, which
// fails cleanly on unmapped memory instead of faulting), and libunwind reads
// stack words from that copy and everything else (unwind tables, code)
// through process_vm_readv too. So a goroutine that resumes and rewrites its
// stack while it is being dumped gives a wrong frame or two, never a crash:
// the dump runs without stopping the world and may be called at any time.
// Each goroutine's frames are read in one go; a dump takes no runtime lock
// (a crashing thread may hold one) and dumps are serialised among
// themselves.
//
// A goroutine that holds its P while its thread sleeps in the kernel (the
// stall report, stall.cpp) is running, so it has no saved context; its
// thread's stack and instruction pointers at the system call are in
// /proc/self/task/<tid>/syscall, and the frames above a blocked system call
// do not move while it blocks. The unwinder starts from those two registers
// alone (enough for code whose frames the unwind tables describe from the
// stack pointer, which is what -O2 code without frame pointers is), and the
// file is read again afterwards: if the thread moved on meanwhile, the dump
// says its frames may be wrong. No signal is sent: a signal would cut a
// sleep or a read short.
//
// Boost.Context's fcontext on x86-64 (jump_fcontext): the context pointer is
// the suspended stack pointer; above it sit the MXCSR/x87 control words,
// r12, r13, r14, r15, rbx, rbp and the return address, and the caller's
// stack pointer is 0x40 above it. Other architectures get no stacks.
#include "runtime/dump.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "runtime/deadlock.h"
#include "runtime/proc.h"
#include "runtime/traceback.h"

#if defined(__x86_64__)
#include <cxxabi.h>
#include <libunwind.h>
#define GORT_DUMP_STACKS 1
#endif

namespace gort {

namespace {

bool schedDetail = false;

// ---- output -----------------------------------------------------------------------

// Out buffers formatted text for one fd (no allocation).
class Out {
  public:
    explicit Out(int fd) : fd_(fd) {}
    ~Out() { flush(); }
    Out(const Out&) = delete;
    Out& operator=(const Out&) = delete;
    void printf(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf_ + len_, sizeof buf_ - len_, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (len_ + size_t(n) >= sizeof buf_) {
            // Did not fit: flush and format again into the empty buffer.
            flush();
            va_start(ap, fmt);
            n = vsnprintf(buf_, sizeof buf_, fmt, ap);
            va_end(ap);
            if (n < 0) return;
            len_ = std::min(size_t(n), sizeof buf_ - 1);
        } else {
            len_ += size_t(n);
        }
    }
    void flush() {
        const char* p = buf_;
        while (len_ > 0) {
            ssize_t w = write(fd_, p, len_);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            p += w;
            len_ -= size_t(w);
        }
        len_ = 0;
    }

  private:
    int fd_;
    size_t len_ = 0;
    char buf_[4096];
};

const char* statusName(uint32_t s) {
    switch (s) {
        case Gidle:
            return "idle";
        case Grunnable:
            return "runnable";
        case Grunning:
            return "running";
        case Gsyscall:
            return "syscall";
        case Gwaiting:
            return "waiting";
        case Gdead:
            return "dead";
    }
    return "???";
}

// ---- unwinding -----------------------------------------------------------------------

#if defined(GORT_DUMP_STACKS)

constexpr size_t kMaxCopy = 256 * 1024;  // the part of a stack read (from its top frame)
constexpr int kMaxFrames = 64;

// readSelf copies n bytes at addr of this process; false if any is unmapped.
bool readSelf(uintptr_t addr, void* out, size_t n) {
    iovec local{out, n};
    iovec remote{reinterpret_cast<void*>(addr), n};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == ssize_t(n);
}

// Frames is what libunwind's accessors work on: saved registers and a copy
// of the stack's live part.
struct Frames {
    unw_word_t regs[UNW_X86_64_RIP + 1] = {};
    uintptr_t copyLo = 0, copyHi = 0;  // the copied range [copyLo, copyHi)
    // A one-page cache of reads outside the copy (unwind tables, code).
    uintptr_t pageAddr = 1;
    unsigned char page[4096];
};

alignas(16) unsigned char stackCopy[kMaxCopy];
Mutex dumpLock;

int accessMem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write, void* arg) {
    auto* f = static_cast<Frames*>(arg);
    if (write) return -UNW_EINVAL;
    // An unwinder that follows a stack rewritten under it may ask for any
    // address at all, UINTPTR_MAX included: no check may wrap around.
    if (spanWithin(addr, sizeof *val, f->copyLo, f->copyHi)) {
        memcpy(val, stackCopy + (addr - f->copyLo), sizeof *val);
        return 0;
    }
    uintptr_t pg = addr & ~uintptr_t(4095);
    if ((addr & 4095) > 4096 - sizeof *val) {  // straddles two pages
        return readSelf(addr, val, sizeof *val) ? 0 : -UNW_EINVAL;
    }
    if (f->pageAddr != pg) {
        if (!readSelf(pg, f->page, sizeof f->page)) {
            f->pageAddr = 1;
            return readSelf(addr, val, sizeof *val) ? 0 : -UNW_EINVAL;
        }
        f->pageAddr = pg;
    }
    memcpy(val, f->page + (addr - pg), sizeof *val);
    return 0;
}

int accessReg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write, void* arg) {
    auto* f = static_cast<Frames*>(arg);
    if (reg < 0 || reg > UNW_X86_64_RIP) return -UNW_EBADREG;
    if (write) {
        f->regs[reg] = *val;
    } else {
        *val = f->regs[reg];
    }
    return 0;
}

int accessFpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) {
    return -UNW_EBADREG;
}

int resume(unw_addr_space_t, unw_cursor_t*, void*) {
    return -UNW_EINVAL;
}

unw_accessors_t* localAccessors() {
    return unw_get_accessors(unw_local_addr_space);
}

int findProcInfo(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t* pi, int need, void* arg) {
    return localAccessors()->find_proc_info(as, ip, pi, need, arg);
}

void putUnwindInfo(unw_addr_space_t as, unw_proc_info_t* pi, void* arg) {
    localAccessors()->put_unwind_info(as, pi, arg);
}

int getDynInfoListAddr(unw_addr_space_t as, unw_word_t* addr, void* arg) {
    return localAccessors()->get_dyn_info_list_addr(as, addr, arg);
}

int getProcName(unw_addr_space_t as, unw_word_t ip, char* buf, size_t len, unw_word_t* off,
                void* arg) {
    return localAccessors()->get_proc_name(as, ip, buf, len, off, arg);
}

unw_addr_space_t addressSpace() {
    static unw_addr_space_t as = [] {
        unw_accessors_t acc{};
        acc.find_proc_info = findProcInfo;
        acc.put_unwind_info = putUnwindInfo;
        acc.get_dyn_info_list_addr = getDynInfoListAddr;
        acc.access_mem = accessMem;
        acc.access_reg = accessReg;
        acc.access_fpreg = accessFpreg;
        acc.resume = resume;
        acc.get_proc_name = getProcName;
        unw_addr_space_t a = unw_create_addr_space(&acc, 0);
        if (a != nullptr) unw_set_caching_policy(a, UNW_CACHE_NONE);
        return a;
    }();
    return as;
}

// fromFcontext loads the registers a suspended jump_fcontext saved.
bool fromFcontext(Frames* f, fcontext_t ctx) {
    auto sp = reinterpret_cast<uintptr_t>(ctx);
    unw_word_t saved[8];
    if (sp == 0 || !readSelf(sp, saved, sizeof saved)) return false;
    f->regs[UNW_X86_64_R12] = saved[1];
    f->regs[UNW_X86_64_R13] = saved[2];
    f->regs[UNW_X86_64_R14] = saved[3];
    f->regs[UNW_X86_64_R15] = saved[4];
    f->regs[UNW_X86_64_RBX] = saved[5];
    f->regs[UNW_X86_64_RBP] = saved[6];
    f->regs[UNW_X86_64_RIP] = saved[7];
    f->regs[UNW_X86_64_RSP] = sp + 0x40;
    return true;
}

// fromHere loads the calling thread's own registers.
GORT_NOINLINE bool fromHere(Frames* f) {
    unw_context_t uc;
    if (unw_getcontext(&uc) != 0) return false;
    const greg_t* g = uc.uc_mcontext.gregs;
    f->regs[UNW_X86_64_RAX] = unw_word_t(g[REG_RAX]);
    f->regs[UNW_X86_64_RBX] = unw_word_t(g[REG_RBX]);
    f->regs[UNW_X86_64_RBP] = unw_word_t(g[REG_RBP]);
    f->regs[UNW_X86_64_RSP] = unw_word_t(g[REG_RSP]);
    f->regs[UNW_X86_64_R12] = unw_word_t(g[REG_R12]);
    f->regs[UNW_X86_64_R13] = unw_word_t(g[REG_R13]);
    f->regs[UNW_X86_64_R14] = unw_word_t(g[REG_R14]);
    f->regs[UNW_X86_64_R15] = unw_word_t(g[REG_R15]);
    f->regs[UNW_X86_64_RIP] = unw_word_t(g[REG_RIP]);
    return true;
}

// printFrames unwinds from f's registers over the stack [.., hi) and prints
// a line per frame.
void printFrames(Out& o, Frames* f, uintptr_t hi) {
    unw_addr_space_t as = addressSpace();
    uintptr_t sp = f->regs[UNW_X86_64_RSP];
    if (as == nullptr || hi <= sp) {
        o.printf("\t(stack unavailable)\n");
        return;
    }
    if (hi == UINTPTR_MAX) hi = sp + kMaxCopy;
    f->copyLo = sp & ~uintptr_t(15);
    f->copyHi = std::min(hi, f->copyLo + kMaxCopy);
    // A thread's stack of unknown bounds (hi is a guess): shrink the copy
    // until it is all mapped.
    while (!readSelf(f->copyLo, stackCopy, f->copyHi - f->copyLo)) {
        uintptr_t pageEnd = (f->copyLo | 4095) + 1;
        if (f->copyHi <= pageEnd) {
            o.printf("\t(stack unreadable)\n");
            return;
        }
        f->copyHi = std::max(pageEnd, f->copyLo + (f->copyHi - f->copyLo) / 2);
    }
    unw_cursor_t c;
    if (unw_init_remote(&c, as, f) != 0) {
        o.printf("\t(stack unavailable)\n");
        return;
    }
    for (int i = 0; i < kMaxFrames; i++) {
        unw_word_t ip = 0, off = 0;
        unw_get_reg(&c, UNW_REG_IP, &ip);
        if (ip == 0) break;
        char name[256];
        if (unw_get_proc_name(&c, name, sizeof name, &off) != 0) {
            o.printf("\t#%-2d %#lx\n", i, (unsigned long)ip);
        } else {
            int st = 0;
            size_t dlen = 0;
            char* d = abi::__cxa_demangle(name, nullptr, &dlen, &st);
            o.printf("\t#%-2d %s+%#lx\n", i, st == 0 && d != nullptr ? d : name,
                     (unsigned long)off);
            free(d);
        }
        if (unw_step(&c) <= 0) return;
    }
    o.printf("\t...\n");
}

#endif  // GORT_DUMP_STACKS

}  // namespace

bool symbolize(uintptr_t pc, char* buf, size_t len) {
#if defined(GORT_DUMP_STACKS)
    unw_addr_space_t as = addressSpace();
    if (as == nullptr || len == 0) return false;
    Frames f;
    f.regs[UNW_X86_64_RIP] = pc;
    unw_cursor_t c;
    unw_word_t off = 0;
    char name[256];
    if (unw_init_remote(&c, as, &f) != 0 || unw_get_proc_name(&c, name, sizeof name, &off) != 0) {
        return false;
    }
    int st = 0;
    char* d = abi::__cxa_demangle(name, nullptr, nullptr, &st);
    snprintf(buf, len, "%s", st == 0 && d != nullptr ? d : name);
    free(d);
    return true;
#else
    (void)pc;
    (void)buf;
    (void)len;
    return false;
#endif
}

namespace {

// stackTop is the top of the stack gp's saved context lives on: its own,
// or its thread's for a callback (when the bounds are unknown, as far as
// a copy reaches: printFrames stops at unmapped memory).
GORT_RACY_READER uintptr_t stackTop(G* gp) {
    if (gp->onNativeStack) {
        M* lm = gp->lockedm;
        if (lm != nullptr && lm->stackHi != 0) return lm->stackHi;
        if (gp->ctx.stackLo != nullptr && gp->ctx.stackSize != 0) {
            return reinterpret_cast<uintptr_t>(gp->ctx.stackLo) + gp->ctx.stackSize;
        }
        return UINTPTR_MAX;
    }
    return gp->stack.hi;
}

// printStack prints gp's frames: its saved context when it is parked or
// runnable, where it left for C when in a system call, the live stack for
// the caller's own goroutine; nothing for one running elsewhere.
GORT_RACY_READER void printStack(Out& o, G* gp, bool current) {
#if defined(GORT_DUMP_STACKS)
    Frames f;
    uint32_t st = gp->atomicstatus.load(std::memory_order_acquire);
    if (current) {
        if (!fromHere(&f)) return;
        M* m = getm();
        uintptr_t hi =
            gp->onNativeStack && m != nullptr && m->stackHi != 0 ? m->stackHi : stackTop(gp);
        printFrames(o, &f, hi);
        return;
    }
    fcontext_t ctx = nullptr;
    if (st == Gwaiting || st == Grunnable) {
        ctx = gp->ctx.fctx;
    } else if (st == Gsyscall && !gp->onNativeStack && !gp->system) {
        ctx = gp->syscallctx;  // its frames up to where it called C
    }
    if (ctx == nullptr) {
        o.printf(st == Grunnable  ? "\t(not started yet)\n"
                 : st == Grunning ? "\t(running on another thread: stack not read)\n"
                                  : "\t(in C code: stack not read)\n");
        return;
    }
    if (fromFcontext(&f, ctx)) printFrames(o, &f, stackTop(gp));
#else
    (void)o;
    (void)gp;
    (void)current;
#endif
}

// printHeader prints gp's line: goroutine N "name" [state, reason, for how
// long, locked to M]:
GORT_RACY_READER void printHeader(Out& o, G* gp, bool current) {
    uint32_t st = gp->atomicstatus.load(std::memory_order_acquire);
    const char* reason = gp->waitreason;
    char what[160];
    if (st == Gwaiting && reason != nullptr) {
        double s = double(waitClock() - gp->waitsince) / 1e9;
        if (gp->waitsince != 0 && s >= 0) {
            snprintf(what, sizeof what, "%s, %.3f s", reason, s);
        } else {
            snprintf(what, sizeof what, "%s", reason);
        }
    } else {
        snprintf(what, sizeof what, "%s", statusName(st));
    }
    char locked[64] = "";
    if (M* lm = gp->lockedm) {
        snprintf(locked, sizeof locked, ", locked to M%lld (thread %d)", (long long)lm->id,
                 int(__atomic_load_n(&lm->procid, __ATOMIC_ACQUIRE)));
    }
    char stack[80] = "";
    Stack stk = gp->stack;  // a copy: the goroutine may exit meanwhile
    if (stk) {
        snprintf(stack, sizeof stack, ", stack %zu of %zu KiB used", stackTouched(stk) / 1024,
                 stk.size() / 1024);
    }
    const char* name = gname(gp);
    o.printf("goroutine %lld%s%s%s [%s%s%s]%s:\n", (long long)gp->goid, name ? " \"" : "",
             name ? name : "", name ? "\"" : "", what, locked, stack, current ? " (current)" : "");
}

GORT_RACY_READER void printG(Out& o, G* gp, bool current, bool withStack) {
    printHeader(o, gp, current);
    if (withStack) printStack(o, gp, current);
    o.printf("\n");
}

// tryLockFor takes mu if it can within about ms milliseconds.
bool tryLockFor(Mutex& mu, int ms) {
    for (int i = 0; i < ms; i++) {
        if (mu.tryLock()) return true;
        usleep(1000);
    }
    return mu.tryLock();
}

GORT_RACY_READER bool shown(G* gp) {
    if (gp->system) return false;
    uint32_t st = gp->atomicstatus.load(std::memory_order_relaxed);
    return st != Gdead && st != Gidle;
}

}  // namespace

GORT_RACY_READER void dumpAll(int fd, G* cur, int limit) {
    // Serialised, but never waited for forever: a crashing thread may be
    // the one dumping.
    bool locked = tryLockFor(dumpLock, 1000);
    // allglock keeps every listed G, its name and the list itself alive
    // (G deletion, the freeing of a name and the growth of the list take
    // it). A dump without it is a crash report whose thread may hold it:
    // then a stale entry may be read, the best that can be done.
    bool allgLocked = tryLockFor(sched.allglock, 1000);
    Out o(fd);
    if (cur != nullptr) printG(o, cur, true, true);
    int64_t n = __atomic_load_n(&sched.allglen, __ATOMIC_ACQUIRE);
    G** all = __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE);
    int withStack = 0, more = 0;
    for (int64_t i = 0; i < n && all != nullptr; i++) {
        G* gp = all[i];
        if (gp == cur || !shown(gp)) continue;
        if (limit > 0 && withStack >= limit) {
            if (++more <= 4 * limit) printG(o, gp, false, false);
            continue;
        }
        printG(o, gp, false, locked);
        withStack++;
    }
    if (more > 4 * limit && limit > 0) o.printf("...additional goroutines: %d\n", more - 4 * limit);
    o.flush();
    if (allgLocked) sched.allglock.unlock();
    if (locked) dumpLock.unlock();
}

void dumpGoroutines(int fd) {
    dumpAll(fd, getg());
}

#if defined(GORT_DUMP_STACKS)
namespace {

// syscallRegs reads the stack and instruction pointers of thread tid at the
// system call it blocks in; false if it is not in one (running, or gone).
bool syscallRegs(pid_t tid, unsigned long* sp, unsigned long* pc) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", int(tid));
    FILE* f = fopen(path, "re");
    if (f == nullptr) return false;
    char line[256] = "";
    bool ok = fgets(line, sizeof line, f) != nullptr;
    fclose(f);
    if (!ok || strncmp(line, "running", 7) == 0) return false;
    // "nr a1 a2 a3 a4 a5 a6 sp pc", or "-1 sp pc" outside a system call
    // (a page fault): the last two fields either way.
    unsigned long v[9];
    int n = sscanf(line, "%*d %lx %lx %lx %lx %lx %lx %lx %lx", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]);
    if (n == 8) {
        *sp = v[6];
        *pc = v[7];
        return true;
    }
    if (sscanf(line, "%*d %lx %lx", &v[0], &v[1]) == 2) {
        *sp = v[0];
        *pc = v[1];
        return true;
    }
    return false;
}

}  // namespace
#endif

GORT_RACY_READER void dumpBlockedGoroutine(int fd, G* gp, pid_t tid) {
    bool locked = dumpLock.tryLock();
    Out o(fd);
    printHeader(o, gp, false);
#if defined(GORT_DUMP_STACKS)
    unsigned long sp = 0, pc = 0, sp2 = 0, pc2 = 0;
    if (!locked) {
        o.printf("\t(another dump is running: stack not read)\n");
    } else if (!syscallRegs(tid, &sp, &pc)) {
        o.printf("\t(running, not in a system call: stack not read)\n");
    } else {
        Frames f;
        f.regs[UNW_X86_64_RSP] = sp;
        f.regs[UNW_X86_64_RIP] = pc;
        M* m = gp->m;
        uintptr_t hi = gp->onNativeStack && m != nullptr && m->stackHi != 0   ? m->stackHi
                       : gp->stack && sp >= gp->stack.lo && sp < gp->stack.hi ? gp->stack.hi
                                                                              : UINTPTR_MAX;
        printFrames(o, &f, hi);
        if (!syscallRegs(tid, &sp2, &pc2) || sp2 != sp || pc2 != pc) {
            o.printf("\t(the thread moved on while its stack was read: frames may be wrong)\n");
        }
    }
#else
    (void)tid;
#endif
    o.printf("\n");
    o.flush();
    if (locked) dumpLock.unlock();
}

void dumpGoroutine(int fd, G* gp) {
    bool locked = dumpLock.tryLock();
    Out o(fd);
    printG(o, gp, gp == getg(), locked);
    o.flush();
    if (locked) dumpLock.unlock();
}

// traceback.h: the fatal-error dump (stderr, at most 64 stacks).
void dumpgoroutines(G* cur) {
    dumpAll(2, cur, 64);
}

// ---- SCHED lines -------------------------------------------------------------------------

GORT_RACY_READER void printSchedtrace(int64_t sinceNs) {
    char buf[512];
    int n = 0;
    int32_t procs = sched.gomaxprocs.load(std::memory_order_acquire);
    Out o(2);
    LockGuard g(sched.lock);
    n += snprintf(
        buf + n, sizeof buf - size_t(n),
        "SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%lld spinningthreads=%d "
        "idlethreads=%d runqueue=%d",
        (long long)(sinceNs / 1000000), procs, sched.npidle.load(std::memory_order_relaxed),
        (long long)(sched.mnext - sched.nmfreed), sched.nmspinning.load(std::memory_order_relaxed),
        sched.nmidle, sched.runqsize.load(std::memory_order_relaxed));
    if (schedDetail) {
        n += snprintf(buf + n, sizeof buf - size_t(n), " nmidlelocked=%d nmsys=%d sysmonwait=%d",
                      sched.nmidlelocked, sched.nmsys,
                      int(sched.sysmonwait.load(std::memory_order_relaxed)));
    } else {
        n += snprintf(buf + n, sizeof buf - size_t(n), " [");
        for (int32_t i = 0; i < procs && n < int(sizeof buf) - 16; i++) {
            P* p = sched.allp[i].load(std::memory_order_acquire);
            uint32_t len = p->runqtail.load(std::memory_order_relaxed) -
                           p->runqhead.load(std::memory_order_relaxed);
            n += snprintf(buf + n, sizeof buf - size_t(n), i == 0 ? "%u" : " %u", len);
        }
        n += snprintf(buf + n, sizeof buf - size_t(n), "]");
    }
    o.printf("%s\n", buf);
    if (!schedDetail) return;
    // Go's scheddetail: a line per P, per M and per G (racy reads, as Go's).
    int32_t nallp = sched.nallp.load(std::memory_order_acquire);
    for (int32_t i = 0; i < nallp; i++) {
        P* p = sched.allp[i].load(std::memory_order_acquire);
        M* pm = __atomic_load_n(&p->m, __ATOMIC_RELAXED);
        uint32_t len = p->runqtail.load(std::memory_order_relaxed) -
                       p->runqhead.load(std::memory_order_relaxed);
        o.printf(
            "  P%d: status=%u schedtick=%u syscalltick=%u m=%lld runqsize=%u gfreecnt=%d "
            "timerslen=%d\n",
            p->id, p->status.load(std::memory_order_relaxed),
            __atomic_load_n(reinterpret_cast<uint32_t*>(&p->schedtick), __ATOMIC_RELAXED),
            p->syscalltick.load(std::memory_order_relaxed),
            pm != nullptr ? (long long)pm->id : -1LL, len,
            __atomic_load_n(&p->gFreeCount, __ATOMIC_RELAXED),
            __atomic_load_n(&p->ntimers, __ATOMIC_RELAXED));
    }
    for (M* m = sched.allm.load(std::memory_order_relaxed); m != nullptr; m = m->alllink) {
        P* mp = __atomic_load_n(&m->p, __ATOMIC_RELAXED);
        G* curg = __atomic_load_n(&m->curg, __ATOMIC_RELAXED);
        G* lg = __atomic_load_n(&m->lockedg, __ATOMIC_RELAXED);
        o.printf(
            "  M%lld: p=%d curg=%lld spinning=%s blocked=%s incgo=%s lockedg=%lld "
            "thread=%d%s%s%s\n",
            (long long)m->id, mp != nullptr ? mp->id : -1,
            curg != nullptr ? (long long)curg->goid : -1LL,
            __atomic_load_n(&m->spinning, __ATOMIC_RELAXED) ? "true" : "false",
            m->park.woken() ? "false" : "true",
            __atomic_load_n(&m->incgo, __ATOMIC_RELAXED) ? "true" : "false",
            lg != nullptr ? (long long)lg->goid : -1LL,
            int(__atomic_load_n(&m->procid, __ATOMIC_RELAXED)), m->isTemplate ? " template" : "",
            m->isSysmon ? " sysmon" : "", m->isExtra ? " extra" : "");
    }
    int64_t ng = __atomic_load_n(&sched.allglen, __ATOMIC_ACQUIRE);
    G** all = __atomic_load_n(&sched.allgs, __ATOMIC_ACQUIRE);
    for (int64_t i = 0; i < ng && all != nullptr; i++) {
        G* gp = all[i];
        if (!shown(gp)) continue;
        uint32_t st = gp->atomicstatus.load(std::memory_order_relaxed);
        M* gm = __atomic_load_n(&gp->m, __ATOMIC_RELAXED);
        M* lm = __atomic_load_n(&gp->lockedm, __ATOMIC_RELAXED);
        const char* why = __atomic_load_n(&gp->waitreason, __ATOMIC_RELAXED);
        o.printf("  G%lld: status=%u(%s) m=%lld lockedm=%lld\n", (long long)gp->goid, st,
                 why != nullptr && st == Gwaiting ? why : statusName(st),
                 gm != nullptr ? (long long)gm->id : -1LL,
                 lm != nullptr ? (long long)lm->id : -1LL);
    }
}

void observeInit(const Config& c) {
    schedDetail = c.scheddetail;
    deadlockAbort.store(c.abortOnDeadlock, std::memory_order_relaxed);
}

}  // namespace gort
