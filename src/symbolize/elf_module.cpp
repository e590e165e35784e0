// libdwfl in offline mode: each file is reported alone with dwfl_report_elf at its own p_vaddr
// (bias 0 for ET_DYN and ET_EXEC alike), so module addresses are ELF virtual addresses and the
// caller's file-offset -> vaddr conversion is all the relocation needed. Inline frames follow
// eu-addr2line -i: the innermost function scope at the pc (from the CU's CuIndex; the reference
// path asks dwarf_getscopes) and its concrete parents; the innermost function takes its line
// from the line table, each caller takes the DW_AT_call_file/line of its callee's inlined scope.
#include "symbolize/elf_module.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "symbolize/cu_index.hpp"
#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

// Offline callbacks: the ELF comes from dwfl_report_elf; debug info from .gnu_debuglink or
// the build-ID tree under the default path (":.debug:/usr/lib/debug").
const Dwfl_Callbacks k_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

std::string dwfl_error_text() {
    const char* msg = dwfl_errmsg(-1);
    return msg != nullptr ? msg : "unknown libdwfl error";
}

// A string attribute, following DW_AT_abstract_origin and DW_AT_specification; null if absent.
// The pointer is into the DWARF data, stable while the Dwfl session lives.
const char* attr_cstring(Dwarf_Die* die, unsigned int name) {
    Dwarf_Attribute attr;
    if (dwarf_attr_integrate(die, name, &attr) == nullptr) return nullptr;
    return dwarf_formstring(&attr);
}

int64_t attr_udata(Dwarf_Die* die, unsigned int name) {
    Dwarf_Attribute attr;
    Dwarf_Word value = 0;
    if (dwarf_attr(die, name, &attr) == nullptr || dwarf_formudata(&attr, &value) != 0) return 0;
    return static_cast<int64_t>(value);
}

bool is_function_scope(Dwarf_Die* die) {
    const int tag = dwarf_tag(die);
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_entry_point;
}

using DemangleCache = std::unordered_map<const char*, std::string>;

// The function's name: the demangled linkage name (qualified, with parameters) if there is one,
// else DW_AT_name (C functions). Follows DW_AT_abstract_origin and DW_AT_specification. Every
// inlined copy of a function shares its linkage name string, so each is demangled once.
void name_frame(Dwarf_Die* die, Frame& frame, DemangleCache& demangled) {
    const char* linkage = attr_cstring(die, DW_AT_linkage_name);
    if (linkage == nullptr || *linkage == '\0')
        linkage = attr_cstring(die, DW_AT_MIPS_linkage_name);
    if (linkage != nullptr && *linkage != '\0') {
        frame.system_name = linkage;
        auto [it, inserted] = demangled.try_emplace(linkage);
        if (inserted) it->second = demangle(frame.system_name);
        frame.function = it->second;
        return;
    }
    const char* name = attr_cstring(die, DW_AT_name);
    frame.function = name != nullptr ? name : "";
    frame.system_name = frame.function;
}

// The source file at index `index` of the CU's file table, or "".
std::string call_file(Dwarf_Die* cudie, int64_t index) {
    Dwarf_Files* files = nullptr;
    size_t count = 0;
    if (index <= 0 || dwarf_getsrcfiles(cudie, &files, &count) != 0) return {};
    if (static_cast<uint64_t>(index) >= count) return {};
    const char* name = dwarf_filesrc(files, static_cast<size_t>(index), nullptr, nullptr);
    return name != nullptr ? name : std::string{};
}

}  // namespace

void ElfModule::DwflDeleter::operator()(Dwfl* d) const {
    dwfl_end(d);
}

ElfModule::ElfModule(const std::filesystem::path& path) : m_dwfl(dwfl_begin(&k_callbacks)) {
    if (!m_dwfl) {
        throw util::Error("cannot symbolize {}: libdwfl failed to start ({})", path.string(),
                          dwfl_error_text());
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw util::Error(
            "cannot open {} for symbols: {} (frames in it stay unsymbolized; pass "
            "the profile on the host that ran the program)",
            path.string(), util::errno_text(errno));
    }
    // On success libdwfl owns fd; on failure we close it.
    dwfl_report_begin(m_dwfl.get());
    m_module = dwfl_report_elf(m_dwfl.get(), path.filename().c_str(), path.c_str(), fd, 0, true);
    if (m_module == nullptr) {
        ::close(fd);
        throw util::Error("cannot read {} for symbols: {} (is it an ELF file?)", path.string(),
                          dwfl_error_text());
    }
    dwfl_report_end(m_dwfl.get(), nullptr, nullptr);

    GElf_Addr bias = 0;
    Elf* elf = dwfl_module_getelf(m_module, &bias);
    if (elf == nullptr) {
        throw util::Error("cannot read {} for symbols: {}", path.string(), dwfl_error_text());
    }
    m_bias = bias;
    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) == 0) {
        for (size_t i = 0; i < phnum; ++i) {
            GElf_Phdr phdr;
            if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr) continue;
            if (phdr.p_type != PT_LOAD) continue;
            m_segments.push_back(
                {phdr.p_offset, phdr.p_filesz, phdr.p_vaddr, (phdr.p_flags & PF_X) != 0});
        }
    }
    const unsigned char* bits = nullptr;
    GElf_Addr note_vaddr = 0;
    const int len = dwfl_module_build_id(m_module, &bits, &note_vaddr);
    for (int i = 0; i < len; ++i) m_build_id += fmt::format("{:02x}", bits[i]);
}

