// Conservative marking over the stopped process, as LeakSanitizer does it: every aligned word of a
// root or a reachable block that points into a live block (its start or any interior byte) makes
// that block reachable. Lookups go through a directory: the sorted blocks are cut into clusters
// where the gaps are small (the main heap, each thread arena, each big mmap'd block) and each
// cluster is divided into about as many granules as it has blocks, so a lookup is a cluster
// search among a few, one directory read and a short scan. Each block gets the shortest path
// from a root counted in shapes (a chain of one site's blocks is one hop, as `paths` shows it):
// a stale word in an unrelated buffer then does not take a list's nodes from the global that
// heads the list. `order` holds the reachable blocks, each after its parent. Runs in the tracer:
// no malloc, no locks, no libc calls that could take one.
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "agent/glibc_arena.hpp"
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
        if (e.r[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
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

// [a, b) without the ranges of a sorted array of disjoint ones (ranges[i].start/.end via
// start_of/end_of): visit(x, y) for each piece left.
template <typename T, typename Start, typename End, typename Visit>
void without(const T* ranges, std::size_t n, Start start_of, End end_of, std::uint64_t a,
             std::uint64_t b, Visit&& visit) {
    std::size_t lo = 0, hi = n;  // the first range ending above a
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (end_of(ranges[mid]) <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    std::uint64_t x = a;
    for (std::size_t i = lo; i < n && x < b; ++i) {
        const std::uint64_t rs = start_of(ranges[i]), re = end_of(ranges[i]);
        if (rs >= b) break;
        if (rs > x) visit(x, rs);
        if (re > x) x = re;
    }
    if (x < b) visit(x, b);
}

struct Marker {
    ScanState& s;
    std::uint64_t lo, hi;              // every block lies in [lo, hi)
    std::size_t head = 0, queued = 0;  // the double-ended queue in s.queue

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

    void push(std::uint32_t j, bool front) {
        if (queued == s.cap_queue) return;  // cannot happen: a block is queued at most twice
        if (front) {
            head = head == 0 ? s.cap_queue - 1 : head - 1;
            s.queue[head] = j;
        } else {
            s.queue[(head + queued) % s.cap_queue] = j;
        }
        ++queued;
    }

    // Block j reached from a root: one hop.
    void reach(std::uint32_t j, std::uint32_t parent, std::uint64_t off) {
        s.parent[j] = parent;
        s.offset[j] = off > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(off);
        s.dist[j] = 1;
        push(j, false);
    }

    // Words of a root range; root_for(slot) names the root of a discovery, at_offset(slot) the
    // offset recorded for it.
    template <typename RootFor, typename Offset>
    void scan_root(std::uint64_t a, std::uint64_t b, RootFor&& root_for, Offset&& at_offset) {
        for_each_readable(s, a, b, [&](std::uint64_t x, std::uint64_t y) {
            x = (x + 7) & ~std::uint64_t{7};
            s.root_bytes += y > x ? y - x : 0;
            for (std::uint64_t p = x; p + 8 <= y; p += 8) {
                const std::uint32_t j = unreached_target(word_at(p));
                if (j != k_unreached) reach(j, k_root_bit | root_for(p), at_offset(p));
            }
        });
    }
    template <typename RootFor>
    void scan_root(std::uint64_t a, std::uint64_t b, RootFor&& root_for) {
        scan_root(a, b, root_for, [](std::uint64_t) { return std::uint64_t{0}; });
    }

    // Shortest paths, where a hop to a block of the same site as its parent (a list's next node)
    // costs nothing: 0-1 breadth-first search, the cheaper hops at the queue's front.
    void scan_block(std::uint32_t i) {
        const ScanBlock& b = s.blocks[i];
        const std::uint32_t d = s.dist[i] & ~k_dist_done;
        auto words = [&](std::uint64_t x, std::uint64_t y) {
            x = (x + 7) & ~std::uint64_t{7};
            for (std::uint64_t p = x; p + 8 <= y; p += 8) {
                const std::uint64_t w = word_at(p);
                if (w < lo || w >= hi) continue;
                const std::uint32_t j = find_block(s, w);
                if (j == k_unreached || (s.dist[j] & k_dist_done) != 0) continue;
                const bool same = s.blocks[j].stack == b.stack;
                const std::uint32_t nd = d + (same ? 0 : 1);
                if (nd >= s.dist[j]) continue;
                s.parent[j] = i;
                const std::uint64_t off = p - b.ptr;
                s.offset[j] = off > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(off);
                s.dist[j] = nd;
                push(j, same);
            }
        };
        // Big blocks are mmap'd chunks: make sure they are still mapped before reading them.
        if (b.size >= (64u << 10))
            for_each_readable(s, b.ptr, b.ptr + b.size, words);
        else
            words(b.ptr, b.ptr + b.size);
    }

    void drain() {
        while (queued > 0) {
            const std::uint32_t i = s.queue[head];
            head = head + 1 == s.cap_queue ? 0 : head + 1;
            --queued;
            if ((s.dist[i] & k_dist_done) != 0) continue;  // reached again more cheaply before
            s.dist[i] |= k_dist_done;
            s.order[s.norder++] = i;
            scan_block(i);
        }
    }
};

// The pages of [a, b) that were ever written (present or swapped out, from /proc/self/pagemap,
// pagemap.rst): a page never touched reads as zeros and holds no pointer, and reading it would
// fault it in (a thread's 8 MiB stack, a runtime's reservation). Without pagemap: all of [a, b).
template <typename Visit>
void for_each_touched(const ScanState& s, std::uint64_t a, std::uint64_t b, Visit&& visit) {
    constexpr std::uint64_t k_page = 4096;
    constexpr std::uint64_t k_present = 1ull << 63, k_swapped = 1ull << 62;
    if (s.pagemap_fd < 0) {
        visit(a, b);
        return;
    }
    std::uint64_t entries[512];
    std::uint64_t run = 0;  // start of the current run of touched pages; 0 = none
    for (std::uint64_t page = a & ~(k_page - 1); page < b;) {
        const std::uint64_t want = (b - page + k_page - 1) / k_page;
        const std::size_t n = static_cast<std::size_t>(want < 512 ? want : 512);
        const ssize_t got =
            ::pread(s.pagemap_fd, entries, n * 8, static_cast<off_t>(page / k_page * 8));
        if (got != static_cast<ssize_t>(n * 8)) {  // unreadable: take the rest as touched
            visit(run != 0 ? run : (page > a ? page : a), b);
            return;
        }
        for (std::size_t i = 0; i < n; ++i, page += k_page) {
            const bool touched = (entries[i] & (k_present | k_swapped)) != 0;
            if (touched && run == 0) run = page > a ? page : a;
            if (!touched && run != 0) {
                visit(run, page);
                run = 0;
            }
        }
    }
    if (run != 0) visit(run, b);
}

// The program's own writable anonymous mappings, as roots (valgrind's memcheck treats all
// addressable memory so): a managed runtime's heap (V8, the JVM, pymalloc's arenas) or any arena
// the program mapped keeps what it points to. Not roots: the allocator's memory (the brk heap is
// [heap], not listed; other arenas' heaps; the blocks themselves, big ones being mmap'd chunks),
// the agent's own mappings, and thread stacks (a live thread's is scanned from its stack pointer;
// a finished thread's descriptor lies at the top of its stack, 64-byte aligned, pointing to
// itself twice: tcb and self, and what lies below it is dead frames, in glibc's stack cache).
void scan_mappings(Marker& m) {
    ScanState& s = m.s;
    using format::RootKind;
    const auto own_start = [](const MapRange& x) { return x.start; };
    const auto own_end = [](const MapRange& x) { return x.end; };
    for (std::size_t r = 0; r < s.nmaps; ++r) {
        if (s.maps[r].kind != k_map_anonymous) continue;
        const std::uint64_t start = s.maps[r].start;
        std::uint64_t a = start, b = s.maps[r].end;
        bool stack = false;
        for (std::size_t t = 0; t < s.nthreads && !stack; ++t) {
            stack = s.threads[t].sp >= a && s.threads[t].sp < b;
        }
        if (stack) continue;
        // A module's .bss past its file's last page is an anonymous mapping: it was scanned as
        // the module's globals (without malloc's state), and is no mapping root.
        for (std::uint32_t k = 0; k < s.nmodules; ++k) {
            const ScanModule& mod = s.modules[k];
            for (std::uint32_t g = 0; g < mod.nseg; ++g) {
                const std::uint64_t lo = mod.seg[g].start & ~std::uint64_t{4095};
                const std::uint64_t hi = (mod.seg[g].end + 4095) & ~std::uint64_t{4095};
                if (lo <= a && hi > a) a = hi;
                if (lo < b && hi >= b) b = lo;
            }
        }
        if (a >= b) continue;
        for (std::uint64_t h = (a + k_heap_max - 1) & ~(k_heap_max - 1); h < b; h += k_heap_max) {
            if (is_arena_heap(s, h)) {
                b = h;
                break;
            }
        }
        // The program's parts: not the agent's, and pages that were written.
        auto program_pages = [&](std::uint64_t x, std::uint64_t y, auto&& visit) {
            without(s.own_maps, s.nown_maps, own_start, own_end, x, y,
                    [&](std::uint64_t u, std::uint64_t v) { for_each_touched(s, u, v, visit); });
        };
        program_pages(a, b, [&](std::uint64_t x, std::uint64_t y) {
            for (std::uint64_t t = (x + 63) & ~std::uint64_t{63}; t + 24 <= y; t += 64) {
                if (word_at(t) == t && word_at(t + 16) == t) a = t + s.tls_tcb_bytes;
            }
        });
        if (a >= b) continue;
        std::uint32_t root = k_unreached;
        const std::uint64_t bytes_before = s.root_bytes;
        program_pages(a, b, [&](std::uint64_t x, std::uint64_t y) {
            without(
                s.blocks, s.nblocks, [](const ScanBlock& k) { return k.ptr; },
                [](const ScanBlock& k) { return k.ptr + k.size; }, x, y,
                [&](std::uint64_t u, std::uint64_t v) {
                    m.scan_root(
                        u, v,
                        [&](std::uint64_t) {
                            if (root == k_unreached) {
                                root = m.new_root(static_cast<std::uint8_t>(RootKind::mapping), 0,
                                                  0, start, s.maps[r].end);
                            }
                            return root;
                        },
                        [&](std::uint64_t slot) { return slot - start; });
                });
        });
        if (s.root_bytes > bytes_before) {
            ++s.mapping_roots;
            s.mapping_root_bytes += s.root_bytes - bytes_before;
        }
    }
}

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
            const std::uint64_t e =
                s.blocks[i].ptr + (s.blocks[i].size == 0 ? 1 : s.blocks[i].size);
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
        if (s.clusters[mid].start <= w)
            lo = mid + 1;
        else
            hi = mid;
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
    for (std::size_t i = 0; i < s.nblocks; ++i) {
        s.parent[i] = k_unreached;
        s.dist[i] = k_dist_done - 1;
    }
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

    // 1. Globals: the writable segments of every module but the agent, without malloc's state.
    const std::uint64_t arena = find_main_arena(s, s.malloc_module);
    const MapRange not_roots[1] = {{arena, arena + k_arena_size, 0}};
    for (std::uint32_t k = 0; k < s.nmodules; ++k) {
        const ScanModule& mod = s.modules[k];
        if (mod.own) continue;
        for (std::uint32_t g = 0; g < mod.nseg; ++g) {
            if ((mod.seg[g].flags & format::k_seg_write) == 0) continue;
            without(
                not_roots, arena != 0 ? 1 : 0, [](const MapRange& x) { return x.start; },
                [](const MapRange& x) { return x.end; }, mod.seg[g].start, mod.seg[g].end,
                [&](std::uint64_t x, std::uint64_t y) {
                    m.scan_root(x, y, [&](std::uint64_t slot) {
                        return m.new_root(static_cast<std::uint8_t>(RootKind::global), k, 0, slot,
                                          0);
                    });
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
                return m.new_root(static_cast<std::uint8_t>(RootKind::tls), ti, k + 1, slot - base,
                                  0);
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
    // 5. The program's own anonymous mappings.
    s.mapping_roots = 0;
    s.mapping_root_bytes = 0;
    scan_mappings(m);
    // 6. Blocks the dynamic loader allocated: its own state, a root whatever points to it.
    s.loader_blocks = 0;
    std::uint32_t loader_root = k_unreached;
    for (std::uint32_t j = 0; j < s.nblocks; ++j) {
        if ((s.blocks[j].flags & k_block_loader) == 0) continue;
        ++s.loader_blocks;
        if (s.parent[j] != k_unreached) continue;
        if (loader_root == k_unreached) {
            loader_root = m.new_root(static_cast<std::uint8_t>(RootKind::loader), 0, 0, 0, 0);
        }
        m.reach(j, k_root_bit | loader_root, 0);
    }
    // 7. The heap.
    m.drain();
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
        if (b.size >= (64u << 10))
            for_each_readable(s, b.ptr, b.ptr + b.size, words);
        else
            words(b.ptr, b.ptr + b.size);
    }
}

}  // namespace leakhunt::agent
