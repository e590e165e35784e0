// Finding glibc's malloc state in the stopped process, so the scan does not take the allocator's
// own pointers for roots: the main arena (struct malloc_state in the C library's data) and the
// heaps of the other arenas. Its top chunk, bins and fastbins point at chunk headers, which lie
// inside the tail of the block before them (a leaked block right below the top chunk would look
// reachable). Runs in the tracer: no malloc, no locks, no libc calls that could take one.
#pragma once

#include <cstdint>

#include "agent/scan_state.hpp"

namespace leakhunt::agent {

// The size of glibc's struct malloc_state (glibc 2.26 and later, 64-bit).
inline constexpr std::uint64_t k_arena_size = 0x898;
// glibc's HEAP_MAX_SIZE on 64-bit: the alignment of the other arenas' heaps.
inline constexpr std::uint64_t k_heap_max = 64u << 20;

// The main arena's address inside module `k`'s writable data, or 0.
std::uint64_t find_main_arena(const ScanState& s, std::uint32_t k);

// True if `h` (aligned to k_heap_max) starts a heap of one of glibc's other arenas: memory from
// there on is the allocator's, no root.
bool is_arena_heap(const ScanState& s, std::uint64_t h);

}  // namespace leakhunt::agent
