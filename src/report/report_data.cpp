// ReportBuilder: series -> timeline + verdict, profiles -> flame trees, and the list of what is
// missing.
#include "report/report_data.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "recorddir/record_dir.hpp"
#include "report/scan_paths.hpp"
#include "report/snapshot_suspects.hpp"
#include "report/totals.hpp"
#include "report/verdict_report.hpp"
#include "series/downsample.hpp"
#include "series/timestamp.hpp"
#include "symbolize/aggregate.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace leakhunt::report {
namespace {

nlohmann::json finite_or_null(std::optional<double> v) {
    if (v && std::isfinite(*v)) return *v;
    return nullptr;
}

// A column as JSON numbers, NaN (missing) as null.
nlohmann::json column_json(const std::vector<double>& v) {
    nlohmann::json arr = nlohmann::json::array();
    arr.get_ref<nlohmann::json::array_t&>().reserve(v.size());
    for (double x : v) {
        if (std::isfinite(x))
            arr.push_back(x);
        else
            arr.push_back(nullptr);
    }
    return arr;
}

// The rows `keep` of a column (all of them when keep is empty), as column_json.
nlohmann::json column_json(const std::vector<double>& v, const std::vector<size_t>& keep) {
    if (keep.empty()) return column_json(v);
    std::vector<double> picked;
    picked.reserve(keep.size());
    for (size_t i : keep) picked.push_back(v[i]);
    return column_json(picked);
}

// The page draws at most this many pixel columns; a longer timeline is reduced to the min and max
// of RSS per column (series/downsample.hpp) so that 10M samples make a page of a few hundred KB.
constexpr size_t k_timeline_columns = 4096;

// Suspects this confident (trend/suspects.hpp: (1 - p) x monotone x late/overall) are clear
// growth, enough for the page's verdict when its timeline cannot decide.
constexpr double k_clear_suspect_confidence = 0.5;

// The page's verdict when its timeline could not decide (inconclusive) but the heap snapshots'
// suspects grow clearly: a leak, at the suspects' summed growth, saying that it
// comes from the snapshots and naming them. `snapshots` is 0 when not known (a given list).
// Returns false (and leaves `verdict` alone) otherwise.
bool verdict_from_suspects(nlohmann::json& verdict, const nlohmann::json& suspects,
                           const std::string& source, size_t snapshots) {
    if (!verdict.is_object() || verdict.value("verdict", "") != "inconclusive") return false;
    if (!suspects.is_array()) return false;
    double growth = 0;
    double confidence = 0;
    size_t growing = 0;
    const nlohmann::json* top = nullptr;
    for (const auto& row : suspects) {
        const auto shape = row.find("shape");
        const auto g = row.find("growth_bytes_per_hour");
        const auto c = row.find("confidence");
        if (shape == row.end() || *shape != "steady growth" || g == row.end() || !g->is_number() ||
            c == row.end() || !c->is_number() || g->get<double>() <= 0) {
            continue;
        }
        growth += g->get<double>();
        ++growing;
        if (c->get<double>() > confidence) {
            confidence = c->get<double>();
            top = &row;
        }
    }
    if (top == nullptr || confidence < k_clear_suspect_confidence) return false;
    std::vector<std::string> evidence;
    evidence.push_back(fmt::format(
        "from the heap snapshots: {} allocation site{} of {} grow{} steadily{}, {} in all", growing,
        growing == 1 ? "" : "s", source, growing == 1 ? "s" : "",
        snapshots > 0 ? fmt::format(" over {} snapshots", snapshots) : std::string(),
        util::format_rate(growth)));
    if (const auto sentence = top->find("sentence");
        sentence != top->end() && sentence->is_string()) {
        evidence.push_back("the clearest: " + sentence->get<std::string>());
    }
    const size_t samples = verdict.value("samples", size_t{0});
    evidence.push_back(fmt::format(
        "the memory timeline ({} sample{}) is too short or too noisy to decide on its own:",
        samples, samples == 1 ? "" : "s"));
    for (const auto& e : verdict.value("evidence", nlohmann::json::array())) {
        if (e.is_string()) evidence.push_back("timeline: " + e.get<std::string>());
    }
    verdict["verdict"] = "leak";
    verdict["based_on"] = "heap snapshots";
    verdict["growth_bytes_per_hour"] = std::round(growth);
    verdict["confidence"] = std::round(confidence * 1000) / 1000;
    verdict["evidence"] = evidence;
    verdict["watch_more_s"] = nullptr;
    return true;
}

// Rows of the table beside the flame graph: the functions holding the most, as `leakhunt top`
// ranks them.
constexpr size_t k_flame_table_rows = 20;

// The count that goes with a byte sample type: objects in use for inuse_space, allocations for
// alloc_space; nullopt for any other type.
std::optional<int64_t> objects_of(const symbolize::HeapValues& v, std::string_view type) {
    if (type == "inuse_space") return v.inuse_objects;
    if (type == "alloc_space") return v.alloc_objects;
    return std::nullopt;
}

// The first k_flame_table_rows rows of `leakhunt top --json` for `type`: function, file, line,
// bytes (top's flat), objects and share (flat / total, a fraction).
nlohmann::json flame_table_json(const symbolize::Aggregate& agg, std::string_view type) {
    const int64_t total = agg.total.get(type);
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : agg.rows) {
        if (rows.size() == k_flame_table_rows) break;
        if (r.flat == symbolize::HeapValues{}) continue;  // only on stacks: `top` drops them too
        const auto objects = objects_of(r.flat, type);
        const int64_t v = r.flat.get(type);
        rows.push_back(
            {{"function", r.function},
             {"file", r.file},
             {"line", r.line},
             {"bytes", v},
             {"objects", objects ? nlohmann::json(*objects) : nlohmann::json(nullptr)},
             {"share", total == 0 ? 0.0 : static_cast<double>(v) / static_cast<double>(total)}});
    }
    return rows;
}

