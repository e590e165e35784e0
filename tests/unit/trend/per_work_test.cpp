// Tests for memory per unit of work: the cumulative work of counters (with resets) and rates, a
// leak of a fixed size per request under rising and falling traffic, memory that follows the
// traffic, and too little data; and classify() taking the per-work verdict.
#include "trend/per_work.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "series/series.hpp"
#include "trend/classify.hpp"

namespace leakhunt::trend {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

struct Traffic {
    std::vector<double> t, rate, done, memory;
};

// n samples every dt seconds: work at rate(t) per second, memory = f(t, rate, done) plus a GC
// sawtooth of `saw` bytes every 20 s and Gaussian noise (fixed seed).
template <typename Rate, typename Memory>
Traffic simulate(size_t n, double dt, Rate rate, Memory memory, double saw, double noise) {
    std::mt19937 rng(11);
    std::normal_distribution<double> nd(0.0, noise);
    Traffic r;
    double done = 0;
    for (size_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) * dt;
        if (i > 0) done += rate(t) * dt;
        r.t.push_back(t);
        r.rate.push_back(rate(t));
        r.done.push_back(done);
        r.memory.push_back(memory(t, rate(t), done) + saw * std::fmod(t, 20.0) / 20.0 + nd(rng));
    }
    return r;
}

series::Series as_series(const Traffic& r, std::string_view work_column,
                         const std::vector<double>& work) {
    series::Series s;
    s.name = "sim";
    s.t = r.t;
    s.columns[std::string(series::k_rss)] = r.memory;
    s.columns[std::string(work_column)] = work;
    s.instances_known = true;
    return s;
}

}  // namespace

TEST(CumulativeWork, CounterResetsCountFromZero) {
    const std::vector<double> t{0, 1, 2, 3, 4, 5};
    const std::vector<double> c{k_nan, 100, 110, 120, 5, 15};
    const auto w = cumulative_work(t, c, WorkKind::total);
    EXPECT_TRUE(std::isnan(w[0]));
    EXPECT_DOUBLE_EQ(w[1], 0);
    EXPECT_DOUBLE_EQ(w[2], 10);
    EXPECT_DOUBLE_EQ(w[3], 20);
    EXPECT_DOUBLE_EQ(w[4], 25);  // restarted: 5 since
    EXPECT_DOUBLE_EQ(w[5], 35);
}

TEST(CumulativeWork, RateIsIntegratedByTrapezoids) {
    const std::vector<double> t{0, 1, 3, 4};
    const std::vector<double> r{10, 10, k_nan, 30};
    const auto w = cumulative_work(t, r, WorkKind::rate);
    EXPECT_DOUBLE_EQ(w[0], 0);
    EXPECT_DOUBLE_EQ(w[1], 10);
    EXPECT_TRUE(std::isnan(w[2]));
    EXPECT_DOUBLE_EQ(w[3], 10 + (10 + 30) / 2.0 * 3);
}

TEST(AssessPerWork, FixedBytesPerRequestUnderRisingTraffic) {
    const Traffic r = simulate(
        1200, 0.5, [](double t) { return 200 + 3 * t; },
        [](double, double, double done) { return 80e6 + 256 * done; }, 4e6, 200e3);
    const WorkAssessment a = assess_per_work(r.t, r.memory, r.done, {});
    EXPECT_EQ(a.verdict, Verdict::leak) << a.evidence.front();
    EXPECT_NEAR(a.per_unit, 256, 256 * 0.03);
    EXPECT_NEAR(a.units, r.done.back(), 1);
    EXPECT_NE(a.evidence.front().find("per request retained, steady over"), std::string::npos)
        << a.evidence.front();
}

TEST(AssessPerWork, FixedBytesPerRequestUnderFallingTrafficIsStillALeak) {
    const Traffic r = simulate(
        1200, 0.5, [](double t) { return 2000 * std::exp(-t / 200); },
        [](double, double, double done) { return 80e6 + 256 * done; }, 2e6, 100e3);
    const WorkAssessment a = assess_per_work(r.t, r.memory, r.done, {});
    EXPECT_EQ(a.verdict, Verdict::leak) << a.evidence.front();
    EXPECT_NEAR(a.per_unit, 256, 256 * 0.05);
}

