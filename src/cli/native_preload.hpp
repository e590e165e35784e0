// The native agent preloaded into a program `record` starts: what `record -- CMD` does for a
// native program and `record --native -- python3 ...` does beside tracemalloc. The environment
// that hands the agent its settings, the manifest of its record directory, and what is said once
// the program has ended. Not thread-safe (it changes this process's environment).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "recorddir/record_dir.hpp"

namespace leakhunt::cli {

struct PreloadSettings {
    std::filesystem::path agent;  // agent_library()
    std::filesystem::path dir;    // the record directory the agent writes into (absolute)
    std::uint64_t sample_interval = 512 * 1024;  // 1 = every allocation
    double every_s = 0;                          // 0: only at exit and on request
    int depth = 64;
    bool follow_children = false;
    bool leak_check = false;
};

// Puts the agent in front of LD_PRELOAD (keeping what was there) and its settings in the
// environment, for the next program this process starts; call unexport_preload() once started.
void export_preload(const PreloadSettings& settings);
void unexport_preload();

// "every allocation", "every 512 KiB on average": the manifest's `sampling`.
std::string preload_sampling(std::uint64_t sample_interval);

// The manifest of an agent's recording of `command` (runtime native, capture agent).
recorddir::Manifest preload_manifest(const PreloadSettings& settings,
                                     const std::vector<std::string>& command, pid_t pid);

// After the program ended: the recorded process (the one with the most snapshots) and its exit
// snapshot go into `manifest`, which is written again; one summary line per process on stderr.
// Returns how many snapshots the directory holds.
size_t finish_preloaded(const std::filesystem::path& dir, recorddir::Manifest& manifest);

}  // namespace leakhunt::cli
