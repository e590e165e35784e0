// mmap-backed memory for the agent's tables and buffers.
#include "agent/memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>

namespace leakhunt::agent {
namespace {

std::atomic<std::uint64_t> g_mapped{0};

// The mappings, by address: open addressing over a fixed table (the agent has a few thousand
// mappings: a page or more per live-table shard). A slot is claimed by swapping its start from 0;
// its length is stored after, so a reader may see a start with length 0 (skipped).
constexpr std::size_t k_registry = 1u << 15;
struct Registered {
    std::atomic<std::uintptr_t> start{0};
    std::atomic<std::size_t> length{0};
};
Registered g_registry[k_registry];

std::size_t registry_home(const void* p) {
    return (reinterpret_cast<std::uintptr_t>(p) >> 12) & (k_registry - 1);
}

void register_mapping(void* p, std::size_t n) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    for (std::size_t i = 0, j = registry_home(p); i < k_registry;
         ++i, j = (j + 1) & (k_registry - 1)) {
        std::uintptr_t expected = 0;
        if (g_registry[j].start.compare_exchange_strong(expected, at, std::memory_order_acq_rel)) {
            g_registry[j].length.store(n, std::memory_order_release);
            return;
        }
    }
    // Full: the mapping goes unlisted (a scan may then read the agent's table as a root).
}

void unregister_mapping(void* p) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    for (std::size_t i = 0, j = registry_home(p); i < k_registry;
         ++i, j = (j + 1) & (k_registry - 1)) {
        if (g_registry[j].start.load(std::memory_order_acquire) != at) continue;
        g_registry[j].length.store(0, std::memory_order_release);
        g_registry[j].start.store(0, std::memory_order_release);
        return;
    }
}

std::size_t round_to_pages(std::size_t n) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
}

}  // namespace

void* map_memory(std::size_t bytes) {
    const std::size_t n = round_to_pages(bytes);
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    g_mapped.fetch_add(n, std::memory_order_relaxed);
    register_mapping(p, n);
    return p;
}

void unmap_memory(void* p, std::size_t bytes) {
    if (p == nullptr) return;
    const std::size_t n = round_to_pages(bytes);
    unregister_mapping(p);
    ::munmap(p, n);
    g_mapped.fetch_sub(n, std::memory_order_relaxed);
}

std::uint64_t agent_memory_bytes() {
    return g_mapped.load(std::memory_order_relaxed);
}

void list_agent_mapping(void* p, std::size_t bytes) {
    register_mapping(p, round_to_pages(bytes));
}

std::size_t agent_mappings(std::uint64_t* starts, std::uint64_t* ends, std::size_t max) {
    std::size_t n = 0;
    for (std::size_t j = 0; j < k_registry && n < max; ++j) {
        const std::uintptr_t at = g_registry[j].start.load(std::memory_order_acquire);
        const std::size_t len = g_registry[j].length.load(std::memory_order_acquire);
        if (at == 0 || len == 0) continue;
        starts[n] = at;
        ends[n] = at + len;
        ++n;
    }
    return n;
}

bool grow_mapped(format::Buffer& b, std::size_t need) {
    std::size_t cap = b.capacity == 0 ? 1 << 16 : b.capacity;
    while (cap < need) cap *= 2;
    void* p = b.data == nullptr
                  ? ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                  : ::mremap(b.data, b.capacity, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return false;
    if (b.data != nullptr) unregister_mapping(b.data);
    register_mapping(p, cap);
    b.data = static_cast<std::uint8_t*>(p);
    b.capacity = cap;
    return true;
}

MappedBuffer::~MappedBuffer() {
    if (b.data == nullptr) return;
    unregister_mapping(b.data);
    ::munmap(b.data, b.capacity);
}

}  // namespace leakhunt::agent
