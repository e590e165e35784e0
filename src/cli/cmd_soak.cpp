// `leakhunt soak`: the CI gate. Starts the service, waits until it is ready, runs the load,
// watches for --warmup plus --duration, prints the verdict, writes the series CSV and the verdict
// JSON, and exits 3 on a leak.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/watch_view.hpp"
#include "proc/child_process.hpp"
#include "profile/fetch.hpp"
#include "report/verdict_report.hpp"
#include "series/csv.hpp"
#include "series/work_count.hpp"
#include "trend/classify.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"
#include "watch/watcher.hpp"

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
    std::string work_counter;
    std::string work_unit = "request";
    bool json = false;
};

// --work-counter CMD|URL: the work the service has done so far, read after every sample. A URL's
// fragment names a JSON field or a Prometheus metric of the reply (`/stats#requests`).
class WorkCounter {
  public:
    explicit WorkCounter(std::string spec) : m_spec(std::move(spec)) {
        if (profile::is_url(m_spec)) {
            const size_t hash = m_spec.find('#');
            m_url = m_spec.substr(0, hash);
            if (hash != std::string::npos) m_field = m_spec.substr(hash + 1);
            (void)profile::parse_url(m_url);  // a malformed URL is a usage error now, not later
        }
    }
    // The count, or NaN after a failure (said once on stderr).
    double read() {
        try {
            const std::string text =
                m_url.empty() ? proc::run_for_output(m_spec, k_timeout_s, k_max_bytes)
                              : profile::fetch_url(m_url, {std::chrono::milliseconds(2000),
                                                           std::chrono::milliseconds(2000)});
            return series::parse_work_value(text, m_field);
        } catch (const util::Error& e) {
            if (!m_warned)
                warnf("--work-counter {}: {} (the samples without a count are left out)", m_spec,
                      e.what());
            m_warned = true;
            return std::numeric_limits<double>::quiet_NaN();
        }
    }

  private:
    static constexpr double k_timeout_s = 2.0;
    static constexpr size_t k_max_bytes = 64u << 10;
    std::string m_spec, m_url, m_field;
    bool m_warned = false;
};

// The last `max_bytes` of a file (a load generator's output can be long; its summary is last).
std::string file_tail(const std::filesystem::path& path, size_t max_bytes) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw util::Error("cannot read {}: {}", path.string(), util::errno_text(errno));
    const auto size = static_cast<size_t>(in.tellg());
    const size_t from = size > max_bytes ? size - max_bytes : 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string text(size - from, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    return text;
}

// The counts read at times `at` (series time), put on the series' own times by linear
// interpolation between the reads around each sample; NaN outside them.
std::vector<double> work_on(const std::vector<double>& times, const std::vector<double>& at,
                            const std::vector<double>& counts) {
    std::vector<double> out(times.size(), std::numeric_limits<double>::quiet_NaN());
    std::vector<double> t, c;
    for (size_t i = 0; i < at.size(); ++i) {
        if (std::isfinite(counts[i])) {
            t.push_back(at[i]);
            c.push_back(counts[i]);
        }
    }
    size_t j = 0;
    for (size_t i = 0; i < times.size() && !t.empty(); ++i) {
        while (j + 1 < t.size() && t[j + 1] < times[i]) ++j;
        if (times[i] < t.front() - 1e-9 || times[i] > t.back() + 1e-9) continue;
        if (j + 1 >= t.size() || t[j + 1] == t[j]) {
            out[i] = c[j];
        } else {
            const double f = std::clamp((times[i] - t[j]) / (t[j + 1] - t[j]), 0.0, 1.0);
            out[i] = c[j] + f * (c[j + 1] - c[j]);
        }
    }
    return out;
}