TEST(AssessPerWork, MemoryThatFollowsTrafficUpAndDownIsNotALeak) {
    const Traffic r = simulate(
        2400, 0.5, [](double t) { return 600 + 500 * std::sin(t / 1200 * 2 * M_PI); },
        [](double, double rate, double) { return 80e6 + 40e3 * rate; }, 2e6, 200e3);
    const WorkAssessment a = assess_per_work(r.t, r.memory, r.done, {});
    EXPECT_NE(a.verdict, Verdict::leak) << a.evidence.front();
    EXPECT_NE(a.verdict, Verdict::inconclusive) << a.evidence.front();
}

TEST(AssessPerWork, MemoryThatFollowsRisingTrafficIsNotALeakButItsClockIs) {
    // Traffic rises tenfold and in-flight memory with it: over time a steady rise.
    const Traffic r = simulate(
        1200, 0.5, [](double t) { return 100 + 1.5 * t; },
        [](double, double rate, double) { return 80e6 + 100e3 * rate; }, 2e6, 200e3);
    const series::Series s = as_series(r, series::k_work_total, r.done);
    const Classification c = classify(s, {});
    ASSERT_TRUE(c.per_work);
    EXPECT_EQ(c.time_verdict, Verdict::leak);
    EXPECT_EQ(c.per_work->verdict, Verdict::bounded) << c.per_work->evidence.front();
    EXPECT_EQ(c.memory.verdict, Verdict::bounded);
    EXPECT_FALSE(c.first_leak_at_s);
}

TEST(AssessPerWork, MemoryThatFollowsDoublingTrafficIsTiedToTheRate) {
    // Traffic only doubles: the rise per request barely slows, but the baselines lie on a line
    // in the rate, not in the work done.
    const Traffic r = simulate(
        1200, 0.5, [](double t) { return 500 + 0.8 * t; },
        [](double, double rate, double) { return 80e6 + 100e3 * rate; }, 2e6, 100e3);
    const WorkAssessment a = assess_per_work(r.t, r.memory, r.done, {});
    EXPECT_EQ(a.verdict, Verdict::bounded) << a.evidence.front();
    EXPECT_NE(a.evidence.front().find("memory follows the traffic"), std::string::npos)
        << a.evidence.front();
}

TEST(Classify, TakesAWorkRateColumnAndFindsTheLeakTheClockCallsBounded) {
    const Traffic r = simulate(
        1200, 0.5, [](double t) { return 2000 * std::exp(-t / 150); },
        [](double, double, double done) { return 80e6 + 512 * done; }, 2e6, 100e3);
    const series::Series s = as_series(r, series::k_work_rate, r.rate);
    const Classification c = classify(s, {});
    ASSERT_TRUE(c.per_work);
    EXPECT_EQ(c.memory.verdict, Verdict::leak) << c.memory.evidence.front();
    EXPECT_NEAR(c.per_work->per_unit, 512, 512 * 0.05);
}

TEST(AssessPerWork, TooFewSamplesOrNoWorkIsInconclusive) {
    const std::vector<double> t{0, 1, 2, 3}, v{1, 2, 3, 4}, w{0, 1, 2, 3};
    EXPECT_EQ(assess_per_work(t, v, w, {}).verdict, Verdict::inconclusive);
    std::vector<double> tt, vv, ww;
    for (int i = 0; i < 200; ++i) {
        tt.push_back(i);
        vv.push_back(1e6 + i * 1e3);
        ww.push_back(42);
    }
    const WorkAssessment a = assess_per_work(tt, vv, ww, {});
    EXPECT_EQ(a.verdict, Verdict::inconclusive);
    EXPECT_NE(a.evidence.front().find("no request was done"), std::string::npos)
        << a.evidence.front();
}

}  // namespace leakhunt::trend
