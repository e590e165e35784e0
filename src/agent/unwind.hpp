// Stack capture for the hooks: DWARF CFI, so it works on binaries built without frame pointers;
// the agent's own walker (cfi_unwind.hpp) for ordinary frames, libunwind's unw_backtrace for the
// rest (signal frames, CFA expressions, code without unwind info). Frames inside the agent itself
// are dropped, and return addresses are stored minus one so that they point into the call
// instruction, as pprof expects.
// Thread-safe; call only with the recursion guard set (libunwind may allocate on first use).
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

// Records the address range of the agent's own code (call once at load).
void init_unwind();
// Up to `max` caller frames, innermost first; returns how many. By the agent's CFI walker
// (cfi_unwind.hpp), or libunwind where it gives up (LEAKHUNT_UNWIND in config.hpp).
std::size_t capture_stack(std::uintptr_t* out, std::size_t max);
// With LEAKHUNT_UNWIND=check: one line on stderr with how many stacks the two walkers differ on.
void report_unwind_check();

// Around fork(): libunwind takes locks of its own while unwinding; a thread caught mid-unwind by
// fork() would leave the child's unwinder locked forever. Unwinds hold this gate shared; the fork
// handlers hold it exclusively, so fork waits for running unwinds to finish.
void unwind_gate_lock();
void unwind_gate_unlock();
void unwind_gate_reset_in_child();

}  // namespace leakhunt::agent
