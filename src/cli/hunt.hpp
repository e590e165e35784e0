// `leakhunt hunt`: the whole investigation on a process that is already running, in the order
// the field follows it: (1) watch its memory until the verdict is clear (leak, bounded, healthy)
// or the watch time ends, and stop there unless it leaks; (2) tell its runtime and attach the
// capture `record` uses for it (the native agent through gdb, a Go service's pprof endpoint found
// among its listening sockets, V8's inspector, jcmd, tracemalloc); (3) take snapshots over the
// rest of the budget, rank the suspects, take the heap graph or heap scan at the end and find
// what holds the top suspects; (4) write DIR/report.html and a summary to paste into an incident,
// with the pattern the finding matches (patterns/patterns.hpp). Every phase's files stay in DIR.
// Runs on the caller's thread; progress on stderr, the summary on stdout.
#pragma once

#include <filesystem>
#include <optional>

#include "cli/hunt_target.hpp"

namespace leakhunt::cli {

struct HuntOptions {
    HuntTarget target;
    std::filesystem::path dir;         // created, absolute
    double budget_s = 1800;            // wall clock for everything
    double watch_first_s = 600;        // at most this long watching before deciding
    std::optional<double> interval_s;  // between memory samples; default from watch_first_s
    bool profile_anyway = false;
    bool json = false;  // the summary as one JSON object on stdout
    std::optional<std::filesystem::path> patterns_file;
    std::optional<double> limit_bytes;
};

// Returns the exit code: 3 when the verdict is leak, 0 otherwise, 1 when the capture failed
// without a leak verdict.
int run_hunt(const HuntOptions& options);

}  // namespace leakhunt::cli
