// Input detection by content and loading into a ReportBuilder.
#include "report/report_inputs.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "format/scan_format.hpp"
#include "heapgraph/hprof_reader.hpp"
#include "heapgraph/pygraph_reader.hpp"
#include "heapgraph/v8_snapshot.hpp"
#include "heapscan/scan_file.hpp"
#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "report/heap_graph_report.hpp"
#include "report/scan_paths.hpp"
#include "report/snapshot_suspects.hpp"
#include "report/totals.hpp"
#include "series/jsonl.hpp"
#include "series/prometheus.hpp"
#include "series/reader.hpp"
#include "series/store.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::report {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view k_accepted =
    "a `leakhunt record` directory, a watch database, a series (CSV with rss_bytes, JSON lines, "
    "Prometheus query_range JSON), a pprof heap profile, a heap scan (.scan), a heap graph "
    "(.heapsnapshot, .hprof, .pygraph), or suspects / retention-path JSON (`leakhunt suspects "
    "--json`, `leakhunt paths --json`)";

std::string head_of(const fs::path& path, size_t n) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw util::Error("cannot open {}: {}", path.string(), util::errno_text(errno));
    std::string buf(n, '\0');
    in.read(buf.data(), static_cast<std::streamsize>(n));
    buf.resize(static_cast<size_t>(in.gcount()));
    return buf;
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t' ||
            s.front() == '\xEF' || s.front() == '\xBB' || s.front() == '\xBF')) {
        s.remove_prefix(1);
    }
    return s;
}

// A JSON document as rows: an array as it is; an object with a "paths" or "suspects" array as
// that array; another single object as a one-row array; else JSON lines (one object per line).
nlohmann::json json_rows(std::string_view text, const fs::path& path) {
    text = trim_left(text);
    nlohmann::json whole = nlohmann::json::parse(text, nullptr, false);
    if (!whole.is_discarded()) {
        if (whole.is_array()) return whole;
        if (whole.is_object()) {
            // One row of `paths --json` (a "site" with its "paths") is a row, not a wrapper.
            for (const char* key : {"paths", "suspects"}) {
                if (whole.contains("type")) break;
                if (whole.contains(key) && whole[key].is_array()) return whole[key];
            }
            return nlohmann::json::array({whole});
        }
        throw util::Error("{}: a JSON {} where an array or objects were expected", path.string(),
                          whole.type_name());
    }
    nlohmann::json rows = nlohmann::json::array();
    size_t line_no = 0;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        ++line_no;
        std::string_view line = trim_left(text.substr(start, end - start));
        start = end + 1;
        if (line.empty()) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded()) {
            throw util::Error(
                "{}:{}: not valid JSON (expected a JSON array or one object per line)",
                path.string(), line_no);
        }
        rows.push_back(std::move(j));
    }
    return rows;
}

bool series_matches(const series::Series& s, const std::string& target) {
    if (s.name == target) return true;
    return std::any_of(s.labels.begin(), s.labels.end(),
                       [&](const auto& kv) { return kv.second == target; });
}

// The program a command line runs: its first word's file name ("/usr/bin/api" -> "api").
std::string program_name(const std::vector<std::string>& command) {
    return command.empty() ? std::string() : fs::path(command.front()).filename().string();
}

// The command `leakhunt soak` wrote into verdict.json beside its series.csv, or empty: the file
// is another program's output, so anything but an array of strings is ignored.
std::vector<std::string> soak_command(const fs::path& series_path) {
    const fs::path verdict = series_path.parent_path() / "verdict.json";
    std::error_code ec;
    if (!fs::is_regular_file(verdict, ec)) return {};
    const nlohmann::json j = nlohmann::json::parse(util::read_file(verdict), nullptr, false);
    if (!j.is_object() || !j.contains("command") || !j["command"].is_array()) return {};
    std::vector<std::string> command;
    for (const auto& word : j["command"]) {
        if (!word.is_string()) return {};
        command.push_back(word.get<std::string>());
    }
    return command;
}

