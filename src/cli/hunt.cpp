// `leakhunt hunt` (hunt.hpp): the phases in order, each bounded by the wall-clock budget; a stop
// signal (^C) ends the phase that runs, detaches from the process, and the files captured so far
// are analysed and kept.
#include "cli/hunt.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "capture/runtime.hpp"
#include "cli/common.hpp"
#include "cli/hunt_findings.hpp"
#include "cli/profile_puller.hpp"
#include "cli/record_attach.hpp"
#include "cli/record_runtime.hpp"
#include "cli/watch_view.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"
#include "watch/watcher.hpp"

namespace leakhunt::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Samples the watch phase aims for within --watch-first (the verdict engine needs 400 to call a
// rise of less than half the process's size a leak, 60 to call a series settled), and the
// bounds of the sampling interval that follows from it (soak samples every 50 ms).
constexpr double k_watch_samples = 500;
constexpr double k_min_interval_s = 0.04;
constexpr double k_max_interval_s = 5;
// A verdict must hold this long (and at least this share of --watch-first) before the watch
// stops early.
constexpr double k_min_hold_s = 5;
constexpr double k_hold_share = 0.2;
// Of the time left after the watch, the capture takes this share; the rest is for the heap
// graph or scan at the end and the analysis.
constexpr double k_capture_share = 0.8;
// Snapshots the capture aims for (suspects need at least 3), and the shortest period.
constexpr double k_capture_snapshots = 8;
constexpr double k_min_snapshot_every_s = 1;
// Less capture time than this cannot show a trend.
constexpr double k_min_capture_s = 5;

void progress(const std::string& text) {
    std::fprintf(stderr, "leakhunt: %s\n", util::terminal_safe(text).c_str());
}

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

struct WatchOutcome {
    watch::LoopEnd end = watch::LoopEnd::duration;
    bool decided_early = false;
};

WatchOutcome watch_phase(const HuntOptions& o, HuntFacts& facts) {
    watch::WatchConfig config;
    config.csv = o.dir / "watch.csv";
    config.engine.limit_bytes = o.limit_bytes;
    watch::Watcher watcher(config, {o.target.watch});
    WatchView view(ViewMode::quiet);
    watch::LoopOptions loop;
    loop.interval_s = o.interval_s.value_or(
        std::clamp(o.watch_first_s / k_watch_samples, k_min_interval_s, k_max_interval_s));
    loop.duration_s = o.watch_first_s;
    const double hold_s = std::max(k_min_hold_s, k_hold_share * o.watch_first_s);
    const double say_every = std::max(5.0, o.watch_first_s / 10);
    double last_said = 0;
    std::optional<trend::Verdict> held;
    double held_since = 0;
    WatchOutcome out;
    loop.keep_going = [&](double now) {
        const watch::TargetState& t = watcher.targets().front();
        const double elapsed = now - watcher.t0();
        const trend::Verdict v = t.hysteresis.verdict();
        if (!held || *held != v) held = v, held_since = elapsed;
        if (elapsed - last_said >= say_every) {
            last_said = elapsed;
            const auto& rss = t.series.columns.at("rss_bytes");
            progress(
                fmt::format("watch: {} of {}: RSS {}, {} ({} so far)",
                            util::format_duration(elapsed), util::format_duration(o.watch_first_s),
                            rss.empty() ? "?" : util::format_bytes(rss.back()),
                            util::format_rate(t.live.growth_bytes_per_hour), trend::to_string(v)));
        }
        // A verdict must hold before the watch stops early: a leak's first minutes can look
        // settled, and a warm-up or a cache filling up looks like a leak until it stops.
        if (v != trend::Verdict::inconclusive && elapsed - held_since >= hold_s) {
            out.decided_early = true;
            return false;
        }
        return true;
    };
    progress(fmt::format("watch: sampling pid {} every {} for up to {} until the verdict is clear",
                         o.target.pid,
                         loop.interval_s < 1 ? fmt::format("{:.0f} ms", loop.interval_s * 1000)
                                             : util::format_duration(loop.interval_s),
                         util::format_duration(o.watch_first_s)));
    out.end = run_watch_loop(watcher, view, loop);
    const auto results = watcher.finish();
    facts.watched_s = watcher.now() - watcher.t0();
    facts.series = watcher.judged_series(watcher.targets().front());
    facts.verdict = results.front();
    // Stopped on the live leak verdict: that judgement stands (the final pass over the same
    // samples, without the hysteresis, may sit just below the bar).
    const watch::TargetState& t = watcher.targets().front();
    if (out.decided_early && t.hysteresis.verdict() == trend::Verdict::leak &&
        facts.verdict.memory.verdict != trend::Verdict::leak) {
        facts.verdict.memory = t.live;
    }
    return out;
}

// The capture of the runtime, into DIR/record, for `capture_s` seconds.
void capture_phase(const HuntOptions& o, capture::Runtime runtime, double capture_s,
                   HuntFacts& facts) {
    const fs::path record = o.dir / "record";
    std::error_code ec;
    fs::create_directories(record, ec);
    if (ec) throw util::Error("cannot create {}: {}", record.string(), ec.message());
    const double every = std::max(k_min_snapshot_every_s, capture_s / k_capture_snapshots);
    const pid_t pid = o.target.pid;
    progress(fmt::format("capture: {} runtime; a snapshot every {} for {} into {}",
                         capture::runtime_name(runtime), util::format_duration(every),
                         util::format_duration(capture_s), record.string()));
    int code = k_exit_ok;
    switch (runtime) {
        case capture::Runtime::native: {
            // Every allocation, so that the heap scan at the end knows every block made since
            // the attach and can explain what holds them.
            NativeAttachArgs a;
            a.pid = pid;
            a.dir = fs::absolute(record);
            a.sample_interval = 1;
            a.every_s = every;
            a.duration_s = capture_s;
            a.scan_before_detach = true;
            code = record_attach(a);
            break;
        }
        case capture::Runtime::go: {
            progress(
                fmt::format("capture: looking for the pprof endpoint of pid {} among its "
                            "listening sockets",
                            pid));
            const auto url = find_pprof_endpoint(pid);
            if (!url) {
                throw util::Error(
                    "pid {} ({}) is a Go program, but none of the TCP ports it listens "
                    "on serves /debug/pprof/heap (import _ \"net/http/pprof\" and "
                    "serve it on a port, then run hunt again)",
                    pid, o.target.name);
            }
            PullOptions p;
            p.url = *url;
            p.dir = fs::absolute(record);
            p.every_s = every;
            p.duration_s = capture_s;
            code = pull_profiles(p);
            break;
        }
        case capture::Runtime::node:
        case capture::Runtime::java:
        case capture::Runtime::python: {
            RuntimeRecordArgs r;
            r.pid = pid;
            r.dir = fs::absolute(record);
            r.every_s = every;
            r.duration_s = capture_s;
            // Node: two heap snapshots (the middle and the end), so that `paths` explains the
            // objects that are new in the last; the others take one at the end.
            r.heap_snapshots = runtime == capture::Runtime::node ? 2 : 1;
            code = runtime == capture::Runtime::node   ? record_node(r)
                   : runtime == capture::Runtime::java ? record_java(r)
                                                       : record_python(r);
            break;
        }
    }
    if (code != k_exit_ok)
        throw util::Error("the {} capture ended with an error (above)",
                          capture::runtime_name(runtime));
    (void)facts;
}

}  // namespace

