// Decoding of DWARF call frame information from .eh_frame (via .eh_frame_hdr's search table) into
// the one rule the agent's stack walker needs per return address (cfi_unwind.hpp). x86-64
// register numbering. Pure: it reads only memory inside the window it is given, so it can be
// fuzzed (tests/fuzz/fuzz_eh_frame.cpp). No allocation, no lock; async-signal-safe.
#pragma once

#include <cstdint>

namespace leakhunt::agent {

// Address arithmetic with a signed offset (wraps like the hardware's).
inline std::uintptr_t add_offset(std::uintptr_t a, std::int64_t off) {
    return a + static_cast<std::uintptr_t>(off);
}

// How to get from a frame to its caller's.
struct CfiRule {
    enum Kind : std::uint8_t { unknown = 0, step = 1, last = 2, give_up = 3 };
    std::uint8_t kind;  // last: the return address is undefined (the outermost frame)
    bool cfa_on_bp;     // CFA = rbp + cfa_off (else rsp + cfa_off); the return address is at CFA-8
    bool bp_saved;      // the caller's rbp is at CFA + bp_off (else rbp is unchanged)
    std::uint8_t pad;
    std::int32_t cfa_off;
    std::int32_t bp_off;
};

// The rule for the instruction at `pc` (a return address minus one), from the .eh_frame_hdr at
// `eh_frame_hdr`; every table, FDE and CIE it leads to must lie inside [lo, hi) (the object's
// mapping), else, like for anything this walker does not handle (a signal frame, a CFA
// expression, a register rule other than "saved at an offset"), the kind is give_up.
CfiRule decode_cfi_rule(const std::uint8_t* eh_frame_hdr, std::uintptr_t lo, std::uintptr_t hi,
                        std::uintptr_t pc);

}  // namespace leakhunt::agent
