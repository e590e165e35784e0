// Tests for the verdict engine on generated series with known shapes: the same shape at two time
// scales, restarts, spikes, warm-up, too little data, the limit projection and --min-rate.
#include "trend/verdict.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "trend/classify.hpp"

namespace leakhunt::trend {
namespace {

struct Gen {
    std::vector<double> t, v;
};

// n samples every dt seconds of f(t) plus Gaussian noise (fixed seed).
template <typename F>
Gen make(size_t n, double dt, F f, double noise, unsigned seed = 7) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> nd(0.0, noise);
    Gen g;
    for (size_t i = 0; i < n; ++i) {
        double t = static_cast<double>(i) * dt;
        g.t.push_back(t);
        g.v.push_back(f(t) + nd(rng));
    }
    return g;
}

constexpr double MB = 1e6;

}  // namespace

TEST(Assess, LinearLeakIsLeakWithRate) {
    // 20 MB/h on 300 MB, 3 MB noise, 8 h at 10 s.
    Gen g = make(
        2880, 10, [](double t) { return 300 * MB + 20 * MB * t / 3600; }, 3 * MB);
    Assessment a = assess(g.t, g.v, Options{});
    EXPECT_EQ(a.verdict, Verdict::leak);
    EXPECT_NEAR(a.growth_bytes_per_hour, 20 * MB, 1 * MB);
    EXPECT_GT(a.confidence, 0.9);
    EXPECT_FALSE(a.evidence.empty());
}

TEST(Assess, SameShapeAtAnotherTimeScaleGivesSameVerdict) {
    // 200 KB/s for 4 minutes at 0.5 s on a 40 MB process: the same shape as a slow leak.
    Gen fast = make(
        480, 0.5, [](double t) { return 40 * MB + 0.2 * MB * t; }, 0.5 * MB);
    Assessment a = assess(fast.t, fast.v, Options{});
    EXPECT_EQ(a.verdict, Verdict::leak);
    EXPECT_NEAR(a.growth_bytes_per_hour, 0.2 * MB * 3600, 0.05 * 0.2 * MB * 3600);
    // Stretch time by 120x: verdict and rate-per-duration unchanged.
    Gen slow = fast;
    for (double& t : slow.t) t *= 120;
    Assessment b = assess(slow.t, slow.v, Options{});
    EXPECT_EQ(b.verdict, Verdict::leak);
    EXPECT_NEAR(b.growth_bytes_per_hour * 120, a.growth_bytes_per_hour,
                1e-6 * a.growth_bytes_per_hour);
}

TEST(Assess, FlatNoiseIsHealthy) {
    Gen g = make(
        2000, 10, [](double) { return 500 * MB; }, 20 * MB);
    EXPECT_EQ(assess(g.t, g.v, Options{}).verdict, Verdict::healthy);
}

TEST(Assess, WarmupThenFlatIsBounded) {
    Gen g = make(
        2880, 10, [](double t) { return 200 * MB + 500 * MB * (1 - std::exp(-t / 2400)); }, 5 * MB);
    EXPECT_EQ(assess(g.t, g.v, Options{}).verdict, Verdict::bounded);
}

TEST(Assess, TooFewSamplesIsInconclusiveAndSaysHowLong) {
    Gen g = make(
        20, 10, [](double) { return 300 * MB; }, 1 * MB);
    Assessment a = assess(g.t, g.v, Options{});
    EXPECT_EQ(a.verdict, Verdict::inconclusive);
    ASSERT_TRUE(a.watch_more_s.has_value());
    EXPECT_DOUBLE_EQ(*a.watch_more_s, 400.0);  // 40 more samples at 10 s
}

TEST(Assess, SpikesThatReturnAreHealthy) {
    Gen g = make(
        2880, 10,
        [](double t) {
            double phase = std::fmod(t, 3600);
            return 300 * MB + (phase < 600 ? 800 * MB : 0.0);
        },
        5 * MB);
    EXPECT_EQ(assess(g.t, g.v, Options{}).verdict, Verdict::healthy);
}

TEST(Assess, RestartsAreDetectedAndEachLifetimeJudged) {
    // 200 MB/h from 260 MB, killed at 1.5 GB: restarts every 6.2 h.
    Gen g = make(
        2880, 30, [](double t) { return 260 * MB + std::fmod(200 * MB * t / 3600, 1240 * MB); },
        5 * MB);
    Assessment a = assess(g.t, g.v, Options{});
    EXPECT_EQ(a.verdict, Verdict::leak);
    EXPECT_EQ(a.restarts_s.size(), 3u);
    EXPECT_NEAR(a.growth_bytes_per_hour, 200 * MB, 10 * MB);
    bool cadence = false;
    for (const auto& e : a.evidence)
        cadence = cadence || e.find("restarted 3 times") != std::string::npos;
    EXPECT_TRUE(cadence);
}

