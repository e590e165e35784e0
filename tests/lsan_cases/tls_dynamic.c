/* Mirrors compiler-rt/test/lsan/TestCases/Linux/use_tls_dynamic.cpp: a block held only by a
   __thread variable of a dlopen()ed module whose TLS block the loader allocates dynamically.
   Default options: no leak. The module's path is argv[1]. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "lsan_case.h"

typedef void** (*KeepFn)(void*);

__attribute__((noinline)) static int store(const char* module) {
    void* handle = dlopen(module, RTLD_NOW);
    if (handle == NULL) {
        fprintf(stderr, "tls_dynamic: %s\n", dlerror());
        return 1;
    }
    KeepFn keep = (KeepFn)dlsym(handle, "keep_in_tls");
    if (keep == NULL) return 1;
    void* p = malloc(1337);
    return *keep(p) == p ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const int r = store(argv[1]);
    clear_stack();
    return r;
}
