// `leakhunt scan`: reads every series of a PromQL query over a time range from a Prometheus
// server, judges each, and ranks them (leak first, then bounded, inconclusive, healthy; growth
// descending within a verdict): the way to find the leaking services among hundreds.
#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "report/terminal.hpp"
#include "report/verdict_report.hpp"
#include "series/prometheus.hpp"
#include "server/prometheus_client.hpp"
#include "trend/classify.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

struct ScanArgs {
    std::string prometheus;
    std::string query;
    std::string range = "7d";
    std::string step;
    std::string limit;
    std::string timeout = "60s";
    std::string ca_cert;
    bool json = false;
    bool fail_on_leak = false;
    size_t top = 0;
    std::string work_query;
    std::string work_kind = "rate";
    std::string work_unit = "request";
};

// The work series of `work` that belongs to memory series `s`: the one that agrees with it on
// every label both have (the metric name aside), sharing the most labels; nullptr if none does
// or two tie.
const series::Series* matching_work(const series::Series& s, const std::vector<series::Series>& work) {
    const series::Series* best = nullptr;
    size_t best_shared = 0;
    bool tie = false;
    for (const auto& w : work) {
        size_t shared = 0;
        bool agrees = true;
        for (const auto& [k, v] : w.labels) {
            if (k == "__name__") continue;
            const auto it = s.labels.find(k);
            if (it == s.labels.end()) continue;
            if (it->second != v) {
                agrees = false;
                break;
            }
            ++shared;
        }
        if (!agrees) continue;
        if (best == nullptr || shared > best_shared) {
            best = &w;
            best_shared = shared;
            tie = false;
        } else if (shared == best_shared) {
            tie = true;
        }
    }
    return tie ? nullptr : best;
}

// Adds the work series `w` to `s` as its work column, sample by sample at the same absolute
// times (both come from one range query's start, end and step).
void add_work_column(series::Series& s, const series::Series& w, std::string_view column) {
    std::map<long long, double> by_ms;
    const double w_offset = w.epoch_offset.value_or(0);
    for (size_t i = 0; i < w.t.size(); ++i) {
        const auto* col = w.column(series::k_rss);
        if (col != nullptr) by_ms[std::llround((w.t[i] + w_offset) * 1000)] = (*col)[i];
    }
    std::vector<double> values(s.t.size(), std::numeric_limits<double>::quiet_NaN());
    const double offset = s.epoch_offset.value_or(0);
    for (size_t i = 0; i < s.t.size(); ++i) {
        const auto it = by_ms.find(std::llround((s.t[i] + offset) * 1000));
        if (it != by_ms.end()) values[i] = it->second;
    }
    s.columns[std::string(column)] = std::move(values);
}

struct Judged {
    series::Series series;
    trend::Classification c;
};

int rank_of(trend::Verdict v) {
    switch (v) {
        case trend::Verdict::leak: return 0;
        case trend::Verdict::bounded: return 1;
        case trend::Verdict::inconclusive: return 2;
        case trend::Verdict::healthy: return 3;
    }
    return 4;
}

// The labels that tell the series apart (those not shared by all), in Prometheus notation.
std::vector<std::string> short_names(const std::vector<Judged>& all) {
    std::map<std::string, std::set<std::string>> values;
    for (const auto& j : all) {
        for (const auto& [k, v] : j.series.labels) values[k].insert(v);
    }
    std::vector<std::string> out;
    for (const auto& j : all) {
        std::map<std::string, std::string> varying;
        for (const auto& [k, v] : j.series.labels) {
            // A label is shown if it varies, or if some series lack it.
            size_t with = 0;
            for (const auto& other : all) with += other.series.labels.count(k);
            if (values[k].size() > 1 || with < all.size()) varying.emplace(k, v);
        }
        out.push_back(varying.empty() ? j.series.name : series::prometheus_series_name(varying));
    }
    return out;
}

std::optional<double> seconds_to_limit(const Judged& j) {
    const auto& at = j.c.memory.projected_limit_at_s;
    if (!at || j.series.empty()) return std::nullopt;
    return std::max(0.0, *at - j.series.t.back());
}

// "+764 B" per unit of work, or "-".
std::string per_unit_cell(const Judged& j) {
    if (!j.c.per_work || j.c.per_work->verdict == trend::Verdict::inconclusive) return "-";
    const double v = j.c.per_work->per_unit;
    return (v >= 0 ? "+" : "") + util::format_bytes(v);
}

