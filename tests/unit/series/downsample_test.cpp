// Min/max downsampling for drawing: exact indices kept on small series, spikes and dips kept,
// NaN gaps, and the bound on the rows a long series gives.
#include "series/downsample.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::series {
namespace {

std::vector<double> times(size_t n) {
    std::vector<double> t(n);
    for (size_t i = 0; i < n; ++i) t[i] = static_cast<double>(i);
    return t;
}

TEST(MinMaxIndices, ShortSeriesKeepsEverySample) {
    const auto t = times(6);
    const std::vector<double> v{5, 4, 3, 2, 1, 0};
    EXPECT_EQ(min_max_indices(t, v, 3), (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
}

TEST(MinMaxIndices, KeepsEachBucketsLowAndHighInTimeOrder) {
    // 12 samples, 3 buckets of 4: [0,4) [4,8) [8,12).
    const auto t = times(12);
    const std::vector<double> v{5, 9, 1, 5, /**/ 7, 7, 2, 8, /**/ 3, 3, 3, 3};
    // Bucket 0: max at 1, min at 2. Bucket 1: min 6, max 7. Bucket 2: all equal -> its first (8).
    // The first and last samples are always kept.
    EXPECT_EQ(min_max_indices(t, v, 3), (std::vector<size_t>{0, 1, 2, 6, 7, 8, 11}));
}

TEST(MinMaxIndices, ASpikeInAMillionSamplesSurvives) {
    const size_t n = 1'000'000;
    const auto t = times(n);
    std::vector<double> v(n, 100.0);
    v[123'457] = 1e9;  // one spike
    v[654'321] = 1.0;  // one dip
    const auto keep = min_max_indices(t, v, 1000);
    EXPECT_LE(keep.size(), 2002U);
    EXPECT_TRUE(std::is_sorted(keep.begin(), keep.end()));
    EXPECT_NE(std::find(keep.begin(), keep.end(), 123'457U), keep.end());
    EXPECT_NE(std::find(keep.begin(), keep.end(), 654'321U), keep.end());
    EXPECT_EQ(keep.front(), 0U);
    EXPECT_EQ(keep.back(), n - 1);
}

TEST(MinMaxIndices, ABucketOfOnlyGapsKeepsOneSample) {
    const auto t = times(12);
    const double nan = std::nan("");
    const std::vector<double> v{1, 2, 3, 1, /**/ nan, nan, nan, nan, /**/ 3, 1, 2, 2};
    // Bucket 0: min at 0 (the first of two equal lows), max at 2. Bucket 1: a gap, its first.
    // Bucket 2: max at 8, min at 9. Then the last sample.
    EXPECT_EQ(min_max_indices(t, v, 3), (std::vector<size_t>{0, 2, 4, 8, 9, 11}));
}

TEST(MinMaxIndices, BadArgumentsThrow) {
    const auto t = times(3);
    EXPECT_THROW(min_max_indices(t, std::vector<double>{1, 2}, 2), util::Error);
    EXPECT_THROW(min_max_indices(t, std::vector<double>{1, 2, 3}, 0), util::Error);
}

}  // namespace
}  // namespace leakhunt::series