// Memory kept per request from a load generator's final count alone: the baseline's growth per
// second over the load's requests per second. Assumes a steady request rate, and says so.
nlohmann::json per_request_from_summary(const series::LoadSummary& load, double load_seconds,
                                        trend::Classification& c, const std::string& unit) {
    const double seconds = load.seconds.value_or(load_seconds);
    nlohmann::json j;
    if (!(load.requests > 0) || !(seconds > 0)) return j;
    const double per_second = load.requests / seconds;
    const double per_unit = c.memory.baseline_fit.slope / per_second;
    j = {{"source", load.tool + " summary"},
         {"units", load.requests},
         {"seconds", seconds},
         {"bytes_per_unit", std::round(per_unit * 100) / 100}};
    c.memory.evidence.insert(
        c.memory.evidence.begin(),
        fmt::format("{}{} retained per {}: the baseline's {} over {}'s {} {}s in {} ({}/s), "
                    "assuming a steady rate (--work-counter measures it sample by sample)",
                    per_unit >= 0 ? "+" : "", util::format_bytes(per_unit), unit,
                    util::format_rate(c.memory.baseline_fit.slope * 3600), load.tool,
                    util::format_count(load.requests), unit, util::format_duration(seconds),
                    util::format_count(per_second)));
    return j;
}

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

