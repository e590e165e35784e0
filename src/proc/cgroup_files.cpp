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

// One field of a flat-keyed file: its key and the member it fills.
template <typename T>
struct Field {
    std::string_view key;
    std::optional<std::uint64_t> T::*member;
};

// A flat-keyed cgroup file into `T`: each line whose key is in `fields` fills its member (the
// last line of a key wins); other lines are ignored.
template <typename T, std::size_t N>
T parse_fields(std::string_view text, const Field<T> (&fields)[N]) {
    T out;
    for_each_key_value(text, [&out, &fields](std::string_view key, std::string_view value) {
        for (const Field<T>& f : fields) {
            if (f.key == key) {
                out.*(f.member) = parse_u64(value);
                return;
            }
        }
    });
    return out;
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
    static constexpr Field<CgroupV2Stat> k_fields[] = {
        {"anon", &CgroupV2Stat::anon},
        {"file", &CgroupV2Stat::file},
        {"kernel", &CgroupV2Stat::kernel},
        {"shmem", &CgroupV2Stat::shmem},
        {"sock", &CgroupV2Stat::sock},
        {"slab", &CgroupV2Stat::slab},
        {"inactive_anon", &CgroupV2Stat::inactive_anon},
        {"active_anon", &CgroupV2Stat::active_anon},
        {"inactive_file", &CgroupV2Stat::inactive_file},
        {"active_file", &CgroupV2Stat::active_file},
        {"unevictable", &CgroupV2Stat::unevictable},
    };
    return parse_fields(text, k_fields);
}

CgroupV2Events parse_cgroup_v2_events(std::string_view text) {
    static constexpr Field<CgroupV2Events> k_fields[] = {
        {"low", &CgroupV2Events::low},
        {"high", &CgroupV2Events::high},
        {"max", &CgroupV2Events::max},
        {"oom", &CgroupV2Events::oom},
        {"oom_kill", &CgroupV2Events::oom_kill},
        {"oom_group_kill", &CgroupV2Events::oom_group_kill},
    };
    return parse_fields(text, k_fields);
}

CgroupV1Stat parse_cgroup_v1_stat(std::string_view text) {
    static constexpr Field<CgroupV1Stat> k_fields[] = {
        {"cache", &CgroupV1Stat::cache},
        {"rss", &CgroupV1Stat::rss},
        {"shmem", &CgroupV1Stat::shmem},
        {"mapped_file", &CgroupV1Stat::mapped_file},
        {"swap", &CgroupV1Stat::swap},
        {"inactive_anon", &CgroupV1Stat::inactive_anon},
        {"active_anon", &CgroupV1Stat::active_anon},
        {"inactive_file", &CgroupV1Stat::inactive_file},
        {"active_file", &CgroupV1Stat::active_file},
        {"total_cache", &CgroupV1Stat::total_cache},
        {"total_rss", &CgroupV1Stat::total_rss},
        {"total_swap", &CgroupV1Stat::total_swap},
        {"total_inactive_file", &CgroupV1Stat::total_inactive_file},
        {"hierarchical_memory_limit", &CgroupV1Stat::hierarchical_memory_limit},
    };
    return parse_fields(text, k_fields);
}

CgroupV1OomControl parse_cgroup_v1_oom_control(std::string_view text) {
    static constexpr Field<CgroupV1OomControl> k_fields[] = {
        {"oom_kill_disable", &CgroupV1OomControl::oom_kill_disable},
        {"under_oom", &CgroupV1OomControl::under_oom},
        {"oom_kill", &CgroupV1OomControl::oom_kill},
    };
    return parse_fields(text, k_fields);
}

std::optional<std::uint64_t> working_set(std::optional<std::uint64_t> usage,
                                         std::optional<std::uint64_t> inactive_file) {
    if (!usage) return std::nullopt;
    if (!inactive_file) return usage;
    return *usage > *inactive_file ? *usage - *inactive_file : 0;
}

}  // namespace leakhunt::proc
