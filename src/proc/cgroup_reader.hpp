// Reads a memory cgroup as a whole: detects cgroup v2 or v1 by the files present, and returns
// usage, working set, limit and OOM-kill count. Also finds the memory cgroup directory of a
// process (from /proc/PID/cgroup and the mount roots) and turns a user's --cgroup argument into a
// directory. Roots are constructor arguments so tests point them at fixture trees.
// A CgroupReader owns a read buffer: use one per thread (not thread-safe).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

#include "proc/file_buffer.hpp"
#include "proc/proc_files.hpp"

namespace leakhunt::proc {

enum class CgroupVersion { v1 = 1, v2 = 2 };

// Where the hierarchies are mounted. On a hybrid host v2 is often at /sys/fs/cgroup/unified but
// carries no memory controller, so only the v1 memory root matters there.
struct CgroupRoots {
    std::filesystem::path v2 = "/sys/fs/cgroup";
    std::filesystem::path v1_memory = "/sys/fs/cgroup/memory";
};

// One reading of a memory cgroup. Bytes, except oom_kills (a count since the cgroup was made).
struct CgroupMemory {
    CgroupVersion version = CgroupVersion::v2;
    std::optional<std::uint64_t> usage;        // memory.current / memory.usage_in_bytes
    std::optional<std::uint64_t> working_set;  // usage - inactive_file, floored at 0
    std::optional<std::uint64_t> limit;        // empty: no limit
    std::optional<std::uint64_t> oom_kills;    // empty on v1 before Linux 4.13
    std::optional<std::uint64_t> swap;         // memory.swap.current / total_swap
    std::optional<std::uint64_t> anon;         // v2 anon / v1 total_rss
    std::optional<std::uint64_t> file;         // v2 file / v1 total_cache
    std::optional<std::uint64_t> inactive_file;
};

class CgroupReader {
  public:
    explicit CgroupReader(CgroupRoots roots = {}, std::filesystem::path proc_root = "/proc");

    const CgroupRoots& roots() const { return m_roots; }

    // v2 if `dir` has memory.current, v1 if it has memory.usage_in_bytes, else empty.
    static std::optional<CgroupVersion> detect(const std::filesystem::path& dir);

    // A --cgroup argument: an absolute directory, or a path relative to a cgroup root (with or
    // without a leading '/', as /proc/PID/cgroup shows it). Throws util::Error naming every
    // directory tried when none is a memory cgroup.
    std::filesystem::path resolve(std::string_view user_path) const;

    // The memory cgroup directory named by a parsed /proc/PID/cgroup: the v2 path under the v2
    // root, else the v1 memory path under the v1 root. Inside a container without a cgroup
    // namespace the path names the host's hierarchy while the mount shows only the container's
    // own cgroup; then the root itself is used if it is a memory cgroup. Empty if none exists.
    std::optional<std::filesystem::path> memory_dir_from(const ProcCgroup& cgroup) const;

    // Same, reading <proc_root>/<pid>/cgroup. Empty if the process is gone or has no memory
    // cgroup.
    std::optional<std::filesystem::path> memory_dir_of(Pid pid);

    // Reads the memory files of `dir`. Empty if `dir` is not (or no longer) a memory cgroup; a
    // cgroup removed while being watched is normal, like a process exiting.
    std::optional<CgroupMemory> read(const std::filesystem::path& dir);

  private:
    CgroupRoots m_roots;
    std::filesystem::path m_proc_root;
    detail::FileBuffer m_buf;
};

}  // namespace leakhunt::proc
