// `leakhunt record` for a JVM (record_runtime.hpp), and `leakhunt snapshot PID --heap` for one:
// through jcmd, a class histogram (GC.class_histogram: a full GC, then the live objects by
// class) every --snapshot-every becomes heap.PID.NNNN.pb.gz, one sample per class; the JVM's
// performance counters read right after it (so the heap and old generation are measured after
// that full GC) go into the timeline; --heap-snapshots N adds GC.heap_dump files
// (heap.PID.NNNN.hprof) spaced over the recording. The JVM is only read: nothing in it is
// changed, and it keeps running when leakhunt stops.
//
// Cost: the histogram's full GC pauses the JVM (its safepoint in -Xlog:safepoint: 1.0-2.6 s for
// a 430 MB live heap of 12 M objects, 26-47 ms for 5 MB in 146 k objects, on a 2-core machine
// under a load of 8-17), so the default interval
// is 60 s, stretched to 50 times the last histogram's time when that is longer (the pauses then
// take at most 2% of the time).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "capture/java/class_histogram.hpp"
#include "capture/java/jcmd.hpp"
#include "capture/java/perf_counters.hpp"
#include "capture/runtime.hpp"
#include "cli/common.hpp"
#include "cli/record_runtime.hpp"
#include "proc/child_process.hpp"
#include "proc/proc_files.hpp"
#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

namespace jv = capture::java;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr double k_default_every_s = 60;
// Without --snapshot-every, the interval is at least this many times the last histogram's time.
constexpr double k_cost_factor = 50;
// How long a JVM may take to start answering jcmd.
constexpr auto k_ready_limit = 30s;
// Snapshots that fail in a row (the JVM alive) before the recording gives up.
constexpr int k_max_failures = 3;

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// What ends a wait: nothing (the time came), a stop signal, or the recorded program's exit.
struct Wake {
    int signal = 0;
    bool exited = false;
    bool any() const { return signal != 0 || exited; }
};

// The recording of one JVM: the program it started (if any), the writers, the schedule.
class JavaRecorder {
  public:
    explicit JavaRecorder(const RuntimeRecordArgs& args) : m_args(args) {
        m_set = stop_signals();
        sigaddset(&m_set, SIGCHLD);
    }

    int run() {
        ::sigprocmask(SIG_BLOCK, &m_set, &m_old);
        int code = k_exit_ok;
        try {
            code = record();
        } catch (...) {
            ::sigprocmask(SIG_SETMASK, &m_old, nullptr);
            throw;
        }
        ::sigprocmask(SIG_SETMASK, &m_old, nullptr);
        return code;
    }

