// What `record`, `snapshot` and `serve` need from a process running under the agent: its
// timeline (DIR/timeline.PID.csv), the processes that wrote one in a directory, and a snapshot on
// request through the agent's control socket (format/agent_protocol.hpp). Functions are
// thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace leakhunt::proc {

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

// Processes with a live agent: those that listen on the agent's control socket (abstract unix
// sockets "@leakhunt-agent.PID" in /proc/net/unix, this network namespace), sorted.
std::vector<pid_t> agent_pids();

// The directory the agent in `pid` writes to (LEAKHUNT_OUT in /proc/PID/environ), or "" if it
// cannot be read (another user's process) or is not set.
std::string agent_out_dir(pid_t pid);

// Asks the agent in `pid` for a snapshot; returns the path it wrote (with `command` "snapshot
// scan": the path, then " scan=PATH pause_ms=..." or " scan-error=WHY"). Throws util::Error when
// no agent listens there or it reports a failure.
std::string request_snapshot(pid_t pid, double timeout_s, const char* command = "snapshot");

}  // namespace leakhunt::proc
