// The stack walker of cfi_unwind.hpp: the shared rule cache and the walk.
#include "agent/cfi_unwind.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstring>

#include "agent/eh_frame.hpp"

namespace leakhunt::agent {

#if defined(__x86_64__)

namespace {

// Shared by all threads (thread-local space is too scarce: a program may create threads with
// small stacks), direct-mapped by return address, each entry under a sequence lock: readers never
// write, a writer that finds the entry busy just does not cache. A rule is packed in one word
// with the generation it was decoded in (cfi_forget_rules bumps it).
constexpr std::size_t k_cache = 4096;
struct alignas(32) CacheEntry {
    std::atomic<std::uint64_t> seq{0};  // odd while written
    std::atomic<std::uint64_t> ip{0};
    std::atomic<std::uint64_t> rule{0};
};
CacheEntry g_cache[k_cache];
std::atomic<std::uint32_t> g_generation{0};

// Writes an entry unless another thread is writing it (then nothing is cached: no waiting).
void store_entry(CacheEntry& e, std::uint64_t ip, std::uint64_t rule) {
    std::uint64_t s = e.seq.load(std::memory_order_relaxed);
    if ((s & 1) == 0 && e.seq.compare_exchange_strong(s, s + 1, std::memory_order_acquire)) {
        e.ip.store(ip, std::memory_order_relaxed);
        e.rule.store(rule, std::memory_order_relaxed);
        e.seq.store(s + 2, std::memory_order_release);
    }
}

std::uint64_t pack(const CfiRule& r, std::uint32_t gen) {
    return std::uint64_t{r.kind} | std::uint64_t{r.cfa_on_bp} << 2 |
           std::uint64_t{r.bp_saved} << 3 | std::uint64_t{gen & 0xffu} << 8 |
           std::uint64_t{static_cast<std::uint16_t>(static_cast<std::int16_t>(r.bp_off))} << 16 |
           std::uint64_t{static_cast<std::uint32_t>(r.cfa_off)} << 32;
}
CfiRule unpack(std::uint64_t w) {
    return CfiRule{static_cast<std::uint8_t>(w & 3),
                   ((w >> 2) & 1) != 0,
                   ((w >> 3) & 1) != 0,
                   0,
                   static_cast<std::int32_t>(static_cast<std::uint32_t>(w >> 32)),
                   static_cast<std::int16_t>(static_cast<std::uint16_t>(w >> 16))};
}

// The rule for a return address, from the object that contains it.
CfiRule decode_rule(std::uintptr_t pc) {
    dl_find_object found;
    if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0 ||
        found.dlfo_eh_frame == nullptr) {
        return CfiRule{CfiRule::give_up, false, false, 0, 0, 0};
    }
    return decode_cfi_rule(static_cast<const std::uint8_t*>(found.dlfo_eh_frame),
                           reinterpret_cast<std::uintptr_t>(found.dlfo_map_start),
                           reinterpret_cast<std::uintptr_t>(found.dlfo_map_end), pc);
}

inline CfiRule rule_for(std::uintptr_t ra, std::uint32_t gen) {
    CacheEntry& e = g_cache[((ra >> 2) ^ (ra >> 14)) & (k_cache - 1)];
    const std::uint64_t s1 = e.seq.load(std::memory_order_acquire);
    const std::uint64_t ip = e.ip.load(std::memory_order_relaxed);
    const std::uint64_t w = e.rule.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (e.seq.load(std::memory_order_relaxed) == s1 && (s1 & 1) == 0 && ip == ra &&
        ((w >> 8) & 0xffu) == (gen & 0xffu) && (w & 3) != CfiRule::unknown) {
        return unpack(w);
    }
    const CfiRule r = decode_rule(ra - 1);
    store_entry(e, ra, pack(r, gen));
    return r;
}

}  // namespace

int cfi_backtrace(std::uintptr_t* out, int max, std::uintptr_t agent_lo, std::uintptr_t agent_hi) {
    const std::uint32_t gen = g_generation.load(std::memory_order_acquire);
    // The agent's frames, along the frame-pointer chain (all of them are built with one).
    const auto word = [](std::uintptr_t a) { return *reinterpret_cast<const std::uintptr_t*>(a); };
    const auto floor = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    std::uintptr_t fp = floor;
    std::uintptr_t ra = word(fp + 8);
    for (int i = 0; ra >= agent_lo && ra < agent_hi; ++i) {
        const std::uintptr_t next = word(fp);
        if (i == 32 || next <= fp || (next & 7) != 0 || next - floor > (std::uintptr_t{1} << 20)) {
            return -1;
        }
        fp = next;
        ra = word(fp + 8);
    }
    // The program's frames: state (ra, sp, bp) at the first one.
    std::uintptr_t sp = fp + 16;
    std::uintptr_t bp = word(fp);
    int n = 0;
    while (n < max && ra != 0) {
        out[n++] = ra;
        const CfiRule r = rule_for(ra, gen);
        if (r.kind == CfiRule::last) break;
        if (r.kind != CfiRule::step) return -1;
        const std::uintptr_t cfa = add_offset(r.cfa_on_bp ? bp : sp, r.cfa_off);
        // The stack grows down: every caller's frame is above its callee's. A CFA below (or a
        // wild one) means the frame-pointer register does not hold what the rule says: stop
        // trusting the walk before reading through it.
        if (cfa <= sp || cfa - floor > (std::uintptr_t{1} << 30) || (cfa & 7) != 0) return -1;
        if (r.bp_saved) bp = word(add_offset(cfa, r.bp_off));
        ra = word(cfa - 8);
        sp = cfa;
    }
    return n;
}

void cfi_forget_rules() {
    g_generation.fetch_add(1, std::memory_order_acq_rel);
    // The 8 bits of generation in an entry wrap: empty the table as well (an entry being written
    // now carries the old generation and is refused until the wrap, long after this).
    for (CacheEntry& e : g_cache) store_entry(e, 0, 0);
}

#else

int cfi_backtrace(std::uintptr_t*, int, std::uintptr_t, std::uintptr_t) {
    return -1;
}
void cfi_forget_rules() {}

#endif

}  // namespace leakhunt::agent