std::string now_rfc3339() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return series::format_rfc3339(std::chrono::duration<double>(now).count());
}

}  // namespace

ReportBuilder::ReportBuilder(std::string title, std::string prefix)
    : m_title(std::move(title)), m_prefix(std::move(prefix)) {}

void ReportBuilder::add_source(std::string kind, std::string path, std::string detail) {
    nlohmann::json s = {{"kind", std::move(kind)}, {"path", std::move(path)}};
    if (!detail.empty()) s["detail"] = std::move(detail);
    m_sources.push_back(std::move(s));
}

void ReportBuilder::set_series(series::Series s, const trend::ClassifyOptions& options) {
    // The agent's count of temporary allocations, from whichever series has it (a record
    // directory's timeline beside a soak's or watch's series that is drawn).
    if (!m_temporary) m_temporary = last_temporary_allocations(s);
    if (m_series) {
        note(fmt::format("only one memory series is drawn: {} is shown, {} is not", m_series->name,
                         s.name));
        return;
    }
    m_series = std::move(s);
    m_classify = options;
}

void ReportBuilder::add_profile(std::string name, profile::Profile p) {
    m_profiles.emplace_back(std::move(name), std::move(p));
}

void ReportBuilder::set_suspects(nlohmann::json rows, const std::string& source_name) {
    if (!rows.is_array()) {
        throw util::Error(
            "{}: suspects must be a JSON array of objects (the output of "
            "`leakhunt suspects --json`)",
            source_name);
    }
    for (const auto& r : rows) {
        if (!r.is_object() || !r.contains("function")) {
            throw util::Error("{}: every suspect must be an object with at least \"function\"",
                              source_name);
        }
    }
    if (m_suspects)
        note(fmt::format("only the first suspects list is shown; {} is not", source_name));
    else
        m_suspects = std::move(rows);
}

void ReportBuilder::set_retention_paths(nlohmann::json paths, const std::string& source_name) {
    if (!paths.is_array()) {
        throw util::Error(
            "{}: retention paths must be a JSON array of {{root, hops, blocks, bytes}}",
            source_name);
    }
    for (const auto& p : paths) {
        if (!p.is_object() || !p.contains("root") || !p.contains("hops") || !p["hops"].is_array()) {
            throw util::Error(
                "{}: every retention path must be an object with \"root\" and a "
                "\"hops\" array",
                source_name);
        }
    }
    if (m_paths || m_retention)
        note(fmt::format("only the first retention-path list is shown; {} is not", source_name));
    else
        m_paths = std::move(paths);
}

