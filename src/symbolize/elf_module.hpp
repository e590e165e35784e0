// One ELF file opened for offline symbolization with elfutils libdwfl: its loadable segments (to
// turn a file offset into an ELF virtual address), its build ID, and lookups of an address into
// frames with inline expansion from DWARF, falling back to the ELF symbol table. Separate debug
// files are found the standard way (.gnu_debuglink, /usr/lib/debug/.build-id). Each compilation
// unit's functions are indexed by address on the first lookup into it (CuIndex), so a lookup is a
// few binary searches. Owns its Dwfl session and those indexes; not thread-safe (libdwfl and the
// indexes fill lazily).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "symbolize/frame.hpp"

// libdwfl's handles (elfutils/libdwfl.h), declared here so that libdw stays out of our headers.
struct Dwfl;
struct Dwfl_Module;

namespace leakhunt::symbolize {

class CuIndex;
class CuRanges;

class ElfModule {
  public:
    // Opens `path`; throws util::Error naming the file and the reason.
    explicit ElfModule(const std::filesystem::path& path);
    ElfModule(const ElfModule&) = delete;
    ElfModule& operator=(const ElfModule&) = delete;
    ~ElfModule();

    // NT_GNU_BUILD_ID as lower-case hex; empty if the file has none.
    const std::string& build_id() const { return m_build_id; }

    // The ELF virtual address at `file_offset`, from the PT_LOAD segment containing it
    // (executable segments first); nullopt if no segment maps that offset.
    std::optional<uint64_t> vaddr_of_offset(uint64_t file_offset) const;

    // Frames at ELF virtual address `vaddr`, innermost (inlined callee) first, the function that
    // contains them last; empty when neither DWARF nor the symbol table knows the address.
    // Module name and offset are left for the caller to fill.
    std::vector<Frame> lookup(uint64_t vaddr) const;

    // The same frames found the slow way: dwarf_getscopes and dwarf_getscopes_die walk the whole
    // compilation unit's DIE tree for this one address (milliseconds in a large CU). Kept as the
    // reference that the tests compare lookup() against; do not use it for real work.
    std::vector<Frame> lookup_by_scopes(uint64_t vaddr) const;

    // A data symbol (a global variable) from the ELF symbol table: the object containing ELF
    // virtual address `vaddr`, or a TLS variable (STT_TLS) at `offset` inside the module's TLS
    // block. Demangled. For the heap scan's roots. A global's declaration (file and line) comes
    // from DWARF when the module has it: the DW_TAG_variable located at the object's address
    // (namespace members, class statics and function-local statics alike); found by one walk of
    // every CU's DIE tree on the first such lookup.
    struct DataSymbol {
        std::string name;
        uint64_t offset = 0;  // of the address inside the object
        std::string file;     // where it is declared; empty when unknown
        int64_t line = 0;
    };
    std::optional<DataSymbol> data_symbol(uint64_t vaddr) const;
    std::optional<DataSymbol> tls_symbol(uint64_t offset) const;

  private:
    struct Segment {
        uint64_t offset = 0;
        uint64_t filesz = 0;
        uint64_t vaddr = 0;
        bool executable = false;
    };
    struct DwflDeleter {
        void operator()(::Dwfl* d) const;
    };

    std::unique_ptr<::Dwfl, DwflDeleter> m_dwfl;
    ::Dwfl_Module* m_module = nullptr;
    uint64_t m_bias = 0;  // libdwfl address = ELF vaddr + m_bias
    std::vector<Segment> m_segments;
    std::string m_build_id;
    // Caches of the logically const lookups: the CU indexes by the DIE offset of their CU, and
    // demangled names by the address of their linkage name in the DWARF string data.
    mutable std::unordered_map<uint64_t, std::unique_ptr<CuIndex>> m_cu_indexes;
    // Every CU by its own address ranges, for the CUs .debug_aranges does not list (built on the
    // first address libdwfl cannot place).
    mutable std::unique_ptr<CuRanges> m_cu_ranges;
    mutable std::unordered_map<const char*, std::string> m_demangled;
    // Declarations of the variables with a fixed address, by ELF virtual address (built on the
    // first data_symbol lookup).
    struct Declaration {
        std::string file;
        int64_t line = 0;
    };
    mutable std::optional<std::unordered_map<uint64_t, Declaration>> m_variables;
    void index_variables() const;
};

}  // namespace leakhunt::symbolize
