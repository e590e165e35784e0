// The verdict engine: reads one memory series and says leak / bounded / healthy / inconclusive
// (DESIGN.md, "The verdicts"), with a growth rate, a confidence and sentences of evidence a person
// can check. Everything it decides is relative to the series' own length and noise, so the same
// shape gives the same verdict at any time scale (20 MB/h over 8 h = 200 KB/s over 4 minutes).
//
// How it decides, in order:
//  1. Restarts (large drops after a gradual ramp, or known ones) cut the series into segments;
//     each process lifetime is judged on its own and the restart cadence becomes evidence.
//  2. The series is reduced to time bins; a dominant period (GC sawtooth, batch spikes, a daily
//     cycle) is estimated from the autocorrelation.
//  3. The baseline is the low point of each window (one window per cycle when there is a cycle):
//     spikes and sawtooth peaks don't move it, and memory that is never returned does.
//  4. Leak needs a baseline trend that is significant (Mann-Kendall), large against the baseline's
//     own noise, not undone by a later fall (a cycle), and not slowing down (else: bounded).
//     With only a few cycles of a slow period, the series is compared with itself one period
//     earlier instead.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "trend/stats.hpp"

namespace leakhunt::trend {

enum class Verdict { leak = 0, bounded = 1, healthy = 2, inconclusive = 3 };

std::string_view to_string(Verdict v);

struct Options {
    // Memory limit (cgroup limit or --limit) used to project when it will be hit.
    std::optional<double> limit_bytes;
    // Growth below this rate is not reported as a leak.
    double min_rate_bytes_per_hour = 0;
    // What the value is, for evidence sentences ("memory", "open fds", "threads").
    std::string_view what = "memory";
    // Values are byte counts (formatted as MiB) or plain counts (fds, threads).
    bool bytes = true;
    // known: every sample's process instance (PID) is known, so the known restarts are all the
    // restarts there were; unknown: restarts are also detected from the shape (detect_restarts).
    enum class Instances { unknown, known };
    Instances instances = Instances::unknown;
};

struct Assessment {
    Verdict verdict = Verdict::inconclusive;
    double growth_bytes_per_hour = 0;            // baseline growth (units per hour when not bytes)
    double confidence = 0;                       // 0..1
    std::optional<double> projected_limit_at_s;  // series time at which the limit is reached
    std::optional<double> watch_more_s;          // inconclusive: how much longer to watch
    std::vector<std::string> evidence;
    std::vector<std::string> flags;  // "restarts", ... (classify adds fd/thread/fragmentation)
    double p_value = 1;              // of the baseline trend
    size_t samples = 0;
    double span_s = 0;
    std::vector<double> restarts_s;  // detected and known restarts, series time
    std::optional<double> period_s;  // dominant cycle, if one was found
    // The fitted baseline of the last segment: value = intercept + slope * t (t in series time,
    // slope per second), valid from fit_from_s to fit_to_s.
    Line baseline_fit;
    double fit_from_s = 0;
    double fit_to_s = 0;
};

// Judges the series (t strictly increasing, no NaN). known_restarts are series times at which a new
// process instance is known to have started.
Assessment assess(std::span<const double> t, std::span<const double> v, const Options& options,
                  std::span<const double> known_restarts = {});

// Indices i where a restart happened between sample i-1 and i: a drop to at most half, after a
// gradual ramp (not the end of a spike, not a GC cycle), back to near the lowest level of the
// lifetime it ends (a new process starts where the old one began; a collector that returns memory,
// such as G1 uncommitting its heap after warm-up, leaves the level well above that).
std::vector<size_t> detect_restarts(std::span<const double> t, std::span<const double> v);

// Minimum sample counts: below k_min_samples_leak nothing is said; a healthy or bounded verdict
// needs k_min_samples_settled.
inline constexpr size_t k_min_samples_leak = 24;
inline constexpr size_t k_min_samples_settled = 60;

}  // namespace leakhunt::trend
