// `leakhunt record` for python (record_runtime.hpp): tracemalloc in CPython, started by the
// bootstrap in front of the program (`-- python3 app.py`) or injected into a running interpreter
// through gdb (`--pid`). Every --snapshot-every seconds the bootstrap writes a snapshot, which
// becomes heap.PID.NNNN.pb.gz with Python frames, and a timeline row with tracemalloc's and the
// gc module's counters. At the end tracemalloc is stopped again (when leakhunt started it).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "capture/python/control.hpp"
#include "capture/python/launch.hpp"
#include "cli/agent_files.hpp"
#include "cli/common.hpp"
#include "cli/record_python_native.hpp"
#include "cli/record_runtime.hpp"
#include "proc/child_process.hpp"
#include "proc/proc_files.hpp"
#include "proc/system_info.hpp"
#include "profile/pprof.hpp"
#include "recorddir/record_dir.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

namespace py = capture::python;
using Clock = std::chrono::steady_clock;

// tracemalloc's frames per traceback unless --depth says otherwise. Measured on a small service
// (bench/python_tracemalloc.py, 1000 requests, medians of 3 on a loaded 2-core host): alone
// 0.28 s; under record at depth 1 2.4 s, at depth 8 15.8 s, at 16 16.1 s; plain `python3 -X
// tracemalloc=N` 3.9 s, 8.1 s, 7.9 s. Depth 1 costs a third to a sixth of deeper traces and
// still names the allocating line, which is what suspects ranks; --depth 8 adds the callers.
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr int k_default_depth = 1;
constexpr double k_default_every_s = 10;
constexpr double k_request_timeout_s = 60;  // a snapshot of a big heap takes seconds
constexpr double k_start_timeout_s = 10;
// The bootstrap gives up on an object graph after 300 s of walking; writing it comes on top.
constexpr double k_graph_timeout_s = 420;

const std::vector<std::string> k_counters = {"traced_bytes",        "traced_peak_bytes",
                                             "gc_objects",          "gc_gen0_collections",
                                             "gc_gen1_collections", "gc_gen2_collections"};

double rss_of(pid_t pid) {
    const auto text = util::try_read_file(fmt::format("/proc/{}/statm", pid));
    if (!text) return k_nan;
    const auto statm = proc::parse_statm(*text, proc::page_size());
    return statm.resident ? static_cast<double>(*statm.resident) : k_nan;
}

// A zombie counts as ended: the program that `record` started is one until it is waited for, and
// a snapshot asked for as it exits is no failure to report.
bool alive(pid_t pid) {
    return !proc::has_exited(pid);
}

class Recorder {
  public:
    Recorder(const RuntimeRecordArgs& a, py::Control& control, pid_t pid)
        : m_args(a),
          m_control(control),
          m_pid(pid),
          m_snapshots(a.dir, pid),
          m_timeline(a.dir, pid, k_counters) {}

    // One snapshot: pprof through SnapshotWriter, a timeline row.
    void write(const py::PyTraceFile& t, const std::string& reason) {
        const std::string name = m_snapshots.write(recorddir::Kind::profile,
                                                   profile::serialize_profile(py::to_profile(t)));
        recorddir::TimelineRow row;
        row.unix_time = t.unix_time > 0 ? t.unix_time : unix_now();
        row.rss_bytes = rss_of(m_pid);
        double bytes = static_cast<double>(t.dropped_bytes);
        double blocks = static_cast<double>(t.dropped_blocks);
        for (const auto& tb : t.traces) {
            bytes += static_cast<double>(tb.bytes);
            blocks += static_cast<double>(tb.blocks);
        }
        row.heap_inuse_bytes = bytes;
        row.heap_inuse_objects = blocks;
        row.agent_bytes = k_nan;
        row.reason = reason;
        row.snapshot = name;
        row.counters = {
            {"traced_bytes", static_cast<double>(t.traced_bytes)},
            {"traced_peak_bytes", static_cast<double>(t.traced_peak_bytes)},
            {"gc_objects", t.gc_objects < 0 ? k_nan : static_cast<double>(t.gc_objects)},
            {"gc_gen0_collections", static_cast<double>(t.gc_collections[0])},
            {"gc_gen1_collections", static_cast<double>(t.gc_collections[1])},
            {"gc_gen2_collections", static_cast<double>(t.gc_collections[2])}};
        m_timeline.append(row);
        m_last = row;
        if (reason == "exit") m_exit_snapshot = name;
        ++m_written;
    }

