// The function scopes of one DWARF compilation unit indexed by address, so that finding the
// innermost (inlined) function at a pc is a binary search instead of a walk of the CU's DIE tree
// (which dwarf_getscopes does on every call, milliseconds in a CU full of templates). Built in
// one walk of the DIE tree that follows dwarf_getscopes' rules exactly: only DIEs whose address
// ranges contain the pc are entered, only scope tags are descended, a child counts only inside
// its parent's ranges, and among overlapping siblings the first one wins. Holds Dwarf_Die
// handles, valid while the Dwarf session that made them lives. Immutable after construction.
#pragma once

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdint>
#include <vector>

namespace leakhunt::symbolize {

class CuIndex {
  public:
    // A DW_TAG_subprogram, DW_TAG_inlined_subroutine or DW_TAG_entry_point of the CU.
    struct Scope {
        Dwarf_Die die;
        int32_t parent = -1;  // the enclosing function scope (the caller of an inlined one)
    };

    // Walks the DIE tree of `cudie` once.
    explicit CuIndex(Dwarf_Die* cudie);

    // The innermost function scope whose ranges contain `pc` (a CU-relative DWARF address, as
    // dwarf_getscopes takes), or -1 when no function of this CU covers it.
    int32_t innermost(uint64_t pc) const;
    const Scope& scope(int32_t index) const { return m_scopes[static_cast<size_t>(index)]; }

    size_t scope_count() const { return m_scopes.size(); }
    size_t segment_count() const { return m_starts.size(); }

  private:
    std::vector<Scope> m_scopes;
    // Disjoint segments covering the address space: segment i is [m_starts[i], m_starts[i+1])
    // and belongs to scope m_owners[i] (-1: none).
    std::vector<uint64_t> m_starts;
    std::vector<int32_t> m_owners;
};

// The compilation units of one module by address, from each CU's own DW_AT_low_pc/high_pc or
// DW_AT_ranges. elfutils' dwfl_module_addrdie (and dwfl_module_getsrc, which uses it) finds a CU
// only through .debug_aranges, which clang does not emit by default (-gno-dwarf-aranges is its
// default), so a clang-built CU is invisible to it: this index is the fallback. Holds the CU
// handles of the Dwfl session that made them. Immutable after construction.
class CuRanges {
  public:
    // Reads the ranges of every CU of `module` once.
    explicit CuRanges(Dwfl_Module* module);

    // The CU whose ranges contain the libdwfl address `addr`, with its bias (DWARF address =
    // addr - bias) in `bias`, as dwfl_module_addrdie returns it; nullptr when no CU does.
    Dwarf_Die* find(Dwarf_Addr addr, Dwarf_Addr* bias) const;

    size_t span_count() const { return m_spans.size(); }

  private:
    struct Span {
        uint64_t lo = 0;  // libdwfl addresses, [lo, hi)
        uint64_t hi = 0;
        Dwarf_Die* cu = nullptr;
        Dwarf_Addr bias = 0;
    };
    std::vector<Span> m_spans;  // sorted by lo
};

}  // namespace leakhunt::symbolize
