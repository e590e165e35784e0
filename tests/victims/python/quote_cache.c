/* The C side of c_cache_server.py, loaded through ctypes: a cache of rendered quotes keyed by
 * customer that never evicts (the leak: one malloc per request, kept in a list, invisible to
 * tracemalloc), and a checksum that mallocs a scratch buffer and frees it (healthy churn). */
#include <stdlib.h>
#include <string.h>

struct quote {
    struct quote* next;
    size_t size;
    char text[];
};

static struct quote* g_quotes;
static size_t g_count;

/* Keeps a copy of `customer` padded to `size` bytes; returns how many quotes are kept. */
__attribute__((noinline)) size_t cache_quote(const char* customer, size_t size) {
    struct quote* q = malloc(sizeof *q + size);
    if (q == NULL) return g_count;
    q->size = size;
    memset(q->text, 'q', size);
    strncpy(q->text, customer, size - 1);
    q->text[size - 1] = '\0';
    q->next = g_quotes;
    g_quotes = q;
    return ++g_count;
}

/* A checksum of `text` through a scratch copy, freed before returning. */
__attribute__((noinline)) unsigned checksum(const char* text) {
    const size_t n = strlen(text) + 1;
    char* scratch = malloc(n * 64);
    if (scratch == NULL) return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < 64; ++i) memcpy(scratch + i * n, text, n);
    for (size_t i = 0; i < n * 64; ++i) sum = sum * 31u + (unsigned char)scratch[i];
    free(scratch);
    return sum;
}
