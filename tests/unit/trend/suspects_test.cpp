// Tests for site_trend and find_suspects on hand-built series with exact slopes, shapes, shares
// and ranking.
#include "trend/suspects.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace leakhunt::trend {
namespace {

std::vector<double> minutes(size_t n) {
    std::vector<double> t;
    for (size_t i = 0; i < n; ++i) t.push_back(60.0 * static_cast<double>(i));
    return t;
}

// A native allocation site named `fn`, labelled as the profile layer labels it
// (report/site_keys.hpp); "leak" is in cache.cpp:42 and allocates through std::string.
SiteSeries site(const std::string& fn, std::vector<double> values) {
    SiteSeries s;
    s.key.identity = fn;
    s.key.name = fn;
    s.key.label =
        fn == "leak" ? "std::string allocated in leak (cache.cpp:42)" : "memory allocated in " + fn;
    s.values = std::move(values);
    return s;
}

// A site of any runtime: `label` as sentences say it, `name` alone.
SiteSeries keyed(const std::string& name, const std::string& label, std::vector<double> values,
                 bool rank_last = false) {
    SiteSeries s;
    s.key.identity = name;
    s.key.name = name;
    s.key.label = label;
    s.key.rank_last = rank_last;
    s.values = std::move(values);
    return s;
}

}  // namespace

TEST(SiteTrend, SteadyGrowth) {
    const std::vector<double> y = {1000, 2000, 3000, 4000, 5000, 6000};
    const SiteTrend t = site_trend(minutes(6), y);
    EXPECT_EQ(t.shape, SiteShape::steady_growth);
    EXPECT_DOUBLE_EQ(t.slope_per_hour, 60000.0);  // 1000 per minute
    EXPECT_DOUBLE_EQ(t.early_slope_per_hour, 60000.0);
    EXPECT_DOUBLE_EQ(t.late_slope_per_hour, 60000.0);
    EXPECT_DOUBLE_EQ(t.net_growth, 5000.0);
    EXPECT_DOUBLE_EQ(t.monotone, 1.0);
    EXPECT_DOUBLE_EQ(t.tau, 1.0);
    EXPECT_NEAR(t.p_up, 0.00433, 0.0001);  // S = 15, var = 28.33, z = 2.63
    EXPECT_NEAR(t.confidence, 1.0 - t.p_up, 1e-12);
}

TEST(SiteTrend, ThreeMonotoneSnapshotsAreGrowthWithLowerConfidence) {
    const SiteTrend t = site_trend(minutes(3), std::vector<double>{1, 2, 3});
    EXPECT_EQ(t.shape, SiteShape::steady_growth);
    EXPECT_NEAR(t.p_up, 0.148, 0.001);  // Mann-Kendall cannot be significant with n = 3
    EXPECT_NEAR(t.confidence, 0.852, 0.001);
}

// Confidence is evidence: for the same growth, one more snapshot never lowers it, and a steady
// grower never shows 0. Property over 3..30 snapshots of growth patterns a leak makes: linear,
// in bursts (every other snapshot, the rest flat), accelerating, and at uneven times.
TEST(SiteTrend, ConfidenceNeverFallsWithMoreSnapshotsOfTheSameGrowth) {
    struct Pattern {
        const char* name;
        double (*value)(size_t i);
        double (*time)(size_t i);
    };
    const Pattern patterns[] = {
        {"linear", [](size_t i) { return 4096.0 * double(i) + 1000; },
         [](size_t i) { return 60.0 * double(i); }},
        {"bursts", [](size_t i) { return 8192.0 * double((i + 1) / 2); },
         [](size_t i) { return 30.0 * double(i); }},
        {"accelerating", [](size_t i) { return 100.0 * double(i * i) + 50; },
         [](size_t i) { return 10.0 * double(i); }},
        {"uneven times", [](size_t i) { return 512.0 * double(i); },
         [](size_t i) { return 60.0 * double(i) + (i % 3 == 0 ? 0.0 : 45.0); }},
    };
    for (const Pattern& p : patterns) {
        double previous = 0;
        for (size_t n = 3; n <= 30; ++n) {
            std::vector<double> t;
            std::vector<double> y;
            for (size_t i = 0; i < n; ++i) {
                t.push_back(p.time(i));
                y.push_back(p.value(i));
            }
            const SiteTrend trend = site_trend(t, y);
            ASSERT_EQ(trend.shape, SiteShape::steady_growth) << p.name << " n=" << n;
            EXPECT_GT(trend.confidence, 0.5) << p.name << " n=" << n;
            EXPECT_GE(trend.confidence, previous) << p.name << " n=" << n;
            previous = trend.confidence;
        }
        EXPECT_GT(previous, 0.999) << p.name;
    }
}

