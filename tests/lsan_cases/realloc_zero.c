/* Mirrors compiler-rt/test/lsan/TestCases/realloc_zero.c: realloc(p, 0) frees p (glibc returns
   NULL), and realloc(NULL, 0) allocates a block like malloc(0), freed here. No leak. */
#include <stdlib.h>

int main(void) {
    char* p = malloc(1);
    if (realloc(p, 0) != NULL) return 1;
    void* q = realloc(NULL, 0);
    if (q == NULL) return 1;
    free(q);
    return 0;
}
