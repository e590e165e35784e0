// The stack walker of cfi_unwind.hpp: the shared rule cache and the walk.
#include "agent/cfi_unwind.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstring>

#include "agent/eh_frame.hpp"

namespace leakhunt::agent {

#if defined(__x86_64__)

namespace {

// Address arithmetic with a signed offset (wraps like the hardware's).
inline std::uintptr_t add(std::uintptr_t a, std::int64_t off) {
    return a + static_cast<std::uintptr_t>(off);
}

using Rule = CfiRule;

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

std::uint64_t pack(const Rule& r, std::uint32_t gen) {
    return std::uint64_t{r.kind} | std::uint64_t{r.cfa_on_bp} << 2 | std::uint64_t{r.bp_saved} << 3 |
           std::uint64_t{gen & 0xffu} << 8 |
           std::uint64_t{static_cast<std::uint16_t>(static_cast<std::int16_t>(r.bp_off))} << 16 |
           std::uint64_t{static_cast<std::uint32_t>(r.cfa_off)} << 32;
}
Rule unpack(std::uint64_t w) {
    return Rule{static_cast<std::uint8_t>(w & 3), ((w >> 2) & 1) != 0, ((w >> 3) & 1) != 0, 0,
                static_cast<std::int32_t>(static_cast<std::uint32_t>(w >> 32)),
                static_cast<std::int16_t>(static_cast<std::uint16_t>(w >> 16))};
}

// The rule for a return address, from the object that contains it.
Rule decode_rule(std::uintptr_t pc) {
    dl_find_object found;
    if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0 || found.dlfo_eh_frame == nullptr) {
        return Rule{Rule::give_up, false, false, 0, 0, 0};
    }
    return decode_cfi_rule(static_cast<const std::uint8_t*>(found.dlfo_eh_frame),
                           reinterpret_cast<std::uintptr_t>(found.dlfo_map_start),
                           reinterpret_cast<std::uintptr_t>(found.dlfo_map_end), pc);
}

inline Rule rule_for(std::uintptr_t ra, std::uint32_t gen) {
    CacheEntry& e = g_cache[((ra >> 2) ^ (ra >> 14)) & (k_cache - 1)];
    const std::uint64_t s1 = e.seq.load(std::memory_order_acquire);
    const std::uint64_t ip = e.ip.load(std::memory_order_relaxed);
    const std::uint64_t w = e.rule.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (e.seq.load(std::memory_order_relaxed) == s1 && (s1 & 1) == 0 && ip == ra &&
        ((w >> 8) & 0xffu) == (gen & 0xffu) && (w & 3) != Rule::unknown) {
        return unpack(w);
    }
    const Rule r = decode_rule(ra - 1);
    std::uint64_t s = e.seq.load(std::memory_order_relaxed);
    if ((s & 1) == 0 && e.seq.compare_exchange_strong(s, s + 1, std::memory_order_acquire)) {
        e.ip.store(ra, std::memory_order_relaxed);
        e.rule.store(pack(r, gen), std::memory_order_relaxed);
        e.seq.store(s + 2, std::memory_order_release);
    }
    return r;
}

}  // namespace

int cfi_backtrace(std::uintptr_t* out, int max, std::uintptr_t agent_lo, std::uintptr_t agent_hi) {
    const std::uint32_t gen = g_generation.load(std::memory_order_acquire);
    // The agent's frames, along the frame-pointer chain (all of them are built with one).
    auto* fp = static_cast<std::uintptr_t*>(__builtin_frame_address(0));
    auto floor = reinterpret_cast<std::uintptr_t>(fp);
    std::uintptr_t ra = fp[1];
    for (int i = 0; ra >= agent_lo && ra < agent_hi; ++i) {
        auto* next = reinterpret_cast<std::uintptr_t*>(fp[0]);
        if (i == 32 || reinterpret_cast<std::uintptr_t>(next) <= reinterpret_cast<std::uintptr_t>(fp) ||
            (reinterpret_cast<std::uintptr_t>(next) & 7) != 0 ||
            reinterpret_cast<std::uintptr_t>(next) - floor > (std::uintptr_t{1} << 20)) {
            return -1;
        }
        fp = next;
        ra = fp[1];
    }
    // The program's frames: state (ra, sp, bp) at the first one.
    std::uintptr_t sp = reinterpret_cast<std::uintptr_t>(fp) + 16;
    std::uintptr_t bp = fp[0];
    int n = 0;
    while (n < max && ra != 0) {
        out[n++] = ra;
        const Rule r = rule_for(ra, gen);
        if (r.kind == Rule::last) break;
        if (r.kind != Rule::step) return -1;
        const std::uintptr_t cfa = add(r.cfa_on_bp ? bp : sp, r.cfa_off);
        // The stack grows down: every caller's frame is above its callee's. A CFA below (or a
        // wild one) means the frame-pointer register does not hold what the rule says: stop
        // trusting the walk before reading through it.
        if (cfa <= sp || cfa - floor > (std::uintptr_t{1} << 30) || (cfa & 7) != 0) return -1;
        if (r.bp_saved) bp = *reinterpret_cast<const std::uintptr_t*>(add(cfa, r.bp_off));
        ra = *reinterpret_cast<const std::uintptr_t*>(cfa - 8);
        sp = cfa;
    }
    return n;
}

void cfi_forget_rules() {
    g_generation.fetch_add(1, std::memory_order_acq_rel);
    // The 8 bits of generation in an entry wrap: empty the table as well (an entry being written
    // now carries the old generation and is refused until the wrap, long after this).
    for (CacheEntry& e : g_cache) {
        std::uint64_t s = e.seq.load(std::memory_order_relaxed);
        if ((s & 1) == 0 && e.seq.compare_exchange_strong(s, s + 1, std::memory_order_acquire)) {
            e.ip.store(0, std::memory_order_relaxed);
            e.rule.store(0, std::memory_order_relaxed);
            e.seq.store(s + 2, std::memory_order_release);
        }
    }
}

#else

int cfi_backtrace(std::uintptr_t*, int, std::uintptr_t, std::uintptr_t) { return -1; }
void cfi_forget_rules() {}

#endif

}  // namespace leakhunt::agent
