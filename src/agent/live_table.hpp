// The live allocations that were recorded: pointer -> (size, stack id). In full mode this is the
// exact live set (the heap scan of a later issue walks it); in sampled mode only the sampled
// blocks. Sharded by address region, open addressing by address with backward-shift deletion (no
// tombstones), memory from mmap. In sampled mode a counting filter answers "certainly not
// recorded" for most frees without taking a lock. Thread-safe.
//
// Each shard has a spinlock and, where membarrier is available (fence.hpp), an owner: the first
// thread to use the shard enters it with plain stores (`busy`) instead of the lock's locked
// exchange, until another thread needs the shard: that thread takes the lock, revokes the bias
// for good (`revoked`, a remote fence, then it waits for `busy` to clear), and from then on every
// thread uses the lock. fork() revokes every bias for its duration only.
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

    // Owner-biased locking (above): on where remote fences work; call at load and, after fork,
    // in the child (after reset_in_child).
    void set_biased(bool on) { m_biased = on; }

    // False if memory for the table could not be had (the block is then not tracked). `me`:
    // the calling thread's thread_token(). If ptr was already recorded (the allocator handed the
    // address out again, so its free was never seen), the stale record is replaced and its size
    // and stack are returned in `stale_size` and `stale_stack` (else stale_stack is 0).
    bool insert(std::uintptr_t ptr, std::uint64_t size, std::uint32_t stack, std::uint32_t me,
                std::uint64_t& stale_size, std::uint32_t& stale_stack);
    // Removes ptr; true (and its size and stack) if it was recorded.
    bool remove(std::uintptr_t ptr, std::uint64_t& size, std::uint32_t& stack, std::uint32_t me);
    // False if ptr is certainly not in the table (lock-free; always true in full mode).
    bool maybe_present(std::uintptr_t ptr) const {
        return m_full || m_filter[filter_index(ptr)].load(std::memory_order_relaxed) != 0;
    }

    void lock_all();
    void unlock_all();

    // In the child after fork: every lock released and every bias dropped (the owners are gone).
    void reset_in_child();

    // For the heap scan, with every other thread stopped: true if a stopped thread holds a
    // shard's lock or is inside one as its owner (the table may then be mid-update and must not
    // be read).
    bool any_locked() const;
    // Recorded blocks, with the other threads stopped and no lock held: f(ptr, size, stack).
    template <typename F>
    void for_each(F&& f) const {
        for (const auto& s : m_shards) {
            for (std::size_t i = 0; i < s.capacity; ++i) {
                if (s.slots[i].ptr != 0) f(s.slots[i].ptr, s.slots[i].size, s.slots[i].stack);
            }
        }
    }
    // Blocks recorded now (racy, a sizing hint).
    std::size_t approx_count() const;

  private:
    // Each shard's first array is a page; 1024 of them is 4 MiB in full mode.
    static constexpr std::size_t k_shards = 1024;
    // Small enough to stay in cache: every free in sampled mode reads it. With n sampled live
    // blocks a free takes the lock needlessly with probability about n / k_filter.
    static constexpr std::size_t k_filter = 1 << 15;
    // From the address itself (no multiply): blocks are 16-byte aligned, and folding in higher
    // bits spreads blocks of different arenas.
    static std::size_t filter_index(std::uintptr_t p) {
        return static_cast<std::size_t>((p >> 4) ^ (p >> 19)) & (k_filter - 1);
    }
    struct Slot {
        std::uintptr_t ptr;  // 0 = empty
        std::uint64_t size;
        std::uint32_t stack;
        std::uint32_t pad;
    };
    enum : std::uint8_t { k_biased = 0, k_revoked = 1, k_forking = 2 };
    struct Shard {
        SpinLock lock;
        std::atomic<std::uint8_t> busy{0};  // the owner is inside (plain stores)
        std::atomic<std::uint8_t> revoked{k_biased};
        std::atomic<std::uint32_t> owner{0};  // thread token; 0: none yet (set under the lock)
        Slot* slots = nullptr;
        std::size_t capacity = 0;
        std::size_t used = 0;
    };

    // Enters the shard: true if as its owner (leave with busy = 0), false under the lock.
    bool enter(Shard& s, std::uint32_t me);
    // Inside a shard for its scope, as its owner or under its lock (LockHolder's twin).
    class ShardHolder {
      public:
        ShardHolder(LiveTable& t, Shard& s, std::uint32_t me)
            : m_shard(s), m_owner(t.enter(s, me)) {}
        ~ShardHolder() {
            if (m_owner) {
                m_shard.busy.store(0, std::memory_order_release);
            } else {
                m_shard.lock.unlock();
            }
        }
        ShardHolder(const ShardHolder&) = delete;
        ShardHolder& operator=(const ShardHolder&) = delete;

      private:
        Shard& m_shard;
        bool m_owner;
    };
    static std::size_t shard_of(std::uintptr_t p);
    static std::size_t slot_of(std::uintptr_t p, std::size_t mask);
    bool grow(Shard& s);

    Shard m_shards[k_shards];
    std::atomic<std::uint8_t> m_filter[k_filter] = {};
    bool m_full = false;
    bool m_biased = false;
};

}  // namespace leakhunt::agent
