// The live UI routes: the target list, the live page and its cached report data.
#include "server/ui_routes.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "recorddir/record_dir.hpp"
#include "report/html_report.hpp"
#include "report/report_inputs.hpp"
#include "series/series.hpp"
#include "server/safety.hpp"
#include "server/server.hpp"
#include "server/triage.hpp"
#include "symbolize/symbolizer.hpp"
#include "trend/verdict.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::server {
namespace {
namespace fs = std::filesystem;

constexpr const char* k_html = "text/html; charset=utf-8";
constexpr const char* k_json = "application/json";

// One source of a live page: a target of the Nth database or a PID of the Nth record directory.
struct Source {
    bool database = true;
    size_t index = 0;
    fs::path path;
    std::string target;  // the database target's key, or the PID as text

    std::string query() const {
        return database ? fmt::format("db={}&target={}", index, url_encode(target))
                        : fmt::format("dir={}&pid={}", index, target);
    }
    std::string cache_key() const {
        return fmt::format("{}:{}:{}", database ? "db" : "dir", index, target);
    }
};

std::optional<size_t> parse_number(std::string_view text) {
    size_t v = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

// ?db=N&target=KEY or ?dir=N&pid=P, checked against the configured sources (indices only, so
// no request can name a path outside them). nullopt with the error response set otherwise.
std::optional<Source> parse_source(const httplib::Request& req, httplib::Response& res,
                                   const SourceConfig& config) {
    Source s;
    if (req.has_param("db")) {
        const auto n = parse_number(req.get_param_value("db"));
        if (!n || *n >= config.databases.size()) {
            Server::fail(res, 404,
                         fmt::format("there is no database {} (serve has {}; see /)",
                                     req.get_param_value("db"), config.databases.size()));
            return std::nullopt;
        }
        s.database = true;
        s.index = *n;
        s.path = config.databases[*n];
        s.target = req.get_param_value("target");
        if (s.target.empty()) {
            Server::fail(res, 400, "?db=N needs &target=KEY (the target keys are listed on /)");
            return std::nullopt;
        }
        return s;
    }
    if (req.has_param("dir")) {
        const auto n = parse_number(req.get_param_value("dir"));
        if (!n || *n >= config.record_dirs.size()) {
            Server::fail(res, 404,
                         fmt::format("there is no record directory {} (serve has {}; "
                                     "see /)",
                                     req.get_param_value("dir"), config.record_dirs.size()));
            return std::nullopt;
        }
        const auto pid = parse_number(req.get_param_value("pid"));
        if (!pid || *pid == 0) {
            Server::fail(res, 400, "?dir=N needs &pid=P, a positive integer (listed on /)");
            return std::nullopt;
        }
        s.database = false;
        s.index = *n;
        s.path = config.record_dirs[*n];
        s.target = std::to_string(*pid);
        return s;
    }
    Server::fail(res, 400, "give ?db=N&target=KEY or ?dir=N&pid=P (the targets are listed on /)");
    return std::nullopt;
}

void add_stat(std::string& sig, const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        sig += "-;";
        return;
    }
    sig += fmt::format("{}.{}:{};", st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size);
}

// Changes whenever new data may have arrived: the database and its WAL (a running watch writes
// there first), or every file of the record directory (count, total size, newest mtime).
std::string signature(const Source& s) {
    std::string sig;
    if (s.database) {
        add_stat(sig, s.path);
        add_stat(sig, fs::path(s.path.string() + "-wal"));
        return sig;
    }
    size_t files = 0;
    uintmax_t bytes = 0;
    fs::file_time_type newest{};
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(s.path, ec)) {
        std::error_code fec;
        if (!e.is_regular_file(fec)) continue;
        ++files;
        bytes += e.file_size(fec);
        newest = std::max(newest, e.last_write_time(fec));
    }
    return fmt::format("{}:{}:{}", files, bytes, newest.time_since_epoch().count());
}

// The processes of a record directory: PIDs with a timeline or heap snapshots.
struct RecordedProcess {
    bool timeline = false;
    size_t snapshots = 0;
    size_t scans = 0;
};

std::map<long, RecordedProcess> recorded_processes(const fs::path& dir) {
    std::map<long, RecordedProcess> out;
    recorddir::Listing files;
    try {
        files = recorddir::list(dir);
    } catch (const util::Error&) {
        return out;  // a directory that went away lists nothing; its source shows as down
    }
    for (long pid : files.ids()) {
        RecordedProcess& p = out[pid];
        p.timeline = files.timelines.contains(pid);
        p.snapshots = files.count(pid, recorddir::Kind::profile);
        p.scans = files.count(pid, recorddir::Kind::scan);
    }
    return out;
}

