/* Mirrors compiler-rt/test/lsan/TestCases/Linux/use_tls_pthread_specific_dynamic.cpp: a block held
   by the value of a key numbered 32 or more, which glibc keeps in a second-level array it
   allocates with calloc. Default options: no leak. */
#include <pthread.h>
#include <stdlib.h>

#include "lsan_case.h"

int main(void) {
    pthread_key_t filler[32];
    for (int i = 0; i < 32; ++i) {
        if (pthread_key_create(&filler[i], NULL) != 0) return 1;
    }
    pthread_key_t key;
    if (pthread_key_create(&key, NULL) != 0 || key < 32) return 1;
    if (pthread_setspecific(key, malloc(1337)) != 0) return 1;
    clear_stack();
    return 0;
}
