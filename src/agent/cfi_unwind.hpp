// The agent's own stack walker for the common case, in front of libunwind.
//
// Every frame of the program whose call frame address (CFA) is the stack pointer or the frame
// pointer plus a constant, with the return address at CFA-8 and the frame pointer either kept
// or saved at a constant offset from the CFA, is unwound here from the program's .eh_frame
// (found with _dl_find_object, decoded once per return address into a per-thread cache). That is
// what GCC and Clang emit for ordinary functions, with or without frame pointers. Anything else
// (a signal frame, a CFA expression as for a realigned stack, code without unwind info such as a
// JIT's) makes the walk give up, and the caller unwinds the whole stack with libunwind instead:
// the result is the same stack libunwind would give, only cheaper to get (no global state, no
// lock, no trace-cache miss per frame). x86-64 only; elsewhere it always gives up.
// Thread-safe and async-signal-safe (no allocation, no lock).
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

// The return addresses of the calling thread's stack above the agent's own frames, innermost
// first, as unw_backtrace gives them (raw, not minus one); at most `max`. Returns how many, or
// -1 if some frame needs libunwind. `agent_lo`/`agent_hi`: the agent's code, whose frames (all
// built with frame pointers) are skipped along the frame-pointer chain.
int cfi_backtrace(std::uintptr_t* out, int max, std::uintptr_t agent_lo, std::uintptr_t agent_hi);

// A library was unloaded: every thread drops its cached unwind rules before its next walk.
void cfi_forget_rules();

}  // namespace leakhunt::agent