ElfModule::~ElfModule() = default;

std::optional<uint64_t> ElfModule::vaddr_of_offset(uint64_t file_offset) const {
    for (bool want_exec : {true, false}) {
        for (const auto& s : m_segments) {
            if (s.executable != want_exec) continue;
            if (file_offset >= s.offset && file_offset - s.offset < s.filesz) {
                return s.vaddr + (file_offset - s.offset);
            }
        }
    }
    return std::nullopt;
}

namespace {

// The innermost file:line at `addr`, from the line table.
struct Position {
    std::string file;
    int64_t line = 0;
};

// `cudie` is the CU at `addr` (or null); its line table answers when libdwfl's lookup, which
// goes through .debug_aranges only, finds nothing.
Position line_table_position(Dwfl_Module* module, Dwarf_Addr addr, Dwarf_Die* cudie,
                             Dwarf_Addr cu_bias) {
    Position at;
    if (Dwfl_Line* line = dwfl_module_getsrc(module, addr)) {
        int lineno = 0;
        Dwarf_Addr line_addr = 0;
        if (const char* file =
                dwfl_lineinfo(line, &line_addr, &lineno, nullptr, nullptr, nullptr)) {
            at.file = file;
            at.line = lineno;
        }
    } else if (cudie != nullptr) {
        if (Dwarf_Line* row = dwarf_getsrc_die(cudie, addr - cu_bias)) {
            int lineno = 0;
            const char* file = dwarf_linesrc(row, nullptr, nullptr);
            if (file != nullptr && dwarf_lineno(row, &lineno) == 0) {
                at.file = file;
                at.line = lineno;
            }
        }
    }
    return at;
}

// Appends the frame of function scope `scope` at `at`; returns whether it was inlined, and then
// sets `at` to its call site (the caller's position).
bool add_frame(Dwarf_Die* cudie, Dwarf_Die* scope, Position& at, DemangleCache& demangled,
               std::vector<Frame>& frames) {
    Frame frame;
    name_frame(scope, frame, demangled);
    frame.file = at.file;
    frame.line = at.line;
    frames.push_back(std::move(frame));
    if (dwarf_tag(scope) != DW_TAG_inlined_subroutine) return false;
    at.file = call_file(cudie, attr_udata(scope, DW_AT_call_file));
    at.line = attr_udata(scope, DW_AT_call_line);
    return true;
}

// The CU at `addr`: libdwfl's (from .debug_aranges), else from the CUs' own ranges (`ranges`,
// built on first use).
Dwarf_Die* cu_at(Dwfl_Module* module, std::unique_ptr<CuRanges>& ranges, Dwarf_Addr addr,
                 Dwarf_Addr& cu_bias) {
    Dwarf_Die* cudie = dwfl_module_addrdie(module, addr, &cu_bias);
    if (cudie == nullptr) {
        if (!ranges) ranges = std::make_unique<CuRanges>(module);
        cudie = ranges->find(addr, &cu_bias);
    }
    return cudie;
}

// Without DWARF (or when it has no name here), the symbol table names the function.
void add_symbol_table_name(Dwfl_Module* module, Dwarf_Addr addr, const Position& leaf,
                           std::vector<Frame>& frames) {
    if (!frames.empty() && !frames.back().function.empty()) return;
    GElf_Off offset = 0;
    GElf_Sym sym;
    const char* name = dwfl_module_addrinfo(module, addr, &offset, &sym, nullptr, nullptr, nullptr);
    if (name == nullptr) return;
    if (frames.empty()) {
        Frame frame;
        frame.file = leaf.file;
        frame.line = leaf.line;
        frames.push_back(std::move(frame));
    }
    frames.back().system_name = name;
    frames.back().function = demangle(name);
}

// The frames at libdwfl address `addr`: those `walk(cudie, cu_bias, leaf, frames)` adds from the
// scopes of its compile unit (when it has one), innermost first, then the symbol table's name for
// the outermost (or the only) frame.
template <class Walk>
std::vector<Frame> frames_at(Dwfl_Module* module, std::unique_ptr<CuRanges>& ranges,
                             Dwarf_Addr addr, Walk walk) {
    Dwarf_Addr cu_bias = 0;
    Dwarf_Die* cudie = cu_at(module, ranges, addr, cu_bias);
    const Position leaf = line_table_position(module, addr, cudie, cu_bias);
    std::vector<Frame> frames;
    if (cudie != nullptr) walk(cudie, cu_bias, leaf, frames);
    add_symbol_table_name(module, addr, leaf, frames);
    return frames;
}

}  // namespace

