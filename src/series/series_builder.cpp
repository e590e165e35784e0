// The rules shared by the CSV and JSON-lines readers (see series_builder.hpp).
#include "series/series_builder.hpp"

#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "series/timestamp.hpp"
#include "util/error.hpp"

namespace leakhunt::series {

std::string describe_time(double t, TimeKind kind) {
    if (kind == TimeKind::absolute) return format_rfc3339(t);
    return fmt::format("{} s", t);
}

SeriesBuilder::SeriesBuilder(std::string source) : m_source(std::move(source)) {
    m_display = std::filesystem::path(m_source).filename().string();
    if (m_display.empty()) m_display = m_source;
    m_rss = column(k_rss);
}

size_t SeriesBuilder::column(std::string_view name) {
    for (size_t i = 0; i < m_columns.size(); ++i) {
        if (m_columns[i] == name) return i;
    }
    m_columns.emplace_back(name);
    for (auto& g : m_groups) add_column_to(g, m_columns.size());
    return m_columns.size() - 1;
}

void SeriesBuilder::add_column_to(Group& g, size_t count) const {
    while (g.values.size() < count) {
        g.values.emplace_back(g.series.t.size(), std::numeric_limits<double>::quiet_NaN());
    }
}

SeriesBuilder::Group& SeriesBuilder::group(std::string_view target) {
    if (m_last_group < m_groups.size() && m_groups[m_last_group].target == target) {
        return m_groups[m_last_group];
    }
    const auto it = m_group_index.find(std::string(target));
    if (it != m_group_index.end()) {
        m_last_group = it->second;
        return m_groups[it->second];
    }
    Group g;
    g.target = std::string(target);
    g.series.name = target.empty() ? m_display : fmt::format("{}:{}", m_display, target);
    if (!target.empty()) g.series.labels.emplace("target", target);
    add_column_to(g, m_columns.size());
    m_groups.push_back(std::move(g));
    m_last_group = m_groups.size() - 1;
    m_group_index.emplace(std::string(target), m_last_group);
    return m_groups.back();
}

void SeriesBuilder::add_row(size_t line, std::string_view time_column, double t, TimeKind kind,
                            std::string_view target, std::optional<std::string_view> pid,
                            const std::vector<double>& values) {
    ++m_rows_seen;
    if (auto problem = time_problem(time_column, t, kind)) {
        throw util::Error("{}:{}: {}", m_source, line, *problem);
    }
    for (size_t c = 0; c < values.size() && c < m_columns.size(); ++c) {
        // The cheap test first: a row of valid values costs two comparisons per column.
        if (values[c] >= 0 && values[c] <= k_max_value) continue;
        if (auto problem = value_problem(m_columns[c], values[c])) {
            throw util::Error("{}:{}: {}", m_source, line, *problem);
        }
    }
    if (m_time_column != time_column) m_time_column = time_column;
    if (m_kind && *m_kind != kind) {
        throw util::Error(
            "{}:{}: this row's time is {} but earlier rows' are {} (use either Unix/RFC 3339 "
            "times or relative seconds throughout the file)",
            m_source, line, kind == TimeKind::absolute ? "absolute" : "relative",
            *m_kind == TimeKind::absolute ? "absolute" : "relative");
    }
    m_kind = kind;
    Group& g = group(target);
    if (g.any_row && t < g.last_t) {
        throw util::Error(
            "{}:{}: time goes backwards: {} comes after {} on line {}{} (sort the rows by time)",
            m_source, line, describe_time(t, kind), describe_time(g.last_t, kind), g.last_line,
            target.empty() ? std::string() : fmt::format(" for target {}", target));
    }
    if (!g.any_row) {
        g.first_t = t;
    } else if (auto problem = span_problem(time_column, g.first_t, t)) {
        throw util::Error("{}:{}: {}", m_source, line, *problem);
    }
    g.any_row = true;
    g.last_t = t;
    g.last_line = line;

    if (std::isnan(values[m_rss])) {
        if (m_dropped++ == 0) m_first_dropped_line = line;
        return;
    }
    Series& s = g.series;
    const bool duplicate = !s.t.empty() && s.t.back() == t;
    if (duplicate) {
        if (m_duplicates++ == 0) m_first_duplicate_line = line;
        for (size_t c = 0; c < g.values.size(); ++c) g.values[c].back() = values[c];
    } else {
        s.t.push_back(t);
        for (size_t c = 0; c < g.values.size(); ++c) g.values[c].push_back(values[c]);
    }
    if (pid && !pid->empty()) {
        s.instances_known = true;
        if (!g.last_pid.empty() && g.last_pid != *pid &&
            (s.restart_times.empty() || s.restart_times.back() != t)) {
            s.restart_times.push_back(t);
        }
        g.last_pid.assign(pid->data(), pid->size());
    }
}

ReadResult SeriesBuilder::finish(std::vector<std::string> warnings, size_t header_line) && {
    ReadResult out;
    out.warnings = std::move(warnings);
    if (m_dropped > 0) {
        out.warnings.push_back(
            fmt::format("{}: {} row{} without a rss_bytes value {} dropped (first on line {})",
                        m_source, m_dropped, m_dropped == 1 ? "" : "s",
                        m_dropped == 1 ? "was" : "were", m_first_dropped_line));
    }
    if (m_duplicates > 0) {
        out.warnings.push_back(fmt::format(
            "{}: {} row{} repeated the time of the row before; the last row for each time was "
            "kept (first on line {})",
            m_source, m_duplicates, m_duplicates == 1 ? "" : "s", m_first_duplicate_line));
    }
    for (auto& g : m_groups) {
        if (g.series.t.empty()) {
            if (!g.target.empty()) {
                out.warnings.push_back(
                    fmt::format("{}: target {} has no row with a rss_bytes value and was skipped",
                                m_source, g.target));
            }
            continue;
        }
        Series s = std::move(g.series);
        if (auto w =
                step_warning(s.name, m_time_column, s.t, m_kind.value_or(TimeKind::relative))) {
            out.warnings.push_back(std::move(*w));
        }
        for (size_t c = 0; c < m_columns.size(); ++c) {
            s.columns.emplace(m_columns[c], std::move(g.values[c]));
        }
        if (m_kind == TimeKind::absolute) {
            const double origin = s.t.front();
            s.epoch_offset = origin;
            for (double& t : s.t) t -= origin;
            for (double& t : s.restart_times) t -= origin;
        }
        out.series.push_back(std::move(s));
    }
    if (out.series.empty()) {
        const std::string where =
            header_line > 0 ? fmt::format("{}:{}", m_source, header_line) : m_source;
        if (m_rows_seen == 0) {
            throw util::Error(
                "{}: no samples: the file has a header but no rows (record some "
                "samples first)",
                where);
        }
        throw util::Error(
            "{}: no samples: none of the {} rows has a rss_bytes value (fill in "
            "rss_bytes; empty and NaN cells count as missing)",
            where, m_rows_seen);
    }
    return out;
}

}  // namespace leakhunt::series