TEST(Assess, KnownRestartsSplitTheSeries) {
    Gen g = make(
        600, 1, [](double t) { return 100 * MB + (t < 300 ? t : t - 300) * 0.1 * MB; }, 0.2 * MB);
    std::vector<double> restarts{300.0};
    Assessment a = assess(g.t, g.v, Options{}, restarts);
    ASSERT_EQ(a.restarts_s.size(), 1u);
    EXPECT_DOUBLE_EQ(a.restarts_s[0], 300.0);
}

// G1 after warm-up (as recorded from a real JVM): RSS climbs from 40 to 760 MB in 45 s, periodic
// collections uncommit the heap down to 290 MB (far above the 40 MB start), and it saws there.
// Not a restart: the warm-up is not judged alone, and the whole series levelled off.
Gen g1_uncommit() {
    return make(
        960, 0.25,
        [](double t) {
            if (t < 45) return 40 * MB + 16 * MB * t;
            return 290 * MB + 40 * MB * std::fmod(t, 5.0) / 5.0;
        },
        1 * MB);
}

TEST(DetectRestarts, ACollectorReturningMemoryAboveTheStartIsNoRestart) {
    Gen g = g1_uncommit();
    EXPECT_TRUE(detect_restarts(g.t, g.v).empty());
    Assessment a = assess(g.t, g.v, Options{});
    EXPECT_TRUE(a.restarts_s.empty());
    EXPECT_EQ(a.verdict, Verdict::bounded);
}

TEST(DetectRestarts, ADropBackToTheStartIsARestart) {
    // The same climb, then back to 45 MB (a new process) and climbing again.
    Gen g = make(
        960, 0.25,
        [](double t) { return t < 45 ? 40 * MB + 16 * MB * t : 45 * MB + 16 * MB * (t - 45); },
        1 * MB);
    const auto cuts = detect_restarts(g.t, g.v);
    ASSERT_EQ(cuts.size(), 1u);
    EXPECT_DOUBLE_EQ(g.t[cuts[0]], 45.0);
}

TEST(Assess, WhenPidsAreKnownOnlyKnownRestartsCount) {
    // Drops to the start without a PID change: the same process returned memory (e.g. a full GC
    // after a long ramp), judged as one lifetime.
    Gen g = make(
        2880, 30, [](double t) { return 260 * MB + std::fmod(200 * MB * t / 3600, 1240 * MB); },
        5 * MB);
    Options o;
    o.instances = Options::Instances::known;
    EXPECT_TRUE(assess(g.t, g.v, o).restarts_s.empty());
    std::vector<double> known{23040.0};
    Assessment a = assess(g.t, g.v, o, known);
    ASSERT_EQ(a.restarts_s.size(), 1u);
    EXPECT_DOUBLE_EQ(a.restarts_s[0], 23040.0);
}

TEST(Assess, ProjectsTimeToLimit) {
    Gen g = make(
        2880, 10, [](double t) { return 300 * MB + 36 * MB * t / 3600; }, 0.0);
    Options o;
    o.limit_bytes = 1000 * MB;
    Assessment a = assess(g.t, g.v, o);
    ASSERT_EQ(a.verdict, Verdict::leak);
    ASSERT_TRUE(a.projected_limit_at_s.has_value());
    // Now at 300 + 36*8 = 588 MB; 412 MB left at 36 MB/h = 41200 s after the last sample.
    const double last = g.t.back();
    const double high = g.v.back();
    EXPECT_NEAR(*a.projected_limit_at_s,
                last + (1000 * MB - high) / (a.growth_bytes_per_hour / 3600), 1.0);
    EXPECT_NEAR(*a.projected_limit_at_s - last, 41200, 500);
}

TEST(Assess, MinRateSuppressesSlowGrowth) {
    Gen g = make(
        2880, 10, [](double t) { return 300 * MB + 20 * MB * t / 3600; }, 1 * MB);
    Options o;
    o.min_rate_bytes_per_hour = 50 * MB;
    Assessment a = assess(g.t, g.v, o);
    EXPECT_EQ(a.verdict, Verdict::healthy);
}

