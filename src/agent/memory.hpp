// The agent's own memory: everything comes from mmap, never from the allocator it interposes.
// Counts the bytes mapped, which the timeline reports as the agent's own memory. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

// Maps `bytes` of zeroed, private memory (rounded up to pages); nullptr on failure.
void* map_memory(std::size_t bytes);
// Unmaps memory from map_memory.
void unmap_memory(void* p, std::size_t bytes);
// Bytes currently mapped by the agent.
std::uint64_t agent_memory_bytes();

}  // namespace leakhunt::agent
