/* Mirrors compiler-rt/test/lsan/TestCases/create_thread_leak.cpp: 10 rounds of 10 threads, each
   given a 123-byte block as its argument and returning a 234-byte block. argv[1] picks what the
   program drops: "arg" (the thread does not free its argument: 100 x 123 bytes leak), "retval"
   (main joins but does not free the result: 100 x 234 bytes leak), "detach" (threads are
   detached, nobody takes the result: 100 x 234 bytes leak) or "none" (no leak). All leaks are
   direct: the blocks are zeroed, so no leaked block points at another. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsan_case.h"

static int g_leak_arg;
static atomic_int g_finished;

static void* worker(void* arg) {
    if (!g_leak_arg) free(arg);
    void* result = malloc(234);
    /* Zeroed: glibc may hand out a chunk whose stale free-list pointers point at another result
       block, which then reads as reachable from this one (indirect), where LeakSanitizer's own
       allocator leaves none. */
    memset(result, 0, 234);
    atomic_fetch_add(&g_finished, 1);
    return result;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    g_leak_arg = strcmp(argv[1], "arg") == 0;
    const int leak_retval = strcmp(argv[1], "retval") == 0;
    const int detach = strcmp(argv[1], "detach") == 0;
    for (int round = 0; round < 10; ++round) {
        pthread_t threads[10];
        for (int i = 0; i < 10; ++i) {
            if (pthread_create(&threads[i], NULL, worker, malloc(123)) != 0) return 1;
        }
        for (int i = 0; i < 10; ++i) {
            if (detach) {
                pthread_detach(threads[i]);
                continue;
            }
            void* result = NULL;
            pthread_join(threads[i], &result);
            if (!leak_retval) free(result);
        }
    }
    /* Detached threads: let every one finish before the exit-time check. */
    while (atomic_load(&g_finished) < 100) sched_yield();
    const struct timespec settle = {0, 50 * 1000 * 1000};
    nanosleep(&settle, NULL);
    clear_stack();
    return 0;
}
