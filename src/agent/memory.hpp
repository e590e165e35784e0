// The agent's own memory: everything comes from mmap, never from the allocator it interposes.
// Counts the bytes mapped, which the timeline reports as the agent's own memory. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/buffer.hpp"

namespace leakhunt::agent {

// Maps `bytes` of zeroed, private memory (rounded up to pages); nullptr on failure.
void* map_memory(std::size_t bytes);
// Unmaps memory from map_memory.
void unmap_memory(void* p, std::size_t bytes);
// Bytes currently mapped by the agent.
std::uint64_t agent_memory_bytes();

// format::Buffer's grow callback for buffers in mmap'd memory: doubles (from 64 KiB) with mremap.
bool grow_mapped(format::Buffer& b, std::size_t need);

// A format::Buffer that grows with grow_mapped and is unmapped by the destructor.
struct MappedBuffer {
    format::Buffer b{nullptr, 0, 0, grow_mapped, false};
    MappedBuffer() = default;
    MappedBuffer(const MappedBuffer&) = delete;
    MappedBuffer& operator=(const MappedBuffer&) = delete;
    ~MappedBuffer();
};

}  // namespace leakhunt::agent
