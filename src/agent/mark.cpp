// Conservative marking over the stopped process, as LeakSanitizer does it: every aligned word of a
// root or a reachable block that points into a live block (its start or any interior byte) makes
// that block reachable. Lookups go through a directory: the sorted blocks are cut into clusters
// where the gaps are small (the main heap, each thread arena, each big mmap'd block) and each
// cluster is divided into about as many granules as it has blocks, so a lookup is a cluster
// search among a few, one directory read and a short scan. Breadth-first order gives each block
// the shortest path from a root; the queue is the `order` array. Runs in the tracer: no malloc,
// no locks, no libc calls that could take one.
#include <algorithm>
#include <cstring>

#include "agent/scan_state.hpp"
#include "format/scan_format.hpp"

namespace leakhunt::agent {
namespace {

// Blocks further apart than this start a new cluster.
constexpr std::uint64_t k_cluster_gap = 1u << 20;
// Below the stack pointer: the x86-64 red zone, where leaf functions keep locals.
constexpr std::uint64_t k_red_zone = 128;
// A stack pointer inside a huge mapping (a coroutine stack in the heap, say): scan this much.
constexpr std::uint64_t k_max_stack_scan = 64u << 20;

struct ExecRanges {
    static constexpr std::size_t k_max = 4096;
    MapRange r[k_max];
    std::size_t n = 0;
};

bool is_exec(const ExecRanges& e, std::uint64_t a) {
    std::size_t lo = 0, hi = e.n;
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (e.r[mid].end <= a) lo = mid + 1;
        else hi = mid;
    }
    return lo < e.n && e.r[lo].start <= a;
}

// A return address: inside code, right after a call instruction (e8 rel32, or ff /2 with any
// addressing form of 2 to 7 bytes).
bool looks_like_return_address(const ExecRanges& e, std::uint64_t w) {
#if defined(__x86_64__)
    if (!is_exec(e, w) || !is_exec(e, w - 7)) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(w);
    if (p[-5] == 0xe8) return true;
    for (int k : {2, 3, 4, 6, 7}) {
        if (p[-k] == 0xff && ((p[-k + 1] >> 3) & 7) == 2) return true;
    }
    return false;
#else
    return is_exec(e, w);
#endif
}

// Not on the tracer's small stack; one scan runs at a time (the snapshot mutex).
ExecRanges g_exec;

struct Marker {
    ScanState& s;
    std::uint64_t lo, hi;  // every block lies in [lo, hi)

    std::uint32_t new_root(std::uint8_t kind, std::uint32_t owner, std::uint32_t tls_module,
                           std::uint64_t address, std::uint64_t pc) {
        if (s.nroots == s.cap_roots) return static_cast<std::uint32_t>(s.nroots - 1);
        s.roots[s.nroots] = ScanRoot{kind, owner, tls_module, address, pc, {0, 0, 0}};
        return static_cast<std::uint32_t>(s.nroots++);
    }

    // The block `w` points into, if it has not been reached yet.
    std::uint32_t unreached_target(std::uint64_t w) const {
        if (w < lo || w >= hi) return k_unreached;
        const std::uint32_t j = find_block(s, w);
        if (j == k_unreached || s.parent[j] != k_unreached) return k_unreached;
        return j;
    }

    void reach(std::uint32_t j, std::uint32_t parent, std::uint64_t off) {
        s.parent[j] = parent;
        s.offset[j] = off > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(off);
        s.order[s.norder++] = j;
    }

    // Words of a root range; root_for(slot) names the root of a discovery.
    template <typename RootFor>
    void scan_root(std::uint64_t a, std::uint64_t b, RootFor&& root_for) {
        for_each_readable(s, a, b, [&](std::uint64_t x, std::uint64_t y) {
            x = (x + 7) & ~std::uint64_t{7};
            s.root_bytes += y > x ? y - x : 0;
            for (std::uint64_t p = x; p + 8 <= y; p += 8) {
                std::uint64_t w;
                std::memcpy(&w, reinterpret_cast<const void*>(p), 8);
                const std::uint32_t j = unreached_target(w);
                if (j != k_unreached) reach(j, k_root_bit | root_for(p), 0);
            }
        });
    }

