// find_suspects: site_trend per site, shares over the growing sites, ranking and sentences.
#include "trend/suspects.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "trend/stats.hpp"
#include "util/units.hpp"

namespace leakhunt::trend {
namespace {

constexpr double k_seconds_per_hour = 3600.0;

double slope_per_hour(std::span<const double> t, std::span<const double> y) {
    return theil_sen(t, y).slope * k_seconds_per_hour;
}

std::string amount(double v, std::string_view unit) {
    if (unit == "bytes") return util::format_bytes(v);
    if (unit == "goroutines")
        return util::format_count(v) + (v == 1 ? " goroutine" : " goroutines");
    return fmt::format("{:.0f} objects", v);
}

std::string rate(double per_hour, std::string_view unit) {
    const double per_minute = per_hour / 60.0;
    if (unit == "goroutines") {
        // "+310/min"; a slow one "+12/h".
        return std::fabs(per_minute) >= 1.0
                   ? util::format_count(per_minute, util::CountSign::always) + "/min"
                   : util::format_count(per_hour, util::CountSign::always) + "/h";
    }
    if (std::fabs(per_minute) >= 1.0 || unit != "bytes") {
        return unit == "bytes" ? util::format_bytes(per_minute) + "/min"
                               : fmt::format("{:.1f} objects/min", per_minute);
    }
    return util::format_bytes(per_hour) + "/h";
}

std::string sentence(const Suspect& s, std::span<const double> t_seconds, std::string_view unit) {
    const size_t n = t_seconds.size();
    const SiteTrend& t = s.trend;
    const std::string& words = s.site.key.label;
    // A goroutine group's sentences other than growth say "the group of goroutines ... holds".
    const std::string site =
        unit == "goroutines" && t.shape != SiteShape::steady_growth && t.shape != SiteShape::plateau
            ? "the group of goroutines " + words
            : words;
    switch (t.shape) {
        case SiteShape::steady_growth: {
            const auto steps = static_cast<size_t>(std::lround(t.monotone * double(n - 1)));
            const std::string how = steps == n - 1
                                        ? fmt::format("monotone over {} snapshots", n)
                                        : fmt::format("up in {} of {} intervals", steps, n - 1);
            if (s.site.instances.size() == n) {
                // "com.example.Session +41,000 instances/min (3.5 MiB/min), ..."
                const double per_min = slope_per_hour(t_seconds, s.site.instances) / 60.0;
                return fmt::format("{} {} instances/min ({}), {}: {:.0f}% of all heap growth",
                                   s.site.key.name,
                                   util::format_count(per_min, util::CountSign::always),
                                   rate(t.slope_per_hour, unit), how, 100.0 * s.share_of_growth);
            }
            if (unit == "goroutines") {
                // "1,204 goroutines blocked in chan receive in F (main.go:42), +310/min, ..."
                return fmt::format("{} {}, {}, {}: {:.0f}% of all goroutine growth",
                                   amount(t.last, unit), site, rate(t.slope_per_hour, unit), how,
                                   100.0 * s.share_of_growth);
            }
            return fmt::format("{} grows {}, {}: {:.0f}% of all heap growth", site,
                               rate(t.slope_per_hour, unit), how, 100.0 * s.share_of_growth);
        }
        case SiteShape::plateau:
            if (unit == "goroutines") {
                return fmt::format(
                    "{} {}: grew from {} and levelled off (plateau: {} over the "
                    "late snapshots)",
                    amount(t.last, unit), site, util::format_count(t.first),
                    rate(t.late_slope_per_hour, unit));
            }
            return fmt::format(
                "{} grew from {} to {} and levelled off (plateau: {} over the "
                "late snapshots): {:.0f}% of all heap growth",
                site, amount(t.first, unit), amount(t.last, unit),
                rate(t.late_slope_per_hour, unit), 100.0 * s.share_of_growth);
        case SiteShape::churn:
            return fmt::format(
                "{} goes up and down between {} and {} with no significant trend "
                "(churn)",
                site, amount(t.min, unit), amount(t.max, unit));
        case SiteShape::shrinking:
            return fmt::format("{} shrinks {}, from {} to {}", site, rate(t.slope_per_hour, unit),
                               amount(t.first, unit), amount(t.last, unit));
        case SiteShape::flat:
            return fmt::format("{} holds {}, with no trend over {} snapshots (between {} and {})",
                               site, amount(t.last, unit), n, amount(t.min, unit),
                               amount(t.max, unit));
    }
    return site;
}

}  // namespace

std::string_view shape_name(SiteShape shape) {
    switch (shape) {
        case SiteShape::steady_growth:
            return "steady growth";
        case SiteShape::plateau:
            return "plateau";
        case SiteShape::churn:
            return "churn";
        case SiteShape::shrinking:
            return "shrinking";
        case SiteShape::flat:
            return "flat";
    }
    return "flat";
}

SiteTrend site_trend(std::span<const double> t, std::span<const double> y,
                     std::span<const double> se) {
    SiteTrend r;
    const size_t n = y.size();
    r.first = y.front();
    r.last = y.back();
    r.min = *std::min_element(y.begin(), y.end());
    r.max = *std::max_element(y.begin(), y.end());
    size_t up_steps = 0;    // steps that did not go down
    size_t down_steps = 0;  // steps that did not go up
    for (size_t i = 1; i < n; ++i) {
        if (y[i] >= y[i - 1]) ++up_steps;
        if (y[i] <= y[i - 1]) ++down_steps;
    }
    r.monotone = static_cast<double>(up_steps) / static_cast<double>(n - 1);
    if (r.max == r.min) {
        r.shape = SiteShape::flat;
        return r;
    }
    r.slope_per_hour = slope_per_hour(t, y);
    r.net_growth = r.slope_per_hour * (t.back() - t.front()) / k_seconds_per_hour;
    const MannKendall mk = mann_kendall(y);
    r.tau = mk.tau;
    r.p_up = mk.p_up;
    r.p_down = mk.p_down;

    bool plateau = false;
    if (n >= 5) {
        // Early: the first 60% of the snapshots; late: the rest, sharing the boundary point.
        const size_t split = std::max<size_t>(3, (n * 3 + 4) / 5);
        const size_t late_begin = std::min(split - 1, n - 3);
        r.early_slope_per_hour = slope_per_hour(t.first(split), y.first(split));
        const auto late = y.subspan(late_begin);
        r.late_slope_per_hour = slope_per_hour(t.subspan(late_begin), late);
        // Grew, then stopped: it ended higher than it began by at least half its range, mostly
        // going up, and over the late part the trend changed it by little next to that rise,
        // nor did the late values spread over much of it (noise that happened to end high
        // spreads as wide late as early). The late change is the late trend over the late
        // part's share of the snapshots, not its wall time: snapshots bunched at the end
        // (requests, a stalled machine) must not make a steady rise look levelled off.
        const double rise = r.last - r.first;
        const double late_share = double(n - 1 - late_begin) / double(n - 1);
        const double late_change = std::fabs(r.late_slope_per_hour) * (t.back() - t.front()) *
                                   late_share / k_seconds_per_hour;
        const auto [late_min, late_max] = std::minmax_element(late.begin(), late.end());
        plateau = rise > 0 && rise >= 0.5 * (r.max - r.min) &&
                  (mk.p_up < k_suspect_significance || r.monotone >= 0.75) &&
                  late_change <= k_plateau_change_ratio * rise &&
                  *late_max - *late_min <= k_plateau_late_spread * rise;
        if (plateau && se.size() == n) {
            // Sampled: the late change is a difference of two estimates. It levelled off only if
            // it fell short of what the early trend predicts by more than their noise.
            const double late_seconds = t.back() - t[late_begin];
            const double expected = r.early_slope_per_hour * late_seconds / k_seconds_per_hour;
            const double observed = r.late_slope_per_hour * late_seconds / k_seconds_per_hour;
            const double noise = std::sqrt(se[late_begin] * se[late_begin] + se.back() * se.back());
            plateau = expected - observed > k_plateau_noise_sigmas * noise;
        }
    }
    const bool all_up = up_steps == n - 1 && r.last > r.first;
    const bool all_down = up_steps == 0;
    if (plateau) {
        r.shape = SiteShape::plateau;
        r.net_growth = r.last - r.first;  // its Theil-Sen slope understates a rise that stopped
    } else if (r.slope_per_hour > 0 &&
               ((mk.p_up < k_suspect_significance && r.monotone >= k_suspect_monotone) || all_up)) {
        r.shape = SiteShape::steady_growth;
    } else if (r.slope_per_hour < 0 &&
               ((mk.p_down < k_suspect_significance &&
                 static_cast<double>(down_steps) >= k_suspect_monotone * double(n - 1)) ||
                all_down)) {
        r.shape = SiteShape::shrinking;
    } else if (r.slope_per_hour == 0) {
        r.shape = SiteShape::flat;  // most pairs of snapshots agree: a step or a rare blip
    } else {
        r.shape = SiteShape::churn;
    }
    // Only the evidence of the test: scaling it by the monotone fraction or the late/overall
    // slope ratio (as once done) made a leak seen over 9 snapshots less certain than over 4, and
    // let a steady grower show 0. Those decide the shape; the confidence grows with evidence.
    if (r.shape == SiteShape::steady_growth) r.confidence = 1.0 - mk.p_up;
    return r;
}

SuspectReport find_suspects(std::span<const double> t_seconds, std::vector<SiteSeries> sites,
                            std::string_view unit, double whole_in_use) {
    SuspectReport report;
    report.snapshots = t_seconds.size();
    report.window_seconds = t_seconds.back() - t_seconds.front();
    std::vector<Suspect> all;
    all.reserve(sites.size());
    for (auto& site : sites) {
        Suspect s;
        s.trend = site_trend(t_seconds, site.values, site.stderr_values);
        s.site = std::move(site);
        all.push_back(std::move(s));
    }
    auto growing = [](const Suspect& s) {
        return s.trend.shape == SiteShape::steady_growth || s.trend.shape == SiteShape::plateau;
    };
    for (const auto& s : all) {
        if (growing(s)) report.total_growth += std::max(0.0, s.trend.net_growth);
    }
    for (const auto& s : all) report.in_use_last += std::max(0.0, s.site.values.back());
    const bool whole = whole_in_use > report.in_use_last;
    const double minor_base = whole ? whole_in_use : report.in_use_last;
    for (auto& s : all) {
        if (growing(s) && report.total_growth > 0) {
            s.share_of_growth = std::max(0.0, s.trend.net_growth) / report.total_growth;
        }
        s.sentence = sentence(s, t_seconds, unit);
        if (s.trend.shape != SiteShape::steady_growth) continue;
        const double growth = s.trend.net_growth;
        const double noise = s.site.stderr_values.empty() ? 0.0 : s.site.stderr_values.back();
        if (growth < k_minor_growth_of_heap * minor_base) {
            s.minor = true;
            s.sentence += fmt::format(
                "; too small to be a suspect: {} over the window, under "
                "{:g}% of the {} {}",
                amount(growth, unit), 100 * k_minor_growth_of_heap, amount(minor_base, unit),
                whole ? "the process holds (the profile sees only part of it)" : "in use");
        } else if (growth < k_minor_noise_sigmas * noise) {
            s.minor = true;
            s.sentence += fmt::format(
                "; too small to be a suspect: {} over the window, within "
                "the sampling noise (standard error {})",
                amount(growth, unit), amount(noise, unit));
        }
    }
    std::stable_sort(all.begin(), all.end(), [](const Suspect& a, const Suspect& b) {
        if (a.site.key.rank_last != b.site.key.rank_last) return b.site.key.rank_last;
        return a.trend.slope_per_hour > b.trend.slope_per_hour;
    });
    for (auto& s : all) {
        (s.trend.shape == SiteShape::steady_growth && !s.minor ? report.suspects : report.others)
            .push_back(std::move(s));
    }
    return report;
}

}  // namespace leakhunt::trend