TEST(Assess, FastSawtoothOnARiseOverTenMillionRowsIsALeakNotASlowCycle) {
    // 10,000,000 samples at 1 s (116 days) of a 1000 s GC sawtooth of 200 MB on a rise of
    // 10 MB/h. Each of the 480 time bins holds 20.7 sawtooth cycles; the fraction left over makes
    // the bin means beat with a period of about a third of the data, which passed for "memory
    // follows a cycle of 39d1h" (3.0 cycles seen). Fewer than three repetitions are no cycle.
    const size_t n = 10'000'000;
    std::vector<double> t(n), v(n);
    for (size_t i = 0; i < n; ++i) {
        t[i] = static_cast<double>(i);
        v[i] = 1000 * MB + 200 * MB * std::fmod(t[i], 1000.0) / 1000.0 + 10 * MB * t[i] / 3600;
    }
    Assessment a = assess(t, v, Options{});
    EXPECT_EQ(a.verdict, Verdict::leak);
    EXPECT_NEAR(a.growth_bytes_per_hour, 10 * MB, 0.01 * MB);
    if (a.period_s) {
        EXPECT_LE(*a.period_s, a.span_s / 3);
    }
    for (const auto& e : a.evidence) EXPECT_EQ(e.find("cycle of"), std::string::npos) << e;
}

TEST(Assess, AStraightLineOfLargeValuesHasNoCycle) {
    // Near 2^60 a double's rounding of the bin sums has patterns of its own, which passed for
    // cycles ("memory follows a cycle of 1760s" on a straight line).
    for (double base : {1e15, 1e17, 1e18}) {
        Gen g = make(
            5000, 1, [base](double t) { return base + 1e6 * t; }, 0.0);
        Assessment a = assess(g.t, g.v, Options{});
        EXPECT_FALSE(a.period_s.has_value()) << base << ": " << *a.period_s;
    }
}

TEST(Assess, GrowthThatSlowedIsSaidToHaveSlowed) {
    // 100 MB/h for 4 h, then 70 MB/h: still a leak, and the evidence says by how much it slowed
    // (it said "growth is not slowing: +95.4 MiB/h in the first half, +66.8 MiB/h in the second").
    Gen g = make(
        2880, 10,
        [](double t) {
            const double half = 14400;
            return 300 * MB + 100 * MB * std::min(t, half) / 3600 +
                   70 * MB * std::max(0.0, t - half) / 3600;
        },
        0.0);
    Assessment a = assess(g.t, g.v, Options{});
    ASSERT_EQ(a.verdict, Verdict::leak);
    ASSERT_FALSE(a.evidence.empty());
    EXPECT_EQ(a.evidence.back(),
              "growth slowed by 30% (+95.4 MiB/h in the first half, +66.8 MiB/h in the second), "
              "still far from levelling off (that needs a second half under 40% of the first "
              "half's rate)");
    // A steady leak says so.
    Gen s = make(
        2880, 10, [](double t) { return 300 * MB + 100 * MB * t / 3600; }, 0.0);
    EXPECT_EQ(assess(s.t, s.v, Options{}).evidence.back(),
              "growth is steady: +95.4 MiB/h in the first half, +95.4 MiB/h in the second");
}

TEST(Classify, FlagsFdGrowth) {
    Gen g = make(
        600, 1, [](double) { return 50 * MB; }, 0.1 * MB);
    series::Series s;
    s.t = g.t;
    s.columns["rss_bytes"] = g.v;
    std::vector<double> fds;
    for (size_t i = 0; i < g.t.size(); ++i) fds.push_back(10.0 + static_cast<double>(i / 5));
    s.columns["fds"] = fds;
    Classification c = classify(s, ClassifyOptions{});
    EXPECT_EQ(c.memory.verdict, Verdict::healthy);
    ASSERT_EQ(c.memory.flags.size(), 1u);
    EXPECT_EQ(c.memory.flags[0], "fd_growth");
}

TEST(Classify, ARiseAcrossManyCyclesNeedsNoSampleCountToBeALeak) {
    // A 5 s GC sawtooth of 30 MB on a baseline rising 0.1 MB/s, sampled every 0.25 s for 240 s:
    // the rise is seen across many cycles long before 400 samples (100 s) have been taken.
    Gen g = make(
        960, 0.25,
        [](double t) { return 200 * MB + 0.1 * MB * t + 30 * MB * std::fmod(t, 5.0) / 5.0; },
        0.3 * MB);
    series::Series s;
    s.t = g.t;
    s.columns["rss_bytes"] = g.v;
    Classification c = classify(s, ClassifyOptions{});
    EXPECT_EQ(c.memory.verdict, Verdict::leak);
    ASSERT_TRUE(c.first_leak_at_s.has_value());
    EXPECT_LE(*c.first_leak_at_s, 0.25 * g.t.back());
}