// The clear leak of the finding: 4 snapshots gave 0.96, 9 of the same leak 0.60.
TEST(SiteTrend, NineSnapshotsOfALeakAreSurerThanFour) {
    const std::vector<double> y = {10e6, 14e6, 18e6, 22e6, 23e6, 27e6, 31e6, 32e6, 36e6};
    const SiteTrend four = site_trend(minutes(4), std::span(y).first(4));
    const SiteTrend nine = site_trend(minutes(9), y);
    ASSERT_EQ(four.shape, SiteShape::steady_growth);
    ASSERT_EQ(nine.shape, SiteShape::steady_growth);
    EXPECT_NEAR(four.confidence, 0.955, 0.001);  // S = 6, var = 8.67, z = 1.70
    EXPECT_GT(nine.confidence, four.confidence);
    EXPECT_NEAR(nine.confidence, 1.0 - nine.p_up, 1e-12);
}

TEST(SiteTrend, PlateauGrewThenStopped) {
    const std::vector<double> y = {0, 1000, 2000, 3000, 3000, 3000, 3000, 3000};
    const SiteTrend t = site_trend(minutes(8), y);
    EXPECT_EQ(t.shape, SiteShape::plateau);
    EXPECT_DOUBLE_EQ(t.early_slope_per_hour, 60000.0);
    EXPECT_DOUBLE_EQ(t.late_slope_per_hour, 0.0);
    EXPECT_DOUBLE_EQ(t.slope_per_hour, 22000.0);
    EXPECT_DOUBLE_EQ(t.confidence, 0.0);  // late / overall slope = 0
}

