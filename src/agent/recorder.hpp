// What the hooks call after (allocation) or before (free) the real allocator: decides whether
// the allocation is sampled, captures and interns its stack, and keeps the live table and the
// per-stack counters. Callers hold a RecursionGuard that was not nested. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "agent/live_table.hpp"
#include "agent/stack_table.hpp"

namespace leakhunt::agent {

// True if this allocation is to be recorded: the sampler's inline fast path (one subtraction),
// so unsampled allocations cost nothing more.
bool should_sample(std::size_t size);
// Records an allocation that should_sample() chose.
void record_alloc(void* p, std::size_t size);
// False if p is certainly not recorded (sampled mode's lock-free filter; always true in full
// mode): most frees stop here.
bool maybe_recorded(void* p);
// Call before the memory is released, so the address cannot be reused first.
void record_free(void* p);
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

// Set once the agent is initialised; before, and after a fatal internal error, hooks only
// forward to the allocator.
extern std::atomic<bool> g_active;

// An internal failure (no memory for the agent's tables): stop recording, say why once on stderr,
// and leave the program running as it would without the agent.
void disable_agent(const char* why);

}  // namespace leakhunt::agent
