// `leakhunt top PROFILE|DIR`: the rows that hold (or allocated) the most memory in a heap profile
// (of a record directory: the latest profile of the recorded process, said on stderr),
// by function, line, file or module, with flat and cumulative values like `go tool pprof -top`.
// Without --sample-index a heap profile is ranked by inuse_space and any other profile (a Go
// goroutine profile) by its own preferred type, as pprof does. Samples with no frames are the
// row "(unknown)", so the rows add up to the total. Symbolizes native frames offline; --json
// prints one object per row and line. A heap graph (a V8 .heapsnapshot, a JVM .hprof heap dump)
// gets its class histogram instead: per class the count, self size and retained size
// (cli/heapgraph_view.hpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/heapgraph_view.hpp"
#include "cli/profile_input.hpp"
#include "symbolize/aggregate.hpp"
#include "symbolize/symbolizer.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace {

constexpr int k_default_text_rows = 20;

struct TopArgs {
    std::string file;
    bool json = false;
    bool cum = false;
    std::string by = "function";
    symbolize::AggregateOptions options;
    int top = -1;  // -1: the default (k_default_text_rows in text, all with --json); 0: all
    bool devtools_names = false;
    CLI::Option* sample_index = nullptr;  // not given: the profile's preferred sample type
};

double percent(int64_t v, int64_t total) {
    return total == 0 ? 0.0 : 100.0 * static_cast<double>(v) / static_cast<double>(total);
}

void print_text(const TopArgs& args, const symbolize::Aggregate& agg, size_t shown) {
    const std::string& type = args.options.sort_by;
    const int64_t total = agg.total.get(type);
    int64_t in_shown = 0;
    for (size_t i = 0; i < shown; ++i) in_shown += agg.rows[i].flat.get(type);
    const std::string other = companion_type(type);
    std::printf("File: %s\nType: %s\n", util::terminal_safe(args.file).c_str(), type.c_str());
    if (agg.samples_dropped > 0) {
        std::printf("Focus/ignore kept %zu of %zu samples\n", agg.samples,
                    agg.samples + agg.samples_dropped);
    }
    std::printf("Showing %zu of %zu %s, %s (%.2f%%) of %s total, sorted by %s\n", shown,
                agg.rows.size(), granularity_plural(args.options.by).c_str(),
                format_value(type, in_shown).c_str(), percent(in_shown, total),
                format_value(type, total).c_str(), args.cum ? "cum" : "flat");
    std::printf("%12s %7s %7s %12s %7s %14s  %s\n", "flat", "flat%", "sum%", "cum", "cum%",
                other.c_str(), granularity_plural(args.options.by).c_str());
    // A sample type that is not a Go heap one (goroutine, ...) has no companion column value.
    auto companion = [&](const symbolize::AggregateRow& r) {
        return other.empty() ? std::string() : format_value(other, r.flat.get(other));
    };
    int64_t sum = 0;
    for (size_t i = 0; i < shown; ++i) {
        const auto& r = agg.rows[i];
        const int64_t v = r.flat.get(type);
        sum += v;
        std::string name = r.name;
        if (args.options.by == symbolize::Granularity::function) name += "  " + where(r);
        std::printf("%12s %6.2f%% %6.2f%% %12s %6.2f%% %14s  %s\n", format_value(type, v).c_str(),
                    percent(v, total), percent(sum, total),
                    format_value(type, r.cum.get(type)).c_str(), percent(r.cum.get(type), total),
                    companion(r).c_str(), util::terminal_safe(name).c_str());
    }
}

// `top DIR`: the latest profile of the recorded process, said on stderr.
std::string latest_profile(const std::filesystem::path& dir) {
    const DirInput in = record_dir_input(dir, recorddir::Kind::profile);
    const std::filesystem::path& latest = in.files.back();
    const recorddir::Selection s =
        recorddir::select_profiles(dir, in.listing, in.pid, in.files.size());
    say_chosen(dir,
               fmt::format("{}, the latest of {} profile{} of PID {}{}", latest.filename().string(),
                           in.files.size(), in.files.size() == 1 ? "" : "s", in.pid,
                           s.exit_snapshot == latest ? " (its exit snapshot)" : ""));
    return latest.string();
}