TEST(SiteTrend, PlateauThatFilledInTheFirstSnapshots) {
    const std::vector<double> y = {1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    const SiteTrend t = site_trend(minutes(12), y);
    EXPECT_EQ(t.shape, SiteShape::plateau);
    EXPECT_DOUBLE_EQ(t.slope_per_hour, 0.0);  // most pairs are flat
    EXPECT_DOUBLE_EQ(t.confidence, 0.0);
}

// A sampled profile's estimates (512 KiB between samples): a steady 4 MB/s leak whose last
// snapshots came out low by chance (a real recording of victim_leak). Taken as exact values it
// looks like levelling off; with their standard errors, the shortfall is within the noise.
TEST(SiteTrend, SamplingNoiseIsNotAPlateau) {
    const std::vector<double> t = {0, 0.5, 1, 1.5, 2, 2.5, 3};
    const std::vector<double> y = {2631693,  5789724,  8947756, 11579450,
                                   12105788, 13158466, 13684804};
    std::vector<double> se;
    for (double v : y) se.push_back(std::sqrt(v * 524288));
    EXPECT_EQ(site_trend(t, y).shape, SiteShape::plateau);
    const SiteTrend sampled = site_trend(t, y, se);
    EXPECT_EQ(sampled.shape, SiteShape::steady_growth);
    EXPECT_DOUBLE_EQ(sampled.tau, 1.0);
}

// A cache that filled to 60 MB and stopped stays a plateau when sampled: the early trend
// predicts far more than the noise could hide.
TEST(SiteTrend, SampledPlateauStaysAPlateau) {
    const std::vector<double> y = {0.5e6, 20e6, 40e6, 60e6, 60e6, 60.1e6, 60.1e6, 60.2e6};
    std::vector<double> se;
    for (double v : y) se.push_back(std::sqrt(v * 524288));
    EXPECT_EQ(site_trend(minutes(8), y).shape, SiteShape::plateau);
    EXPECT_EQ(site_trend(minutes(8), y, se).shape, SiteShape::plateau);
}

TEST(SiteTrend, AStepIsFlat) {
    const SiteTrend t = site_trend(minutes(8), std::vector<double>{0, 0, 0, 0, 0, 0, 0, 4096});
    EXPECT_EQ(t.shape, SiteShape::flat);
}

TEST(SiteTrend, ChurnGoesUpAndDown) {
    const std::vector<double> y = {5000, 1000, 6000, 500, 5500, 2000, 4000, 1500};
    const SiteTrend t = site_trend(minutes(8), y);
    EXPECT_EQ(t.shape, SiteShape::churn);
    EXPECT_DOUBLE_EQ(t.slope_per_hour, -15000.0);
    EXPECT_DOUBLE_EQ(t.tau, -4.0 / 28.0);
    EXPECT_DOUBLE_EQ(t.confidence, 0.0);
    EXPECT_DOUBLE_EQ(t.min, 500.0);
    EXPECT_DOUBLE_EQ(t.max, 6000.0);
}

TEST(SiteTrend, ShrinkingAndFlat) {
    EXPECT_EQ(site_trend(minutes(6), std::vector<double>{6, 5, 4, 3, 2, 1}).shape,
              SiteShape::shrinking);
    const SiteTrend flat = site_trend(minutes(6), std::vector<double>{7, 7, 7, 7, 7, 7});
    EXPECT_EQ(flat.shape, SiteShape::flat);
    EXPECT_DOUBLE_EQ(flat.slope_per_hour, 0.0);
}

// A churning site recorded under agent_churn_leak: Mann-Kendall says "decreasing" (p < 0.001)
// but only 7 of the 11 steps went down, which random noise does often: churn, as growth would be.
TEST(SiteTrend, NoiseThatDriftsDownIsChurn) {
    const std::vector<double> y = {10672751, 10156746, 10164140, 9641726, 9772601, 7861457,
                                   9619806,  8703654,  8850300,  8524729, 6754107, 8525564};
    const SiteTrend t = site_trend(minutes(12), y);
    EXPECT_LT(t.p_down, k_suspect_significance);
    EXPECT_DOUBLE_EQ(t.monotone, 5.0 / 11.0);
    EXPECT_EQ(t.shape, SiteShape::churn);
    // Down in 8 of 11 steps: shrinking.
    const std::vector<double> down = {10, 9, 8, 8.5, 7, 6, 6.5, 5, 4, 4.5, 3, 2};
    EXPECT_EQ(site_trend(minutes(12), down).shape, SiteShape::shrinking);
}

// Noise that happened to end high: it rose significantly and its late trend is flat, but the late
// values spread over most of the rise, as they did early: churn, not a cache that filled.
TEST(SiteTrend, NoiseThatEndsHighIsNotAPlateau) {
    const std::vector<double> y = {2, 1, 3, 2, 4, 3, 5, 9, 4, 9, 5, 9};
    const SiteTrend t = site_trend(minutes(12), y);
    EXPECT_LT(t.p_up, k_suspect_significance);
    EXPECT_DOUBLE_EQ(t.late_slope_per_hour, 0.0);
    EXPECT_EQ(t.shape, SiteShape::churn);
    // The same rise with the late values within half of it: a plateau.
    const std::vector<double> settled = {2, 1, 3, 2, 4, 3, 5, 9, 7, 9, 8, 9};
    EXPECT_EQ(site_trend(minutes(12), settled).shape, SiteShape::plateau);
}

// How often pure noise is given a shape other than churn: a site holding 16 blocks of 64 KiB to
// 1 MiB, all replaced between snapshots (agent_churn_leak's churning site), over 12 and 24
// snapshots. Seeded, so the counts are the same every run; the bounds are the design's.
TEST(SiteTrend, NoiseIsChurnAlmostAlways) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int> block(64 << 10, (1 << 20) - 1);
    const int series = 20000;
    for (const size_t n : {size_t{12}, size_t{24}}) {
        std::vector<double> y(n);
        int not_churn = 0;
        for (int i = 0; i < series; ++i) {
            for (double& v : y) {
                v = 0;
                for (int b = 0; b < 16; ++b) v += block(rng);
            }
            if (site_trend(minutes(n), y).shape != SiteShape::churn) ++not_churn;
        }
        // 12 snapshots: about 0.3% (measured 2811 in 1e6); 24: about 1 in 45000 (22 in 1e6).
        EXPECT_LT(not_churn, n == 12 ? series / 200 : series / 2000) << n << " snapshots";
    }
}