// The service a series is of: its target (or, for Prometheus, its container, pod, job or
// instance label), else the program of the soak that wrote it (verdict.json beside it), else its
// file's name without the extension.
std::string series_service(const series::Series& s, const fs::path& path) {
    for (const char* key : {"target", "container", "pod", "job", "instance"}) {
        if (const auto it = s.labels.find(key); it != s.labels.end() && !it->second.empty())
            return it->second;
    }
    if (const std::string program = program_name(soak_command(path)); !program.empty())
        return program;
    return path.stem().string();
}

void add_series_file(ReportBuilder& b, const fs::path& path, std::string_view text,
                     const InputOptions& options) {
    series::ReadResult read = series::parse_series(text, path.filename().string());
    for (const auto& w : read.warnings) b.note(w);
    if (read.series.empty()) throw util::Error("{} holds no series", path.string());
    size_t pick = 0;
    if (!options.target.empty()) {
        auto it = std::find_if(read.series.begin(), read.series.end(),
                               [&](const auto& s) { return series_matches(s, options.target); });
        if (it == read.series.end()) {
            throw util::UsageError(
                "--target {}: no series of {} has that name or label (it has {})", options.target,
                path.string(), read.series.front().name);
        }
        pick = static_cast<size_t>(it - read.series.begin());
    } else if (read.series.size() > 1) {
        b.note(fmt::format("{} has {} series; {} is shown (choose another with --target)",
                           path.string(), read.series.size(), read.series.front().name));
    }
    b.add_source("series", path.string(),
                 fmt::format("{}, {} samples", read.series[pick].name, read.series[pick].size()));
    b.set_service(series_service(read.series[pick], path));
    b.set_series(std::move(read.series[pick]), options.classify);
}

// A heap scan's retention paths, as `leakhunt paths` groups them (against `base`, an earlier
// scan of the same process, when given), and its leaked blocks, as `leakhunt leaks` counts them;
// `what` says in the list of sources what was taken from it.
void add_heap_scan(ReportBuilder& b, const fs::path& scan_path, const std::string& what,
                   const std::optional<fs::path>& base_path = std::nullopt) {
    const heapscan::ScanFile scan = heapscan::read_scan_file(scan_path);
    std::optional<heapscan::ScanFile> base;
    if (base_path) base = heapscan::read_scan_file(*base_path);
    std::vector<std::string> warnings;
    heapscan::RetentionReport retention = scan_retention(scan, base ? &*base : nullptr, warnings);
    for (const auto& w : warnings) b.note("scan symbols: " + w);
    const nlohmann::json rows = retention_rows(retention);
    b.add_source("heap scan", scan_path.string(),
                 fmt::format("{}: {} paths{}", what, rows.size(),
                             base_path ? ", growth since " + base_path->filename().string()
                                       : std::string()));
    b.set_retention(std::move(retention), base.has_value(), scan_path.string());
    b.set_scan_leaks(scan_leaks(scan, scan_path.filename().string()));
}

