// The writer's side of a heap scan: scratch memory sized from the live table, the module map
// (taken with dl_iterate_phdr before the stop, since the loader's lock may be held by a stopped
// thread; with it the loader's code, malloc's module and, through dlsym, where glibc lists its
// threads), the stop itself (stop_world.cpp), then, with the program running again, the path
// shapes and the per-site totals, encoded into the scan file. A shape is a path from a root
// through allocation sites: a block's shape is its discoverer's shape extended by its own site,
// except that a run of the same site (a linked list) collapses into one hop.
#include "agent/heap_scan.hpp"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "agent/agent_io.hpp"
#include "agent/memory.hpp"
#include "agent/recorder.hpp"
#include "agent/scan_state.hpp"
#include "format/buffer.hpp"
#include "format/protobuf.hpp"
#include "format/scan_format.hpp"

namespace leakhunt::agent {
namespace {

constexpr std::size_t k_max_modules = 1024;
constexpr std::size_t k_max_threads = 4096;
constexpr std::size_t k_max_roots = 1u << 18;
constexpr std::size_t k_max_clusters = 1u << 18;
// Distinct path shapes kept; past it, blocks count with their discoverer's shape.
constexpr std::size_t k_max_shapes = 1u << 18;
constexpr std::size_t k_max_maps = 1u << 16;
constexpr std::size_t k_max_return_addresses = 1u << 16;  // per stack
constexpr std::size_t k_max_own_maps = 1u << 15;  // the agent's mappings (memory.cpp's table)
constexpr std::uint32_t k_max_shape_depth = 48;
// Bytes of the thread control block scanned above the thread pointer (glibc's struct pthread
// is about 2.3 KiB on x86-64; it holds the pthread_setspecific values).
constexpr std::uint64_t k_tcb_bytes = 2560;

// Scratch arrays, all from mmap; freed by the destructor.
struct Scratch {
    struct Area {
        void* p = nullptr;
        std::size_t n = 0;
    };
    Area areas[28];
    int count = 0;
    std::uint64_t bytes = 0;
    template <typename T>
    T* get(std::size_t n) {
        const std::size_t size = sizeof(T) * (n == 0 ? 1 : n);
        void* p = map_memory(size);
        if (p == nullptr || count == 28) {
            unmap_memory(p, size);
            return nullptr;
        }
        areas[count++] = Area{p, size};
        bytes += size;
        return static_cast<T*>(p);
    }
    void release() {
        for (int i = 0; i < count; ++i) unmap_memory(areas[i].p, areas[i].n);
        count = 0;
        bytes = 0;
    }
    ~Scratch() { release(); }
};

struct ModuleList {
    ScanModule* items;
    std::uint32_t n;
    std::uintptr_t self;
    std::uintptr_t tp;
    std::uintptr_t loader_base;  // AT_BASE: where the kernel loaded the program's interpreter
};

int collect_module(dl_phdr_info* info, size_t, void* data) {
    auto* list = static_cast<ModuleList*>(data);
    if (list->n == k_max_modules) return 1;
    ScanModule& m = list->items[list->n];
    m = ScanModule{};
    m.bias = info->dlpi_addr;
    const char* name = info->dlpi_name;
    // The vDSO and other nameless objects after the program: no data of interest.
    if ((name == nullptr || name[0] == '\0') && list->n != 0) return 0;
    object_path(info, m.path, sizeof m.path);
    build_id_hex(info, m.build_id, sizeof m.build_id);
    m.loader = list->n != 0 && list->loader_base != 0 && info->dlpi_addr == list->loader_base;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_TLS && info->dlpi_tls_data != nullptr) {
            const auto data_at = reinterpret_cast<std::uintptr_t>(info->dlpi_tls_data);
            // Static TLS lies below the thread pointer (x86-64 variant II); dynamic TLS elsewhere.
            if (list->tp != 0 && data_at < list->tp && list->tp - data_at < (64u << 20)) {
                m.tls_offset = list->tp - data_at;
                m.tls_size = ph.p_memsz;
            }
        }
        if (ph.p_type != PT_LOAD || m.nseg == ScanModule::k_max_segments) continue;
        ScanSegment& g = m.seg[m.nseg++];
        g.start = info->dlpi_addr + ph.p_vaddr;
        g.end = g.start + ph.p_memsz;
        g.flags = ((ph.p_flags & PF_R) != 0 ? format::k_seg_read : 0) |
                  ((ph.p_flags & PF_W) != 0 ? format::k_seg_write : 0) |
                  ((ph.p_flags & PF_X) != 0 ? format::k_seg_exec : 0);
        if (list->self >= g.start && list->self < g.end) m.own = true;
    }
    ++list->n;
    return 0;
}

