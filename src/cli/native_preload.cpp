// The native agent preloaded into a started program (native_preload.hpp).
#include "cli/native_preload.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {

void export_preload(const PreloadSettings& s) {
    std::string preload = s.agent.string();
    if (const char* old = std::getenv("LD_PRELOAD"); old != nullptr && *old != '\0') {
        preload += ":" + std::string(old);
    }
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    ::setenv("LEAKHUNT_OUT", s.dir.c_str(), 1);
    ::setenv("LEAKHUNT_SAMPLE_INTERVAL", std::to_string(s.sample_interval).c_str(), 1);
    ::setenv("LEAKHUNT_SNAPSHOT_EVERY", fmt::format("{}", s.every_s).c_str(), 1);
    ::setenv("LEAKHUNT_DEPTH", std::to_string(s.depth).c_str(), 1);
    ::setenv("LEAKHUNT_FOLLOW_CHILDREN", s.follow_children ? "1" : "0", 1);
    ::setenv("LEAKHUNT_LEAK_CHECK", s.leak_check ? "1" : "0", 1);
}

void unexport_preload() {
    ::unsetenv("LD_PRELOAD");
}

std::string preload_sampling(std::uint64_t sample_interval) {
    return sample_interval == 1
               ? "every allocation"
               : "every " + util::format_bytes(static_cast<double>(sample_interval)) +
                     " on average";
}

recorddir::Manifest preload_manifest(const PreloadSettings& s,
                                     const std::vector<std::string>& command, pid_t pid) {
    recorddir::Manifest m;
    m.runtime = "native";
    m.capture = "agent";
    m.command = command;
    m.pid = pid;
    m.start_unix = unix_now();
    m.sampling = preload_sampling(s.sample_interval);
    return m;
}

size_t finish_preloaded(const std::filesystem::path& dir, recorddir::Manifest& manifest) {
    size_t snapshots = 0;
    const recorddir::Listing listing = recorddir::list(dir);
    // The recorded program is the process readers show (the one with the most snapshots: a
    // wrapper's program, not the wrapper); its exit snapshot is the one its timeline marks.
    if (const auto main = recorddir::main_id(listing)) manifest.pid = *main;
    for (const auto& [pid, timeline] : listing.timelines) {
        const auto rows = recorddir::read_timeline(dir, pid);
        snapshots += rows.size();
        if (pid == manifest.pid) {
            for (const auto& row : rows) {
                if (row.reason == "exit" && recorddir::parse_snapshot_name(row.snapshot)) {
                    manifest.exit_snapshot = row.snapshot;
                }
            }
        }
        if (rows.empty()) continue;
        const auto& last = rows.back();
        std::fprintf(stderr,
                     "leakhunt: pid %ld: %zu snapshot%s; last (%s): %s in use in %.0f objects, "
                     "RSS %s, agent %s -> %s\n",
                     pid, rows.size(), rows.size() == 1 ? "" : "s", last.reason.c_str(),
                     util::format_bytes(last.heap_inuse_bytes).c_str(), last.heap_inuse_objects,
                     util::format_bytes(last.rss_bytes).c_str(),
                     util::format_bytes(last.agent_bytes).c_str(),
                     util::terminal_safe((dir / last.snapshot).string()).c_str());
    }
    recorddir::write_manifest(dir, manifest);
    return snapshots;
}

}  // namespace leakhunt::cli
