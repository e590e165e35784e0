// The heap scan's working state, shared by the writer thread that prepares and reports it and the
// tracer task (a CLONE_VM child, stop_world.cpp) that stops the other threads and marks: the module
// map taken before the stop, the live blocks copied out of the LiveTable and sorted, the parent of
// each reachable block (its first discoverer in breadth-first order, so paths are shortest), the
// roots, the threads and the readable ranges of the address space. Everything lives in mmap'd
// memory (no malloc: the tracer runs while other threads may hold the allocator's locks).
// Owned by one scan at a time (the snapshot mutex); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace leakhunt::agent {

struct ScanSegment {
    std::uint64_t start, end, flags;  // flags: format::k_seg_*
};

struct ScanModule {
    static constexpr std::size_t k_max_segments = 16;
    std::uint64_t bias;
    char path[512];
    char build_id[130];
    bool own;     // the agent itself: its data is no root
    bool loader;  // the dynamic loader (ld.so): blocks it allocated are roots
    std::uint32_t nseg;
    ScanSegment seg[k_max_segments];
    std::uint64_t tls_offset;  // thread pointer - this module's static TLS block; 0 = none
    std::uint64_t tls_size;
};

struct ScanThread {
    int tid;
    char name[20];
    bool attached;
    bool have_regs;
    bool caller;  // the thread that asked for the scan (not stopped; its SP was taken by itself)
    std::uint64_t sp, pc, fs;
    std::uint64_t regs[32];
    std::uint32_t nregs;
};

struct ScanRoot {
    std::uint8_t kind;         // format::RootKind
    std::uint32_t owner;       // module index (global) or thread index (others), 0-based
    std::uint32_t tls_module;  // TLS roots: module index + 1; 0 = the thread control block
    std::uint64_t address;     // the slot (TLS: offset inside the module's block)
    std::uint64_t pc;          // stack roots: an address inside the frame's function
    std::uint64_t callers[3];  // stack roots: the return addresses above it (its callers), 0 = none
};

struct ScanBlock {
    std::uint64_t ptr;
    std::uint64_t size;
    std::uint32_t stack;
    std::uint32_t flags;  // k_block_*
};

// Allocated by the dynamic loader (its immediate caller lies in ld.so's code): the loader's own
// state (a thread's DTV, the global scope of dlopen(RTLD_GLOBAL)) is a root, as LeakSanitizer
// treats it.
inline constexpr std::uint32_t k_block_loader = 1;

// A run of blocks whose gaps are small, with a directory of granules over it.
struct ScanCluster {
    std::uint64_t start, end;   // [first block's start, last block's end)
    std::uint32_t first, last;  // block indices [first, last)
    std::uint32_t shift;        // granule = 1 << shift bytes
    std::uint32_t dir;          // index of this cluster's first directory entry
};

struct MapRange {
    std::uint64_t start, end;
    std::uint32_t kind = 0;  // k_map_*
};

// A readable mapping of /proc/PID/maps that may hold roots: private, writable and anonymous
// (no file, or named with prctl PR_SET_VMA_ANON_NAME), not [heap] nor [stack].
inline constexpr std::uint32_t k_map_anonymous = 1;

// Where glibc keeps its threads' descriptors (struct pthread), from the offsets libc publishes
// for libthread_db (_thread_db_* symbols): the lists of threads in use, with glibc's stacks and
// with the program's own. A thread that finished but was not joined stays on them, its
// descriptor (start argument, return value) still the program's.
struct ThreadLists {
    std::uint64_t heads[2];     // &_rtld_global._dl_stack_used, ._dl_stack_user; 0 = unknown
    std::uint32_t list_offset;  // of struct pthread's `list` (list_t: next, prev)
    std::uint32_t tid_offset;   // of struct pthread's `tid`
};

inline constexpr std::uint32_t k_unreached = 0xffffffffu;
inline constexpr std::uint32_t k_root_bit = 0x80000000u;
inline constexpr std::uint32_t k_dist_done = 0x80000000u;

struct ScanState {
    // ---- inputs, set by the writer thread before the stop ----
    int pid;
    int caller_tid;
    std::uint64_t caller_sp;
    std::uint64_t caller_fs;
    std::uint64_t
        tls_tcb_bytes;  // bytes of the thread control block scanned from the thread pointer
    std::uint64_t loader_lo, loader_hi;  // the dynamic loader's code; 0, 0 = not known
    std::uint32_t malloc_module;         // the module of the C library's malloc (main_arena)
    ThreadLists thread_lists;

