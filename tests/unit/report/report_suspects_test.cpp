// Tests for the suspects and retention paths of the report: suspects computed from the
// snapshots of one process (as `leakhunt suspects` does), the exit snapshot left out, the reason
// when there are too few, and retention rows flattened from a heapscan RetentionReport.
#include <gtest/gtest.h>

#include <algorithm>

#include "report/report_data.hpp"
#include "report/scan_paths.hpp"
#include "report/snapshot_suspects.hpp"
#include "util/error.hpp"

namespace leakhunt::report {
namespace {

// A symbolized snapshot at `t_s` seconds: leaky (leak.cpp:10) holds `leaky_bytes`, steady
// (keep.cpp:20) holds 5000, both called from main.
profile::Profile snapshot(double t_s, int64_t leaky_bytes) {
    profile::Profile p = profile::make_heap_profile();
    p.time_nanos = 1'700'000'000'000'000'000 + static_cast<int64_t>(t_s * 1e9);
    p.mappings = {
        {.id = 1, .memory_start = 0x1000, .memory_limit = 0x9000, .filename = "/opt/app"}};
    p.functions = {{.id = 1, .name = "leaky", .filename = "leak.cpp"},
                   {.id = 2, .name = "steady", .filename = "keep.cpp"},
                   {.id = 3, .name = "main", .filename = "main.cpp"}};
    p.locations = {{.id = 1, .mapping_id = 1, .address = 0x1100, .lines = {{1, 10}}},
                   {.id = 2, .mapping_id = 1, .address = 0x1200, .lines = {{2, 20}}},
                   {.id = 3, .mapping_id = 1, .address = 0x1300, .lines = {{3, 5}}}};
    // alloc_objects, alloc_space, inuse_objects, inuse_space
    p.samples = {{{1, 3}, {1, leaky_bytes, 1, leaky_bytes}, {}}, {{2, 3}, {1, 5000, 1, 5000}, {}}};
    return p;
}

TEST(ReportSuspects, ComputedFromSnapshotsWithTheLeakingFunctionFirst) {
    ReportBuilder b("t");
    // 100 bytes per second: 360000 bytes per hour.
    for (int i = 0; i < 6; ++i) {
        b.add_profile("heap.7.000" + std::to_string(i) + ".pb.gz",
                      snapshot(10.0 * i, 1000 + 1000 * i));
    }
    // The exit snapshot frees everything; left out as `leakhunt suspects` does.
    b.add_profile("heap.7.0006.pb.gz", snapshot(60, 0));
    b.suspects_from_profiles("rec (PID 7)", {"heap.7.0006.pb.gz"});
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym, {}, "2026-01-01T00:00:00Z");
    ASSERT_TRUE(doc["suspects"].is_array()) << doc["missing"].dump();
    ASSERT_EQ(doc["suspects"].size(), 1u);
    const nlohmann::json& row = doc["suspects"][0];
    EXPECT_EQ(row["rank"], 1);
    EXPECT_EQ(row["function"], "leaky");
    EXPECT_EQ(row["file"], "leak.cpp");
    EXPECT_EQ(row["line"], 10);
    EXPECT_EQ(row["shape"], "steady growth");
    EXPECT_DOUBLE_EQ(row["growth_bytes_per_hour"].get<double>(), 360000.0);
    EXPECT_DOUBLE_EQ(row["share_of_growth"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(row["first"].get<double>(), 1000.0);
    EXPECT_DOUBLE_EQ(row["last"].get<double>(), 6000.0);
    for (const auto& m : doc["missing"]) EXPECT_FALSE(m.get<std::string>().starts_with("suspects"));
}

TEST(ReportSuspects, AProfileLeftOutOfTheGraphsStillCountsForTheSuspects) {
    // Three snapshots, the last an exit one: the flame graphs leave it out, the suspects (which
    // need three) use it, as `leakhunt suspects` does.
    ReportBuilder b("t");
    b.add_profile("heap.7.0000.pb.gz", snapshot(0, 1000));
    b.add_profile("heap.7.0001.pb.gz", snapshot(10, 2000));
    b.add_profile("heap.7.0002.pb.gz", snapshot(20, 3000));
    b.leave_out_of_graphs("heap.7.0002.pb.gz");
    b.suspects_from_profiles("rec (PID 7)");
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym);
    EXPECT_EQ(doc["flame"]["file"], "heap.7.0001.pb.gz");
    EXPECT_EQ(doc["diff_flame"]["from"], "heap.7.0000.pb.gz");
    EXPECT_EQ(doc["diff_flame"]["to"], "heap.7.0001.pb.gz");
    for (const auto& m : doc["missing"]) {
        EXPECT_EQ(m.get<std::string>().find("has 2 heap snapshots"), std::string::npos) << m;
    }
    const auto said = std::find_if(b.summary().begin(), b.summary().end(),
                                   [](const auto& line) { return line.starts_with("suspects:"); });
    const bool used_three =
        (said != b.summary().end() && said->ends_with("over 3 snapshots")) ||
        std::any_of(doc["missing"].begin(), doc["missing"].end(), [](const nlohmann::json& m) {
            return m.get<std::string>().find("over the 3 snapshots") != std::string::npos;
        });
    EXPECT_TRUE(used_three) << doc["missing"].dump();
}

TEST(ReportSuspects, TooFewSnapshotsSaysHowMany) {
    ReportBuilder b("t");
    b.add_profile("heap.7.0000.pb.gz", snapshot(0, 1000));
    b.add_profile("heap.7.0001.pb.gz", snapshot(10, 2000));
    b.suspects_from_profiles("rec (PID 7)");
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym);
    EXPECT_TRUE(doc["suspects"].is_null());
    bool found = false;
    for (const auto& m : doc["missing"]) {
        if (m.get<std::string>() ==
            "suspects: rec (PID 7) has 2 heap snapshots, 3 are needed to see a trend (record "
            "longer, or with a shorter --snapshot-every)") {
            found = true;
        }
    }
    EXPECT_TRUE(found) << doc["missing"].dump();
}

TEST(ReportSuspects, NothingGrowingIsSaid) {
    ReportBuilder b("t");
    for (int i = 0; i < 4; ++i)
        b.add_profile("heap.7.000" + std::to_string(i) + ".pb.gz", snapshot(i, 1000));
    b.suspects_from_profiles("rec (PID 7)");
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym);
    EXPECT_TRUE(doc["suspects"].is_null());
    EXPECT_EQ(doc["missing"][1],
              "suspects: no allocation site grows steadily over the 4 snapshots of rec (PID 7) "
              "(2 sites: plateau, churn, shrinking or flat)");
}