    // Asks for a snapshot; a failure is said and the recording goes on.
    // Said once per run of failures: an interpreter that is shutting down (its bootstrap gone,
    // the exit snapshot being written) fails every request until it ends.
    bool take(const std::string& reason) {
        try {
            write(m_control.snapshot(k_request_timeout_s), reason);
            m_failing = false;
            return true;
        } catch (const util::Error& e) {
            if (alive(m_pid) && !m_failing) {
                warnf("snapshot {} of pid {} failed: {}", m_written, m_pid, e.what());
            }
            m_failing = true;
            return false;
        }
    }

    size_t written() const { return m_written; }
    const std::string& exit_snapshot() const { return m_exit_snapshot; }

    // After a periodic snapshot: an object graph when one is due. With a known number of
    // snapshots (--count, or --duration over the interval) graph k of N goes with snapshot
    // ceil(total * k / N); without one, with snapshots 2, 4, 8, ... (the rule record_java.cpp
    // uses for heap dumps); the ones still owed are taken at the end (graphs_owed).
    void maybe_graph() {
        const long n = m_args.heap_snapshots;
        if (n <= 0 || m_graphs >= n || m_graphs_failed) return;
        long total = 0;
        if (m_args.count > 0) {
            total = m_args.count;
        } else if (m_args.duration_s > 0) {
            const double every = m_args.every_s > 0 ? m_args.every_s : k_default_every_s;
            total = static_cast<long>(std::floor(m_args.duration_s / every));
        }
        const long k = static_cast<long>(m_written);
        const bool due =
            total > 0 ? k >= (total * (m_graphs + 1) + n - 1) / n : k >= 2 && (k & (k - 1)) == 0;
        if (due) take_graph();
    }
    // At the end, while the process lives: the graphs still owed.
    void graphs_owed() {
        while (m_graphs < m_args.heap_snapshots && !m_graphs_failed && alive(m_pid)) take_graph();
    }
    void take_graph() {
        try {
            std::string stats;
            const std::string bytes = m_control.heap_graph(k_graph_timeout_s, &stats);
            const std::string name = m_snapshots.write(recorddir::Kind::pygraph, bytes);
            ++m_graphs;
            std::fprintf(stderr, "leakhunt: object graph %s written (%s)\n",
                         util::terminal_safe((m_args.dir / name).string()).c_str(),
                         util::terminal_safe(stats).c_str());
        } catch (const util::Error& e) {
            m_graphs_failed = true;
            if (alive(m_pid)) {
                warnf("the object graph of pid {} failed: {}; no more are taken in this recording",
                      m_pid, e.what());
            }
        }
    }
    void say_graphs_missing(const std::string& why) const {
        if (m_graphs < m_args.heap_snapshots) {
            warnf("{} of the {} object graphs asked for were taken ({})", m_graphs,
                  m_args.heap_snapshots, why);
        }
    }

    void summary(const std::string& why) const {
        if (m_written == 0) {
            std::fprintf(stderr, "leakhunt: %s: no snapshot was written\n", why.c_str());
            return;
        }
        std::fprintf(stderr,
                     "leakhunt: %s: pid %d: %zu snapshot%s; last (%s): %s traced in %.0f blocks, "
                     "RSS %s -> %s\n",
                     why.c_str(), m_pid, m_written, m_written == 1 ? "" : "s",
                     m_last.reason.c_str(), util::format_bytes(m_last.heap_inuse_bytes).c_str(),
                     m_last.heap_inuse_objects, util::format_bytes(m_last.rss_bytes).c_str(),
                     util::terminal_safe((m_args.dir / m_last.snapshot).string()).c_str());
    }

