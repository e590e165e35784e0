// Tests for the report's retention sites (one heading per site, the lines of `leakhunt paths`)
// and its summary totals (leaked, still allocated at exit, temporary allocations).
#include <gtest/gtest.h>

#include "heapscan/retention_text.hpp"
#include "report/report_data.hpp"
#include "report/scan_paths.hpp"
#include "report/totals.hpp"
#include "util/error.hpp"

namespace leakhunt::report {
namespace {

heapscan::SiteRetention site(const char* function, uint64_t bytes, int64_t growth) {
    heapscan::SiteRetention s;
    s.site = {function, "", "victim.cpp", 10};
    s.count = bytes / 100;
    s.bytes = bytes;
    s.growth_bytes = growth;
    heapscan::RetentionPath p;
    p.root = "global g_<b>cache</b> (victim)";
    p.hops = {{s.site, 0, false, false}};
    p.count = s.count;
    p.bytes = bytes;
    s.paths = {p};
    return s;
}

TEST(SiteNamesFunction, TheFunctionItsCallsAndItsPlace) {
    EXPECT_TRUE(site_names_function("fill", "fill"));
    EXPECT_TRUE(site_names_function("std::vector::reserve in fill (a.cpp:3)", "fill"));
    EXPECT_TRUE(site_names_function("fill (a.cpp:3)", "fill"));
    EXPECT_FALSE(site_names_function("fill_more (a.cpp:3)", "fill"));
    EXPECT_FALSE(site_names_function("refill (a.cpp:3)", "fill"));
    EXPECT_FALSE(site_names_function("fill", ""));
    // Suspects name functions with their parameters, sites without.
    EXPECT_TRUE(site_names_function("fill (a.cpp:3)", "fill()"));
    EXPECT_TRUE(site_names_function("std::vector::reserve in fill (a.cpp:3)", "fill(int)"));
    EXPECT_FALSE(site_names_function("fill_more (a.cpp:3)", "fill()"));
}

TEST(RetentionSites, GrowingSuspectsFirstEachWithThePathsLines) {
    heapscan::RetentionReport r;
    r.sites = {site("big_static", 900000, 0), site("slow", 2000, 0), site("fast", 1000, 0)};
    const nlohmann::json suspects =
        nlohmann::json::array({{{"function", "fast"}, {"growth_bytes_per_hour", 7340032.0}},
                               {{"function", "slow"}, {"growth_bytes_per_hour", 1048576.0}}});
    const nlohmann::json sites = retention_sites(r, false, suspects);
    ASSERT_EQ(sites.size(), 3u);
    EXPECT_EQ(sites[0]["site"], "fast (victim.cpp:10)");
    EXPECT_EQ(sites[0]["heading"], "fast (victim.cpp:10): growing +7.00 MiB/h (suspect fast)");
    EXPECT_EQ(sites[0]["growth_bytes_per_hour"], 7340032.0);
    EXPECT_EQ(sites[1]["heading"], "slow (victim.cpp:10): growing +1.00 MiB/h (suspect slow)");
    EXPECT_EQ(sites[2]["heading"], "big_static (victim.cpp:10): not among the growing suspects");
    EXPECT_TRUE(sites[2]["growth_bytes_per_hour"].is_null());
    // The lines are `paths`' own (one rule), markup kept as text for the page to escape.
    EXPECT_EQ(sites[0]["lines"].get<std::vector<std::string>>(),
              heapscan::site_lines(r.sites[2], false, k_paths_per_site));
    EXPECT_EQ(sites[0]["lines"][1], "  10 blocks (1000 B): global g_<b>cache</b> (victim)");
}

TEST(RetentionSites, GrowthSinceTheBaseScanWithoutSuspects) {
    heapscan::RetentionReport r;
    r.sites = {site("shrinks", 5000, -1024), site("grows", 1000, 2048)};
    const nlohmann::json sites = retention_sites(r, true, nullptr);
    ASSERT_EQ(sites.size(), 2u);
    EXPECT_EQ(sites[0]["heading"], "grows (victim.cpp:10): +2.00 KiB since the base scan");
    EXPECT_EQ(sites[0]["growth_bytes"], 2048);
    EXPECT_EQ(sites[1]["heading"], "shrinks (victim.cpp:10): -1.00 KiB since the base scan");
}

TEST(RetentionFromPathsJson, ReadsBackWhatPathsWrote) {
    const nlohmann::json rows = nlohmann::json::array(
        {{{"type", "holder"}, {"root", "global g"}, {"count", 3}, {"bytes", 300}},
         {{"type", "site"},
          {"site",
           {{"function", "fill"},
            {"via", "std::vector::reserve"},
            {"file", "a.cpp"},
            {"line", 3},
            {"label", "std::vector::reserve in fill (a.cpp:3)"}}},
          {"count", 3},
          {"bytes", 300},
          {"growth_bytes", 0},
          {"paths",
           {{{"root", "global g"},
             {"count", 3},
             {"bytes", 300},
             {"hops",
              {{{"site", {{"label", "other writer's label"}}},
                {"offset", 16},
                {"offsets_vary", true},
                {"repeated", false}}}}}}}}});
    ASSERT_TRUE(is_paths_json(rows));
    const heapscan::RetentionReport r = retention_from_paths_json(rows, "p.json");
    ASSERT_EQ(r.holders.size(), 1u);
    ASSERT_EQ(r.sites.size(), 1u);
    EXPECT_EQ(r.sites[0].site.label(), "std::vector::reserve in fill (a.cpp:3)");
    EXPECT_EQ(heapscan::path_lines(r.sites[0].paths[0]),
              (std::vector<std::string>{"  3 blocks (300 B): global g",
                                        "      -> other writer's label"}));
    EXPECT_THROW(retention_from_paths_json(nlohmann::json::array({{{"type", "site"}}}), "p.json"),
                 util::Error);
}

TEST(TotalsJson, LeakedExitAndTemporaryAsTheirCommandsDefineThem) {
    TotalsInputs in;
    in.leaks = ScanLeaks{"heap.7.0002.scan", 262288, 4, 320, 5};
    in.at_exit = ExitInUse{"heap.7.0003.pb.gz", 4096, 3, "every allocation"};
    const nlohmann::json t = totals_json(in);
    EXPECT_EQ(t["leaked_bytes"], 262608);
    EXPECT_EQ(t["leaked_objects"], 9);
    EXPECT_EQ(t["leaked_direct_bytes"], 262288);
    EXPECT_EQ(t["leaked_direct_objects"], 4);
    EXPECT_EQ(t["leaked_scan"], "heap.7.0002.scan");
    EXPECT_EQ(t["exit_inuse_bytes"], 4096);
    EXPECT_EQ(t["exit_inuse_objects"], 3);
    EXPECT_EQ(t["exit_exact"], true);
    EXPECT_TRUE(t["temporary_allocations"].is_null());
    EXPECT_EQ(t["temporary_allocations_note"], std::string(k_temporary_not_recorded));
    in.at_exit->sampling = "every 512 KiB on average";
    EXPECT_EQ(totals_json(in)["exit_exact"], false);
    // Nothing about allocations: nothing said about them.
    EXPECT_FALSE(totals_json(TotalsInputs{}).contains("temporary_allocations_note"));
    // A full-mode timeline counts them: its last value, and no note.
    series::Series s;
    s.t = {0, 1, 2};
    s.columns["temporary_allocations"] = {10, 4000, 4500};
    in.series = &s;
    const nlohmann::json counted = totals_json(in);
    EXPECT_EQ(counted["temporary_allocations"], 4500);
    EXPECT_FALSE(counted.contains("temporary_allocations_note"));
}

TEST(TotalsJson, TheAgentsCountComesFromARecordingsTimelineBesideTheSeriesDrawn) {
    // A soak's series is drawn; the record directory's timeline (not drawn) has the count.
    series::Series soak;
    soak.name = "series.csv";
    soak.t = {0, 1, 2};
    soak.columns["rss_bytes"] = {1e6, 2e6, 3e6};
    series::Series timeline = soak;
    timeline.name = "timeline.7.csv";
    timeline.columns["temporary_allocations"] = {1, 700, 1501};
    ReportBuilder b("t");
    b.set_series(soak);
    b.set_series(timeline);
    symbolize::Symbolizer symbols;
    const nlohmann::json doc = b.build(symbols);
    EXPECT_EQ(doc["timeline"]["name"], "series.csv");
    EXPECT_EQ(doc["totals"]["temporary_allocations"], 1501);
}

}  // namespace
}  // namespace leakhunt::report