TEST(ReportSuspects, GivenSuspectsWinOverComputedOnes) {
    ReportBuilder b("t");
    for (int i = 0; i < 4; ++i)
        b.add_profile("heap.7.000" + std::to_string(i) + ".pb.gz", snapshot(i, 1000 * (i + 1)));
    b.suspects_from_profiles("rec (PID 7)");
    b.set_suspects(nlohmann::json::array({{{"function", "given"}}}), "s.json");
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym);
    ASSERT_EQ(doc["suspects"].size(), 1u);
    EXPECT_EQ(doc["suspects"][0]["function"], "given");
}

TEST(ReportSuspects, SameTimeIsAnErrorNamingTheFiles) {
    std::vector<profile::Profile> ps = {snapshot(0, 1), snapshot(0, 2), snapshot(1, 3)};
    symbolize::Symbolizer sym;
    try {
        find_snapshot_suspects(
            {{"a.pb.gz", 0, &ps[0]}, {"b.pb.gz", 1, &ps[1]}, {"c.pb.gz", 2, &ps[2]}}, sym,
            "inuse_space");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_EQ(std::string(e.what()).substr(0, 30), "a.pb.gz and b.pb.gz carry the ");
    }
}

// A timeline of `n` samples 1 s apart at a flat 100 MB: too short to decide.
series::Series short_timeline(size_t n) {
    series::Series s;
    s.name = "timeline.7.csv";
    for (size_t i = 0; i < n; ++i) {
        s.t.push_back(static_cast<double>(i));
        s.columns[std::string(series::k_rss)].push_back(100e6);
    }
    return s;
}

