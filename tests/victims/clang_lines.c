/* clang_lines: a small program for the symbolizer's clang test, built by clang with -g (DWARF 4
   and 5), which emits no .debug_aranges: leakhunt must find its compilation unit from the CU's
   own address ranges and give the same file:line (and inline chain) as addr2line. */
#include <stdio.h>
#include <stdlib.h>

static inline int square(int x) {
    return x * x;
}

static inline int sum_of_squares(const int* v, int n) {
    int total = 0;
    for (int i = 0; i < n; ++i) total += square(v[i]);
    return total;
}

__attribute__((noinline)) int* make_values(int n) {
    int* v = malloc(sizeof(int) * (size_t)n);
    if (v == NULL) abort();
    for (int i = 0; i < n; ++i) v[i] = i * 3 + 1;
    return v;
}

__attribute__((noinline)) static int run(int n) {
    int* v = make_values(n);
    const int total = sum_of_squares(v, n);
    free(v);
    return total;
}

int main(int argc, char** argv) {
    const int n = argc > 1 ? atoi(argv[1]) : 10;
    printf("%d\n", run(n));
    return 0;
}
