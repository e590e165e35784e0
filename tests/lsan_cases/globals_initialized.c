/* Mirrors compiler-rt/test/lsan/TestCases/use_globals_initialized.cpp: a block held by an
   initialized global (.data) is reachable. Default options: no leak. */
#include <stdlib.h>

#include "lsan_case.h"

void* g_data_holder = (void*)1;

int main(void) {
    g_data_holder = malloc(1337);
    clear_stack();
    return 0;
}
