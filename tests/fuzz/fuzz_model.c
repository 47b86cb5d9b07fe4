/* The main thread's private slots and their exact model (see fuzz.h).
 *
 * Only the main thread touches these handles, so every result is known in
 * advance: a channel's buffered values (FIFO), its capacity and whether it
 * is closed; a wait group's counter; a mutex's state; the references the
 * program holds; a handle released (or from before a shutdown) gets
 * GORT_EINVAL; with no runtime every call gets GORT_ENOTINIT and every
 * constructor NULL with errno EPERM. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

enum { kChans = 3, kWgs = 2, kMus = 2, kMaxCap = 4, kMaxElem = 64 };

typedef enum { EMPTY, LIVE, DEAD } State;

typedef struct {
    State st;
    gort_chan* h;
    size_t elem, cap;
    int refs, closed, count, head;
    uint8_t buf[kMaxCap][kMaxElem];
} PChan;

typedef struct {
    State st;
    gort_waitgroup* h;
    int refs;
    int64_t counter;
} PWg;

typedef struct {
    State st;
    gort_mutex* h;
    int refs, locked;
} PMu;

static PChan chans[kChans];
static PWg wgs[kWgs];
static PMu mus[kMus];

static const size_t kElems[] = {0, 1, 8, 64};
static const size_t kCaps[] = {0, 1, 2, 4};
static const int64_t kTimeouts[] = {0, 1, 1000, 20000};

/* want: the code the model expects for an operation on a slot. */
static int want_for(State st) {
    if (!fuzz_running) return GORT_ENOTINIT;
    return st == LIVE ? GORT_OK : GORT_EINVAL;
}

static void check(const char* call, int rc, int want) {
    if (rc != want) fuzz_fail(call, rc, want);
}

/* ---- channels ------------------------------------------------------------- */

static void chan_release_model(PChan* c) {
    if (--c->refs == 0) c->st = DEAD;
}

static void chan_make(PChan* c, Prog* pr) {
    uint8_t b = take(pr);
    if (c->st == LIVE) { /* drop the old one: all its references */
        while (c->refs > 0) {
            check("gort_chan_release(old)", gort_chan_release(c->h), want_for(LIVE));
            chan_release_model(c);
        }
    }
    size_t elem = kElems[b & 3], cap = kCaps[(b >> 2) & 3];
    int bad = (b >> 4) == 15;
    if (bad) elem = 65537; /* over the 64 KiB limit */
    errno = 0;
    gort_chan* h = gort_chan_make(elem, cap);
    if (!fuzz_running || bad) {
        if (h != NULL) fuzz_fail("gort_chan_make: expected NULL", 0, 0);
        check("gort_chan_make errno", errno, fuzz_running ? EINVAL : EPERM);
        return;
    }
    if (h == NULL) fuzz_fail("gort_chan_make failed, errno", errno, 0);
    memset(c, 0, sizeof *c);
    c->st = LIVE;
    c->h = h;
    c->elem = elem;
    c->cap = cap;
    c->refs = 1;
}

/* can_send / can_recv: what a non-blocking send or receive would do. */
static int send_result(PChan* c) {
    if (c->closed) return GORT_ECLOSED;
    return (size_t)c->count < c->cap ? GORT_OK : GORT_EAGAIN;
}

static void push(PChan* c, const uint8_t* v) {
    memcpy(c->buf[(c->head + c->count) % kMaxCap], v, c->elem);
    c->count++;
}

/* check_pop: the value received must be the oldest buffered one. */
static void check_pop(PChan* c, const uint8_t* got, int ok) {
    if (c->count > 0) {
        check("recv ok (buffered)", ok, 1);
        if (memcmp(got, c->buf[c->head], c->elem) != 0) fuzz_fail("recv: not FIFO", 0, 0);
        c->head = (c->head + 1) % kMaxCap;
        c->count--;
    } else {
        check("recv ok (closed, drained)", ok, 0);
        for (size_t i = 0; i < c->elem; i++) {
            if (got[i] != 0) fuzz_fail("recv: drained value not zeroed", got[i], 0);
        }
    }
}

static void chan_send(PChan* c, Prog* pr, int timed) {
    uint8_t v[kMaxElem];
    for (size_t i = 0; i < sizeof v; i++) v[i] = take(pr);
    int64_t t = kTimeouts[take(pr) & 3];
    int rc = timed ? gort_chan_send_timeout(c->h, v, t) : gort_chan_try_send(c->h, v);
    int want = want_for(c->st);
    if (want == GORT_OK) {
        want = send_result(c);
        if (want == GORT_EAGAIN && timed) want = t == 0 ? GORT_EAGAIN : GORT_ETIMEDOUT;
    }
    /* A send that tries once with a timeout of 0 may say either. */
    if (timed && t == 0 && want == GORT_EAGAIN && rc == GORT_ETIMEDOUT) want = rc;
    check(timed ? "gort_chan_send_timeout" : "gort_chan_try_send", rc, want);
    if (rc == GORT_OK) push(c, v);
}