// A steady leak whose last snapshots came close together (requested ones, or a machine that
// stalled the periodic ones): over the late snapshots it changed little in absolute terms, but at
// the same rate as before. Steady growth, not a plateau.
TEST(SiteTrend, BunchedLateSnapshotsOfALeakAreNotAPlateau) {
    const std::vector<double> t = {0, 60, 120, 180, 240, 300, 306, 312, 318, 324};
    std::vector<double> y;
    for (double s : t) y.push_back(1000 + 10 * s);  // 10 bytes a second throughout
    const SiteTrend r = site_trend(t, y);
    EXPECT_DOUBLE_EQ(r.late_slope_per_hour, 36000.0);
    EXPECT_EQ(r.shape, SiteShape::steady_growth);
}

TEST(FindSuspects, RanksTheLeakFirstAndFiltersTheRest) {
    std::vector<SiteSeries> sites = {site("cache", {0, 1000, 2000, 3000, 3000, 3000, 3000, 3000}),
                                     site("churn", {5000, 1000, 6000, 500, 5500, 2000, 4000, 1500}),
                                     site("leak", {1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000}),
                                     site("slow", {100, 110, 120, 130, 140, 150, 160, 170}),
                                     site("same", {9, 9, 9, 9, 9, 9, 9, 9})};
    const SuspectReport r = find_suspects(minutes(8), std::move(sites), "bytes");
    EXPECT_EQ(r.snapshots, 8U);
    EXPECT_DOUBLE_EQ(r.window_seconds, 420.0);
    ASSERT_EQ(r.suspects.size(), 2U);
    EXPECT_EQ(r.suspects[0].site.key.name, "leak");
    EXPECT_EQ(r.suspects[1].site.key.name, "slow");
    // growth over the window: leak 7000, slow 70, cache (plateau: last - first) 3000
    EXPECT_DOUBLE_EQ(r.total_growth, 7000.0 + 70.0 + 3000.0);
    EXPECT_NEAR(r.suspects[0].share_of_growth, 7000.0 / r.total_growth, 1e-12);
    EXPECT_EQ(r.suspects[0].sentence,
              "std::string allocated in leak (cache.cpp:42) grows 1000 B/min, monotone over 8 "
              "snapshots: 70% of all heap growth");
    ASSERT_EQ(r.others.size(), 3U);
    EXPECT_EQ(r.others[0].site.key.name, "cache");
    EXPECT_EQ(r.others[0].trend.shape, SiteShape::plateau);
    EXPECT_DOUBLE_EQ(r.others[0].share_of_growth, 3000.0 / 10070.0);
    EXPECT_EQ(r.others[1].site.key.name, "same");
    EXPECT_EQ(r.others[2].site.key.name, "churn");
    EXPECT_DOUBLE_EQ(r.others[2].share_of_growth, 0.0);
    EXPECT_EQ(r.others[2].sentence,
              "memory allocated in churn goes up and down between 500 B and 5.86 KiB with no "
              "significant trend (churn)");
}

// The engine says a site by its key's label alone, whatever runtime it comes from: a Python line
// and a JS constructor read as their labels, ranked by their growth.
TEST(FindSuspects, SitesOfAnyRuntimeAreSaidByTheirLabel) {
    const SuspectReport r = find_suspects(
        minutes(4),
        {keyed("register", "memory allocated in register (app.py:42)", {0, 100, 200, 300}),
         keyed("Session", "memory allocated in Session (server.js:7)", {0, 65536, 131072, 196608})},
        "bytes");
    ASSERT_EQ(r.suspects.size(), 2U);
    EXPECT_EQ(r.suspects[0].site.key.name, "Session");
    EXPECT_EQ(r.suspects[0].sentence,
              "memory allocated in Session (server.js:7) grows 64.0 KiB/min, monotone over 4 "
              "snapshots: 100% of all heap growth");
    EXPECT_EQ(r.suspects[1].sentence,
              "memory allocated in register (app.py:42) grows 100 B/min, monotone over 4 "
              "snapshots: 0% of all heap growth");
}

}  // namespace leakhunt::trend

