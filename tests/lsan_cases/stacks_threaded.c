/* Mirrors compiler-rt/test/lsan/TestCases/use_stacks_threaded.cpp: a thread that still runs at
   exit holds the block on its stack. Default options: no leak. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lsan_case.h"

static atomic_int g_ready;

static void* hold_on_stack(void* arg) {
    (void)arg;
    void* volatile held = malloc(1337);
    (void)held;
    atomic_store(&g_ready, 1);
    for (;;) sched_yield();
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, hold_on_stack, NULL) != 0) return 1;
    while (!atomic_load(&g_ready)) sched_yield();
    clear_stack();
    return 0;
}