static void chan_recv(PChan* c, Prog* pr, int timed) {
    uint8_t v[kMaxElem];
    memset(v, 0xA5, sizeof v);
    int ok = -1;
    int64_t t = kTimeouts[take(pr) & 3];
    int rc = timed ? gort_chan_recv_timeout(c->h, v, &ok, t) : gort_chan_try_recv(c->h, v, &ok);
    int want = want_for(c->st);
    if (want == GORT_OK && c->count == 0 && !c->closed) {
        want = timed && t != 0 ? GORT_ETIMEDOUT : GORT_EAGAIN;
        if (timed && t == 0 && rc == GORT_ETIMEDOUT) want = rc;
    }
    check(timed ? "gort_chan_recv_timeout" : "gort_chan_try_recv", rc, want);
    if (rc == GORT_OK) check_pop(c, v, ok);
}

/* A non-blocking select over a send and a receive on the same channel:
 * either may run when both can. */
static void chan_select(PChan* c, Prog* pr) {
    uint8_t out[kMaxElem], in[kMaxElem];
    for (size_t i = 0; i < sizeof out; i++) out[i] = take(pr);
    memset(in, 0xA5, sizeof in);
    gort_select_case cs[2] = {{c->h, GORT_SELECT_SEND, out, 0}, {c->h, GORT_SELECT_RECV, in, 0}};
    size_t chosen = 99;
    int rc = gort_select(cs, 2, 0, &chosen);
    int want = want_for(c->st);
    int can_send = want == GORT_OK && send_result(c) == GORT_OK;
    int can_recv = want == GORT_OK && (c->count > 0 || c->closed);
    int send_closed = want == GORT_OK && c->closed;
    if (want != GORT_OK) {
        check("gort_select(dead)", rc, want);
        return;
    }
    if (rc == GORT_OK && chosen == 0 && can_send) {
        push(c, out);
    } else if (rc == GORT_OK && chosen == 1 && can_recv) {
        check_pop(c, in, cs[1].ok);
    } else if (rc == GORT_ECLOSED && send_closed && chosen == 0) {
        /* the send case of a closed channel chosen: Go panics, gort says so */
    } else if (rc == GORT_EAGAIN && !can_send && !can_recv) {
    } else {
        fuzz_fail("gort_select: result not allowed by the model (rc, chosen)", rc,
                  (long long)chosen);
    }
}

static void chan_op(PChan* c, Prog* pr) {
    uint8_t a = take(pr);
    if (c->st == EMPTY && a % 10 != 0) a = 0; /* make one first */
    switch (a % 10) {
        case 0:
            chan_make(c, pr);
            break;
        case 1:
            chan_send(c, pr, 0);
            break;
        case 2:
            chan_send(c, pr, 1);
            break;
        case 3:
            chan_recv(c, pr, 0);
            break;
        case 4:
            chan_recv(c, pr, 1);
            break;
        case 5: {
            int want = want_for(c->st);
            if (want == GORT_OK && c->closed) want = GORT_ECLOSED;
            int rc = gort_chan_close(c->h);
            check("gort_chan_close", rc, want);
            if (rc == GORT_OK) c->closed = 1;
            break;
        }
        case 6: {
            int rc = gort_chan_retain(c->h);
            check("gort_chan_retain", rc, want_for(c->st));
            if (rc == GORT_OK) c->refs++;
            break;
        }
        case 7: {
            int rc = gort_chan_release(c->h);
            check("gort_chan_release", rc, want_for(c->st));
            if (rc == GORT_OK) chan_release_model(c);
            break;
        }
        case 8: {
            int live = want_for(c->st) == GORT_OK;
            check("gort_chan_len", (int)gort_chan_len(c->h), live ? c->count : 0);
            check("gort_chan_cap", (int)gort_chan_cap(c->h), live ? (int)c->cap : 0);
            break;
        }
        default:
            chan_select(c, pr);
            break;
    }
}

/* ---- wait groups and mutexes ------------------------------------------------ */

