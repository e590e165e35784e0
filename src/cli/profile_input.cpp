// Shared plumbing of the profile commands.
#include "cli/profile_input.hpp"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "profile/pprof.hpp"
#include "symbolize/symbolize_profile.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {

DirInput record_dir_input(const std::filesystem::path& dir, recorddir::Kind kind) {
    DirInput in;
    in.listing = recorddir::list(dir);
    const auto main = recorddir::main_id(in.listing);
    if (!main) {
        throw util::Error(
            "{} holds no recording (no timeline.PID.csv, no heap.PID.NNNN files): "
            "record into it with `leakhunt record -o {} -- CMD`",
            dir.string(), dir.string());
    }
    in.pid = *main;
    in.files = in.listing.files(in.pid, kind);
    if (!in.files.empty()) return in;
    if (kind == recorddir::Kind::scan) {
        throw util::Error(
            "{} holds no heap scan (heap.PID.NNNN.scan) of PID {}: take one with "
            "`leakhunt snapshot {} --scan` while it runs under `leakhunt record "
            "--all`, or record with `leakhunt record --all --leak-check -o {} -- "
            "CMD`",
            dir.string(), in.pid, in.pid, dir.string());
    }
    throw util::Error(
        "{} holds no heap {} (heap.PID.NNNN.{}) of PID {}: record with `leakhunt "
        "record -o {} -- CMD` (snapshots at exit, every --snapshot-every, and on "
        "`leakhunt snapshot PID`)",
        dir.string(), kind == recorddir::Kind::profile ? "profile" : "snapshot",
        recorddir::extension(kind), in.pid, dir.string());
}

void say_chosen(const std::filesystem::path& dir, const std::string& what) {
    std::fprintf(stderr, "leakhunt: %s: %s\n", util::terminal_safe(dir.string()).c_str(),
                 util::terminal_safe(what).c_str());
}

profile::Profile read_symbolized(const std::string& path, symbolize::Symbolizer& symbolizer) {
    profile::Profile p = profile::read_profile(path);
    const size_t known = symbolizer.warnings().size();
    Progress bar = Progress::on_stderr(
        fmt::format("symbolizing {}", std::filesystem::path(path).filename().string()), 0);
    const symbolize::SymbolizeStats stats =
        symbolize::symbolize_profile(p, symbolizer, bar.callback());
    bar.finish();
    for (size_t i = known; i < stats.warnings.size(); ++i) warn(stats.warnings[i]);
    return p;
}

CLI::Option* add_aggregate_options(CLI::App& cmd, symbolize::AggregateOptions& options,
                                   std::string& by) {
    cmd.add_option("--by", by, "Rows by function, line (function and file:line), file or module")
        ->check(CLI::IsMember({"function", "line", "file", "module"}))
        ->capture_default_str();
    // Any sample type of the profile (goroutine, contentions, ...): aggregate() names the ones
    // a profile has when it lacks the one asked for.
    CLI::Option* sample_index = cmd.add_option(
        "--sample-index", options.sort_by,
        "The value to rank by: inuse_space, inuse_objects, alloc_space, alloc_objects, or any "
        "other sample type of the profile (goroutine, ...)");
    sample_index->capture_default_str();
    cmd.add_option("--focus", options.focus,
                   "Keep only samples with a frame whose function matches this regex");
    cmd.add_option("--ignore", options.ignore,
                   "Drop samples with a frame whose function matches this regex");
    return sample_index;
}

void apply_granularity(symbolize::AggregateOptions& options, const std::string& by) {
    const auto g = symbolize::parse_granularity(by);
    if (!g) throw util::UsageError("--by {}: choose function, line, file or module", by);
    options.by = *g;
}

std::string format_value(const std::string& sample_index, int64_t v) {
    if (sample_index.ends_with("_space")) return util::format_bytes(static_cast<double>(v));
    return std::to_string(v);
}

std::string companion_type(const std::string& sample_index) {
    if (sample_index == "inuse_space") return "inuse_objects";
    if (sample_index == "inuse_objects") return "inuse_space";
    if (sample_index == "alloc_space") return "alloc_objects";
    if (sample_index == "alloc_objects") return "alloc_space";
    return "";
}

std::string where(const symbolize::AggregateRow& row) {
    if (row.file.empty()) return row.module;
    if (row.line == 0) return row.file;
    return fmt::format("{}:{}", row.file, row.line);
}

std::string granularity_plural(symbolize::Granularity by) {
    switch (by) {
        case symbolize::Granularity::function:
            return "functions";
        case symbolize::Granularity::line:
            return "lines";
        case symbolize::Granularity::file:
            return "files";
        case symbolize::Granularity::module:
            return "modules";
    }
    return "rows";
}

}  // namespace leakhunt::cli