void add_record_dir(ReportBuilder& b, const fs::path& dir, const InputOptions& options) {
    const recorddir::Listing files = recorddir::list(dir);
    const std::vector<long> pids = files.ids();
    if (pids.empty()) {
        throw util::Error(
            "{} has no timeline.PID.csv and no heap.PID.NNNN.pb.gz: is it a "
            "`leakhunt record -o DIR` directory?",
            dir.string());
    }
    long pid = 0;
    if (!options.target.empty()) {
        char* end = nullptr;
        pid = std::strtol(options.target.c_str(), &end, 10);
        if (*end != '\0' || std::find(pids.begin(), pids.end(), pid) == pids.end()) {
            throw util::UsageError("--target {}: {} has no recording of that PID", options.target,
                                   dir.string());
        }
    } else {
        pid = *recorddir::main_id(files);
        if (pids.size() > 1) {
            b.note(
                fmt::format("{} holds {} recorded processes; PID {} is shown (choose another "
                            "with --target PID)",
                            dir.string(), pids.size(), pid));
        }
    }
    // The service: the recorded program's name, as the manifest's command gives it.
    std::optional<recorddir::Manifest> manifest;
    try {
        manifest = recorddir::read_manifest(dir);
    } catch (const util::Error& e) {
        b.note(e.what());
    }
    if (manifest && !manifest->command.empty() && (manifest->pid == pid || pids.size() == 1)) {
        b.set_service(fmt::format("{} (PID {})", program_name(manifest->command), pid));
    } else {
        b.set_service(fmt::format("PID {}", pid));
    }
    b.add_source(
        "record directory", dir.string(),
        fmt::format("PID {}, {} snapshots", pid, files.count(pid, recorddir::Kind::profile)));
    if (auto it = files.timelines.find(pid); it != files.timelines.end()) {
        series::ReadResult read = series::read_series(it->second);
        for (const auto& w : read.warnings) {
            // The timeline's text columns (reason, snapshot) are expected, not worth a note.
            if (w.find("column reason ") == std::string::npos &&
                w.find("column snapshot ") == std::string::npos) {
                b.note(w);
            }
        }
        if (!read.series.empty()) {
            read.series.front().name = it->second.filename().string();
            b.set_series(std::move(read.series.front()), options.classify);
        }
    }
    // The exit snapshot is left out as `leakhunt suspects` and `leakhunt diff` leave it out (a
    // program's exit often frees what it held), by the one rule of recorddir: out of the flame
    // graphs when two others remain, out of the suspects when the three they need remain.
    recorddir::Selection graphs, suspects;
    try {
        graphs = recorddir::select_profiles(dir, files, pid, 2);
        suspects = recorddir::select_profiles(dir, files, pid, k_min_suspect_snapshots);
    } catch (const util::Error& e) {
        b.note(e.what());
        graphs = suspects = {files.files(pid, recorddir::Kind::profile), {}, {}};
    }
    std::vector<std::string> leave_out_of_suspects;
    for (const auto& file : files.files(pid, recorddir::Kind::profile)) {
        const std::string name = file.filename().string();
        const bool in_graphs = file != graphs.left_out;
        const bool in_suspects = file != suspects.left_out;
        if (!in_graphs && !in_suspects) {
            b.note(
                fmt::format("the exit snapshot {} is left out of the flame graphs and the "
                            "suspects (a program's exit often frees what it held)",
                            name));
            continue;
        }
        if (!in_graphs) {
            b.note(
                fmt::format("the exit snapshot {} is left out of the flame graphs (a program's "
                            "exit often frees what it held); the suspects use it to have the "
                            "{} snapshots they need",
                            name, k_min_suspect_snapshots));
            b.leave_out_of_graphs(name);
        }
        if (!in_suspects) leave_out_of_suspects.push_back(name);
        b.add_profile(name, profile::read_profile(file));
    }
    std::map<std::string, SnapshotFacts> facts;
    try {
        facts = snapshot_facts(dir, pid);
    } catch (const util::Error& e) {
        b.note(e.what());
    }
    b.suspects_from_profiles(fmt::format("{} (PID {})", dir.string(), pid),
                             std::move(leave_out_of_suspects), std::move(facts));
    // What the exit snapshot still held: what heaptrack and memray call leaked.
    if (graphs.exit_snapshot) {
        try {
            if (const auto t = profile::in_use_totals(profile::read_profile(*graphs.exit_snapshot)))
                b.set_exit_in_use({graphs.exit_snapshot->filename().string(), t->bytes, t->objects,
                                   manifest ? manifest->sampling : std::string()});
        } catch (const util::Error& e) {
            b.note(fmt::format("exit snapshot: {}", e.what()));
        }
    }
    // Retention paths of the latest heap scan, as `leakhunt paths` groups them; with an earlier
    // scan, the sites that grew since the first one.
    if (const auto scans = files.files(pid, recorddir::Kind::scan); !scans.empty()) {
        try {
            add_heap_scan(
                b, scans.back(),
                fmt::format("retention paths of the latest of {} scans", scans.size()),
                scans.size() >= 2 ? std::optional<fs::path>(scans.front()) : std::nullopt);
        } catch (const util::Error& e) {
            b.note(fmt::format("retention paths: {}", e.what()));
        }
    }
    // A runtime's heap graphs: explained as `leakhunt paths DIR` explains them.
    if (options.heap_graphs != InputOptions::HeapGraphs::caller_explains) {
        std::vector<std::string> heap_graphs;
        for (const auto& p : recorddir::heap_graph_files(dir)) heap_graphs.push_back(p.string());
        if (!heap_graphs.empty() && options.heap_graphs == InputOptions::HeapGraphs::note_only) {
            b.note(
                fmt::format("{} heap graph{} of this recording are not drawn here: `leakhunt "
                            "report {}` draws what holds the heap",
                            heap_graphs.size(), heap_graphs.size() == 1 ? "" : "s", dir.string()));
        } else if (!heap_graphs.empty()) {
            try {
                add_heap_graph_evidence(b, heap_graph_evidence(heap_graphs));
            } catch (const util::Error& e) {
                b.note(fmt::format("heap graph: {}", e.what()));
            }
        }
    }
}

