// The triage order of serve's index and its sparklines.
#include "server/triage.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "series/downsample.hpp"

namespace leakhunt::server {
namespace {

// A number of the row, or the given value when it is null or absent.
double number_or(const nlohmann::json& row, const char* key, double otherwise) {
    const auto it = row.find(key);
    return it != row.end() && it->is_number() ? it->get<double>() : otherwise;
}

}  // namespace

int severity_rank(const nlohmann::json& verdict) {
    if (!verdict.is_string()) return 4;
    const std::string& v = verdict.get_ref<const std::string&>();
    if (v == "leak") return 0;
    if (v == "bounded") return 1;
    if (v == "healthy") return 2;
    if (v == "inconclusive") return 3;
    return 4;
}

void sort_by_severity(nlohmann::json& rows) {
    if (!rows.is_array()) return;
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
        const int ra = severity_rank(a.value("verdict", nlohmann::json()));
        const int rb = severity_rank(b.value("verdict", nlohmann::json()));
        if (ra != rb) return ra < rb;
        const double la = number_or(a, "seconds_to_limit", inf);
        const double lb = number_or(b, "seconds_to_limit", inf);
        if (la != lb) return la < lb;
        return number_or(a, "growth_bytes_per_hour", -inf) >
               number_or(b, "growth_bytes_per_hour", -inf);
    });
}

std::vector<std::pair<double, double>> sparkline_points(std::span<const double> t,
                                                        std::span<const double> values,
                                                        size_t buckets) {
    std::vector<std::pair<double, double>> out;
    if (t.size() != values.size() || t.empty() || buckets == 0) return out;
    for (const size_t i : series::min_max_indices(t, values, buckets)) {
        if (std::isfinite(t[i]) && std::isfinite(values[i])) out.emplace_back(t[i], values[i]);
    }
    return out;
}

std::string sparkline_svg(const std::vector<std::pair<double, double>>& points, int width,
                          int height) {
    if (points.size() < 2 || width < 4 || height < 4) return {};
    double lo = points.front().second, hi = lo;
    for (const auto& [t, v] : points) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    // A wobble of a few percent must not fill the box as a leak's climb does: the scale spans at
    // least 5% of the highest value, centred on the values.
    const double least = 0.05 * std::max(std::abs(hi), std::abs(lo));
    if (hi - lo < least) {
        const double mid = (hi + lo) / 2;
        lo = mid - least / 2;
        hi = mid + least / 2;
    }
    const double t0 = points.front().first;
    const double span = points.back().first - t0;
    // One pixel of margin so that the line's stroke is not cut at the top and the bottom.
    const double w = width - 2, h = height - 2;
    std::string coords;
    for (const auto& [t, v] : points) {
        const double x = 1 + (span > 0 ? (t - t0) / span * w : 0);
        const double y = 1 + (hi > lo ? (hi - v) / (hi - lo) * h : h / 2);
        coords += fmt::format("{}{:.1f},{:.1f}", coords.empty() ? "" : " ", x, y);
    }
    return fmt::format(
        "<svg class=\"sparkline\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "role=\"img\" aria-label=\"RSS over time\"><polyline fill=\"none\" stroke=\"#c0392b\" "
        "stroke-width=\"1.5\" points=\"{2}\"/></svg>",
        width, height, coords);
}

}  // namespace leakhunt::server
