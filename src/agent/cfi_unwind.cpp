// .eh_frame decoding (DWARF call frame information, as in the System V x86-64 ABI and the LSB's
// .eh_frame_hdr) for the walker of cfi_unwind.hpp.
#include "agent/cfi_unwind.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstring>

namespace leakhunt::agent {

#if defined(__x86_64__)

namespace {

// Address arithmetic with a signed offset (wraps like the hardware's).
inline std::uintptr_t add(std::uintptr_t a, std::int64_t off) {
    return a + static_cast<std::uintptr_t>(off);
}

// One decoded rule: how to get from a frame (its return address) to its caller's.
struct Rule {
    enum Kind : std::uint8_t { unknown = 0, step = 1, last = 2, give_up = 3 };
    std::uint8_t kind;
    bool cfa_on_bp;     // CFA = rbp + cfa_off (else rsp + cfa_off)
    bool bp_saved;      // the caller's rbp is at CFA + bp_off (else rbp is unchanged)
    std::uint8_t pad;
    std::int32_t cfa_off;
    std::int32_t bp_off;
};

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

constexpr unsigned k_reg_bp = 6, k_reg_sp = 7, k_reg_ra = 16;

// A register's rule while the CFA program runs (only rbp and the return address matter).
struct RegRule {
    enum Kind : std::uint8_t { same, undefined, offset, other };
    Kind kind = same;
    std::int64_t off = 0;
};
struct CfaState {
    unsigned cfa_reg = k_reg_sp;
    std::int64_t cfa_off = 8;
    bool cfa_expr = false;
    RegRule bp, ra;
};

struct Reader {
    const std::uint8_t* p;
    const std::uint8_t* end;
    bool ok = true;

