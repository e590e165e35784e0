// Tests of the verdict hysteresis: the state machine on its own, and on a watched series whose
// judgement flaps between leak and inconclusive from one sample to the next.
#include "trend/hysteresis.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <span>
#include <vector>

namespace leakhunt::trend {
namespace {

constexpr Verdict L = Verdict::leak;
constexpr Verdict I = Verdict::inconclusive;
constexpr Verdict H = Verdict::healthy;
constexpr Verdict B = Verdict::bounded;

// The shown verdict after each judgement.
std::vector<Verdict> shown(const std::vector<Verdict>& judged) {
    VerdictHysteresis h;
    std::vector<Verdict> out;
    for (Verdict v : judged) {
        h.update(v);
        out.push_back(h.verdict());
    }
    return out;
}

TEST(VerdictHysteresis, FirstDefiniteVerdictIsShownAtOnce) {
    EXPECT_EQ(shown({I, I, L}), (std::vector<Verdict>{I, I, L}));
}

TEST(VerdictHysteresis, FlappingShowsOneChange) {
    EXPECT_EQ(shown({L, I, L, I, I, L, I}), (std::vector<Verdict>{L, L, L, L, L, L, L}));
}

TEST(VerdictHysteresis, ThreeInARowChangeItToTheLatest) {
    EXPECT_EQ(shown({L, H, H, H}), (std::vector<Verdict>{L, L, L, H}));
    EXPECT_EQ(shown({L, I, B, H}), (std::vector<Verdict>{L, L, L, H}));
    // Back to inconclusive needs three too, and so does leaving it again.
    EXPECT_EQ(shown({L, I, I, I, L, L, L}), (std::vector<Verdict>{L, L, L, I, I, I, L}));
}

TEST(VerdictHysteresis, ApplyShowsTheHeldVerdictAndSaysWhy) {
    VerdictHysteresis h;
    Assessment a;
    a.verdict = L;
    EXPECT_TRUE(h.apply(a));
    EXPECT_EQ(a.verdict, L);
    Assessment b;
    b.verdict = I;
    b.evidence = {"only 20 samples"};
    EXPECT_FALSE(h.apply(b));
    EXPECT_EQ(b.verdict, L);
    ASSERT_EQ(b.evidence.size(), 2u);
    EXPECT_EQ(b.evidence[0],
              "still leak: the latest judgement says inconclusive, 1 of 3 in a row needed to "
              "change the verdict (the evidence below is the latest judgement's)");
}

TEST(VerdictHysteresis, AWatchedSeriesThatFlapsChangesOnce) {
    // What `watch --interval 0.2s` judges: a 5 s GC sawtooth of 50 MB on a leak of 2 MB/s,
    // re-judged after every sample. The engine's judgement flips between leak and inconclusive
    // from one sample to the next; the shown verdict must change once.
    std::mt19937 rng(2);
    std::normal_distribution<double> noise(0.0, 1e6);
    std::vector<double> t, v;
    for (size_t i = 0; i < 400; ++i) {
        const double x = 0.2 * static_cast<double>(i);
        t.push_back(x);
        v.push_back(100e6 + 2e6 * x + 50e6 * std::fmod(x, 5.0) / 5.0 + noise(rng));
    }
    VerdictHysteresis h;
    Verdict last = Verdict::inconclusive;
    size_t judged_changes = 0, shown_changes = 0;
    for (size_t end = 2; end <= t.size(); ++end) {
        Assessment a = assess(std::span<const double>(t).first(end),
                              std::span<const double>(v).first(end), Options{});
        if (a.verdict != last) ++judged_changes;
        last = a.verdict;
        if (h.apply(a)) ++shown_changes;
    }
    EXPECT_GE(judged_changes, 4u);  // the flapping this guards against
    EXPECT_EQ(shown_changes, 1u);
    EXPECT_EQ(h.verdict(), Verdict::leak);
}

}  // namespace
}  // namespace leakhunt::trend