  private:
    int record() {
        pid_t pid = m_args.pid;
        if (!m_args.command.empty()) {
            m_child = proc::ChildProcess::spawn(m_args.command, proc::ChildProcess::Stdout::inherit,
                                                proc::ChildProcess::Group::same);
            pid = m_child->pid();
            if (!wait_for_jvm(pid)) return finish_without_jvm();
        }
        try {
            m_jvm.emplace(pid);
            if (!m_jvm->wait_ready(k_ready_limit,
                                   [this] { return !wait_for(Clock::now() + 200ms).any(); })) {
                return finish_without_jvm();
            }
        } catch (const util::Error&) {
            // A program we started that ended (a missing class, a bad option) is its own
            // story: its status, not an error of ours.
            if (m_child && !m_child->running()) return finish_without_jvm();
            throw;
        }
        m_snapshots.emplace(m_args.dir, pid);
        m_timeline.emplace(m_args.dir, pid, jv::jvm_counter_columns());
        m_manifest.runtime = "java";
        m_manifest.capture = "jcmd";
        m_manifest.command = m_args.command;
        m_manifest.pid = pid;
        m_manifest.start_unix = unix_now();
        m_manifest.sampling = "every live object (class histograms after a full GC)";
        m_manifest.extra["jcmd"] = m_jvm->jcmd().string();
        recorddir::write_manifest(m_args.dir, m_manifest);
        const bool given = m_args.every_s > 0;
        double every = given ? m_args.every_s : k_default_every_s;
        std::fprintf(
            stderr, "leakhunt: recording JVM pid %d into %s: a class histogram every %s%s\n", pid,
            util::terminal_safe(m_args.dir.string()).c_str(), util::format_duration(every).c_str(),
            given ? "" : " (at least 50x the histogram's own time; --snapshot-every to choose)");

        const auto start = Clock::now();
        const auto deadline =
            m_args.duration_s > 0 ? start + seconds(m_args.duration_s) : Clock::time_point::max();
        std::string why;
        Wake wake;
        int failures = 0;
        while (true) {
            const auto began = Clock::now();
            if (snapshot("periodic")) {
                failures = 0;
                const double took = std::chrono::duration<double>(Clock::now() - began).count();
                if (!given && took * k_cost_factor > every) {
                    every = took * k_cost_factor;
                    std::fprintf(stderr,
                                 "leakhunt: the class histogram took %s (a full GC): "
                                 "snapshots every %s from now on\n",
                                 util::format_duration(took).c_str(),
                                 util::format_duration(every).c_str());
                }
            } else if (!m_jvm->alive()) {
                wake.exited = true;
            } else if (++failures >= k_max_failures) {
                why = fmt::format("gave up after {} failed snapshots in a row", failures);
                break;
            }
            if (wake.exited) break;
            if (m_args.count > 0 && static_cast<long>(m_written) >= m_args.count) {
                why = fmt::format("--count {} reached", m_args.count);
                break;
            }
            const auto next = began + seconds(every);
            wake = wait_for(std::min(next, deadline));
            if (wake.any()) break;
            if (next >= deadline) {
                why = "--duration reached";
                if (m_jvm->alive()) snapshot("last");
                break;
            }
        }
        if (wake.signal != 0) {
            why = stop_signal_text(wake.signal);
            // Attached to a running JVM, the last state is worth having; a JVM we started got
            // the signal too (or is being stopped by it) and is on its way out.
            if (!m_child && m_jvm->alive()) snapshot("last");
        }
        if (wake.exited || (!m_jvm->alive())) why = fmt::format("pid {} exited", pid);
        if (m_child && !wake.any() && m_child->running()) {
            // --count or --duration ended the recording of a program we started: it ends too
            // (it could not outlive leakhunt: proc::ChildProcess gives it a parent-death signal).
            std::fprintf(stderr, "leakhunt: %s: stopping the program (SIGTERM)\n", why.c_str());
            m_child->stop(10.0);
            m_stopped_it = true;
        }
        return finish(why);
    }

    // After `spawn`: waits until the program has become a JVM (libjvm.so mapped). False when it
    // exited first or a stop signal came.
    bool wait_for_jvm(pid_t pid) {
        const auto deadline = Clock::now() + k_ready_limit;
        while (!capture::maps_library(pid, "libjvm.so")) {
            if (Clock::now() >= deadline) {
                throw util::Error(
                    "pid {} ({}) did not load a JVM (libjvm.so) within {}; record "
                    "it with --runtime native",
                    pid, util::terminal_safe(m_args.command.front()),
                    util::format_duration(std::chrono::duration<double>(k_ready_limit).count()));
            }
            const Wake w = wait_for(Clock::now() + 50ms);
            if (w.any()) {
                m_stop_signal = w.signal;
                return false;
            }
        }
        return true;
    }

