// `leakhunt diff BASE CUR` (or `diff DIR`: the first and last profiles of a record directory, its
// exit snapshot left out by the rule of recorddir::select_profiles): growth per allocation site
// between two heap profiles (bytes, objects, % change; "new" for sites the base lacks), largest
// growth first and shrinkers at the end; or, with --format pprof, the difference as a profile
// that pprof tools open (profile/diff.hpp).
// -o FILE writes any of the three to a file; without --format the file's name chooses.
// Two heap graphs are compared by class instead: V8 heap snapshots with their objects matched by
// id, JVM heap dumps (.hprof) by instances and shallow size (cli/heapgraph_view.hpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "cli/profile_input.hpp"
#include "profile/diff.hpp"
#include "profile/gzip.hpp"
#include "profile/pprof.hpp"
#include "symbolize/aggregate.hpp"
#include "symbolize/aggregate_diff.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace {

constexpr size_t k_default_text_rows = 20;

struct DiffArgs {
    std::string base;
    std::string cur;
    std::string by = "function";
    symbolize::AggregateOptions options;
    int top = -1;  // -1: 20 growing and 20 shrinking in text, all in JSON; 0: all
    bool json = false;
    bool devtools_names = false;
    std::string format = "text";
    std::string out;
    CLI::App* cmd = nullptr;
    CLI::Option* sample_index = nullptr;  // not given: the base profile's preferred sample type
};

using DiffRow = symbolize::AggregateDiffRow;

// "+12.5%", "new", "gone".
std::string change(int64_t base, int64_t cur) {
    if (base == 0) return cur == 0 ? "0%" : "new";
    if (cur == 0) return "gone";
    return fmt::format("{:+.1f}%",
                       100.0 * static_cast<double>(cur - base) / static_cast<double>(base));
}

nlohmann::json to_json(const DiffRow& d, const std::string& type) {
    const std::string other = companion_type(type);
    const bool space = type.ends_with("_space");
    const std::string& bytes_type = space ? type : other;
    const std::string& objects_type = space ? other : type;
    nlohmann::json j = {{"name", d.row.name},
                        {"function", d.row.function},
                        {"file", d.row.file},
                        {"line", d.row.line},
                        {"module", d.row.module},
                        {"delta", d.delta.get(type)},
                        {"delta_bytes", d.delta.get(bytes_type)},
                        {"delta_objects", d.delta.get(objects_type)},
                        {"base_bytes", d.base.get(bytes_type)},
                        {"cur_bytes", d.cur.get(bytes_type)},
                        {"base_objects", d.base.get(objects_type)},
                        {"cur_objects", d.cur.get(objects_type)},
                        {"new", d.base.get(type) == 0 && d.cur.get(type) != 0}};
    const int64_t base = d.base.get(type);
    j["percent"] = base == 0 ? nlohmann::json(nullptr)
                             : nlohmann::json(100.0 * static_cast<double>(d.delta.get(type)) /
                                              static_cast<double>(base));
    return j;
}

int write_pprof(const DiffArgs& args, const profile::Profile& base, const profile::Profile& cur) {
    const profile::Profile diff = profile::diff_profile(base, cur, args.base, args.cur);
    // zlib's fastest level: deflate at the default level was half the command's time for two
    // 100,000-sample profiles, for a file ~15% smaller.
    const std::string bytes =
        profile::gzip(profile::encode_profile(diff), profile::GzipLevel::fast);
    util::AtomicFile file(args.out);
    file.write(bytes);
    file.commit();
    std::printf(
        "wrote %s: %zu samples of %s and %zu of %s (negated, label pprof::base=true); "
        "open it with `go tool pprof -top %s`\n",
        args.out.c_str(), cur.samples.size(), args.cur.c_str(), base.samples.size(),
        args.base.c_str(), args.out.c_str());
    return k_exit_ok;
}

// The format for `-o FILE` without --format, from the file's name; a name that says nothing is a
// usage error rather than a guess (a profile silently written as text is lost to pprof).
std::string format_from_name(const std::string& out) {
    for (const char* ext : {".pb.gz", ".pb", ".pprof", ".prof"}) {
        if (out.ends_with(ext)) return "pprof";
    }
    if (out.ends_with(".json") || out.ends_with(".jsonl")) return "json";
    if (out.ends_with(".txt")) return "text";
    throw util::UsageError(
        "-o {}: cannot tell the format from the name (end it in .pb.gz for a "
        "pprof profile, .json for JSON lines or .txt for text, or pass "
        "--format pprof|json|text)",
        out);
}

