// One segment's verdict: see the outline in verdict.hpp.
#include "trend/segment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "util/units.hpp"

namespace leakhunt::trend::detail {
namespace {

// Significance level of the baseline trend. Strict, because `watch` and `--replay` ask the same
// question hundreds of times over a series and a healthy series must never be called a leak.
constexpr double k_alpha = 1e-3;
// A leak's total baseline rise must exceed this many baseline noise sigmas...
constexpr double k_min_rise_sigmas = 4.0;
// ...and this fraction of the baseline level (page-sized wobble of a big process is not a leak).
constexpr double k_min_rise_fraction = 0.02;
// Compared one period back (few cycles seen), the total rise must exceed this fraction.
constexpr double k_min_lag_rise_fraction = 0.05;
// Growth in the second half below this fraction of the first half's: it is levelling off.
constexpr double k_slowing_ratio = 0.4;
// A healthy verdict needs the baseline trend to be at least this far from significant.
constexpr double k_hint_alpha = 0.01;
// A baseline noisier than this fraction of its level cannot be called flat.
constexpr double k_max_flat_noise = 0.05;
// Patience: see patience_samples().
constexpr size_t k_patience = 400;
constexpr double k_patience_rise = 0.5;
// A cycle moves memory by more than this fraction of its level (about 4500 times the rounding
// error of a double: what a straight line leaves after detrending).
constexpr double k_min_cycle_fraction = 1e-12;
// At most this many time bins (keeps every step O(bins^2) small).
constexpr size_t k_max_bins = 480;

struct Bins {
    std::vector<double> t, lo, mean, hi;
};

// Reduces samples to equal-width time bins; empty bins are dropped.
Bins make_bins(std::span<const double> t, std::span<const double> v) {
    const size_t n = t.size();
    const size_t m = std::min(n, k_max_bins);
    const double t0 = t.front();
    const double width = (t.back() - t0) / static_cast<double>(m);
    std::vector<double> lo(m, std::numeric_limits<double>::infinity());
    std::vector<double> hi(m, -std::numeric_limits<double>::infinity());
    std::vector<double> sum(m, 0.0), tsum(m, 0.0);
    std::vector<size_t> count(m, 0);
    for (size_t i = 0; i < n; ++i) {
        size_t b = width > 0 ? static_cast<size_t>((t[i] - t0) / width) : 0;
        b = std::min(b, m - 1);
        lo[b] = std::min(lo[b], v[i]);
        hi[b] = std::max(hi[b], v[i]);
        // Sums of offsets from the first sample: summing thousands of values near 2^60 directly
        // would lose bytes to rounding, and the rounding pattern would pass for a cycle.
        sum[b] += v[i] - v.front();
        tsum[b] += t[i] - t0;
        ++count[b];
    }
    Bins bins;
    for (size_t b = 0; b < m; ++b) {
        if (count[b] == 0) continue;
        const auto c = static_cast<double>(count[b]);
        bins.t.push_back(t0 + tsum[b] / c);
        bins.lo.push_back(lo[b]);
        bins.mean.push_back(v.front() + sum[b] / c);
        bins.hi.push_back(hi[b]);
    }
    return bins;
}

struct Baseline {
    std::vector<double> t, v;
    size_t bins_per_window = 1;
};

// The low point of each window of `per` consecutive bins. The true minimum: a GC sawtooth's
// trough is often a single sample, and RSS readings do not glitch downwards.
Baseline make_baseline(const Bins& bins, size_t per) {
    Baseline b;
    b.bins_per_window = per;
    const size_t nb = bins.t.size();
    for (size_t start = 0; start + per <= nb || (start < nb && b.t.empty()); start += per) {
        size_t end = std::min(nb, start + per);
        std::vector<double> lows(bins.lo.begin() + static_cast<std::ptrdiff_t>(start),
                                 bins.lo.begin() + static_cast<std::ptrdiff_t>(end));
        std::partial_sort(lows.begin(), lows.begin() + 1, lows.end());
        double tsum = 0;
        for (size_t i = start; i < end; ++i) tsum += bins.t[i];
        b.t.push_back(tsum / static_cast<double>(end - start));
        b.v.push_back(lows[0]);
    }
    return b;
}

std::vector<double> running_median3(const std::vector<double>& v) {
    std::vector<double> out(v);
    for (size_t i = 1; i + 1 < v.size(); ++i) {
        double a = v[i - 1], b = v[i], c = v[i + 1];
        out[i] = std::max(std::min(a, b), std::min(std::max(a, b), c));
    }
    return out;
}

// Largest fall of the (smoothed) baseline from an earlier high to a later low.
double max_drawdown(const std::vector<double>& v) {
    double peak = -std::numeric_limits<double>::infinity();
    double dd = 0;
    for (double x : v) {
        peak = std::max(peak, x);
        dd = std::max(dd, peak - x);
    }
    return dd;
}

Line fit_part(const Baseline& b, size_t from, size_t to) {
    std::span<const double> ts(b.t), vs(b.v);
    return theil_sen(ts.subspan(from, to - from), vs.subspan(from, to - from));
}

}  // namespace

size_t patience_samples(double relative_rise) {
    // The rising half of a cycle longer than the data (a daily traffic cycle, the first ramp of a
    // GC sawtooth) looks like a leak until the cycle turns. Such cycles move memory by tens of
    // percent, so a rise below k_patience_rise needs k_patience samples; a larger rise needs
    // fewer, falling with its square: memory that doubled is a leak after about a quarter.
    if (relative_rise <= k_patience_rise) return k_patience;
    const double scale = k_patience_rise / relative_rise;
    const auto n = static_cast<size_t>(static_cast<double>(k_patience) * scale * scale);
    return std::max(n, k_min_samples_leak);
}

namespace {

// How the baseline's growth in the second half compares with the first, in words that say what
// the two numbers say (a leak's second half grows at least k_slowing_ratio as fast).
std::string growth_change_text(double first_per_s, double second_per_s, const Options& options) {
    const std::string rates = fmt::format("{} in the first half, {} in the second",
                                          format_growth(first_per_s * 3600, options),
                                          format_growth(second_per_s * 3600, options));
    if (first_per_s <= 0) return fmt::format("growth began in the second half: {}", rates);
    const double change = second_per_s / first_per_s - 1;
    if (std::fabs(change) < 0.1) return fmt::format("growth is steady: {}", rates);
    if (change > 0) return fmt::format("growth sped up by {:.0f}%: {}", 100 * change, rates);
    const double ratio = second_per_s / first_per_s;
    return fmt::format(
        "growth slowed by {:.0f}% ({}), {} levelling off (that needs a second half "
        "under {:.0f}% of the first half's rate)",
        -100 * change, rates, ratio >= 0.6 ? "still far from" : "but is not yet",
        100 * k_slowing_ratio);
}

std::string p_text(double p) {
    if (p < 1e-6) return "p < 1e-6";
    if (p < 0.001) return fmt::format("p = {:.1e}", p);
    return fmt::format("p = {:.3f}", p);
}

}  // namespace

std::string format_amount(double value, const Options& options) {
    if (options.bytes) return util::format_bytes(value);
    return fmt::format("{:.0f} {}", value, options.what);
}

std::string format_growth(double per_hour, const Options& options) {
    if (options.bytes) return util::format_rate(per_hour);
    return fmt::format("{:+.1f} {}/h", per_hour, options.what);
}

SegmentResult analyze_segment(std::span<const double> t, std::span<const double> v,
                              const Options& options) {
    SegmentResult r;
    const size_t n = t.size();
    const double span = n > 1 ? t.back() - t.front() : 0.0;
    const double dt = n > 1 ? span / static_cast<double>(n - 1) : 0.0;
    if (n > 0) r.peak = *std::max_element(v.begin(), v.end());
    if (n < k_min_samples_leak || span <= 0) {
        r.watch_more_s = dt > 0 ? dt * static_cast<double>(k_min_samples_settled - n) : 0.0;
        r.evidence.push_back(
            fmt::format("only {} samples: at least {} are needed before anything can be said", n,
                        k_min_samples_leak));
        return r;
    }

    const Bins bins = make_bins(t, v);
    const size_t nb = bins.t.size();
    const double bin_width = span / static_cast<double>(nb);

    // Period of the detrended bin means.
    std::optional<size_t> period_bins;
    {
        // Theil-Sen on at most ~96 evenly spread bins: the detrending needs no more precision.
        const size_t stride = std::max<size_t>(1, nb / 96);
        std::vector<double> st, sl;
        for (size_t i = 0; i < nb; i += stride) {
            st.push_back(bins.t[i]);
            sl.push_back(bins.lo[i]);
        }
        Line trend = theil_sen(st, sl);
        std::vector<double> detrended(nb);
        for (size_t i = 0; i < nb; ++i) detrended[i] = bins.mean[i] - trend.at(bins.t[i]);
        // What is left of a straight line is rounding, which has patterns of its own: a cycle
        // must move memory by more than k_min_cycle_fraction of its level.
        const auto [lo, hi] = std::minmax_element(detrended.begin(), detrended.end());
        const double scale = std::max(std::fabs(bins.mean.front()), std::fabs(bins.mean.back()));
        size_t found = 0;
        if (*hi - *lo > k_min_cycle_fraction * scale) {
            found = estimate_period(detrended).value_or(0);
        }
        // A cycle faster than a bin leaves whole cycles in every bin, and the part of a cycle
        // left over makes the bin means beat slowly: an alias, not a cycle of its own (a 1000 s
        // sawtooth in 5.8 h bins read as "a cycle of 39d1h"). A real cycle moves the bin means
        // by more than memory moves within a typical bin.
        if (found != 0) {
            std::vector<double> in_bin(nb);
            for (size_t i = 0; i < nb; ++i) in_bin[i] = bins.hi[i] - bins.lo[i];
            const double swing = quantile(detrended, 0.95) - quantile(detrended, 0.05);
            if (swing < median(in_bin)) found = 0;
        }
        if (found != 0) period_bins = found;
    }
    const double cycles =
        period_bins ? static_cast<double>(nb) / static_cast<double>(*period_bins) : 0.0;
    if (period_bins) r.period_s = static_cast<double>(*period_bins) * bin_width;

    // Baseline windows: one per cycle when there are many cycles, else a fixed share of the series.
    size_t per = 0;
    if (period_bins && cycles >= 8) {
        per = *period_bins * static_cast<size_t>(std::ceil(cycles / 48.0));
    } else {
        size_t windows = std::clamp<size_t>(nb / 4, 8, 32);
        per = std::max<size_t>(1, nb / windows);
    }
    const Baseline base = make_baseline(bins, per);
    const size_t k = base.t.size();
    const Line fit = theil_sen(std::span<const double>(base.t), std::span<const double>(base.v));
    const MannKendall mk = mann_kendall(base.v);
    std::vector<double> resid(k);
    for (size_t i = 0; i < k; ++i) resid[i] = base.v[i] - fit.at(base.t[i]);
    const double noise = mad_sigma(resid);
    const double level = median(base.v);
    const double base_span = base.t.back() - base.t.front();
    const double rise = fit.slope * base_span;
    r.level = level;
    r.fit = fit;
    r.fit_from_s = t.front();
    r.fit_to_s = t.back();
    r.slope_per_s = fit.slope;
    r.p_value = mk.p_up;
    {
        const size_t tail = std::max<size_t>(1, n / 20);
        r.recent_high = *std::max_element(v.end() - static_cast<std::ptrdiff_t>(tail), v.end());
    }

    const std::string over = util::format_duration(span);
    const std::string window_word =
        (period_bins && cycles >= 8)
            ? fmt::format("cycle (every {})", util::format_duration(*r.period_s))
            : fmt::format("of {} windows", k);
    const std::string base_text =
        fmt::format("baseline (the lowest {} in each {}) went from {} to {} over {}", options.what,
                    window_word, format_amount(fit.at(base.t.front()), options),
                    format_amount(fit.at(base.t.back()), options), over);

    const double relative_rise = level > 0 ? rise / level : 0.0;
    const size_t patience = patience_samples(relative_rise);
    const bool significant = k >= 8 && mk.p_up < k_alpha && rise > k_min_rise_sigmas * noise &&
                             rise > k_min_rise_fraction * std::fabs(level);
    // Many cycles seen (a GC sawtooth, batches), each window one cycle: the baseline rose across
    // at least 8 whole cycles, which the rising half of one cycle cannot do. The evidence is in
    // cycles, not samples: a fast sampling rate does not make it wait longer.
    const bool rose_across_cycles = period_bins && cycles >= 8 && k >= 8;
    const bool patient_enough = n >= patience || rose_across_cycles;

    // A slow cycle seen only a few times: compare the series with itself one period earlier.
    if (period_bins && cycles < 8) {
        const size_t p = *period_bins;
        // Each bin against the same phase one cycle earlier, on the floor of the cycle ending at
        // that bin (the lowest point of the last period): spikes and sawtooth peaks don't move a
        // floor, memory kept between them does, so a tiny leak under big batches shows as a
        // floor that every cycle is higher than the last.
        std::vector<double> floor(nb);
        for (size_t i = 0; i < nb; ++i) {
            const size_t from = i + 1 >= p ? i + 1 - p : 0;
            floor[i] = *std::min_element(bins.lo.begin() + static_cast<std::ptrdiff_t>(from),
                                         bins.lo.begin() + static_cast<std::ptrdiff_t>(i + 1));
        }
        std::vector<double> d;
        for (size_t i = 2 * p - 1; i < nb; ++i) d.push_back(floor[i] - floor[i - p]);
        const double shift = median(d);
        std::vector<double> chunk_medians;
        const size_t chunks = std::min<size_t>(8, d.size());
        for (size_t c = 0; c < chunks; ++c) {
            size_t a = c * d.size() / chunks, b = (c + 1) * d.size() / chunks;
            chunk_medians.push_back(median(std::span<const double>(d).subspan(a, b - a)));
        }
        size_t positive = 0;
        for (double c : chunk_medians) positive += c > 0 ? 1 : 0;
        const double period_s = *r.period_s;
        const double slope = shift / period_s;
        r.slope_per_s = slope;
        r.fit = Line{slope, fit.at(t.front()) - slope * t.front()};
        const double amplitude = quantile(bins.mean, 0.95) - quantile(bins.mean, 0.05);
        const double lag_rise = level > 0 ? shift * cycles / level : 0.0;
        const bool lag_growth =
            chunks >= 4 && positive == chunks && lag_rise > k_min_lag_rise_fraction;
        const bool lag_leak = lag_growth && n >= patience_samples(lag_rise);
        r.evidence.push_back(fmt::format(
            "memory follows a cycle of {} ({:.1f} cycles seen, {} from low to high)",
            util::format_duration(period_s), cycles, format_amount(amplitude, options)));
        r.evidence.push_back(
            fmt::format("compared with one cycle earlier, {} is {} {} ({} of {} stretches higher)",
                        options.what, format_amount(std::fabs(shift), options),
                        shift >= 0 ? "higher" : "lower", positive, chunks));
        if (lag_leak) {
            r.verdict = Verdict::leak;
            r.p_value = std::pow(0.5, static_cast<double>(chunks));
            r.confidence = std::min(1.0, 0.5 + 0.5 * std::min(1.0, cycles / 4.0));
            r.evidence.push_back(
                fmt::format("each cycle starts higher than the last: {} per cycle, {}",
                            format_amount(shift, options), format_growth(slope * 3600, options)));
        } else if (lag_growth) {
            r.verdict = Verdict::inconclusive;
            r.watch_more_s = dt * static_cast<double>(patience_samples(lag_rise) - n);
            r.evidence.push_back(fmt::format(
                "each cycle starts higher, but a rise of {:.0f}% needs {} samples before it can "
                "be told from a slower cycle; {} so far",
                100 * lag_rise, patience_samples(lag_rise), n));
        } else if (n < k_min_samples_settled) {
            r.verdict = Verdict::inconclusive;
            r.watch_more_s = dt * static_cast<double>(k_min_samples_settled - n);
        } else if (positive == chunks && shift > 0) {
            // Every stretch is higher than a cycle before, but by too little to count yet.
            r.verdict = Verdict::inconclusive;
            r.watch_more_s = period_s;
            r.evidence.push_back("every cycle starts a little higher; another cycle will tell");
        } else {
            r.verdict = Verdict::healthy;
            r.confidence = std::min(1.0, 0.4 + 0.2 * cycles);
            r.evidence.push_back("the cycle comes back to the same level: no growth underneath");
        }
        return r;
    }

    if (period_bins && cycles >= 8) {
        r.evidence.push_back(fmt::format("memory moves in cycles of {} ({:.0f} cycles seen)",
                                         util::format_duration(*r.period_s), cycles));
    }

    if (significant && !patient_enough) {
        r.verdict = Verdict::inconclusive;
        r.watch_more_s = dt * static_cast<double>(patience - n);
        r.evidence.push_back(base_text);
        r.evidence.push_back(fmt::format(
            "a rise of {:.0f}% needs {} samples before it can be told from one half of a cycle; "
            "{} so far",
            100 * relative_rise, patience, n));
        return r;
    }
    if (significant) {
        // Undone by a later fall? Then this rise may be one half of a cycle.
        const double dd = max_drawdown(running_median3(base.v));
        if (dd > 0.5 * rise) {
            r.verdict = Verdict::inconclusive;
            r.watch_more_s = span;
            r.evidence.push_back(base_text);
            r.evidence.push_back(fmt::format(
                "but it also fell by {} on the way: a cycle longer than the data can't be told "
                "from a leak yet",
                format_amount(dd, options)));
            return r;
        }
        // Slowing down? Compare the growth of the two halves of the baseline.
        const size_t half = k / 2;
        const Line first = fit_part(base, 0, half);
        const Line second = fit_part(base, half, k);
        const bool slowing = first.slope > 0 && second.slope < k_slowing_ratio * first.slope;
        if (slowing) {
            // When did it level off: the first window within 10% of the final level.
            const double final_level = median(std::span<const double>(base.v).subspan(half));
            const double start_level = base.v.front();
            double off_at = base.t.back();
            for (size_t i = 0; i < k; ++i) {
                if (base.v[i] >= final_level - 0.1 * (final_level - start_level)) {
                    off_at = base.t[i];
                    break;
                }
            }
            r.verdict = Verdict::bounded;
            r.slope_per_s = second.slope;
            r.confidence = std::clamp(1.0 - second.slope / first.slope, 0.0, 1.0) *
                           std::min(1.0, static_cast<double>(k) / 16.0);
            r.evidence.push_back(fmt::format(
                "{} grew by {} until about {}, then levelled off near {}", options.what,
                format_amount(final_level - start_level, options),
                util::format_duration(off_at - t.front()), format_amount(final_level, options)));
            r.evidence.push_back(
                fmt::format("growth slowed from {} in the first half to {} in the second",
                            format_growth(first.slope * 3600, options),
                            format_growth(second.slope * 3600, options)));
            return r;
        }
        r.verdict = Verdict::leak;
        const double effect = std::min(1.0, rise / (2 * k_min_rise_sigmas * std::max(noise, 1e-9)));
        r.confidence = std::clamp((1.0 - mk.p_up) * (0.5 + 0.5 * effect) *
                                      (0.6 + 0.4 * std::min(1.0, static_cast<double>(k) / 24.0)),
                                  0.0, 1.0);
        r.evidence.push_back(base_text);
        r.evidence.push_back(
            fmt::format("the rise is steady: Mann-Kendall tau = {:.2f}, {} over {} windows; "
                        "{} of rise against {} of noise",
                        mk.tau, p_text(mk.p_up), k, format_amount(rise, options),
                        format_amount(noise, options)));
        r.evidence.push_back(growth_change_text(first.slope, second.slope, options));
        return r;
    }

    // Not a significant rise. Warm-up that stopped early is bounded; flat is healthy.
    if (n < k_min_samples_settled || k < 8) {
        r.watch_more_s =
            dt * static_cast<double>(k_min_samples_settled - std::min(n, k_min_samples_settled));
        if (r.watch_more_s && *r.watch_more_s <= 0) r.watch_more_s = span;
        r.evidence.push_back(base_text);
        r.evidence.push_back(
            fmt::format("{} samples over {} are too few to call it flat", n, over));
        return r;
    }
    const double early = std::min(base.v[0], base.v[1]);
    const double late = median(std::span<const double>(base.v).subspan(k / 2));
    const double grown = late - early;
    size_t reached = k;
    for (size_t i = 0; i < k; ++i) {
        if (base.v[i] >= early + 0.9 * grown) {
            reached = i;
            break;
        }
    }
    if (grown > 2 * k_min_rise_sigmas * noise && grown > 5 * k_min_rise_fraction * level &&
        reached >= 2 && reached < k / 2) {
        r.verdict = Verdict::bounded;
        r.slope_per_s = fit_part(base, k / 2, k).slope;
        r.confidence = std::min(1.0, static_cast<double>(k - reached) / static_cast<double>(k));
        r.evidence.push_back(fmt::format("{} warmed up by {} in the first {}, then stayed near {}",
                                         options.what, format_amount(grown, options),
                                         util::format_duration(base.t[reached] - t.front()),
                                         format_amount(late, options)));
        return r;
    }
    if (mk.p_up < k_hint_alpha && fit.slope > 0) {
        // Not enough for a leak, too much for flat.
        r.verdict = Verdict::inconclusive;
        r.watch_more_s = span;
        r.evidence.push_back(base_text);
        r.evidence.push_back(
            fmt::format("it may be growing ({}), but not yet clearly enough to call it a leak",
                        p_text(mk.p_up)));
        return r;
    }
    if (noise > k_max_flat_noise * std::fabs(level)) {
        // Windows shorter than an undetected cycle follow its ramps: such a baseline cannot
        // show that memory is flat.
        r.verdict = Verdict::inconclusive;
        r.watch_more_s = span;
        r.evidence.push_back(base_text);
        r.evidence.push_back(fmt::format(
            "the baseline swings by {} ({:.0f}% of its level): too much to call it flat yet",
            format_amount(noise, options), 100 * noise / std::fabs(level)));
        return r;
    }
    r.verdict = Verdict::healthy;
    r.confidence = std::clamp(
        (1.0 - std::min(1.0, std::fabs(mk.tau))) * std::min(1.0, static_cast<double>(n) / 200.0),
        0.0, 1.0);
    r.evidence.push_back(fmt::format("baseline is flat: {} over {} ({}, not significant)",
                                     format_growth(fit.slope * 3600, options), over,
                                     p_text(mk.p_up)));
    const double high = quantile(bins.hi, 0.99);
    const double spread = high - level;
    if (spread > 10 * std::max(noise, 1.0) && spread > 0.2 * level) {
        r.evidence.push_back(fmt::format("memory rises up to {} at times and comes back to {}",
                                         format_amount(high, options),
                                         format_amount(level, options)));
    }
    return r;
}

}  // namespace leakhunt::trend::detail
