// `hunt`'s analysis and outputs (hunt_findings.hpp).
#include "cli/hunt_findings.hpp"

#include <cmath>

#include <fmt/format.h>

#include "cli/heapgraph_view.hpp"
#include "recorddir/record_dir.hpp"
#include "report/heap_graph_report.hpp"
#include "report/html_report.hpp"
#include "report/report_data.hpp"
#include "report/report_inputs.hpp"
#include "report/scan_paths.hpp"
#include "report/verdict_report.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

namespace fs = std::filesystem;

constexpr char k_finding_name[] = "finding.json";
std::vector<std::string> row_steps(const nlohmann::json& row) {
    std::vector<std::string> steps{row.value("root", "")};
    for (const auto& h : row.value("hops", nlohmann::json::array())) {
        if (h.contains("site") && h["site"].is_string())
            steps.push_back(h["site"].get<std::string>());
    }
    return steps;
}

// The retention path of the top suspect: the first row whose site names its function (a heap
// scan's sites are allocation sites), else the first row (a heap graph's biggest class).
std::vector<std::string> holder_of(const nlohmann::json& rows, const nlohmann::json& suspect) {
    if (!rows.is_array() || rows.empty()) return {};
    const std::string function = suspect.is_object() ? suspect.value("function", "") : "";
    if (!function.empty()) {
        for (const auto& r : rows) {
            if (report::site_names_function(r.value("site", ""), function)) return row_steps(r);
        }
    }
    return row_steps(rows.front());
}

std::string site_text(const nlohmann::json& s) {
    std::string text = s.value("function", "?");
    const std::string file = s.value("file", "");
    if (!file.empty()) {
        const long line = s.value("line", 0L);
        text += line > 0 ? fmt::format(" ({}:{})", fs::path(file).filename().string(), line)
                         : fmt::format(" ({})", fs::path(file).filename().string());
    }
    return text;
}

std::string steps_text(const std::vector<std::string>& steps) {
    std::string out;
    for (const auto& s : steps) out += (out.empty() ? "" : " -> ") + s;
    return out;
}

// Series time of the last sample, to turn the projection into "in N hours".
std::optional<double> time_to_limit_s(const HuntFacts& f) {
    if (!f.verdict.memory.projected_limit_at_s || f.series.t.empty()) return std::nullopt;
    return std::max(0.0, *f.verdict.memory.projected_limit_at_s - f.series.t.back());
}

}  // namespace

patterns::Finding finding_of_report(const nlohmann::json& doc, const std::string& runtime) {
    patterns::Finding f;
    f.runtime = runtime;
    const nlohmann::json& suspects = doc.contains("suspects") ? doc["suspects"] : nlohmann::json();
    const nlohmann::json top =
        suspects.is_array() && !suspects.empty() ? suspects.front() : nlohmann::json();
    if (top.is_object()) f.site = top.value("function", "");
    if (doc.contains("retention_paths")) f.holder_steps = holder_of(doc["retention_paths"], top);
    return f;
}