namespace leakhunt::trend {

// A healthy service's import caches creep up by a few KiB beside megabytes in use: steady, but
// too small to be a suspect; a real leak beside it is.
TEST(FindSuspects, GrowthUnderATenthOfAPercentOfTheHeapIsMinor) {
    const auto t = minutes(8);
    std::vector<SiteSeries> sites;
    sites.push_back(site("heap", std::vector<double>(8, 10e6)));
    sites.push_back(site("creep", {1000, 1200, 1400, 1600, 1800, 2000, 2200, 2400}));
    SuspectReport r = find_suspects(t, sites, "bytes");
    EXPECT_TRUE(r.suspects.empty());
    ASSERT_FALSE(r.others.empty());
    const auto creep = std::find_if(r.others.begin(), r.others.end(),
                                    [](const Suspect& s) { return s.site.key.name == "creep"; });
    ASSERT_NE(creep, r.others.end());
    EXPECT_TRUE(creep->minor);
    EXPECT_EQ(creep->trend.shape, SiteShape::steady_growth);
    EXPECT_NE(creep->sentence.find("too small to be a suspect"), std::string::npos)
        << creep->sentence;
    // 1.4 KiB over the window against 10 MB: a leak of 20 KiB per minute is not minor.
    sites.push_back(site("leak", {0, 20e3, 40e3, 60e3, 80e3, 100e3, 120e3, 140e3}));
    r = find_suspects(t, sites, "bytes");
    ASSERT_EQ(r.suspects.size(), 1u);
    EXPECT_EQ(r.suspects[0].site.key.name, "leak");
    EXPECT_FALSE(r.suspects[0].minor);
}

// tracemalloc attached to a running service sees only what was allocated since: 20 KiB in use,
// where a selector's map grew by two blocks (136 B). Beside the process's 22 MB it is minor; a
// leak of 1 KiB a second is not.
TEST(FindSuspects, AgainstTheWholeProcessWhenTheProfileSeesPartOfIt) {
    const auto t = minutes(6);
    std::vector<SiteSeries> sites;
    sites.push_back(site("churn", {20e3, 19e3, 21e3, 20e3, 19.5e3, 20e3}));
    sites.push_back(site("selector", {0, 24, 24, 80, 136, 136}));
    EXPECT_EQ(find_suspects(t, sites, "bytes").suspects.size(), 1u);  // 136 B of 20 KiB
    SuspectReport r = find_suspects(t, sites, "bytes", 22e6);
    EXPECT_TRUE(r.suspects.empty());
    const auto selector = std::find_if(r.others.begin(), r.others.end(), [](const Suspect& s) {
        return s.site.key.name == "selector";
    });
    ASSERT_NE(selector, r.others.end());
    EXPECT_TRUE(selector->minor);
    EXPECT_NE(selector->sentence.find("of the 21.0 MiB the process holds"), std::string::npos)
        << selector->sentence;
    sites.push_back(site("leak", {0, 60e3, 120e3, 180e3, 240e3, 300e3}));
    r = find_suspects(t, sites, "bytes", 22e6);
    ASSERT_EQ(r.suspects.size(), 1u);
    EXPECT_EQ(r.suspects[0].site.key.name, "leak");
}

// A sampled site where one 32 KiB sample appeared and stayed: within the sampling noise.
TEST(FindSuspects, OneSampleThatStayedIsWithinTheNoise) {
    const auto t = minutes(6);
    SiteSeries s = site("timers", {0, 0, 32768, 32768, 32768, 65536});
    s.stderr_values = {0, 0, 32768, 32768, 32768, 46341};
    std::vector<SiteSeries> sites{s, site("heap", std::vector<double>(6, 4e6))};
    const SuspectReport r = find_suspects(t, sites, "bytes");
    EXPECT_TRUE(r.suspects.empty());
    ASSERT_FALSE(r.others.empty());
    EXPECT_TRUE(r.others[0].minor);
    EXPECT_NE(r.others[0].sentence.find("within the sampling noise"), std::string::npos)
        << r.others[0].sentence;
}

// A JVM class histogram: an application class that grows ranks before the JDK's own classes
// that grow faster with it, and the sentence speaks of instances of a class, not of memory
// allocated in a function.
TEST(FindSuspects, JavaApplicationClassesBeforePlatformClasses) {
    SiteSeries bytes = keyed("byte[]", "class byte[]", {1000, 3000, 5000, 7000, 9000}, true);
    bytes.instances = {10, 30, 50, 70, 90};
    SiteSeries session =
        keyed("com.example.Session", "class com.example.Session", {320, 640, 960, 1280, 1600});
    session.instances = {10, 20, 30, 40, 50};
    SiteSeries flat =
        keyed("java.lang.Class", "class java.lang.Class", {500, 500, 500, 500, 500}, true);
    flat.instances = {5, 5, 5, 5, 5};
    const SuspectReport r = find_suspects(minutes(5), {bytes, session, flat}, "bytes");
    ASSERT_EQ(r.suspects.size(), 2u);
    EXPECT_EQ(r.suspects[0].site.key.name, "com.example.Session");
    EXPECT_EQ(r.suspects[1].site.key.name, "byte[]");
    // 10 instances and 320 bytes a minute; 1280 of 9280 bytes of growth.
    EXPECT_EQ(r.suspects[0].sentence,
              "com.example.Session +10 instances/min (320 B/min), monotone over 5 snapshots: 14% "
              "of all heap growth");
    ASSERT_EQ(r.others.size(), 1u);
    EXPECT_EQ(r.others[0].sentence.rfind("class java.lang.Class holds 500 B", 0), 0u)
        << r.others[0].sentence;
}

}  // namespace leakhunt::trend

