/* Mirrors compiler-rt/test/lsan/TestCases/Linux/use_tls_static.cpp: a block held by a __thread
   variable of the executable (static TLS) is reachable. Default options: no leak. */
#include <stdlib.h>

#include "lsan_case.h"

__thread void* t_holder;

int main(void) {
    t_holder = malloc(1337);
    clear_stack();
    return 0;
}
