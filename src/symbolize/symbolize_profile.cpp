// symbolize_profile: writes the Symbolizer's frames into a profile as pprof Functions and Lines
// (callee first, as profile.proto orders inlined frames), deduplicating functions; with an
// optional progress callback (symbolize_profile.hpp).
#include <algorithm>
#include <string>
#include <unordered_map>

#include "symbolize/symbolize_profile.hpp"

namespace leakhunt::symbolize {
namespace {

// Dedups functions by (name, system name, file) and appends new ones to the profile.
class FunctionTable {
  public:
    explicit FunctionTable(profile::Profile& p) : m_profile(p) {
        for (const auto& f : p.functions) {
            m_ids.emplace(key(f.name, f.system_name, f.filename), f.id);
            m_next_id = std::max(m_next_id, f.id + 1);
        }
    }

    uint64_t intern(const Frame& frame) {
        auto [it, inserted] =
            m_ids.try_emplace(key(frame.function, frame.system_name, frame.file), m_next_id);
        if (inserted) {
            m_profile.functions.push_back({.id = m_next_id,
                                           .name = frame.function,
                                           .system_name = frame.system_name,
                                           .filename = frame.file,
                                           .start_line = 0});
            ++m_next_id;
        }
        return it->second;
    }

  private:
    static std::string key(const std::string& name, const std::string& system_name,
                           const std::string& file) {
        std::string k = name;
        k += '\0';
        k += system_name;
        k += '\0';
        k += file;
        return k;
    }

    profile::Profile& m_profile;
    std::unordered_map<std::string, uint64_t> m_ids;
    uint64_t m_next_id = 1;
};

}  // namespace

SymbolizeStats symbolize_profile(profile::Profile& p, Symbolizer& symbolizer) {
    return symbolize_profile(p, symbolizer, SymbolizeProgress());
}

SymbolizeStats symbolize_profile(profile::Profile& p, Symbolizer& symbolizer,
                                 const SymbolizeProgress& progress) {
    return symbolize_profile(p, symbolizer, progress, nullptr);
}

SymbolizeStats symbolize_profile(profile::Profile& p, Symbolizer& symbolizer,
                                 const SymbolizeProgress& progress, const PerfMap* jit) {
    SymbolizeStats stats;
    FunctionTable functions(p);
    size_t total = 0;
    if (progress) {
        total = static_cast<size_t>(std::count_if(
            p.locations.begin(), p.locations.end(),
            [](const profile::Location& l) { return l.lines.empty() && l.mapping_id != 0; }));
        progress(0, total);
    }
    size_t done = 0;
    for (auto& location : p.locations) {
        if (location.lines.empty() && location.mapping_id == 0 && jit != nullptr) {
            // JIT code: in no mapped file, named by the runtime's perf map. Callers' addresses are
            // return addresses, inside the function that called.
            ++stats.locations;
            if (const auto frame = jit->frame_at(location.address)) {
                ++stats.symbolized;
                location.lines.push_back(
                    {.function_id = functions.intern(*frame), .line = frame->line, .column = 0});
            }
            continue;
        }
        if (!location.lines.empty() || location.mapping_id == 0) continue;
        // Every 256 locations: the callback redraws a bar and is cheap, but not free.
        if (progress && (++done & 255U) == 0) progress(done, total);
        profile::Mapping* mapping = profile::find_mapping(p, location.mapping_id);
        if (mapping == nullptr) continue;
        ++stats.locations;
        const std::vector<Frame> frames = symbolizer.symbolize(*mapping, location.address);
        if (frames.front().function.empty()) continue;
        ++stats.symbolized;
        for (const auto& frame : frames) {
            location.lines.push_back(
                {.function_id = functions.intern(frame), .line = frame.line, .column = 0});
            mapping->has_functions = true;
            if (!frame.file.empty()) mapping->has_filenames = true;
            if (frame.line != 0) mapping->has_line_numbers = mapping->has_inline_frames = true;
        }
    }
    if (progress) progress(total, total);
    stats.warnings = symbolizer.warnings();
    return stats;
}

SymbolizeStats symbolize_profile(profile::Profile& p) {
    Symbolizer symbolizer;
    return symbolize_profile(p, symbolizer);
}

}  // namespace leakhunt::symbolize