namespace leakhunt::trend {

TEST(FindSuspects, GoroutineGroupsAreSaidAsGoroutines) {
    // One minute apart: the leaked group gains 310 goroutines a minute; a worker pool grows to 40
    // and stays; the accept loop is one goroutine throughout.
    SiteSeries leak = keyed("main.handleRequest.func1",
                            "blocked in chan receive in main.handleRequest.func1 (main.go:42)", {});
    for (int i = 0; i < 6; ++i) leak.values.push_back(54.0 + 310.0 * i);
    const SiteSeries pool =
        keyed("main.worker", "blocked in chan receive in main.worker", {10, 40, 40, 40, 40, 40});
    const SiteSeries accept =
        keyed("net/http.(*Server).Serve", "blocked in IO wait in net/http.(*Server).Serve",
              {1, 1, 1, 1, 1, 1});
    const SuspectReport r = find_suspects(minutes(6), {pool, accept, leak}, "goroutines");
    ASSERT_EQ(r.suspects.size(), 1u);
    EXPECT_EQ(r.suspects[0].sentence,
              "1,604 goroutines blocked in chan receive in main.handleRequest.func1 (main.go:42), "
              "+310/min, monotone over 6 snapshots: 98% of all goroutine growth");
    EXPECT_DOUBLE_EQ(r.suspects[0].trend.slope_per_hour, 310.0 * 60);
    ASSERT_EQ(r.others.size(), 2u);
    EXPECT_EQ(r.others[0].trend.shape, SiteShape::plateau);
    EXPECT_EQ(r.others[0].sentence,
              "40 goroutines blocked in chan receive in main.worker: grew from 10 and levelled "
              "off (plateau: +0/h over the late snapshots)");
    EXPECT_EQ(r.others[1].sentence,
              "the group of goroutines blocked in IO wait in net/http.(*Server).Serve holds 1 "
              "goroutine, with no trend over 6 snapshots (between 1 goroutine and 1 goroutine)");
}

}  // namespace leakhunt::trend
