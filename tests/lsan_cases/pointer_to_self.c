/* Mirrors compiler-rt/test/lsan/TestCases/pointer_to_self.cpp: a block whose only pointer is one
   it holds to itself is a direct leak: 1337 bytes in 1 object. */
#include <stdlib.h>

#include "lsan_case.h"

__attribute__((noinline)) static void make_self_loop(void) {
    void** p = (void**)malloc(1337);
    *p = p;
}

int main(void) {
    make_self_loop();
    clear_stack();
    return 0;
}
