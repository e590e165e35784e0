// `leakhunt report INPUT... -o report.html`: one self-contained HTML file (no network needed to
// open it) from whatever is given: a record directory, a watch database, a series file, heap
// profiles, a heap scan, suspects and retention-path JSON (src/report/report_inputs.hpp tells
// them apart).
// Prints what it included; the page says what is missing.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "cli/hunt_findings.hpp"
#include "cli/progress.hpp"
#include "patterns/patterns.hpp"
#include "recorddir/record_dir.hpp"
#include "report/heap_graph_report.hpp"
#include "report/html_report.hpp"
#include "report/report_inputs.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

struct ReportArgs {
    std::vector<std::string> inputs;
    std::string output;
    std::string data_output;
    std::string title;
    std::string target;
    std::string limit;
    std::string live_url;
    int refresh_ms = 5000;
    std::string patterns_file;
};

int run_report(const ReportArgs& args) {
    if (!args.live_url.empty()) {
        if (!args.inputs.empty()) {
            throw util::UsageError("--live writes a page without data: give no inputs with it");
        }
        const std::string title = args.title.empty() ? "leakhunt (live)" : args.title;
        util::write_file_atomic(args.output,
                                report::render_live_html(args.live_url, title, args.refresh_ms));
        std::printf("wrote %s: loads %s every %d ms\n", args.output.c_str(), args.live_url.c_str(),
                    args.refresh_ms);
        return k_exit_ok;
    }
    if (args.inputs.empty()) {
        throw util::UsageError(
            "give at least one input (a record directory, a watch database, a "
            "series, a profile, ...)");
    }
    report::InputOptions options;
    options.target = args.target;
    if (!args.limit.empty()) {
        options.classify.engine.limit_bytes = parse_bytes_option("--limit", args.limit);
    }
    // Without --title: "leakhunt report: SERVICE", the service named by the inputs.
    report::ReportBuilder builder(args.title);
    // Reading a record directory reads every snapshot: a bar while the inputs are read, and the
    // "read" lines after it, so that the bar never shares a line with them.
    std::vector<std::string> read_lines;
    Progress reading = Progress::on_stderr("reading inputs", args.inputs.size());
    // Heap graph files (V8 .heapsnapshot, .hprof, .pygraph) are explained together, one to three
    // in order, as `paths A B C` explains them; a record directory's by add_input.
    std::vector<std::string> graphs;
    for (const auto& input : args.inputs) {
        reading.set_label(
            fmt::format("reading {}", std::filesystem::path(input).filename().string()));
        if (is_heap_graph_file(input)) {
            graphs.push_back(input);
            read_lines.push_back(fmt::format("read {} (heap graph)", input));
            reading.advance();
            continue;
        }
        const report::InputKind kind = report::add_input(builder, input, options);
        read_lines.push_back(
            fmt::format("read {} ({})", input, std::string(report::to_string(kind))));
        reading.advance();
    }
    reading.finish();
    if (graphs.size() > 3) {
        throw util::UsageError(
            "report explains one to three heap graphs in order, as `paths` does (got {})",
            graphs.size());
    }
    if (!graphs.empty()) {
        builder.set_service(std::filesystem::path(graphs.back()).stem().string());
        report::add_heap_graph_evidence(builder, report::heap_graph_evidence(graphs));
    }
    for (const auto& line : read_lines) std::printf("%s\n", util::terminal_safe(line).c_str());
    symbolize::Symbolizer symbolizer;
    Progress bar = Progress::on_stderr("aggregating snapshots for the suspects", 0);
    builder.set_progress(bar.callback());
    nlohmann::json data = builder.build(symbolizer);
    bar.finish();
    // The pattern the finding matches, when a record directory says which runtime it is.
    std::optional<patterns::Match> match;
    const std::vector<patterns::Pattern> learned = patterns::load_for_matching(
        args.patterns_file.empty() ? std::nullopt
                                   : std::optional<std::filesystem::path>(args.patterns_file));
    for (const auto& input : args.inputs) {
        if (!std::filesystem::is_directory(input)) continue;
        const auto manifest = recorddir::read_manifest(input);
        if (!manifest || manifest->runtime.empty()) continue;
        const patterns::Finding f = finding_of_report(data, manifest->runtime);
        if (!f.site.empty() || !f.holder_steps.empty())
            match = patterns::match(patterns::signature_of(f), learned);
        break;
    }
    if (match) data["notes"].push_back(patterns::describe(*match));
    // A Python recording made with --native: its native part is a record directory of its own,
    // reported on its own page.
    std::vector<std::string> native_parts;
    for (const auto& input : args.inputs) {
        if (!std::filesystem::is_directory(input)) continue;
        if (const auto native = recorddir::native_part(input)) {
            native_parts.push_back(native->string());
            data["notes"].push_back(fmt::format(
                "The interpreter's native memory (malloc from C extensions and ctypes, which "
                "tracemalloc does not see) was recorded beside it in {}: leakhunt suspects {}; "
                "leakhunt report {} -o native.html",
                native->string(), native->string(), native->string()));
        }
    }
    const std::string html = report::render_report_html(data);
    util::write_file_atomic(args.output, html);
    if (!args.data_output.empty()) {
        util::write_file_atomic(args.data_output, report::script_safe_json(data) + "\n");
    }
    // Input names and what the inputs say about themselves: untrusted.
    for (const auto& line : builder.summary()) {
        std::printf("  included %s\n", util::terminal_safe(line).c_str());
    }
    for (const auto& m : data["missing"]) {
        std::printf("  missing  %s\n", util::terminal_safe(m.get<std::string>()).c_str());
    }
    for (const auto& w : symbolizer.warnings()) warn(w);
    if (match)
        std::printf("  pattern  %s\n", util::terminal_safe(patterns::describe(*match)).c_str());
    for (const auto& native : native_parts) {
        std::printf("  native   %s (not in this page: leakhunt report %s -o native.html)\n",
                    util::terminal_safe(native).c_str(), util::terminal_safe(native).c_str());
    }
    std::printf("wrote %s (%s)\n", args.output.c_str(),
                util::format_bytes(static_cast<double>(html.size())).c_str());
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace

Runner add_report(CLI::App& app) {
    auto args = std::make_shared<ReportArgs>();
    CLI::App* cmd = app.add_subcommand(
        "report", "Write one self-contained HTML report (verdict, timeline, flame graphs, ...)");
    cmd->add_option("inputs", args->inputs,
                    "Record directories, watch databases, series files (CSV, JSON lines, "
                    "Prometheus JSON), pprof heap profiles, heap scans (.scan), one to three "
                    "heap graphs (.heapsnapshot, .hprof, .pygraph), suspects or retention-path "
                    "JSON (`suspects --json`, `paths --json`)");
    cmd->add_option("-o,--out,--output", args->output, "The HTML file to write")->required();
    cmd->add_option("--title", args->title,
                    "Page title (default: \"leakhunt report: SERVICE\", the recorded program or "
                    "the series' target)");
    cmd->add_option("--target", args->target,
                    "Which series to draw when an input holds several: a watch target's key or "
                    "name, a series name or label value, or a PID of a record directory");
    cmd->add_option("--limit", args->limit,
                    "Memory limit for the verdict's projection, e.g. 2G (default: the series' "
                    "cgroup limit)");
    cmd->add_option("--data", args->data_output,
                    "Also write the report data as JSON (what the page draws; for scripts and "
                    "the live page)");
    cmd->add_option("--live", args->live_url,
                    "Instead, write a page without data that loads report data (as written by "
                    "--data) from this same-origin URL and redraws it every --refresh-ms");
    cmd->add_option("--refresh-ms", args->refresh_ms, "Refresh period of a --live page")
        ->check(CLI::Range(500, 3600000))
        ->capture_default_str();
    cmd->add_option(
        "--patterns", args->patterns_file,
        "Patterns file to match the finding against (default: the user's, see `leakhunt learn`)");
    return [args] { return run_report(*args); };
}

}  // namespace leakhunt::cli
