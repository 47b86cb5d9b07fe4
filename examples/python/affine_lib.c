/* A thread-affine C library, as some real ones are (OpenGL contexts, some
 * GUI toolkits, libraries keeping state in thread-locals): affine_open binds
 * the library to the calling thread, and every later call must come from
 * that thread. Built by python/CMakeLists.txt for thread_affine.py. */
#include <pthread.h>

static pthread_t owner;
static int opened;
static long calls;

/* Bind the library to the calling thread: 0, or -1 if already open. */
int affine_open(void) {
    if (opened) return -1;
    owner = pthread_self();
    opened = 1;
    return 0;
}

/* One unit of work: returns x + 1, or -1 when called from another thread
 * than affine_open's (the real libraries crash or corrupt instead). */
long affine_work(long x) {
    if (!opened || !pthread_equal(owner, pthread_self())) return -1;
    calls++;
    return x + 1;
}

long affine_calls(void) {
    return calls;
}

void affine_close(void) {
    opened = 0;
}
