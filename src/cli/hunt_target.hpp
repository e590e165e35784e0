// What `leakhunt hunt` is pointed at, made concrete: the one process a PID, a command-line regex
// or a cgroup names (the cgroup's biggest process by RSS is the one profiled, the cgroup's memory
// is the one watched), and, for a Go service, its pprof endpoint among the process's listening
// sockets. Functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "watch/watcher.hpp"

namespace leakhunt::cli {

struct HuntTarget {
    pid_t pid = 0;                      // the process to profile
    leakhunt::watch::TargetSpec watch;  // what the watch phase follows (the PID, or the cgroup)
    std::string name;                   // the program's name, for messages
};

// Throws util::UsageError for a regex that does not parse, util::Error when nothing (or more than
// one process) matches, or the cgroup holds no process.
HuntTarget resolve_pid(pid_t pid);
HuntTarget resolve_name(const std::string& regex);
HuntTarget resolve_cgroup(const std::string& path);

// The URL of the heap profile a Go process serves (net/http/pprof): each TCP socket it listens
// on that is reachable on loopback is asked for /debug/pprof/heap, the first that answers with
// a profile wins. nullopt when none does.
std::optional<std::string> find_pprof_endpoint(pid_t pid);

}  // namespace leakhunt::cli
