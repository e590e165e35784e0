// Robust statistics for the verdict engine: quantiles and MAD, the Theil-Sen slope (median of
// pairwise slopes, breakdown point 29%: outliers and spikes don't move it), the Mann-Kendall trend
// test (rank-based, no normality assumption) and a period estimate from the autocorrelation.
// All functions are pure and thread-safe. Inputs are small (the engine reduces series to at most a
// few hundred points first), so the O(n^2) pairwise methods are exact rather than approximated.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace leakhunt::trend {

// q in [0,1], linear interpolation between order statistics. NaN for an empty input.
double quantile(std::span<const double> values, double q);
double median(std::span<const double> values);
// Median absolute deviation scaled by 1.4826, a robust estimate of the standard deviation.
double mad_sigma(std::span<const double> values);

struct Line {
    double slope = 0;      // y units per x unit
    double intercept = 0;  // y at x = 0
    double at(double x) const { return intercept + slope * x; }
};

// Theil-Sen line through (x, y). Requires x.size() == y.size() >= 2 and distinct x.
Line theil_sen(std::span<const double> x, std::span<const double> y);

struct MannKendall {
    double s = 0;         // sum of signs of all later-minus-earlier differences
    double variance = 0;  // variance of s under "no trend", corrected for ties
    double z = 0;         // continuity-corrected standard score
    double p_up = 1;      // one-sided p-value for "increasing"
    double p_down = 1;    // one-sided p-value for "decreasing"
    double tau = 0;       // Kendall's tau: s over the number of pairs, in [-1, 1]
};

// Mann-Kendall test on a sequence assumed equally spaced in time.
MannKendall mann_kendall(std::span<const double> y);

// Upper tail of the standard normal distribution, P(Z > z).
double normal_sf(double z);

// Estimates the dominant period, in samples, of an equally spaced series (already detrended) from
// its autocorrelation: the highest peak after the first zero crossing, if it exceeds
// `min_correlation` and at least `min_cycles` periods fit in the series. nullopt otherwise.
// Fewer than three repetitions cannot show that a pattern repeats (a slow wander makes such
// peaks too), so a cycle longer than a third of the data is not a cycle: min_cycles is 2.8, as
// the peak of a cycle seen exactly three times (a daily cycle over three days, less a sample)
// can land a bin or two past a third.
std::optional<size_t> estimate_period(std::span<const double> y, double min_correlation = 0.3,
                                      double min_cycles = 2.8);

}  // namespace leakhunt::trend