    void scan_block(std::uint32_t i) {
        const ScanBlock& b = s.blocks[i];
        auto words = [&](std::uint64_t x, std::uint64_t y) {
            x = (x + 7) & ~std::uint64_t{7};
            for (std::uint64_t p = x; p + 8 <= y; p += 8) {
                std::uint64_t w;
                std::memcpy(&w, reinterpret_cast<const void*>(p), 8);
                const std::uint32_t j = unreached_target(w);
                if (j != k_unreached) reach(j, i, p - b.ptr);
            }
        };
        // Big blocks are mmap'd chunks: make sure they are still mapped before reading them.
        if (b.size >= (64u << 10)) for_each_readable(s, b.ptr, b.ptr + b.size, words);
        else words(b.ptr, b.ptr + b.size);
    }
};

}  // namespace

bool build_block_index(ScanState& s) {
    std::sort(s.blocks, s.blocks + s.nblocks,
              [](const ScanBlock& a, const ScanBlock& b) { return a.ptr < b.ptr; });
    s.nclusters = 0;
    std::size_t dir_used = 0;
    std::size_t i = 0;
    while (i < s.nblocks) {
        if (s.nclusters == s.cap_clusters) return false;
        ScanCluster& c = s.clusters[s.nclusters++];
        c.first = static_cast<std::uint32_t>(i);
        c.start = s.blocks[i].ptr;
        c.end = s.blocks[i].ptr + (s.blocks[i].size == 0 ? 1 : s.blocks[i].size);
        ++i;
        while (i < s.nblocks && s.blocks[i].ptr < c.end + k_cluster_gap) {
            const std::uint64_t e = s.blocks[i].ptr + (s.blocks[i].size == 0 ? 1 : s.blocks[i].size);
            if (e > c.end) c.end = e;
            ++i;
        }
        c.last = static_cast<std::uint32_t>(i);
        const std::uint64_t n = c.last - c.first;
        const std::uint64_t span = c.end - c.start;
        std::uint32_t shift = 4;
        while ((span >> shift) > 2 * n) ++shift;
        const std::size_t granules = static_cast<std::size_t>(span >> shift) + 1;
        if (dir_used + granules + 1 > s.cap_dir) return false;
        c.dir = static_cast<std::uint32_t>(dir_used);
        std::uint32_t j = c.first;
        for (std::size_t g = 0; g <= granules; ++g) {
            const std::uint64_t at = c.start + (static_cast<std::uint64_t>(g) << shift);
            while (j < c.last && s.blocks[j].ptr < at) ++j;
            s.dir[dir_used + g] = j;
        }
        c.shift = shift;
        dir_used += granules + 1;
    }
    return true;
}

std::uint32_t find_block(const ScanState& s, std::uint64_t w) {
    // The last cluster starting at or below w.
    std::size_t lo = 0, hi = s.nclusters;
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (s.clusters[mid].start <= w) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return k_unreached;
    const ScanCluster& c = s.clusters[lo - 1];
    if (w >= c.end) return k_unreached;
    const std::uint64_t g = (w - c.start) >> c.shift;
    // Blocks starting in granules up to g end before dir[g + 1]; the last one at or below w.
    std::uint32_t j = s.dir[c.dir + g + 1];
    while (j > c.first && s.blocks[j - 1].ptr > w) --j;
    if (j == c.first) return k_unreached;
    const ScanBlock& b = s.blocks[j - 1];
    if (w < b.ptr + b.size || w == b.ptr) return j - 1;
    return k_unreached;
}