// `diff DIR`: the first and the last profile of the recorded process, the exit snapshot left out
// when two others remain (recorddir::select_profiles), said on stderr.
void first_and_last(DiffArgs& args) {
    const std::filesystem::path dir = args.base;
    const DirInput in = record_dir_input(dir, recorddir::Kind::profile);
    const recorddir::Selection s = recorddir::select_profiles(dir, in.listing, in.pid, 2);
    if (s.files.size() < 2) {
        throw util::Error(
            "{} holds {} profile of PID {}; diff needs two: record with "
            "`--snapshot-every 30s`, or take one with `leakhunt snapshot {}` while "
            "it runs",
            dir.string(), s.files.size(), in.pid, in.pid);
    }
    args.base = s.files.front().string();
    args.cur = s.files.back().string();
    say_chosen(dir, fmt::format("{} -> {}, the first and the last of {} profiles of PID {}{}",
                                s.files.front().filename().string(),
                                s.files.back().filename().string(), s.files.size(), in.pid,
                                s.left_out ? fmt::format(" (its exit snapshot {} left out: a "
                                                         "program's exit often frees what it "
                                                         "held)",
                                                         s.left_out->filename().string())
                                           : std::string()));
}

int run_diff(DiffArgs& args) {
    if (const auto graphs = heap_graphs_without_profiles(args.base);
        !graphs.empty() && args.cur.empty()) {
        if (graphs.size() < 2) {
            throw util::Error(
                "{} holds one heap graph; diff needs two: take another with `leakhunt snapshot PID "
                "--heap -o {}`",
                args.base, args.base);
        }
        say_chosen(args.base, fmt::format("{} -> {}, the first and the last of {} heap graphs",
                                          std::filesystem::path(graphs.front()).filename().string(),
                                          std::filesystem::path(graphs.back()).filename().string(),
                                          graphs.size()));
        args.base = graphs.front();
        args.cur = graphs.back();
    }
    if (is_heap_graph_file(args.base) || is_heap_graph_file(args.cur)) {
        if (!is_heap_graph_file(args.base) || !is_heap_graph_file(args.cur)) {
            throw util::UsageError(
                "diff {} {}: compare a heap snapshot with another heap snapshot "
                "(.heapsnapshot, .hprof), not with a profile",
                args.base, args.cur);
        }
        if (!args.out.empty() || args.cmd->count("--format") > 0) {
            throw util::UsageError(
                "-o and --format are for profiles; heap snapshots print text or --json");
        }
        HeapGraphOptions options;
        options.json = args.json;
        options.top = args.top;
        options.devtools_names = args.devtools_names;
        return diff_heap_graphs(args.base, args.cur, options);
    }
    apply_granularity(args.options, args.by);
    if (std::filesystem::is_directory(args.base)) {
        if (!args.cur.empty()) {
            throw util::UsageError(
                "{} is a record directory: give it alone (diff DIR compares "
                "its first and last profiles), or two profiles",
                args.base);
        }
        first_and_last(args);
    } else if (args.cur.empty()) {
        throw util::UsageError("diff needs two profiles (BASE CUR), or one record directory");
    }
    if (args.json) {
        if (args.cmd->count("--format") > 0 && args.format != "json") {
            throw util::UsageError("--json and --format {} contradict each other", args.format);
        }
        args.format = "json";
    } else if (args.cmd->count("--format") == 0 && !args.out.empty()) {
        args.format = format_from_name(args.out);
    }
    if (args.format == "pprof" && args.out.empty()) {
        throw util::UsageError("--format pprof writes a file: name it with -o FILE");
    }
    symbolize::Symbolizer symbolizer;
    const profile::Profile base = read_symbolized(args.base, symbolizer);
    const profile::Profile cur = read_symbolized(args.cur, symbolizer);
    profile::check_same_sample_types(base, cur, args.base, args.cur);
    // As `top` does: a heap profile by inuse_space, any other (a Go goroutine profile) by its own.
    if (args.sample_index->count() == 0) {
        const std::string preferred = profile::preferred_sample_type(base);
        if (!preferred.empty()) args.options.sort_by = preferred;
    }
    if (args.format == "pprof") return write_pprof(args, base, cur);

    const std::string& type = args.options.sort_by;
    const auto base_agg = symbolize::aggregate(base, symbolizer, args.options, args.base);
    const auto cur_agg = symbolize::aggregate(cur, symbolizer, args.options, args.cur);
    const std::vector<DiffRow> rows = symbolize::diff_aggregates(base_agg, cur_agg, type);
    // The largest growth first and the largest shrinkers last, each limited to --top.
    const auto first_shrinker =
        static_cast<size_t>(std::find_if(rows.begin(), rows.end(),
                                         [&](const DiffRow& d) { return d.delta.get(type) < 0; }) -
                            rows.begin());
    const size_t limit = args.top > 0 ? static_cast<size_t>(args.top)
                         : args.top == 0
                             ? rows.size()
                             : (args.format == "json" ? rows.size() : k_default_text_rows);
    std::vector<const DiffRow*> shown;
    for (size_t i = 0; i < std::min(first_shrinker, limit); ++i) shown.push_back(&rows[i]);
    const size_t shrinkers = rows.size() - first_shrinker;
    for (size_t i = rows.size() - std::min(shrinkers, limit); i < rows.size(); ++i) {
        shown.push_back(&rows[i]);
    }

    // Text and JSON go to stdout, or with -o to the file (written whole, then renamed).
    std::string text;
    auto emit = [&]() {
        if (args.out.empty()) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
        } else {
            util::write_file_atomic(args.out, text);
            std::fprintf(stderr, "leakhunt: wrote %s (%s, %zu rows)\n",
                         util::terminal_safe(args.out).c_str(), args.format.c_str(), shown.size());
        }
        return k_exit_ok;
    };
    if (args.format == "json") {
        for (const DiffRow* d : shown) text += to_json(*d, type).dump() + "\n";
        return emit();
    }
    // Symbols and file names in the text are untrusted: escaped for a terminal, and in a file too
    // (it is read with cat and less).
    const std::string other = companion_type(type);
    const int64_t bt = base_agg.total.get(type);
    const int64_t ct = cur_agg.total.get(type);
    text += fmt::format("Base: {} ({})\nCurrent: {} ({})\nType: {}\n",
                        util::terminal_safe(args.base), format_value(type, bt),
                        util::terminal_safe(args.cur), format_value(type, ct), type);
    text +=
        fmt::format("Total change {}{} ({}); {} {} changed: {} grew, {} shrank\n",
                    ct >= bt ? "+" : "", format_value(type, ct - bt), change(bt, ct), rows.size(),
                    granularity_plural(args.options.by), first_shrinker, shrinkers);
    text += fmt::format("{:>12} {:>14} {:>12} {:>12} {:>8}  {}\n", "delta", "delta " + other,
                        "base", "current", "change", granularity_plural(args.options.by));
    for (const DiffRow* d : shown) {
        std::string name = d->row.name;
        if (args.options.by == symbolize::Granularity::function) name += "  " + where(d->row);
        const int64_t dv = d->delta.get(type);
        const int64_t dother = d->delta.get(other);
        text += fmt::format(
            "{:>12} {:>14} {:>12} {:>12} {:>8}  {}\n", (dv > 0 ? "+" : "") + format_value(type, dv),
            (dother > 0 ? "+" : "") + format_value(other, dother),
            format_value(type, d->base.get(type)), format_value(type, d->cur.get(type)),
            change(d->base.get(type), d->cur.get(type)), util::terminal_safe(name));
    }
    return emit();
}

}  // namespace

