// G allocation: the free lists of dead Gs, the per-P stack cache, goroutine
// ids, and newproc1, which makes a runnable G out of them (newproc, in
// proc.cpp, queues it).
//
// A dead G keeps its stack when it is of the default size (gdestroy), so a
// spawn usually costs no allocation: gfget takes a G from the P's own free
// list (no lock), refilled from and spilled to a global pool under
// sched.gFreeLock; stacks of other sizes go through the P's stack cache
// (stackget/stackput). Only the P's own M touches p->gFree, p->stackcache and
// p->goidcache (newproc1 runs with m->p held, or with p null and the global
// pool's lock). A G is never freed while listed in allgs unless gdelete
// removes it first (allgremove takes allglock, which the dump relies on).
#include <stdlib.h>
#include <string.h>

#include "runtime/proc.h"
#include "runtime/stack.h"
#include "runtime/stats.h"
#include "runtime/traceback.h"

namespace gort {

namespace {

constexpr int32_t kGFreeLocalMax = 64;      // per-P free Gs before spilling half
constexpr int32_t kGFreeGlobalMax = 65536;  // pooled globally; beyond, Gs are freed

Stack stackget(P* p, size_t size) {
    if (p != nullptr && size == stackDefaultSize() && p->nstackcache > 0) {
        return p->stackcache[--p->nstackcache];
    }
    return stackalloc(size);
}

}  // namespace

void stackput(P* p, Stack s) {
    if (!s) return;
    if (p != nullptr && s.size() == stackDefaultSize()) {
        if (p->nstackcache == kStackCacheSize) {
            for (int32_t i = 0; i < kStackCacheSize / 2; i++)
                stackfree(p->stackcache[--p->nstackcache]);
        }
        p->stackcache[p->nstackcache++] = s;
        return;
    }
    stackfree(s);
}

int64_t goidalloc(P* p) {
    constexpr int64_t kBatch = 16;
    if (p == nullptr) return sched.goidgen.fetch_add(1, std::memory_order_relaxed) + 1;
    if (p->goidcache == p->goidcacheend) {
        p->goidcache = sched.goidgen.fetch_add(kBatch, std::memory_order_relaxed) + 1;
        p->goidcacheend = p->goidcache + kBatch;
    }
    return p->goidcache++;
}

G* gfget(P* p) {
    if (p == nullptr) {
        LockGuard g(sched.gFreeLock);
        G* gp = sched.gFree;
        if (gp != nullptr) {
            sched.gFree = gp->schedlink;
            sched.ngFree--;
        }
        return gp;
    }
    if (p->gFree == nullptr && sched.ngFree.load(std::memory_order_relaxed) > 0) {
        LockGuard g(sched.gFreeLock);
        while (p->gFreeCount < kGFreeLocalMax / 2 && sched.gFree != nullptr) {
            G* gp = sched.gFree;
            sched.gFree = gp->schedlink;
            sched.ngFree--;
            gp->schedlink = p->gFree;
            p->gFree = gp;
            p->gFreeCount++;
        }
    }
    G* gp = p->gFree;
    if (gp != nullptr) {
        p->gFree = gp->schedlink;
        p->gFreeCount--;
    }
    return gp;
}

void gfput(P* p, G* gp) {
    gp->schedlink = p->gFree;
    p->gFree = gp;
    if (++p->gFreeCount < kGFreeLocalMax) return;
    // Spill half to the global pool; free what the pool cannot keep.
    G* spill = nullptr;
    while (p->gFreeCount > kGFreeLocalMax / 2) {
        G* g1 = p->gFree;
        p->gFree = g1->schedlink;
        p->gFreeCount--;
        g1->schedlink = spill;
        spill = g1;
    }
    G* drop = nullptr;
    {
        LockGuard g(sched.gFreeLock);
        while (spill != nullptr) {
            G* g1 = spill;
            spill = g1->schedlink;
            if (sched.ngFree >= kGFreeGlobalMax) {
                g1->schedlink = drop;
                drop = g1;
                continue;
            }
            g1->schedlink = sched.gFree;
            sched.gFree = g1;
            sched.ngFree++;
        }
    }
    while (drop != nullptr) {
        G* g1 = drop;
        drop = g1->schedlink;
        gdelete(g1);
    }
}

namespace {

// gfputDead returns a G that never ran to the free lists (p may be null).
void gfputDead(P* p, G* gp) {
    if (p != nullptr) {
        gfput(p, gp);
        return;
    }
    LockGuard g(sched.gFreeLock);
    gp->schedlink = sched.gFree;
    sched.gFree = gp;
    sched.ngFree++;
}

}  // namespace

void gdelete(G* gp) {
    allgremove(gp);
    if (gp->stack) stackfree(gp->stack);
    rtdelete(gp->timer);
    rtdelete(gp);
}

void gfreeAll() {
    auto freeList = [](G* gp) {
        while (gp != nullptr) {
            G* next = gp->schedlink;
            gp->stack = Stack{};  // the arenas go with the runtime (stackReleaseAll)
            gdelete(gp);
            gp = next;
        }
    };
    freeList(sched.gFree);
    sched.gFree = nullptr;
    sched.ngFree = 0;
    int32_t n = sched.nallp.load(std::memory_order_relaxed);
    for (int32_t i = 0; i < n; i++) {
        P* p = sched.allp[i].load(std::memory_order_relaxed);
        freeList(p->gFree);
        p->gFree = nullptr;
        p->gFreeCount = 0;
        while (p->nstackcache > 0) stackfree(p->stackcache[--p->nstackcache]);
    }
}

// newproc1 makes a runnable G without queueing it; null when memory ran
// out (a goroutine is a user-requested object: kENOMEM, not fatal).
G* newproc1(GoFunc fn, void* arg, const GoOptions& opts, P* p) {
    char* name = nullptr;
    if (opts.name != nullptr && (name = strdup(opts.name)) == nullptr) return nullptr;
    G* gp = gfget(p);
    if (gp == nullptr) {
        gp = tryNew<G>();
        if (gp == nullptr) {
            free(name);
            return nullptr;
        }
        gp->atomicstatus.store(Gdead, std::memory_order_relaxed);
        allgadd(gp);
    }
    size_t stackSize = stackRoundSize(opts.stackSize);
    // The stack now, not at the first run: memory running out is the
    // spawner's kENOMEM, never a fatal error later on the scheduler. A free
    // G may bring one of the default size (gdestroy).
    if (gp->stack && gp->stack.size() != stackSize) {
        stackput(p, gp->stack);
        gp->stack = Stack{};
    }
    if (!gp->stack) gp->stack = stackget(p, stackSize);
    if (!gp->stack) {
        gfputDead(p, gp);
        free(name);
        return nullptr;
    }
    gp->fn = fn;
    gp->arg = arg;
    gp->ctx.fctx = nullptr;
    __atomic_store_n(&gp->name, name, __ATOMIC_RELEASE);  // gname
    gp->goid = goidalloc(p);
    // Only the first two lines of gp are written for a goroutine without
    // hooks or affinity: a free G has neither (gdestroy), and the fields
    // of parking and C calls are reset by those after each use.
    if (GORT_UNLIKELY(opts.onPark != nullptr || opts.onResume != nullptr)) {
        gp->onPark = opts.onPark;
        gp->onResume = opts.onResume;
        gp->hookArg = opts.hookArg;
        gp->hasHooks = true;
    }
    gp->inHook = false;
    gp->affinity = opts.resumeAffinity;  // lastm is null in a free G
    gp->onNativeStack = false;
    gp->inBlocking = false;
    gp->noHost = false;
    if (p != nullptr) {
        p->countCreated();
    } else {
        sched.gcreatedNoP.fetch_add(1, std::memory_order_relaxed);
    }
    casgstatus(gp, Gdead, Grunnable);
    return gp;
}

}  // namespace gort