    bool more() const { return ok && p < end; }
    std::uint8_t u8() {
        if (p + 1 > end) {
            fail();
            return 0;
        }
        return *p++;
    }
    template <typename T>
    T fixed() {
        if (p + sizeof(T) > end) return static_cast<T>(fail());
        T v;
        std::memcpy(&v, p, sizeof v);
        p += sizeof v;
        return v;
    }
    std::uint64_t uleb() {
        std::uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            const std::uint8_t b = u8();
            if (!ok) return 0;
            v |= std::uint64_t{b & 0x7fu} << shift;
            if ((b & 0x80) == 0) return v;
        }
        return fail();
    }
    std::int64_t sleb() {
        std::int64_t v = 0;
        unsigned shift = 0;
        std::uint8_t b = 0;
        do {
            b = u8();
            if (!ok || shift >= 64) return static_cast<std::int64_t>(fail());
            v |= static_cast<std::int64_t>(std::uint64_t{b & 0x7fu} << shift);
            shift += 7;
        } while (b & 0x80);
        if (shift < 64 && (b & 0x40)) v |= -(std::int64_t{1} << shift);
        return v;
    }
    // A DW_EH_PE_* encoded pointer; `data` is the base of DW_EH_PE_datarel.
    std::uintptr_t encoded(std::uint8_t enc, std::uintptr_t data = 0) {
        if (enc == 0xff) return 0;  // omit
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        std::uintptr_t v = 0;
        switch (enc & 0x0f) {
            case 0x00: v = fixed<std::uint64_t>(); break;
            case 0x01: v = uleb(); break;
            case 0x02: v = fixed<std::uint16_t>(); break;
            case 0x03: v = fixed<std::uint32_t>(); break;
            case 0x04: v = fixed<std::uint64_t>(); break;
            case 0x09: v = static_cast<std::uintptr_t>(sleb()); break;
            case 0x0a: v = static_cast<std::uintptr_t>(static_cast<std::int64_t>(fixed<std::int16_t>())); break;
            case 0x0b: v = static_cast<std::uintptr_t>(static_cast<std::int64_t>(fixed<std::int32_t>())); break;
            case 0x0c: v = fixed<std::uint64_t>(); break;
            default: return fail();
        }
        if (v == 0 && (enc & 0x70) == 0) return v;
        switch (enc & 0x70) {
            case 0x00: break;
            case 0x10: v += at; break;    // pcrel
            case 0x30: v += data; break;  // datarel
            default: return fail();       // textrel, funcrel, aligned: not emitted for .eh_frame
        }
        if (enc & 0x80) return fail();  // indirect: only for personality pointers, skipped
        return v;
    }
    std::uint64_t fail() {
        ok = false;
        p = end;
        return 0;
    }
};

// Applies one register rule opcode to rbp or the return address; other registers are ignored
// (a CFA that depends on them is refused below).
void set_rule(CfaState& st, std::uint64_t reg, RegRule::Kind kind, std::int64_t off = 0) {
    RegRule* r = reg == k_reg_bp ? &st.bp : reg == k_reg_ra ? &st.ra : nullptr;
    if (r != nullptr) *r = RegRule{kind, off};
}

// Runs CFA instructions from `r` up to the row of `pc` (stops before an advance past it).
// `init`: the state after the CIE's instructions (for DW_CFA_restore). False if malformed.
bool run_cfa(Reader r, CfaState& st, const CfaState& init, std::uintptr_t loc, std::uintptr_t pc,
             std::uint64_t code_align, std::int64_t data_align) {
    CfaState saved[8];
    int nsaved = 0;
    while (r.more()) {
        const std::uint8_t op = r.u8();
        const std::uint8_t low = op & 0x3f;
        std::uint64_t advance = 0;
        switch (op >> 6) {
            case 1: advance = low; break;
            case 2: set_rule(st, low, RegRule::offset, static_cast<std::int64_t>(r.uleb()) * data_align); continue;
            case 3:  // restore: back to the CIE's rule
                if (low == k_reg_bp) st.bp = init.bp;
                if (low == k_reg_ra) st.ra = init.ra;
                continue;
            default: break;
        }
        if (op >> 6 == 0) {
            switch (op) {
                case 0x00: break;  // nop
                case 0x01: {       // set_loc: not emitted by GCC or Clang for .eh_frame
                    return false;
                }
                case 0x02: advance = r.u8(); break;
                case 0x03: advance = r.fixed<std::uint16_t>(); break;
                case 0x04: advance = r.fixed<std::uint32_t>(); break;
                case 0x05: {  // offset_extended
                    const std::uint64_t reg = r.uleb();
                    set_rule(st, reg, RegRule::offset, static_cast<std::int64_t>(r.uleb()) * data_align);
                    break;
                }
                case 0x06: {  // restore_extended
                    const std::uint64_t reg = r.uleb();
                    if (reg == k_reg_bp) st.bp = init.bp;
                    if (reg == k_reg_ra) st.ra = init.ra;
                    break;
                }
                case 0x07: set_rule(st, r.uleb(), RegRule::undefined); break;
                case 0x08: set_rule(st, r.uleb(), RegRule::same); break;
                case 0x09: {  // register: reg's value is in another register
                    const std::uint64_t reg = r.uleb();
                    (void)r.uleb();
                    set_rule(st, reg, RegRule::other);
                    break;
                }
                case 0x0a:
                    if (nsaved == 8) return false;
                    saved[nsaved++] = st;
                    break;
                case 0x0b: {
                    if (nsaved == 0) return false;
                    // With the CFA, as libgcc and libunwind do (GCC's epilogues rely on it).
                    st = saved[--nsaved];
                    break;
                }
                case 0x0c:
                    st.cfa_reg = static_cast<unsigned>(r.uleb());
                    st.cfa_off = static_cast<std::int64_t>(r.uleb());
                    st.cfa_expr = false;
                    break;
                case 0x0d: st.cfa_reg = static_cast<unsigned>(r.uleb()); break;
                case 0x0e: st.cfa_off = static_cast<std::int64_t>(r.uleb()); break;
                case 0x0f: {  // def_cfa_expression
                    const std::uint64_t n = r.uleb();
                    if (n > static_cast<std::uint64_t>(r.end - r.p)) return false;
                    r.p += n;
                    st.cfa_expr = true;
                    break;
                }
                case 0x10:    // expression
                case 0x16: {  // val_expression
                    const std::uint64_t reg = r.uleb();
                    const std::uint64_t n = r.uleb();
                    if (n > static_cast<std::uint64_t>(r.end - r.p)) return false;
                    r.p += n;
                    set_rule(st, reg, RegRule::other);
                    break;
                }
                case 0x11: {  // offset_extended_sf
                    const std::uint64_t reg = r.uleb();
                    set_rule(st, reg, RegRule::offset, r.sleb() * data_align);
                    break;
                }
                case 0x12:
                    st.cfa_reg = static_cast<unsigned>(r.uleb());
                    st.cfa_off = r.sleb() * data_align;
                    st.cfa_expr = false;
                    break;
                case 0x13: st.cfa_off = r.sleb() * data_align; break;
                case 0x14:    // val_offset
                case 0x15: {  // val_offset_sf
                    const std::uint64_t reg = r.uleb();
                    if (op == 0x14) {
                        (void)r.uleb();
                    } else {
                        (void)r.sleb();
                    }
                    set_rule(st, reg, RegRule::other);
                    break;
                }
                case 0x2e: (void)r.uleb(); break;  // GNU_args_size
                case 0x2f: {                        // GNU_negative_offset_extended
                    const std::uint64_t reg = r.uleb();
                    set_rule(st, reg, RegRule::offset, -static_cast<std::int64_t>(r.uleb()) * data_align);
                    break;
                }
                default: return false;
            }
        }
        if (advance != 0) {
            const std::uint64_t step = advance * code_align;
            if (loc + step > pc) return r.ok;  // the row of pc is complete
            loc += step;
        }
    }
    return r.ok;
}

// Decodes the rule for the instruction at `pc` (a return address minus one).
Rule decode_rule(std::uintptr_t pc) {
    Rule give_up{Rule::give_up, false, false, 0, 0, 0};
    dl_find_object found;
    if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0 || found.dlfo_eh_frame == nullptr) {
        return give_up;
    }
    // .eh_frame_hdr: version, three encodings, the .eh_frame pointer, the count, the table.
    const auto* hdr = static_cast<const std::uint8_t*>(found.dlfo_eh_frame);
    const auto hdr_addr = reinterpret_cast<std::uintptr_t>(hdr);
    Reader h{hdr, hdr + 16 + (std::size_t{1} << 30)};  // bounded by the table's count below
    if (h.u8() != 1) return give_up;
    const std::uint8_t ptr_enc = h.u8(), count_enc = h.u8(), table_enc = h.u8();
    (void)h.encoded(ptr_enc, hdr_addr);
    const std::uintptr_t count = h.encoded(count_enc, hdr_addr);
    if (!h.ok || table_enc != 0x3b || count == 0) return give_up;  // datarel sdata4 pairs
    const auto* table = reinterpret_cast<const std::int32_t*>(h.p);
    std::size_t lo = 0, hi = count;  // the last entry whose start is <= pc
    while (hi - lo > 1) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (add(hdr_addr, table[2 * mid]) <= pc) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if (add(hdr_addr, table[2 * lo]) > pc) return give_up;
    const auto* fde = hdr + table[2 * lo + 1];

