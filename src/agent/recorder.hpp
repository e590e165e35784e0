// What the hooks call after (allocation) or before (free) the real allocator: decides whether
// the allocation is sampled, captures and interns its stack, and keeps the live table and the
// per-stack counters. Callers hold a RecursionGuard that was not nested. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "agent/config.hpp"
#include "agent/live_table.hpp"
#include "agent/sampler.hpp"
#include "agent/stack_table.hpp"

namespace leakhunt::agent {

// This thread's byte sampler and the table of recorded blocks: defined in recorder.cpp, visible
// here so that the hooks' fast paths below inline into every hook.
extern thread_local constinit Sampler t_sampler __attribute__((tls_model("initial-exec")));
extern LiveTable g_live;
// Set once the agent is initialised; before, and after a fatal internal error, hooks only
// forward to the allocator.
extern std::atomic<bool> g_active;

// True if this allocation is to be recorded. Inline: when it does not sample, one subtraction
// and one comparison on thread-local memory (full and off modes always take the slow path).
// Until the agent is active (configured, and not disabled) nothing is sampled and the sampler is
// not started: its first gap must be drawn from the configured interval and seed.
inline bool should_sample(std::size_t size) {
    const auto s = static_cast<std::int64_t>(size);
    if (t_sampler.skip(s)) [[likely]]
        return false;
    return t_sampler.slow_path(
        s, g_active.load(std::memory_order_relaxed) ? g_config.sample_interval : 0, g_config.seed);
}
// Records an allocation that should_sample() chose.
void record_alloc(void* p, std::size_t size);
// False if p is certainly not recorded (sampled mode's lock-free filter; always true in full
// mode): most frees stop here, after one load.
inline bool maybe_recorded(void* p) {
    return g_live.maybe_present(reinterpret_cast<std::uintptr_t>(p));
}
// Call before the memory is released, so the address cannot be reused first.
void record_free(void* p);
// Allocations freed before their thread allocated again (heaptrack's temporary allocations);
// counted in full mode only (0 otherwise), since the program's start or the attach.
std::uint64_t temporary_allocations();
// Forget p without counting a free (a realloc that failed keeps the old block: re-record it).
void record_restore(void* p, std::uint64_t size, std::uint32_t stack);
// Removes p's record, returning its size and stack; false if it was not recorded.
bool record_take(void* p, std::uint64_t& size, std::uint32_t& stack);
void count_free(std::uint64_t size, std::uint32_t stack);
// How many records were found stale (their block handed out again by the allocator, so its free
// was not seen) and retired as freed.
std::uint64_t stale_records_retired();

// Creates the thread-exit key of the per-thread stack caches; call once before recording (a
// thread that finds no key records without a cache).
void init_stack_cache();

StackTable& stacks();
LiveTable& live();

// An internal failure (no memory for the agent's tables): stop recording, say why once on stderr,
// and leave the program running as it would without the agent.
void disable_agent(const char* why);

}  // namespace leakhunt::agent
