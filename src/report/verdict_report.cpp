// Verdict JSON and text rendering.
#include "report/verdict_report.hpp"

#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::report {
namespace {

nlohmann::json number_or_null(const std::optional<double>& v) {
    if (v && std::isfinite(*v)) return *v;
    return nullptr;
}

double round_to(double v, double unit) {
    return std::round(v / unit) * unit;
}

}  // namespace

nlohmann::json verdict_json(const series::Series& s, const trend::Classification& c) {
    const trend::Assessment& a = c.memory;
    nlohmann::json j;
    j["series"] = s.name;
    if (!s.labels.empty()) j["labels"] = s.labels;
    j["verdict"] = std::string(trend::to_string(a.verdict));
    j["growth_bytes_per_hour"] =
        std::isfinite(a.growth_bytes_per_hour) ? std::round(a.growth_bytes_per_hour) : 0.0;
    j["confidence"] = round_to(a.confidence, 0.001);
    j["first_leak_at_s"] = number_or_null(c.first_leak_at_s);
    if (c.limit_bytes) {
        j["limit_bytes"] = *c.limit_bytes;
        j["projected_limit_at_s"] = number_or_null(a.projected_limit_at_s);
    }
    j["evidence"] = a.evidence;
    j["flags"] = a.flags;
    j["samples"] = a.samples;
    j["span_s"] = a.span_s;
    j["restarts_s"] = a.restarts_s;
    j["period_s"] = number_or_null(a.period_s);
    j["watch_more_s"] = number_or_null(a.watch_more_s);
    if (s.epoch_offset) j["epoch_offset_s"] = *s.epoch_offset;
    if (c.per_work) {
        const trend::WorkAssessment& w = *c.per_work;
        j["time_verdict"] = std::string(trend::to_string(c.time_verdict));
        j["per_work"] = {
            {"verdict", std::string(trend::to_string(w.verdict))},
            {"bytes_per_unit", std::round(w.per_unit * 100) / 100},
            {"first_half_bytes_per_unit", std::round(w.first_half_per_unit * 100) / 100},
            {"second_half_bytes_per_unit", std::round(w.second_half_per_unit * 100) / 100},
            {"units", std::round(w.units)},
            {"p_value", w.p_value},
            {"evidence", w.evidence}};
    }
    return j;
}

nlohmann::json replay_json(const std::vector<trend::VerdictChange>& changes) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& ch : changes) {
        arr.push_back({{"t_s", ch.t_s},
                       {"samples", ch.samples},
                       {"verdict", std::string(trend::to_string(ch.verdict))},
                       {"growth_bytes_per_hour", std::round(ch.growth_bytes_per_hour)}});
    }
    return arr;
}

std::string verdict_word(trend::Verdict v, const Style& style) {
    std::string w(trend::to_string(v));
    for (char& ch : w) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    switch (v) {
        case trend::Verdict::leak:
            return style.red(w);
        case trend::Verdict::bounded:
            return style.yellow(w);
        case trend::Verdict::healthy:
            return style.green(w);
        case trend::Verdict::inconclusive:
            return style.dim(w);
    }
    return w;
}

std::string verdict_text(const series::Series& s, const trend::Classification& c,
                         const Style& style) {
    const trend::Assessment& a = c.memory;
    // The name is a process's command line or a file's label: untrusted.
    std::string out = fmt::format("{}: {}", style.bold(util::terminal_safe(s.name)),
                                  verdict_word(a.verdict, style));
    if (a.verdict == trend::Verdict::leak || a.verdict == trend::Verdict::bounded) {
        out += " " + util::format_rate(a.growth_bytes_per_hour);
    }
    out += fmt::format(" (confidence {:.2f}; {} samples over {})", a.confidence, a.samples,
                       util::format_duration(a.span_s));
    if (!a.flags.empty()) {
        std::string f;
        for (const auto& flag : a.flags) f += (f.empty() ? "" : ", ") + flag;
        out += " [" + f + "]";
    }
    out += "\n";
    for (const auto& e : a.evidence) out += "  - " + e + "\n";
    if (a.verdict == trend::Verdict::inconclusive && a.watch_more_s && *a.watch_more_s > 0) {
        out += fmt::format("  - watch for about {} more\n", util::format_duration(*a.watch_more_s));
    }
    return out;
}

std::string replay_text(const series::Series& s, const std::vector<trend::VerdictChange>& changes) {
    std::string out;
    const double t0 = s.t.empty() ? 0.0 : s.t.front();
    for (const auto& ch : changes) {
        out += fmt::format("  at {} ({} samples): {}", util::format_duration(ch.t_s - t0),
                           ch.samples, trend::to_string(ch.verdict));
        if (ch.verdict == trend::Verdict::leak || ch.verdict == trend::Verdict::bounded) {
            out += ", " + util::format_rate(ch.growth_bytes_per_hour);
        }
        out += "\n";
    }
    return out;
}

}  // namespace leakhunt::report
