// What `record` and `snapshot` share about the agent: where libleakhunt_agent.so is, the names of
// the files it writes, reading its timeline, and asking a running agent for a snapshot through
// its control socket. Functions are thread-safe.
#pragma once

#include <filesystem>

#include "proc/agent_control.hpp"

namespace leakhunt::cli {

// $LEAKHUNT_AGENT, else <dir of this executable>/../lib/libleakhunt_agent.so. Throws util::Error
// naming what was tried if it does not exist.
std::filesystem::path agent_library();

// The timeline, the recorded processes and the control socket live in proc (serve needs them too).
using proc::read_timeline;
using proc::recorded_pids;
using proc::request_snapshot;
using proc::TimelineRow;

}  // namespace leakhunt::cli
