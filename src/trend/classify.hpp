// Classifies a whole Series: the memory verdict of assess() plus the flags beside it (fd and
// thread growth, fragmentation), the memory limit taken from the series, the detection latency
// (first_leak_at_s: the earliest time at which the engine, fed only the samples up to then, said
// leak) and the replay of verdict changes over time. Pure functions; thread-safe.
#pragma once

#include <vector>

#include "series/series.hpp"
#include "trend/per_work.hpp"
#include "trend/verdict.hpp"

namespace leakhunt::trend {

struct Classification {
    Assessment memory;                      // of rss_bytes (or the chosen column)
    std::optional<double> first_leak_at_s;  // series time; nullopt if never
    std::optional<double> limit_bytes;      // the limit used for the projection
    // When the series has a work column (series::k_work_total or k_work_rate): memory judged per
    // unit of work. Its verdict, when it has one, is the memory verdict: traffic that grows is
    // not a leak, and a leak under falling traffic is one. time_verdict keeps the clock's.
    std::optional<WorkAssessment> per_work;
    Verdict time_verdict = Verdict::inconclusive;
};

struct ClassifyOptions {
    Options engine;
    // Compute first_leak_at_s by replaying prefixes (costs about 200 assessments).
    bool detection_latency = true;
    // What a unit of the series' work column is.
    WorkOptions work;
};

Classification classify(const series::Series& s, const ClassifyOptions& options);

struct VerdictChange {
    double t_s = 0;  // series time of the first sample at which the new verdict was given
    size_t samples = 0;
    Verdict verdict = Verdict::inconclusive;
    double growth_bytes_per_hour = 0;
};

// The verdict after every prefix of about n/`points` samples, keeping only changes.
std::vector<VerdictChange> replay(const series::Series& s, const Options& options,
                                  size_t points = 240);

}  // namespace leakhunt::trend