    // Sleeps until `when`; returns early on a stop signal or the program's exit. A stop signal
    // sent to leakhunt alone (not from the terminal, which reached the program already) is
    // passed on to the program, as the native recorder does.
    Wake wait_for(Clock::time_point when) {
        Wake w;
        while (true) {
            if (m_child && !m_child->running()) {
                w.exited = true;
                return w;
            }
            if (!m_child && m_jvm && !m_jvm->alive()) {
                w.exited = true;
                return w;
            }
            // Pending signals are taken even when the time has already come (a snapshot that
            // took longer than the interval must not hide a ^C).
            const auto now = Clock::now();
            const auto left =
                std::clamp<Clock::duration>(when - now, Clock::duration::zero(), 500ms);
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
            siginfo_t info{};
            const int sig = ::sigtimedwait(&m_set, &info, &ts);
            if (sig <= 0 || sig == SIGCHLD) {
                if (Clock::now() >= when) return w;
                continue;
            }
            if (m_child && info.si_code != SI_KERNEL && info.si_pid != ::getpid()) {
                proc::forward_signal(m_child->pid(), sig);
            }
            w.signal = sig;
            return w;
        }
    }

    // One histogram and the counters after it: a snapshot file and a timeline row (plus a heap
    // dump when one is due). False, after a warning, when it failed.
    bool snapshot(const char* reason) {
        const pid_t pid = m_jvm->pid();
        try {
            const double when = unix_now();
            const jv::ClassHistogram h = m_jvm->class_histogram();
            const auto counters = jv::jvm_counters(m_jvm->perf_counters());
            if (counters.empty() && !m_warned_counters) {
                m_warned_counters = true;
                warnf(
                    "pid {} exports no performance counters (-XX:-UsePerfData?): the timeline "
                    "has no heap, GC or thread columns",
                    pid);
            }
            const auto profile = jv::histogram_profile(h, static_cast<int64_t>(when * 1e9));
            const std::string name =
                m_snapshots->write(recorddir::Kind::profile, profile::serialize_profile(profile));
            recorddir::TimelineRow row;
            row.unix_time = when;
            const auto rss = proc::read_resident_bytes(pid);
            row.rss_bytes = rss ? static_cast<double>(*rss) : std::nan("");
            row.heap_inuse_bytes = static_cast<double>(h.total_bytes);
            row.heap_inuse_objects = static_cast<double>(h.total_instances);
            row.agent_bytes = std::nan("");
            row.reason = reason;
            row.snapshot = name;
            row.counters = counters;
            m_timeline->append(row);
            ++m_written;
            m_last_row = row;
            if (heap_dump_due(std::string_view(reason) == "last")) {
                const auto used = counters.find("heap_used_bytes");
                heap_dump(used != counters.end() ? used->second : row.heap_inuse_bytes);
            }
            return true;
        } catch (const util::Error& e) {
            if (m_jvm->alive()) warnf("snapshot of pid {} failed: {}", pid, e.what());
            return false;
        }
    }

    // Heap dumps go with snapshots: with a known number of snapshots (--count, or --duration
    // over the interval) dump k of N with snapshot ceil(total * k / N); without one, with
    // snapshots 2, 4, 8, ... so they spread over however long the recording runs, and one owed
    // dump with the last snapshot.
    bool heap_dump_due(bool last) const {
        const long n = m_args.heap_snapshots;
        if (n <= 0 || m_dumps >= n || m_dumps_failed) return false;
        if (last) return true;
        long total = 0;
        if (m_args.count > 0) {
            total = m_args.count;
        } else if (m_args.duration_s > 0 && m_args.every_s > 0) {
            total = static_cast<long>(std::floor(m_args.duration_s / m_args.every_s)) + 1;
        }
        const long k = static_cast<long>(m_written);  // this snapshot's number, from 1
        if (total > 0) {
            const long due = (total * (m_dumps + 1) + n - 1) / n;
            return k >= due;
        }
        return k >= 2 && (k & (k - 1)) == 0;
    }