TEST(ReportVerdict, ATimelineTooShortToDecideTakesTheSnapshotsClearGrowth) {
    // A record directory with 10 timeline rows and 6 snapshots in which one site grows 100 B/s:
    // the page said INCONCLUSIVE "+0 B/h" beside suspects growing.
    ReportBuilder b("t");
    b.set_series(short_timeline(10));
    for (int i = 0; i < 6; ++i) {
        b.add_profile("heap.7.000" + std::to_string(i) + ".pb.gz",
                      snapshot(10.0 * i, 1000 + 1000 * i));
    }
    b.suspects_from_profiles("rec (PID 7)");
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym, {}, "2026-01-01T00:00:00Z");
    const nlohmann::json& v = doc["verdict"];
    EXPECT_EQ(v["verdict"], "leak");
    EXPECT_EQ(v["based_on"], "heap snapshots");
    EXPECT_DOUBLE_EQ(v["growth_bytes_per_hour"].get<double>(), 360000.0);
    EXPECT_EQ(v["samples"], 10);
    ASSERT_GE(v["evidence"].size(), 4u);
    EXPECT_EQ(v["evidence"][0],
              "from the heap snapshots: 1 allocation site of rec (PID 7) grows steadily over 6 "
              "snapshots, +352 KiB/h in all");
    EXPECT_EQ(v["evidence"][1].get<std::string>().rfind("the clearest: ", 0), 0u);
    EXPECT_EQ(v["evidence"][2],
              "the memory timeline (10 samples) is too short or too noisy to decide on its own:");
    EXPECT_EQ(v["evidence"][3].get<std::string>().rfind("timeline: only 10 samples", 0), 0u);
    const std::string said =
        "verdict: leak, +352 KiB/h, from the heap snapshots (the timeline "
        "alone cannot decide)";
    EXPECT_NE(std::find(b.summary().begin(), b.summary().end(), said), b.summary().end());
}

TEST(ReportVerdict, SnapshotsWithoutGrowthLeaveTheTimelineVerdict) {
    ReportBuilder b("t");
    b.set_series(short_timeline(10));
    for (int i = 0; i < 4; ++i)
        b.add_profile("heap.7.000" + std::to_string(i) + ".pb.gz", snapshot(i, 1000));
    b.suspects_from_profiles("rec (PID 7)");
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym);
    EXPECT_EQ(doc["verdict"]["verdict"], "inconclusive");
    EXPECT_FALSE(doc["verdict"].contains("based_on"));
}

// Five snapshots of a process whose RSS grows by `rss_step` per snapshot while the site `leaky`
// of the profiled heap grows 1000 bytes per snapshot; `program` is the mapped executable.
SnapshotSuspects rss_and_heap(double rss_step, const std::string& program,
                              double rss_first = 50e6) {
    std::vector<profile::Profile> ps;
    for (int i = 0; i < 5; ++i) {
        ps.push_back(snapshot(10.0 * i, 1000 + 1000 * i));
        ps.back().mappings[0].filename = program;
    }
    std::vector<SuspectSnapshot> in;
    for (size_t i = 0; i < ps.size(); ++i) {
        in.push_back({"heap.7.000" + std::to_string(i) + ".pb.gz", static_cast<unsigned>(i), &ps[i],
                      rss_first == 0 ? 0.0 : rss_first + rss_step * static_cast<double>(i)});
    }
    symbolize::Symbolizer sym;
    return find_snapshot_suspects(std::move(in), sym, "inuse_space");
}

TEST(ReportSuspects, RssGrowthOutsideTheHeapIsSaidInsteadOfRanked) {
    // RSS +60 MiB (15 MiB a snapshot), the malloc heap +4000 bytes: a Node process whose V8 heap
    // grows. No site is ranked; the sentence says where the growth is not, and where to look.
    const SnapshotSuspects s = rss_and_heap(15.0 * 1024 * 1024, "/usr/bin/node");
    EXPECT_EQ(s.growth_outside_heap,
              "RSS grew 60.0 MiB, the profiled heap 3.91 KiB (0.0064% of it): the growth is not in "
              "the heap these snapshots profile; it is in the Node.js runtime's own heap (V8): "
              "take a heap snapshot (node --heapsnapshot-signal=SIGUSR2, or the inspector)");
    EXPECT_TRUE(s.report.suspects.empty());
    ASSERT_FALSE(s.report.others.empty());
    EXPECT_EQ(s.report.others[0].site.key.name, "leaky");
    EXPECT_NE(rss_and_heap(15.0 * 1024 * 1024, "/usr/lib/jvm/java-17/lib/server/libjvm.so")
                  .growth_outside_heap.find("the JVM's own heap: take a heap dump"),
              std::string::npos);
    EXPECT_NE(rss_and_heap(15.0 * 1024 * 1024, "/opt/app")
                  .growth_outside_heap.find(
                      "in a runtime's own heap (take its heap snapshot), in memory mapped outside "
                      "malloc, or in fragmentation"),
              std::string::npos);
}

TEST(ReportSuspects, HeapGrowthThatExplainsTheRssIsRanked) {
    // RSS +4000 bytes a snapshot, as much as the heap: nothing to say, the site is ranked.
    SnapshotSuspects s = rss_and_heap(1000.0, "/usr/bin/node");
    EXPECT_EQ(s.growth_outside_heap, "");
    ASSERT_EQ(s.report.suspects.size(), 1u);
    // RSS unknown (not from a record directory): no comparison.
    s = rss_and_heap(15.0 * 1024 * 1024, "/usr/bin/node", 0);
    EXPECT_EQ(s.growth_outside_heap, "");
    EXPECT_EQ(s.report.suspects.size(), 1u);
}

