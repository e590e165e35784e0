// `leakhunt hunt PID | --name REGEX | --cgroup PATH`: options only; the phases are in hunt.hpp.
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/hunt.hpp"
#include "util/error.hpp"

namespace leakhunt::cli {
namespace {

struct HuntArgs {
    std::string pid;
    std::string name;
    std::string cgroup;
    std::string out_dir = "leakhunt-hunt";
    std::string budget = "30m";
    std::string watch_first = "10m";
    std::string interval;
    std::string limit;
    std::string patterns_file;
    bool profile_anyway = false;
    bool json = false;
};

int run(const HuntArgs& args) {
    const int given = !args.pid.empty() + !args.name.empty() + !args.cgroup.empty();
    if (given != 1) {
        throw util::UsageError(
            "hunt needs exactly one target: a PID, --name REGEX or --cgroup PATH");
    }
    HuntOptions o;
    o.budget_s = parse_duration_option("--budget", args.budget);
    o.watch_first_s = parse_duration_option("--watch-first", args.watch_first);
    if (o.watch_first_s > o.budget_s) {
        throw util::UsageError(
            "--watch-first {} is longer than --budget {}: the watch is part of the "
            "budget",
            args.watch_first, args.budget);
    }
    if (!args.interval.empty()) o.interval_s = parse_duration_option("--interval", args.interval);
    if (!args.limit.empty()) o.limit_bytes = parse_bytes_option("--limit", args.limit);
    if (!args.patterns_file.empty()) o.patterns_file = args.patterns_file;
    o.profile_anyway = args.profile_anyway;
    o.json = args.json;
    o.target = !args.pid.empty()    ? resolve_pid(parse_pid_option("", args.pid))
               : !args.name.empty() ? resolve_name(args.name)
                                    : resolve_cgroup(args.cgroup);
    std::error_code ec;
    std::filesystem::create_directories(args.out_dir, ec);
    if (ec) throw util::Error("cannot create {}: {}", args.out_dir, ec.message());
    o.dir = std::filesystem::absolute(args.out_dir);
    return run_hunt(o);
}

}  // namespace

Runner add_hunt(CLI::App& app) {
    auto args = std::make_shared<HuntArgs>();
    CLI::App* cmd = app.add_subcommand(
        "hunt", "Watch a running process, and if it leaks, capture, rank and explain the leak");
    cmd->add_option("pid", args->pid, "The process to hunt");
    cmd->add_option("--name", args->name, "The one process whose command line matches this regex");
    cmd->add_option("--cgroup", args->cgroup,
                    "Watch this cgroup's memory and profile its biggest process");
    cmd->add_option("-o,--out", args->out_dir,
                    "Directory for every phase's files (default ./leakhunt-hunt)");
    cmd->add_option("--budget", args->budget, "Wall-clock time for the whole hunt (default 30m)");
    cmd->add_option("--watch-first", args->watch_first,
                    "Watch at most this long before deciding whether to capture (default 10m)");
    cmd->add_option("--interval", args->interval,
                    "Time between memory samples (default: --watch-first / 500, 40ms to 5s)");
    cmd->add_option("--limit", args->limit,
                    "Memory limit for the time-to-limit projection, e.g. 2G");
    cmd->add_flag("--profile-anyway", args->profile_anyway,
                  "Capture and take the heap dump even when the watch finds no leak");
    cmd->add_option(
        "--patterns", args->patterns_file,
        "Patterns file to match the finding against (default: the user's, see `leakhunt learn`)");
    cmd->add_flag("--json", args->json, "Print the summary as one JSON object");
    return [args] { return run(*args); };
}

}  // namespace leakhunt::cli
