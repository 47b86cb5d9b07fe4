/* libgort.so can be loaded and unloaded 100 times in one process, with the
 * runtime started, used and shut down each time (Go's c-shared libraries
 * cannot be unloaded: golang/go#11100). After each dlclose the library must
 * be gone from the address space. Compiled as C; argv[1] is the library. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gort.h"

struct api {
    int (*init)(const gort_config*);
    int (*shutdown)(int64_t);
    int (*go)(gort_fn, void*);
    int (*callback)(gort_fn, void*);
    gort_chan* (*chan_make)(size_t, size_t);
    int (*chan_send)(gort_chan*, const void*);
    int (*chan_recv)(gort_chan*, void*, int*);
    int (*chan_release)(gort_chan*);
};

static struct api api;

static void sender(void* arg) {
    for (int i = 1; i <= 10; i++) api.chan_send(arg, &i);
}

static void bump(void* arg) {
    ++*(int*)arg;
}

static void* c_thread(void* arg) {
    api.callback(bump, arg);
    return NULL;
}

static int mapped(const char* name) {
    FILE* f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) found |= strstr(line, name) != NULL;
    if (f != NULL) fclose(f);
    return found;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    for (int round = 0; round < 100; round++) {
        void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        *(void**)&api.init = dlsym(lib, "gort_init");
        *(void**)&api.shutdown = dlsym(lib, "gort_shutdown");
        *(void**)&api.go = dlsym(lib, "gort_go");
        *(void**)&api.callback = dlsym(lib, "gort_callback");
        *(void**)&api.chan_make = dlsym(lib, "gort_chan_make");
        *(void**)&api.chan_send = dlsym(lib, "gort_chan_send");
        *(void**)&api.chan_recv = dlsym(lib, "gort_chan_recv");
        *(void**)&api.chan_release = dlsym(lib, "gort_chan_release");
        CHECK(api.init && api.shutdown && api.go && api.callback && api.chan_make);
        gort_config c;
        memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.cgo = check_cgo_mode(); /* ctest runs this in both modes */
        CHECK_OK(api.init(&c));
        gort_chan* ch = api.chan_make(sizeof(int), 0);
        CHECK_OK(api.go(sender, ch));
        int sum = 0, v, ok;
        for (int i = 0; i < 10; i++) {
            CHECK_OK(api.chan_recv(ch, &v, &ok));
            sum += v;
        }
        CHECK_EQ(sum, 55);
        CHECK_OK(api.chan_release(ch));
        int n = 0;
        pthread_t t;
        pthread_create(&t, NULL, c_thread, &n);
        pthread_join(t, NULL);
        CHECK_EQ(n, 1);
        CHECK_OK(api.shutdown(5000000000LL));
        CHECK_EQ(dlclose(lib), 0);
        CHECK(!mapped("libgort.so"));
        if (check_failures > 0) {
            fprintf(stderr, "round %d failed\n", round);
            return 1;
        }
    }
    return 0;
}
