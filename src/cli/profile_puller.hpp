// `leakhunt record --pprof-url URL`: pulls a running service's heap profile over HTTP every few
// seconds (Go's net/http/pprof, or any endpoint serving a format profile::parse_profile reads)
// and writes what the agent writes for a native program, heap.<id>.NNNN.pb.gz snapshots and
// timeline.<id>.csv, so that the commands that read a record directory treat a Go service like
// a native one. Beside a net/http/pprof heap endpoint it also pulls the goroutine profile
// (goroutine.<id>.NNNN.pb.gz) and runtime.MemStats (the timeline's Go columns). Runs in the
// calling thread; not thread-safe.
#pragma once

#include <filesystem>
#include <string>

namespace leakhunt::cli {

struct PullOptions {
    std::string url;
    std::filesystem::path dir;
    double every_s = 30;
    double duration_s = 0;  // 0: until a signal or count
    long count = 0;         // 0: no limit
    int max_failures = 5;   // consecutive failed pulls before giving up
};

// Pulls until SIGINT/SIGTERM, --duration or --count; returns the exit code (0, or 1 when it gave
// up after max_failures consecutive failures). Says on stderr what it wrote.
int pull_profiles(const PullOptions& options);

}  // namespace leakhunt::cli
