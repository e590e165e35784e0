// The stack table: interning and fork-time locking.
#include "agent/stack_table.hpp"

#include <sys/mman.h>

#include <cstring>
#include <new>

#include "agent/memory.hpp"

namespace leakhunt::agent {
namespace {

constexpr std::size_t k_chunk_bytes = 1 << 20;

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

std::atomic<std::uint32_t> g_next_token{1};
thread_local std::uint32_t t_token __attribute__((tls_model("initial-exec"))) = 0;

}  // namespace

std::uint32_t thread_token() {
    if (t_token == 0) t_token = g_next_token.fetch_add(1, std::memory_order_relaxed);
    return t_token;
}

std::uint64_t hash_stack(const std::uintptr_t* ips, std::uint32_t depth) {
    // This runs on every allocation in full mode. Four independent lanes (frames i, i+4, ...),
    // each one multiply and one shift per frame, so the multiplies overlap instead of forming one
    // chain of `depth` dependent multiplies; then the lanes are mixed together.
    const auto step = [](std::uint64_t h, std::uintptr_t ip) {
        h = (h ^ ip) * 0x9E3779B97F4A7C15ull;
        return h ^ (h >> 29);
    };
    std::uint64_t l0 = 0xcbf29ce484222325ull ^ depth, l1 = 0x84222325cbf29ce4ull,
                  l2 = 0x9e3779b97f4a7c15ull, l3 = 0xc2b2ae3d27d4eb4full;  // in registers
    std::uint32_t i = 0;
    for (; i + 4 <= depth; i += 4) {
        l0 = step(l0, ips[i]);
        l1 = step(l1, ips[i + 1]);
        l2 = step(l2, ips[i + 2]);
        l3 = step(l3, ips[i + 3]);
    }
    if (i < depth) l0 = step(l0, ips[i++]);
    if (i < depth) l1 = step(l1, ips[i++]);
    if (i < depth) l2 = step(l2, ips[i++]);
    // Lanes 1-3 are mixed independently (in parallel), rotated apart, then mixed with lane 0.
    const auto rotl = [](std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
    const std::uint64_t h = mix(l0 ^ mix(l1) ^ rotl(mix(l2), 21) ^ rotl(mix(l3), 42));
    return h == 0 ? 1 : h;
}

bool StackTable::ensure_index() {
    if (m_records != nullptr) return true;
    // Reserved, not committed: pages are touched only as ids are handed out.
    void* p = ::mmap(nullptr, sizeof(StackRecord*) * k_max_stacks, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    list_agent_mapping(p, sizeof(StackRecord*) * k_max_stacks);  // never a root of a heap scan
    m_records = static_cast<StackRecord**>(p);
    return true;
}

StackRecord* StackTable::store(const std::uintptr_t* ips, std::uint32_t depth, std::uint64_t hash,
                               std::uint32_t owner) {
    const std::size_t bytes = sizeof(StackRecord) + sizeof(std::uintptr_t) * depth;
    if (bytes > m_chunk_left) {
        void* chunk = map_memory(k_chunk_bytes);
        if (chunk == nullptr) return nullptr;
        m_chunk = static_cast<std::uint8_t*>(chunk);
        m_chunk_left = k_chunk_bytes;
    }
    auto* rec =
        new (m_chunk) StackRecord{hash, depth, owner, {{0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}}};
    std::memcpy(rec->ips(), ips, sizeof(std::uintptr_t) * depth);
    m_chunk += bytes;
    m_chunk_left -= bytes;
    return rec;
}

bool StackTable::grow(Shard& s) {
    const std::size_t cap = s.capacity == 0 ? 64 : s.capacity * 2;
    auto* slots = static_cast<Slot*>(map_memory(sizeof(Slot) * cap));
    if (slots == nullptr) return false;
    for (std::size_t i = 0; i < s.capacity; ++i) {
        const Slot& old = s.slots[i];
        if (old.id == 0) continue;
        std::size_t j = (old.hash >> 8) & (cap - 1);
        while (slots[j].id != 0) j = (j + 1) & (cap - 1);
        slots[j] = old;
    }
    unmap_memory(s.slots, sizeof(Slot) * s.capacity);
    s.slots = slots;
    s.capacity = cap;
    return true;
}

std::uint32_t StackTable::intern(const std::uintptr_t* ips, std::uint32_t depth, std::uint64_t hash,
                                 std::uint32_t owner) {
    Shard& s = m_shards[hash & (k_shards - 1)];
    LockHolder hold(s.lock);
    if (s.capacity != 0) {
        for (std::size_t j = (hash >> 8) & (s.capacity - 1);; j = (j + 1) & (s.capacity - 1)) {
            const Slot& slot = s.slots[j];
            if (slot.id == 0) break;
            if (slot.hash != hash) continue;
            const StackRecord* rec = get(slot.id);
            if (rec->depth == depth &&
                std::memcmp(rec->ips(), ips, sizeof(std::uintptr_t) * depth) == 0) {
                return slot.id;
            }
        }
    }
    if ((s.used + 1) * 4 > s.capacity * 3 && !grow(s)) return 0;
    std::uint32_t id = 0;
    {
        LockHolder arena(m_arena_lock);
        const std::uint32_t n = m_count.load(std::memory_order_relaxed);
        if (n >= k_max_stacks || !ensure_index()) return 0;
        StackRecord* rec = store(ips, depth, hash, owner);
        if (rec == nullptr) return 0;
        m_records[n] = rec;
        id = n + 1;
        m_count.store(id, std::memory_order_release);
    }
    std::size_t j = (hash >> 8) & (s.capacity - 1);
    while (s.slots[j].id != 0) j = (j + 1) & (s.capacity - 1);
    s.slots[j] = Slot{hash, id, 0};
    ++s.used;
    return id;
}

void StackTable::lock_all() {
    for (auto& s : m_shards) s.lock.lock();
    m_arena_lock.lock();
}

bool StackTable::any_locked() const {
    if (m_arena_lock.is_locked()) return true;
    for (const auto& s : m_shards) {
        if (s.lock.is_locked()) return true;
    }
    return false;
}

void StackTable::unlock_all() {
    m_arena_lock.unlock();
    for (auto& s : m_shards) s.lock.unlock();
}

}  // namespace leakhunt::agent