void ReportBuilder::set_retention(heapscan::RetentionReport report, bool with_growth,
                                  const std::string& source_name) {
    if (m_paths || m_retention) {
        note(fmt::format("only the first retention-path list is shown; {} is not", source_name));
        return;
    }
    m_paths = retention_rows(report);
    m_retention = std::move(report);
    m_retention_growth = with_growth;
}

void ReportBuilder::suspects_from_profiles(std::string source, std::vector<std::string> leave_out,
                                           std::map<std::string, SnapshotFacts> facts) {
    m_suspect_source = std::move(source);
    m_suspect_leave_out = std::move(leave_out);
    m_suspect_facts = std::move(facts);
}

std::optional<nlohmann::json> ReportBuilder::computed_suspects(symbolize::Symbolizer& symbolizer,
                                                               std::string& why_not) {
    std::vector<SuspectSnapshot> snaps;
    for (size_t i = 0; i < m_profiles.size(); ++i) {
        const auto& [name, p] = m_profiles[i];
        if (std::find(m_suspect_leave_out.begin(), m_suspect_leave_out.end(), name) !=
            m_suspect_leave_out.end()) {
            continue;
        }
        const auto parsed = recorddir::parse_snapshot_name(name);
        const auto facts = m_suspect_facts.find(name);
        const SnapshotFacts f = facts == m_suspect_facts.end() ? SnapshotFacts{} : facts->second;
        snaps.push_back({name, parsed ? parsed->seq : static_cast<unsigned>(i), &p, f.rss_bytes,
                         f.collected_heap_bytes, f.whole_heap_bytes});
    }
    if (snaps.size() < k_min_suspect_snapshots) {
        why_not = fmt::format(
            "suspects: {} has {} heap snapshot{}, {} are needed to see a "
            "trend (record longer, or with a shorter --snapshot-every)",
            *m_suspect_source, snaps.size(), snaps.size() == 1 ? "" : "s", k_min_suspect_snapshots);
        return std::nullopt;
    }
    const size_t used = snaps.size();
    try {
        const SnapshotSuspects found =
            find_snapshot_suspects(std::move(snaps), symbolizer, "inuse_space", m_progress);
        nlohmann::json rows = nlohmann::json::array();
        for (size_t i = 0; i < found.report.suspects.size(); ++i) {
            rows.push_back(suspect_json(found.report.suspects[i], i + 1, found.unit));
        }
        if (rows.empty()) {
            why_not = fmt::format(
                "suspects: no allocation site grows steadily over the {} "
                "snapshots of {} ({} sites: plateau, churn, shrinking or flat)",
                used, *m_suspect_source, found.report.others.size());
            return std::nullopt;
        }
        m_suspect_snapshots = used;
        m_summary.push_back(fmt::format("suspects: {} of {} sites grow steadily over {} snapshots",
                                        rows.size(), rows.size() + found.report.others.size(),
                                        used));
        return rows;
    } catch (const util::Error& e) {
        why_not = fmt::format("suspects: {}", e.what());
        return std::nullopt;
    }
}