Runner add_diff(CLI::App& app) {
    auto args = std::make_shared<DiffArgs>();
    CLI::App* cmd = app.add_subcommand(
        "diff",
        "Growth per allocation site between two heap profiles (BASE then CUR), or "
        "between the first and last profile of a record directory; or per class between "
        "two V8 heap snapshots or JVM heap dumps");
    cmd->add_option(
           "base", args->base,
           "The earlier heap profile (pprof), V8 heap snapshot or .hprof dump, or a `leakhunt "
           "record` directory")
        ->required();
    cmd->add_option(
        "cur", args->cur,
        "The later heap profile (pprof), V8 heap snapshot or .hprof dump; not with a directory");
    args->sample_index = add_aggregate_options(*cmd, args->options, args->by);
    cmd->add_option("--top", args->top,
                    "Show this many growing and this many shrinking rows (default: 20 each in "
                    "text, all in JSON; 0: all)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--json", args->json, "Same as --format json");
    cmd->add_flag("--devtools-names", args->devtools_names,
                  "V8 snapshots: classes as current Chrome DevTools names them (Function, RegExp, "
                  "<div>, {a, b} for plain objects), not its older names that memlab shows");
    cmd->add_option("--format", args->format,
                    "text (default), json (one object per row) or pprof (the difference as a "
                    "profile, written to -o FILE)")
        ->check(CLI::IsMember({"text", "json", "pprof"}));
    cmd->add_option("-o,--out,--output", args->out,
                    "Write to this file instead of stdout; without --format its name says the "
                    "format: .pb.gz (pprof), .json (JSON lines), .txt (text)");
    args->cmd = cmd;
    return [args] { return run_diff(*args); };
}

}  // namespace leakhunt::cli
