/* Mirrors compiler-rt/test/lsan/TestCases/large_allocation_leak.cpp: a 32 MiB block (served by
   mmap, not the heap's arenas) that nothing points to: 33554432 bytes in 1 object, direct. */
#include <stdlib.h>

#include "lsan_case.h"

__attribute__((noinline)) static void leak_large(void) {
    void* volatile p = malloc(33554432);
    (void)p;
}

int main(void) {
    leak_large();
    clear_stack();
    return 0;
}