// Five snapshots of node's sampling profile whose site `leaky` rises 1000 bytes a snapshot, taken
// when the V8 heap after a full collection was `collected[i]` (0: unknown).
SnapshotSuspects sampled_with_collected_heap(const std::vector<double>& collected) {
    std::vector<profile::Profile> ps;
    for (int i = 0; i < 5; ++i) {
        ps.push_back(snapshot(10.0 * i, 1000 + 1000 * i));
        ps.back().mappings[0].filename = "/usr/bin/node";
    }
    std::vector<SuspectSnapshot> in;
    for (size_t i = 0; i < ps.size(); ++i) {
        in.push_back({"heap.7.000" + std::to_string(i) + ".pb.gz", static_cast<unsigned>(i), &ps[i],
                      0.0, collected[i]});
    }
    symbolize::Symbolizer sym;
    return find_snapshot_suspects(std::move(in), sym, "inuse_space");
}

TEST(ReportSuspects, SampledSitesFillingInWhileTheHeapIsFlatAreNotRanked) {
    // The V8 heap after GC wobbles around 4 MB with no trend: the site's rise is the profile
    // filling in since sampling began.
    SnapshotSuspects s = sampled_with_collected_heap({4e6, 4.002e6, 3.999e6, 4.001e6, 4e6});
    EXPECT_TRUE(s.report.suspects.empty());
    ASSERT_FALSE(s.report.others.empty());
    EXPECT_EQ(s.report.others[0].site.key.name, "leaky");
    EXPECT_EQ(s.filling_in.rfind("The runtime's heap after a full collection did not grow with "
                                 "the sampled sites (3.81 MiB -> 3.81 MiB",
                                 0),
              0u)
        << s.filling_in;
    // A steady heap rise, but a tenth of the sites' rise: the sites still fill in.
    s = sampled_with_collected_heap({4e6, 4e6 + 100, 4e6 + 200, 4e6 + 300, 4e6 + 400});
    EXPECT_TRUE(s.report.suspects.empty());
    EXPECT_FALSE(s.filling_in.empty());
}

TEST(ReportSuspects, SampledSitesGrowingWithTheHeapAreRanked) {
    SnapshotSuspects s =
        sampled_with_collected_heap({4e6, 4e6 + 1000, 4e6 + 2000, 4e6 + 3000, 4e6 + 4000});
    EXPECT_EQ(s.filling_in, "");
    ASSERT_EQ(s.report.suspects.size(), 1u);
    EXPECT_EQ(s.report.suspects[0].site.key.name, "leaky");
    // The heap unknown (a profile without a timeline, or an older recording): no comparison.
    s = sampled_with_collected_heap({0, 0, 0, 0, 0});
    EXPECT_EQ(s.filling_in, "");
    EXPECT_EQ(s.report.suspects.size(), 1u);
}

TEST(ReportPaths, RetentionRowsFlattenSitesAndPaths) {
    heapscan::RetentionReport r;
    heapscan::SiteRetention site;
    site.site = {.function = "fill_sessions",
                 .via = "std::vector::reserve",
                 .file = "holders.cpp",
                 .line = 60};
    site.count = 3;
    site.bytes = 3000;
    heapscan::RetentionPath p;
    p.root = "global g_sessions (holders)";
    p.hops = {
        {.site = {.function = "make_session", .file = "holders.cpp", .line = 40}, .offset = 8},
        {.site = site.site, .offset = 16, .offsets_vary = true}};
    p.count = 3;
    p.bytes = 3000;
    site.paths = {p, p};
    r.sites = {site};
    const nlohmann::json rows = retention_rows(r, 1);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0]["root"], "global g_sessions (holders)");
    EXPECT_EQ(rows[0]["site"], site.site.label());
    EXPECT_EQ(rows[0]["blocks"], 3);
    EXPECT_EQ(rows[0]["bytes"], 3000);
    ASSERT_EQ(rows[0]["hops"].size(), 2u);
    EXPECT_EQ(rows[0]["hops"][0]["site"], "make_session (holders.cpp:40)");
    EXPECT_EQ(rows[0]["hops"][1]["offset"], 16);
    EXPECT_EQ(rows[0]["hops"][1]["offsets_vary"], true);
    EXPECT_EQ(retention_rows(r, 0).size(), 2u);
}

}  // namespace
}  // namespace leakhunt::report
