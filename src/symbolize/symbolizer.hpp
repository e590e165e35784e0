// Turns runtime addresses of a profiled process into functions, files and lines, offline: each
// mapping's ELF file is opened once (ElfModule) and every answer is cached. An unknown frame is
// never an error: it comes back with an empty function and "module+0xoffset" as its display
// name, and the reason (missing file, build-ID mismatch) is recorded once in warnings(). The
// cache keeps each frame's strings interned (one copy of a function's name however many
// addresses fall in it: demangled template names run to hundreds of bytes).
// Owns its modules and caches; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "profile/profile.hpp"
#include "symbolize/frame.hpp"

namespace leakhunt::symbolize {

class ElfModule;

class Symbolizer {
  public:
    Symbolizer();
    Symbolizer(const Symbolizer&) = delete;
    Symbolizer& operator=(const Symbolizer&) = delete;
    ~Symbolizer();

    // Frames at runtime `address` of `mapping`, innermost (inlined callee) first; never empty.
    // `address` is used as given: callers pass return address - 1 for non-leaf frames.
    std::vector<Frame> symbolize(const profile::Mapping& mapping, uint64_t address);

    // The ELF file at `path` as the profiled or scanned process had it (`build_id`, when known,
    // must match): opened once and kept for every later call, profiles' and scans' alike; null,
    // with a warning recorded once, when it cannot be used.
    ElfModule* module(const std::string& path, const std::string& build_id);

    // One sentence per problem met so far (file missing or unreadable, build ID mismatch).
    const std::vector<std::string>& warnings() const { return m_warnings; }

  private:
    // A cached frame: indexes into m_strings.
    struct CachedFrame {
        uint32_t function = 0;
        uint32_t system_name = 0;
        uint32_t file = 0;
        int64_t line = 0;
    };
    struct ModuleEntry {
        std::unique_ptr<ElfModule> module;  // null when the file cannot be used
        std::unordered_map<uint64_t, std::vector<CachedFrame>> frames;  // by file offset
    };
    // The entry for `mapping`, opened on first use; its module is null (and a warning recorded
    // once) when the file cannot be used.
    ModuleEntry& entry_for(const std::string& path, const std::string& build_id);
    uint32_t intern(const std::string& s);

    // Keyed by (filename, build ID from the profile): a rebuilt file is judged per build ID.
    std::map<std::pair<std::string, std::string>, ModuleEntry> m_modules;
    std::vector<std::string> m_warnings;
    std::deque<std::string> m_strings{std::string{}};  // a deque: its strings never move
    std::unordered_map<std::string_view, uint32_t> m_string_ids{{std::string_view{}, 0}};
};

struct SymbolizeStats {
    size_t locations = 0;   // locations that needed symbols
    size_t symbolized = 0;  // of those, how many got a function name
    std::vector<std::string> warnings;
};

// Fills functions and lines of every location that has none (already symbolized locations, as
// in Go's profiles, are kept), and sets the mappings' has_functions / has_filenames /
// has_line_numbers / has_inline_frames for what was found. Unknown frames stay without lines so
// that pprof shows their addresses.
SymbolizeStats symbolize_profile(profile::Profile& p, Symbolizer& symbolizer);
SymbolizeStats symbolize_profile(profile::Profile& p);

}  // namespace leakhunt::symbolize
