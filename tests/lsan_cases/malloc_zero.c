/* Mirrors compiler-rt/test/lsan/TestCases/malloc_zero.c: malloc(0) returns a unique block that
   must be freed; dropping it is a leak of 1 object (LeakSanitizer reports it as 1 byte: its
   allocator serves malloc(0) as malloc(1)). */
#include <stdlib.h>

#include "lsan_case.h"

__attribute__((noinline)) static void leak_zero(void) {
    void* volatile p = malloc(0);
    (void)p;
}

int main(void) {
    leak_zero();
    clear_stack();
    return 0;
}
