/* Mirrors compiler-rt/test/lsan/TestCases/many_tls_keys_pthread.cpp: as many pthread keys as the
   process can create; 10 threads each store a 123-byte block under every key and stay alive;
   main calls exit(). The values live in each thread's descriptor (keys 0-31) and in the
   second-level arrays glibc allocates (the rest). Default options: no leak. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_key_t g_keys[PTHREAD_KEYS_MAX];
static int g_key_count;
static atomic_int g_filled;

static void* fill_keys(void* arg) {
    (void)arg;
    for (int i = 0; i < g_key_count; ++i) {
        void* p = malloc(123);
        if (pthread_setspecific(g_keys[i], p) != 0) {
            free(p);
            break;
        }
    }
    atomic_fetch_add(&g_filled, 1);
    for (;;) pause();
    return NULL;
}

int main(void) {
    while (g_key_count < PTHREAD_KEYS_MAX && pthread_key_create(&g_keys[g_key_count], NULL) == 0) {
        ++g_key_count;
    }
    for (int i = 0; i < 10; ++i) {
        pthread_t t;
        if (pthread_create(&t, NULL, fill_keys, NULL) != 0) return 1;
    }
    while (atomic_load(&g_filled) < 10) usleep(1000);
    exit(0);
}
