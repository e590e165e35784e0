// Parsers for cgroup v1/v2 memory files; see cgroup_files.hpp.
#include "proc/cgroup_files.hpp"

#include "proc/text_scan.hpp"

namespace leakhunt::proc {
namespace {

using detail::next_line;
using detail::parse_u64;
using detail::split_space;

// Calls assign(key, value) for every "key value" line of a flat-keyed cgroup file.
template <typename Assign>
void for_each_key_value(std::string_view text, Assign&& assign) {
    std::string_view line;
    std::string_view key;
    std::string_view value;
    while (next_line(text, line)) {
        if (!split_space(line, key, value)) continue;
        assign(key, value);
    }
}

}  // namespace

std::optional<std::uint64_t> parse_cgroup_counter(std::string_view text) {
    return parse_u64(text);
}

std::optional<std::uint64_t> parse_cgroup_limit(std::string_view text) {
    const auto v = parse_u64(text);  // "max" does not parse: no limit
    if (!v || *v >= k_unlimited_threshold) return std::nullopt;
    return v;
}

CgroupV2Stat parse_cgroup_v2_stat(std::string_view text) {
    CgroupV2Stat out;
    for_each_key_value(text, [&out](std::string_view key, std::string_view value) {
        std::optional<std::uint64_t>* field = nullptr;
        if (key == "anon") {
            field = &out.anon;
        } else if (key == "file") {
            field = &out.file;
        } else if (key == "kernel") {
            field = &out.kernel;
        } else if (key == "shmem") {
            field = &out.shmem;
        } else if (key == "sock") {
            field = &out.sock;
        } else if (key == "slab") {
            field = &out.slab;
        } else if (key == "inactive_anon") {
            field = &out.inactive_anon;
        } else if (key == "active_anon") {
            field = &out.active_anon;
        } else if (key == "inactive_file") {
            field = &out.inactive_file;
        } else if (key == "active_file") {
            field = &out.active_file;
        } else if (key == "unevictable") {
            field = &out.unevictable;
        }
        if (field != nullptr) *field = parse_u64(value);
    });
    return out;
}

CgroupV2Events parse_cgroup_v2_events(std::string_view text) {
    CgroupV2Events out;
    for_each_key_value(text, [&out](std::string_view key, std::string_view value) {
        std::optional<std::uint64_t>* field = nullptr;
        if (key == "low") {
            field = &out.low;
        } else if (key == "high") {
            field = &out.high;
        } else if (key == "max") {
            field = &out.max;
        } else if (key == "oom") {
            field = &out.oom;
        } else if (key == "oom_kill") {
            field = &out.oom_kill;
        } else if (key == "oom_group_kill") {
            field = &out.oom_group_kill;
        }
        if (field != nullptr) *field = parse_u64(value);
    });
    return out;
}

CgroupV1Stat parse_cgroup_v1_stat(std::string_view text) {
    CgroupV1Stat out;
    for_each_key_value(text, [&out](std::string_view key, std::string_view value) {
        std::optional<std::uint64_t>* field = nullptr;
        if (key == "cache") {
            field = &out.cache;
        } else if (key == "rss") {
            field = &out.rss;
        } else if (key == "shmem") {
            field = &out.shmem;
        } else if (key == "mapped_file") {
            field = &out.mapped_file;
        } else if (key == "swap") {
            field = &out.swap;
        } else if (key == "inactive_anon") {
            field = &out.inactive_anon;
        } else if (key == "active_anon") {
            field = &out.active_anon;
        } else if (key == "inactive_file") {
            field = &out.inactive_file;
        } else if (key == "active_file") {
            field = &out.active_file;
        } else if (key == "total_cache") {
            field = &out.total_cache;
        } else if (key == "total_rss") {
            field = &out.total_rss;
        } else if (key == "total_swap") {
            field = &out.total_swap;
        } else if (key == "total_inactive_file") {
            field = &out.total_inactive_file;
        } else if (key == "hierarchical_memory_limit") {
            field = &out.hierarchical_memory_limit;
        }
        if (field != nullptr) *field = parse_u64(value);
    });
    return out;
}

CgroupV1OomControl parse_cgroup_v1_oom_control(std::string_view text) {
    CgroupV1OomControl out;
    for_each_key_value(text, [&out](std::string_view key, std::string_view value) {
        if (key == "oom_kill_disable") {
            out.oom_kill_disable = parse_u64(value);
        } else if (key == "under_oom") {
            out.under_oom = parse_u64(value);
        } else if (key == "oom_kill") {
            out.oom_kill = parse_u64(value);
        }
    });
    return out;
}

std::optional<std::uint64_t> working_set(std::optional<std::uint64_t> usage,
                                         std::optional<std::uint64_t> inactive_file) {
    if (!usage) return std::nullopt;
    if (!inactive_file) return usage;
    return *usage > *inactive_file ? *usage - *inactive_file : 0;
}

}  // namespace leakhunt::proc
