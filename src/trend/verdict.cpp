// assess(): restarts, segments, limit projection and the minimum rate on top of the segment
// verdicts of segment.cpp.
#include "trend/verdict.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "trend/segment.hpp"
#include "util/units.hpp"

namespace leakhunt::trend {

using detail::format_amount;
using detail::format_growth;

std::string_view to_string(Verdict v) {
    switch (v) {
        case Verdict::leak:
            return "leak";
        case Verdict::bounded:
            return "bounded";
        case Verdict::healthy:
            return "healthy";
        case Verdict::inconclusive:
            return "inconclusive";
    }
    return "inconclusive";
}

namespace {
// A restart's drop leaves at most this fraction of the lifetime's rise above its lowest level.
constexpr double k_restart_return = 0.25;
}  // namespace

std::vector<size_t> detect_restarts(std::span<const double> t, std::span<const double> v) {
    std::vector<size_t> out;
    size_t seg_start = 0;
    for (size_t i = 1; i < v.size(); ++i) {
        const double before = v[i - 1], after = v[i];
        if (!(after <= 0.5 * before) || before <= 0) continue;
        const double mid = 0.5 * (before + after);
        // The stretch above the midpoint that ends at the drop.
        size_t a = i - 1;
        while (a > seg_start && v[a - 1] > mid) --a;
        const size_t stretch = i - a;
        if (stretch < 5) continue;  // a momentary spike
        // A ramp rises inside the stretch; a spike or a batch is a plateau.
        const double first = std::min(v[a], a + 1 < i ? v[a + 1] : v[a]);
        if (before - first < 0.25 * (before - after)) continue;
        // A restart follows a lifetime spent mostly climbing, not one spent at the floor.
        const double quarter = after + 0.25 * (before - after);
        double low_time = 0;
        for (size_t j = seg_start + 1; j < i; ++j) {
            if (v[j] <= quarter) low_time += t[j] - t[j - 1];
        }
        const double life = t[i - 1] - t[seg_start];
        if (life <= 0 || low_time > 0.5 * life) continue;
        // A new process starts where the old one began: the drop undoes nearly all of the
        // lifetime's rise above its lowest level.
        const double floor = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(seg_start),
                                               v.begin() + static_cast<std::ptrdiff_t>(i));
        if (after - floor > k_restart_return * (before - floor)) continue;
        out.push_back(i);
        seg_start = i;
    }
    return out;
}

namespace {

std::vector<size_t> merge_restarts(std::span<const double> t, std::span<const double> v,
                                   std::span<const double> known, Options::Instances instances) {
    std::vector<size_t> idx;
    if (instances == Options::Instances::unknown) idx = detect_restarts(t, v);
    for (double k : known) {
        auto it = std::lower_bound(t.begin(), t.end(), k);
        if (it == t.begin() || it == t.end()) continue;
        idx.push_back(static_cast<size_t>(it - t.begin()));
    }
    std::sort(idx.begin(), idx.end());
    idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
    return idx;
}

void copy_segment(Assessment& a, const detail::SegmentResult& s) {
    a.verdict = s.verdict;
    a.growth_bytes_per_hour = s.slope_per_s * 3600;
    a.confidence = s.confidence;
    a.p_value = s.p_value;
    a.watch_more_s = s.watch_more_s;
    a.period_s = s.period_s;
    a.baseline_fit = s.fit;
    a.fit_from_s = s.fit_from_s;
    a.fit_to_s = s.fit_to_s;
    a.evidence.insert(a.evidence.end(), s.evidence.begin(), s.evidence.end());
}

}  // namespace

