// `leakhunt top PROFILE`: the functions that hold (or allocated) the most memory in a heap
// profile, one row per function like `go tool pprof -top`. Symbolizes native frames offline;
// --json prints one object per row and line.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "profile/pprof.hpp"
#include "symbolize/flat.hpp"
#include "symbolize/symbolizer.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

constexpr int k_default_text_rows = 20;

struct TopArgs {
    std::string file;
    bool json = false;
    std::string sample_index = "inuse_space";
    int top = -1;  // -1: the default (k_default_text_rows in text, all with --json); 0: all
};

bool is_bytes(const std::string& sample_index) {
    return sample_index.ends_with("_space");
}

std::string format_value(const std::string& sample_index, int64_t v) {
    if (is_bytes(sample_index)) return util::format_bytes(static_cast<double>(v));
    return std::to_string(v);
}

std::string where(const symbolize::FlatRow& row) {
    if (row.file.empty()) return row.module;
    if (row.line == 0) return row.file;
    return fmt::format("{}:{}", row.file, row.line);
}

void print_text(const TopArgs& args, const std::vector<symbolize::FlatRow>& rows, size_t shown) {
    int64_t total = 0;
    for (const auto& r : rows) total += symbolize::row_value(r, args.sample_index);
    int64_t in_shown = 0;
    for (size_t i = 0; i < shown; ++i) in_shown += symbolize::row_value(rows[i], args.sample_index);
    auto percent = [total](int64_t v) {
        return total == 0 ? 0.0 : 100.0 * static_cast<double>(v) / static_cast<double>(total);
    };
    // The companion column: objects beside bytes and bytes beside objects.
    const std::string other = args.sample_index.starts_with("inuse")
                                  ? (is_bytes(args.sample_index) ? "inuse_objects" : "inuse_space")
                                  : (is_bytes(args.sample_index) ? "alloc_objects" : "alloc_space");
    std::printf("File: %s\nType: %s\n", args.file.c_str(), args.sample_index.c_str());
    std::printf("Showing %zu of %zu functions, %s (%.2f%%) of %s total\n", shown, rows.size(),
                format_value(args.sample_index, in_shown).c_str(), percent(in_shown),
                format_value(args.sample_index, total).c_str());
    std::printf("%12s %7s %7s %14s  %s\n", "flat", "flat%", "sum%", other.c_str(), "function");
    int64_t sum = 0;
    for (size_t i = 0; i < shown; ++i) {
        const auto& r = rows[i];
        const int64_t v = symbolize::row_value(r, args.sample_index);
        sum += v;
        std::printf("%12s %6.2f%% %6.2f%% %14s  %s  %s\n",
                    format_value(args.sample_index, v).c_str(), percent(v), percent(sum),
                    format_value(other, symbolize::row_value(r, other)).c_str(), r.function.c_str(),
                    where(r).c_str());
    }
}

int run_top(const TopArgs& args) {
    profile::Profile p = profile::read_profile(args.file);
    symbolize::Symbolizer symbolizer;
    const symbolize::SymbolizeStats stats = symbolize::symbolize_profile(p, symbolizer);
    for (const auto& w : stats.warnings) warn(w);
    const auto rows = symbolize::flat_by_function(p, symbolizer, args.sample_index, args.file);

    size_t shown = rows.size();
    const int limit = args.top >= 0 ? args.top : (args.json ? 0 : k_default_text_rows);
    if (limit > 0) shown = std::min(shown, static_cast<size_t>(limit));
    if (args.json) {
        for (size_t i = 0; i < shown; ++i) {
            const auto& r = rows[i];
            const nlohmann::json j = {{"function", r.function},
                                      {"file", r.file},
                                      {"line", r.line},
                                      {"module", r.module},
                                      {"inuse_bytes", r.inuse_bytes},
                                      {"inuse_objects", r.inuse_objects},
                                      {"alloc_bytes", r.alloc_bytes},
                                      {"alloc_objects", r.alloc_objects}};
            std::printf("%s\n", j.dump().c_str());
        }
    } else {
        print_text(args, rows, shown);
    }
    std::fflush(stdout);
    return k_exit_ok;
}

}  // namespace

Runner add_top(CLI::App& app) {
    auto args = std::make_shared<TopArgs>();
    CLI::App* cmd = app.add_subcommand(
        "top", "Functions holding the most heap memory in a pprof heap profile (like pprof -top)");
    cmd->add_option("profile", args->file,
                    "Heap profile: pprof protobuf, gzip-compressed or raw (from the agent, Go's "
                    "runtime/pprof or any pprof producer)")
        ->required();
    cmd->add_flag("--json", args->json, "One JSON object per function and line");
    cmd->add_option("--sample-index", args->sample_index, "The value to rank by")
        ->check(CLI::IsMember({"inuse_space", "inuse_objects", "alloc_space", "alloc_objects"}))
        ->capture_default_str();
    cmd->add_option("--top", args->top,
                    "Show this many functions (default: 20 in text, all with --json; 0: all)")
        ->check(CLI::NonNegativeNumber);
    return [args] { return run_top(*args); };
}

}  // namespace leakhunt::cli
