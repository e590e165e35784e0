// symbolize_profile with progress: the same as symbolizer.hpp's symbolize_profile, telling
// `progress` (locations done, locations to symbolize) as it goes, for the CLI's progress bars
// (symbolizing a big profile reads DWARF of every module and can take seconds).
#pragma once

#include <cstddef>
#include <functional>

#include "symbolize/perf_map.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::symbolize {

using SymbolizeProgress = std::function<void(size_t done, size_t total)>;

SymbolizeStats symbolize_profile(profile::Profile& p, Symbolizer& symbolizer,
                                 const SymbolizeProgress& progress);

// The same, and frames in no mapped file (JIT code) named from `jit`, the process's perf map.
SymbolizeStats symbolize_profile(profile::Profile& p, Symbolizer& symbolizer,
                                 const SymbolizeProgress& progress, const PerfMap* jit);

}  // namespace leakhunt::symbolize
