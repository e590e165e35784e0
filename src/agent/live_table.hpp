// The live allocations that were recorded: pointer -> (size, stack id). In full mode this is the
// exact live set (the heap scan of a later issue walks it); in sampled mode only the sampled
// blocks. Sharded open addressing with backward-shift deletion (no tombstones), each shard under a
// spinlock, memory from mmap. In sampled mode a counting filter answers "certainly not recorded"
// for most frees without taking a lock. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "agent/spinlock.hpp"

namespace leakhunt::agent {

class LiveTable {
public:
    // full: every allocation is recorded, so the filter is skipped.
    void set_full(bool full) { m_full = full; }

    // False if memory for the table could not be had (the block is then not tracked).
    bool insert(std::uintptr_t ptr, std::uint64_t size, std::uint32_t stack);
    // Removes ptr; true (and its size and stack) if it was recorded.
    bool remove(std::uintptr_t ptr, std::uint64_t& size, std::uint32_t& stack);
    std::uint64_t size() const { return m_entries.load(std::memory_order_relaxed); }

    void lock_all();
    void unlock_all();

private:
    static constexpr std::size_t k_shards = 4096;
    static constexpr std::size_t k_filter = 1 << 20;
    struct Slot {
        std::uintptr_t ptr;  // 0 = empty
        std::uint64_t size;
        std::uint32_t stack;
        std::uint32_t pad;
    };
    struct Shard {
        SpinLock lock;
        Slot* slots = nullptr;
        std::size_t capacity = 0;
        std::size_t used = 0;
    };

    static std::uint64_t hash(std::uintptr_t p);
    bool grow(Shard& s);

    Shard m_shards[k_shards];
    std::atomic<std::uint8_t> m_filter[k_filter] = {};
    std::atomic<std::uint64_t> m_entries{0};
    bool m_full = false;
};

}  // namespace leakhunt::agent
