// Tests for read_profile / parse_profile: a real Go heap profile (tests/data/profile/go_heap.pb.gz,
// made by tests/data/profile/goheap/main.go) and every kind of bad input.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "profile/gzip.hpp"
#include "profile/pprof.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::profile {
namespace {

const std::string k_go_heap = LEAKHUNT_TEST_DATA "/profile/go_heap.pb.gz";

// Sum of one sample value per leaf function name.
std::map<std::string, int64_t> flat_by_leaf(const Profile& p, size_t index) {
    std::map<std::string, int64_t> out;
    for (const auto& s : p.samples) {
        const Location* leaf = find_location(p, s.location_ids.at(0));
        const Function* f = find_function(p, leaf->lines.at(0).function_id);
        out[f->name] += s.values.at(index);
    }
    return out;
}

// The error message parse_profile throws for `bytes`, or "" if it parses.
std::string parse_error(std::string_view bytes) {
    try {
        parse_profile(bytes, "bad.pb.gz");
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ReadProfile, GoHeapProfileHasGoSampleTypesInOrder) {
    const Profile p = read_profile(k_go_heap);
    EXPECT_EQ(p.sample_types, make_heap_profile().sample_types);
    EXPECT_EQ(p.period_type, (ValueType{"space", "bytes"}));
    EXPECT_EQ(sample_type_index(p, "inuse_space"), 3U);
    EXPECT_FALSE(sample_type_index(p, "cpu"));
    EXPECT_FALSE(p.samples.empty());
    EXPECT_FALSE(p.mappings.empty());
    EXPECT_GT(p.time_nanos, 0);
}

TEST(ReadProfile, GoHeapProfileValuesPerFunction) {
    const Profile p = read_profile(k_go_heap);
    const auto inuse = flat_by_leaf(p, *sample_type_index(p, "inuse_space"));
    const auto objects = flat_by_leaf(p, *sample_type_index(p, "inuse_objects"));
    // 64 blocks of 64 KiB and 1000 of 1 KiB, plus the growth of the slice that holds them.
    EXPECT_GE(inuse.at("main.leakySlices"), 64 * 65536);
    EXPECT_LT(inuse.at("main.leakySlices"), 64 * 65536 + 65536);
    EXPECT_GE(inuse.at("main.smallObjects"), 1000 * 1024);
    EXPECT_GE(objects.at("main.smallObjects"), 1000);
}

TEST(ReadProfile, IdsAreDenseAndReferencesResolve) {
    const Profile p = read_profile(k_go_heap);
    for (size_t i = 0; i < p.locations.size(); ++i) EXPECT_EQ(p.locations[i].id, i + 1);
    for (size_t i = 0; i < p.functions.size(); ++i) EXPECT_EQ(p.functions[i].id, i + 1);
    for (size_t i = 0; i < p.mappings.size(); ++i) EXPECT_EQ(p.mappings[i].id, i + 1);
    for (const auto& s : p.samples) {
        ASSERT_EQ(s.values.size(), p.sample_types.size());
        for (uint64_t id : s.location_ids) ASSERT_NE(find_location(p, id), nullptr);
    }
}

TEST(ReadProfile, ReadsRawProtobufToo) {
    const std::string raw = gunzip(util::read_file(k_go_heap), "x");
    EXPECT_EQ(parse_profile(raw, "raw.pb"), read_profile(k_go_heap));
}

TEST(ReadProfile, MissingFileNamesPath) {
    EXPECT_THROW(read_profile("/nonexistent/heap.pb.gz"), util::Error);
}

TEST(ParseProfile, EmptyInput) {
    const std::string e = parse_error("");
    EXPECT_NE(e.find("bad.pb.gz"), std::string::npos) << e;
    EXPECT_NE(e.find("empty"), std::string::npos) << e;
}

TEST(ParseProfile, TruncatedGzip) {
    const std::string bytes = util::read_file(k_go_heap);
    const std::string e = parse_error(std::string_view(bytes).substr(0, bytes.size() / 2));
    EXPECT_NE(e.find("bad.pb.gz"), std::string::npos) << e;
    EXPECT_NE(e.find("truncated"), std::string::npos) << e;
}

TEST(ParseProfile, GarbageAndTruncatedProtobuf) {
    const std::string garbage = "this is not a profile at all\xff\xff\xff\xff";
    std::string e = parse_error(garbage);
    EXPECT_NE(e.find("bad.pb.gz"), std::string::npos) << e;
    const std::string raw = gunzip(util::read_file(k_go_heap), "x");
    e = parse_error(std::string_view(raw).substr(0, raw.size() - 3));
    EXPECT_NE(e.find("bad.pb.gz"), std::string::npos) << e;
    e = parse_error(gzip(garbage));
    EXPECT_NE(e.find("bad.pb.gz"), std::string::npos) << e;
}

TEST(ParseProfile, MissingSampleTypes) {
    Profile p;
    const std::string e = parse_error(serialize_profile(p));
    EXPECT_NE(e.find("no sample types"), std::string::npos) << e;
}

TEST(ParseProfile, StringIndexOutOfRange) {
    // sample_type { type: 5 } and string_table [""]: field 1 (len 2: 08 05), field 6 (len 0).
    const std::string raw("\x0a\x02\x08\x05\x32\x00", 6);
    const std::string e = parse_error(raw);
    EXPECT_NE(e.find("string 5"), std::string::npos) << e;
    // A string table that does not start with "" (field 6, "x").
    EXPECT_NE(parse_error(std::string("\x32\x01x", 3)).find("string table"), std::string::npos);
}

TEST(ParseProfile, UnknownAndDuplicateIds) {
    Profile p = make_heap_profile();
    p.samples.push_back({{7}, {1, 2, 3, 4}, {}});
    EXPECT_NE(parse_error(serialize_profile(p)).find("location id 7"), std::string::npos);

    p.samples.clear();
    p.locations.push_back({.id = 1, .mapping_id = 3});
    EXPECT_NE(parse_error(serialize_profile(p)).find("mapping id 3"), std::string::npos);

    p.locations = {{.id = 1}, {.id = 1}};
    EXPECT_NE(parse_error(serialize_profile(p)).find("same id 1"), std::string::npos);

    p.locations = {{.id = 0}};
    EXPECT_NE(parse_error(serialize_profile(p)).find("id 0"), std::string::npos);

    p.locations = {{.id = 1, .lines = {{.function_id = 9}}}};
    EXPECT_NE(parse_error(serialize_profile(p)).find("function id 9"), std::string::npos);
}

TEST(ParseProfile, SampleValueCountMustMatchSampleTypes) {
    Profile p = make_heap_profile();
    p.locations.push_back({.id = 1});
    p.samples.push_back({{1}, {1, 2}, {}});
    const std::string e = parse_error(serialize_profile(p));
    EXPECT_NE(e.find("2 values"), std::string::npos) << e;
}

TEST(ParseProfile, RenumbersSparseIds) {
    Profile p = make_heap_profile();
    p.mappings.push_back({.id = 40, .filename = "/bin/x"});
    p.functions.push_back({.id = 70, .name = "f"});
    p.locations.push_back({.id = 1000,
                           .mapping_id = 40,
                           .address = 0x1234,
                           .lines = {{.function_id = 70, .line = 3}}});
    p.samples.push_back({{1000, 1000}, {1, 2, 3, 4}, {}});
    const Profile q = parse_profile(serialize_profile(p), "sparse");
    ASSERT_EQ(q.locations.size(), 1U);
    EXPECT_EQ(q.locations[0].id, 1U);
    EXPECT_EQ(q.locations[0].mapping_id, 1U);
    EXPECT_EQ(q.locations[0].lines.at(0).function_id, 1U);
    EXPECT_EQ(q.samples.at(0).location_ids, (std::vector<uint64_t>{1, 1}));
    EXPECT_EQ(q.mappings.at(0).filename, "/bin/x");
}

TEST(PreferredSampleType, HeapFirstThenTheProfilesOwnChoiceThenTheLast) {
    Profile p = make_heap_profile();
    EXPECT_EQ(preferred_sample_type(p), "inuse_space");
    p.sample_types = {{"goroutine", "count"}};
    EXPECT_EQ(preferred_sample_type(p), "goroutine");
    p.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
    EXPECT_EQ(preferred_sample_type(p), "delay");  // pprof: the last one
    p.default_sample_type = "contentions";
    EXPECT_EQ(preferred_sample_type(p), "contentions");
    p.default_sample_type = "no such type";
    EXPECT_EQ(preferred_sample_type(p), "delay");
    EXPECT_EQ(preferred_sample_type(Profile{}), "");
}

}  // namespace leakhunt::profile
