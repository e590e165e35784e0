// Tests for diff_profile: the current samples as they are, the base samples negated and labelled
// pprof::base, mappings/functions/locations merged; mismatched sample types are one error naming
// both files.
#include "profile/diff.hpp"

#include <gtest/gtest.h>

#include "profile/pprof.hpp"
#include "util/error.hpp"

namespace leakhunt::profile {
namespace {

Profile one(uint64_t address, const std::string& fn, int64_t bytes) {
    Profile p = make_heap_profile();
    p.time_nanos = 1000;
    p.mappings = {{.id = 1,
                   .memory_start = 0x1000,
                   .memory_limit = 0x9000,
                   .filename = "/bin/app",
                   .build_id = "abcd"}};
    p.functions = {{.id = 1, .name = "main"}, {.id = 2, .name = fn}};
    p.locations = {{.id = 1, .mapping_id = 1, .address = 0x1100, .lines = {{1, 3}}},
                   {.id = 2, .mapping_id = 1, .address = address, .lines = {{2, 9}}}};
    p.samples = {{{2, 1}, {1, bytes, 1, bytes}, {}}};
    return p;
}

}  // namespace

TEST(DiffProfile, NegatesAndLabelsBaseSamplesAndMergesTables) {
    const Profile base = one(0x1200, "leak", 100);
    Profile cur = one(0x1200, "leak", 300);
    cur.samples.push_back({{1}, {1, 7, 1, 7}, {}});
    const Profile d = diff_profile(base, cur, "a.pb.gz", "b.pb.gz");
    ASSERT_EQ(d.samples.size(), 3U);
    EXPECT_EQ(d.mappings.size(), 1U);   // same file, build ID and range: one mapping
    EXPECT_EQ(d.functions.size(), 2U);  // main, leak
    EXPECT_EQ(d.locations.size(), 2U);
    EXPECT_EQ(d.samples[0].values, (std::vector<int64_t>{1, 300, 1, 300}));
    EXPECT_TRUE(d.samples[0].labels.empty());
    EXPECT_EQ(d.samples[1].values, (std::vector<int64_t>{1, 7, 1, 7}));
    EXPECT_EQ(d.samples[2].values, (std::vector<int64_t>{-1, -100, -1, -100}));
    EXPECT_EQ(d.samples[2].location_ids, (std::vector<uint64_t>{2, 1}));
    ASSERT_EQ(d.samples[2].labels.size(), 1U);
    EXPECT_EQ(d.samples[2].labels[0].key, "pprof::base");
    EXPECT_EQ(d.samples[2].labels[0].str, "true");
    EXPECT_EQ(d.time_nanos, 1000);
}

TEST(DiffProfile, KeepsDistinctLocationsApart) {
    const Profile base = one(0x1300, "old_site", 100);
    const Profile cur = one(0x1200, "leak", 300);
    const Profile d = diff_profile(base, cur, "a", "b");
    EXPECT_EQ(d.functions.size(), 3U);
    EXPECT_EQ(d.locations.size(), 3U);
    EXPECT_EQ(d.samples[1].location_ids, (std::vector<uint64_t>{3, 1}));
    EXPECT_EQ(find_function(d, find_location(d, 3)->lines[0].function_id)->name, "old_site");
    // And the result is a valid profile: it survives encode + parse unchanged.
    EXPECT_EQ(parse_profile(serialize_profile(d), "diff"), d);
}

TEST(DiffProfile, MismatchedSampleTypesNameBothFiles) {
    const Profile base = one(0x1200, "leak", 100);
    Profile cur = one(0x1200, "leak", 300);
    cur.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    try {
        diff_profile(base, cur, "base.pb.gz", "cpu.pb.gz");
        FAIL() << "expected an error";
    } catch (const util::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("base.pb.gz"), std::string::npos) << what;
        EXPECT_NE(what.find("cpu.pb.gz"), std::string::npos) << what;
        EXPECT_NE(what.find("samples/count, cpu/nanoseconds"), std::string::npos) << what;
    }
}

}  // namespace leakhunt::profile
