// unw_backtrace and the filtering of the agent's own frames.
#include "agent/unwind.hpp"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "agent/cfi_unwind.hpp"
#include "agent/config.hpp"
#include "agent/fence.hpp"

namespace leakhunt::agent {
namespace {

// The fork gate: unwinders count themselves in one of 64 slots (each on its own cache line, so
// threads don't contend); fork raises g_forking and waits for every slot to drain.
// Where the kernel has membarrier(PRIVATE_EXPEDITED), the first k_plain_slots threads own a slot
// each and enter with plain stores: the fork side's membarrier() makes every running thread
// execute a full fence, which gives the store-load ordering (asymmetric Dekker, as in liburcu).
// Other threads, or all of them without membarrier, share the remaining slots with locked
// increments ordered against the g_forking load (Dekker style, sequentially consistent).
struct alignas(64) GateSlot {
    std::atomic<int> active{0};
};
constexpr unsigned k_gate_slots = 64;
constexpr unsigned k_plain_slots = 48;
GateSlot g_gate[k_gate_slots];
std::atomic<bool> g_forking{false};
std::atomic<unsigned> g_next_slot{0};
thread_local unsigned t_gate_slot __attribute__((tls_model("initial-exec"))) = ~0u;
thread_local bool t_gate_plain __attribute__((tls_model("initial-exec"))) = false;

GateSlot& enter_gate() {
    if (t_gate_slot == ~0u) {
        const unsigned n = g_next_slot.fetch_add(1);
        const bool fenced = remote_fence_ready();
        t_gate_plain = fenced && n < k_plain_slots;  // for the thread's life
        t_gate_slot = t_gate_plain ? n
                                   : (fenced ? k_plain_slots + n % (k_gate_slots - k_plain_slots)
                                             : n % k_gate_slots);
    }
    GateSlot& slot = g_gate[t_gate_slot];
    for (;;) {
        if (t_gate_plain) {
            slot.active.store(1, std::memory_order_relaxed);
            std::atomic_signal_fence(std::memory_order_seq_cst);  // the CPU fence: membarrier
            if (!g_forking.load(std::memory_order_relaxed)) return slot;
            slot.active.store(0, std::memory_order_release);
        } else {
            slot.active.fetch_add(1);
            if (!g_forking.load()) return slot;
            slot.active.fetch_sub(1);
        }
        while (g_forking.load()) sched_yield();  // a fork is in progress: let it finish
    }
}

void leave_gate(GateSlot& slot) {
    if (t_gate_plain) {
        slot.active.store(0, std::memory_order_release);
    } else {
        slot.active.fetch_sub(1, std::memory_order_release);
    }
}
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
    init_remote_fence();
}

namespace {

std::size_t libunwind_stack(std::uintptr_t* out, std::size_t max) {
    void* frames[k_max_depth + 16];
    const std::size_t want = max + 16 < k_max_depth + 16 ? max + 16 : k_max_depth + 16;
    GateSlot& gate = enter_gate();
    const int n = unw_backtrace(frames, static_cast<int>(want));
    leave_gate(gate);
    std::size_t kept = 0;
    for (int i = 0; i < n && kept < max; ++i) {
        const auto ip = reinterpret_cast<std::uintptr_t>(frames[i]);
        if (kept == 0 && ip >= g_self_lo && ip < g_self_hi) continue;  // the agent's own frames
        out[kept++] = ip - 1;
    }
    return kept;
}

std::atomic<std::uint64_t> g_checked{0}, g_fell_back{0}, g_differ{0};

void write_err(const char* s, std::size_t n) {
    const ssize_t ignored = ::write(2, s, n);
    (void)ignored;
}

// LEAKHUNT_UNWIND=check: both walkers on every stack; a difference is printed (the first few).
void check_stacks(const std::uintptr_t* cfi, int ncfi, const std::uintptr_t* lib,
                  std::size_t nlib) {
    g_checked.fetch_add(1, std::memory_order_relaxed);
    if (ncfi < 0) {
        g_fell_back.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    bool same = static_cast<std::size_t>(ncfi) == nlib;  // both stop at `max` frames
    for (std::size_t i = 0; same && i < nlib && i < static_cast<std::size_t>(ncfi); ++i) {
        same = cfi[i] - 1 == lib[i];
    }
    if (same) return;
    if (g_differ.fetch_add(1, std::memory_order_relaxed) >= 3) return;
    char line[8192];
    int len =
        std::snprintf(line, sizeof line, "leakhunt agent: unwind check: stacks differ\n  cfi:");
    for (int i = 0; i < ncfi && len < 7000; ++i) {
        len += std::snprintf(line + len, sizeof line - static_cast<std::size_t>(len), " %lx",
                             static_cast<unsigned long>(cfi[i] - 1));
    }
    len += std::snprintf(line + len, sizeof line - static_cast<std::size_t>(len), "\n  libunwind:");
    for (std::size_t i = 0; i < nlib && len < 8000; ++i) {
        len += std::snprintf(line + len, sizeof line - static_cast<std::size_t>(len), " %lx",
                             static_cast<unsigned long>(lib[i]));
    }
    if (len < 8190) line[len++] = '\n';
    write_err(line, static_cast<std::size_t>(len));
}

}  // namespace

std::size_t capture_stack(std::uintptr_t* out, std::size_t max) {
    if (g_config.unwind == Config::Unwind::libunwind) return libunwind_stack(out, max);
    std::uintptr_t raw[k_max_depth];
    const int n = cfi_backtrace(raw, static_cast<int>(max), g_self_lo, g_self_hi);
    if (g_config.unwind == Config::Unwind::check) {
        const std::size_t kept = libunwind_stack(out, max);
        check_stacks(raw, n, out, kept);
        return kept;
    }
    if (n < 0) return libunwind_stack(out, max);
    for (int i = 0; i < n; ++i) out[i] = raw[i] - 1;  // into the call instruction
    return static_cast<std::size_t>(n);
}

void report_unwind_check() {
    if (g_config.unwind != Config::Unwind::check) return;
    char line[256];
    const int len = std::snprintf(line, sizeof line,
                                  "leakhunt agent (pid %d): unwind check: %llu stacks, %llu by "
                                  "libunwind alone, %llu differ\n",
                                  ::getpid(), static_cast<unsigned long long>(g_checked.load()),
                                  static_cast<unsigned long long>(g_fell_back.load()),
                                  static_cast<unsigned long long>(g_differ.load()));
    if (len > 0) write_err(line, static_cast<std::size_t>(len));
}

void unwind_gate_lock() {
    // One fork at a time; the forking thread holds the agent's guard, so it unwinds nothing here.
    bool expected = false;
    while (!g_forking.compare_exchange_weak(expected, true)) {
        expected = false;
        sched_yield();
    }
    // Every thread entering the gate with plain stores now sees g_forking, or its store of
    // `active` is visible below (fence.hpp; without the fence, waited out twice).
    remote_fence_then_wait([] {
        for (auto& slot : g_gate) {
            while (slot.active.load() != 0) sched_yield();
        }
    });
}
void unwind_gate_unlock() {
    g_forking.store(false);
}
void unwind_gate_reset_in_child() {
    // Only the forking thread exists in the child; no unwind is in progress.
    for (auto& slot : g_gate) slot.active.store(0);
    // The child is a new mm: register again; if that fails, every thread (this one, the only
    // one, and later ones) uses locked increments.
    remote_fence_reset_in_child();
    if (!remote_fence_ready()) t_gate_plain = false;
    g_forking.store(false);
}

}  // namespace leakhunt::agent
