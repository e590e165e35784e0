/* Mirrors compiler-rt/test/lsan/TestCases/use_globals_uninitialized.cpp: a block held by a
   zero-initialized global (.bss) is reachable. Default options: no leak. */
#include <stdlib.h>

#include "lsan_case.h"

void* g_bss_holder;

int main(void) {
    g_bss_holder = malloc(1337);
    clear_stack();
    return 0;
}
