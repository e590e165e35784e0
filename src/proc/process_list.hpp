// Lists the processes visible in a proc root: pid, identity (starttime), comm and the command
// line, so that `watch --name REGEX` can pick its targets (the matching is the caller's job).
// Processes that exit while being listed are skipped. Not a per-sample hot path, but it reads
// only stat and cmdline per process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "proc/proc_files.hpp"

namespace leakhunt::proc {

struct ProcessInfo {
    Pid pid = 0;
    Pid ppid = 0;                 // the parent (0 if unknown)
    std::uint64_t starttime = 0;  // clock ticks since boot; with pid, identifies the instance
    std::string comm;             // from /proc/PID/stat (may contain spaces and ')')
    std::string cmdline;          // arguments joined with spaces; empty for kernel threads
    bool kernel_thread = false;

    // What to show and match: the command line, or "[comm]" (as ps does) when it is empty.
    std::string display() const { return cmdline.empty() ? "[" + comm + "]" : cmdline; }
};

enum class IncludeSelf { no, yes };

// Every numeric entry of `proc_root`, ordered by pid. Throws util::Error if `proc_root` cannot be
// listed.
std::vector<ProcessInfo> list_processes(const std::filesystem::path& proc_root = "/proc",
                                        IncludeSelf include_self = IncludeSelf::no);

// The children, grandchildren, ... of `root` in `processes` (by ppid), parents before their
// children; `root` itself is not included.
std::vector<Pid> descendants(const std::vector<ProcessInfo>& processes, Pid root);

}  // namespace leakhunt::proc
