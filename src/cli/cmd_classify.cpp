// `leakhunt classify FILE...`: the verdict for every series of recorded memory data (series CSV,
// JSON lines, Prometheus range-query JSON, a record directory's timeline). Exit 3 with
// --fail-on-leak when any series leaks.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/profile_input.hpp"
#include "cli/progress.hpp"
#include "recorddir/record_dir.hpp"
#include "report/verdict_report.hpp"
#include "series/reader.hpp"
#include "trend/classify.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"

namespace leakhunt::cli {
namespace {

struct ClassifyArgs {
    std::vector<std::string> files;
    bool json = false;
    bool replay = false;
    bool fail_on_leak = false;
    std::string limit;
    std::string min_rate;
    std::string work_column;
    std::string work_kind = "total";
    std::string work_unit = "request";
};

// --work-column NAME: the series' column NAME is its work (a counter, or a rate with
// --work-kind rate), under the name the engine reads.
void name_work_column(series::Series& s, const ClassifyArgs& args, const std::string& file) {
    if (args.work_column.empty()) return;
    auto it = s.columns.find(args.work_column);
    if (it == s.columns.end()) {
        std::string have;
        for (const auto& [name, values] : s.columns) have += (have.empty() ? "" : ", ") + name;
        throw util::Error("{}: no column {} for --work-column (the columns are {})", file,
                          args.work_column, have);
    }
    std::vector<double> values = std::move(it->second);
    s.columns.erase(it);
    s.columns.erase(std::string(series::k_work_total));
    s.columns.erase(std::string(series::k_work_rate));
    s.columns[std::string(args.work_kind == "rate" ? series::k_work_rate : series::k_work_total)] =
        std::move(values);
}

// `classify DIR`: the timeline of the recorded process of a record directory (recorddir::main_id),
// said on stderr.
std::string timeline_of(const std::string& dir) {
    const recorddir::Listing listing = recorddir::list(dir);
    const auto main = recorddir::main_id(listing);
    const auto it = main ? listing.timelines.find(*main) : listing.timelines.end();
    if (it == listing.timelines.end()) {
        throw util::Error(
            "{} holds no timeline.PID.csv{}: record into it with `leakhunt record "
            "-o {} -- CMD`",
            dir, main ? fmt::format(" of PID {}", *main) : std::string(), dir);
    }
    say_chosen(dir,
               fmt::format("{}, the timeline of PID {}", it->second.filename().string(), *main));
    return it->second.string();
}

int run_classify(const ClassifyArgs& args) {
    trend::ClassifyOptions options;
    if (!args.limit.empty()) options.engine.limit_bytes = parse_bytes_option("--limit", args.limit);
    if (!args.min_rate.empty()) {
        options.engine.min_rate_bytes_per_hour = parse_rate_option("--min-rate", args.min_rate);
    }
    if (args.work_kind != "total" && args.work_kind != "rate") {
        throw util::UsageError(
            "--work-kind {}: use total (a counter of work done) or rate (work "
            "per second)",
            args.work_kind);
    }
    if (args.work_unit.empty()) throw util::UsageError("--work-unit needs a name, e.g. request");
    options.work.unit = args.work_unit;
    const report::Style style{report::color_for_fd(1)};
    bool any_leak = false;
    bool any_error = false;
    for (const auto& given : args.files) {
        series::ReadResult read;
        std::string file = given;
        try {
            if (std::filesystem::is_directory(given)) file = timeline_of(given);
            Progress bar = Progress::on_stderr("reading " + file, 0, Progress::Unit::bytes);
            read = series::read_series(file, bar.callback());
            bar.finish();
        } catch (const util::Error& e) {
            std::fprintf(stderr, "leakhunt: error: %s\n", util::terminal_safe(e.what()).c_str());
            any_error = true;
            continue;
        }
        for (const auto& w : read.warnings) warn(w);
        for (auto& s : read.series) {
            try {
                name_work_column(s, args, file);
            } catch (const util::Error& e) {
                std::fprintf(stderr, "leakhunt: error: %s\n",
                             util::terminal_safe(e.what()).c_str());
                any_error = true;
                continue;
            }
            trend::Classification c = trend::classify(s, options);
            any_leak = any_leak || c.memory.verdict == trend::Verdict::leak;
            std::vector<trend::VerdictChange> changes;
            if (args.replay) changes = trend::replay(s, options.engine);
            if (args.json) {
                nlohmann::json j = report::verdict_json(s, c);
                j["file"] = file;
                if (args.replay) j["replay"] = report::replay_json(changes);
                std::printf("%s\n", j.dump().c_str());
            } else {
                std::printf("%s", report::verdict_text(s, c, style).c_str());
                if (args.replay) {
                    std::printf("  verdict over time:\n%s",
                                report::replay_text(s, changes).c_str());
                }
            }
            std::fflush(stdout);
        }
    }
    if (any_error) return k_exit_error;
    if (args.fail_on_leak && any_leak) return k_exit_leak;
    return k_exit_ok;
}

}  // namespace

Runner add_classify(CLI::App& app) {
    auto args = std::make_shared<ClassifyArgs>();
    CLI::App* cmd = app.add_subcommand(
        "classify", "Judge recorded memory series: leak, bounded, healthy or inconclusive");
    cmd->add_option("files", args->files,
                    "Series CSV (t_seconds|timestamp,rss_bytes,...), JSON lines from "
                    "`watch --json`, Prometheus /api/v1/query_range JSON, or a `leakhunt record` "
                    "directory (its timeline)")
        ->required();
    cmd->add_flag("--json", args->json, "One verdict JSON object per series and line");
    cmd->add_flag("--replay", args->replay,
                  "Also show each change of verdict over time (the engine fed growing prefixes)");
    cmd->add_flag("--fail-on-leak", args->fail_on_leak, "Exit with code 3 if any series leaks");
    cmd->add_option("--limit", args->limit,
                    "Memory limit for the time-to-limit projection, e.g. 2G (default: the "
                    "series' cgroup_limit_bytes)");
    cmd->add_option("--min-rate", args->min_rate,
                    "Do not report growth below this rate, e.g. 1M/h or 10k/s");
    cmd->add_option("--work-column", args->work_column,
                    "Judge memory per unit of work: the column counting work done, e.g. "
                    "requests_total (default: a work_total or work_rate column when the series "
                    "has one)");
    cmd->add_option("--work-kind", args->work_kind,
                    "total: the work column counts work done so far (default); rate: work per "
                    "second");
    cmd->add_option("--work-unit", args->work_unit, "What one unit of work is (default request)");
    return [args] { return run_classify(*args); };
}

}  // namespace leakhunt::cli