// The offsets libc publishes for libthread_db: `_thread_db_sizeof_*` is a uint32_t, a field's
// descriptor three (size in bits, count, offset). 0 if absent.
bool thread_db_offset(const char* name, std::uint32_t& offset) {
    const auto* desc = static_cast<const std::uint32_t*>(::dlsym(RTLD_DEFAULT, name));
    if (desc == nullptr) return false;
    offset = desc[2];
    return true;
}

// Where glibc lists its threads, for threads that finished but were not joined. Looked up once
// (dlsym takes the loader's lock; later scans, at exit among them, need not).
ThreadLists find_thread_lists() {
    ThreadLists l{};
    std::uint32_t used = 0, user = 0;
    const auto* rtld = static_cast<const std::uint8_t*>(::dlsym(RTLD_DEFAULT, "_rtld_global"));
    if (rtld == nullptr || !thread_db_offset("_thread_db_pthread_list", l.list_offset) ||
        !thread_db_offset("_thread_db_pthread_tid", l.tid_offset) ||
        !thread_db_offset("_thread_db_rtld_global__dl_stack_used", used) ||
        !thread_db_offset("_thread_db_rtld_global__dl_stack_user", user)) {
        return ThreadLists{};
    }
    l.heads[0] = reinterpret_cast<std::uintptr_t>(rtld + used);
    l.heads[1] = reinterpret_cast<std::uintptr_t>(rtld + user);
    return l;
}

// Scans run one at a time (the snapshot mutex), so plain statics do.
ThreadLists g_thread_lists{};
bool g_thread_lists_known = false;

ThreadLists thread_lists() {
    if (!g_thread_lists_known) {
        g_thread_lists = find_thread_lists();
        g_thread_lists_known = true;
    }
    return g_thread_lists;
}

// The loader's code range and the module of malloc, from the module map.
void find_special_modules(ScanState& s) {
    const auto malloc_at = reinterpret_cast<std::uintptr_t>(&::malloc_trim);
    s.malloc_module = ~0u;
    for (std::uint32_t k = 0; k < s.nmodules; ++k) {
        const ScanModule& m = s.modules[k];
        for (std::uint32_t g = 0; g < m.nseg; ++g) {
            const ScanSegment& seg = m.seg[g];
            if (malloc_at >= seg.start && malloc_at < seg.end) s.malloc_module = k;
            if (!m.loader || (seg.flags & format::k_seg_exec) == 0) continue;
            if (s.loader_lo == s.loader_hi || seg.start < s.loader_lo) s.loader_lo = seg.start;
            if (seg.end > s.loader_hi) s.loader_hi = seg.end;
        }
    }
}

// ---- shapes ----

struct Shapes {
    std::uint32_t* parent;
    std::uint32_t* root;
    std::uint32_t* stack;
    std::uint32_t* offset;
    std::uint32_t* flags;
    std::uint32_t* depth;
    std::uint64_t* count;
    std::uint64_t* bytes;
    std::uint64_t* rcount;
    std::uint64_t* rbytes;
    std::uint32_t* index;  // open addressing: shape id + 1, 0 = empty
    std::size_t cap, index_cap, n;

    std::uint32_t intern(std::uint32_t par, std::uint32_t rt, std::uint32_t st, std::uint32_t off,
                         std::uint32_t dep) {
        std::uint64_t h = (static_cast<std::uint64_t>(par) * 0x9e3779b97f4a7c15ull) ^
                          (static_cast<std::uint64_t>(rt) * 0xc2b2ae3d27d4eb4full) ^
                          (static_cast<std::uint64_t>(st) * 0x165667b19e3779f9ull);
        h ^= h >> 29;
        for (std::size_t j = h & (index_cap - 1);; j = (j + 1) & (index_cap - 1)) {
            if (index[j] == 0) {
                if (n == cap) return par != 0 ? par : 0;  // full: the blocks stay with the parent
                const auto id = static_cast<std::uint32_t>(++n);  // ids from 1
                parent[id] = par;
                root[id] = rt;
                stack[id] = st;
                offset[id] = off;
                flags[id] = 0;
                depth[id] = dep;
                index[j] = id;
                return id;
            }
            const std::uint32_t id = index[j];
            if (parent[id] == par && root[id] == rt && stack[id] == st) {
                if (offset[id] != off) flags[id] |= format::k_shape_offsets_vary;
                return id;
            }
        }
    }
};

