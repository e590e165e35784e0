// CuIndex: one recursive walk of the CU's DIE tree paints each scope's address ranges onto an
// interval map (std::map from segment start to owning function scope), parents before children
// so that the deeper scope owns an address. Siblings are walked last to first so that an earlier
// sibling's whole subtree overwrites a later one where they overlap: dwarf_getscopes enters the
// first sibling containing the pc and never looks at the others. Lexical blocks and other
// non-function scopes paint their enclosing function, which keeps their children confined to
// them. The map is flattened into two sorted arrays at the end.
#include "symbolize/cu_index.hpp"

#include <dwarf.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <utility>

namespace leakhunt::symbolize {
namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;  // sorted, disjoint [lo, hi)

// Deeper than any real DIE tree; stops a malformed file from exhausting the stack.
constexpr int k_max_depth = 512;
// Imported units nest rarely; the bound stops an import cycle.
constexpr int k_max_import_depth = 8;

bool is_function_tag(int tag) {
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_entry_point;
}

// The tags libdw's scope walk (libdw_visit_scopes.c, may_have_scopes) descends into.
bool may_have_scopes(int tag) {
    switch (tag) {
        case DW_TAG_compile_unit:
        case DW_TAG_module:
        case DW_TAG_lexical_block:
        case DW_TAG_with_stmt:
        case DW_TAG_catch_block:
        case DW_TAG_try_block:
        case DW_TAG_entry_point:
        case DW_TAG_inlined_subroutine:
        case DW_TAG_subprogram:
        case DW_TAG_namespace:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
            return true;
        default:
            return false;
    }
}

// The DIE's address ranges (low/high_pc or DW_AT_ranges), sorted and merged; empty when it has
// none, which is also how dwarf_haspc treats a DIE whose ranges cannot be read.
Ranges ranges_of(Dwarf_Die* die) {
    Ranges out;
    Dwarf_Addr base = 0;
    Dwarf_Addr start = 0;
    Dwarf_Addr end = 0;
    ptrdiff_t offset = 0;
    while ((offset = dwarf_ranges(die, offset, &base, &start, &end)) > 0) {
        if (start < end) out.emplace_back(start, end);
    }
    if (out.size() > 1) {
        std::sort(out.begin(), out.end());
        Ranges merged;
        for (const auto& r : out) {
            if (!merged.empty() && r.first <= merged.back().second) {
                merged.back().second = std::max(merged.back().second, r.second);
            } else {
                merged.push_back(r);
            }
        }
        out = std::move(merged);
    }
    return out;
}

Ranges intersect(const Ranges& a, const Ranges& b) {
    Ranges out;
    size_t i = 0;
    size_t j = 0;
    while (i < a.size() && j < b.size()) {
        const uint64_t lo = std::max(a[i].first, b[j].first);
        const uint64_t hi = std::min(a[i].second, b[j].second);
        if (lo < hi) out.emplace_back(lo, hi);
        if (a[i].second < b[j].second) {
            ++i;
        } else {
            ++j;
        }
    }
    return out;
}

// The children of `parent` in order, with the children of a DW_TAG_imported_unit spliced in
// where it stands (as libdw's scope walk treats them).
void collect_children(Dwarf_Die* parent, std::vector<Dwarf_Die>& out, int import_depth) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    do {
        if (dwarf_tag(&child) == DW_TAG_imported_unit) {
            Dwarf_Attribute attr;
            Dwarf_Die unit;
            if (import_depth < k_max_import_depth &&
                dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attr), &unit) != nullptr) {
                collect_children(&unit, out, import_depth + 1);
            }
            continue;
        }
        out.push_back(child);
    } while (dwarf_siblingof(&child, &child) == 0);
}

class Builder {
  public:
    explicit Builder(std::vector<CuIndex::Scope>& scopes) : m_scopes(scopes) {}

    void walk(Dwarf_Die* parent, const Ranges& region, int32_t function, int depth) {
        if (depth > k_max_depth) return;
        std::vector<Dwarf_Die> children;
        collect_children(parent, children, 0);
        for (auto it = children.rbegin(); it != children.rend(); ++it) {
            Dwarf_Die& child = *it;
            const Ranges own = ranges_of(&child);
            if (own.empty()) continue;
            const Ranges here = intersect(own, region);
            if (here.empty()) continue;
            const int tag = dwarf_tag(&child);
            int32_t owner = function;
            if (is_function_tag(tag)) {
                owner = static_cast<int32_t>(m_scopes.size());
                m_scopes.push_back({child, function});
            }
            for (const auto& [lo, hi] : here) paint(lo, hi, owner);
            if (may_have_scopes(tag) && dwarf_haschildren(&child) > 0) {
                walk(&child, here, owner, depth + 1);
            }
        }
    }

    void flatten(std::vector<uint64_t>& starts, std::vector<int32_t>& owners) const {
        for (const auto& [start, owner] : m_map) {
            if (!owners.empty() && owners.back() == owner) continue;
            starts.push_back(start);
            owners.push_back(owner);
        }
    }

  private:
    // Makes [lo, hi) belong to `owner`, keeping what follows hi as it was.
    void paint(uint64_t lo, uint64_t hi, int32_t owner) {
        const int32_t at_hi = std::prev(m_map.upper_bound(hi))->second;
        m_map.erase(m_map.lower_bound(lo), m_map.upper_bound(hi));
        m_map.emplace(lo, owner);
        m_map.emplace(hi, at_hi);
    }

    std::vector<CuIndex::Scope>& m_scopes;
    std::map<uint64_t, int32_t> m_map{{0, -1}};  // segment start -> owner; key 0 always present
};

}  // namespace

CuIndex::CuIndex(Dwarf_Die* cudie) {
    Builder builder(m_scopes);
    // dwarf_getscopes matches the CU's children against the pc, never the CU itself.
    const Ranges everything{{0, UINT64_MAX}};
    builder.walk(cudie, everything, -1, 0);
    builder.flatten(m_starts, m_owners);
}

int32_t CuIndex::innermost(uint64_t pc) const {
    const auto it = std::upper_bound(m_starts.begin(), m_starts.end(), pc);
    if (it == m_starts.begin()) return -1;
    return m_owners[static_cast<size_t>(std::distance(m_starts.begin(), it) - 1)];
}

CuRanges::CuRanges(Dwfl_Module* module) {
    Dwarf_Addr bias = 0;
    for (Dwarf_Die* cu = dwfl_module_nextcu(module, nullptr, &bias); cu != nullptr;
         cu = dwfl_module_nextcu(module, cu, &bias)) {
        for (const auto& [lo, hi] : ranges_of(cu))
            m_spans.push_back({lo + bias, hi + bias, cu, bias});
    }
    std::sort(m_spans.begin(), m_spans.end(),
              [](const Span& a, const Span& b) { return a.lo < b.lo; });
}

Dwarf_Die* CuRanges::find(Dwarf_Addr addr, Dwarf_Addr* bias) const {
    auto it = std::upper_bound(m_spans.begin(), m_spans.end(), addr,
                               [](Dwarf_Addr a, const Span& s) { return a < s.lo; });
    // The CUs' spans do not overlap (each byte of code belongs to one CU), so the nearest start
    // at or below addr is the only candidate.
    if (it == m_spans.begin()) return nullptr;
    --it;
    if (addr < it->hi) {
        *bias = it->bias;
        return it->cu;
    }
    return nullptr;
}

}  // namespace leakhunt::symbolize
