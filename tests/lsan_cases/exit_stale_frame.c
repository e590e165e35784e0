/* Mirrors compiler-rt/test/lsan/TestCases/Linux/exit_atexit_stale_stack.cpp (x86-64): the only
   pointer to a 100-byte block is written into a stack slot of a frame that is dead by the time
   the program exits, but lies above the stack pointer of the exit-time check, so a check that
   scans from its own stack pointer up sees it. LeakSanitizer's expectation: the frame is dead
   once exit() is entered, so the block is a direct leak of 100 bytes in 1 object. Built twice:
   with EXPLICIT_EXIT main calls exit() after a helper's frame has died; without, the slot is in
   main's own frame and main returns. Build at -O0 with frame pointers. */
#include <stdlib.h>

#ifndef SLOT
#define SLOT 64
#endif

#define PARK_IN_DEAD_SLOT()           \
    __asm__ __volatile__(             \
        "movl $100, %%edi\n\t"        \
        "call malloc@PLT\n\t"         \
        "movq %%rax, -%c0(%%rbp)\n\t" \
        "xorl %%eax, %%eax\n\t"       \
        :                             \
        : "i"(SLOT)                   \
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory")

#ifdef EXPLICIT_EXIT
__attribute__((noinline)) static void park(void) {
    PARK_IN_DEAD_SLOT();
}

int main(void) {
    park();
    exit(0);
}
#else
int main(void) {
    PARK_IN_DEAD_SLOT();
    return 0;
}
#endif
