// mmap-backed memory for the agent's tables and buffers.
#include "agent/memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>

namespace leakhunt::agent {
namespace {

std::atomic<std::uint64_t> g_mapped{0};

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
    return p;
}

void unmap_memory(void* p, std::size_t bytes) {
    if (p == nullptr) return;
    const std::size_t n = round_to_pages(bytes);
    ::munmap(p, n);
    g_mapped.fetch_sub(n, std::memory_order_relaxed);
}

std::uint64_t agent_memory_bytes() { return g_mapped.load(std::memory_order_relaxed); }

bool grow_mapped(format::Buffer& b, std::size_t need) {
    std::size_t cap = b.capacity == 0 ? 1 << 16 : b.capacity;
    while (cap < need) cap *= 2;
    void* p = b.data == nullptr
                  ? ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                  : ::mremap(b.data, b.capacity, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return false;
    b.data = static_cast<std::uint8_t*>(p);
    b.capacity = cap;
    return true;
}

MappedBuffer::~MappedBuffer() {
    if (b.data != nullptr) ::munmap(b.data, b.capacity);
}

}  // namespace leakhunt::agent
