// Names of JIT-compiled code from the perf map a runtime writes for profilers: /tmp/perf-PID.map,
// one "START SIZE NAME" line (hex, hex, text) per piece of code, as V8 writes it with
// --perf-basic-prof (node) and the JVM with a perf-map agent. The agent's stacks of a node
// process pass through JIT code that no ELF file describes; these names turn those frames into
// JavaScript functions with their script and line ("JS:*cacheSession /srv/app.js:21:5").
// Code can be moved or replaced: a later line wins over an earlier one for the addresses both
// cover. Immutable after parse; thread-safe to read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbolize/frame.hpp"

namespace leakhunt::symbolize {

class PerfMap {
  public:
    // Reads the lines of `text`; malformed lines are skipped and counted.
    static PerfMap parse(std::string_view text);
    // /tmp/perf-PID.map (or `path` when given) when it is a regular file (not a symbolic link:
    // /tmp is shared), owned by `owner` or root, and under 256 MiB; nullopt otherwise, with the
    // reason in *why unless the file is simply absent.
    static std::optional<PerfMap> load(pid_t pid, uid_t owner, std::string* why,
                                       const std::string& path = {});

    // The frame of `address`: the JIT code's function, file and line as the name gives them
    // (system_name keeps the whole name); nullopt when no line covers it.
    std::optional<Frame> frame_at(uint64_t address) const;
    size_t size() const { return m_start.size(); }
    size_t skipped_lines() const { return m_skipped; }

  private:
    // Non-overlapping ranges sorted by start, parallel arrays.
    std::vector<uint64_t> m_start, m_end;
    std::vector<uint32_t> m_name;
    std::vector<std::string> m_names;
    size_t m_skipped = 0;
};

// A perf-map name as a frame: "JS:*name file:line:col", "LazyCompile:~name file:line",
// "Builtin:ArrayPush", "Interpreted..." -> function, file, line.
Frame perf_map_frame(std::string_view name);

}  // namespace leakhunt::symbolize
