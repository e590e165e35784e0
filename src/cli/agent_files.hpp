// What `record` and `snapshot` share about the agent: where libleakhunt_agent.so is, asking a
// running agent for a snapshot through its control socket, and finding which of the processes
// `record` started holds the agent (and, if none does, why). Functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "proc/agent_control.hpp"

namespace leakhunt::cli {

// $LEAKHUNT_AGENT, else <dir of this executable>/../lib/libleakhunt_agent.so. Throws util::Error
// naming what was tried if it does not exist.
std::filesystem::path agent_library();

// The tracemalloc bootstrap for Python programs (leakhunt_bootstrap.py), found the same way:
// $LEAKHUNT_PYTHON_BOOTSTRAP, else beside the agent.
std::filesystem::path python_bootstrap();

// The control socket lives in proc (serve needs it too); the files the agent writes are read
// through src/recorddir.
using proc::request_snapshot;

// The processes `record` started: the one it forked and every descendant. A wrapper (a shell, env,
// nice, timeout) either becomes the program (exec: same pid) or starts it as a child, so the
// program is a leaf of this tree. The agent is found by its mapping in /proc/PID/maps (the control
// socket may be closed by a program that closes every descriptor).
struct AgentSearch {
    std::vector<pid_t> holders;  // processes of the tree with the agent loaded
    std::vector<pid_t> leaves;   // processes of the tree without children in it, root first
    // The first leaf with the agent (the program runs it), if any.
    std::optional<pid_t> holding_leaf() const;
};
AgentSearch find_agent(pid_t root);

// Why `pid` runs without the agent, as a sentence: "pid 42 (server) is statically linked: ...".
std::string why_no_agent(pid_t pid);

// "server" for a pid: the program's file name (comm when /proc/PID/exe cannot be read).
std::string process_name(pid_t pid);

// True for programs whose job is to start another one (shells, env, nice, timeout, nohup, ...),
// by the file name of argv[0], or a script whose #! line names one: `record` keeps the agent
// across their exec.
bool is_wrapper(const std::string& argv0);

}  // namespace leakhunt::cli