void add_watch_db(ReportBuilder& b, const fs::path& path, const InputOptions& options) {
    series::Store store(path, series::OpenMode::existing);
    const auto targets = store.list_targets();
    if (targets.empty())
        throw util::Error("{}: the watch database has no targets yet", path.string());
    const series::TargetInfo* found = nullptr;
    if (!options.target.empty()) {
        for (const auto& t : targets) {
            if (t.key == options.target || t.display == options.target) found = &t;
        }
        if (found == nullptr) {
            throw util::UsageError(
                "--target {}: {} has no such target (see `leakhunt history "
                "--db {}`)",
                options.target, path.string(), path.string());
        }
    } else if (targets.size() == 1) {
        found = &targets.front();
    } else {
        std::string keys;
        for (size_t i = 0; i < targets.size() && i < 8; ++i) {
            keys += (i ? ", " : "") + targets[i].key;
        }
        throw util::UsageError("{} holds {} targets ({}{}): choose one with --target KEY",
                               path.string(), targets.size(), keys,
                               targets.size() > 8 ? ", ..." : "");
    }
    series::Series s = store.load_series(found->id);
    s.name = found->display.empty() ? found->key : found->display;
    b.set_service(s.name);
    b.add_source("watch database", path.string(),
                 fmt::format("target {}, {} samples", found->key, s.size()));
    b.set_series(std::move(s), options.classify);
}

}  // namespace

std::string_view to_string(InputKind kind) {
    switch (kind) {
        case InputKind::record_dir:
            return "record directory";
        case InputKind::watch_db:
            return "watch database";
        case InputKind::series:
            return "series";
        case InputKind::profile:
            return "profile";
        case InputKind::suspects:
            return "suspects";
        case InputKind::retention_paths:
            return "retention paths";
        case InputKind::heap_scan:
            return "heap scan";
        case InputKind::heap_graph:
            return "heap graph";
    }
    return "?";
}