// ---- encoding ----

template <typename Body>
void record(format::Buffer& out, format::ScanTag tag, Body&& body) {
    format::pb::Counter c;
    body(c);
    out.put(static_cast<std::uint8_t>(tag));
    format::pb::varint(out, c.n);
    body(out);
}

template <typename Sink>
void str(Sink& s, const char* p) {
    const std::size_t n = std::strlen(p);
    format::pb::varint(s, n);
    s.put(p, n);
}

// Why ptrace was refused, for the message: Yama, seccomp, capabilities, dumpable.
void explain_ptrace(char* out, std::size_t size) {
    char yama[16] = "absent";
    const int fd = ::open("/proc/sys/kernel/yama/ptrace_scope", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        const ssize_t n = ::read(fd, yama, sizeof yama - 1);
        yama[n > 0 ? n : 0] = '\0';
        for (char* c = yama; *c != '\0'; ++c) {
            if (*c == '\n') *c = '\0';
        }
        ::close(fd);
    }
    char status[4096] = {};
    const int sfd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (sfd >= 0) {
        const ssize_t n = ::read(sfd, status, sizeof status - 1);
        status[n > 0 ? n : 0] = '\0';
        ::close(sfd);
    }
    int seccomp = 0;
    unsigned long long capeff = 0;
    if (const char* p = std::strstr(status, "Seccomp:")) std::sscanf(p + 8, "%d", &seccomp);
    if (const char* p = std::strstr(status, "CapEff:")) std::sscanf(p + 7, "%llx", &capeff);
    std::snprintf(out, size,
                  "yama ptrace_scope=%s, seccomp mode %d%s, CAP_SYS_PTRACE %s, dumpable=%d", yama,
                  seccomp, seccomp == 2 ? " (a filter may forbid ptrace)" : "",
                  (capeff >> 19) & 1 ? "yes" : "no", ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
}

// Sizes the scratch arrays from the live table and runs the stop-the-world scan, again with
// larger arrays while the heap outgrew them. The module map (already in `s`) is kept.
bool size_and_scan(Scratch& scratch, ScanState& s, char* msg, std::size_t msg_size) {
    std::size_t want = live().approx_count();
    bool ok = false;
    for (int attempt = 0; attempt < 4; ++attempt) {
        want = want + want / 4 + 4096;
        // Keep the module map across retries: release everything allocated after it.
        while (scratch.count > 2) {  // the state and the module map stay
            --scratch.count;
            scratch.bytes -= scratch.areas[scratch.count].n;
            unmap_memory(scratch.areas[scratch.count].p, scratch.areas[scratch.count].n);
        }
        s.cap_blocks = want;
        s.cap_clusters = want + 16 < k_max_clusters ? want + 16 : k_max_clusters;
        s.cap_dir = 2 * want + 2 * s.cap_clusters + 64;
        s.cap_threads = k_max_threads;
        s.cap_roots = k_max_roots;
        s.cap_maps = k_max_maps;
        s.blocks = scratch.get<ScanBlock>(s.cap_blocks);
        s.parent = scratch.get<std::uint32_t>(s.cap_blocks);
        s.offset = scratch.get<std::uint32_t>(s.cap_blocks);
        s.order = scratch.get<std::uint32_t>(s.cap_blocks);
        s.dir = scratch.get<std::uint32_t>(s.cap_dir);
        s.clusters = scratch.get<ScanCluster>(s.cap_clusters);
        s.threads = scratch.get<ScanThread>(s.cap_threads);
        s.roots = scratch.get<ScanRoot>(s.cap_roots);
        s.maps = scratch.get<MapRange>(s.cap_maps);
        s.cap_ra = k_max_return_addresses;
        s.ra_slot = scratch.get<std::uint64_t>(2 * s.cap_ra);
        s.ra_pc = s.ra_slot == nullptr ? nullptr : s.ra_slot + s.cap_ra;
        s.dist = scratch.get<std::uint32_t>(s.cap_blocks);
        s.cap_queue = 2 * s.cap_blocks + 64;
        s.queue = scratch.get<std::uint32_t>(s.cap_queue);
        s.cap_own_maps = k_max_own_maps;
        s.own_maps = scratch.get<MapRange>(s.cap_own_maps);
        s.own_tmp = scratch.get<std::uint64_t>(2 * s.cap_own_maps);
        if (s.modules == nullptr || s.blocks == nullptr || s.parent == nullptr ||
            s.offset == nullptr || s.order == nullptr || s.dir == nullptr ||
            s.clusters == nullptr || s.threads == nullptr || s.roots == nullptr ||
            s.maps == nullptr || s.ra_slot == nullptr || s.dist == nullptr || s.queue == nullptr ||
            s.own_maps == nullptr || s.own_tmp == nullptr) {
            std::snprintf(msg, msg_size, "no memory for the heap scan (%llu blocks)",
                          static_cast<unsigned long long>(want));
            return false;
        }
        ok = run_stopped_scan(s);
        if (ok || !s.need_more_blocks) break;
        want = s.nblocks;
    }
    if (!ok) {
        if (s.need_more_blocks) {
            std::snprintf(msg, msg_size,
                          "the heap kept growing faster than the scan could size it");
        } else if (s.error == EPERM || s.error == EACCES) {
            char why[512];
            explain_ptrace(why, sizeof why);
            std::snprintf(msg, msg_size,
                          "cannot stop the threads to scan the heap: %s: %s (%s); no thread was "
                          "left stopped",
                          s.msg, std::strerror(s.error), why);
        } else {
            std::snprintf(msg, msg_size, "heap scan failed: %s: %s; no thread was left stopped",
                          s.msg, std::strerror(s.error));
        }
        return false;
    }
    return true;
}

// Per allocation site (stack id): the blocks reached from the roots, and the unreachable ones,
// direct (nothing points to them) and indirect (only other leaks do).
struct SiteTotals {
    std::uint64_t reached_count, reached_bytes;
    std::uint64_t direct_count, direct_bytes;
    std::uint64_t indirect_count, indirect_bytes;
};

struct Summary {
    SiteTotals* sites;  // indexed by stack id, 0..max_stack
    std::uint32_t max_stack;
    std::uint8_t* used_root;  // per root: 1 when some shape starts there
    Shapes shapes;
};

// With the program running again: the path shapes and the per-site totals.
bool summarise(Scratch& scratch, ScanState& s, Summary& out, ScanFigures& fig, char* msg,
               std::size_t msg_size) {
    std::uint32_t max_stack = 0;
    for (std::size_t i = 0; i < s.nblocks; ++i) {
        if (s.blocks[i].stack > max_stack) max_stack = s.blocks[i].stack;
    }
    auto* site = scratch.get<SiteTotals>(max_stack + 1);
    auto* used_root = scratch.get<std::uint8_t>(s.nroots + 1);
    Shapes sh{};
    sh.cap = s.norder + 1 < k_max_shapes ? s.norder + 1 : k_max_shapes;
    sh.index_cap = 16;
    while (sh.index_cap < 2 * sh.cap) sh.index_cap *= 2;
    const std::size_t words = sh.cap + 1;
    sh.parent = scratch.get<std::uint32_t>(words * 6);
    sh.count = scratch.get<std::uint64_t>(words * 4);
    sh.index = scratch.get<std::uint32_t>(sh.index_cap);
    if (site == nullptr || used_root == nullptr || sh.parent == nullptr || sh.count == nullptr ||
        sh.index == nullptr) {
        std::snprintf(msg, msg_size, "no memory for the heap scan's summary");
        return false;
    }
    sh.root = sh.parent + words;
    sh.stack = sh.root + words;
    sh.offset = sh.stack + words;
    sh.flags = sh.offset + words;
    sh.depth = sh.flags + words;
    sh.bytes = sh.count + words;
    sh.rcount = sh.bytes + words;
    sh.rbytes = sh.rcount + words;
    // Shapes in breadth-first order: a block's discoverer came before it, and its entry in
    // `parent` already holds the discoverer's shape id (written below; ids never have the root
    // bit and are never k_unreached).
    for (std::size_t q = 0; q < s.norder; ++q) {
        const std::uint32_t i = s.order[q];
        const std::uint32_t p = s.parent[i];
        const std::uint32_t st = s.blocks[i].stack;
        std::uint32_t id;
        if ((p & k_root_bit) != 0) {
            used_root[p & ~k_root_bit] = 1;
            id = sh.intern(0, p & ~k_root_bit, st, s.offset[i], 1);
        } else {
            const std::uint32_t ps = s.parent[p];
            if (sh.stack[ps] == st) {
                sh.flags[ps] |= format::k_shape_repeated;
                id = ps;
            } else if (sh.depth[ps] >= k_max_shape_depth) {
                id = ps;
            } else {
                id = sh.intern(ps, 0, st, s.offset[i], sh.depth[ps] + 1);
            }
        }
        s.parent[i] = id;
        sh.count[id] += 1;
        sh.bytes[id] += s.blocks[i].size;
        site[st].reached_count += 1;
        site[st].reached_bytes += s.blocks[i].size;
    }
    // Retained totals: children have higher ids than their parents.
    for (std::uint32_t id = static_cast<std::uint32_t>(sh.n); id >= 1; --id) {
        sh.rcount[id] += sh.count[id];
        sh.rbytes[id] += sh.bytes[id];
        if (sh.parent[id] != 0) {
            sh.rcount[sh.parent[id]] += sh.rcount[id];
            sh.rbytes[sh.parent[id]] += sh.rbytes[id];
        }
    }
    for (std::size_t i = 0; i < s.nblocks; ++i) {
        if (s.parent[i] != k_unreached) continue;
        SiteTotals& t = site[s.blocks[i].stack];
        const std::uint64_t size = s.blocks[i].size;
        if (s.offset[i] == 1) {  // indirect: only other leaks point to it
            t.indirect_count += 1;
            t.indirect_bytes += size;
            fig.indirect_count += 1;
            fig.indirect_bytes += size;
        } else {
            t.direct_count += 1;
            t.direct_bytes += size;
            fig.direct_count += 1;
            fig.direct_bytes += size;
        }
    }
    fig.pause_ms = static_cast<double>(s.pause_ns) / 1e6;
    fig.blocks = s.nblocks;
    fig.bytes = s.total_bytes;
    out.sites = site;
    out.max_stack = max_stack;
    out.used_root = used_root;
    out.shapes = sh;
    return true;
}

// The scan file (format/scan_format.hpp) into `out`.
void encode_scan(const ScanState& s, const Summary& sum, const char* reason,
                 std::uint64_t scratch_bytes, format::Buffer& out) {
    const Shapes& sh = sum.shapes;
    namespace pb = format::pb;
    using format::ScanTag;
    out.put(format::k_scan_magic, sizeof format::k_scan_magic);
    pb::varint(out, format::k_scan_version);
    std::uint64_t records = 0;
    record(out, ScanTag::summary, [&](auto& o) {
        pb::varint(o, static_cast<std::uint64_t>(s.pid));
        pb::varint(o, static_cast<std::uint64_t>(now_s(CLOCK_REALTIME) * 1000));
        pb::varint(o, s.pause_ns / 1000);
        pb::varint(o, s.mark_ns / 1000);
        pb::varint(o, s.nthreads);
        pb::varint(o, s.nblocks);
        pb::varint(o, s.total_bytes);
        pb::varint(o, s.norder);
        pb::varint(o, s.reachable_bytes);
        pb::varint(o, s.root_bytes);
        str(o, reason);
        pb::varint(o, scratch_bytes);
        pb::varint(o, s.mapping_roots);
        pb::varint(o, s.mapping_root_bytes);
        pb::varint(o, s.loader_blocks);
        pb::varint(o, s.finished_threads);
    });
    ++records;
    for (std::uint32_t k = 0; k < s.nmodules; ++k) {
        const ScanModule& m = s.modules[k];
        record(out, ScanTag::module, [&](auto& o) {
            pb::varint(o, k);
            pb::varint(o, m.bias);
            str(o, m.path);
            str(o, m.build_id);
            pb::varint(o, m.nseg);
            for (std::uint32_t g = 0; g < m.nseg; ++g) {
                pb::varint(o, m.seg[g].start);
                pb::varint(o, m.seg[g].end);
                pb::varint(o, m.seg[g].flags);
            }
        });
        ++records;
    }
    for (std::size_t t = 0; t < s.nthreads; ++t) {
        record(out, ScanTag::thread, [&](auto& o) {
            pb::varint(o, t);
            pb::varint(o, static_cast<std::uint64_t>(s.threads[t].tid));
            str(o, s.threads[t].name);
        });
        ++records;
    }
    StackTable& stacks_table = stacks();
    for (std::uint32_t id = 1; id <= sum.max_stack; ++id) {
        const SiteTotals& v = sum.sites[id];
        if (v.reached_count + v.direct_count + v.indirect_count == 0) continue;
        const StackRecord* rec = stacks_table.get(id);
        record(out, ScanTag::stack, [&](auto& o) {
            pb::varint(o, id);
            pb::varint(o, rec->depth);
            for (std::uint32_t i = 0; i < rec->depth; ++i) pb::varint(o, rec->ips()[i]);
        });
        ++records;
        if (v.reached_count != 0) {
            record(out, ScanTag::site, [&](auto& o) {
                pb::varint(o, id);
                pb::varint(o, v.reached_count);
                pb::varint(o, v.reached_bytes);
            });
            ++records;
        }
        if (v.direct_count + v.indirect_count != 0) {
            record(out, ScanTag::leak, [&](auto& o) {
                pb::varint(o, id);
                pb::varint(o, v.direct_count);
                pb::varint(o, v.direct_bytes);
                pb::varint(o, v.indirect_count);
                pb::varint(o, v.indirect_bytes);
            });
            ++records;
        }
    }
    for (std::size_t r = 0; r < s.nroots; ++r) {
        if (sum.used_root[r] == 0) continue;
        const ScanRoot& root = s.roots[r];
        record(out, ScanTag::root, [&](auto& o) {
            pb::varint(o, r);
            pb::varint(o, root.kind);
            pb::varint(o, root.owner);
            pb::varint(o, root.address);
            pb::varint(o, root.pc);
            pb::varint(o, root.tls_module);
            std::uint64_t ncallers = 0;
            while (ncallers < 3 && root.callers[ncallers] != 0) ++ncallers;
            pb::varint(o, ncallers);
            for (std::uint64_t c = 0; c < ncallers; ++c) pb::varint(o, root.callers[c]);
        });
        ++records;
    }
    for (std::uint32_t id = 1; id <= sh.n; ++id) {
        record(out, ScanTag::shape, [&](auto& o) {
            pb::varint(o, id);
            pb::varint(o, sh.parent[id]);
            pb::varint(o, sh.root[id]);
            pb::varint(o, sh.stack[id]);
            pb::varint(o, sh.offset[id]);
            pb::varint(o, sh.flags[id]);
            pb::varint(o, sh.count[id]);
            pb::varint(o, sh.bytes[id]);
            pb::varint(o, sh.rcount[id]);
            pb::varint(o, sh.rbytes[id]);
        });
        ++records;
    }
    record(out, ScanTag::end, [&](auto& o) { pb::varint(o, records); });
    out.put(format::k_scan_end_magic, sizeof format::k_scan_end_magic);
}

}  // namespace