  private:
    const RuntimeRecordArgs& m_args;
    py::Control& m_control;
    pid_t m_pid;
    recorddir::SnapshotWriter m_snapshots;
    recorddir::TimelineWriter m_timeline;
    recorddir::TimelineRow m_last;
    size_t m_written = 0;
    bool m_failing = false;
    std::string m_exit_snapshot;
    long m_graphs = 0;
    bool m_graphs_failed = false;
};

recorddir::Manifest manifest_of(const RuntimeRecordArgs& a, pid_t pid, int depth,
                                const std::string& hello) {
    recorddir::Manifest m;
    m.runtime = "python";
    m.capture = "tracemalloc";
    m.command = a.command;
    m.pid = pid;
    m.start_unix = unix_now();
    m.sampling = fmt::format("every allocation (tracemalloc, {} frames)", depth);
    if (!hello.empty()) m.extra["bootstrap"] = hello;
    return m;
}

// Sleeps until `when`, the end of the started program, or a stop signal; returns the signal
// (0 if none). A signal that did not come from the terminal is passed on to the program.
int wait_until(const sigset_t& set, Clock::time_point when, proc::ChildProcess* child, pid_t pid) {
    while (true) {
        if (child != nullptr ? !child->running() : !alive(pid)) return 0;
        const auto now = Clock::now();
        if (now >= when) return 0;
        const auto left = std::min<Clock::duration>(when - now, std::chrono::milliseconds(200));
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        siginfo_t info{};
        const int sig = ::sigtimedwait(&set, &info, &ts);
        if (sig <= 0 || sig == SIGCHLD) continue;
        if (child != nullptr && info.si_code != SI_KERNEL && info.si_pid != ::getpid()) {
            proc::forward_signal(child->pid(), sig);
        }
        return sig;
    }
}

struct Limits {
    Clock::time_point start = Clock::now();
    Clock::duration every;
    Clock::time_point deadline;
};

Limits limits_of(const RuntimeRecordArgs& a) {
    Limits l;
    const double every = a.every_s > 0 ? a.every_s : k_default_every_s;
    l.every = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(every));
    l.deadline = a.duration_s > 0 ? l.start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(a.duration_s))
                                  : Clock::time_point::max();
    return l;
}

