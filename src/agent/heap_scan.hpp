// The heap scan as the writer sees it: stop the world, mark what the roots reach, resume, group
// the reachable blocks by path shape and the unreachable ones by site (direct or indirect, as
// LeakSanitizer splits them), and write the scan file (format/scan_format.hpp). Only in full mode,
// where the LiveTable holds every live block. Called with the snapshot mutex held; never
// allocates through malloc.
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

struct ScanFigures {
    double pause_ms = 0;
    std::uint64_t blocks = 0, bytes = 0;
    std::uint64_t direct_count = 0, direct_bytes = 0;
    std::uint64_t indirect_count = 0, indirect_bytes = 0;
};

// Writes the scan to `path` (through path.tmp and a rename). `reason`: "request" or "exit".
// At exit the calling thread's own stack is a root from `caller_root_sp` up: the frame where the
// program handed control to the agent (everything below it is the agent's own frames and what
// they left behind, which must not keep a leak alive). 0: the calling thread's stack is no root
// (on request the caller is the writer thread, which holds nothing of the program's). False with
// a sentence in `msg` on failure; every thread runs again either way.
bool write_heap_scan(const char* path, const char* reason, std::uint64_t caller_root_sp,
                     ScanFigures& fig, char* msg, std::size_t msg_size);

}  // namespace leakhunt::agent