Assessment assess(std::span<const double> t, std::span<const double> v, const Options& options,
                  std::span<const double> known_restarts) {
    Assessment a;
    a.samples = t.size();
    a.span_s = t.size() > 1 ? t.back() - t.front() : 0.0;
    const std::vector<size_t> cuts = merge_restarts(t, v, known_restarts, options.instances);
    for (size_t c : cuts) a.restarts_s.push_back(t[c]);

    if (cuts.empty()) {
        copy_segment(a, detail::analyze_segment(t, v, options));
    } else {
        a.flags.emplace_back("restarts");
        std::vector<size_t> bounds{0};
        bounds.insert(bounds.end(), cuts.begin(), cuts.end());
        bounds.push_back(t.size());
        std::vector<detail::SegmentResult> segs;
        std::vector<double> leak_slopes, peaks;
        for (size_t s = 0; s + 1 < bounds.size(); ++s) {
            const size_t from = bounds[s], to = bounds[s + 1];
            segs.push_back(detail::analyze_segment(t.subspan(from, to - from),
                                                   v.subspan(from, to - from), options));
            if (segs.back().verdict == Verdict::leak)
                leak_slopes.push_back(segs.back().slope_per_s);
            if (s + 2 < bounds.size()) peaks.push_back(segs.back().peak);
        }
        size_t judged = 0;
        for (const auto& s : segs) judged += s.verdict == Verdict::inconclusive ? 0 : 1;
        const detail::SegmentResult& last = segs.back();
        if (!leak_slopes.empty() && 2 * leak_slopes.size() >= judged) {
            // Judge by the lifetimes that leaked; report the typical rate among them.
            const auto& model = last.verdict == Verdict::leak
                                    ? last
                                    : *std::find_if(segs.rbegin(), segs.rend(), [](const auto& s) {
                                          return s.verdict == Verdict::leak;
                                      });
            copy_segment(a, model);
            a.verdict = Verdict::leak;
            a.growth_bytes_per_hour = median(leak_slopes) * 3600;
            a.evidence.insert(a.evidence.begin(),
                              fmt::format("{} of {} process lifetimes between restarts leaked",
                                          leak_slopes.size(), segs.size()));
        } else {
            copy_segment(a, last.verdict == Verdict::inconclusive && segs.size() > 1
                                ? segs[segs.size() - 2]
                                : last);
        }
        std::vector<double> gaps;
        for (size_t i = 0; i < a.restarts_s.size(); ++i) {
            gaps.push_back(a.restarts_s[i] - (i == 0 ? t.front() : a.restarts_s[i - 1]));
        }
        std::string when;
        for (size_t i = 0; i < a.restarts_s.size() && i < 5; ++i) {
            when += (i ? ", " : "") + util::format_duration(a.restarts_s[i] - t.front());
        }
        if (a.restarts_s.size() > 5) when += ", ...";
        std::string sentence = fmt::format("restarted {} time{} (at {}), every {} on average",
                                           a.restarts_s.size(), a.restarts_s.size() == 1 ? "" : "s",
                                           when, util::format_duration(median(gaps)));
        if (peaks.size() >= 2) {
            const double lo = *std::min_element(peaks.begin(), peaks.end());
            const double hi = *std::max_element(peaks.begin(), peaks.end());
            if (hi <= 1.15 * lo) {
                sentence += fmt::format(
                    ", each time after reaching about {} (a limit being hit: "
                    "an OOM kill?)",
                    format_amount(median(peaks), options));
            }
        }
        a.evidence.push_back(sentence);
    }

    if (a.verdict == Verdict::leak && a.growth_bytes_per_hour < options.min_rate_bytes_per_hour) {
        a.verdict = Verdict::healthy;
        a.evidence.push_back(fmt::format("grows {}, below the --min-rate of {}: not reported",
                                         format_growth(a.growth_bytes_per_hour, options),
                                         format_growth(options.min_rate_bytes_per_hour, options)));
    }

    if (a.verdict == Verdict::leak && options.limit_bytes && a.growth_bytes_per_hour > 0 &&
        !t.empty()) {
        const size_t tail = std::max<size_t>(1, t.size() / 20);
        const double high = *std::max_element(v.end() - static_cast<std::ptrdiff_t>(tail), v.end());
        const double left = *options.limit_bytes - high;
        const double eta = std::max(0.0, left / (a.growth_bytes_per_hour / 3600));
        a.projected_limit_at_s = t.back() + eta;
        if (left <= 0) {
            a.evidence.push_back(fmt::format("it is already at its limit of {}",
                                             format_amount(*options.limit_bytes, options)));
        } else {
            a.evidence.push_back(
                fmt::format("at this rate it reaches its limit of {} in {} (now up to {})",
                            format_amount(*options.limit_bytes, options),
                            util::format_duration(eta), format_amount(high, options)));
        }
    }
    return a;
}

}  // namespace leakhunt::trend