int record_started(const RuntimeRecordArgs& a, int depth) {
    py::Control control(::geteuid(), ::getegid());
    const auto argv = py::bootstrap_command(a.command, python_bootstrap(), control.dir(), depth);
    Limits lim = limits_of(a);
    PythonNative native(a, std::chrono::duration<double>(lim.every).count());
    sigset_t set = stop_signals(), old;
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    native.before_spawn();
    proc::ChildProcess child = proc::ChildProcess::spawn(argv, proc::ChildProcess::Stdout::inherit,
                                                         proc::ChildProcess::Group::same);
    native.after_spawn(child.pid(), a.command);
    control.set_pid(child.pid());
    std::fprintf(stderr, "leakhunt: recording python pid %d (tracemalloc, %d frames%s) into %s\n",
                 child.pid(), depth, native.what().c_str(),
                 util::terminal_safe(a.dir.string()).c_str());
    // The bootstrap listens before the program's first line runs.
    std::string hello;
    const auto ready_by = Clock::now() + std::chrono::seconds(static_cast<int>(k_start_timeout_s));
    while (hello.empty() && child.running() && Clock::now() < ready_by) {
        if (control.socket_exists()) {
            try {
                hello = control.request("hello", k_start_timeout_s);
                break;
            } catch (const util::Error&) {
            }
        }
        const int sig =
            wait_until(set, Clock::now() + std::chrono::milliseconds(20), &child, child.pid());
        (void)sig;
    }
    recorddir::Manifest manifest = manifest_of(a, child.pid(), depth, hello);
    native.note_in(manifest);
    recorddir::write_manifest(a.dir, manifest);
    Recorder rec(a, control, child.pid());
    if (!hello.empty()) native.check_loaded(child.pid());
    if (hello.empty() && child.running()) {
        warnf(
            "the tracemalloc bootstrap in pid {} did not answer within {:.0f} s{}; the "
            "program runs on unrecorded",
            child.pid(), k_start_timeout_s,
            control.startup_error().empty() ? "" : ": " + control.startup_error());
    }
    std::string why = "the program ended";
    bool stopped_early = false;
    for (long tick = 1; child.running() && !hello.empty(); ++tick) {
        const auto next = lim.start + lim.every * tick;
        if (next > lim.deadline) {
            (void)wait_until(set, lim.deadline, &child, child.pid());
            if (child.running()) {
                why = "--duration reached";
                stopped_early = true;
            }
            break;
        }
        const int sig = wait_until(set, next, &child, child.pid());
        if (sig != 0) continue;  // passed on: the program decides when it ends
        if (!child.running()) break;
        if (rec.take("periodic")) rec.maybe_graph();
        if (a.count > 0 && static_cast<long>(rec.written()) >= a.count) {
            why = fmt::format("--count {} reached", a.count);
            stopped_early = true;
            break;
        }
    }
    if (stopped_early) {
        // The program is stopped, as record stops every program it started, after a last
        // snapshot and with tracemalloc stopped (no exit snapshot then).
        rec.take("final");
        native.last_snapshot(child.pid());
        rec.graphs_owed();
        try {
            (void)control.request("stop", k_request_timeout_s);
        } catch (const util::Error&) {
        }
        child.stop();
    } else {
        child.wait();
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    try {
        if (auto t = control.exit_snapshot()) rec.write(*t, "exit");
    } catch (const util::Error& e) {
        warnf("the exit snapshot of pid {} cannot be read: {}", child.pid(), e.what());
    }
    manifest.exit_snapshot = rec.exit_snapshot();
    recorddir::write_manifest(a.dir, manifest);
    rec.summary(why);
    rec.say_graphs_missing(why);
    native.finish_started();
    const int status = *child.wait_status();
    std::fprintf(stderr, "leakhunt: the program %s\n", proc::describe_wait_status(status).c_str());
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return k_exit_error;
}

int record_attached(const RuntimeRecordArgs& a, int depth) {
    const pid_t pid = a.pid;
    (void)py::python_version_of(pid);
    struct stat st {};
    if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0) {
        throw util::Error("no process with pid {}", pid);
    }
    // The native agent's checks come first: nothing is done to the process if either part
    // cannot attach.
    PythonNative native(a, std::chrono::duration<double>(limits_of(a).every).count());
    native.check_attachable(pid, a.duration_s);
    py::Control control(st.st_uid, st.st_gid);
    control.set_pid(pid);
    std::fprintf(stderr,
                 "leakhunt: attaching to python pid %d through gdb (tracemalloc, %d "
                 "frames%s)\n",
                 pid, depth, native.what().c_str());
    py::AttachOptions o;
    o.pid = pid;
    o.bootstrap = python_bootstrap();
    o.ctl = control.dir();
    o.depth = depth;
    // How long gdb may take (default 30 s); for tests of an interpreter that never gives up
    // the GIL.
    if (const char* t = std::getenv("LEAKHUNT_PYTHON_ATTACH_TIMEOUT"); t != nullptr && *t != 0) {
        o.timeout_s = parse_duration_option("LEAKHUNT_PYTHON_ATTACH_TIMEOUT", t);
    }
    py::attach_bootstrap(o);
    std::string hello;
    try {
        hello = control.request("hello", k_start_timeout_s);
    } catch (const util::Error& e) {
        const std::string err = control.startup_error();
        if (!err.empty()) {
            throw util::Error("the tracemalloc bootstrap did not start in process {}: {}", pid,
                              err);
        }
        throw;
    }
    if (hello.find(" started=0") != std::string::npos) {
        warnf(
            "tracemalloc was already tracing in pid {}: its frame limit is kept and it is not "
            "stopped at the end",
            pid);
    }
    try {
        native.attach();
    } catch (const util::Error&) {
        try {
            (void)control.request("stop", k_request_timeout_s);
        } catch (const util::Error&) {
        }
        throw;
    }
    recorddir::Manifest manifest = manifest_of(a, pid, depth, hello);
    native.note_in(manifest);
    recorddir::write_manifest(a.dir, manifest);
    std::fprintf(stderr, "leakhunt: recording python pid %d into %s\n", pid,
                 util::terminal_safe(a.dir.string()).c_str());
    Recorder rec(a, control, pid);
    sigset_t set = stop_signals(), old;
    ::sigprocmask(SIG_BLOCK, &set, &old);
    Limits lim = limits_of(a);
    std::string why = "the process ended";
    for (long tick = 1; alive(pid); ++tick) {
        const auto next = lim.start + lim.every * tick;
        if (next > lim.deadline) {
            (void)wait_until(set, lim.deadline, nullptr, pid);
            why = "--duration reached";
            break;
        }
        if (const int sig = wait_until(set, next, nullptr, pid); sig != 0) {
            why = stop_signal_text(sig);
            break;
        }
        if (!alive(pid)) break;
        if (rec.take("periodic")) rec.maybe_graph();
        if (a.count > 0 && static_cast<long>(rec.written()) >= a.count) {
            why = fmt::format("--count {} reached", a.count);
            break;
        }
    }
    if (alive(pid)) {
        if (a.count == 0 || static_cast<long>(rec.written()) < a.count) rec.take("final");
        rec.graphs_owed();
        try {
            (void)control.request("stop", k_request_timeout_s);
            std::fprintf(stderr, "leakhunt: tracemalloc stopped in pid %d\n", pid);
        } catch (const util::Error& e) {
            warnf("could not stop tracemalloc in pid {}: {}", pid, e.what());
        }
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    recorddir::write_manifest(a.dir, manifest);
    rec.summary(why);
    rec.say_graphs_missing(why);
    native.finish_attached(!alive(pid), why.c_str());
    return rec.written() > 0 ? k_exit_ok : k_exit_error;
}

}  // namespace

