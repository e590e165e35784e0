// Talking to leakhunt's bootstrap in a CPython process (leakhunt_bootstrap.py): the private
// directory it works in, its control socket, and the snapshot files it writes there.
// The directory is made by leakhunt under /tmp (short enough for a socket path), mode 0700 and
// owned by the target's user, so no other local user can reach the socket or read a snapshot;
// each answer is checked to come from the target process itself (SO_PEERCRED), and each file it
// names is read only as a plain file of that directory (no link followed), bounded in size.
// Not thread-safe: one Control per recording.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "capture/python/pytrace.hpp"

namespace leakhunt::capture::python {

class Control {
  public:
    // Makes the private directory for a target running as `uid`/`gid`. Throws util::Error.
    Control(uid_t uid, gid_t gid);
    ~Control();  // removes the directory and what is left in it
    Control(const Control&) = delete;
    Control& operator=(const Control&) = delete;

    const std::filesystem::path& dir() const { return m_dir; }
    void set_pid(pid_t pid) { m_pid = pid; }
    pid_t pid() const { return m_pid; }

    // True once the bootstrap's socket exists (it listens before the program starts).
    bool socket_exists() const;
    // What the bootstrap reported as its failure to start (DIR/error), or "".
    std::string startup_error() const;

    // One request ("hello", "snapshot", "stop"); returns the reply after "ok" (may be empty).
    // Throws util::Error when the bootstrap does not answer within `timeout_s`, the peer is not
    // the target process, or it answers "error ...".
    std::string request(const std::string& what, double timeout_s) const;

    // Asks for a snapshot and reads it (the file is removed once read).
    PyTraceFile snapshot(double timeout_s) const;
    // Asks for the object graph (the `heapgraph` request) and returns the .pygraph file's bytes
    // (the file is removed once read); `stats` gets the bootstrap's counts ("nodes=N edges=E
    // roots=R gc_objects=G paused=S seconds=S"). The bytes are checked by the reader, not here.
    std::string heap_graph(double timeout_s, std::string* stats = nullptr) const;
    // The snapshot the bootstrap wrote at the program's exit (trace.exit), if there is one.
    std::optional<PyTraceFile> exit_snapshot() const;

  private:
    PyTraceFile read_trace(const std::string& name) const;

    std::filesystem::path m_dir;
    pid_t m_pid = 0;
    uid_t m_uid;
};

}  // namespace leakhunt::capture::python
