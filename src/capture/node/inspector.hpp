// Reaching a running Node process's inspector from outside: SIGUSR1 makes Node open it (on the
// host and port of --inspect-port, 127.0.0.1:9229 by default), the new listening socket is found
// among the process's own sockets (/proc/PID/net/tcp*, /proc/PID/fd), and /json/list names the
// WebSocket of its main thread. The port is never assumed, and a port is used only while it is
// one of the process's own listening sockets, reachable on loopback, in our network namespace.
// SIGUSR1 is sent only to a process that catches it (SigCgt): to any other it would be fatal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "capture/node/cdp_client.hpp"

namespace leakhunt::capture::node {

struct InspectorLocation {
    Endpoint endpoint;
    InspectorTarget target;
    bool opened_by_us = false;  // false: it was open already (--inspect, another debugger)
};

// True when `pid` catches SIGUSR1 (bit 10 of SigCgt in /proc/PID/status); false when it does not
// or cannot be read.
bool catches_sigusr1(pid_t pid);

// Finds or opens the inspector of node process `pid` within `timeout`. Throws util::Error with
// what to do when the process is in another network namespace, does not catch SIGUSR1, or no
// inspector port appears (e.g. the port was taken: Node says why on its own stderr).
InspectorLocation open_inspector(pid_t pid, std::chrono::milliseconds timeout);

// Identifies one run of a process across PID reuse: its start time (/proc/PID/stat field 22).
std::optional<std::uint64_t> start_time_of(pid_t pid);

// True while the process that had `start_time` runs (not ended, not a zombie).
bool process_lives(pid_t pid, std::optional<std::uint64_t> start_time);

// True while `port` is one of the listening sockets of `pid`.
bool listens_on(pid_t pid, std::uint16_t port);

}  // namespace leakhunt::capture::node