void print_table(const std::vector<Judged>& rows, size_t shown, const report::Style& style,
                 const std::string& work_unit) {
    // Label values come from whatever the scraped services export: untrusted.
    std::vector<std::string> names = short_names(rows);
    for (auto& n : names) n = util::terminal_safe(n);
    size_t name_width = 6;
    for (size_t i = 0; i < shown; ++i) name_width = std::max(name_width, names[i].size());
    std::string per_header;
    if (!work_unit.empty()) {
        per_header = "PER " + work_unit;
        for (char& c : per_header) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::printf("%-*s  %-12s  %12s  %10s  %13s  %7s%s%s\n", static_cast<int>(name_width), "SERIES",
                "VERDICT", "GROWTH/H", "CONFIDENCE", "TIME TO LIMIT", "SAMPLES",
                per_header.empty() ? "" : "  ", util::terminal_safe(per_header).c_str());
    for (size_t i = 0; i < shown; ++i) {
        const auto& a = rows[i].c.memory;
        const std::string word = report::verdict_word(a.verdict, style);
        const size_t plain = trend::to_string(a.verdict).size();
        const auto limit = seconds_to_limit(rows[i]);
        std::printf("%-*s  %s%s  %12s  %10.2f  %13s  %7zu%s%s\n", static_cast<int>(name_width),
                    names[i].c_str(), word.c_str(), std::string(12 - plain, ' ').c_str(),
                    util::format_rate(a.growth_bytes_per_hour).c_str(), a.confidence,
                    limit ? util::format_duration(*limit).c_str() : "-", a.samples,
                    work_unit.empty() ? "" : "  ", work_unit.empty() ? "" : per_unit_cell(rows[i]).c_str());
    }
}

int run_scan(const ScanArgs& args) {
    const double range_s = parse_duration_option("--range", args.range);
    std::optional<double> requested;
    if (!args.step.empty()) requested = parse_duration_option("--step", args.step);
    const server::StepChoice step = server::choose_step(range_s, requested);
    if (!step.note.empty()) warn(step.note);

    server::RangeQuery q;
    q.url = args.prometheus;
    q.ca_cert = args.ca_cert;
    q.query = args.query;
    q.end_unix = std::floor(unix_now());
    q.start_unix = q.end_unix - range_s;
    q.step_s = step.step_s;
    q.timeout_s = parse_duration_option("--timeout", args.timeout);

    series::ReadResult read;
    {
        Progress fetch = Progress::on_stderr("fetching series", 0, Progress::Unit::bytes);
        read = server::query_range(q, fetch.callback());
    }
    for (const auto& w : read.warnings) warn(w);

    if (!args.work_query.empty()) {
        if (args.work_kind != "rate" && args.work_kind != "total") {
            throw util::UsageError("--work-kind {}: use rate (work per second, e.g. rate(...[5m])) or "
                                   "total (a counter)",
                                   args.work_kind);
        }
        server::RangeQuery wq = q;
        wq.query = args.work_query;
        series::ReadResult work;
        {
            Progress fetch = Progress::on_stderr("fetching work series", 0, Progress::Unit::bytes);
            work = server::query_range(wq, fetch.callback());
        }
        for (const auto& w : work.warnings) warn(w);
        size_t unmatched = 0;
        for (auto& s : read.series) {
            const series::Series* w = matching_work(s, work.series);
            if (w == nullptr) {
                if (++unmatched <= 3) {
                    warnf("no single series of --work-query matches {}: it is judged per hour only",
                          s.name);
                }
                continue;
            }
            add_work_column(s, *w, args.work_kind == "rate" ? series::k_work_rate : series::k_work_total);
        }
        if (unmatched > 3) warnf("{} more series have no work series", unmatched - 3);
    }

    trend::ClassifyOptions options;
    options.work.unit = args.work_unit;
    options.detection_latency = false;  // hundreds of series: one assessment each
    if (!args.limit.empty()) options.engine.limit_bytes = parse_bytes_option("--limit", args.limit);
    std::vector<Judged> rows;
    {
        Progress judging = Progress::on_stderr("classifying", read.series.size());
        for (auto& s : read.series) {
            trend::Classification c = trend::classify(s, options);
            rows.push_back({std::move(s), std::move(c)});
            judging.advance();
        }
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Judged& a, const Judged& b) {
        const int ra = rank_of(a.c.memory.verdict);
        const int rb = rank_of(b.c.memory.verdict);
        if (ra != rb) return ra < rb;
        if (a.c.memory.growth_bytes_per_hour != b.c.memory.growth_bytes_per_hour) {
            return a.c.memory.growth_bytes_per_hour > b.c.memory.growth_bytes_per_hour;
        }
        return a.series.name < b.series.name;
    });
    const size_t shown = args.top == 0 ? rows.size() : std::min(args.top, rows.size());
    std::map<trend::Verdict, size_t> counts;
    for (const auto& r : rows) ++counts[r.c.memory.verdict];

    if (args.json) {
        for (size_t i = 0; i < shown; ++i) {
            nlohmann::json j = report::verdict_json(rows[i].series, rows[i].c);
            j["rank"] = i + 1;
            j["labels"] = rows[i].series.labels;
            const auto limit = seconds_to_limit(rows[i]);
            j["seconds_to_limit"] = limit ? nlohmann::json(*limit) : nlohmann::json(nullptr);
            std::printf("%s\n", j.dump().c_str());
        }
    } else {
        std::string summary;
        for (auto v : {trend::Verdict::leak, trend::Verdict::bounded,
                       trend::Verdict::inconclusive, trend::Verdict::healthy}) {
            if (counts[v] == 0) continue;
            summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", counts[v],
                                   trend::to_string(v));
        }
        std::printf("%zu series of %s over %s (step %s): %s\n", rows.size(),
                    util::terminal_safe(args.query).c_str(),
                    util::format_duration(range_s).c_str(),
                    util::format_duration(step.step_s).c_str(), summary.c_str());
        print_table(rows, shown, report::Style{report::color_for_fd(1)},
                    args.work_query.empty() ? std::string() : args.work_unit);
        if (shown < rows.size()) std::printf("(%zu more; --top 0 shows all)\n", rows.size() - shown);
    }
    std::fflush(stdout);
    if (args.fail_on_leak && counts[trend::Verdict::leak] > 0) return k_exit_leak;
    return k_exit_ok;
}

}  // namespace