TEST(Classify, LimitComesFromCgroupColumn) {
    Gen g = make(
        2880, 10, [](double t) { return 300 * MB + 36 * MB * t / 3600; }, 1 * MB);
    series::Series s;
    s.t = g.t;
    s.columns["rss_bytes"] = g.v;
    s.columns["cgroup_limit_bytes"] = std::vector<double>(g.t.size(), 2000 * MB);
    Classification c = classify(s, ClassifyOptions{});
    ASSERT_TRUE(c.limit_bytes.has_value());
    EXPECT_DOUBLE_EQ(*c.limit_bytes, 2000 * MB);
    EXPECT_TRUE(c.memory.projected_limit_at_s.has_value());
    ASSERT_TRUE(c.first_leak_at_s.has_value());
    EXPECT_LT(*c.first_leak_at_s, g.t.back() * 0.25);
}

TEST(PatienceSamples, FallsWithTheRelativeRise) {
    Gen g = make(
        100, 1, [](double t) { return 100 * MB + 0.01 * MB * t; }, 0.05 * MB);
    // 1% rise over 100 samples: inconclusive or healthy, never leak.
    EXPECT_NE(assess(g.t, g.v, Options{}).verdict, Verdict::leak);
    // Memory tripling in 100 samples is a leak.
    Gen h = make(
        100, 1, [](double t) { return 10 * MB + 0.3 * MB * t; }, 0.05 * MB);
    EXPECT_EQ(assess(h.t, h.v, Options{}).verdict, Verdict::leak);
}

}  // namespace leakhunt::trend

namespace leakhunt::trend {

TEST(Classify, FlagsGoFragmentationWithItsNumbers) {
    constexpr double MiB = 1024.0 * 1024.0;
    series::Series s;
    for (int i = 0; i < 30; ++i) s.t.push_back(10.0 * i);
    s.columns["rss_bytes"].assign(30, 900 * MiB);
    // The runtime holds 800 MiB, 100 MiB in use, 700 MiB idle of which 20 MiB released: flagged.
    s.columns["go_heap_sys_bytes"].assign(30, 800 * MiB);
    s.columns["go_heap_inuse_bytes"].assign(30, 100 * MiB);
    s.columns["go_heap_idle_bytes"].assign(30, 700 * MiB);
    s.columns["go_heap_released_bytes"].assign(30, 20 * MiB);
    Classification c = classify(s, ClassifyOptions{});
    ASSERT_EQ(c.memory.flags, std::vector<std::string>{"go_fragmentation"});
    EXPECT_EQ(c.memory.evidence.back(),
              "Go's runtime holds 800 MiB of heap (HeapSys) and uses 100 MiB of it "
              "(HeapInuse); 700 MiB is idle (HeapIdle) and only 20.0 MiB of that went back to "
              "the OS (HeapReleased): runtime memory high, in-use heap low, and runtime.GC() "
              "gives little back (fragmentation, or idle spans the scavenger keeps; medians of "
              "the last 10 samples)");
    // The scavenger returned most of the idle memory: not flagged.
    s.columns["go_heap_released_bytes"].assign(30, 650 * MiB);
    EXPECT_TRUE(classify(s, ClassifyOptions{}).memory.flags.empty());
    // A heap that uses most of what the runtime holds: not flagged.
    s.columns["go_heap_released_bytes"].assign(30, 20 * MiB);
    s.columns["go_heap_inuse_bytes"].assign(30, 500 * MiB);
    EXPECT_TRUE(classify(s, ClassifyOptions{}).memory.flags.empty());
}

TEST(Classify, FlagsGoroutineGrowth) {
    series::Series s;
    for (int i = 0; i < 120; ++i) {
        s.t.push_back(i);
        s.columns["rss_bytes"].push_back(50e6);
        s.columns["goroutines"].push_back(10.0 + 3.0 * i);
    }
    Classification c = classify(s, ClassifyOptions{});
    ASSERT_EQ(c.memory.flags, std::vector<std::string>{"goroutine_growth"});
    EXPECT_EQ(c.memory.evidence.back(), "goroutines grow too: from 10 to 367 (+10800.0/h)");
}

}  // namespace leakhunt::trend
