// Leak suspects from a series of heap snapshots: for each allocation site, the trend of what it
// holds over time (Theil-Sen slope, Mann-Kendall monotonicity), the shape of that trend (steady
// growth, a plateau that grew then stopped, churn that goes up and down with no net trend,
// shrinking, flat), its share of all growth and a confidence, ranked so that the site that leaks
// comes first, and said in a sentence a person can check. The site's identity comes in as plain
// strings (the profile layer aggregates snapshots into SiteSeries); pure functions, thread-safe.
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
    double slope_per_hour = 0;       // Theil-Sen over the whole window, units per hour
    double late_slope_per_hour = 0;  // Theil-Sen over the last 40% of the snapshots (n >= 5)
    double early_slope_per_hour = 0; // Theil-Sen over the first 60% of the snapshots (n >= 5)
    double tau = 0;                  // Mann-Kendall tau in [-1, 1]
    double p_up = 1;                 // Mann-Kendall one-sided p-value for "increasing"
    double p_down = 1;               // ... for "decreasing"
    double monotone = 0;             // fraction of steps that did not go down, in [0, 1]
    double net_growth = 0;           // slope x window: the trend's growth over the window
    double first = 0, last = 0, min = 0, max = 0;
    SiteShape shape = SiteShape::flat;
    double confidence = 0;  // that the site grows steadily: (1 - p_up) x monotone x late/overall
};

// Steady growth needs Mann-Kendall p below this and at least k_suspect_monotone of the steps up
// (unless every step went up): a random series passes p < 0.05 one time in twenty, and a
// snapshot series is often only a dozen points, so both bars are set higher than usual.
inline constexpr double k_suspect_significance = 0.01;
inline constexpr double k_suspect_monotone = 0.7;
// A plateau: the late slope is at most this fraction of the early slope.
inline constexpr double k_plateau_slope_ratio = 0.15;

// The trend of one site. `t_seconds` strictly increasing, same size as `values`, size >= 3.
//  - flat: the values never change;
//  - plateau (n >= 5): it rose (early slope > 0, last > first, up in most steps or significantly)
//    and the late slope is at most k_plateau_slope_ratio of the early slope;
//  - steady growth: slope > 0 and Mann-Kendall says increasing at k_suspect_significance with
//    k_suspect_monotone of the steps up, or every step went up or stayed (last > first), which
//    is all 3 or 4 snapshots can show;
//  - shrinking: the same downwards;
//  - churn: anything else: up and down with no significant trend.
SiteTrend site_trend(std::span<const double> t_seconds, std::span<const double> values);

// One allocation site across the snapshots.
struct SiteSeries {
    std::string function;  // the user's function holding the allocation site
    std::string file;      // empty when unknown
    int64_t line = 0;      // 0 when unknown
    std::string module;
    std::string callee;          // the library function that allocated for it, e.g. "std::string"
    std::vector<double> values;  // in-use bytes (or objects) at each snapshot
};

struct Suspect {
    SiteSeries site;
    SiteTrend trend;
    double share_of_growth = 0;  // of the summed positive growth of steady and plateau sites
    std::string sentence;
};

struct SuspectReport {
    std::vector<Suspect> suspects;  // steady growth, by slope descending
    std::vector<Suspect> others;    // plateau, churn, shrinking, flat: by slope descending
    double total_growth = 0;        // the denominator of share_of_growth
    double window_seconds = 0;
    size_t snapshots = 0;
};

// Analyses every site; `unit` is "bytes" or "objects" (how sentences show values).
SuspectReport find_suspects(std::span<const double> t_seconds, std::vector<SiteSeries> sites,
                            std::string_view unit);

}  // namespace leakhunt::trend
