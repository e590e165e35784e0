// `leakhunt symbolize PROFILE -o OUT.pb.gz`: reads a heap profile in any format leakhunt reads
// (our agent's raw snapshots, gperftools and jemalloc text profiles, a URL), symbolizes its native
// frames offline (function, file:line, inline frames) and writes it as gzip pprof, so that
// `go tool pprof`, Pyroscope or Parca show names for profiles they cannot symbolize themselves
// (Go's own pprof cannot read jemalloc's heap_v2 and names few C/C++ functions from DWARF).
// `leakhunt symbolize DIR` rewrites every heap snapshot of a record directory in place (as
// `record` does while it records), for directories the agent wrote without `record`.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/snapshot_symbolizer.hpp"
#include "profile/fetch.hpp"
#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "symbolize/symbolize_profile.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace {

struct SymbolizeArgs {
    std::string input;
    std::string output;
};

int symbolize_directory(const SymbolizeArgs& args) {
    if (!args.output.empty()) {
        throw util::UsageError(
            "{} is a record directory: its snapshots are symbolized in place; -o is for one "
            "profile",
            args.input);
    }
    const recorddir::Listing listing = recorddir::list(args.input);
    size_t total = 0;
    for (long id : listing.ids()) total += listing.count(id, recorddir::Kind::profile);
    if (total == 0) {
        throw util::Error(
            "{} has no heap snapshots (heap.PID.NNNN.pb.gz); give a record directory or one "
            "profile",
            args.input);
    }
    SnapshotSymbolizer worker(args.input);
    const std::vector<std::string> warnings = worker.finish();
    for (const auto& w : warnings) warn(w);
    std::fprintf(stderr, "leakhunt: %s: %zu of %zu snapshots symbolized in place\n",
                 util::terminal_safe(args.input).c_str(), worker.symbolized_files(), total);
    return worker.symbolized_files() == total ? k_exit_ok : k_exit_error;
}

int run_symbolize(const SymbolizeArgs& args) {
    std::error_code ec;
    if (std::filesystem::is_directory(args.input, ec)) return symbolize_directory(args);
    if (args.output.empty())
        throw util::UsageError("symbolize {}: -o OUT.pb.gz is needed for one profile", args.input);
    profile::Profile p = profile::load_profile(args.input);
    symbolize::Symbolizer symbolizer;
    Progress bar = Progress::on_stderr("symbolizing", 0);
    const symbolize::SymbolizeStats stats =
        symbolize::symbolize_profile(p, symbolizer, bar.callback());
    bar.finish();
    for (const auto& w : stats.warnings) warn(w);
    profile::write_profile(args.output, p);
    std::fprintf(stderr, "leakhunt: %s: %zu of %zu locations symbolized -> %s\n",
                 args.input.c_str(), stats.symbolized, stats.locations, args.output.c_str());
    return k_exit_ok;
}

}  // namespace

Runner add_symbolize(CLI::App& app) {
    auto args = std::make_shared<SymbolizeArgs>();
    CLI::App* cmd = app.add_subcommand("symbolize",
                                       "Write a heap profile (any format leakhunt reads) as "
                                       "symbolized gzip pprof, or symbolize a record "
                                       "directory's snapshots in place");
    cmd->add_option("profile", args->input,
                    "Heap profile file or http(s):// URL: pprof, gperftools or jemalloc; or a "
                    "record directory")
        ->required();
    cmd->add_option("-o,--out,--output", args->output,
                    "The .pb.gz file to write (one profile only)");
    return [args] { return run_symbolize(*args); };
}

}  // namespace leakhunt::cli
