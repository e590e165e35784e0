// The floor of an LD_PRELOAD heap agent, for bench/agent_peers.sh's "bare" configuration: every
// malloc-family call counts its bytes down in a thread-local counter (as a byte sampler does when
// it does not sample) and forwards to the next definition (dlsym(RTLD_NEXT): glibc, or the
// program's own allocator such as redis-server's jemalloc). It records nothing.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static void* (*next_malloc)(size_t);
static void (*next_free)(void*);
static void* (*next_calloc)(size_t, size_t);
static void* (*next_realloc)(void*, size_t);
static int (*next_posix_memalign)(void**, size_t, size_t);

// dlsym may allocate (calloc) before the pointers exist: served from here, never freed.
static _Alignas(16) char boot[4096];
static size_t boot_used;
static __thread int resolving;

static void* boot_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot) return NULL;
    void* p = boot + boot_used;
    boot_used += n;
    return p;  // static storage: already zero
}

static int resolve(void) {
    if (next_malloc) return 1;
    if (resolving) return 0;
    resolving = 1;
    next_calloc = (void* (*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    next_free = (void (*)(void*))dlsym(RTLD_NEXT, "free");
    next_realloc = (void* (*)(void*, size_t))dlsym(RTLD_NEXT, "realloc");
    next_posix_memalign = (int (*)(void**, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
    next_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
    resolving = 0;
    return 1;
}

static __thread long long bytes_until_sample = 1 << 19;

static inline void count(size_t n) {
    bytes_until_sample -= (long long)n;
    if (__builtin_expect(bytes_until_sample < 0, 0)) bytes_until_sample += 1 << 19;
}

static inline int in_boot(const void* p) {
    return (const char*)p >= boot && (const char*)p < boot + sizeof boot;
}

__attribute__((visibility("default"))) void* malloc(size_t n) {
    if (__builtin_expect(!next_malloc, 0) && !resolve()) return boot_alloc(n);
    count(n);
    return next_malloc(n);
}
__attribute__((visibility("default"))) void free(void* p) {
    if (__builtin_expect(in_boot(p), 0)) return;
    if (__builtin_expect(!next_free, 0)) resolve();
    next_free(p);
}
__attribute__((visibility("default"))) void* calloc(size_t a, size_t b) {
    if (__builtin_expect(!next_malloc, 0) && !resolve()) return boot_alloc(a * b);
    count(a * b);
    return next_calloc(a, b);
}
__attribute__((visibility("default"))) void* realloc(void* p, size_t n) {
    if (__builtin_expect(!next_malloc, 0)) resolve();
    count(n);
    return next_realloc(p, n);
}
__attribute__((visibility("default"))) int posix_memalign(void** out, size_t a, size_t n) {
    if (__builtin_expect(!next_malloc, 0)) resolve();
    count(n);
    return next_posix_memalign(out, a, n);
}
__attribute__((visibility("default"))) void* memalign(size_t a, size_t n) {
    void* p = NULL;
    return posix_memalign(&p, a < sizeof(void*) ? sizeof(void*) : a, n) == 0 ? p : NULL;
}
__attribute__((visibility("default"))) void* aligned_alloc(size_t a, size_t n) {
    return memalign(a, n);
}
