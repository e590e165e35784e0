// Tests for the cgroup v1/v2 memory file parsers and the working-set rule, on fixture trees:
// cgroup_v2/ (written in the kernel's format) and cgroup_v1/ (captured from this machine).
#include "proc/cgroup_files.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace leakhunt::proc {
namespace {

using test::fixture;

constexpr const char* k_foo = "cgroup_v2/system.slice/foo.service/";
constexpr const char* k_v1 = "cgroup_v1/memory/process_api/5f960890c225b8a2192d258b32cd4ea0/";
constexpr const char* k_v1_old = "cgroup_v1/memory/docker/old/";

std::string at(const char* dir, const char* file) {
    return fixture(std::string(dir) + file);
}

TEST(ParseCgroupCounter, Values) {
    EXPECT_EQ(parse_cgroup_counter(at(k_foo, "memory.current")), 157286400u);
    EXPECT_EQ(parse_cgroup_counter(at(k_foo, "memory.swap.current")), 4096u);
    EXPECT_EQ(parse_cgroup_counter(at(k_v1, "memory.usage_in_bytes")), 8609792u);
    EXPECT_FALSE(parse_cgroup_counter(""));
    EXPECT_FALSE(parse_cgroup_counter("12 13\n"));
    EXPECT_FALSE(parse_cgroup_counter("-1\n"));
}

TEST(ParseCgroupLimit, V2NumericAndMax) {
    EXPECT_EQ(parse_cgroup_limit(at(k_foo, "memory.max")), 536870912u);
    EXPECT_FALSE(
        parse_cgroup_limit(fixture("cgroup_v2/system.slice/unlimited.service/memory.max")));
    EXPECT_FALSE(parse_cgroup_limit("max\n"));
    EXPECT_FALSE(parse_cgroup_limit("maximum\n"));
}

TEST(ParseCgroupLimit, V1HugeMeansUnlimited) {
    EXPECT_FALSE(parse_cgroup_limit(at(k_v1, "memory.limit_in_bytes")));  // 9223372036854771712
    EXPECT_FALSE(parse_cgroup_limit("9223372036854710272\n"));            // 64 KiB pages
    EXPECT_EQ(parse_cgroup_limit(at(k_v1_old, "memory.limit_in_bytes")), 268435456u);
}

TEST(ParseCgroupV2Stat, Fixture) {
    const CgroupV2Stat s = parse_cgroup_v2_stat(at(k_foo, "memory.stat"));
    EXPECT_EQ(s.anon, 104857600u);
    EXPECT_EQ(s.file, 48234496u);
    EXPECT_EQ(s.kernel, 3145728u);
    EXPECT_EQ(s.shmem, 1048576u);
    EXPECT_EQ(s.slab, 1925120u);
    EXPECT_EQ(s.inactive_file, 31457280u);
    EXPECT_EQ(s.active_file, 16777216u);
    EXPECT_EQ(s.unevictable, 0u);
    // "file_mapped", "anon_thp" etc. do not leak into "file"/"anon".
    const CgroupV2Stat only = parse_cgroup_v2_stat("file_mapped 5\nanon_thp 6\nbogus\n");
    EXPECT_FALSE(only.file);
    EXPECT_FALSE(only.anon);
}

TEST(ParseCgroupV2Events, Fixture) {
    const CgroupV2Events e = parse_cgroup_v2_events(at(k_foo, "memory.events"));
    EXPECT_EQ(e.low, 0u);
    EXPECT_EQ(e.max, 17u);
    EXPECT_EQ(e.oom, 2u);
    EXPECT_EQ(e.oom_kill, 1u);
    EXPECT_EQ(e.oom_group_kill, 0u);
    EXPECT_FALSE(parse_cgroup_v2_events("low 0\n").oom_kill);
}

TEST(ParseCgroupV1Stat, HierarchicalFixture) {
    const CgroupV1Stat s = parse_cgroup_v1_stat(at(k_v1, "memory.stat"));
    EXPECT_EQ(s.cache, 5046272u);
    EXPECT_EQ(s.rss, 1802240u);
    EXPECT_EQ(s.inactive_file, 2129920u);
    EXPECT_EQ(s.total_inactive_file, 2129920u);
    EXPECT_EQ(s.total_rss, 1802240u);
    EXPECT_EQ(s.total_cache, 5046272u);
    EXPECT_EQ(s.hierarchical_memory_limit, 9223372036854771712u);
    EXPECT_EQ(s.inactive_file_for_working_set(), 2129920u);
}

TEST(ParseCgroupV1Stat, FallsBackToInactiveFile) {
    const CgroupV1Stat s = parse_cgroup_v1_stat(at(k_v1_old, "memory.stat"));
    EXPECT_FALSE(s.total_inactive_file);
    EXPECT_EQ(s.inactive_file_for_working_set(), 125829120u);
    const CgroupV1Stat t = parse_cgroup_v1_stat("inactive_file 1\ntotal_inactive_file 2\n");
    EXPECT_EQ(t.inactive_file_for_working_set(), 2u);
}

TEST(ParseCgroupV1OomControl, WithAndWithoutOomKill) {
    const CgroupV1OomControl c = parse_cgroup_v1_oom_control(at(k_v1, "memory.oom_control"));
    EXPECT_EQ(c.oom_kill_disable, 0u);
    EXPECT_EQ(c.under_oom, 0u);
    EXPECT_EQ(c.oom_kill, 0u);
    const CgroupV1OomControl old = parse_cgroup_v1_oom_control(at(k_v1_old, "memory.oom_control"));
    EXPECT_EQ(old.under_oom, 0u);
    EXPECT_FALSE(old.oom_kill);  // before Linux 4.13
}

TEST(WorkingSet, SubtractsInactiveFileFlooredAtZero) {
    EXPECT_EQ(working_set(157286400u, 31457280u), 125829120u);
    EXPECT_EQ(working_set(100u, 300u), 0u);
    EXPECT_EQ(working_set(100u, std::nullopt), 100u);
    EXPECT_FALSE(working_set(std::nullopt, 5u));
}

TEST(CgroupParsers, SurviveEveryTruncation) {
    for (const std::string& text : {at(k_foo, "memory.stat"), at(k_foo, "memory.events"),
                                    at(k_v1, "memory.stat"), at(k_v1, "memory.oom_control")}) {
        for (std::size_t n = 0; n <= text.size(); ++n) {
            const std::string_view cut(text.data(), n);
            (void)parse_cgroup_counter(cut);
            (void)parse_cgroup_limit(cut);
            (void)parse_cgroup_v2_stat(cut);
            (void)parse_cgroup_v2_events(cut);
            (void)parse_cgroup_v1_stat(cut);
            (void)parse_cgroup_v1_oom_control(cut);
        }
    }
    // A truncated v2 stat keeps what it read: "anon 1048" is a (wrong but) well-formed number,
    // which is why the sampler reads whole files, never a fixed prefix.
    EXPECT_EQ(parse_cgroup_v2_stat("anon 12\nfile").anon, 12u);
    EXPECT_FALSE(parse_cgroup_v2_stat("anon 12\nfile").file);
}

}  // namespace
}  // namespace leakhunt::proc