InputKind detect_input(const fs::path& path) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
        throw util::Error("{}: no such file or directory (expected {})", path.string(), k_accepted);
    }
    if (fs::is_directory(st)) return InputKind::record_dir;
    if (heapgraph::is_v8_snapshot_name(path) || heapgraph::is_hprof_name(path) ||
        heapgraph::is_pygraph_name(path)) {
        return InputKind::heap_graph;
    }
    const std::string head = head_of(path, 4096);
    if (head.starts_with(std::string_view("SQLite format 3\0", 16))) return InputKind::watch_db;
    if (head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b') return InputKind::profile;
    if (head.starts_with(std::string_view(format::k_scan_magic, sizeof format::k_scan_magic))) {
        return InputKind::heap_scan;
    }
    const std::string ext = path.extension().string();
    if (ext == ".pprof" || ext == ".pb" || ext == ".prof") return InputKind::profile;
    const std::string_view text = trim_left(head);
    if (text.starts_with("{") || text.starts_with("[")) {
        if (series::looks_like_prometheus_json(head)) return InputKind::series;
        nlohmann::json rows;
        try {
            rows = json_rows(util::read_file(path), path);
        } catch (const util::Error&) {
            rows = nlohmann::json::array();  // not JSON rows: maybe a series; judged below
        }
        if (rows.is_array() && !rows.empty() && rows.front().is_object()) {
            const nlohmann::json& first = rows.front();
            if (first.contains("function")) return InputKind::suspects;
            if (first.contains("hops") && first.contains("root")) return InputKind::retention_paths;
            if (is_paths_json(rows)) return InputKind::retention_paths;
        }
        if (series::looks_like_jsonl(head)) return InputKind::series;
        throw util::Error(
            "{}: JSON, but neither a series (JSON lines of `watch --json`, "
            "Prometheus query_range), suspects (objects with \"function\") nor "
            "retention paths (`paths --json`, or objects with \"root\" and "
            "\"hops\")",
            path.string());
    }
    const size_t eol = head.find('\n');
    const std::string_view first_line = std::string_view(head).substr(0, eol);
    if (first_line.find("rss_bytes") != std::string_view::npos) return InputKind::series;
    throw util::Error("cannot tell what {} is: expected {}", path.string(), k_accepted);
}

InputKind add_input(ReportBuilder& b, const fs::path& path, const InputOptions& options) {
    const InputKind kind = detect_input(path);
    switch (kind) {
        case InputKind::record_dir:
            add_record_dir(b, path, options);
            break;
        case InputKind::watch_db:
            add_watch_db(b, path, options);
            break;
        case InputKind::series:
            add_series_file(b, path, util::read_file(path), options);
            break;
        case InputKind::profile: {
            profile::Profile p = profile::read_profile(path);
            b.add_source("profile", path.string(), fmt::format("{} stacks", p.samples.size()));
            b.add_profile(path.filename().string(), std::move(p));
            break;
        }
        case InputKind::suspects: {
            nlohmann::json rows = json_rows(util::read_file(path), path);
            b.add_source("suspects", path.string(), fmt::format("{} rows", rows.size()));
            b.set_suspects(std::move(rows), path.string());
            break;
        }
        case InputKind::retention_paths: {
            nlohmann::json rows = json_rows(util::read_file(path), path);
            if (rows.front().value("type", "") == "class") {
                // A heap graph's `paths --json`: its classes, read back.
                heapgraph::HeapGraphPaths g;
                g.file = path.string();
                g.snapshots = 1;
                for (const auto& row : rows) {
                    if (row.is_object() && row.value("type", "") == "class")
                        g.classes.push_back(heapgraph::class_paths_from_json(row, path.string()));
                }
                b.add_source("retention paths", path.string(),
                             fmt::format("{} classes", g.classes.size()));
                add_heap_graph_paths(b, g, path.string());
                break;
            }
            if (is_paths_json(rows)) {
                heapscan::RetentionReport r = retention_from_paths_json(rows, path.string());
                const bool grew = std::any_of(r.sites.begin(), r.sites.end(),
                                              [](const auto& s) { return s.growth_bytes != 0; });
                b.add_source("retention paths", path.string(),
                             fmt::format("{} sites", r.sites.size()));
                b.set_retention(std::move(r), grew, path.string());
                break;
            }
            b.add_source("retention paths", path.string(), fmt::format("{} paths", rows.size()));
            b.set_retention_paths(std::move(rows), path.string());
            break;
        }
        case InputKind::heap_scan:
            add_heap_scan(b, path, "retention paths");
            break;
        case InputKind::heap_graph:
            b.set_service(path.stem().string());
            add_heap_graph_evidence(b, heap_graph_evidence({path.string()}));
            break;
    }
    return kind;
}

}  // namespace leakhunt::report
