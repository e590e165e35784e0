// The live table: insert, remove, growth and fork-time locking.
#include "agent/live_table.hpp"

#include "agent/memory.hpp"

namespace leakhunt::agent {

std::uint64_t LiveTable::hash(std::uintptr_t p) {
    std::uint64_t x = p >> 4;  // allocations are at least 16-byte aligned
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

bool LiveTable::grow(Shard& s) {
    const std::size_t cap = s.capacity == 0 ? 32 : s.capacity * 2;
    auto* slots = static_cast<Slot*>(map_memory(sizeof(Slot) * cap));
    if (slots == nullptr) return false;
    for (std::size_t i = 0; i < s.capacity; ++i) {
        const Slot& old = s.slots[i];
        if (old.ptr == 0) continue;
        std::size_t j = (hash(old.ptr) >> 12) & (cap - 1);
        while (slots[j].ptr != 0) j = (j + 1) & (cap - 1);
        slots[j] = old;
    }
    unmap_memory(s.slots, sizeof(Slot) * s.capacity);
    s.slots = slots;
    s.capacity = cap;
    return true;
}

bool LiveTable::insert(std::uintptr_t ptr, std::uint64_t size, std::uint32_t stack) {
    const std::uint64_t h = hash(ptr);
    Shard& s = m_shards[h & (k_shards - 1)];
    {
        LockHolder hold(s.lock);
        if ((s.used + 1) * 4 > s.capacity * 3 && !grow(s)) return false;
        std::size_t j = (h >> 12) & (s.capacity - 1);
        while (s.slots[j].ptr != 0) {
            if (s.slots[j].ptr == ptr) {  // the allocator handed out a block we missed the free of
                s.slots[j] = Slot{ptr, size, stack, 0};
                return true;
            }
            j = (j + 1) & (s.capacity - 1);
        }
        s.slots[j] = Slot{ptr, size, stack, 0};
        ++s.used;
    }
    m_entries.fetch_add(1, std::memory_order_relaxed);
    if (!m_full) {
        auto& f = m_filter[filter_index(ptr)];
        std::uint8_t v = f.load(std::memory_order_relaxed);
        // Saturates at 255 and then stays (never decremented again): only a lost optimisation.
        while (v != 255 && !f.compare_exchange_weak(v, static_cast<std::uint8_t>(v + 1))) {
        }
    }
    return true;
}

bool LiveTable::remove(std::uintptr_t ptr, std::uint64_t& size, std::uint32_t& stack) {
    const std::uint64_t h = hash(ptr);
    if (!m_full) {
        if (m_filter[filter_index(ptr)].load(std::memory_order_relaxed) == 0) return false;
    }
    Shard& s = m_shards[h & (k_shards - 1)];
    {
        LockHolder hold(s.lock);
        if (s.capacity == 0) return false;
        const std::size_t mask = s.capacity - 1;
        std::size_t j = (h >> 12) & mask;
        while (s.slots[j].ptr != ptr) {
            if (s.slots[j].ptr == 0) return false;
            j = (j + 1) & mask;
        }
        size = s.slots[j].size;
        stack = s.slots[j].stack;
        // Backward-shift deletion: pull later entries of the probe run into the hole.
        std::size_t hole = j;
        for (std::size_t k = (j + 1) & mask; s.slots[k].ptr != 0; k = (k + 1) & mask) {
            const std::size_t home = (hash(s.slots[k].ptr) >> 12) & mask;
            const bool movable = hole <= k ? (home <= hole || home > k) : (home <= hole && home > k);
            if (movable) {
                s.slots[hole] = s.slots[k];
                hole = k;
            }
        }
        s.slots[hole] = Slot{0, 0, 0, 0};
        --s.used;
    }
    m_entries.fetch_sub(1, std::memory_order_relaxed);
    if (!m_full) {
        auto& f = m_filter[filter_index(ptr)];
        std::uint8_t v = f.load(std::memory_order_relaxed);
        while (v != 255 && v != 0 && !f.compare_exchange_weak(v, static_cast<std::uint8_t>(v - 1))) {
        }
    }
    return true;
}

void LiveTable::lock_all() {
    for (auto& s : m_shards) s.lock.lock();
}

void LiveTable::unlock_all() {
    for (auto& s : m_shards) s.lock.unlock();
}

}  // namespace leakhunt::agent
