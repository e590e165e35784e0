// `leakhunt watch`: follows processes (PIDs, --name regex across restarts, --cgroup, or a command
// it starts), records their memory into the database, CSV and JSON lines, and shows a live
// verdict per process. A started program that fails (non-zero exit, a signal) makes it exit 1
// after the verdicts, naming the exit status.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/watch_view.hpp"
#include "proc/child_process.hpp"
#include "report/verdict_report.hpp"
#include "series/store.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"
#include "watch/watcher.hpp"

namespace leakhunt::cli {
namespace {

struct WatchArgs {
    std::vector<std::string> pids;
    std::vector<std::string> names;
    std::vector<std::string> cgroups;
    std::string interval = "1s";
    std::string duration;
    std::string db;
    bool no_db = false;
    std::string csv;
    bool json = false;
    bool smaps = false;
    bool no_smaps = false;
    std::string limit;
    std::string min_rate;
    std::string on_leak;
    bool fail_on_leak = false;
};

int run_watch(const WatchArgs& args) {
    std::vector<watch::TargetSpec> specs;
    for (const auto& p : args.pids) {
        specs.push_back({watch::TargetSpec::Kind::pid, parse_pid_option("", p), {}});
    }
    for (const auto& n : args.names) specs.push_back({watch::TargetSpec::Kind::name, 0, n});
    for (const auto& c : args.cgroups) specs.push_back({watch::TargetSpec::Kind::cgroup, 0, c});
    const auto& command = trailing_command();
    if (specs.empty() && command.empty()) {
        throw util::UsageError(
            "nothing to watch: give PIDs, --name REGEX, --cgroup PATH or -- COMMAND ARGS");
    }

    watch::WatchConfig config;
    if (args.json) {
        config.json_line = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
    }
    if (args.smaps && args.no_smaps)
        throw util::UsageError("--smaps and --no-smaps contradict each other");
    if (args.smaps) config.smaps = true;
    if (args.no_smaps) config.smaps = false;
    config.on_leak = args.on_leak;
    if (!args.no_db)
        config.db = args.db.empty() ? series::default_db_path() : std::filesystem::path(args.db);
    if (!args.csv.empty()) config.csv = args.csv;
    if (!args.limit.empty()) config.engine.limit_bytes = parse_bytes_option("--limit", args.limit);
    if (!args.min_rate.empty()) {
        config.engine.min_rate_bytes_per_hour = parse_rate_option("--min-rate", args.min_rate);
    }
    watch::LoopOptions loop;
    loop.interval_s = parse_duration_option("--interval", args.interval);
    if (!args.duration.empty())
        loop.duration_s = parse_duration_option("--duration", args.duration);

    proc::ChildProcess child;
    if (!command.empty()) {
        child = proc::ChildProcess::spawn(command, args.json ? proc::ChildProcess::Stdout::to_stderr
                                                             : proc::ChildProcess::Stdout::inherit);
        specs.push_back({watch::TargetSpec::Kind::command, child.pid(), {}});
        loop.command = &child;
    }
    watch::Watcher watcher(config, specs);
    ViewMode mode =
        args.json ? ViewMode::quiet : (::isatty(1) != 0 ? ViewMode::tty : ViewMode::lines);
    WatchView view(mode);
    const watch::LoopEnd end = run_watch_loop(watcher, view, loop);
    // Whether the program ended by itself, before we stop it. When the loop ended because the
    // program's /proc files went, the kernel may not have made it a zombie yet (its memory goes
    // before its exit is reported): wait for the exit a moment rather than call it running.
    if (!command.empty() && end == watch::LoopEnd::targets_ended) child.wait_for(2.0);
    const bool program_ended = !command.empty() && !child.running();
    if (!command.empty() && child.running()) child.stop();

    const auto results = watcher.finish();
    bool any_leak = false;
    FILE* out = args.json ? stderr : stdout;
    const report::Style style{args.json ? report::Color::off : report::color_for_fd(1)};
    std::fprintf(out, "\n%s after %s:\n",
                 end == watch::LoopEnd::interrupted ? "Stopped" : "Finished",
                 util::format_duration(watcher.now() - watcher.t0()).c_str());
    for (size_t i = 0; i < results.size(); ++i) {
        const auto& t = watcher.targets()[i];
        series::Series s = watcher.judged_series(t);
        std::fprintf(out, "%s", report::verdict_text(s, results[i], style).c_str());
        any_leak = any_leak || results[i].memory.verdict == trend::Verdict::leak;
    }
    if (config.db) std::fprintf(out, "samples stored in %s\n", config.db->c_str());
    if (config.csv) std::fprintf(out, "series written to %s\n", config.csv->c_str());
    if (program_ended) {
        const int status = child.wait_status().value_or(0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fflush(out);
            throw util::Error("the program {} {} (its memory up to then is above)", command.front(),
                              child.exit_text());
        }
        std::fprintf(out, "the program %s %s\n", util::terminal_safe(command.front()).c_str(),
                     child.exit_text().c_str());
    }
    return args.fail_on_leak && any_leak ? k_exit_leak : k_exit_ok;
}

}  // namespace

Runner add_watch(CLI::App& app) {
    auto args = std::make_shared<WatchArgs>();
    CLI::App* cmd = app.add_subcommand(
        "watch", "Watch the memory of processes over time and say whether they leak");
    cmd->add_option("pids", args->pids, "PIDs to watch");
    // One value per option (--name A --name B): a PID after `--name RE` is a PID, not a second
    // regex.
    cmd->add_option("--name", args->names,
                    "Follow the process whose command line matches this regex (POSIX extended), "
                    "across restarts; repeatable")
        ->allow_extra_args(false);
    cmd->add_option("--cgroup", args->cgroups,
                    "Watch a cgroup (v1 or v2): a directory or a path under /sys/fs/cgroup; "
                    "repeatable")
        ->allow_extra_args(false);
    cmd->add_option("--interval", args->interval, "Time between samples (default 1s)");
    cmd->add_option("--duration", args->duration, "Stop after this long (default: until ^C)");
    cmd->add_option("--db", args->db,
                    "SQLite database of samples (default $LEAKHUNT_DB or "
                    "~/.local/state/leakhunt/watch.db); a later watch of the same target resumes");
    cmd->add_flag("--no-db", args->no_db, "Do not store samples in a database");
    cmd->add_option("--csv", args->csv, "Append samples to this series CSV");
    cmd->add_flag("--json", args->json, "Write one JSON object per sample to stdout");
    cmd->add_flag("--smaps", args->smaps,
                  "Read smaps_rollup for PSS and USS (default: only when watching up to 20 "
                  "targets; it costs kernel time on big processes)");
    cmd->add_flag("--no-smaps", args->no_smaps, "Never read smaps_rollup");
    cmd->add_option("--limit", args->limit, "Memory limit for the projection, e.g. 2G");
    cmd->add_option("--min-rate", args->min_rate,
                    "Do not report growth below this rate, e.g. 1M/h");
    cmd->add_option("--on-leak", args->on_leak,
                    "Shell command run once per target when it turns leak; facts in LEAKHUNT_* "
                    "environment variables");
    cmd->add_flag("--fail-on-leak", args->fail_on_leak, "Exit with code 3 if any target leaks");
    cmd->footer("  -- CMD ARGS   start CMD and watch it");
    return [args] { return run_watch(*args); };
}

}  // namespace leakhunt::cli