nlohmann::json ReportBuilder::timeline_json(const trend::Classification& c) const {
    const series::Series& s = *m_series;
    const std::vector<double>& rss = *s.column(series::k_rss);
    std::vector<size_t> keep;
    if (s.size() > 2 * k_timeline_columns)
        keep = series::min_max_indices(s.t, rss, k_timeline_columns);
    nlohmann::json tl;
    tl["name"] = s.name;
    tl["samples"] = s.size();  // before downsampling; "t" holds the rows drawn
    tl["t"] = column_json(s.t, keep);
    tl["epoch_offset_s"] = finite_or_null(s.epoch_offset);
    tl["rss_bytes"] = column_json(rss, keep);
    if (const auto* heap = s.column(series::k_heap_inuse))
        tl["heap_inuse_bytes"] = column_json(*heap, keep);
    tl["limit_bytes"] = finite_or_null(c.limit_bytes);
    tl["restarts_s"] = c.memory.restarts_s;
    tl["first_leak_at_s"] = finite_or_null(c.first_leak_at_s);
    const trend::Assessment& a = c.memory;
    if (a.fit_to_s > a.fit_from_s && std::isfinite(a.baseline_fit.slope) &&
        std::isfinite(a.baseline_fit.intercept)) {
        tl["trend"] = {{"from_s", a.fit_from_s},
                       {"to_s", a.fit_to_s},
                       {"slope_per_s", a.baseline_fit.slope},
                       {"intercept", a.baseline_fit.intercept}};
    } else {
        tl["trend"] = nullptr;
    }
    return tl;
}