Runner add_scan(CLI::App& app) {
    auto args = std::make_shared<ScanArgs>();
    CLI::App* cmd = app.add_subcommand(
        "scan", "Judge every series of a Prometheus query and rank them: which services leak?");
    cmd->add_option("--prometheus", args->prometheus,
                    "Prometheus base URL, e.g. http://prom:9090 or https://prom.example")
        ->required();
    cmd->add_option("--query", args->query,
                    "PromQL selecting memory series, e.g. "
                    "'container_memory_working_set_bytes{namespace=\"prod\"}'")
        ->required();
    cmd->add_option("--range", args->range, "How far back to read, e.g. 7d or 12h")
        ->capture_default_str();
    cmd->add_option("--step", args->step,
                    "Resolution (default: range/1000; raised when over Prometheus' 11,000 "
                    "points per series)");
    cmd->add_option("--limit", args->limit, "Memory limit for the time-to-limit column, e.g. 2G");
    cmd->add_option("--timeout", args->timeout, "HTTP timeout")->capture_default_str();
    cmd->add_option("--ca-cert", args->ca_cert,
                    "https: PEM file of the CA certificates to trust (default: the system's)");
    cmd->add_flag("--json", args->json, "One verdict JSON object per series and line, ranked");
    cmd->add_flag("--fail-on-leak", args->fail_on_leak, "Exit with code 3 if any series leaks");
    cmd->add_option("--work-query", args->work_query,
                    "PromQL of the work each service does, e.g. 'sum by (pod) "
                    "(rate(http_requests_total[5m]))': memory is judged per unit of work, matched "
                    "to the memory series by their common labels");
    cmd->add_option("--work-kind", args->work_kind,
                    "rate: --work-query gives work per second (default); total: a counter");
    cmd->add_option("--work-unit", args->work_unit, "What one unit of work is (default request)");
    cmd->add_option("--top", args->top, "Show only the first N series (0: all)")
        ->capture_default_str();
    return [args] { return run_scan(*args); };
}

}  // namespace leakhunt::cli