    // The FDE and its CIE.
    std::uint32_t fde_len;
    std::memcpy(&fde_len, fde, 4);
    if (fde_len == 0 || fde_len == 0xffffffffu) return give_up;
    Reader f{fde + 4, fde + 4 + fde_len};
    const auto cie_field = reinterpret_cast<std::uintptr_t>(f.p);
    const std::int32_t cie_delta = f.fixed<std::int32_t>();
    if (cie_delta == 0) return give_up;
    const auto* cie = reinterpret_cast<const std::uint8_t*>(cie_field - static_cast<std::uintptr_t>(cie_delta));
    std::uint32_t cie_len;
    std::memcpy(&cie_len, cie, 4);
    if (cie_len == 0 || cie_len == 0xffffffffu) return give_up;
    Reader c{cie + 4, cie + 4 + cie_len};
    if (c.fixed<std::uint32_t>() != 0) return give_up;  // not a CIE
    const std::uint8_t version = c.u8();
    if (version != 1 && version != 3) return give_up;
    const char* aug = reinterpret_cast<const char*>(c.p);
    while (c.more() && *c.p != 0) ++c.p;
    (void)c.u8();
    if (aug[0] != '\0' && aug[0] != 'z') return give_up;
    const std::uint64_t code_align = c.uleb();
    const std::int64_t data_align = c.sleb();
    const std::uint64_t ra_reg = version == 1 ? c.u8() : c.uleb();
    if (ra_reg != k_reg_ra) return give_up;
    std::uint8_t fde_enc = 0;
    if (aug[0] == 'z') {
        const std::uint64_t n = c.uleb();
        Reader a{c.p, c.p + n};
        if (n > static_cast<std::uint64_t>(c.end - c.p)) return give_up;
        c.p += n;
        for (const char* k = aug + 1; *k != '\0'; ++k) {
            switch (*k) {
                case 'P': {
                    const std::uint8_t enc = a.u8();
                    // Skip the personality pointer by its size only (it may be indirect).
                    switch (enc & 0x0f) {
                        case 0x00: case 0x04: case 0x0c: a.p += 8; break;
                        case 0x02: case 0x0a: a.p += 2; break;
                        case 0x03: case 0x0b: a.p += 4; break;
                        case 0x01: (void)a.uleb(); break;
                        case 0x09: (void)a.sleb(); break;
                        default: return give_up;
                    }
                    break;
                }
                case 'L': (void)a.u8(); break;
                case 'R': fde_enc = a.u8(); break;
                case 'B': break;
                default: return give_up;  // 'S' (a signal frame) and the unknown
            }
        }
        if (!a.ok || a.p > a.end) return give_up;
    }
    if (!c.ok) return give_up;
    const std::uintptr_t start = f.encoded(fde_enc, hdr_addr);
    const std::uintptr_t range = f.encoded(static_cast<std::uint8_t>(fde_enc & 0x0f));
    if (!f.ok || pc < start || pc - start >= range) return give_up;
    if (aug[0] == 'z') {
        const std::uint64_t n = f.uleb();
        if (n > static_cast<std::uint64_t>(f.end - f.p)) return give_up;
        f.p += n;
    }

    CfaState init;
    init.ra = RegRule{RegRule::offset, -8};
    if (!run_cfa(c, init, init, 0, ~std::uintptr_t{0}, code_align, data_align)) return give_up;
    CfaState st = init;
    if (!run_cfa(f, st, init, start, pc, code_align, data_align)) return give_up;

    if (st.ra.kind == RegRule::undefined) return Rule{Rule::last, false, false, 0, 0, 0};
    if (st.cfa_expr || (st.cfa_reg != k_reg_sp && st.cfa_reg != k_reg_bp)) return give_up;
    if (st.ra.kind != RegRule::offset || st.ra.off != -8) return give_up;
    if (st.bp.kind != RegRule::same && st.bp.kind != RegRule::offset) return give_up;
    if (st.cfa_off < 8 || st.cfa_off > (1 << 30) || st.bp.off < -32768 || st.bp.off > 32767) {
        return give_up;
    }
    return Rule{Rule::step, st.cfa_reg == k_reg_bp, st.bp.kind == RegRule::offset, 0,
                static_cast<std::int32_t>(st.cfa_off), static_cast<std::int32_t>(st.bp.off)};
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
