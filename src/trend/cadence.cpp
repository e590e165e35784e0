// restarts_from_counter() and cadence_of() (see cadence.hpp).
#include "trend/cadence.hpp"

#include <algorithm>
#include <cmath>

#include "trend/stats.hpp"

namespace leakhunt::trend {

std::vector<double> restarts_from_counter(std::span<const double> t, std::span<const double> v) {
    std::vector<double> out;
    double prev = std::nan("");
    for (size_t i = 0; i < t.size() && i < v.size(); ++i) {
        if (!std::isfinite(v[i])) continue;
        if (std::isfinite(prev)) {
            const double step = v[i] >= prev ? v[i] - prev : v[i];
            // A counter's steps are whole restarts; a huge step is one event, not millions.
            const auto k = static_cast<size_t>(std::clamp(std::round(step), 0.0, 1000.0));
            out.insert(out.end(), k, t[i]);
        }
        prev = v[i];
    }
    return out;
}

Cadence cadence_of(std::span<const double> restart_times) {
    Cadence c;
    c.restarts = restart_times.size();
    if (c.restarts < 2) return c;
    std::vector<double> gaps;
    for (size_t i = 1; i < restart_times.size(); ++i)
        gaps.push_back(restart_times[i] - restart_times[i - 1]);
    c.median_gap_s = median(gaps);
    if (!(c.median_gap_s > 0)) return c;
    std::vector<double> dev;
    for (double g : gaps) dev.push_back(std::fabs(g - c.median_gap_s));
    c.irregularity = median(dev) / c.median_gap_s;
    c.regular = std::all_of(gaps.begin(), gaps.end(), [&](double g) {
        return std::fabs(g - c.median_gap_s) <= 0.5 * c.median_gap_s;
    });
    return c;
}

}  // namespace leakhunt::trend
