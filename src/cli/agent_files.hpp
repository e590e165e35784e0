// What `record` and `snapshot` share about the agent: where libleakhunt_agent.so is, the names of
// the files it writes, reading its timeline, and asking a running agent for a snapshot through
// its control socket. Functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace leakhunt::cli {

// $LEAKHUNT_AGENT, else <dir of this executable>/../lib/libleakhunt_agent.so. Throws util::Error
// naming what was tried if it does not exist.
std::filesystem::path agent_library();

struct TimelineRow {
    double unix_time = 0;
    double rss_bytes = 0;
    double heap_inuse_bytes = 0;
    double heap_inuse_objects = 0;
    double agent_bytes = 0;
    std::string reason;
    std::string snapshot;  // file name in the same directory
};

// DIR/timeline.PID.csv; empty if absent.
std::vector<TimelineRow> read_timeline(const std::filesystem::path& dir, pid_t pid);

// PIDs that wrote a timeline in DIR (the recorded process and its forked children).
std::vector<pid_t> recorded_pids(const std::filesystem::path& dir);

// Asks the agent in `pid` for a snapshot; returns the path it wrote (with `command` "snapshot
// scan": the path, then " scan=PATH pause_ms=..." or " scan-error=WHY"). Throws util::Error when
// no agent listens there or it reports a failure.
std::string request_snapshot(pid_t pid, double timeout_s, const char* command = "snapshot");

}  // namespace leakhunt::cli
