// Stack capture for the hooks: libunwind's unw_backtrace (DWARF CFI, so it works on binaries
// built without frame pointers; libunwind caches the unwind info per address range, which keeps
// repeated stacks fast). Frames inside the agent itself are dropped, and return addresses are
// stored minus one so that they point into the call instruction, as pprof expects.
// Thread-safe; call only with the recursion guard set (libunwind may allocate on first use).
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

// Records the address range of the agent's own code (call once at load).
void init_unwind();
// Up to `max` caller frames, innermost first; returns how many.
std::size_t capture_stack(std::uintptr_t* out, std::size_t max);

}  // namespace leakhunt::agent