bool write_heap_scan(const char* path, const char* reason, std::uint64_t caller_root_sp,
                     ScanFigures& fig, char* msg, std::size_t msg_size) {
    Scratch scratch;
    ScanState* sp = scratch.get<ScanState>(1);
    if (sp == nullptr) {
        std::snprintf(msg, msg_size, "no memory for the heap scan");
        return false;
    }
    ScanState& s = *sp;
    s.modules = scratch.get<ScanModule>(k_max_modules);
    ModuleList list{s.modules, 0, reinterpret_cast<std::uintptr_t>(&write_heap_scan),
                    thread_pointer(), ::getauxval(AT_BASE)};
    if (s.modules != nullptr) dl_iterate_phdr(collect_module, &list);
    s.nmodules = list.n;
    find_special_modules(s);
    s.thread_lists = thread_lists();
    s.tls_tcb_bytes = k_tcb_bytes;
    s.caller_sp = caller_root_sp;
    Summary sum{};
    if (!size_and_scan(scratch, s, msg, msg_size) ||
        !summarise(scratch, s, sum, fig, msg, msg_size)) {
        return false;
    }
    MappedBuffer mapped;
    // The scratch is mapped; untouched pages cost nothing.
    encode_scan(s, sum, reason, scratch.bytes, mapped.b);
    if (mapped.b.failed) {
        std::snprintf(msg, msg_size, "out of memory while encoding the heap scan");
        return false;
    }
    return write_file_atomic(path, mapped.b.data, mapped.b.size, msg, msg_size);
}

}  // namespace leakhunt::agent
