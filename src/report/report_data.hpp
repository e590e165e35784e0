// The data behind the HTML report and the live page: ReportBuilder collects what the user gave
// (a memory series, heap snapshots, suspects, retention paths) and builds one JSON document
// (ReportData) that web/src/main.js draws. Whatever is missing is said in its "missing" list, so
// a report never shows a silently empty section. Layout of the document (every part optional
// except format, version, title, service, sources, missing and notes):
//   title, service  the page's title (--title, else "leakhunt report: SERVICE") and the service:
//                   the recorded program "name (PID n)", a series' target, or its file's stem
//   verdict         verdict_json() of the series (DESIGN.md's verdict JSON); when the series
//                   cannot decide (inconclusive) and the suspects grow clearly,
//                   a leak at their summed growth with "based_on": "heap snapshots"
//   timeline        {name, t[], epoch_offset_s, rss_bytes[], heap_inuse_bytes[], limit_bytes,
//                    restarts_s[], first_leak_at_s, trend {from_s, to_s, slope_per_s, intercept}}
//   suspects        the rows of `leakhunt suspects --json` (function, file, line,
//                    growth_bytes_per_hour, share_of_growth, shape, confidence): given, or
//                    computed from the snapshots of a record directory (3 or more)
//   flame           {file, sample_type, total, stacks, nodes, root, top} of the last snapshot;
//                    top: the first 20 rows of `leakhunt top --json` {function, file, line,
//                    bytes, objects, share}
//   totals          report/totals.hpp's totals_json: peak and last RSS and heap, the latest
//                    snapshot's in use and allocations, leaked (a heap scan's unreachable
//                    blocks), still allocated at exit (the exit snapshot), and why the
//                    temporary allocations are not recorded; each only where the inputs have it
//   diff_flame      {from, to, sample_type, total, delta, nodes, root} between first and last
//   retention_paths [{root, site, hops: [{site, offset}], blocks, bytes}] (site: a label such
//                    as "std::vector::reserve in fill_sessions (holders.cpp:60)")
//   retention_sites of a heap scan: [{site, function, blocks, bytes, growth_bytes,
//                    growth_bytes_per_hour, suspect, heading, lines}], the growing sites first,
//                    each with the lines `leakhunt paths` prints (report/scan_paths.hpp)
//   heap_graph      {file, nodes, edges, heap_bytes, classes, dominators} of the last heap graph
//                    (report/heap_graph_report.hpp)
// Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "heapscan/retention.hpp"
#include "profile/profile.hpp"
#include "report/flame_tree.hpp"
#include "report/snapshot_suspects.hpp"
#include "report/totals.hpp"
#include "series/series.hpp"
#include "symbolize/symbolizer.hpp"
#include "trend/classify.hpp"

namespace leakhunt::report {

inline constexpr int k_report_version = 1;

class ReportBuilder {
  public:
    // An empty title is "{prefix}: {service}", the service being set_service's name, else the
    // series' name, else the first profile's.
    explicit ReportBuilder(std::string title, std::string prefix = "leakhunt report");

    // The name of the service reported on (the recorded program, the series' target); the first
    // call wins.
    void set_service(std::string name) {
        if (m_service.empty()) m_service = std::move(name);
    }

    // kind: "record directory", "watch database", "series", "profile", "suspects",
    // "retention paths"; detail: what was taken from it.
    void add_source(std::string kind, std::string path, std::string detail = {});

    // The series of the timeline and the verdict. A second call keeps the first and notes it.
    void set_series(series::Series s, const trend::ClassifyOptions& options = {});
    bool has_series() const { return m_series.has_value(); }

    // Heap snapshots, in time order: the last is drawn as a flame graph, first to last as the
    // diff flame graph.
    void add_profile(std::string name, profile::Profile p);
    size_t profile_count() const { return m_profiles.size(); }

