// Tests for the robust statistics: quantiles, MAD, Theil-Sen, Mann-Kendall, period estimate.
#include "trend/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace leakhunt::trend {

TEST(Quantile, InterpolatesBetweenOrderStatistics) {
    std::vector<double> v{5, 1, 3, 2, 4};
    EXPECT_DOUBLE_EQ(quantile(v, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(quantile(v, 0.5), 3.0);
    EXPECT_DOUBLE_EQ(quantile(v, 1.0), 5.0);
    EXPECT_DOUBLE_EQ(quantile(v, 0.25), 2.0);
    EXPECT_DOUBLE_EQ(median(std::vector<double>{1, 2, 3, 4}), 2.5);
    EXPECT_TRUE(std::isnan(median(std::vector<double>{})));
}

TEST(MadSigma, IgnoresOutliers) {
    std::vector<double> v{10, 11, 9, 10, 11, 9, 10, 1000};
    EXPECT_NEAR(mad_sigma(v), 1.4826, 1e-9);
}

TEST(TheilSen, ExactLineAndOutlierResistance) {
    std::vector<double> x, y;
    for (int i = 0; i < 20; ++i) {
        x.push_back(i);
        y.push_back(3.0 * i + 7.0);
    }
    Line l = theil_sen(x, y);
    EXPECT_DOUBLE_EQ(l.slope, 3.0);
    EXPECT_DOUBLE_EQ(l.intercept, 7.0);
    y[5] = 1e9;  // a spike
    y[12] = -1e9;
    l = theil_sen(x, y);
    EXPECT_DOUBLE_EQ(l.slope, 3.0);
}

TEST(MannKendall, MonotoneSequenceIsSignificant) {
    std::vector<double> up;
    for (int i = 0; i < 10; ++i) up.push_back(i);
    MannKendall mk = mann_kendall(up);
    EXPECT_DOUBLE_EQ(mk.s, 45.0);                       // all 45 pairs increase
    EXPECT_DOUBLE_EQ(mk.variance, 10.0 * 9 * 25 / 18);  // n(n-1)(2n+5)/18 = 125
    EXPECT_DOUBLE_EQ(mk.tau, 1.0);
    EXPECT_NEAR(mk.z, 44.0 / std::sqrt(125.0), 1e-12);
    EXPECT_LT(mk.p_up, 1e-4);
    EXPECT_GT(mk.p_down, 0.9999);
}

TEST(MannKendall, TiesReduceVariance) {
    std::vector<double> v{1, 1, 1, 2, 2, 3};
    MannKendall mk = mann_kendall(v);
    // S: pairs increasing = 3*2 + 3*1 + 2*1 = 11, none decreasing.
    EXPECT_DOUBLE_EQ(mk.s, 11.0);
    // 6*5*17/18 - [3*2*11/18 + 2*1*9/18] = 28.333 - 3.667 - 1 = 23.667
    EXPECT_NEAR(mk.variance, 28.0 + 1.0 / 3 - 11.0 / 3 - 1.0, 1e-9);
}

TEST(MannKendall, ConstantSequenceIsNotSignificant) {
    std::vector<double> v(12, 5.0);
    MannKendall mk = mann_kendall(v);
    EXPECT_DOUBLE_EQ(mk.s, 0.0);
    EXPECT_DOUBLE_EQ(mk.p_up, 1.0);
}

TEST(EstimatePeriod, FindsSawtoothPeriod) {
    std::vector<double> v;
    for (int i = 0; i < 200; ++i) v.push_back(static_cast<double>(i % 20));
    auto p = estimate_period(v);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(*p, 20u);
}

TEST(EstimatePeriod, NoCycleLongerThanAThirdOfTheData) {
    // 2.7 repetitions of a sawtooth of 75: fewer than three cannot show that it repeats.
    std::vector<double> v;
    for (int i = 0; i < 200; ++i) v.push_back(static_cast<double>(i % 75));
    EXPECT_FALSE(estimate_period(v).has_value());
    // 3.3 repetitions of 60 are a cycle.
    v.clear();
    for (int i = 0; i < 200; ++i) v.push_back(static_cast<double>(i % 60));
    ASSERT_TRUE(estimate_period(v).has_value());
    EXPECT_EQ(*estimate_period(v), 60u);
}

TEST(EstimatePeriod, NoneInNoise) {
    std::vector<double> v;
    unsigned state = 12345;
    for (int i = 0; i < 300; ++i) {
        state = state * 1103515245u + 12345u;
        v.push_back(static_cast<double>((state >> 16) & 0x7fff));
    }
    EXPECT_FALSE(estimate_period(v).has_value());
}

TEST(NormalSf, KnownValues) {
    EXPECT_NEAR(normal_sf(0), 0.5, 1e-12);
    EXPECT_NEAR(normal_sf(1.959964), 0.025, 1e-6);
    EXPECT_NEAR(normal_sf(-1.959964), 0.975, 1e-6);
}

}  // namespace leakhunt::trend
