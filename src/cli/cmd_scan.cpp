// `leakhunt scan`: reads every series of a PromQL query over a time range from a Prometheus
// server, judges each, and ranks them (leak first, then bounded, inconclusive, healthy; growth
// descending within a verdict): the way to find the leaking services among hundreds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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
#include "trend/cadence.hpp"
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
    std::string restarts_query;
    std::string oom_query;
};

// The series of `work` (traffic, restarts, OOM kills) that belongs to memory series `s`: the one
// that agrees with it on every label both have (the metric name, job and instance aside),
// sharing the most labels; nullptr if none does or two tie.
const series::Series* matching_series(const series::Series& s,
                                      const std::vector<series::Series>& work) {
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
            // The scrape target's labels name the exporter (cAdvisor, kube-state-metrics), not
            // the service: they may differ between two queries about one service.
            if (it->second != v && (k == "job" || k == "instance")) continue;
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
    std::optional<trend::Cadence> cadence;  // with --restarts-query
    bool oom = false;  // with --oom-query: the last termination was an OOM kill
};

int rank_of(trend::Verdict v) {
    switch (v) {
        case trend::Verdict::leak:
            return 0;
        case trend::Verdict::bounded:
            return 1;
        case trend::Verdict::inconclusive:
            return 2;
        case trend::Verdict::healthy:
            return 3;
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

// A service restarted again and again by the OOM killer leaks, however short each lifetime is:
// its cadence says so. Restarts without OOM kills are said, not judged.
void judge_restarts(trend::Classification& c, const std::optional<trend::Cadence>& cadence,
                    bool oom) {
    if (!cadence || cadence->restarts == 0) return;
    trend::Assessment& a = c.memory;
    if (std::find(a.flags.begin(), a.flags.end(), "restarts") == a.flags.end())
        a.flags.emplace_back("restarts");
    const std::string every =
        cadence->restarts >= 2
            ? fmt::format(" every {}{}", util::format_duration(cadence->median_gap_s),
                          cadence->regular ? "" : " (irregularly)")
            : std::string();
    const std::string count =
        fmt::format("{} restart{}", cadence->restarts, cadence->restarts == 1 ? "" : "s");
    if (oom && cadence->restarts >= 2) {
        a.flags.emplace_back("oom_restarts");
        a.evidence.insert(
            a.evidence.begin(),
            fmt::format("restarted by the OOM killer{} ({}): each lifetime ends at the "
                        "memory limit, so memory grows until the kernel kills it",
                        every, count));
        if (a.verdict != trend::Verdict::leak) {
            a.evidence.push_back(
                fmt::format("judged a leak by its OOM restarts: the memory series alone "
                            "would be judged {}",
                            trend::to_string(a.verdict)));
            a.verdict = trend::Verdict::leak;
            a.confidence = std::max(a.confidence, cadence->regular ? 0.95 : 0.8);
        }
    } else {
        a.evidence.push_back(fmt::format(
            "restarted{} ({}){}", every, count,
            oom ? ", the last by the OOM killer" : ", not by the OOM killer as far as known"));
    }
}

// "4 OOM every 6h10m", "2", or "-".
std::string restarts_cell(const Judged& j) {
    if (!j.cadence || j.cadence->restarts == 0) return "-";
    std::string cell = util::format_count(j.cadence->restarts);
    if (j.oom) cell += " OOM";
    if (j.cadence->restarts >= 2)
        cell += " every " + util::format_duration(j.cadence->median_gap_s);
    return cell;
}

// "+764 B" per unit of work, or "-".
std::string per_unit_cell(const Judged& j) {
    if (!j.c.per_work || j.c.per_work->verdict == trend::Verdict::inconclusive) return "-";
    const double v = j.c.per_work->per_unit;
    return (v >= 0 ? "+" : "") + util::format_bytes(v);
}

void print_table(const std::vector<Judged>& rows, size_t shown, const report::Style& style,
                 const std::string& work_unit, bool restarts) {
    // Label values come from whatever the scraped services export: untrusted.
    std::vector<std::string> names = short_names(rows);
    for (auto& n : names) n = util::terminal_safe(n);
    size_t name_width = 6;
    for (size_t i = 0; i < shown; ++i) name_width = std::max(name_width, names[i].size());
    std::string per_header;
    if (!work_unit.empty()) {
        per_header = "PER " + work_unit;
        for (char& c : per_header)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (!per_header.empty()) per_header = "  " + fmt::format("{:<11}", per_header);
    std::printf("%-*s  %-12s  %12s  %10s  %13s  %7s%s%s\n", static_cast<int>(name_width), "SERIES",
                "VERDICT", "GROWTH/H", "CONFIDENCE", "TIME TO LIMIT", "SAMPLES",
                util::terminal_safe(per_header).c_str(), restarts ? "  RESTARTS" : "");
    for (size_t i = 0; i < shown; ++i) {
        const auto& a = rows[i].c.memory;
        const std::string word = report::verdict_word(a.verdict, style);
        const size_t plain = trend::to_string(a.verdict).size();
        const auto limit = seconds_to_limit(rows[i]);
        const std::string per = work_unit.empty()
                                    ? std::string()
                                    : "  " + fmt::format("{:<11}", per_unit_cell(rows[i]));
        std::string line = fmt::format("{:<{}}  {}{}  {:>12}  {:>10.2f}  {:>13}  {:>7}{}{}",
                                       names[i], name_width, word, std::string(12 - plain, ' '),
                                       util::format_rate(a.growth_bytes_per_hour), a.confidence,
                                       limit ? util::format_duration(*limit) : "-", a.samples, per,
                                       restarts ? "  " + restarts_cell(rows[i]) : "");
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
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
            throw util::UsageError(
                "--work-kind {}: use rate (work per second, e.g. rate(...[5m])) or "
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
            const series::Series* w = matching_series(s, work.series);
            if (w == nullptr) {
                if (++unmatched <= 3) {
                    warnf("no single series of --work-query matches {}: it is judged per hour only",
                          s.name);
                }
                continue;
            }
            add_work_column(s, *w,
                            args.work_kind == "rate" ? series::k_work_rate : series::k_work_total);
        }
        if (unmatched > 3) warnf("{} more series have no work series", unmatched - 3);
    }

    // Restarts and OOM kills per series (kube-state-metrics or cAdvisor): fetched, matched.
    series::ReadResult restarts, ooms;
    const auto fetch_more = [&](const std::string& query, const char* what) {
        server::RangeQuery more = q;
        more.query = query;
        Progress fetch = Progress::on_stderr(what, 0, Progress::Unit::bytes);
        series::ReadResult r = server::query_range(more, fetch.callback());
        for (const auto& w : r.warnings) warn(w);
        return r;
    };
    if (!args.restarts_query.empty())
        restarts = fetch_more(args.restarts_query, "fetching restarts");
    if (!args.oom_query.empty()) ooms = fetch_more(args.oom_query, "fetching OOM kills");

    trend::ClassifyOptions options;
    options.work.unit = args.work_unit;
    options.detection_latency = false;  // hundreds of series: one assessment each
    if (!args.limit.empty()) options.engine.limit_bytes = parse_bytes_option("--limit", args.limit);
    std::vector<Judged> rows;
    {
        Progress judging = Progress::on_stderr("classifying", read.series.size());
        std::set<const series::Series*> matched;
        for (auto& s : read.series) {
            std::optional<trend::Cadence> cadence;
            bool oom = false;
            if (!args.restarts_query.empty()) {
                if (const series::Series* r = matching_series(s, restarts.series)) {
                    matched.insert(r);
                    const double shift = r->epoch_offset.value_or(0) - s.epoch_offset.value_or(0);
                    std::vector<double> at =
                        trend::restarts_from_counter(r->t, *r->column(series::k_rss));
                    for (double& t : at) t += shift;
                    cadence = trend::cadence_of(at);
                    // Known restarts cut the series into lifetimes, each judged on its own.
                    s.restart_times = at;
                }
                if (!cadence) cadence = trend::Cadence{};
            }
            if (const series::Series* o =
                    args.oom_query.empty() ? nullptr : matching_series(s, ooms.series)) {
                const auto* v = o->column(series::k_rss);
                oom = v != nullptr &&
                      std::any_of(v->begin(), v->end(), [](double x) { return x >= 1; });
            }
            trend::Classification c = trend::classify(s, options);
            judge_restarts(c, cadence, oom);
            rows.push_back({std::move(s), std::move(c), cadence, oom});
            judging.advance();
        }
        // A pod with restarts and no memory series is still a finding.
        for (const auto& r : restarts.series) {
            if (matched.count(&r)) continue;
            const trend::Cadence cadence =
                trend::cadence_of(trend::restarts_from_counter(r.t, *r.column(series::k_rss)));
            if (cadence.restarts == 0) continue;
            const series::Series* o =
                args.oom_query.empty() ? nullptr : matching_series(r, ooms.series);
            const auto* v = o != nullptr ? o->column(series::k_rss) : nullptr;
            const bool oom =
                v != nullptr && std::any_of(v->begin(), v->end(), [](double x) { return x >= 1; });
            series::Series empty;
            empty.name = r.name;
            empty.labels = r.labels;
            empty.labels.erase("__name__");
            trend::Classification c;
            c.memory.evidence.push_back("no memory series matches these labels");
            judge_restarts(c, cadence, oom);
            rows.push_back({std::move(empty), std::move(c), cadence, oom});
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
            if (rows[i].cadence) {
                const trend::Cadence& c = *rows[i].cadence;
                j["restarts"] = {{"count", c.restarts},
                                 {"median_gap_s", c.restarts >= 2 ? nlohmann::json(c.median_gap_s)
                                                                  : nlohmann::json(nullptr)},
                                 {"regular", c.regular},
                                 {"oom", rows[i].oom}};
            }
            std::printf("%s\n", j.dump().c_str());
        }
    } else {
        std::string summary;
        for (auto v : {trend::Verdict::leak, trend::Verdict::bounded, trend::Verdict::inconclusive,
                       trend::Verdict::healthy}) {
            if (counts[v] == 0) continue;
            summary +=
                fmt::format("{}{} {}", summary.empty() ? "" : ", ", counts[v], trend::to_string(v));
        }
        std::printf("%zu series of %s over %s (step %s): %s\n", rows.size(),
                    util::terminal_safe(args.query).c_str(), util::format_duration(range_s).c_str(),
                    util::format_duration(step.step_s).c_str(), summary.c_str());
        print_table(rows, shown, report::Style{report::color_for_fd(1)},
                    args.work_query.empty() ? std::string() : args.work_unit,
                    !args.restarts_query.empty());
        if (shown < rows.size())
            std::printf("(%zu more; --top 0 shows all)\n", rows.size() - shown);
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
    cmd->add_option("--restarts-query", args->restarts_query,
                    "PromQL of a restart counter per service, e.g. "
                    "'kube_pod_container_status_restarts_total{namespace=\"prod\"}': restarts cut "
                    "the memory series into lifetimes, and their cadence is said");
    cmd->add_option("--oom-query", args->oom_query,
                    "PromQL that is 1 where the last restart was an OOM kill, e.g. "
                    "'kube_pod_container_status_last_terminated_reason{reason=\"OOMKilled\"}': "
                    "a service restarted by the OOM killer twice or more is a leak");
    cmd->add_option("--top", args->top, "Show only the first N series (0: all)")
        ->capture_default_str();
    return [args] { return run_scan(*args); };
}

}  // namespace leakhunt::cli