void wait_ready(proc::ChildProcess& service, int port, double timeout_s) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        if (!service.running()) {
            throw util::Error(
                "the service {} before it was ready on port {} (see its output "
                "above)",
                service.exit_text(), port);
        }
        if (port_open(port)) return;
        const double waited =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (waited > timeout_s) {
            throw util::Error(
                "the service did not accept connections on 127.0.0.1:{} within {} "
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
    watch::WatchConfig config;
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
    proc::ChildProcess service =
        proc::ChildProcess::spawn(command, args.json ? proc::ChildProcess::Stdout::to_stderr
                                                     : proc::ChildProcess::Stdout::inherit);
    if (args.ready_port > 0) {
        wait_ready(service, args.ready_port,
                   parse_duration_option("--ready-timeout", args.ready_timeout));
        std::fprintf(stderr, "leakhunt: service ready on port %d\n", args.ready_port);
    }
    proc::ChildProcess load;
    bool load_reported = false;
    const auto watcher_clock = [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    double load_started = 0;
    double load_ended = 0;
    std::optional<WorkCounter> counter;
    if (!args.work_counter.empty()) counter.emplace(args.work_counter);
    if (!args.load.empty()) {
        load = proc::ChildProcess::spawn_shell(args.load, {}, (dir / "load.out").string());
        load_started = watcher_clock();
        std::fprintf(stderr, "leakhunt: load started: %s\n", args.load.c_str());
    }
    std::fprintf(stderr, "leakhunt: watching pid %d for %s%s, one sample every %s\n", service.pid(),
                 util::format_duration(duration).c_str(),
                 warmup > 0 ? (" after a warm-up of " + util::format_duration(warmup)).c_str() : "",
                 util::format_duration(interval).c_str());

    config.judge_from_s = warmup;
    watch::Watcher watcher(config, {{watch::TargetSpec::Kind::command, service.pid(), {}}});
    WatchView view(args.json ? ViewMode::quiet : ViewMode::lines);
    watch::LoopOptions loop;
    loop.interval_s = interval;
    loop.duration_s = warmup + duration;
    loop.command = &service;
    // A load that fails leaves a gate without load, which would pass any service: the soak
    // stops and fails, unless --load-may-fail says the load may end early.
    std::string load_failure;
    std::vector<double> work_at, work_count;
    loop.keep_going = [&](double now) {
        if (counter) {
            work_at.push_back(now - watcher.t0());
            work_count.push_back(counter->read());
        }
        if (!args.load.empty() && !load_reported && !load.running()) {
            load_reported = true;
            load_ended = watcher_clock();
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
    const watch::LoopEnd end = run_watch_loop(watcher, view, loop);
    if (!args.load.empty() && load_ended == 0) load_ended = watcher_clock();
    // A load generator still running is stopped as at a ^C (SIGINT to its group), which wrk and
    // k6 answer with their summary, before the SIGTERM of stop().
    if (load.running()) {
        ::kill(-load.pid(), SIGINT);
        (void)load.wait_for(2.0);
    }
    load.stop();
    std::string load_output;
    if (!args.load.empty()) {
        try {
            load_output = file_tail(dir / "load.out", 1u << 20);
        } catch (const util::Error& e) {
            warn(e.what());
        }
        if (!load_output.empty()) {
            std::fprintf(
                stderr, "leakhunt: the load's output (also in %s):\n%s", (dir / "load.out").c_str(),
                util::terminal_safe(
                    load_output.substr(load_output.size() > 8192 ? load_output.size() - 8192 : 0))
                    .c_str());
        }
    }
    const bool died = !service.running();
    const std::string service_end = service.exit_text();
    service.stop();

    trend::Classification result = watcher.finish().front();
    const watch::TargetState& target = watcher.targets().front();
    series::Series judged = watcher.judged_series(target);
    series::Series recorded = target.series;
    nlohmann::json per_summary;
    if (counter) {
        // Memory per unit of work: the counts go beside memory, and the verdict is judged on them.
        judged.columns[std::string(series::k_work_total)] = work_on(judged.t, work_at, work_count);
        recorded.columns[std::string(series::k_work_total)] =
            work_on(recorded.t, work_at, work_count);
        trend::ClassifyOptions o;
        o.engine = config.engine;
        o.work.unit = args.work_unit;
        result = trend::classify(judged, o);
    } else if (const auto summary = series::parse_load_summary(load_output)) {
        per_summary =
            per_request_from_summary(*summary, load_ended - load_started, result, args.work_unit);
    }
    series::write_csv(dir / "series.csv", {recorded});
    nlohmann::json j = report::verdict_json(judged, result);
    if (!per_summary.is_null()) j["per_work"] = per_summary;
    j["command"] = command;
    j["load"] = args.load;
    j["duration_s"] = duration;
    j["warmup_s"] = warmup;
    j["interval_s"] = interval;
    j["service_exit"] = died ? nlohmann::json(service_end) : nlohmann::json(nullptr);
    j["interrupted"] = end == watch::LoopEnd::interrupted;
    j["load_failure"] =
        load_failure.empty() ? nlohmann::json(nullptr) : nlohmann::json(load_failure);
    util::write_file_atomic(dir / "verdict.json", j.dump(2) + "\n");

    if (args.json) {
        std::printf("%s\n", j.dump().c_str());
    } else {
        std::printf(
            "\n%s",
            report::verdict_text(judged, result, report::Style{report::color_for_fd(1)}).c_str());
        std::printf("series: %s\nverdict: %s\n", (dir / "series.csv").c_str(),
                    (dir / "verdict.json").c_str());
    }
    (void)style;
    if (end == watch::LoopEnd::interrupted) {
        throw util::Error("interrupted before the soak ended; partial results are in {}",
                          dir.string());
    }
    if (!load_failure.empty()) {
        throw util::Error(
            "{}: a soak without load proves nothing (fix the load command, or pass "
            "--load-may-fail if it may end early; partial results are in {})",
            load_failure, dir.string());
    }
    if (died) {
        throw util::Error(
            "the service {} {} into the soak, before it ended (partial results are "
            "in {})",
            service_end, util::format_duration(watcher.now() - watcher.t0()), dir.string());
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
    cmd->add_option("--work-counter", args->work_counter,
                    "Judge memory per unit of work: a command that prints the work done so far, "
                    "or a URL whose reply is that number (URL#field: a JSON field or Prometheus "
                    "metric of the reply), read after every sample")
        ->check([](const std::string& v) {
            return v.empty() ? "--work-counter needs a command or a URL" : "";
        });
    cmd->add_option("--work-unit", args->work_unit, "What one unit of work is (default request)");
    cmd->add_flag("--json", args->json, "Print the verdict JSON to stdout");
    cmd->footer("  -- CMD ARGS   the service to start");
    return [args] { return run_soak(*args); };
}

}  // namespace leakhunt::cli