int run_top(TopArgs& args) {
    if (const auto graphs = heap_graphs_without_profiles(args.file); !graphs.empty()) {
        say_chosen(args.file, fmt::format("{}, the latest of {} heap graph{}",
                                          std::filesystem::path(graphs.back()).filename().string(),
                                          graphs.size(), graphs.size() == 1 ? "" : "s"));
        args.file = graphs.back();
    }
    if (is_heap_graph_file(args.file)) {
        HeapGraphOptions options;
        options.json = args.json;
        options.top = args.top;
        options.devtools_names = args.devtools_names;
        return top_heap_graph(args.file, options);
    }
    apply_granularity(args.options, args.by);
    if (std::filesystem::is_directory(args.file)) {
        args.file = latest_profile(args.file);
    } else if (args.file.ends_with(".scan")) {
        throw util::UsageError(
            "{} is a heap scan, not a profile: read it with `leakhunt paths "
            "{}` (what holds the heap) or `leakhunt leaks {}`",
            args.file, args.file, args.file);
    }
    symbolize::Symbolizer symbolizer;
    const profile::Profile p = read_symbolized(args.file, symbolizer);
    if (args.sample_index->count() == 0) {
        const std::string preferred = profile::preferred_sample_type(p);
        if (!preferred.empty()) args.options.sort_by = preferred;
    }
    symbolize::Aggregate agg = symbolize::aggregate(p, symbolizer, args.options, args.file);
    const std::string& type = args.options.sort_by;
    // Rows that are only on stacks (cum) matter when sorting by cum; by flat they are noise.
    if (args.cum) {
        symbolize::sort_rows(agg.rows, type, symbolize::SortKey::cum);
    } else {
        std::erase_if(agg.rows, [](const auto& r) { return r.flat == symbolize::HeapValues{}; });
    }

    size_t shown = agg.rows.size();
    const int limit = args.top >= 0 ? args.top : (args.json ? 0 : k_default_text_rows);
    if (limit > 0) shown = std::min(shown, static_cast<size_t>(limit));
    if (args.json) {
        const int64_t total = agg.total.get(type);
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = agg.rows[i];
            const nlohmann::json j = {{"name", r.name},
                                      {"function", r.function},
                                      {"file", r.file},
                                      {"line", r.line},
                                      {"module", r.module},
                                      {"flat", r.flat.get(type)},
                                      {"flat%", percent(r.flat.get(type), total)},
                                      {"cum", r.cum.get(type)},
                                      {"cum%", percent(r.cum.get(type), total)},
                                      {"inuse_bytes", r.flat.inuse_bytes},
                                      {"inuse_objects", r.flat.inuse_objects},
                                      {"alloc_bytes", r.flat.alloc_bytes},
                                      {"alloc_objects", r.flat.alloc_objects}};
            std::printf("%s\n", j.dump().c_str());
        }
    } else {
        print_text(args, agg, shown);
    }
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace

Runner add_top(CLI::App& app) {
    auto args = std::make_shared<TopArgs>();
    CLI::App* cmd = app.add_subcommand(
        "top",
        "Functions (lines, files, modules) holding the most heap memory in a pprof heap "
        "profile (like pprof -top)");
    cmd->add_option("profile", args->file,
                    "Profile: pprof protobuf, gzip-compressed or raw (from the agent, Go's "
                    "runtime/pprof or any pprof producer: heap, goroutine, ...), a "
                    "gperftools/jemalloc heap profile, or a `leakhunt record` directory (its "
                    "latest profile); or a V8 heap snapshot (.heapsnapshot) or JVM heap dump "
                    "(.hprof): its classes by retained size")
        ->required();
    cmd->add_flag("--json", args->json, "One JSON object per row and line");
    cmd->add_flag("--devtools-names", args->devtools_names,
                  "V8 snapshots: classes as current Chrome DevTools names them (Function, RegExp, "
                  "<div>, {a, b} for plain objects), not its older names that memlab shows");
    cmd->add_flag("--cum", args->cum, "Sort by cumulative value (the row anywhere on the stack)");
    args->sample_index = add_aggregate_options(*cmd, args->options, args->by);
    cmd->add_option("--top", args->top,
                    "Show this many rows (default: 20 in text, all with --json; 0: all)")
        ->check(CLI::NonNegativeNumber);
    return [args] { return run_top(*args); };
}

}  // namespace leakhunt::cli
