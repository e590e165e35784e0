/* Mirrors compiler-rt/test/lsan/TestCases/use_registers.cpp: a thread that still runs at exit
   holds the only pointer to the block in a callee-saved register (r15 on x86-64). Default
   options: no leak. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lsan_case.h"

static atomic_int g_ready;

static void* hold_in_register(void* arg) {
    (void)arg;
    void* p = malloc(1337);
    /* r15 holds p; the loop never touches it (sched_yield preserves callee-saved registers). */
    __asm__ __volatile__(
        "mov %0, %%r15\n\t"
        "xor %0, %0\n\t"
        : "+r"(p)
        :
        : "r15", "memory");
    atomic_store(&g_ready, 1);
    for (;;) sched_yield();
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, hold_in_register, NULL) != 0) return 1;
    while (!atomic_load(&g_ready)) sched_yield();
    clear_stack();
    return 0;
}
