// The live table: insert, remove, growth and fork-time locking.
#include "agent/live_table.hpp"

#include "agent/fence.hpp"
#include "agent/memory.hpp"

namespace leakhunt::agent {

// Locality over scatter: a shard is a 64 KiB region of the address space (threads allocating
// from their own arenas meet on few locks) and neighbouring blocks get neighbouring slots (a
// probe touches a cache line the last one likely loaded). The higher bits folded in keep
// page-aligned blocks from piling onto the same slots.
std::size_t LiveTable::shard_of(std::uintptr_t p) {
    return (p >> 16) & (k_shards - 1);
}
std::size_t LiveTable::slot_of(std::uintptr_t p, std::size_t mask) {
    return static_cast<std::size_t>((p >> 4) ^ (p >> 20) ^ (p >> 36)) & mask;
}

bool LiveTable::grow(Shard& s) {
    const std::size_t cap = s.capacity == 0 ? 32 : s.capacity * 2;
    auto* slots = static_cast<Slot*>(map_memory(sizeof(Slot) * cap));
    if (slots == nullptr) return false;
    for (std::size_t i = 0; i < s.capacity; ++i) {
        const Slot& old = s.slots[i];
        if (old.ptr == 0) continue;
        std::size_t j = slot_of(old.ptr, cap - 1);
        while (slots[j].ptr != 0) j = (j + 1) & (cap - 1);
        slots[j] = old;
    }
    unmap_memory(s.slots, sizeof(Slot) * s.capacity);
    s.slots = slots;
    s.capacity = cap;
    return true;
}

bool LiveTable::enter(Shard& s, std::uint32_t me) {
    if (m_biased && s.owner.load(std::memory_order_relaxed) == me) {
        s.busy.store(1, std::memory_order_relaxed);
        // The CPU's store-load fence is the revoking thread's remote_fence().
        std::atomic_signal_fence(std::memory_order_seq_cst);
        if (s.revoked.load(std::memory_order_relaxed) == k_biased) return true;
        s.busy.store(0, std::memory_order_release);
    }
    s.lock.lock();
    if (!m_biased) return false;
    const std::uint32_t owner = s.owner.load(std::memory_order_relaxed);
    if (owner == 0) {
        s.owner.store(me, std::memory_order_relaxed);  // ours from the next entry on
    } else if (owner != me && s.revoked.load(std::memory_order_relaxed) == k_biased) {
        s.revoked.store(k_revoked, std::memory_order_relaxed);
        remote_fence_then_wait([&s] {
            while (s.busy.load(std::memory_order_acquire) != 0) __builtin_ia32_pause();
        });
    }
    return false;
}

bool LiveTable::insert(std::uintptr_t ptr, std::uint64_t size, std::uint32_t stack,
                       std::uint32_t me, std::uint64_t& stale_size, std::uint32_t& stale_stack) {
    stale_stack = 0;
    Shard& s = m_shards[shard_of(ptr)];
    {
        ShardHolder hold(*this, s, me);
        if ((s.used + 1) * 4 > s.capacity * 3 && !grow(s)) return false;
        std::size_t j = slot_of(ptr, s.capacity - 1);
        while (s.slots[j].ptr != 0) {
            if (s.slots[j].ptr == ptr) {  // the allocator handed out a block we missed the free of
                stale_size = s.slots[j].size;
                stale_stack = s.slots[j].stack;
                s.slots[j] = Slot{ptr, size, stack, 0};
                return true;
            }
            j = (j + 1) & (s.capacity - 1);
        }
        s.slots[j] = Slot{ptr, size, stack, 0};
        ++s.used;
    }
    if (!m_full) {
        auto& f = m_filter[filter_index(ptr)];
        std::uint8_t v = f.load(std::memory_order_relaxed);
        // Saturates at 255 and then stays (never decremented again): only a lost optimisation.
        while (v != 255 && !f.compare_exchange_weak(v, static_cast<std::uint8_t>(v + 1))) {
        }
    }
    return true;
}

bool LiveTable::remove(std::uintptr_t ptr, std::uint64_t& size, std::uint32_t& stack,
                       std::uint32_t me) {
    if (!m_full) {
        if (m_filter[filter_index(ptr)].load(std::memory_order_relaxed) == 0) return false;
    }
    Shard& s = m_shards[shard_of(ptr)];
    {
        ShardHolder hold(*this, s, me);
        if (s.capacity == 0) return false;
        const std::size_t mask = s.capacity - 1;
        std::size_t j = slot_of(ptr, mask);
        while (s.slots[j].ptr != ptr) {
            if (s.slots[j].ptr == 0) return false;
            j = (j + 1) & mask;
        }
        size = s.slots[j].size;
        stack = s.slots[j].stack;
        // Backward-shift deletion: pull later entries of the probe run into the hole.
        std::size_t hole = j;
        for (std::size_t k = (j + 1) & mask; s.slots[k].ptr != 0; k = (k + 1) & mask) {
            const std::size_t home = slot_of(s.slots[k].ptr, mask);
            const bool movable =
                hole <= k ? (home <= hole || home > k) : (home <= hole && home > k);
            if (movable) {
                s.slots[hole] = s.slots[k];
                hole = k;
            }
        }
        s.slots[hole] = Slot{0, 0, 0, 0};
        --s.used;
    }
    if (!m_full) {
        auto& f = m_filter[filter_index(ptr)];
        std::uint8_t v = f.load(std::memory_order_relaxed);
        while (v != 255 && v != 0 &&
               !f.compare_exchange_weak(v, static_cast<std::uint8_t>(v - 1))) {
        }
    }
    return true;
}

void LiveTable::lock_all() {
    bool biased = false;
    for (auto& s : m_shards) {
        s.lock.lock();
        if (m_biased && s.revoked.load(std::memory_order_relaxed) == k_biased) {
            s.revoked.store(k_forking, std::memory_order_relaxed);
            biased = true;
        }
    }
    if (!biased) return;
    // One fence for all shards, then every owner inside one has left it.
    remote_fence_then_wait([this] {
        for (auto& s : m_shards) {
            while (s.busy.load(std::memory_order_acquire) != 0) __builtin_ia32_pause();
        }
    });
}

void LiveTable::unlock_all() {
    for (auto& s : m_shards) {
        if (s.revoked.load(std::memory_order_relaxed) == k_forking) {
            s.revoked.store(k_biased, std::memory_order_relaxed);
        }
        s.lock.unlock();
    }
}

void LiveTable::reset_in_child() {
    for (auto& s : m_shards) {
        s.owner.store(0, std::memory_order_relaxed);
        s.busy.store(0, std::memory_order_relaxed);
        s.revoked.store(k_biased, std::memory_order_relaxed);
        s.lock.unlock();
    }
}

bool LiveTable::any_locked() const {
    for (const auto& s : m_shards) {
        if (s.lock.is_locked() || s.busy.load(std::memory_order_acquire) != 0) return true;
    }
    return false;
}

std::size_t LiveTable::approx_count() const {
    std::size_t n = 0;
    for (const auto& s : m_shards) n += s.used;
    return n;
}

}  // namespace leakhunt::agent
