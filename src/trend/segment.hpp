// Judges one process lifetime (a segment between restarts): binning, period, baseline, trend
// test and the leak / bounded / healthy / inconclusive decision. Internal to src/trend; the public
// entry point is assess() in verdict.hpp. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trend/stats.hpp"
#include "trend/verdict.hpp"

namespace leakhunt::trend::detail {

struct SegmentResult {
    Verdict verdict = Verdict::inconclusive;
    double slope_per_s = 0;  // baseline growth
    double p_value = 1;
    double confidence = 0;
    double level = 0;        // median of the baseline
    double peak = 0;         // highest value in the segment
    double recent_high = 0;  // high of the last window (for the limit projection)
    std::optional<double> period_s;
    std::optional<double> watch_more_s;
    std::vector<std::string> evidence;
    Line fit;
    double fit_from_s = 0;
    double fit_to_s = 0;
};

SegmentResult analyze_segment(std::span<const double> t, std::span<const double> v,
                              const Options& options);

// Samples needed before a significant rise of `relative_rise` (rise / level) is called a leak.
size_t patience_samples(double relative_rise);

// "310 MiB" or "1,204 fds" depending on options.bytes.
std::string format_amount(double value, const Options& options);
// "+20.0 MiB/h" or "+12 fds/h".
std::string format_growth(double per_hour, const Options& options);

}  // namespace leakhunt::trend::detail