std::vector<Frame> ElfModule::lookup(uint64_t vaddr) const {
    const Dwarf_Addr addr = vaddr + m_bias;
    return frames_at(
        m_module, m_cu_ranges, addr,
        [&](Dwarf_Die* cudie, Dwarf_Addr cu_bias, Position at, std::vector<Frame>& frames) {
            auto& index = m_cu_indexes[dwarf_dieoffset(cudie)];
            if (!index) index = std::make_unique<CuIndex>(cudie);
            for (int32_t s = index->innermost(addr - cu_bias); s >= 0; s = index->scope(s).parent) {
                Dwarf_Die scope = index->scope(s).die;
                if (!add_frame(cudie, &scope, at, m_demangled, frames)) break;
            }
        });
}

std::vector<Frame> ElfModule::lookup_by_scopes(uint64_t vaddr) const {
    const Dwarf_Addr addr = vaddr + m_bias;
    return frames_at(
        m_module, m_cu_ranges, addr,
        [&](Dwarf_Die* cudie, Dwarf_Addr cu_bias, Position at, std::vector<Frame>& frames) {
            // dwarf_getscopes stops at an inlined instance and continues in its abstract origin;
            // the callers are the concrete parents of the innermost scope (as eu-addr2line -i
            // does).
            Dwarf_Die* scopes = nullptr;
            int n = dwarf_getscopes(cudie, addr - cu_bias, &scopes);
            if (n > 0) {
                Dwarf_Die innermost = scopes[0];
                std::free(scopes);
                scopes = nullptr;
                n = dwarf_getscopes_die(&innermost, &scopes);
            }
            for (int i = 0; i < n; ++i) {
                if (!is_function_scope(&scopes[i])) continue;
                if (!add_frame(cudie, &scopes[i], at, m_demangled, frames)) break;
            }
            std::free(scopes);
        });
}

namespace {

// The symbol of type `type` whose [value, value + size) contains `at`; the smallest such.
std::optional<ElfModule::DataSymbol> find_symbol(Dwfl_Module* module, uint64_t at, int type,
                                                 uint64_t bias) {
    const int n = dwfl_module_getsymtab(module);
    std::optional<ElfModule::DataSymbol> best;
    uint64_t best_size = 0;
    for (int i = 1; i < n; ++i) {
        GElf_Sym sym;
        GElf_Addr addr = 0;
        const char* name =
            dwfl_module_getsym_info(module, i, &sym, &addr, nullptr, nullptr, nullptr);
        if (name == nullptr || GELF_ST_TYPE(sym.st_info) != type) continue;
        const uint64_t start = type == STT_TLS ? sym.st_value : addr - bias;
        const uint64_t size = sym.st_size == 0 ? 1 : sym.st_size;
        if (at < start || at - start >= size) continue;
        if (best && size >= best_size) continue;
        best = ElfModule::DataSymbol{demangle(name), at - start, {}, 0};
        best_size = size;
    }
    return best;
}

}  // namespace

std::optional<ElfModule::DataSymbol> ElfModule::data_symbol(uint64_t vaddr) const {
    auto sym = find_symbol(m_module, vaddr, STT_OBJECT, m_bias);
    if (!sym) return sym;
    if (!m_variables) index_variables();
    if (auto it = m_variables->find(vaddr - sym->offset); it != m_variables->end()) {
        sym->file = it->second.file;
        sym->line = it->second.line;
    }
    return sym;
}

void ElfModule::index_variables() const {
    m_variables.emplace();
    Dwarf_Addr dwarf_bias = 0;
    for (Dwarf_Die* cu = dwfl_module_nextcu(m_module, nullptr, &dwarf_bias); cu != nullptr;
         cu = dwfl_module_nextcu(m_module, cu, &dwarf_bias)) {
        // Depth-first over the CU's DIEs, with an explicit stack of the DIEs to visit.
        std::vector<Dwarf_Die> todo;
        Dwarf_Die child;
        if (dwarf_child(cu, &child) == 0) todo.push_back(child);
        while (!todo.empty()) {
            Dwarf_Die die = todo.back();
            todo.pop_back();
            Dwarf_Die next;
            if (dwarf_siblingof(&die, &next) == 0) todo.push_back(next);
            if (dwarf_haschildren(&die) > 0 && dwarf_child(&die, &child) == 0) {
                todo.push_back(child);
            }
            if (dwarf_tag(&die) != DW_TAG_variable) continue;
            Dwarf_Attribute attr;
            Dwarf_Op* ops = nullptr;
            size_t nops = 0;
            if (dwarf_attr(&die, DW_AT_location, &attr) == nullptr ||
                dwarf_getlocation(&attr, &ops, &nops) != 0 || nops != 1 ||
                ops[0].atom != DW_OP_addr) {
                continue;
            }
            const char* file = dwarf_decl_file(&die);  // follows DW_AT_specification
            int line = 0;
            if (file == nullptr || dwarf_decl_line(&die, &line) != 0) continue;
            const uint64_t vaddr = ops[0].number + dwarf_bias - m_bias;
            m_variables->try_emplace(vaddr, Declaration{file, line});
        }
    }
}

std::optional<ElfModule::DataSymbol> ElfModule::tls_symbol(uint64_t offset) const {
    return find_symbol(m_module, offset, STT_TLS, m_bias);
}

}  // namespace leakhunt::symbolize
