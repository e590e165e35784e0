// Tests for the node capture's conversion of V8's sampling heap profile (CDP JSON) into pprof.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "capture/node/sampling_profile.hpp"
#include "util/error.hpp"

namespace leakhunt::capture::node {
namespace {

using json = nlohmann::json;

// What the inspector sends for one sampled object of `size` bytes (V8's ScaleSample, then
// size * count in V8HeapProfilerAgentImpl::getSamplingProfile).
std::int64_t cdp_size(std::int64_t size, std::int64_t interval, std::int64_t* count = nullptr) {
    const auto c = static_cast<std::int64_t>(
        1.0 / (1.0 - std::exp(-static_cast<double>(size) / static_cast<double>(interval))) + 0.5);
    if (count) *count = c;
    return size * c;
}

json frame(const char* name, const char* url, int line) {
    return {{"functionName", name},
            {"scriptId", "1"},
            {"url", url},
            {"lineNumber", line},
            {"columnNumber", 2}};
}

TEST(ScriptFile, FileUrlsBecomePaths) {
    EXPECT_EQ(script_file("file:///srv/app/server.js"), "/srv/app/server.js");
    EXPECT_EQ(script_file("file:///srv/my%20app/a%2Bb.js"), "/srv/my app/a+b.js");
    EXPECT_EQ(script_file("file:///x/100%"), "/x/100%");
    EXPECT_EQ(script_file("node:internal/streams/readable"), "node:internal/streams/readable");
    EXPECT_EQ(script_file(""), "");
}

TEST(SamplingProfileToPprof, StacksNamesLinesAndScaledValues) {
    const std::int64_t interval = 32768;
    const json head = {{"callFrame", frame("(root)", "", -1)},
                       {"selfSize", 0},
                       {"id", 1},
                       {"children",
                        {{{"callFrame", frame("handle", "file:///srv/server.js", 9)},
                          {"selfSize", 0},
                          {"id", 2},
                          {"children",
                           {{{"callFrame", frame("cacheSession", "file:///srv/server.js", 41)},
                             {"selfSize", 0},
                             {"id", 3},
                             {"children", json::array()}},
                            {{"callFrame", frame("", "file:///srv/server.js", 60)},
                             {"selfSize", 0},
                             {"id", 4},
                             {"children", json::array()}}}}}}}};
    const std::int64_t b1 = cdp_size(1616, interval);
    const std::int64_t b2 = cdp_size(2048, interval);
    const json result = {{"profile",
                          {{"head", head},
                           {"samples",
                            {{{"size", b1}, {"nodeId", 3}, {"ordinal", 1}},
                             {{"size", b1}, {"nodeId", 3}, {"ordinal", 2}},
                             {{"size", b2}, {"nodeId", 4}, {"ordinal", 3}},
                             {{"size", b2}, {"nodeId", 99}, {"ordinal", 4}}}}}}};
    const profile::Profile p = sampling_profile_to_pprof(result, interval, 123);
    EXPECT_EQ(p.period, interval);
    EXPECT_EQ(p.time_nanos, 123);
    ASSERT_EQ(p.sample_types.size(), 4u);
    EXPECT_EQ(p.sample_types[3].type, "inuse_space");
    ASSERT_EQ(p.samples.size(), 2u);  // node 99 is not in the tree: dropped

    const auto name_of = [&](std::uint64_t location) {
        const auto* l = profile::find_location(p, location);
        const auto* f = profile::find_function(p, l->lines.at(0).function_id);
        return f->name + " " + f->filename + ":" + std::to_string(l->lines.at(0).line) + "/" +
               std::to_string(f->start_line);
    };
    const auto& cache = p.samples[0];
    ASSERT_EQ(cache.location_ids.size(), 2u);
    EXPECT_EQ(name_of(cache.location_ids[0]), "cacheSession /srv/server.js:42/42");
    EXPECT_EQ(name_of(cache.location_ids[1]), "handle /srv/server.js:10/10");
    EXPECT_EQ(cache.values, (std::vector<std::int64_t>{2, 2 * b1, 2, 2 * b1}));
    const auto& anon = p.samples[1];
    EXPECT_EQ(name_of(anon.location_ids[0]), "(anonymous) /srv/server.js:61/61");
    EXPECT_EQ(anon.values, (std::vector<std::int64_t>{1, b2, 1, b2}));
    EXPECT_EQ(p.functions.size(), 3u);  // (root) is no frame
}

TEST(SamplingProfileToPprof, MalformedRepliesAreErrors) {
    EXPECT_THROW(sampling_profile_to_pprof(json::array(), 32768, 0), util::Error);
    EXPECT_THROW(sampling_profile_to_pprof({{"profile", {{"samples", json::array()}}}}, 32768, 0),
                 util::Error);
    const json no_id = {
        {"profile", {{"head", {{"callFrame", frame("(root)", "", -1)}, {"selfSize", 0}}}}}};
    EXPECT_THROW(sampling_profile_to_pprof(no_id, 32768, 0), util::Error);
    const json dup = {
        {"profile",
         {{"head",
           {{"callFrame", frame("(root)", "", -1)},
            {"selfSize", 0},
            {"id", 1},
            {"children", {{{"callFrame", frame("f", "", 0)}, {"selfSize", 0}, {"id", 1}}}}}}}}};
    EXPECT_THROW(sampling_profile_to_pprof(dup, 32768, 0), util::Error);
}

}  // namespace
}  // namespace leakhunt::capture::node
