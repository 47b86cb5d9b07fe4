"""gdb helper for gort (issue 15): goroutines, their stacks and the scheduler.

Load it with `source tools/gdb/gort.py`, or let gdb auto-load it (installed
next to libgort.so as libgort.so.<version>-gdb.py). It reads the runtime's
structures through debug information, so it works on a live process and on a
core file alike:

    info goroutines      id, name, state, wait reason, M, of every goroutine
    goroutine N bt       the backtrace of goroutine N (a parked one from its
                         saved fcontext; a running one is its thread's stack)
    info gort            GOMAXPROCS, the Ps (state, M, run queue), the Ms
                         (thread, P, goroutine, role) and the global queue

x86-64 only (the saved fcontext's layout is Boost.Context's there).
"""
import gdb
from gdb.unwinder import Unwinder, register_unwinder

STATUS = {0: "idle", 1: "runnable", 2: "running", 3: "syscall", 4: "waiting", 5: "dead"}
PSTATUS = {0: "idle", 1: "running", 2: "syscall", 3: "dead"}


def atomic(v):
    """The value held by a std::atomic (libstdc++ layouts)."""
    t = v.type.strip_typedefs()
    names = [f.name for f in t.fields()]
    if "_M_i" in names:
        return v["_M_i"]
    if "_M_b" in names:
        return v["_M_b"]["_M_p"]
    for f in t.fields():  # base class (__atomic_base)
        if f.is_base_class:
            return atomic(v.cast(f.type))
    return v


def sched():
    return gdb.parse_and_eval("gort::sched")


def cstr(p):
    try:
        return p.string() if int(p) != 0 else ""
    except gdb.MemoryError:
        return "?"


def all_gs():
    s = sched()
    n = int(s["allglen"])
    arr = s["allgs"]
    for i in range(n):
        yield arr[i].dereference()


def user_gs():
    for g in all_gs():
        st = int(atomic(g["atomicstatus"]))
        if bool(g["system"]) or st in (0, 5):
            continue
        yield g, st


def m_id(mp):
    return int(mp.dereference()["id"]) if int(mp) != 0 else -1


class InfoGoroutines(gdb.Command):
    """info goroutines: every goroutine with id, name, state, wait reason, M."""

    def __init__(self):
        super().__init__("info goroutines", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        print("%6s  %-10s %-24s %-5s %-8s %s" % ("id", "state", "wait reason", "M", "locked", "name"))
        for g, st in user_gs():
            reason = cstr(g["waitreason"]) if st == 4 else ""
            print("%6d  %-10s %-24s %-5s %-8s %s" % (
                int(g["goid"]), STATUS.get(st, "?"), reason,
                m_id(g["m"]) if int(g["m"]) else "-",
                ("M%d" % m_id(g["lockedm"])) if int(g["lockedm"]) else "-",
                cstr(g["name"])))


def find_g(goid):
    for g, st in user_gs():
        if int(g["goid"]) == goid:
            return g, st
    return None, None


class GoroutineCmd(gdb.Command):
    """goroutine N bt: the backtrace of goroutine N."""

    def __init__(self):
        super().__init__("goroutine", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        args = arg.split()
        if len(args) < 2 or args[1] != "bt":
            raise gdb.GdbError("usage: goroutine N bt")
        goid = int(args[0])
        g, st = find_g(goid)
        if g is None:
            raise gdb.GdbError("no goroutine %d" % goid)
        ctx = None
        if st in (1, 4):
            ctx = int(g["ctx"]["fctx"])
        elif st == 3 and not bool(g["onNativeStack"]):
            ctx = int(g["syscallctx"])
        if not ctx:
            mp = g["m"]
            if int(mp) and st == 2:
                tid = int(mp.dereference()["procid"])
                print("goroutine %d runs on M%d (thread %d): `thread find %d`, then bt"
                      % (goid, m_id(mp), tid, tid))
            else:
                print("goroutine %d has no saved context (%s)" % (goid, STATUS.get(st)))
            return
        backtrace_from(ctx)


class _FrameId:
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _GoroutineUnwinder(Unwinder):
    """While `goroutine N bt` runs: the selected thread's innermost frame
    returns into the goroutine's saved context (its registers), so gdb's own
    unwinder walks the goroutine's frames from there, live or in a core."""

    def __init__(self):
        super().__init__("gort-goroutine")
        self.regs = None

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        sp = pending_frame.read_register("rsp")
        pc = pending_frame.read_register("rip")
        ui = pending_frame.create_unwind_info(_FrameId(sp, pc))
        for name, val in self.regs.items():
            t = pending_frame.read_register(name).type
            ui.add_saved_register(name, gdb.Value(val).cast(t))
        return ui


_unwinder = _GoroutineUnwinder()
register_unwinder(None, _unwinder, replace=True)


def backtrace_from(ctx):
    """bt from the registers a suspended jump_fcontext saved at ctx (the
    first line is the thread gdb has selected, the rest the goroutine)."""
    inf = gdb.selected_inferior()
    words = [int.from_bytes(bytes(inf.read_memory(ctx + 8 * i, 8)), "little") for i in range(8)]
    _unwinder.regs = {"r12": words[1], "r13": words[2], "r14": words[3], "r15": words[4],
                      "rbx": words[5], "rbp": words[6], "rip": words[7], "rsp": ctx + 0x40}
    gdb.invalidate_cached_frames()
    try:
        out = gdb.execute("bt", to_string=True)
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()
    lines = out.splitlines()
    # Frame #0 is the selected thread's; the goroutine's start at #1.
    print("\n".join(l for l in lines if not l.startswith("#0 ")))


class InfoGort(gdb.Command):
    """info gort: the scheduler's Ps, Ms and queues."""

    def __init__(self):
        super().__init__("info gort", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        s = sched()
        print("gomaxprocs=%d idleprocs=%d idle Ms=%d spinning=%d runqueue=%d running=%s" % (
            int(atomic(s["gomaxprocs"])), int(atomic(s["npidle"])), int(s["nmidle"]),
            int(atomic(s["nmspinning"])), int(atomic(s["runqsize"])),
            bool(atomic(s["running"]))))
        for i in range(int(atomic(s["nallp"]))):
            p = atomic(s["allp"][i])
            if int(p) == 0:
                continue
            p = p.dereference()
            qlen = int(atomic(p["runqtail"])) - int(atomic(p["runqhead"]))
            nxt = atomic(p["runnext"])
            print("  P%d: %s M=%s runq=%d%s" % (
                int(p["id"]), PSTATUS.get(int(atomic(p["status"])), "?"),
                m_id(p["m"]) if int(p["m"]) else "-", qlen,
                (" runnext=G%d" % int(nxt.dereference()["goid"])) if int(nxt) else ""))
        mp = atomic(s["allm"])
        while int(mp) != 0:
            m = mp.dereference()
            role = [r for r, f in (("template", "isTemplate"), ("sysmon", "isSysmon"),
                                   ("extra", "isExtra"), ("spinning", "spinning"),
                                   ("incgo", "incgo")) if bool(m[f])]
            curg = m["curg"]
            print("  M%d: thread=%d P=%s G=%s lockedG=%s %s" % (
                int(m["id"]), int(m["procid"]),
                int(m["p"].dereference()["id"]) if int(m["p"]) else "-",
                int(curg.dereference()["goid"]) if int(curg) else "-",
                int(m["lockedg"].dereference()["goid"]) if int(m["lockedg"]) else "-",
                " ".join(role)))
            mp = m["alllink"]


InfoGoroutines()
GoroutineCmd()
InfoGort()