nlohmann::json ReportBuilder::build(symbolize::Symbolizer& symbolizer, const FlameOptions& flame,
                                    std::string generated_at) {
    m_summary.clear();
    nlohmann::json missing = nlohmann::json::array();
    nlohmann::json doc;
    doc["format"] = "leakhunt-report";
    doc["version"] = k_report_version;
    std::string service = m_service;
    if (service.empty() && m_series) service = m_series->name;
    if (service.empty() && !m_profiles.empty()) service = m_profiles.front().first;
    doc["service"] = service;
    doc["title"] = !m_title.empty()  ? m_title
                   : service.empty() ? m_prefix
                                     : fmt::format("{}: {}", m_prefix, service);
    doc["generated_at"] = generated_at.empty() ? now_rfc3339() : std::move(generated_at);
    doc["leakhunt_version"] = "0.1.0";
    doc["sources"] = m_sources;

    if (m_series && m_series->column(series::k_rss) != nullptr && !m_series->empty()) {
        const trend::Classification c = trend::classify(*m_series, m_classify);
        doc["verdict"] = verdict_json(*m_series, c);
        doc["timeline"] = timeline_json(c);
        m_summary.push_back(
            fmt::format("verdict and timeline: {}, {} samples", m_series->name, m_series->size()));
    } else {
        doc["verdict"] = nullptr;
        doc["timeline"] = nullptr;
        missing.push_back(
            m_series ? fmt::format("verdict and memory timeline: the series {} has no samples",
                                   m_series->name)
                     : std::string("verdict and memory timeline: no memory series was given (a "
                                   "`leakhunt record` directory, a watch database, or a series "
                                   "CSV, JSON lines or Prometheus JSON file)"));
    }

    std::string suspects_why_not;
    std::optional<nlohmann::json> computed;
    if (!m_suspects && m_suspect_source) computed = computed_suspects(symbolizer, suspects_why_not);
    if (m_suspects && !m_suspects->empty()) {
        doc["suspects"] = *m_suspects;
        m_summary.push_back(fmt::format("suspects: {} rows", m_suspects->size()));
    } else if (computed) {
        doc["suspects"] = std::move(*computed);
    } else if (!suspects_why_not.empty()) {
        doc["suspects"] = nullptr;
        missing.push_back(suspects_why_not);
    } else {
        doc["suspects"] = nullptr;
        missing.push_back(m_suspects ? "suspects: the suspects list given is empty"
                                     : "suspects: no suspects list was given (pass the output of "
                                       "`leakhunt suspects DIR --json` as a .json file)");
    }

    // The verdict uses what the page knows: a timeline too short to decide, beside snapshots
    // whose suspects grow clearly, is a leak seen in the snapshots.
    if (verdict_from_suspects(
            doc["verdict"], doc["suspects"],
            m_suspects || !m_suspect_source ? "the given suspects list" : *m_suspect_source,
            m_suspects ? 0 : m_suspect_snapshots)) {
        m_summary.push_back(
            fmt::format("verdict: leak, {}, from the heap snapshots (the "
                        "timeline alone cannot decide)",
                        util::format_rate(doc["verdict"]["growth_bytes_per_hour"].get<double>())));
    }

    // What the flame graphs draw: the profiles in order, less any left out of them.
    std::vector<const std::pair<std::string, profile::Profile>*> drawn;
    for (const auto& entry : m_profiles) {
        if (std::find(m_graph_leave_out.begin(), m_graph_leave_out.end(), entry.first) ==
            m_graph_leave_out.end()) {
            drawn.push_back(&entry);
        }
    }
    std::optional<symbolize::Aggregate> latest;
    if (!drawn.empty()) {
        const auto& [name, p] = *drawn.back();
        FlameNode root = build_flame_tree(p, symbolizer, name, flame);
        const size_t nodes = count_nodes(root);
        doc["flame"] = {{"file", name},        {"sample_type", flame.sample_type},
                        {"total", root.value}, {"stacks", p.samples.size()},
                        {"nodes", nodes},      {"root", flame_json(root, WithDelta::no)}};
        symbolize::AggregateOptions by_function;
        by_function.sort_by = flame.sample_type;
        latest = symbolize::aggregate(p, symbolizer, by_function, name);
        doc["flame"]["top"] = flame_table_json(*latest, flame.sample_type);
        m_summary.push_back(
            fmt::format("flame graph: {} ({} stacks, {} nodes)", name, p.samples.size(), nodes));
    } else {
        doc["flame"] = nullptr;
        missing.push_back(
            "flame graph: no heap profile was given (a `leakhunt record` directory "
            "or a pprof heap profile)");
    }

    doc["totals"] = totals_json({m_series ? &*m_series : nullptr, latest ? &*latest : nullptr,
                                 m_leaks, m_at_exit, m_temporary});

    if (drawn.size() >= 2) {
        const auto& [from_name, from] = *drawn.front();
        const auto& [to_name, to] = *drawn.back();
        FlameNode root = build_diff_tree(from, from_name, to, to_name, symbolizer, flame);
        const size_t nodes = count_nodes(root);
        doc["diff_flame"] = {{"from", from_name},
                             {"to", to_name},
                             {"sample_type", flame.sample_type},
                             {"total", root.value},
                             {"delta", root.delta},
                             {"nodes", nodes},
                             {"root", flame_json(root, WithDelta::yes)}};
        m_summary.push_back(
            fmt::format("diff flame graph: {} -> {} ({} nodes)", from_name, to_name, nodes));
    } else {
        doc["diff_flame"] = nullptr;
        missing.push_back(
            fmt::format("diff flame graph: needs two heap snapshots, {} given", drawn.size()));
    }

    if (m_heap_graph) {
        doc["heap_graph"] = *m_heap_graph;
        m_summary.push_back(fmt::format("heap graph: {} ({} classes shown)",
                                        (*m_heap_graph)["file"].get<std::string>(),
                                        (*m_heap_graph)["classes"].size()));
    } else {
        doc["heap_graph"] = nullptr;
    }

    doc["retention_sites"] = nullptr;
    if (m_retention && !m_retention->sites.empty())
        doc["retention_sites"] = retention_sites(*m_retention, m_retention_growth, doc["suspects"]);
    else if (m_given_sites.is_array() && !m_given_sites.empty())
        doc["retention_sites"] = m_given_sites;
    if (m_paths && !m_paths->empty()) {
        doc["retention_paths"] = *m_paths;
        m_summary.push_back(fmt::format("retention paths: {}", m_paths->size()));
    } else {
        doc["retention_paths"] = nullptr;
        missing.push_back(m_paths ? "retention paths: the list given is empty"
                                  : "retention paths: no heap scan or heap graph was given (scan "
                                    "a process recorded with --all: `leakhunt snapshot PID "
                                    "--scan`, or take a heap snapshot of a runtime: `leakhunt "
                                    "snapshot PID --heap`, then report its record directory; or "
                                    "pass `leakhunt paths SNAPSHOT --json`)");
    }

    std::vector<std::string> notes = m_notes;
    for (const auto& w : symbolizer.warnings()) notes.push_back("symbols: " + w);
    doc["missing"] = std::move(missing);
    doc["notes"] = notes;
    return doc;
}

}  // namespace leakhunt::report
