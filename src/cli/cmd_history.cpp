// `leakhunt history`: what the watch database holds. Without a target, one line per target
// (samples, time range, current verdict); with one, its verdict, and --csv exports its series.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "report/verdict_report.hpp"
#include "series/csv.hpp"
#include "series/store.hpp"
#include "trend/classify.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

struct HistoryArgs {
    std::string db;
    std::string target;
    std::string csv;
    bool json = false;
};

int run_history(const HistoryArgs& args) {
    const std::filesystem::path path =
        args.db.empty() ? series::default_db_path() : std::filesystem::path(args.db);
    if (!std::filesystem::exists(path)) {
        throw util::Error("no watch database at {} (run `leakhunt watch` first, or pass --db)",
                          path.string());
    }
    series::Store store(path, series::OpenMode::existing);
    const auto targets = store.list_targets();
    const report::Style style{report::color_for_fd(1)};
    if (args.target.empty()) {
        if (!args.json) {
            std::printf("%-40s %9s %9s  %-20s %s\n", "TARGET", "RESTARTS", "SAMPLES", "LAST SEEN",
                        "VERDICT");
        }
        for (const auto& t : targets) {
            series::Series s = store.load_series(t.id);
            trend::ClassifyOptions o;
            o.detection_latency = false;
            trend::Classification c = trend::classify(s, o);
            if (args.json) {
                nlohmann::json j = report::verdict_json(s, c);
                j["key"] = t.key;
                j["instances"] = t.instances;
                std::printf("%s\n", j.dump().c_str());
                continue;
            }
            std::string last = t.last_t ? util::format_duration(unix_now() - *t.last_t) + " ago"
                                        : std::string("never");
            std::printf("%-40s %9lld %9lld  %-20s %s\n", util::terminal_safe(t.key).c_str(),
                        static_cast<long long>(std::max<int64_t>(0, t.instances - 1)),
                        static_cast<long long>(t.samples), last.c_str(),
                        report::verdict_word(c.memory.verdict, style).c_str());
        }
        return k_exit_ok;
    }
    const series::TargetInfo* found = nullptr;
    for (const auto& t : targets) {
        if (t.key == args.target || t.display == args.target ||
            std::to_string(t.id) == args.target) {
            found = &t;
        }
    }
    if (found == nullptr) {
        throw util::Error("no target '{}' in {} (run `leakhunt history` to list them)", args.target,
                          path.string());
    }
    series::Series s = store.load_series(found->id);
    s.name = found->display;
    if (!args.csv.empty()) {
        series::write_csv(args.csv, {s});
        std::fprintf(stderr, "leakhunt: wrote %zu samples to %s\n", s.size(), args.csv.c_str());
    }
    trend::Classification c = trend::classify(s, trend::ClassifyOptions{});
    if (args.json) {
        nlohmann::json j = report::verdict_json(s, c);
        j["key"] = found->key;
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("%s", report::verdict_text(s, c, style).c_str());
    }
    return k_exit_ok;
}

}  // namespace

Runner add_history(CLI::App& app) {
    auto args = std::make_shared<HistoryArgs>();
    CLI::App* cmd = app.add_subcommand(
        "history", "List the targets in the watch database, or judge and export one");
    cmd->add_option("target", args->target, "Target key (as listed), name or id");
    cmd->add_option("--db", args->db, "The watch database (default as for `watch`)");
    cmd->add_option("--csv", args->csv, "Export the target's series to this CSV");
    cmd->add_flag("--json", args->json, "Verdict JSON, one object per line");
    return [args] { return run_history(*args); };
}

}  // namespace leakhunt::cli