int run_hunt(const HuntOptions& o) {
    const auto started = Clock::now();
    HuntFacts facts;
    facts.pid = o.target.pid;
    facts.program = o.target.name;
    const std::vector<patterns::Pattern> learned = patterns::load_for_matching(o.patterns_file);
    progress(fmt::format("hunt: pid {} ({}), budget {}, files in {}", o.target.pid, o.target.name,
                         util::format_duration(o.budget_s), o.dir.string()));

    // 1. Watch.
    const WatchOutcome watched = watch_phase(o, facts);
    const trend::Verdict verdict = facts.verdict.memory.verdict;
    facts.interrupted = watched.end == watch::LoopEnd::interrupted;
    bool capture = verdict == trend::Verdict::leak || o.profile_anyway;
    if (facts.interrupted) {
        facts.stopped_because = "interrupted during the watch; nothing was captured";
        capture = false;
    } else if (watched.end == watch::LoopEnd::targets_ended) {
        facts.stopped_because = "the process ended during the watch";
        capture = false;
    } else if (!capture) {
        facts.stopped_because = fmt::format(
            "the verdict is {}: no capture and no heap dump were taken "
            "(--profile-anyway takes them anyway)",
            trend::to_string(verdict));
    }
    progress(fmt::format("watch: {} after {}{}", trend::to_string(verdict),
                         util::format_duration(facts.watched_s), capture ? "; capturing" : ""));

    // 2, 3. Runtime and capture.
    bool capture_failed = false;
    if (capture) {
        const double left = o.budget_s - seconds_since(started);
        const double capture_s = left * k_capture_share;
        if (capture_s < k_min_capture_s) {
            facts.stopped_because = fmt::format(
                "the budget left {} for the capture, too little to see "
                "a trend (raise --budget)",
                util::format_duration(std::max(0.0, left)));
        } else {
            const auto capture_started = Clock::now();
            try {
                const capture::Runtime runtime = capture::detect_process(o.target.pid);
                facts.runtime = std::string(capture::runtime_name(runtime));
                capture_phase(o, runtime, capture_s, facts);
            } catch (const util::Error& e) {
                facts.capture_error = e.what();
                capture_failed = true;
                std::fprintf(stderr, "leakhunt: error: %s\n",
                             util::terminal_safe(e.what()).c_str());
            }
            facts.captured_s = seconds_since(capture_started);
            if (stop_requested()) {
                facts.interrupted = true;
                facts.stopped_because =
                    "interrupted during the capture; what was captured is analysed";
            }
        }
    }

    // 4. Analysis, report, summary.
    progress("analysis: suspects, retention paths, report");
    const HuntFindings found = analyse_hunt(o.dir, facts, learned);
    if (o.json) {
        std::printf("%s\n", hunt_summary_json(o.dir, facts, found).dump().c_str());
    } else {
        // Names in it come from the process and its symbols: each line made safe on its own.
        const std::string text = hunt_summary(o.dir, facts, found);
        for (size_t at = 0; at < text.size();) {
            const size_t nl = std::min(text.find('\n', at), text.size());
            std::printf("%s\n",
                        util::terminal_safe(std::string_view(text).substr(at, nl - at)).c_str());
            at = nl + 1;
        }
    }
    std::fflush(stdout);
    if (verdict == trend::Verdict::leak) return k_exit_leak;
    return capture_failed ? k_exit_error : k_exit_ok;
}

}  // namespace leakhunt::cli