    void heap_dump(double heap_used) {
        const std::string name = m_snapshots->reserve(recorddir::Kind::hprof);
        try {
            const auto began = Clock::now();
            m_jvm->heap_dump(m_args.dir, name, heap_used);
            ++m_dumps;
            std::fprintf(
                stderr, "leakhunt: heap dump %s written in %s\n",
                util::terminal_safe((m_args.dir / name).string()).c_str(),
                util::format_duration(std::chrono::duration<double>(Clock::now() - began).count())
                    .c_str());
        } catch (const util::Error& e) {
            m_dumps_failed = true;
            warnf("{}; no more heap dumps are taken in this recording", e.what());
        }
    }

    // The program ended (or a signal came) before it was a JVM that answers.
    int finish_without_jvm() {
        if (m_stop_signal != 0 && m_child) proc::forward_signal(m_child->pid(), m_stop_signal);
        std::fprintf(stderr,
                     "leakhunt: no snapshot was written: the program %s before its JVM "
                     "answered jcmd\n",
                     m_stop_signal != 0 ? "was stopped" : "ended");
        return program_status();
    }

    int finish(const std::string& why) {
        if (m_manifest.pid != 0) recorddir::write_manifest(m_args.dir, m_manifest);
        if (m_written > 0) {
            std::fprintf(stderr,
                         "leakhunt: %s: wrote %zu snapshot%s, %ld heap dump%s and %s; last: %s "
                         "live in %.0f objects -> %s\n",
                         why.c_str(), m_written, m_written == 1 ? "" : "s", m_dumps,
                         m_dumps == 1 ? "" : "s",
                         util::terminal_safe(m_timeline->path().string()).c_str(),
                         util::format_bytes(m_last_row.heap_inuse_bytes).c_str(),
                         m_last_row.heap_inuse_objects,
                         util::terminal_safe((m_args.dir / m_last_row.snapshot).string()).c_str());
        } else {
            std::fprintf(stderr, "leakhunt: %s: no snapshot was written\n", why.c_str());
        }
        if (!m_child) {
            if (why.starts_with("gave up")) {
                throw util::Error("cannot record pid {}: {} (see the warnings above)", m_jvm->pid(),
                                  why);
            }
            return k_exit_ok;
        }
        return program_status();
    }

    // With `-- CMD`: waits for the program and returns its own status as an exit code.
    int program_status() {
        if (!m_child) return k_exit_ok;
        m_child->wait();
        const int status = *m_child->wait_status();
        std::fprintf(stderr, "leakhunt: the program %s\n",
                     proc::describe_wait_status(status).c_str());
        if (m_stopped_it) return k_exit_ok;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return k_exit_error;
    }

    const RuntimeRecordArgs& m_args;
    sigset_t m_set{}, m_old{};
    std::optional<proc::ChildProcess> m_child;
    std::optional<jv::Jvm> m_jvm;
    std::optional<recorddir::SnapshotWriter> m_snapshots;
    std::optional<recorddir::TimelineWriter> m_timeline;
    recorddir::Manifest m_manifest;
    recorddir::TimelineRow m_last_row;
    size_t m_written = 0;
    long m_dumps = 0;
    bool m_dumps_failed = false;
    bool m_warned_counters = false;
    int m_stop_signal = 0;
    bool m_stopped_it = false;  // the program was stopped by us, at --count or --duration
};

}  // namespace

int record_java(const RuntimeRecordArgs& args) {
    return JavaRecorder(args).run();
}

int snapshot_java_heap(pid_t pid, const std::filesystem::path& dir) {
    jv::Jvm jvm(pid);
    jvm.wait_ready(k_ready_limit, [] {
        std::this_thread::sleep_for(200ms);
        return true;
    });
    const auto counters = jv::jvm_counters(jvm.perf_counters());
    const auto used = counters.find("heap_used_bytes");
    recorddir::SnapshotWriter writer(dir, pid);
    const std::string name = writer.reserve(recorddir::Kind::hprof);
    jvm.heap_dump(dir, name, used != counters.end() ? used->second : 0);
    std::printf("%s\n", util::terminal_safe((dir / name).string()).c_str());
    return k_exit_ok;
}

}  // namespace leakhunt::cli
