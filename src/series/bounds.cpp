// The bounds of a memory series (see bounds.hpp).
#include "series/bounds.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "series/series.hpp"
#include "util/units.hpp"

namespace leakhunt::series {
namespace {

constexpr std::string_view k_known[] = {k_rss, k_pss,     k_anon,         k_heap_inuse,
                                        k_fds, k_threads, k_cgroup_usage, k_cgroup_limit};

bool is_bytes(std::string_view column) {
    return column.ends_with("_bytes");
}

// How to turn an absolute time that is too large into Unix seconds.
std::string unix_unit_hint(double t) {
    if (t >= 1e17) return "if it is Unix nanoseconds, divide it by 1e9";
    if (t >= 1e14) return "if it is Unix microseconds, divide it by 1e6";
    if (t >= 1e11) return "if it is Unix milliseconds, divide it by 1000";
    return "check how the file was produced";
}

constexpr std::string_view k_relative_hint =
    "if the column holds milliseconds, microseconds or nanoseconds, divide it by 1e3, 1e6 or "
    "1e9; Unix times go in a timestamp column";

}  // namespace

bool is_known_column(std::string_view name) {
    return std::find(std::begin(k_known), std::end(k_known), name) != std::end(k_known);
}

std::optional<std::string> value_problem(std::string_view column, double value,
                                         std::string_view shown_as) {
    if (std::isnan(value) || !is_known_column(column)) return std::nullopt;
    const std::string_view name = shown_as.empty() ? column : shown_as;
    const std::string_view what = is_bytes(column) ? "a memory size" : "a count";
    if (std::isinf(value)) {
        return fmt::format("{} is infinite; {} cannot be (check how the file was produced)", name,
                           what);
    }
    if (value < 0) {
        return fmt::format("{} is negative ({}); {} cannot be (check how the file was produced)",
                           name, value, what);
    }
    if (value > k_max_value) {
        return fmt::format(
            "{} is {}, more than 2^60{}; {} cannot be (check the column's unit and "
            "how the file was produced)",
            name, value, is_bytes(column) ? " bytes (1 EiB)" : "", what);
    }
    return std::nullopt;
}

std::optional<std::string> time_problem(std::string_view column, double t, TimeKind kind) {
    if (!std::isfinite(t)) return fmt::format("{} is not a finite time ({})", column, t);
    if (kind == TimeKind::absolute) {
        if (t < 0) {
            return fmt::format(
                "{} {} is before 1970 (Unix time 0); a memory series cannot be "
                "(check how the file was produced)",
                column, t);
        }
        if (t > k_max_unix_s) {
            return fmt::format("{} {} is not Unix seconds: it would be after the year 2286 ({})",
                               column, t, unix_unit_hint(t));
        }
        return std::nullopt;
    }
    if (std::fabs(t) > k_max_relative_s) {
        return fmt::format(
            "{} is {}, more than 1e10 s (317 years) from 0: not a time in seconds "
            "({})",
            column, t, k_relative_hint);
    }
    return std::nullopt;
}

std::optional<std::string> span_problem(std::string_view column, double first, double t) {
    if (!(t - first > k_max_span_s)) return std::nullopt;
    return fmt::format(
        "{} is {:.0f} years after the first row's; a memory series spans less "
        "than 100 years, so the column is not in seconds ({})",
        column, (t - first) / (365.25 * 86400), k_relative_hint);
}

std::optional<std::string> step_warning(std::string_view where, std::string_view column,
                                        std::span<const double> t, TimeKind kind) {
    if (t.size() < 3) return std::nullopt;
    std::vector<double> steps;
    steps.reserve(t.size() - 1);
    for (size_t i = 1; i < t.size(); ++i) steps.push_back(t[i] - t[i - 1]);
    const auto mid = steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2);
    std::nth_element(steps.begin(), mid, steps.end());
    const double step = *mid;
    if (step < k_min_plausible_step_s) {
        return fmt::format(
            "{}: the rows are only {} s apart (median): memory is not sampled "
            "that often, so {} is probably not in seconds (convert it to "
            "seconds, or the growth per hour will be far off)",
            where, step, column);
    }
    if (kind == TimeKind::relative && step >= k_max_plausible_relative_step_s) {
        return fmt::format(
            "{}: {} advances by {} per row (median), {} between samples; if it is "
            "in milliseconds, divide it by 1000 ({} is in seconds)",
            where, column, step, util::format_duration(step), column);
    }
    return std::nullopt;
}

}  // namespace leakhunt::series
