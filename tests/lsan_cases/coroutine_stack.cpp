// Mirrors compiler-rt/test/lsan/TestCases/swapcontext.cpp (its stack-allocated variant): a
// function run with swapcontext on a stack carved out of main's own stack leaks a 666-int array;
// main then zeroes that stack area. 2664 bytes in 1 object, direct.
#include <ucontext.h>

#include <cstring>

namespace {

constexpr int k_stack_bytes = 1 << 20;

ucontext_t g_main_context;
ucontext_t g_child_context;

void leak_in_coroutine() {
    int* volatile leaked = new int[666];
    (void)leaked;
}

}  // namespace

int main() {
    alignas(16) char stack_area[k_stack_bytes + 1];
    if (getcontext(&g_child_context) != 0) return 1;
    g_child_context.uc_stack.ss_sp = stack_area;
    g_child_context.uc_stack.ss_size = k_stack_bytes / 2;
    g_child_context.uc_link = &g_main_context;
    makecontext(&g_child_context, leak_in_coroutine, 0);
    if (swapcontext(&g_main_context, &g_child_context) != 0) return 1;
    std::memset(stack_area, 0, sizeof stack_area);
    return 0;
}
