// The alerting rules, written as YAML by hand: the structure is fixed and small, and every
// string is emitted single-quoted (a quote doubled), so no value can break the document.
#include "server/rules.hpp"

#include <cmath>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "server/collector.hpp"

namespace leakhunt::server {
namespace {

std::string yaml_quoted(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

struct Rule {
    std::string alert;
    std::string expr;
    std::string for_;
    std::string severity;
    std::string summary;
    std::string description;
};

std::string render(const Rule& r) {
    return fmt::format(
        "      - alert: {}\n"
        "        expr: {}\n"
        "        for: {}\n"
        "        labels:\n"
        "          severity: {}\n"
        "        annotations:\n"
        "          summary: {}\n"
        "          description: {}\n",
        r.alert, yaml_quoted(r.expr), r.for_, r.severity, yaml_quoted(r.summary),
        yaml_quoted(r.description));
}

}  // namespace

std::string prometheus_duration(double seconds) {
    auto s = static_cast<int64_t>(std::ceil(seconds));
    if (s < 1) s = 1;
    std::string out;
    constexpr std::pair<int64_t, char> k_units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (auto [size, unit] : k_units) {
        if (s >= size) {
            out += fmt::format("{}{}", s / size, unit);
            s %= size;
        }
    }
    return out;
}

std::string alerting_rules_yaml(const RulesOptions& o) {
    const std::string on = "on (target, name, pid)";
    std::vector<Rule> rules;
    rules.push_back(
        {"MemoryLeak",
         fmt::format("{} and {} ({}{{verdict=\"leak\"}} == 1) and {} ({} >= {})", metric::growth,
                     on, metric::verdict, on, metric::confidence, o.min_confidence),
         prometheus_duration(o.for_s), "warning",
         "{{ $labels.name }} (pid {{ $labels.pid }}) is leaking memory",
         fmt::format("leakhunt has judged {{{{ $labels.target }}}} a leak for at least {} with "
                     "confidence >= {}: its memory baseline grows by {{{{ $value | humanize1024 "
                     "}}}}B/s. Take two heap profiles (leakhunt record, /debug/pprof/heap) and "
                     "diff them.",
                     prometheus_duration(o.for_s), o.min_confidence)});
    rules.push_back(
        {"MemoryLimitSoon", fmt::format("{} < {}", metric::projected, std::ceil(o.limit_within_s)),
         "5m", "critical",
         "{{ $labels.name }} (pid {{ $labels.pid }}) will reach its memory limit soon",
         "At the current growth, {{ $labels.target }} reaches its memory limit in {{ $value | "
         "humanizeDuration }}; expect an OOM kill."});
    rules.push_back(
        {"FileDescriptorGrowth", fmt::format("{}{{flag=\"fd_growth\"}} == 1", metric::flag),
         prometheus_duration(o.for_s), "warning",
         "{{ $labels.name }} (pid {{ $labels.pid }}) keeps opening file descriptors",
         "The open fds of {{ $labels.target }} grow without bound (leakhunt verdict flag "
         "fd_growth): a descriptor leak ends in EMFILE."});
    rules.push_back(
        {"ThreadGrowth", fmt::format("{}{{flag=\"thread_growth\"}} == 1", metric::flag),
         prometheus_duration(o.for_s), "warning",
         "{{ $labels.name }} (pid {{ $labels.pid }}) keeps starting threads",
         "The thread count of {{ $labels.target }} grows without bound (leakhunt verdict flag "
         "thread_growth)."});
    rules.push_back({"LeakhuntSourceDown", fmt::format("{} == 0", metric::source_up), "10m",
                     "warning", "leakhunt serve cannot read {{ $labels.source }}",
                     "The watch database or record directory {{ $labels.source }} could not be "
                     "read for 10 minutes: its processes are not judged."});

    std::string out = fmt::format(
        "# Prometheus alerting rules over the metrics of `leakhunt serve` (leakhunt rules).\n"
        "# Load with rule_files: in prometheus.yml; check with promtool check rules FILE.\n"
        "groups:\n"
        "  - name: {}\n"
        "    rules:\n",
        yaml_quoted(o.group));
    for (const auto& r : rules) out += render(r);
    return out;
}

}  // namespace leakhunt::server
