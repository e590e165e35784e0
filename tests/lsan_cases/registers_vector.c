/* Mirrors compiler-rt/test/lsan/TestCases/use_registers_extra.cpp: a thread that still runs at
   exit holds the only pointer to the block in a vector register (xmm0). Default options: no
   leak. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lsan_case.h"

static atomic_int g_ready;

static void* hold_in_xmm(void* arg) {
    (void)arg;
    void* p = malloc(1337);
    __asm__ __volatile__(
        "movq %0, %%xmm0\n\t"
        "xor %0, %0\n\t"
        : "+r"(p)
        :
        : "xmm0", "memory");
    atomic_store(&g_ready, 1);
    /* A raw spin: a libc call could use xmm0. */
    for (;;) __asm__ __volatile__("pause" ::: "memory");
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, hold_in_xmm, NULL) != 0) return 1;
    while (!atomic_load(&g_ready)) sched_yield();
    clear_stack();
    return 0;
}
