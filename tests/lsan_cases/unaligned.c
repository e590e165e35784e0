/* Mirrors compiler-rt/test/lsan/TestCases/use_unaligned.cpp: the only pointer to the block is
   stored at an odd offset in a global. Default options (use_unaligned=0): only aligned words are
   pointers, so the block leaks: 1337 bytes in 1 object, direct. */
#include <stdlib.h>
#include <string.h>

#include "lsan_case.h"

void* g_words[2];

__attribute__((noinline)) static void store_unaligned(void) {
    void* p = malloc(1337);
    memcpy((char*)g_words + 1, &p, sizeof p);
}

int main(void) {
    store_unaligned();
    clear_stack();
    return 0;
}
