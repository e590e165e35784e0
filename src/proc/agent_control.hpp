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

// What an agent wrote on request, after checking its answer. The paths come from another
// process, so they are accepted only as file names of the form the agent writes
// (heap.PID.NNNN.pb.gz, heap.PID.NNNN.scan) directly in the directory the process was started
// with (its LEAKHUNT_OUT, "." when unset), and read only through read().
struct AgentSnapshot {
    pid_t pid = 0;
    std::string dir;        // the agent's directory as the process names it
    std::string file;       // the profile's file name in dir
    std::string scan_file;  // the heap scan's file name in dir, when one was asked for and written
    std::string details;    // the rest of the reply: " pause_ms=... blocks=..." or " scan-error=WHY"
    std::vector<uid_t> owners;  // the uids the agent's files may belong to

    std::string path() const { return dir + "/" + file; }
    std::string scan_path() const { return scan_file.empty() ? "" : dir + "/" + scan_file; }
    // The contents of `name` (file or scan_file): opened inside dir without following a symlink,
    // a regular file of one of `owners` (util::read_file_in_dir). Throws util::Error.
    std::string read(const std::string& name) const;
};

// Asks the agent in `pid` for a snapshot ("snapshot", or "snapshot scan" for a heap scan too).
// The peer is authenticated first (SO_PEERCRED): the socket must have been opened by process
// `pid` itself, as root or as one of its users, so another user cannot answer by squatting the
// name. Throws util::Error when we may not ask (another user's process), no agent listens, the
// peer is not the process, the answer names a file outside the agent's directory, or the agent
// reports a failure.
AgentSnapshot request_snapshot(pid_t pid, double timeout_s, const char* command = "snapshot");

// The agent's raw one-line answer to `command` (format/agent_protocol.hpp), after the same checks
// of who answers as request_snapshot; "error permission denied" is thrown as util::Error.
struct AgentReply {
    std::string text;
    std::vector<uid_t> uids;  // the uids process `pid` runs as
    uid_t peer_uid = 0;       // the uid that opened the control socket
};
AgentReply agent_request(pid_t pid, double timeout_s, const char* command);

}  // namespace leakhunt::proc
