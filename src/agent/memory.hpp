// The agent's own memory: everything comes from mmap, never from the allocator it interposes.
// Counts the bytes mapped, which the timeline reports as the agent's own memory, and keeps a
// list of the mappings, lock-free, so that the heap scan never takes the agent's tables (which
// hold the address of every block) for the program's memory. Thread-safe.
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
// Lists a mapping the agent made itself with mmap (reserved, not counted as used) among its own.
void list_agent_mapping(void* p, std::size_t bytes);
// The agent's mappings now, as [start, end) pairs into `starts`/`ends`; returns how many (at most
// `max`). No lock and no allocation: the heap scan's tracer calls it with the world stopped (a
// mapping being added by a stopped thread may be missing; it is still all zeros).
std::size_t agent_mappings(std::uint64_t* starts, std::uint64_t* ends, std::size_t max);

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
