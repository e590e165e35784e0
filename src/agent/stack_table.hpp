// Interned call stacks with their allocation counters. A stack is stored once (instruction
// pointers in an append-only mmap arena) and named by a 32-bit id; each carries relaxed atomic
// counters of the allocations and frees recorded for it, so the writer thread reads a snapshot
// without taking any lock the allocation hooks need. The thread that interned a stack owns it:
// its updates are plain single-writer stores to the record's `own` counters (no locked
// read-modify-write on the hot path); every other thread adds to the `shared` ones atomically.
// A reader sums both. The hash index is sharded, each shard under a spinlock. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "agent/spinlock.hpp"

namespace leakhunt::agent {

// Allocation and free counters of one stack.
struct StackCounters {
    std::atomic<std::uint64_t> alloc_count;
    std::atomic<std::uint64_t> alloc_bytes;
    std::atomic<std::uint64_t> free_count;
    std::atomic<std::uint64_t> free_bytes;
};

// A small number naming the calling thread, unique for the life of the process (never reused,
// so a stack's owner can only ever be one thread); 1-based.
std::uint32_t thread_token();

struct StackRecord {
    std::uint64_t hash;
    std::uint32_t depth;
    std::uint32_t owner;   // thread_token() of the thread that interned it
    StackCounters own;     // written by the owner thread only (load + store, no RMW)
    StackCounters shared;  // by every other thread (fetch_add)

    void count_alloc(std::uint64_t bytes, std::uint32_t token) {
        add(token, &StackCounters::alloc_count, &StackCounters::alloc_bytes, bytes);
    }
    void count_free(std::uint64_t bytes, std::uint32_t token) {
        add(token, &StackCounters::free_count, &StackCounters::free_bytes, bytes);
    }
    // Totals (relaxed: a snapshot is racy with the hooks anyway).
    std::uint64_t alloc_count() const { return sum(&StackCounters::alloc_count); }
    std::uint64_t alloc_bytes() const { return sum(&StackCounters::alloc_bytes); }
    std::uint64_t free_count() const { return sum(&StackCounters::free_count); }
    std::uint64_t free_bytes() const { return sum(&StackCounters::free_bytes); }
    // `depth` instruction pointers follow the record.
    const std::uintptr_t* ips() const { return reinterpret_cast<const std::uintptr_t*>(this + 1); }
    std::uintptr_t* ips() { return reinterpret_cast<std::uintptr_t*>(this + 1); }

  private:
    using Field = std::atomic<std::uint64_t> StackCounters::*;
    // One more event of `bytes` into the `count` and `total` fields of this thread's set.
    void add(std::uint32_t token, Field count, Field total, std::uint64_t bytes) {
        if (token == owner) {
            bump(own.*count, 1);
            bump(own.*total, bytes);
            return;
        }
        (shared.*count).fetch_add(1, std::memory_order_relaxed);
        (shared.*total).fetch_add(bytes, std::memory_order_relaxed);
    }
    // A single writer's increment: load and store, no locked read-modify-write.
    static void bump(std::atomic<std::uint64_t>& a, std::uint64_t v) {
        a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    }
    std::uint64_t sum(Field field) const {
        return (own.*field).load(std::memory_order_relaxed) +
               (shared.*field).load(std::memory_order_relaxed);
    }
};

class StackTable {
  public:
    static constexpr std::uint32_t k_max_stacks = 1u << 22;  // 4M distinct stacks

    // The id of this stack (1-based), inserting it if new (owned by thread `owner`); 0 if the
    // table is full.
    std::uint32_t intern(const std::uintptr_t* ips, std::uint32_t depth, std::uint64_t hash,
                         std::uint32_t owner);
    StackRecord* get(std::uint32_t id) const { return m_records[id - 1]; }
    std::uint32_t count() const { return m_count.load(std::memory_order_acquire); }

    // Around fork(): no lock may be held by another thread in the child.
    void lock_all();
    void unlock_all();
    // For the heap scan, with every other thread stopped: a stopped thread holds a lock.
    bool any_locked() const;

  private:
    static constexpr std::size_t k_shards = 256;
    struct Slot {
        std::uint64_t hash;
        std::uint32_t id;  // 0 = empty
        std::uint32_t pad;
    };
    struct Shard {
        SpinLock lock;
        Slot* slots = nullptr;
        std::size_t capacity = 0;  // power of two
        std::size_t used = 0;
    };

    StackRecord* store(const std::uintptr_t* ips, std::uint32_t depth, std::uint64_t hash,
                       std::uint32_t owner);
    bool grow(Shard& s);
    bool ensure_index();

    Shard m_shards[k_shards];
    SpinLock m_arena_lock;  // also guards m_records growth and m_count
    std::uint8_t* m_chunk = nullptr;
    std::size_t m_chunk_left = 0;
    StackRecord** m_records = nullptr;
    std::atomic<std::uint32_t> m_count{0};
};

// A 64-bit hash of the instruction pointers.
std::uint64_t hash_stack(const std::uintptr_t* ips, std::uint32_t depth);

}  // namespace leakhunt::agent