// Every target the UI lists, as JSON rows in triage order (server/triage.hpp; also the body of
// /api/targets.json).
nlohmann::json target_rows(Collector& collector) {
    const auto processes = collector.refresh();
    const SourceConfig& config = collector.config();
    nlohmann::json rows = nlohmann::json::array();
    const double now = util::unix_now();
    auto add_status = [now](nlohmann::json& row, const ProcessStatus& p) {
        const trend::Assessment& a = p.classification.memory;
        row["name"] = p.name;
        row["pid"] = p.pid ? nlohmann::json(*p.pid) : nlohmann::json(nullptr);
        row["running"] = p.running;
        row["verdict"] = trend::to_string(a.verdict);
        row["growth_bytes_per_hour"] = a.growth_bytes_per_hour;
        row["confidence"] = a.confidence;
        row["samples"] = a.samples;
        const auto left = p.seconds_to_limit(now);
        row["seconds_to_limit"] = left ? nlohmann::json(*left) : nlohmann::json(nullptr);
        row["limit_bytes"] = p.classification.limit_bytes
                                 ? nlohmann::json(*p.classification.limit_bytes)
                                 : nlohmann::json(nullptr);
        nlohmann::json spark = nlohmann::json::array();
        if (p.series) {
            if (const auto* rss = p.series->column(series::k_rss)) {
                for (const auto& [t, v] : sparkline_points(p.series->t, *rss))
                    spark.push_back({t, v});
            }
        }
        row["rss_sparkline"] = std::move(spark);
    };
    for (size_t i = 0; i < config.databases.size(); ++i) {
        const std::string source = "db:" + config.databases[i].string();
        for (const auto& p : processes) {
            if (p.source != source) continue;
            nlohmann::json row = {{"source", "database"},
                                  {"source_path", config.databases[i].string()},
                                  {"target", p.target}};
            add_status(row, p);
            row["url"] = "/live?" + Source{true, i, {}, p.target}.query();
            rows.push_back(std::move(row));
        }
    }
    for (size_t i = 0; i < config.record_dirs.size(); ++i) {
        const std::string source = "dir:" + config.record_dirs[i].string();
        for (const auto& [pid, rec] : recorded_processes(config.record_dirs[i])) {
            nlohmann::json row = {{"source", "record directory"},
                                  {"source_path", config.record_dirs[i].string()},
                                  {"target", std::to_string(pid)},
                                  {"name", ""},
                                  {"pid", pid},
                                  {"running", false},
                                  {"verdict", nullptr},
                                  {"growth_bytes_per_hour", nullptr},
                                  {"confidence", nullptr},
                                  {"samples", 0},
                                  {"seconds_to_limit", nullptr},
                                  {"limit_bytes", nullptr},
                                  {"rss_sparkline", nlohmann::json::array()}};
            for (const auto& p : processes) {
                if (p.source == source && p.pid && *p.pid == pid) add_status(row, p);
            }
            row["snapshots"] = rec.snapshots;
            row["scans"] = rec.scans;
            row["url"] = "/live?" + Source{false, i, {}, std::to_string(pid)}.query();
            rows.push_back(std::move(row));
        }
    }
    sort_by_severity(rows);
    return rows;
}

std::string cell(const nlohmann::json& v) {
    if (v.is_null()) return "";
    if (v.is_string()) return html_escape(v.get<std::string>());
    return html_escape(v.dump());
}

