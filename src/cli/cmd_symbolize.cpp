// `leakhunt symbolize PROFILE -o OUT.pb.gz`: reads a heap profile in any format leakhunt reads
// (our agent's raw snapshots, gperftools and jemalloc text profiles, a URL), symbolizes its native
// frames offline (function, file:line, inline frames) and writes it as gzip pprof, so that
// `go tool pprof`, Pyroscope or Parca show names for profiles they cannot symbolize themselves
// (Go's own pprof cannot read jemalloc's heap_v2 and names few C/C++ functions from DWARF).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "profile/fetch.hpp"
#include "profile/pprof.hpp"
#include "symbolize/symbolize_profile.hpp"

namespace leakhunt::cli {
namespace {

struct SymbolizeArgs {
    std::string input;
    std::string output;
};

int run_symbolize(const SymbolizeArgs& args) {
    profile::Profile p = profile::load_profile(args.input);
    symbolize::Symbolizer symbolizer;
    Progress bar = Progress::on_stderr("symbolizing", 0);
    const symbolize::SymbolizeStats stats = symbolize::symbolize_profile(p, symbolizer, bar.callback());
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
    CLI::App* cmd = app.add_subcommand(
        "symbolize", "Write a heap profile (any format leakhunt reads) as symbolized gzip pprof");
    cmd->add_option("profile", args->input,
                    "Heap profile file or http(s):// URL: pprof, gperftools or jemalloc")
        ->required();
    cmd->add_option("-o,--out,--output", args->output, "The .pb.gz file to write")->required();
    return [args] { return run_symbolize(*args); };
}

}  // namespace leakhunt::cli
