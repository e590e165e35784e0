/* Mirrors compiler-rt/test/lsan/TestCases/high_allocator_contention.cpp: 5 threads released at
   once each run 200000 malloc(10)/free pairs. No leak. */
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_start = PTHREAD_COND_INITIALIZER;
static int g_go;

static void* churn(void* arg) {
    (void)arg;
    pthread_mutex_lock(&g_mutex);
    while (!g_go) pthread_cond_wait(&g_start, &g_mutex);
    pthread_mutex_unlock(&g_mutex);
    for (int i = 0; i < 200000; ++i) {
        void* p = malloc(10);
        __asm__ __volatile__("" : : "r"(p) : "memory");
        free(p);
    }
    return NULL;
}

int main(void) {
    pthread_t threads[5];
    for (int i = 0; i < 5; ++i) {
        if (pthread_create(&threads[i], NULL, churn, NULL) != 0) return 1;
    }
    pthread_mutex_lock(&g_mutex);
    g_go = 1;
    pthread_cond_broadcast(&g_start);
    pthread_mutex_unlock(&g_mutex);
    for (int i = 0; i < 5; ++i) pthread_join(threads[i], NULL);
    return 0;
}
