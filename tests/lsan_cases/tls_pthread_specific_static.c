/* Mirrors compiler-rt/test/lsan/TestCases/Linux/use_tls_pthread_specific_static.cpp: a block held
   by a pthread_setspecific value of one of the first 32 keys, which glibc keeps inside the thread
   descriptor. Default options: no leak. */
#include <pthread.h>
#include <stdlib.h>

#include "lsan_case.h"

int main(void) {
    pthread_key_t key;
    if (pthread_key_create(&key, NULL) != 0 || key >= 32) return 1;
    if (pthread_setspecific(key, malloc(1337)) != 0) return 1;
    clear_stack();
    return 0;
}
