/* Shared by the LeakSanitizer cases: clear_stack() overwrites the stack below the caller, so that
   a pointer left in a dead frame cannot keep a block alive for the exit-time scan (LeakSanitizer's
   and leakhunt's both scan a thread's stack from the current stack pointer up, through the dead
   frames that exit() has not yet overwritten). */
#ifndef LSAN_CASE_H
#define LSAN_CASE_H

#include <string.h>

__attribute__((noinline)) static void clear_stack(void) {
    volatile char area[64 * 1024];
    memset((char*)area, 0, sizeof area);
    __asm__ __volatile__("" : : "r"(area) : "memory");
}

#endif