static void wg_op(PWg* w, Prog* pr) {
    uint8_t a = take(pr);
    if (w->st == EMPTY) a = 0;
    int want = want_for(w->st), rc;
    switch (a % 6) {
        case 0: {
            while (w->st == LIVE && w->refs > 0) {
                check("gort_waitgroup_release(old)", gort_waitgroup_release(w->h), want);
                if (--w->refs == 0) w->st = DEAD;
            }
            errno = 0;
            gort_waitgroup* h = gort_waitgroup_make();
            if (!fuzz_running) {
                if (h != NULL) fuzz_fail("gort_waitgroup_make without a runtime", 0, 0);
                check("gort_waitgroup_make errno", errno, EPERM);
                return;
            }
            if (h == NULL) fuzz_fail("gort_waitgroup_make failed, errno", errno, 0);
            *w = (PWg){LIVE, h, 1, 0};
            return;
        }
        case 1: {
            int64_t d = (int64_t)(int8_t)take(pr) / 32; /* -4..3 */
            if (take(pr) == 0xFF) d = INT64_MIN;
            rc = gort_waitgroup_add(w->h, d);
            if (want == GORT_OK && (d < -w->counter || d == INT64_MIN)) want = GORT_EINVAL;
            check("gort_waitgroup_add", rc, want);
            if (rc == GORT_OK) w->counter += d;
            return;
        }
        case 2:
            rc = gort_waitgroup_done(w->h);
            if (want == GORT_OK && w->counter == 0) want = GORT_EINVAL;
            check("gort_waitgroup_done", rc, want);
            if (rc == GORT_OK) w->counter--;
            return;
        case 3: {
            int64_t t = kTimeouts[take(pr) & 3];
            rc = gort_waitgroup_wait_timeout(w->h, t);
            if (want == GORT_OK && w->counter != 0) want = GORT_ETIMEDOUT;
            check("gort_waitgroup_wait_timeout", rc, want);
            return;
        }
        case 4:
            rc = gort_waitgroup_retain(w->h);
            check("gort_waitgroup_retain", rc, want);
            if (rc == GORT_OK) w->refs++;
            return;
        default:
            rc = gort_waitgroup_release(w->h);
            check("gort_waitgroup_release", rc, want);
            if (rc == GORT_OK && --w->refs == 0) w->st = DEAD;
            return;
    }
}

static void mu_op(PMu* m, Prog* pr) {
    uint8_t a = take(pr);
    if (m->st == EMPTY) a = 0;
    int want = want_for(m->st), rc;
    switch (a % 5) {
        case 0: {
            while (m->st == LIVE && m->refs > 0) {
                check("gort_mutex_release(old)", gort_mutex_release(m->h), want);
                if (--m->refs == 0) m->st = DEAD;
            }
            errno = 0;
            gort_mutex* h = gort_mutex_make();
            if (!fuzz_running) {
                if (h != NULL) fuzz_fail("gort_mutex_make without a runtime", 0, 0);
                check("gort_mutex_make errno", errno, EPERM);
                return;
            }
            if (h == NULL) fuzz_fail("gort_mutex_make failed, errno", errno, 0);
            *m = (PMu){LIVE, h, 1, 0};
            return;
        }
        case 1: {
            int64_t t = kTimeouts[take(pr) & 3];
            rc = gort_mutex_lock_timeout(m->h, t);
            if (want == GORT_OK && m->locked) want = GORT_ETIMEDOUT;
            check("gort_mutex_lock_timeout", rc, want);
            if (rc == GORT_OK) m->locked = 1;
            return;
        }
        case 2:
            rc = gort_mutex_unlock(m->h);
            if (want == GORT_OK && !m->locked) want = GORT_EINVAL;
            check("gort_mutex_unlock", rc, want);
            if (rc == GORT_OK) m->locked = 0;
            return;
        case 3:
            rc = gort_mutex_retain(m->h);
            check("gort_mutex_retain", rc, want);
            if (rc == GORT_OK) m->refs++;
            return;
        default:
            rc = gort_mutex_release(m->h);
            check("gort_mutex_release", rc, want);
            if (rc == GORT_OK && --m->refs == 0) m->st = DEAD;
            return;
    }
}

void model_op(Prog* pr) {
    uint8_t b = take(pr);
    switch (b % 3) {
        case 0:
            chan_op(&chans[(b >> 2) % kChans], pr);
            break;
        case 1:
            wg_op(&wgs[(b >> 2) % kWgs], pr);
            break;
        default:
            mu_op(&mus[(b >> 2) % kMus], pr);
            break;
    }
}

void model_after_shutdown(void) {
    for (int i = 0; i < kChans; i++) {
        if (chans[i].st == LIVE) chans[i].st = DEAD;
    }
    for (int i = 0; i < kWgs; i++) {
        if (wgs[i].st == LIVE) wgs[i].st = DEAD;
    }
    for (int i = 0; i < kMus; i++) {
        if (mus[i].st == LIVE) mus[i].st = DEAD;
    }
}

void model_release_all(void) {
    for (int i = 0; i < kChans; i++) {
        for (; chans[i].st == LIVE && chans[i].refs > 0; chans[i].refs--) {
            check("gort_chan_release(end)", gort_chan_release(chans[i].h), GORT_OK);
        }
        memset(&chans[i], 0, sizeof chans[i]);
    }
    for (int i = 0; i < kWgs; i++) {
        for (; wgs[i].st == LIVE && wgs[i].refs > 0; wgs[i].refs--) {
            check("gort_waitgroup_release(end)", gort_waitgroup_release(wgs[i].h), GORT_OK);
        }
        memset(&wgs[i], 0, sizeof wgs[i]);
    }
    for (int i = 0; i < kMus; i++) {
        for (; mus[i].st == LIVE && mus[i].refs > 0; mus[i].refs--) {
            check("gort_mutex_release(end)", gort_mutex_release(mus[i].h), GORT_OK);
        }
        memset(&mus[i], 0, sizeof mus[i]);
    }
}
