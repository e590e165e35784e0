// assess_per_work(): memory against the work done (see per_work.hpp).
#include "trend/per_work.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "trend/stats.hpp"
#include "util/units.hpp"

namespace leakhunt::trend {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
// Most and fewest windows of equal work; each needs a few samples for its lowest to be a baseline.
constexpr size_t k_max_windows = 32;
constexpr size_t k_min_windows = 6;
constexpr size_t k_samples_per_window = 4;
// A rise must be significant at this level, several times the baselines' own scatter, and a
// visible share of the memory in use.
constexpr double k_significance = 0.01;
constexpr double k_rise_over_noise = 3.0;
constexpr double k_rise_over_level = 0.005;
// Growth per unit in the second half of the work below this share of the first is slowing down.
constexpr double k_steady_ratio = 0.5;
// Traffic varies when its windows' rates span this share of their median; the baselines follow
// it when their scatter about a line in the rate is below this share of that about the work.
constexpr double k_traffic_spread = 0.3;
constexpr double k_traffic_fit_ratio = 0.5;

std::string amount(double value, const WorkOptions& o) {
    if (o.bytes) return util::format_bytes(value);
    return fmt::format("{:.3g}", value);
}

std::string per_unit(double value, const WorkOptions& o) {
    return (value >= 0 ? "+" : "") + amount(value, o) + " per " + o.unit;
}

// "4,100,000 requests"
std::string units_text(double units, const WorkOptions& o) {
    return util::format_count(units) + " " + o.unit + (std::round(units) == 1 ? "" : "s");
}

std::string p_text(double p) {
    return p < 1e-6 ? std::string("p < 1e-6") : fmt::format("p = {:.2g}", p);
}

// Slope of the baselines (x, b) whose x lies in [from, to); nullopt with fewer than three.
std::optional<double> slope_between(const std::vector<double>& x, const std::vector<double>& b,
                                    double from, double to) {
    std::vector<double> xs, bs;
    for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] >= from && x[i] < to) {
            xs.push_back(x[i]);
            bs.push_back(b[i]);
        }
    }
    if (xs.size() < 3 || xs.back() <= xs.front()) return std::nullopt;
    return theil_sen(xs, bs).slope;
}

// When the traffic varies and the baselines follow it (memory = a + c * rate) clearly better
// than they follow the work done (memory = a + c * work), as memory in flight does and a leak
// does not: the sentence that says so.
std::optional<std::string> follows_traffic(const std::vector<double>& x,
                                           const std::vector<double>& b,
                                           const std::vector<double>& rate, double noise_by_work,
                                           const WorkOptions& o) {
    std::vector<double> r, rb;
    for (size_t i = 0; i < rate.size(); ++i) {
        if (std::isfinite(rate[i])) {
            r.push_back(rate[i]);
            rb.push_back(b[i]);
        }
    }
    if (r.size() < k_min_windows || x.size() < 2) return std::nullopt;
    const double lo = *std::min_element(r.begin(), r.end());
    const double hi = *std::max_element(r.begin(), r.end());
    if (!(hi > 0) || hi - lo < k_traffic_spread * median(r)) return std::nullopt;
    const Line by_rate = theil_sen(r, rb);
    if (!(by_rate.slope > 0)) return std::nullopt;
    std::vector<double> residuals(r.size());
    for (size_t i = 0; i < r.size(); ++i) residuals[i] = rb[i] - by_rate.at(r[i]);
    const double noise_by_rate = mad_sigma(residuals);
    if (!(noise_by_rate < k_traffic_fit_ratio * noise_by_work)) return std::nullopt;
    return fmt::format(
        "memory follows the traffic rather than the work done: {} per {}/s of traffic (traffic "
        "from {:.3g} to {:.3g} {}s/s), with a scatter of {} about that line against {} about "
        "a fixed amount per {}: memory in flight, not kept",
        amount(by_rate.slope, o), o.unit, lo, hi, o.unit, amount(noise_by_rate, o),
        amount(noise_by_work, o), o.unit);
}

}  // namespace

std::vector<double> cumulative_work(std::span<const double> t, std::span<const double> work,
                                    WorkKind kind) {
    std::vector<double> out(work.size(), k_nan);
    double done = 0;
    double prev = k_nan;
    double prev_t = k_nan;
    for (size_t i = 0; i < work.size() && i < t.size(); ++i) {
        const double x = work[i];
        if (!std::isfinite(x)) continue;
        if (std::isfinite(prev)) {
            if (kind == WorkKind::total) {
                // A counter that went down was restarted from zero and has counted x since.
                done += x >= prev ? x - prev : std::max(0.0, x);
            } else {
                done += std::max(0.0, (prev + x) / 2 * (t[i] - prev_t));
            }
        }
        prev = x;
        prev_t = t[i];
        out[i] = done;
    }
    return out;
}

