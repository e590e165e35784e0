// glibc's arenas, recognised by their shape in the stopped process; see glibc_arena.hpp.
#include "agent/glibc_arena.hpp"

#include "format/scan_format.hpp"

namespace leakhunt::agent {
namespace {

// The main arena is found by its shape, glibc 2.26 and later on 64-bit: `next` at +0x870 leads
// back to it through the other arenas, and each of its 127 bins is empty (both links point 16
// bytes below themselves) or linked.
constexpr std::uint64_t k_arena_top = 0x60;
constexpr std::uint64_t k_arena_bins = 0x70;
constexpr std::uint64_t k_arena_nbins = 127;
constexpr std::uint64_t k_arena_next = 0x870;

bool looks_like_main_arena(const ScanState& s, std::uint64_t m) {
    std::uint64_t v = word_at(m + k_arena_next);
    for (int hop = 0; v != m; ++hop) {
        if (hop == 64 || v == 0 || (v & 7) != 0 || !readable(s, v + k_arena_next, 8)) return false;
        v = word_at(v + k_arena_next);
    }
    if (word_at(m + k_arena_top) == 0) return false;
    std::uint64_t empty = 0;
    for (std::uint64_t k = 0; k < k_arena_nbins; ++k) {
        const std::uint64_t at = m + k_arena_bins + 16 * k;
        const std::uint64_t fd = word_at(at), bk = word_at(at + 8);
        if (fd == at - 16 && bk == at - 16)
            ++empty;
        else if (fd == 0 || bk == 0)
            return false;
    }
    return empty > 0;
}

}  // namespace

std::uint64_t find_main_arena(const ScanState& s, std::uint32_t k) {
    if (k >= s.nmodules) return 0;
    const ScanModule& mod = s.modules[k];
    for (std::uint32_t g = 0; g < mod.nseg; ++g) {
        if ((mod.seg[g].flags & format::k_seg_write) == 0) continue;
        std::uint64_t found = 0;
        for_each_readable(s, mod.seg[g].start, mod.seg[g].end,
                          [&](std::uint64_t x, std::uint64_t y) {
                              for (std::uint64_t m = (x + 7) & ~std::uint64_t{7};
                                   found == 0 && m + k_arena_size <= y; m += 8) {
                                  if (looks_like_main_arena(s, m)) found = m;
                              }
                          });
        if (found != 0) return found;
    }
    return 0;
}

// glibc's heaps of the other arenas are aligned to HEAP_MAX_SIZE (64 MiB on 64-bit) and start
// with a heap_info: ar_ptr (the arena, right after it in an arena's first heap), prev (the
// arena's previous heap, 0 in the first).
bool is_arena_heap(const ScanState& s, std::uint64_t h) {
    if (!readable(s, h, 16)) return false;
    const std::uint64_t ar = word_at(h), prev = word_at(h + 8);
    if ((ar & 15) != 0) return false;
    if (prev == 0) return ar > h && ar <= h + 128;
    const std::uint64_t first = ar & ~(k_heap_max - 1);
    return (prev & (k_heap_max - 1)) == 0 && first != h && readable(s, first, 16) &&
           word_at(first) == ar && word_at(first + 8) == 0;
}

}  // namespace leakhunt::agent