void mark_all(ScanState& s) {
    for (std::size_t i = 0; i < s.nblocks; ++i) s.parent[i] = k_unreached;
    s.norder = 0;
    s.nroots = 0;
    s.root_bytes = 0;
    if (s.nclusters == 0) return;
    Marker m{s, s.clusters[0].start, s.clusters[s.nclusters - 1].end};
    using format::RootKind;

    // Executable ranges, to tell return addresses on the stacks.
    ExecRanges& exec = g_exec;
    exec.n = 0;
    for (std::uint32_t k = 0; k < s.nmodules; ++k) {
        const ScanModule& mod = s.modules[k];
        for (std::uint32_t g = 0; g < mod.nseg && exec.n < ExecRanges::k_max; ++g) {
            if ((mod.seg[g].flags & format::k_seg_exec) != 0) {
                exec.r[exec.n++] = MapRange{mod.seg[g].start, mod.seg[g].end};
            }
        }
    }
    std::sort(exec.r, exec.r + exec.n,
              [](const MapRange& a, const MapRange& b) { return a.start < b.start; });

    // 1. Globals: the writable segments of every module but the agent.
    for (std::uint32_t k = 0; k < s.nmodules; ++k) {
        const ScanModule& mod = s.modules[k];
        if (mod.own) continue;
        for (std::uint32_t g = 0; g < mod.nseg; ++g) {
            if ((mod.seg[g].flags & format::k_seg_write) == 0) continue;
            m.scan_root(mod.seg[g].start, mod.seg[g].end, [&](std::uint64_t slot) {
                return m.new_root(static_cast<std::uint8_t>(RootKind::global), k, 0, slot, 0);
            });
        }
    }
    // 2. TLS: each thread's static TLS blocks, then its thread control block (which holds the
    // pthread_setspecific values and the pointer to the dynamic TLS vector).
    for (std::size_t t = 0; t < s.nthreads; ++t) {
        const ScanThread& th = s.threads[t];
        if (th.fs == 0) continue;
        const auto ti = static_cast<std::uint32_t>(t);
        for (std::uint32_t k = 0; k < s.nmodules; ++k) {
            const ScanModule& mod = s.modules[k];
            if (mod.own || mod.tls_offset == 0) continue;
            const std::uint64_t base = th.fs - mod.tls_offset;
            m.scan_root(base, base + mod.tls_size, [&](std::uint64_t slot) {
                return m.new_root(static_cast<std::uint8_t>(RootKind::tls), ti, k + 1, slot - base, 0);
            });
        }
        m.scan_root(th.fs, th.fs + s.tls_tcb_bytes, [&](std::uint64_t slot) {
            return m.new_root(static_cast<std::uint8_t>(RootKind::tls), ti, 0, slot - th.fs, 0);
        });
    }
    // 3. Stacks, from the stack pointer (minus the red zone) to the end of its mapping, scanned
    // from the outermost frame down: a pointer that a function keeps and its callees copy (a
    // callee-saved register spilled, an argument) is credited to the function that owns it. A
    // slot belongs to the function of the nearest return address below it (the call that
    // function is making); below the first one, to the thread's own PC.
    for (std::size_t t = 0; t < s.nthreads; ++t) {
        const ScanThread& th = s.threads[t];
        if (th.sp == 0) continue;
        const std::uint64_t sp = th.sp & ~std::uint64_t{7};
        std::uint64_t lo_end = 0, hi_end = 0;
        for (std::size_t r = 0; r < s.nmaps; ++r) {
            if (s.maps[r].start <= sp && sp < s.maps[r].end) {
                lo_end = s.maps[r].start;
                hi_end = s.maps[r].end;
                break;
            }
        }
        if (hi_end == 0) continue;
        // A thread made by pthread_create keeps its TLS and control block at the top of its
        // stack mapping, and the kernel may merge that mapping with an anonymous neighbour
        // above: the stack proper ends below the thread pointer.
        if (th.fs > sp && th.fs < hi_end) hi_end = th.fs;
        // A stopped thread may keep data in the red zone below its SP; the caller's SP is the
        // frame where the program called into the agent, and below it is only the agent's.
        const std::uint64_t red = th.caller ? 0 : k_red_zone;
        const std::uint64_t a = sp - lo_end >= red ? sp - red : lo_end;
        const std::uint64_t b = hi_end - sp > k_max_stack_scan ? sp + k_max_stack_scan : hi_end;
        s.root_bytes += b - a;
        std::size_t nra = 0;
        for (std::uint64_t p = sp; p + 8 <= b && nra < s.cap_ra; p += 8) {
            std::uint64_t w;
            std::memcpy(&w, reinterpret_cast<const void*>(p), 8);
            if (looks_like_return_address(exec, w)) {
                s.ra_slot[nra] = p;
                s.ra_pc[nra] = w - 1;
                ++nra;
            }
        }
        std::uint32_t root = k_unreached;
        std::uint64_t root_pc = 0;
        std::size_t k = nra;  // ra_slot[k - 1] is the nearest return address below p
        for (std::uint64_t p = ((b - a) / 8 - 1) * 8 + a; p >= a && p + 8 <= b; p -= 8) {
            while (k > 0 && s.ra_slot[k - 1] >= p) --k;
            const std::uint64_t pc = k > 0 ? s.ra_pc[k - 1] : th.pc;
            std::uint64_t w;
            std::memcpy(&w, reinterpret_cast<const void*>(p), 8);
            const std::uint32_t j = m.unreached_target(w);
            if (j != k_unreached) {
                if (root == k_unreached || root_pc != pc) {
                    root = m.new_root(static_cast<std::uint8_t>(RootKind::stack),
                                      static_cast<std::uint32_t>(t), 0, p, pc);
                    root_pc = pc;
                    for (std::size_t c = 0; c < 3 && k + c < nra; ++c) {
                        s.roots[root].callers[c] = s.ra_pc[k + c];
                    }
                }
                m.reach(j, k_root_bit | root, s.roots[root].address - p);
            }
            if (p < a + 8) break;
        }
    }
    // 4. Registers, last: a callee-saved register usually holds a copy of what a frame owns.
    for (std::size_t t = 0; t < s.nthreads; ++t) {
        const ScanThread& th = s.threads[t];
        if (!th.have_regs) continue;
        std::uint32_t root = k_unreached;
        for (std::uint32_t r = 0; r < th.nregs; ++r) {
            const std::uint32_t j = m.unreached_target(th.regs[r]);
            if (j == k_unreached) continue;
            if (root == k_unreached) {
                root = m.new_root(static_cast<std::uint8_t>(RootKind::registers),
                                  static_cast<std::uint32_t>(t), 0, 0, th.pc);
            }
            m.reach(j, k_root_bit | root, r * 8u);
        }
    }
    // 5. The heap, breadth-first.
    for (std::size_t q = 0; q < s.norder; ++q) m.scan_block(s.order[q]);
    std::uint64_t reachable = 0;
    for (std::size_t q = 0; q < s.norder; ++q) reachable += s.blocks[s.order[q]].size;
    s.reachable_bytes = reachable;
}

void classify_unreachable(ScanState& s) {
    for (std::size_t i = 0; i < s.nblocks; ++i) {
        if (s.parent[i] == k_unreached) s.offset[i] = 0;
    }
    for (std::size_t i = 0; i < s.nblocks; ++i) {
        if (s.parent[i] != k_unreached) continue;
        const ScanBlock& b = s.blocks[i];
        auto words = [&](std::uint64_t x, std::uint64_t y) {
            x = (x + 7) & ~std::uint64_t{7};
            for (std::uint64_t p = x; p + 8 <= y; p += 8) {
                std::uint64_t w;
                std::memcpy(&w, reinterpret_cast<const void*>(p), 8);
                const std::uint32_t j = find_block(s, w);
                // Pointers to self do not count (LeakSanitizer's rule).
                if (j != k_unreached && j != i && s.parent[j] == k_unreached) s.offset[j] = 1;
            }
        };
        if (b.size >= (64u << 10)) for_each_readable(s, b.ptr, b.ptr + b.size, words);
        else words(b.ptr, b.ptr + b.size);
    }
}

}  // namespace leakhunt::agent
