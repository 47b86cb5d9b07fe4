/*
 * Included before every C snippet of guide.md when check_snippets.sh
 * compiles it. It declares the additions of API.md ("Additions for the
 * layers above") that the guide documents, so that the snippets are checked
 * against the contract's signatures; once gort.h declares them, these are
 * compatible redeclarations (a mismatch fails the check) and may go.
 */
#include <gort.h>

gort_chan *gort_after(int64_t ns);
int gort_chan_send_timeout(gort_chan *ch, const void *elem, int64_t timeout_ns);
int gort_chan_recv_timeout(gort_chan *ch, void *out, int *ok, int64_t timeout_ns);
int gort_select_timeout(gort_select_case *cases, size_t n, int64_t timeout_ns, size_t *chosen);
int gort_waitgroup_wait_timeout(gort_waitgroup *wg, int64_t timeout_ns);
int gort_mutex_lock_timeout(gort_mutex *mu, int64_t timeout_ns);
int gort_chan_retain(gort_chan *ch);
int gort_waitgroup_retain(gort_waitgroup *wg);
int gort_mutex_retain(gort_mutex *mu);
int gort_blocking_begin(void);
int gort_blocking_end(void);
