// .eh_frame decoding for the agent's stack walker (eh_frame.hpp): DWARF call frame information
// as in the System V x86-64 ABI and the LSB's .eh_frame_hdr.
#include "agent/eh_frame.hpp"

#include <cstddef>
#include <cstring>

namespace leakhunt::agent {
namespace {

// True if [addr, addr + n) lies inside [lo, hi).
inline bool inside(std::uintptr_t lo, std::uintptr_t hi, std::uintptr_t addr, std::uint64_t n) {
    return addr >= lo && addr <= hi && n <= hi - addr;
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
    // A signed fixed-size value, as an address offset.
    template <typename T>
    std::uintptr_t sign_extended() {
        return static_cast<std::uintptr_t>(static_cast<std::int64_t>(fixed<T>()));
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
            case 0x00:
                v = fixed<std::uint64_t>();
                break;
            case 0x01:
                v = uleb();
                break;
            case 0x02:
                v = fixed<std::uint16_t>();
                break;
            case 0x03:
                v = fixed<std::uint32_t>();
                break;
            case 0x04:
                v = fixed<std::uint64_t>();
                break;
            case 0x09:
                v = static_cast<std::uintptr_t>(sleb());
                break;
            case 0x0a:
                v = sign_extended<std::int16_t>();
                break;
            case 0x0b:
                v = sign_extended<std::int32_t>();
                break;
            case 0x0c:
                v = fixed<std::uint64_t>();
                break;
            default:
                return fail();
        }
        if (v == 0 && (enc & 0x70) == 0) return v;
        switch (enc & 0x70) {
            case 0x00:
                break;
            case 0x10:
                v += at;
                break;  // pcrel
            case 0x30:
                v += data;
                break;  // datarel
            default:
                return fail();  // textrel, funcrel, aligned: not emitted for .eh_frame
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
    // An unsigned factored offset, scaled by the data alignment (-8 on x86-64).
    const auto factored = [&r, data_align] {
        return static_cast<std::int64_t>(r.uleb()) * data_align;
    };
    while (r.more()) {
        const std::uint8_t op = r.u8();
        const std::uint8_t low = op & 0x3f;
        std::uint64_t advance = 0;
        switch (op >> 6) {
            case 1:
                advance = low;
                break;
            case 2:
                set_rule(st, low, RegRule::offset, factored());
                continue;
            case 3:  // restore: back to the CIE's rule
                if (low == k_reg_bp) st.bp = init.bp;
                if (low == k_reg_ra) st.ra = init.ra;
                continue;
            default:
                break;
        }
        if (op >> 6 == 0) {
            switch (op) {
                case 0x00:
                    break;    // nop
                case 0x01: {  // set_loc: not emitted by GCC or Clang for .eh_frame
                    return false;
                }
                case 0x02:
                    advance = r.u8();
                    break;
                case 0x03:
                    advance = r.fixed<std::uint16_t>();
                    break;
                case 0x04:
                    advance = r.fixed<std::uint32_t>();
                    break;
                case 0x05: {  // offset_extended
                    const std::uint64_t reg = r.uleb();
                    set_rule(st, reg, RegRule::offset, factored());
                    break;
                }
                case 0x06: {  // restore_extended
                    const std::uint64_t reg = r.uleb();
                    if (reg == k_reg_bp) st.bp = init.bp;
                    if (reg == k_reg_ra) st.ra = init.ra;
                    break;
                }
                case 0x07:
                    set_rule(st, r.uleb(), RegRule::undefined);
                    break;
                case 0x08:
                    set_rule(st, r.uleb(), RegRule::same);
                    break;
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
                case 0x0d:
                    st.cfa_reg = static_cast<unsigned>(r.uleb());
                    break;
                case 0x0e:
                    st.cfa_off = static_cast<std::int64_t>(r.uleb());
                    break;
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
                case 0x13:
                    st.cfa_off = r.sleb() * data_align;
                    break;
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
                case 0x2e:
                    (void)r.uleb();
                    break;    // GNU_args_size
                case 0x2f: {  // GNU_negative_offset_extended
                    const std::uint64_t reg = r.uleb();
                    set_rule(st, reg, RegRule::offset, -factored());
                    break;
                }
                default:
                    return false;
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

// The body of the CIE or FDE at `addr` (after its 32-bit length) into `out`; false if it does not
// lie inside [lo, hi) or has a length this decoder does not take (0: a terminator; 64-bit).
bool entry_at(std::uintptr_t lo, std::uintptr_t hi, std::uintptr_t addr, Reader& out) {
    if (!inside(lo, hi, addr, 8)) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(addr);
    std::uint32_t len;
    std::memcpy(&len, p, 4);
    if (len == 0 || len == 0xffffffffu || !inside(lo, hi, addr + 4, len)) return false;
    out = Reader{p + 4, p + 4 + len};
    return true;
}

}  // namespace

CfiRule decode_cfi_rule(const std::uint8_t* hdr, std::uintptr_t lo, std::uintptr_t hi,
                        std::uintptr_t pc) {
    const CfiRule give_up{CfiRule::give_up, false, false, 0, 0, 0};
    // .eh_frame_hdr: version, three encodings, the .eh_frame pointer, the count, the table.
    const auto hdr_addr = reinterpret_cast<std::uintptr_t>(hdr);
    if (!inside(lo, hi, hdr_addr, 4)) return give_up;
    Reader h{hdr, reinterpret_cast<const std::uint8_t*>(hi)};
    if (h.u8() != 1) return give_up;
    const std::uint8_t ptr_enc = h.u8(), count_enc = h.u8(), table_enc = h.u8();
    (void)h.encoded(ptr_enc, hdr_addr);
    const std::uintptr_t count = h.encoded(count_enc, hdr_addr);
    if (!h.ok || table_enc != 0x3b || count == 0) return give_up;  // datarel sdata4 pairs
    const auto table_addr = reinterpret_cast<std::uintptr_t>(h.p);
    if (count > (hi - table_addr) / 8) return give_up;
    const auto* table = reinterpret_cast<const std::int32_t*>(h.p);
    std::size_t first = 0, past = count;  // the last entry whose start is <= pc
    while (past - first > 1) {
        const std::size_t mid = first + (past - first) / 2;
        if (add_offset(hdr_addr, table[2 * mid]) <= pc) {
            first = mid;
        } else {
            past = mid;
        }
    }
    if (add_offset(hdr_addr, table[2 * first]) > pc) return give_up;
    const std::uintptr_t fde_addr = add_offset(hdr_addr, table[2 * first + 1]);

    // The FDE and its CIE.
    Reader f{nullptr, nullptr};
    if (!entry_at(lo, hi, fde_addr, f)) return give_up;
    const auto cie_field = reinterpret_cast<std::uintptr_t>(f.p);
    const std::int32_t cie_delta = f.fixed<std::int32_t>();
    if (cie_delta == 0) return give_up;
    Reader c{nullptr, nullptr};
    const std::uintptr_t cie_addr = add_offset(cie_field, -static_cast<std::int64_t>(cie_delta));
    if (!entry_at(lo, hi, cie_addr, c)) return give_up;
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
                        case 0x00:
                        case 0x04:
                        case 0x0c:
                            a.p += 8;
                            break;
                        case 0x02:
                        case 0x0a:
                            a.p += 2;
                            break;
                        case 0x03:
                        case 0x0b:
                            a.p += 4;
                            break;
                        case 0x01:
                            (void)a.uleb();
                            break;
                        case 0x09:
                            (void)a.sleb();
                            break;
                        default:
                            return give_up;
                    }
                    break;
                }
                case 'L':
                    (void)a.u8();
                    break;
                case 'R':
                    fde_enc = a.u8();
                    break;
                case 'B':
                    break;
                default:
                    return give_up;  // 'S' (a signal frame) and the unknown
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

    if (st.ra.kind == RegRule::undefined) return CfiRule{CfiRule::last, false, false, 0, 0, 0};
    if (st.cfa_expr || (st.cfa_reg != k_reg_sp && st.cfa_reg != k_reg_bp)) return give_up;
    if (st.ra.kind != RegRule::offset || st.ra.off != -8) return give_up;
    if (st.bp.kind != RegRule::same && st.bp.kind != RegRule::offset) return give_up;
    if (st.cfa_off < 8 || st.cfa_off > (1 << 30) || st.bp.off < -32768 || st.bp.off > 32767) {
        return give_up;
    }
    return CfiRule{CfiRule::step,
                   st.cfa_reg == k_reg_bp,
                   st.bp.kind == RegRule::offset,
                   0,
                   static_cast<std::int32_t>(st.cfa_off),
                   static_cast<std::int32_t>(st.bp.off)};
}

}  // namespace leakhunt::agent
