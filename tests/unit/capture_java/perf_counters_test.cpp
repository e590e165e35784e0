#include "capture/java/perf_counters.hpp"

#include <gtest/gtest.h>

#include "util/file.hpp"

namespace leakhunt::capture::java {
namespace {

TEST(ParsePerfCounters, KeepsNumbersSkipsStrings) {
    const PerfCounters c = parse_perf_counters(
        "4242:\n"
        "java.threads.live=7\n"
        "sun.gc.collector.0.name=\"G1 young collection pauses\"\n"
        "sun.gc.cause=\"No GC\"\n"
        "bad name=3\n"
        "sun.x=12abc\n"
        "sun.y=\n"
        "=5\n"
        "sun.z= 42 \r\n");
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.at("java.threads.live"), 7);
    EXPECT_EQ(c.at("sun.z"), 42);
}

TEST(ParsePerfCounters, BoundsWhatItKeeps) {
    std::string text;
    for (size_t i = 0; i < k_max_counters + 10; ++i) text += "c" + std::to_string(i) + "=1\n";
    EXPECT_EQ(parse_perf_counters(text).size(), k_max_counters);
    EXPECT_TRUE(parse_perf_counters(std::string(300, 'a') + "=1\n").empty());
}

TEST(JvmCounters, FromWhatJcmdPrinted) {
    const auto c = jvm_counters(
        parse_perf_counters(util::read_file(LEAKHUNT_TEST_DATA "/java/perf_counters.txt")));
    // Values read off the file by hand (G1: eden, s0, s1 in generation 0; old in 1).
    EXPECT_EQ(c.at("heap_used_bytes"), 0 + 0 + 98304 + 1210944);
    EXPECT_EQ(c.at("heap_committed_bytes"), 5242904 + 5242888);
    EXPECT_EQ(c.at("old_gen_used_bytes"), 1210944);
    EXPECT_EQ(c.at("metaspace_used_bytes"), 206504);
    EXPECT_EQ(c.at("metaspace_committed_bytes"), 393216);
    EXPECT_EQ(c.at("threads"), 7);
    EXPECT_EQ(c.at("gc_count"), 2);
    EXPECT_DOUBLE_EQ(c.at("gc_time_s"), (15130089.0 + 18796128.0) / 1e9);
    // Every column it yields is one the timeline declares.
    const auto columns = jvm_counter_columns();
    for (const auto& [name, value] : c) {
        EXPECT_NE(std::find(columns.begin(), columns.end(), name), columns.end()) << name;
    }
    EXPECT_EQ(c.size(), columns.size());
}

TEST(JvmCounters, LeavesOutWhatIsMissing) {
    const auto c =
        jvm_counters(parse_perf_counters("java.threads.live=3\nsun.gc.collector.0.time=5\n"));
    EXPECT_EQ(c.size(), 1u);
    EXPECT_EQ(c.at("threads"), 3);
}

}  // namespace
}  // namespace leakhunt::capture::java