    // Computes the suspects from the profiles when build() runs (as `leakhunt suspects` does),
    // unless a suspects list is given: the profiles are snapshots of one process, the ones named
    // in `leave_out` (an exit snapshot, by recorddir::select_profiles) are not used. `source`
    // names them in messages; `facts` (by profile name, from the record directory's timeline)
    // give the RSS and runtime heap each one was taken at.
    void suspects_from_profiles(std::string source, std::vector<std::string> leave_out = {},
                                std::map<std::string, SnapshotFacts> facts = {});
    // A profile the flame graphs do not draw (an exit snapshot the suspects still need).
    void leave_out_of_graphs(std::string name) { m_graph_leave_out.push_back(std::move(name)); }

    // Told (done, total) while build() aggregates the snapshots for the suspects.
    void set_progress(std::function<void(size_t, size_t)> progress) {
        m_progress = std::move(progress);
    }

    // Rows of `leakhunt suspects --json`; an array of objects. Throws util::Error otherwise.
    void set_suspects(nlohmann::json rows, const std::string& source_name);
    // An array of {root, hops, blocks, bytes}. Throws util::Error naming the source otherwise.
    void set_retention_paths(nlohmann::json paths, const std::string& source_name);
    // A heap scan's retention report (report/scan_paths.hpp), drawn as one heading per site with
    // the lines `leakhunt paths` prints; `with_growth`: built against a base scan. The first
    // retention report or path list given wins.
    void set_retention(heapscan::RetentionReport report, bool with_growth,
                       const std::string& source_name);
    // Retention sites already in words ({site, heading, lines, ...}, as retention_sites writes
    // them): a heap graph's classes, which the CLI explains. Shown when no heap scan is.
    void set_retention_sites(nlohmann::json sites) { m_given_sites = std::move(sites); }

    // The totals of what leaked (a heap scan's unreachable blocks) and of what the exit snapshot
    // still held (report/totals.hpp); the last call wins.
    void set_scan_leaks(ScanLeaks leaks) { m_leaks = std::move(leaks); }
    void set_exit_in_use(ExitInUse at_exit) { m_at_exit = std::move(at_exit); }

    // The heap graph section (report/heap_graph_report.hpp); the first call wins.
    void set_heap_graph(nlohmann::json section) {
        if (!m_heap_graph) m_heap_graph = std::move(section);
    }
    bool has_heap_graph() const { return m_heap_graph.has_value(); }

    void note(std::string text) { m_notes.push_back(std::move(text)); }

    // Classifies the series, folds the profiles (symbolized with `symbolizer`) and returns the
    // document. `generated_at` is an RFC 3339 time (empty: now).
    nlohmann::json build(symbolize::Symbolizer& symbolizer, const FlameOptions& flame = {},
                         std::string generated_at = {});

    // One line per part included, for the CLI ("timeline: mem.csv, 3600 samples").
    const std::vector<std::string>& summary() const { return m_summary; }

  private:
    nlohmann::json timeline_json(const trend::Classification& c) const;
    // The computed suspects, or the reason there are none (for "missing").
    std::optional<nlohmann::json> computed_suspects(symbolize::Symbolizer& symbolizer,
                                                    std::string& why_not);

    std::string m_title;
    std::string m_prefix;
    std::string m_service;
    nlohmann::json m_sources = nlohmann::json::array();
    std::optional<series::Series> m_series;
    trend::ClassifyOptions m_classify;
    std::vector<std::pair<std::string, profile::Profile>> m_profiles;
    std::optional<nlohmann::json> m_suspects;
    std::optional<std::string> m_suspect_source;
    std::vector<std::string> m_suspect_leave_out;
    std::map<std::string, SnapshotFacts> m_suspect_facts;  // by profile name
    std::vector<std::string> m_graph_leave_out;
    size_t m_suspect_snapshots = 0;  // snapshots the computed suspects used
    std::function<void(size_t, size_t)> m_progress;
    std::optional<nlohmann::json> m_paths;
    std::optional<nlohmann::json> m_heap_graph;
    std::optional<double> m_temporary;  // the agent's temporary allocations (totals.hpp)
    std::optional<heapscan::RetentionReport> m_retention;
    bool m_retention_growth = false;
    nlohmann::json m_given_sites;
    std::optional<ScanLeaks> m_leaks;
    std::optional<ExitInUse> m_at_exit;
    std::vector<std::string> m_notes;
    std::vector<std::string> m_summary;
};

}  // namespace leakhunt::report