WorkAssessment assess_per_work(std::span<const double> t, std::span<const double> v,
                               std::span<const double> w, const WorkOptions& options) {
    WorkAssessment a;
    std::vector<double> ts, ws, vs;
    for (size_t i = 0; i < t.size() && i < v.size() && i < w.size(); ++i) {
        if (std::isfinite(v[i]) && std::isfinite(w[i])) {
            ts.push_back(t[i]);
            ws.push_back(w[i]);
            vs.push_back(v[i]);
        }
    }
    const size_t n = ws.size();
    if (n < k_min_samples_leak) {
        a.evidence.push_back(
            fmt::format("only {} samples have both memory and a count of work: at "
                        "least {} are needed to judge memory per {}",
                        n, k_min_samples_leak, options.unit));
        return a;
    }
    const double w0 = *std::min_element(ws.begin(), ws.end());
    a.units = *std::max_element(ws.begin(), ws.end()) - w0;
    if (!(a.units > 0)) {
        a.evidence.push_back(
            fmt::format("no {} was done while memory was sampled: memory per {} "
                        "cannot be judged",
                        options.unit, options.unit));
        return a;
    }

    // The lowest memory in each window of equal work, at the work where it was seen.
    const size_t k = std::clamp(n / k_samples_per_window, k_min_windows, k_max_windows);
    // Each window's traffic is its work over its time, from its first to its last sample.
    std::vector<double> low(k, std::numeric_limits<double>::infinity()), low_at(k, k_nan);
    std::vector<size_t> first_i(k, n), last_i(k, n);
    for (size_t i = 0; i < n; ++i) {
        const auto slot =
            std::min(k - 1, static_cast<size_t>((ws[i] - w0) / a.units * static_cast<double>(k)));
        if (vs[i] < low[slot]) {
            low[slot] = vs[i];
            low_at[slot] = ws[i];
        }
        if (first_i[slot] == n) first_i[slot] = i;
        last_i[slot] = i;
    }
    std::vector<double> x, b, rate;
    for (size_t s = 0; s < k; ++s) {
        if (std::isfinite(low_at[s])) {
            x.push_back(low_at[s]);
            b.push_back(low[s]);
            const double dt = ts[last_i[s]] - ts[first_i[s]];
            rate.push_back(dt > 0 ? (ws[last_i[s]] - ws[first_i[s]]) / dt : k_nan);
        }
    }
    a.windows = x.size();
    if (a.windows < k_min_windows || x.back() <= x.front()) {
        a.evidence.push_back(
            fmt::format("the count of work moved in {} steps only: at least {} "
                        "are needed to judge memory per {}",
                        a.windows, k_min_windows, options.unit));
        return a;
    }
    const Line fit = theil_sen(x, b);
    const MannKendall mk = mann_kendall(b);
    a.per_unit = fit.slope;
    a.p_value = mk.p_up;
    std::vector<double> residuals(b.size());
    for (size_t i = 0; i < b.size(); ++i) residuals[i] = b[i] - fit.at(x[i]);
    const double noise = mad_sigma(residuals);
    const double rise = fit.slope * (x.back() - x.front());
    const double level = median(b);
    const double middle = w0 + a.units / 2;
    const auto first = slope_between(x, b, -std::numeric_limits<double>::infinity(), middle);
    const auto second = slope_between(x, b, middle, std::numeric_limits<double>::infinity());
    a.first_half_per_unit = first.value_or(fit.slope);
    a.second_half_per_unit = second.value_or(fit.slope);

    const bool significant = mk.p_up < k_significance && fit.slope > 0;
    const bool large = rise > k_rise_over_noise * noise && rise > k_rise_over_level * level;
    const std::string over = units_text(a.units, options);
    const std::string halves = fmt::format("{} in the first half of the work, {} in the second",
                                           per_unit(a.first_half_per_unit, options),
                                           per_unit(a.second_half_per_unit, options));
    if (significant && large) {
        const bool slowing = a.first_half_per_unit > 0 &&
                             a.second_half_per_unit < k_steady_ratio * a.first_half_per_unit;
        const std::optional<std::string> traffic = follows_traffic(x, b, rate, noise, options);
        if (traffic) {
            a.verdict = Verdict::bounded;
            a.evidence.push_back(*traffic);
        } else if (slowing) {
            a.verdict = Verdict::bounded;
            a.evidence.push_back(fmt::format(
                "memory per {} slows down with the work done ({}): it levels off, as a cache "
                "filling up or memory following rising traffic does, rather than keeping a fixed "
                "amount per {}",
                options.unit, halves, options.unit));
        } else {
            a.verdict = Verdict::leak;
            a.evidence.push_back(fmt::format("{} retained, steady over {} ({})",
                                             per_unit(fit.slope, options), over, halves));
        }
        a.evidence.push_back(fmt::format(
            "the lowest memory in each of {} equal slices of the work rises from {} to {}: "
            "Mann-Kendall tau = {:.2f}, {}",
            a.windows, amount(b.front(), options), amount(b.back(), options), mk.tau,
            p_text(mk.p_up)));
        return a;
    }
    if (n < k_min_samples_settled) {
        a.evidence.push_back(
            fmt::format("{} samples are too few to call memory per {} flat", n, options.unit));
        return a;
    }
    a.verdict = Verdict::healthy;
    a.evidence.push_back(fmt::format(
        "memory does not grow with the work done: {} over {} ({}{})", per_unit(fit.slope, options),
        over, significant ? "a rise within the baselines' own scatter" : "not significant, ",
        significant ? std::string() : p_text(mk.p_up)));
    return a;
}

}  // namespace leakhunt::trend