HuntFindings analyse_hunt(const fs::path& dir, const HuntFacts& facts,
                          const std::vector<patterns::Pattern>& learned) {
    HuntFindings out;
    report::ReportBuilder builder(
        fmt::format("leakhunt hunt: pid {} ({})", facts.pid, facts.program));
    report::InputOptions in;
    in.classify.engine.limit_bytes = facts.verdict.limit_bytes;
    if (fs::exists(dir / "watch.csv")) report::add_input(builder, dir / "watch.csv", in);
    const fs::path record = dir / "record";
    std::optional<report::HeapGraphEvidence> graphs;
    in.heap_graphs = report::InputOptions::HeapGraphs::caller_explains;  // kept: paths.json
    if (!facts.runtime.empty() && fs::is_directory(record)) {
        try {
            report::add_input(builder, record, in);
        } catch (const util::Error& e) {
            builder.note(
                fmt::format("the capture's record directory could not be read: {}", e.what()));
        }
        const recorddir::Listing listing = recorddir::list(record);
        for (long id : listing.ids())
            out.heap_dump = out.heap_dump || listing.count(id, recorddir::Kind::scan) > 0;
        if (const auto files = heap_graph_files_in(record.string()); !files.empty()) {
            try {
                graphs = report::heap_graph_evidence(files);
            } catch (const util::Error& e) {
                builder.note(fmt::format("heap graph: {}", e.what()));
            }
        }
        if (graphs) {
            out.heap_dump = true;
            std::string text;
            for (const auto& c : graphs->paths.classes)
                text +=
                    heapgraph::class_paths_json(c, report::k_report_paths_per_class).dump() + "\n";
            util::write_file_atomic(dir / "paths.json", text);
            report::add_heap_graph_evidence(builder, *graphs);
        }
    }
    if (!facts.runtime.empty()) {
        builder.note(
            facts.runtime == "native"
                ? "the agent was attached to the running process: only allocations made "
                  "after the attach are seen"
                : fmt::format("captured through the {} runtime's own interface", facts.runtime));
    }
    symbolize::Symbolizer symbolizer;
    nlohmann::json doc = builder.build(symbolizer);

    out.finding = finding_of_report(doc, facts.runtime);
    out.holder = out.finding.holder_steps;
    const nlohmann::json& suspects = doc["suspects"];
    if (suspects.is_array() && !suspects.empty()) out.top_suspect = suspects.front();
    for (const auto& m : doc["missing"]) {
        if (m.is_string() && m.get<std::string>().starts_with("suspects"))
            out.suspects_missing = m.get<std::string>();
    }
    if (!out.holder.empty())
        out.holder_source =
            graphs ? "heap graph " + fs::path(graphs->paths.file).filename().string() : "heap scan";
    if (!facts.runtime.empty() && (!out.finding.site.empty() || !out.holder.empty())) {
        out.match = patterns::match(patterns::signature_of(out.finding), learned);
    }
    if (out.match) doc["notes"].push_back(patterns::describe(*out.match));
    util::write_file_atomic(dir / "report.html", report::render_report_html(doc));

    if (!facts.runtime.empty()) {
        nlohmann::json f{{"runtime", out.finding.runtime},
                         {"site", out.finding.site},
                         {"holder_steps", out.finding.holder_steps},
                         {"signature", patterns::to_json(patterns::signature_of(out.finding))},
                         {"pid", facts.pid},
                         {"program", facts.program}};
        util::write_file_atomic(dir / k_finding_name, f.dump(2) + "\n");
    }
    return out;
}

