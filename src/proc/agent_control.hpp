// What `record`, `snapshot` and `serve` need from a process running under the agent: the
// processes with a live agent, the directory each writes to, and a snapshot on request through the
// agent's control socket (format/agent_protocol.hpp). The files it writes are read through
// src/recorddir. Functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace leakhunt::proc {

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
    std::string details;  // the rest of the reply: " pause_ms=... blocks=..." or " scan-error=WHY"
    std::vector<uid_t> owners;  // the uids the agent's files may belong to

    std::string path() const { return dir + "/" + file; }
    std::string scan_path() const { return scan_file.empty() ? "" : dir + "/" + scan_file; }
    // The contents of `name` (file or scan_file): opened inside dir without following a symlink,
    // a regular file of one of `owners` (util::read_file_in_dir). Throws util::Error.
    std::string read(const std::string& name) const;
};

// The uids process `pid` runs as, for deciding who may ask it and whose files it writes: the
// owner of /proc/PID (its effective uid; root when it is not dumpable) and its real uid. Empty if
// the process is gone.
std::vector<uid_t> process_uids(pid_t pid);

// "user alice (uid 1000)", or "uid 1000" when the name is unknown.
std::string describe_user(uid_t uid);

// A one-line reply read from `fd` until its end of line, EOF, 16 KiB or the deadline (a peer that
// trickles bytes cannot hold the caller longer than `timeout_s`); without the line's end.
std::string read_reply(int fd, double timeout_s);

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
