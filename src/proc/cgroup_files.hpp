// Pure parsers for the memory files of cgroup v2 (memory.current, memory.max, memory.stat,
// memory.events, memory.swap.current) and cgroup v1 (memory.usage_in_bytes,
// memory.limit_in_bytes, memory.stat, memory.oom_control), plus the working-set rule that
// cAdvisor and the kubelet use, so our numbers match container_memory_working_set_bytes.
// Inputs are file contents as std::string_view; values are bytes or counts. Unknown keys are
// skipped, missing or malformed values are left empty. See Documentation/admin-guide/cgroup-v2.rst
// and Documentation/admin-guide/cgroup-v1/memory.rst.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace leakhunt::proc {

// Limits at or above this are "no limit". v1 prints PAGE_COUNTER_MAX * PAGE_SIZE
// (9223372036854771712 with 4 KiB pages, a different value with 64 KiB pages), so a threshold
// is more robust than comparing with one constant.
inline constexpr std::uint64_t k_unlimited_threshold = std::uint64_t{1} << 62;

// A single number file: memory.current, memory.swap.current, memory.usage_in_bytes.
std::optional<std::uint64_t> parse_cgroup_counter(std::string_view text);

// A limit file: v2 memory.max ("max" = no limit) or v1 memory.limit_in_bytes (huge = no limit).
// Empty when there is no limit or the content is malformed.
std::optional<std::uint64_t> parse_cgroup_limit(std::string_view text);

// v2 memory.stat (bytes). Only the fields leakhunt reports or derives from.
struct CgroupV2Stat {
    std::optional<std::uint64_t> anon;
    std::optional<std::uint64_t> file;
    std::optional<std::uint64_t> kernel;
    std::optional<std::uint64_t> shmem;
    std::optional<std::uint64_t> sock;
    std::optional<std::uint64_t> slab;
    std::optional<std::uint64_t> inactive_anon;
    std::optional<std::uint64_t> active_anon;
    std::optional<std::uint64_t> inactive_file;
    std::optional<std::uint64_t> active_file;
    std::optional<std::uint64_t> unevictable;
};
CgroupV2Stat parse_cgroup_v2_stat(std::string_view text);

// v2 memory.events (counts since the cgroup was created).
struct CgroupV2Events {
    std::optional<std::uint64_t> low;
    std::optional<std::uint64_t> high;
    std::optional<std::uint64_t> max;
    std::optional<std::uint64_t> oom;
    std::optional<std::uint64_t> oom_kill;
    std::optional<std::uint64_t> oom_group_kill;
};
CgroupV2Events parse_cgroup_v2_events(std::string_view text);

// v1 memory.stat (bytes). total_* include descendants (hierarchical).
struct CgroupV1Stat {
    std::optional<std::uint64_t> cache;
    std::optional<std::uint64_t> rss;
    std::optional<std::uint64_t> shmem;
    std::optional<std::uint64_t> mapped_file;
    std::optional<std::uint64_t> swap;
    std::optional<std::uint64_t> inactive_anon;
    std::optional<std::uint64_t> active_anon;
    std::optional<std::uint64_t> inactive_file;
    std::optional<std::uint64_t> active_file;
    std::optional<std::uint64_t> total_cache;
    std::optional<std::uint64_t> total_rss;
    std::optional<std::uint64_t> total_swap;
    std::optional<std::uint64_t> total_inactive_file;
    std::optional<std::uint64_t> hierarchical_memory_limit;

    // total_inactive_file, falling back to inactive_file (what cAdvisor subtracts).
    std::optional<std::uint64_t> inactive_file_for_working_set() const {
        return total_inactive_file ? total_inactive_file : inactive_file;
    }
};
CgroupV1Stat parse_cgroup_v1_stat(std::string_view text);

// v1 memory.oom_control. oom_kill appeared in Linux 4.13; older kernels leave it empty.
struct CgroupV1OomControl {
    std::optional<std::uint64_t> oom_kill_disable;
    std::optional<std::uint64_t> under_oom;
    std::optional<std::uint64_t> oom_kill;
};
CgroupV1OomControl parse_cgroup_v1_oom_control(std::string_view text);

// Working set = usage - inactive_file, floored at 0; usage alone when inactive_file is unknown
// (cAdvisor, container/libcontainer/handler.go setMemoryStats). Empty when usage is unknown.
std::optional<std::uint64_t> working_set(std::optional<std::uint64_t> usage,
                                         std::optional<std::uint64_t> inactive_file);

}  // namespace leakhunt::proc