int record_python(const RuntimeRecordArgs& args) {
    const int depth = args.depth > 0 ? args.depth : k_default_depth;
    if (depth > 100) throw util::UsageError("--depth {}: use 1 to 100 for python", depth);
    return args.pid != 0 ? record_attached(args, depth) : record_started(args, depth);
}

int snapshot_python_heap(pid_t pid, const std::filesystem::path& dir) {
    (void)py::python_version_of(pid);
    struct stat st {};
    if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0) {
        throw util::Error("no process with pid {}", pid);
    }
    // A bootstrap of its own, for graphs only (depth 0: tracemalloc is not touched), beside any
    // recording already running in the interpreter; stopped again once the graph is written.
    py::Control control(st.st_uid, st.st_gid);
    control.set_pid(pid);
    py::AttachOptions o;
    o.pid = pid;
    o.bootstrap = python_bootstrap();
    o.ctl = control.dir();
    o.depth = 0;
    if (const char* t = std::getenv("LEAKHUNT_PYTHON_ATTACH_TIMEOUT"); t != nullptr && *t != 0) {
        o.timeout_s = parse_duration_option("LEAKHUNT_PYTHON_ATTACH_TIMEOUT", t);
    }
    py::attach_bootstrap(o);
    try {
        (void)control.request("hello", k_start_timeout_s);
    } catch (const util::Error&) {
        const std::string err = control.startup_error();
        if (!err.empty()) {
            throw util::Error("the bootstrap did not start in process {}: {}", pid, err);
        }
        throw;
    }
    std::string stats;
    std::string bytes;
    try {
        bytes = control.heap_graph(k_graph_timeout_s, &stats);
    } catch (const util::Error&) {
        try {
            (void)control.request("stop", k_request_timeout_s);
        } catch (const util::Error&) {
        }
        throw;
    }
    try {
        (void)control.request("stop", k_request_timeout_s);
    } catch (const util::Error& e) {
        warnf("could not stop the bootstrap's thread in pid {}: {}", pid, e.what());
    }
    recorddir::SnapshotWriter writer(dir, pid);
    const std::string name = writer.write(recorddir::Kind::pygraph, bytes);
    std::printf("%s\n", util::terminal_safe((dir / name).string()).c_str());
    std::fprintf(stderr, "leakhunt: object graph of python pid %d: %s. Next: leakhunt paths %s\n",
                 pid, util::terminal_safe(stats).c_str(),
                 util::terminal_safe((dir / name).string()).c_str());
    return k_exit_ok;
}

}  // namespace leakhunt::cli
