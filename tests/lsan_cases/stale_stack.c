/* Mirrors compiler-rt/test/lsan/TestCases/stale_stack_leak.cpp: the only pointer to the block is
   in a dead frame far below the stack pointer of the exit-time check, which does not scan there:
   1337 bytes in 1 object, direct. A destructor says so if the dead frame was overwritten before
   the end (the case would then prove nothing). */
#include <stdio.h>
#include <stdlib.h>

void** volatile g_slot;

__attribute__((noinline)) static void park_on_stale_stack(void* p) {
    void* volatile locals[2048];
    locals[0] = p;
    g_slot = (void**)&locals[0];
}

int main(void) {
    park_on_stale_stack(malloc(1337));
    return 0;
}

__attribute__((destructor)) static void slot_survived(void) {
    if (*g_slot == NULL) fprintf(stderr, "stale_stack: the dead frame was overwritten\n");
}
