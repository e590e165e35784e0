// `leakhunt soak`: the CI gate. Starts the service, waits until it is ready, runs the load,
// watches for --warmup plus --duration, prints the verdict, writes the series CSV and the verdict
// JSON, and exits 3 on a leak.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/child_process.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/watch_view.hpp"
#include "cli/watcher.hpp"
#include "report/verdict_report.hpp"
#include "series/csv.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

struct SoakArgs {
    std::string duration;
    std::string warmup = "0s";
    std::string load;
    bool load_may_fail = false;
    int ready_port = 0;
    std::string ready_timeout = "60s";
    std::string interval;
    std::string out_dir = "leakhunt-soak";
    std::string limit;
    std::string min_rate;
    bool json = false;
};

bool port_open(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

void wait_ready(ChildProcess& service, int port, double timeout_s) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        if (!service.running()) {
            throw util::Error("the service {} before it was ready on port {} (see its output "
                              "above)",
                              service.exit_text(), port);
        }
        if (port_open(port)) return;
        const double waited =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (waited > timeout_s) {
            throw util::Error("the service did not accept connections on 127.0.0.1:{} within {} "
                              "(check --ready-port, or raise --ready-timeout)",
                              port, util::format_duration(timeout_s));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

int run_soak(const SoakArgs& args) {
    const auto& command = trailing_command();
    if (command.empty()) throw util::UsageError("soak needs the service to start: -- CMD ARGS");
    if (args.duration.empty()) throw util::UsageError("soak needs --duration, e.g. --duration 20m");
    const double duration = parse_duration_option("--duration", args.duration);
    const double warmup = args.warmup == "0s" || args.warmup == "0"
                              ? 0.0
                              : parse_duration_option("--warmup", args.warmup);
    // Enough samples for the engine to judge any duration: about 600 over the judged time.
    const double interval = args.interval.empty()
                                ? std::clamp(duration / 600.0, 0.05, 5.0)
                                : parse_duration_option("--interval", args.interval);
    WatchConfig config;
    if (!args.limit.empty()) config.engine.limit_bytes = parse_bytes_option("--limit", args.limit);
    if (!args.min_rate.empty()) {
        config.engine.min_rate_bytes_per_hour = parse_rate_option("--min-rate", args.min_rate);
    }
    const std::filesystem::path dir = args.out_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw util::Error("cannot create {}: {}", dir.string(), ec.message());

    const report::Style style{report::color_for_fd(2)};
    std::fprintf(stderr, "leakhunt: starting %s\n", command.front().c_str());
    ChildProcess service = ChildProcess::spawn(
        command, args.json ? ChildProcess::Stdout::to_stderr : ChildProcess::Stdout::inherit);
    if (args.ready_port > 0) {
        wait_ready(service, args.ready_port,
                   parse_duration_option("--ready-timeout", args.ready_timeout));
        std::fprintf(stderr, "leakhunt: service ready on port %d\n", args.ready_port);
    }
    ChildProcess load;
    bool load_reported = false;
    if (!args.load.empty()) {
        load = ChildProcess::spawn_shell(args.load);
        std::fprintf(stderr, "leakhunt: load started: %s\n", args.load.c_str());
    }
    std::fprintf(stderr, "leakhunt: watching pid %d for %s%s, one sample every %s\n",
                 service.pid(), util::format_duration(duration).c_str(),
                 warmup > 0 ? (" after a warm-up of " + util::format_duration(warmup)).c_str() : "",
                 util::format_duration(interval).c_str());

    config.judge_from_s = warmup;
    Watcher watcher(config, {{TargetSpec::Kind::command, service.pid(), {}}});
    WatchView view(args.json ? ViewMode::quiet : ViewMode::lines);
    LoopOptions loop;
    loop.interval_s = interval;
    loop.duration_s = warmup + duration;
    loop.command = &service;
    // A load that fails leaves a gate without load, which would pass any service: the soak
    // stops and fails, unless --load-may-fail says the load may end early.
    std::string load_failure;
    loop.keep_going = [&](double) {
        if (!args.load.empty() && !load_reported && !load.running()) {
            load_reported = true;
            const int status = load.wait_status().value_or(0);
            const bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
            const std::string when = util::format_duration(watcher.now() - watcher.t0());
            if (failed && !args.load_may_fail) {
                load_failure = fmt::format("the load command {} {} after {}", args.load,
                                           load.exit_text(), when);
                return false;
            }
            warnf("the load command {} after {}; the service is watched without load from now",
                  load.exit_text(), when);
        }
        return true;
    };
    const LoopEnd end = run_watch_loop(watcher, view, loop);
    load.stop();
    const bool died = !service.running();
    const std::string service_end = service.exit_text();
    service.stop();

    const trend::Classification result = watcher.finish().front();
    const TargetState& target = watcher.targets().front();
    const series::Series judged = watcher.judged_series(target);
    series::write_csv(dir / "series.csv", {target.series});
    nlohmann::json j = report::verdict_json(judged, result);
    j["command"] = command;
    j["load"] = args.load;
    j["duration_s"] = duration;
    j["warmup_s"] = warmup;
    j["interval_s"] = interval;
    j["service_exit"] = died ? nlohmann::json(service_end) : nlohmann::json(nullptr);
    j["interrupted"] = end == LoopEnd::interrupted;
    j["load_failure"] = load_failure.empty() ? nlohmann::json(nullptr) : nlohmann::json(load_failure);
    util::write_file_atomic(dir / "verdict.json", j.dump(2) + "\n");

    if (args.json) {
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf("\n%s", report::verdict_text(judged, result, report::Style{report::color_for_fd(1)}).c_str());
        std::printf("series: %s\nverdict: %s\n", (dir / "series.csv").c_str(),
                    (dir / "verdict.json").c_str());
    }
    (void)style;
    if (end == LoopEnd::interrupted) {
        throw util::Error("interrupted before the soak ended; partial results are in {}",
                          dir.string());
    }
    if (!load_failure.empty()) {
        throw util::Error("{}: a soak without load proves nothing (fix the load command, or pass "
                          "--load-may-fail if it may end early; partial results are in {})",
                          load_failure, dir.string());
    }
    if (died) {
        throw util::Error("the service {} {} into the soak, before it ended (partial results are "
                          "in {})",
                          service_end, util::format_duration(watcher.now() - watcher.t0()),
                          dir.string());
    }
    return result.memory.verdict == trend::Verdict::leak ? k_exit_leak : k_exit_ok;
}

}  // namespace

Runner add_soak(CLI::App& app) {
    auto args = std::make_shared<SoakArgs>();
    CLI::App* cmd = app.add_subcommand(
        "soak", "CI gate: run a service under load, watch it, exit 3 if it leaks");
    cmd->add_option("--duration", args->duration, "How long to judge, e.g. 20m")->required();
    cmd->add_option("--warmup", args->warmup,
                    "Time after the start of the load that is recorded but not judged");
    cmd->add_option("--load", args->load, "Load command (run with /bin/sh -c), e.g. 'wrk ...'");
    cmd->add_flag("--load-may-fail", args->load_may_fail,
                  "Go on watching without load if the load command fails (default: the soak "
                  "fails with exit 1)");
    cmd->add_option("--ready-port", args->ready_port,
                    "Wait until the service accepts connections on 127.0.0.1:PORT");
    cmd->add_option("--ready-timeout", args->ready_timeout, "How long to wait for --ready-port");
    cmd->add_option("--interval", args->interval,
                    "Time between samples (default: duration/600, between 50ms and 5s)");
    cmd->add_option("-o,--out,--output", args->out_dir,
                    "Directory for series.csv and verdict.json (default ./leakhunt-soak)");
    cmd->add_option("--limit", args->limit, "Memory limit for the projection, e.g. 2G");
    cmd->add_option("--min-rate", args->min_rate, "Do not fail on growth below this rate");
    cmd->add_flag("--json", args->json, "Print the verdict JSON to stdout");
    cmd->footer("  -- CMD ARGS   the service to start");
    return [args] { return run_soak(*args); };
}

}  // namespace leakhunt::cli
