// Leak suspects from a series of heap snapshots: for each allocation site, the trend of what it
// holds over time (Theil-Sen slope, Mann-Kendall monotonicity), the shape of that trend (steady
// growth, a plateau that grew then stopped, churn that goes up and down with no net trend,
// shrinking, flat), its share of all growth and a confidence, ranked so that the site that leaks
// comes first, and said in a sentence a person can check. A "site" is whatever is counted over the
// snapshots, named by a SiteKey that the layer counting it builds (report/site_keys.hpp): an
// allocation site (unit "bytes" or "objects"), a JVM class, or a group of Go goroutines with one
// stack (unit "goroutines": the values are goroutine counts). Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::trend {

enum class SiteShape { steady_growth, plateau, churn, shrinking, flat };

// "steady growth", "plateau", "churn", "shrinking", "flat".
std::string_view shape_name(SiteShape shape);

struct SiteTrend {
    double slope_per_hour = 0;        // Theil-Sen over the whole window, units per hour
    double late_slope_per_hour = 0;   // Theil-Sen over the last 40% of the snapshots (n >= 5)
    double early_slope_per_hour = 0;  // Theil-Sen over the first 60% of the snapshots (n >= 5)
    double tau = 0;                   // Mann-Kendall tau in [-1, 1]
    double p_up = 1;                  // Mann-Kendall one-sided p-value for "increasing"
    double p_down = 1;                // ... for "decreasing"
    double monotone = 0;              // fraction of steps that did not go down, in [0, 1]
    double net_growth = 0;  // growth over the window: slope x window; last - first for a plateau
    double first = 0, last = 0, min = 0, max = 0;
    SiteShape shape = SiteShape::flat;
    // That the site grows: 1 - p_up for steady growth, 0 for every other shape. For the same
    // growth, more snapshots never lower it (Mann-Kendall's p only falls as concordant pairs
    // accumulate); the monotone fraction and the late trend decide the shape, not this.
    double confidence = 0;
};

// Steady growth needs Mann-Kendall p below this and at least k_suspect_monotone of the steps up
// (unless every step went up): a random series passes p < 0.05 one time in twenty, and a
// snapshot series is often only a dozen points, so both bars are set higher than usual.
inline constexpr double k_suspect_significance = 0.01;
inline constexpr double k_suspect_monotone = 0.7;
// A plateau: over the late snapshots the trend moved it by at most this fraction of its rise,
inline constexpr double k_plateau_change_ratio = 0.15;
// ... and the late values spread over at most this fraction of it.
inline constexpr double k_plateau_late_spread = 0.5;
// ... and, for sampled values, fell short of the early trend by more than this many standard
// errors (about 2.3% one-sided).
inline constexpr double k_plateau_noise_sigmas = 2.0;

// The trend of one site. `t_seconds` strictly increasing, same size as `values`, size >= 3.
//  - flat: the values never change (and see below);
//  - plateau (n >= 5): it rose (last - first > 0 and at least half of max - min; up in 75% of
//    the steps or significantly), its Theil-Sen trend over the last 40% of the snapshots, applied
//    to their share of the window (not their wall time, which bunched snapshots shrink), moved
//    it by at most k_plateau_change_ratio of that rise, and those values spread over at most
//    k_plateau_late_spread of it (a cache that filled early or late); with
//    `stderr_values` (the standard error of each value, for a sampled profile's estimates), the
//    late part must also have fallen short of the early trend by more than k_plateau_noise_sigmas
//    standard errors of its change, so that sampling noise is not taken for levelling off;
//  - steady growth: slope > 0 and Mann-Kendall says increasing at k_suspect_significance with
//    k_suspect_monotone of the steps up, or every step went up or stayed (last > first), which
//    is all 3 or 4 snapshots can show;
//  - shrinking: the same downwards;
//  - flat: a Theil-Sen slope of 0 otherwise (most pairs of snapshots agree: a step, a blip);
//  - churn: anything else: up and down with no significant trend.
SiteTrend site_trend(std::span<const double> t_seconds, std::span<const double> values,
                     std::span<const double> stderr_values = {});

// What a site is, as the layer that counts it names it: an allocation site (a native function
// and what it called to allocate, a JS function, a Python line), a class of a heap (a JVM
// class), a group of goroutines with one stack. The engine knows no runtime: it says `label` in
// sentences, ranks `rank_last` sites after the others and hands the rest back untouched.
struct SiteKey {
    std::string identity;  // what the series were grouped by (one series per identity)
    std::string name;      // the site alone: a function, a class, a constructor
    // The site as a sentence says it, e.g. "std::string allocated in Cache::put (cache.cpp:42)",
    // "memory allocated in register (app.py:42)", "class com.example.Session", "blocked in chan
    // receive in main.worker (main.go:42)".
    std::string label;
    // Ranked after every other site: what every application's objects are built from (a JVM's
    // own classes: byte[], String, HashMap$Node), so the application's site that grows with
    // them comes first.
    bool rank_last = false;
    // Where it is, for the caller's rows (empty or 0 when unknown); the engine reads none of it.
    std::string file;
    int64_t line = 0;
    std::string module;
    std::string callee;  // the library function that allocated for it, e.g. "std::string"
    std::string state;   // what a group of goroutines waits in, e.g. "chan receive"
};

// One site across the snapshots.
struct SiteSeries {
    SiteKey key;
    std::vector<double> values;  // in-use bytes (or objects, or goroutines) at each snapshot
    // The standard error of each value when the profiles are sampled (an estimate from a few
    // samples); empty when the values are exact.
    std::vector<double> stderr_values;
    // The live instances at each snapshot when `values` are the bytes they hold (a class
    // histogram); the growth sentence then counts instances: "com.example.Session +41,000
    // instances/min (3.5 MiB/min)". Empty otherwise.
    std::vector<double> instances;
};

// A steady grower too small to be a suspect: its growth over the window is below this fraction
// of everything in use at the last snapshot (a healthy service's import caches and interned
// strings creep up by a few KiB), or, for sampled values, below k_minor_noise_sigmas standard
// errors of its last value (one or two samples that appeared and stayed).
inline constexpr double k_minor_growth_of_heap = 0.001;
inline constexpr double k_minor_noise_sigmas = 2.0;

struct Suspect {
    SiteSeries site;
    SiteTrend trend;
    double share_of_growth = 0;  // of the summed positive growth of steady and plateau sites
    bool minor = false;          // steady growth, but too small to count (above); in `others`
    std::string sentence;
};

struct SuspectReport {
    // steady growth, by slope descending (rank_last sites after the other sites)
    std::vector<Suspect> suspects;
    std::vector<Suspect> others;  // minor growth, plateau, churn, shrinking, flat: by slope
    double in_use_last = 0;       // all sites' values at the last snapshot
    double total_growth = 0;      // the denominator of share_of_growth
    double window_seconds = 0;
    size_t snapshots = 0;
};

// Analyses every site; `unit` is "bytes", "objects" or "goroutines" (how sentences show values).
// `whole_in_use` (bytes, 0: none) is what the process holds when the profile sees only part of
// it (tracemalloc attached to a running interpreter sees only what was allocated since): the
// minor-growth bar is then k_minor_growth_of_heap of the larger of it and in_use_last.
SuspectReport find_suspects(std::span<const double> t_seconds, std::vector<SiteSeries> sites,
                            std::string_view unit, double whole_in_use = 0);

}  // namespace leakhunt::trend