std::string hunt_summary(const fs::path& dir, const HuntFacts& facts, const HuntFindings& found) {
    const auto& a = facts.verdict.memory;
    std::string s = fmt::format(
        "leakhunt hunt: pid {} ({}){}, watched {}{}\n", facts.pid, facts.program,
        facts.runtime.empty() ? "" : ", " + facts.runtime, util::format_duration(facts.watched_s),
        facts.captured_s > 0 ? ", captured " + util::format_duration(facts.captured_s) : "");
    s += fmt::format("verdict:       {}", trend::to_string(a.verdict));
    if (a.verdict == trend::Verdict::leak || a.verdict == trend::Verdict::bounded) {
        s += fmt::format(", {} (confidence {:.2f})", util::format_rate(a.growth_bytes_per_hour),
                         a.confidence);
    }
    s += "\n";
    if (a.verdict == trend::Verdict::leak) {
        if (const auto left = time_to_limit_s(facts)) {
            s += fmt::format("time to limit: {} (limit {})\n", util::format_duration(*left),
                             util::format_bytes(*facts.verdict.limit_bytes));
        } else {
            s += "time to limit: no memory limit known (give --limit)\n";
        }
    }
    if (!a.evidence.empty()) s += fmt::format("evidence:      {}\n", a.evidence.front());
    if (!facts.stopped_because.empty())
        s += fmt::format("stopped:       {}\n", facts.stopped_because);
    if (!facts.capture_error.empty())
        s += fmt::format("capture:       failed: {}\n", facts.capture_error);
    if (!facts.runtime.empty()) {
        if (found.top_suspect.is_object()) {
            const double rate = found.top_suspect.value("growth_per_hour", 0.0);
            const std::string unit = found.top_suspect.value("unit", "bytes");
            s += fmt::format(
                "top suspect:   {}: {}/h, {:.0f}% of the growth\n", site_text(found.top_suspect),
                unit == "bytes" ? util::format_bytes(rate) : fmt::format("{:.0f} objects", rate),
                100.0 * found.top_suspect.value("share_of_growth", 0.0));
        } else {
            s += fmt::format("top suspect:   none ({})\n", found.suspects_missing.empty()
                                                               ? "no allocation site grows steadily"
                                                               : found.suspects_missing);
        }
        s +=
            found.holder.empty()
                ? std::string("held by:       unknown (no heap graph or heap scan to explain it)\n")
                : fmt::format("held by:       {}  [{}]\n", steps_text(found.holder),
                              found.holder_source);
        s += fmt::format("pattern:       {}\n", found.match ? patterns::describe(*found.match)
                                                            : "no known pattern matches");
    }
    s += fmt::format("files:         {}/report.html{}\n", dir.string(),
                     found.heap_dump ? ""
                                     : (facts.runtime.empty() ? " (no capture, no heap dump)"
                                                              : " (no heap dump)"));
    return s;
}

nlohmann::json hunt_summary_json(const fs::path& dir, const HuntFacts& facts,
                                 const HuntFindings& found) {
    nlohmann::json j = report::verdict_json(facts.series, facts.verdict);
    j["pid"] = facts.pid;
    j["program"] = facts.program;
    j["runtime"] = facts.runtime.empty() ? nlohmann::json(nullptr) : nlohmann::json(facts.runtime);
    j["watched_s"] = facts.watched_s;
    j["captured_s"] = facts.captured_s;
    j["stopped_because"] = facts.stopped_because;
    j["capture_error"] =
        facts.capture_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(facts.capture_error);
    const auto left = time_to_limit_s(facts);
    j["time_to_limit_s"] = left ? nlohmann::json(*left) : nlohmann::json(nullptr);
    j["top_suspect"] = found.top_suspect;
    j["holder"] = found.holder;
    j["heap_dump"] = found.heap_dump;
    j["pattern"] = found.match ? patterns::to_json(*found.match) : nlohmann::json(nullptr);
    j["report"] = (dir / "report.html").string();
    return j;
}

std::optional<patterns::Finding> read_finding(const fs::path& dir) {
    const fs::path path = dir / k_finding_name;
    int err = 0;
    const auto text = util::try_read_file(path, &err);
    if (!text) {
        if (err == ENOENT) return std::nullopt;
        throw util::Error("cannot read {}: {}", path.string(), util::errno_text(err));
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
        throw util::Error("{} is not JSON: {}", path.string(), e.what());
    }
    const auto text_field = [&](const char* name) {
        if (!j.is_object() || !j.contains(name) || !j[name].is_string()) {
            throw util::Error("{}: field `{}` is missing or not a string", path.string(), name);
        }
        return j[name].get<std::string>();
    };
    patterns::Finding f;
    f.runtime = text_field("runtime");
    f.site = text_field("site");
    if (!j.contains("holder_steps") || !j["holder_steps"].is_array()) {
        throw util::Error("{}: field `holder_steps` is missing or not a list", path.string());
    }
    for (const auto& s : j["holder_steps"]) {
        if (!s.is_string())
            throw util::Error("{}: field `holder_steps` holds a non-string", path.string());
        f.holder_steps.push_back(s.get<std::string>());
    }
    return f;
}

}  // namespace leakhunt::cli