std::string targets_page(const nlohmann::json& rows, int refresh_ms) {
    std::string html =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<link rel=\"icon\" href=\"data:,\">";
    html +=
        fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", std::max(5, refresh_ms / 1000));
    html +=
        "<title>leakhunt serve</title><style>body{font:14px system-ui,sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:middle}.leak{color:#b00;font-weight:bold}"
        ".bounded{color:#a60}.num{text-align:right}"
        "</style></head><body>\n<h1>leakhunt serve</h1>\n";
    if (rows.empty()) {
        html +=
            "<p>No targets yet: the watch databases have no samples and the record "
            "directories no timelines or snapshots.</p>\n";
    } else {
        html +=
            "<p>Leaks first, then bounded, healthy and undecided targets; within each, the one "
            "that reaches its memory limit soonest first.</p>\n"
            "<table id=\"targets\">\n<tr><th>verdict</th><th>target</th><th>name</th>"
            "<th>pid</th><th>RSS</th><th>growth</th><th>time to limit</th><th>samples</th>"
            "<th>snapshots</th><th>source</th></tr>\n";
        for (const auto& r : rows) {
            const std::string verdict = cell(r["verdict"]);
            const std::string growth =
                r["growth_bytes_per_hour"].is_number()
                    ? html_escape(util::format_rate(r["growth_bytes_per_hour"].get<double>()))
                    : "";
            const std::string left =
                r["seconds_to_limit"].is_number()
                    ? html_escape(util::format_duration(r["seconds_to_limit"].get<double>()))
                    : "";
            std::vector<std::pair<double, double>> points;
            for (const auto& p : r["rss_sparkline"]) {
                if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
                    points.emplace_back(p[0].get<double>(), p[1].get<double>());
            }
            html += fmt::format(
                "<tr><td class=\"verdict {}\">{}</td><td><a class=\"target\" href=\"{}\">{}</a>"
                "</td><td>{}</td><td class=\"num\">{}</td><td class=\"spark\">{}</td>"
                "<td class=\"num growth\">{}</td><td class=\"num limit\">{}</td>"
                "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}: {}</td></tr>\n",
                verdict, verdict, html_escape(r["url"].get<std::string>()), cell(r["target"]),
                cell(r["name"]), cell(r["pid"]), sparkline_svg(points), growth, left,
                cell(r["samples"]), r.contains("snapshots") ? cell(r["snapshots"]) : std::string(),
                cell(r["source"]), cell(r["source_path"]));
        }
        html += "</table>\n";
    }
    html +=
        "<p><a href=\"/endpoints\">Endpoints</a> (Prometheus <a href=\"/metrics\">/metrics</a>, "
        "<a href=\"/api/targets.json\">/api/targets.json</a>, ...)</p>\n</body></html>\n";
    return html;
}

struct CachedReport {
    std::string signature;
    std::string body;
};

struct UiState {
    Server* server = nullptr;
    int refresh_ms = k_ui_refresh_ms;
    std::mutex mutex;
    std::map<std::string, CachedReport> cache;  // by Source::cache_key()
};

void report_json(UiState& ui, const httplib::Request& req, httplib::Response& res) {
    const auto source = parse_source(req, res, ui.server->collector().config());
    if (!source) return;
    const std::string sig = signature(*source);
    const std::string key = source->cache_key();
    {
        std::lock_guard lock(ui.mutex);
        auto it = ui.cache.find(key);
        if (it != ui.cache.end() && it->second.signature == sig) {
            res.set_header("Cache-Control", "no-store");
            res.set_header("X-Leakhunt-Cache", "hit");
            res.set_content(it->second.body, k_json);
            return;
        }
    }
    report::ReportBuilder builder("", "leakhunt live");
    report::InputOptions options;
    options.target = source->target;
    options.heap_graphs = report::InputOptions::HeapGraphs::note_only;
    try {
        report::add_input(builder, source->path, options);
    } catch (const util::UsageError& e) {
        return Server::fail(res, 404, e.what());
    }
    symbolize::Symbolizer symbolizer;
    std::string body = report::script_safe_json(builder.build(symbolizer));
    {
        std::lock_guard lock(ui.mutex);
        ui.cache[key] = {sig, body};
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Leakhunt-Cache", "miss");
    res.set_content(std::move(body), k_json);
}

}  // namespace

std::string url_encode(std::string_view text) {
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += ch;
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

void add_ui_routes(Server& server, int refresh_ms) {
    auto ui = std::make_shared<UiState>();
    ui->server = &server;
    ui->refresh_ms = refresh_ms;
    server.get("/", "the live UI: every target of the databases and record directories",
               [ui](const httplib::Request&, httplib::Response& res) {
                   res.set_content(
                       targets_page(target_rows(ui->server->collector()), ui->refresh_ms), k_html);
               });
    server.get("/api/targets.json",
               "the targets of the live UI as JSON, in its triage order (name, pid, verdict, "
               "growth, seconds_to_limit, rss_sparkline, url)",
               [ui](const httplib::Request&, httplib::Response& res) {
                   res.set_header("Cache-Control", "no-store");
                   res.set_content(target_rows(ui->server->collector()).dump() + "\n", k_json);
               });
    server.get("/live", "the live report page of ?db=N&target=KEY or ?dir=N&pid=P",
               [ui](const httplib::Request& req, httplib::Response& res) {
                   const auto source = parse_source(req, res, ui->server->collector().config());
                   if (!source) return;
                   const std::string title =
                       fmt::format("leakhunt live: {}",
                                   source->database ? source->target : "PID " + source->target);
                   res.set_content(report::render_live_html("/api/report.json?" + source->query(),
                                                            title, ui->refresh_ms),
                                   k_html);
               });
    server.get(
        "/api/report.json",
        "the report data of ?db=N&target=KEY or ?dir=N&pid=P (rebuilt when the source "
        "changed)",
        [ui](const httplib::Request& req, httplib::Response& res) { report_json(*ui, req, res); });
}

}  // namespace leakhunt::server
