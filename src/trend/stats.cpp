// Robust statistics: quantiles, MAD, Theil-Sen, Mann-Kendall, autocorrelation period.
#include "trend/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace leakhunt::trend {

double quantile(std::span<const double> values, double q) {
    if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::vector<double> v(values.begin(), values.end());
    double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
    auto lo = static_cast<size_t>(std::floor(pos));
    double frac = pos - static_cast<double>(lo);
    auto lo_it = v.begin() + static_cast<std::ptrdiff_t>(lo);
    std::nth_element(v.begin(), lo_it, v.end());
    double lo_value = *lo_it;
    if (frac == 0 || lo + 1 >= v.size()) return lo_value;
    double hi_value = *std::min_element(lo_it + 1, v.end());
    return lo_value + (hi_value - lo_value) * frac;
}

double median(std::span<const double> values) {
    return quantile(values, 0.5);
}

double mad_sigma(std::span<const double> values) {
    if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
    double m = median(values);
    std::vector<double> dev;
    dev.reserve(values.size());
    for (double v : values) dev.push_back(std::fabs(v - m));
    return 1.4826 * median(dev);
}

Line theil_sen(std::span<const double> x, std::span<const double> y) {
    const size_t n = std::min(x.size(), y.size());
    std::vector<double> slopes;
    slopes.reserve(n * (n - 1) / 2);
    for (size_t i = 0; i < n; ++i) {
        for (size_t j = i + 1; j < n; ++j) {
            double dx = x[j] - x[i];
            if (dx != 0) slopes.push_back((y[j] - y[i]) / dx);
        }
    }
    Line line;
    if (slopes.empty()) {
        line.intercept = n > 0 ? median(y.first(n)) : 0.0;
        return line;
    }
    line.slope = median(slopes);
    std::vector<double> icpt;
    icpt.reserve(n);
    for (size_t i = 0; i < n; ++i) icpt.push_back(y[i] - line.slope * x[i]);
    line.intercept = median(icpt);
    return line;
}

double normal_sf(double z) {
    return 0.5 * std::erfc(z / std::sqrt(2.0));
}

MannKendall mann_kendall(std::span<const double> y) {
    MannKendall mk;
    const size_t n = y.size();
    if (n < 3) return mk;
    double s = 0;
    for (size_t i = 0; i < n; ++i) {
        for (size_t j = i + 1; j < n; ++j) {
            if (y[j] > y[i]) {
                s += 1;
            } else if (y[j] < y[i]) {
                s -= 1;
            }
        }
    }
    const auto nd = static_cast<double>(n);
    double var = nd * (nd - 1) * (2 * nd + 5) / 18.0;
    std::map<double, size_t> ties;
    for (double v : y) ++ties[v];
    for (const auto& [value, count] : ties) {
        if (count > 1) {
            const auto c = static_cast<double>(count);
            var -= c * (c - 1) * (2 * c + 5) / 18.0;
        }
    }
    mk.s = s;
    mk.variance = var;
    mk.tau = s / (nd * (nd - 1) / 2.0);
    if (var <= 0) return mk;
    if (s > 0) {
        mk.z = (s - 1) / std::sqrt(var);
    } else if (s < 0) {
        mk.z = (s + 1) / std::sqrt(var);
    }
    mk.p_up = normal_sf(mk.z);
    mk.p_down = normal_sf(-mk.z);
    return mk;
}

std::optional<size_t> estimate_period(std::span<const double> y, double min_correlation,
                                      double min_cycles) {
    const size_t n = y.size();
    if (n < 8) return std::nullopt;
    double mean = 0;
    for (double v : y) mean += v;
    mean /= static_cast<double>(n);
    double denom = 0;
    for (double v : y) denom += (v - mean) * (v - mean);
    if (denom <= 0) return std::nullopt;
    const auto max_lag = static_cast<size_t>(static_cast<double>(n) / min_cycles);
    // One lag past the last candidate, so that a candidate at max_lag must be a real peak too:
    // an autocorrelation still rising at the end of the range is a trend or a beat longer than
    // min_cycles fit, not a cycle.
    const size_t last = std::min(max_lag + 1, n - 1);
    std::vector<double> acf(last + 1, 0.0);
    for (size_t k = 1; k <= last; ++k) {
        double num = 0;
        for (size_t i = 0; i + k < n; ++i) num += (y[i] - mean) * (y[i + k] - mean);
        // Normalise per overlapping pair so long lags are not penalised for their shorter overlap.
        acf[k] = (num / static_cast<double>(n - k)) / (denom / static_cast<double>(n));
    }
    size_t k = 1;
    while (k <= max_lag && acf[k] > 0) ++k;
    size_t best = 0;
    double best_value = min_correlation;
    for (; k <= max_lag && k < last; ++k) {
        const bool local_peak = acf[k] >= acf[k - 1] && acf[k] >= acf[k + 1];
        if (local_peak && acf[k] > best_value) {
            best_value = acf[k];
            best = k;
        }
    }
    if (best < 2) return std::nullopt;
    // A real cycle is anti-correlated with itself half a period away (a sawtooth about -0.5, a
    // sine -1, hourly 10-minute spikes -0.2); a chance peak in the autocorrelation of a wandering
    // series is not.
    if (acf[best / 2] > -0.1) return std::nullopt;
    return best;
}

}  // namespace leakhunt::trend
