// sysmon: the runtime's monitor thread. It runs without a P.
#include "runtime/deadlock.h"
#include "runtime/proc.h"

namespace gort {

void sysmon() {
    M* m = getm();
    m->isSysmon = true;
    {
        LockGuard g(sched.lock);
        sched.nmsys++;
        checkdead();  // it no longer counts as a running M
    }
    while (!sched.stopping.load(std::memory_order_acquire)) {
        sched.sysmonwait.store(true, std::memory_order_release);
        sched.sysmonnote.sleep();
        sched.sysmonnote.clear();
    }
}

void wakeSysmon() {
    bool w = true;
    if (sched.sysmonwait.compare_exchange_strong(w, false, std::memory_order_acq_rel)) {
        sched.sysmonnote.wakeup();
    }
}

}  // namespace gort