    ScanModule* modules;
    std::uint32_t nmodules;

    // capacities of the arrays below (allocated by the writer)
    std::size_t cap_blocks, cap_threads, cap_roots, cap_maps, cap_dir, cap_clusters;
    ScanBlock* blocks;
    std::uint32_t* parent;  // k_unreached, k_root_bit | root id, or a block index
    std::uint32_t*
        offset;  // of the pointer inside the parent block or root slot; leaks: 1 = indirect
    std::uint32_t* order;  // reachable blocks in breadth-first order
    std::uint32_t* dir;    // per granule: the first block starting at or after it
    ScanCluster* clusters;
    ScanThread* threads;
    ScanRoot* roots;
    MapRange* maps;          // readable ranges of the address space, sorted
    std::uint64_t* ra_slot;  // a stack's return addresses: where they are, ascending
    std::uint64_t* ra_pc;    // and the address minus one (inside the call)
    std::size_t cap_ra;
    std::uint32_t* dist;   // marking: hops of a block's best path so far (k_dist_done: final)
    std::uint32_t* queue;  // marking: the double-ended queue, cap_queue entries
    std::size_t cap_queue;
    MapRange* own_maps;      // the agent's own mappings (memory.hpp), sorted: never roots
    std::uint64_t* own_tmp;  // 2 x cap_own_maps words: their starts, then their ends
    std::size_t cap_own_maps, nown_maps;
    int pagemap_fd;  // /proc/self/pagemap, opened by the tracer; -1 = not available

    // ---- results ----
    std::size_t nblocks, norder, nthreads, nroots, nmaps, nclusters;
    std::uint64_t total_bytes, reachable_bytes, root_bytes;
    std::uint64_t mapping_roots, mapping_root_bytes;  // anonymous mappings scanned as roots
    std::uint64_t loader_blocks;                      // blocks of the loader taken as roots
    std::uint64_t finished_threads;                   // finished, not joined: descriptors scanned
    std::uint64_t pause_ns, mark_ns;
    bool need_more_blocks;  // the table had more blocks than cap_blocks: retry bigger
    int error;              // errno of the failure that stopped the scan; 0 = ok
    char msg[512];
};

// ---- marking (mark.cpp), in the tracer while the world is stopped ----

// Sorts the blocks and builds the cluster directory. False if the directory would not fit.
bool build_block_index(ScanState& s);
// The block containing address `w` (interior pointers count), or k_unreached.
std::uint32_t find_block(const ScanState& s, std::uint64_t w);
// Roots (globals, TLS, stacks, registers, the program's anonymous mappings, the loader's blocks)
// then the heap, shortest paths first, where a hop between two blocks of one allocation site (a
// list's next node) costs nothing: a path's length is its number of shapes.
void mark_all(ScanState& s);
// Unreachable blocks pointed to by another unreachable block become indirect (offset = 1).
void classify_unreachable(ScanState& s);
// True if [a, b) is readable; clips the range to the readable part through `visit`.
template <typename F>
void for_each_readable(const ScanState& s, std::uint64_t a, std::uint64_t b, F&& visit);

// ---- the stop (stop_world.cpp) ----

// Stops every other thread, runs build_block_index/mark_all/classify_unreachable and resumes
// them. False with s.error and s.msg set when the world could not be stopped or the scan failed;
// every thread is running again either way.
bool run_stopped_scan(ScanState& s);

template <typename F>
void for_each_readable(const ScanState& s, std::uint64_t a, std::uint64_t b, F&& visit) {
    // The first range whose end is above a.
    std::size_t lo = 0, hi = s.nmaps;
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (s.maps[mid].end <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (std::size_t i = lo; i < s.nmaps && s.maps[i].start < b; ++i) {
        const std::uint64_t x = a > s.maps[i].start ? a : s.maps[i].start;
        const std::uint64_t y = b < s.maps[i].end ? b : s.maps[i].end;
        if (x < y) visit(x, y);
    }
}

// True if all of [a, a + n) is readable.
inline bool readable(const ScanState& s, std::uint64_t a, std::uint64_t n) {
    std::uint64_t covered = a;
    for_each_readable(s, a, a + n, [&](std::uint64_t x, std::uint64_t y) {
        if (x == covered) covered = y;
    });
    return covered >= a + n;
}

// The word at `a` (the caller made sure it is readable).
inline std::uint64_t word_at(std::uint64_t a) {
    std::uint64_t w;
    std::memcpy(&w, reinterpret_cast<const void*>(a), 8);
    return w;
}

}  // namespace leakhunt::agent
