// Growth per unit of work: memory judged against the work a service has done (requests served,
// jobs run) instead of against the clock. The field's check "are request rates growing
// proportionally? then it is normal growth" made exact: a leak keeps a fixed amount per request,
// so its baseline rises in a straight line over the cumulative work whatever the traffic does,
// while memory that follows the traffic (buffers, in-flight state) rises and falls with the rate
// and does not climb with the work done.
//
// How it decides: the samples are put on the axis of cumulative work; that axis is cut into
// windows of equal work and the baseline is the lowest memory of each (GC sawtooth and spikes do
// not move it); the Theil-Sen slope of the baselines is the memory kept per unit, Mann-Kendall
// says whether the rise is significant, and the slopes of the first and second half of the work
// say whether it is steady (leak) or slowing down (bounded: a cache filling, or memory following
// rising traffic). Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "trend/verdict.hpp"

namespace leakhunt::trend {

// How a work column counts: a counter of work done so far (requests_total; resets to a lower
// value are a restart of the counter, as Prometheus' increase() reads them) or a rate (units per
// second, e.g. rate(http_requests_total[5m])), integrated over time.
enum class WorkKind { total, rate };

// The work done up to each sample, from 0 at the first finite value; NaN where the input is NaN
// (before the first finite value, and a rate's missing samples add nothing).
std::vector<double> cumulative_work(std::span<const double> t, std::span<const double> work,
                                    WorkKind kind);

struct WorkOptions {
    std::string unit = "request";  // one unit of work, singular
    bool bytes = true;             // memory values are bytes
};

struct WorkAssessment {
    Verdict verdict = Verdict::inconclusive;
    double per_unit = 0;             // memory kept per unit of work (the baselines' slope)
    double first_half_per_unit = 0;  // the same over the first and the second half of the work
    double second_half_per_unit = 0;
    double units = 0;    // work done over the judged samples
    double p_value = 1;  // of the baselines' rise (Mann-Kendall, one-sided)
    size_t windows = 0;
    std::vector<std::string> evidence;
};

// Judges memory v against cumulative work w (both per sample time t; NaN marks a missing value).
WorkAssessment assess_per_work(std::span<const double> t, std::span<const double> v,
                               std::span<const double> w, const WorkOptions& options);

}  // namespace leakhunt::trend
