// unw_backtrace and the filtering of the agent's own frames.
#include "agent/unwind.hpp"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>

#include <pthread.h>

#include "agent/config.hpp"

namespace leakhunt::agent {
namespace {

pthread_rwlock_t g_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
std::uintptr_t g_self_lo = 0;
std::uintptr_t g_self_hi = 0;

int find_self(dl_phdr_info* info, size_t, void* data) {
    const auto want = reinterpret_cast<std::uintptr_t>(data);
    std::uintptr_t lo = ~std::uintptr_t{0}, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) continue;
        const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
        if (start < lo) lo = start;
        if (start + ph.p_memsz > hi) hi = start + ph.p_memsz;
    }
    if (want >= lo && want < hi) {
        g_self_lo = lo;
        g_self_hi = hi;
        return 1;
    }
    return 0;
}

}  // namespace

void init_unwind() {
    dl_iterate_phdr(find_self, reinterpret_cast<void*>(&capture_stack));
    // libunwind's default cache is global and locked on every unwind; per thread it is not.
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unw_set_cache_size(unw_local_addr_space, 1024, 0);
}

std::size_t capture_stack(std::uintptr_t* out, std::size_t max) {
    void* frames[k_max_depth + 16];
    const std::size_t want = max + 16 < k_max_depth + 16 ? max + 16 : k_max_depth + 16;
    pthread_rwlock_rdlock(&g_gate);
    const int n = unw_backtrace(frames, static_cast<int>(want));
    pthread_rwlock_unlock(&g_gate);
    std::size_t kept = 0;
    for (int i = 0; i < n && kept < max; ++i) {
        const auto ip = reinterpret_cast<std::uintptr_t>(frames[i]);
        if (kept == 0 && ip >= g_self_lo && ip < g_self_hi) continue;  // the agent's own frames
        out[kept++] = ip - 1;
    }
    return kept;
}

void unwind_gate_lock() { pthread_rwlock_wrlock(&g_gate); }
void unwind_gate_unlock() { pthread_rwlock_unlock(&g_gate); }
void unwind_gate_reset_in_child() {
    pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    g_gate = fresh;
}

}  // namespace leakhunt::agent
