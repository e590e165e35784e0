// `leakhunt record` for node (record_runtime.hpp): the program started with its inspector ready
// but closed (NODE_OPTIONS gains --inspect-port=127.0.0.1:0 --inspect-publish-uid=http: nothing
// listens and nothing is printed until SIGUSR1, which then opens it on a free loopback port
// without the "Debugger listening" banner), or a running node reached with SIGUSR1. The
// recording itself is capture::node::NodeSession; this file is the loop that waits between
// snapshots (sigtimedwait: ^C, SIGTERM, the program's exit, --duration, --count end it at once)
// and the summary.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "capture/node/inspector.hpp"
#include "capture/node/node_session.hpp"
#include "capture/runtime.hpp"
#include "cli/common.hpp"
#include "cli/record_runtime.hpp"
#include "proc/child_process.hpp"
#include "proc/process_list.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

using Clock = std::chrono::steady_clock;
namespace nodecap = capture::node;

constexpr double k_default_every_s = 10;
constexpr std::chrono::seconds k_start_timeout{15};

// Keeps NODE_OPTIONS for the child: ours plus the inspector's options, restored afterwards.
class NodeOptionsForChild {
  public:
    NodeOptionsForChild() {
        if (const char* old = std::getenv("NODE_OPTIONS")) m_old = old;
        std::string v = m_old ? *m_old + " " : "";
        v += "--inspect-port=127.0.0.1:0 --inspect-publish-uid=http";
        ::setenv("NODE_OPTIONS", v.c_str(), 1);
    }
    ~NodeOptionsForChild() {
        if (m_old) {
            ::setenv("NODE_OPTIONS", m_old->c_str(), 1);
        } else {
            ::unsetenv("NODE_OPTIONS");
        }
    }
    NodeOptionsForChild(const NodeOptionsForChild&) = delete;
    NodeOptionsForChild& operator=(const NodeOptionsForChild&) = delete;

  private:
    std::optional<std::string> m_old;
};

// The node process of a started program: the child itself, or (through a wrapper) the first of
// its descendants that is node; once it catches SIGUSR1, its inspector can be opened.
std::optional<pid_t> ready_node(pid_t child) {
    std::vector<pid_t> candidates{child};
    for (pid_t p : proc::descendants(proc::list_processes(), child)) candidates.push_back(p);
    for (pid_t p : candidates) {
        try {
            if (capture::detect_process(p) == capture::Runtime::node &&
                nodecap::catches_sigusr1(p)) {
                return p;
            }
        } catch (const util::Error&) {
        }
    }
    return std::nullopt;
}

// Waits until `when` but at most 250 ms (so the caller can look at the process), or until a
// signal of `set` comes; returns it (after forwarding a stop signal to the program when it came
// from elsewhere than the terminal, which reached the program already), or 0.
int wait_slice(const sigset_t& set, Clock::time_point when, proc::ChildProcess* child) {
    const auto now = Clock::now();
    if (now >= when) return 0;
    const auto left = std::min<Clock::duration>(when - now, std::chrono::milliseconds(250));
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    siginfo_t info{};
    const int sig = ::sigtimedwait(&set, &info, &ts);
    if (sig <= 0) return 0;
    if (sig != SIGCHLD && child != nullptr && info.si_code != SI_KERNEL &&
        info.si_pid != ::getpid()) {
        proc::forward_signal(child->pid(), sig);
    }
    return sig;
}

// Waits for the program to end, passing on stop signals.
void wait_for_program(const sigset_t& set, proc::ChildProcess& child) {
    while (child.running()) (void)wait_slice(set, Clock::now() + std::chrono::seconds(1), &child);
}

int program_status(proc::ChildProcess& child) {
    const int status = *child.wait_status();
    std::fprintf(stderr, "leakhunt: the program %s\n", proc::describe_wait_status(status).c_str());
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return k_exit_error;
}

// The periodic ticks (0-based) after which heap snapshots are taken: `n` spaced over `ticks`,
// the last at the last tick. Empty when the number of ticks is not known.
std::vector<long> heap_snapshot_ticks(long ticks, int n) {
    std::vector<long> at;
    if (ticks <= 0) return at;
    for (int k = 1; k <= n; ++k) {
        at.push_back(std::max<long>(
            0, std::lround(static_cast<double>(k) * static_cast<double>(ticks) / n) - 1));
    }
    return at;
}

struct Loop {
    nodecap::NodeSession& session;
    const RuntimeRecordArgs& args;
    size_t written = 0;
    size_t heap_written = 0;
    std::string last_file;
    recorddir::TimelineRow last_row;

    void snapshot(const char* reason) {
        auto r = session.snapshot(reason);
        ++written;
        last_file = r.file;
        last_row = r.row;
    }
    void heap_snapshot() {
        const auto h = session.heap_snapshot();
        ++heap_written;
        std::fprintf(stderr, "leakhunt: heap snapshot %s: %s, the program paused %.2f s\n",
                     util::terminal_safe((args.dir / h.file).string()).c_str(),
                     util::format_bytes(static_cast<double>(h.bytes)).c_str(), h.pause_s);
    }
};

}  // namespace

int record_node(const RuntimeRecordArgs& a) {
    const double every = a.every_s > 0 ? a.every_s : k_default_every_s;
    recorddir::Manifest manifest;
    manifest.command = a.command;
    manifest.start_unix = unix_now();

    sigset_t set = stop_signals(), old;
    if (!a.command.empty()) sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    struct Restore {
        sigset_t mask;
        ~Restore() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
    } restore{old};

    std::optional<proc::ChildProcess> child;
    pid_t pid = a.pid;
    if (!a.command.empty()) {
        {
            NodeOptionsForChild options;
            child.emplace(proc::ChildProcess::spawn(a.command, proc::ChildProcess::Stdout::inherit,
                                                    proc::ChildProcess::Group::same));
        }
        const auto deadline = Clock::now() + k_start_timeout;
        std::optional<pid_t> ready;
        while (!(ready = ready_node(child->pid()))) {
            if (!child->running()) break;
            if (Clock::now() >= deadline) break;
            const int sig = wait_slice(set, Clock::now() + std::chrono::milliseconds(20), &*child);
            if (sig > 0 && sig != SIGCHLD) break;
        }
        if (!ready) {
            if (child->running()) {
                warnf(
                    "no node process with its inspector's signal handler appeared under pid {} "
                    "within {} s: nothing is recorded (is the program a node program?)",
                    child->pid(), k_start_timeout.count());
                wait_for_program(set, *child);
            }
            std::fprintf(stderr, "leakhunt: no snapshot was written\n");
            return program_status(*child);
        }
        pid = *ready;
    }

    std::optional<nodecap::NodeSession> session;
    try {
        session.emplace(pid, a.dir, manifest);
    } catch (const util::Error& e) {
        if (!child) throw;
        warnf("cannot record node pid {}: {}", pid, e.what());
        wait_for_program(set, *child);
        return program_status(*child);
    }
    std::fprintf(
        stderr,
        "leakhunt: recording node pid %d%s through its inspector on %s:%u (sampling every "
        "%s on average, a snapshot every %gs) into %s\n",
        pid, session->node_version().empty() ? "" : (" (" + session->node_version() + ")").c_str(),
        session->endpoint().address.c_str(), session->endpoint().port,
        util::format_bytes(static_cast<double>(nodecap::k_default_sampling_interval)).c_str(),
        every, util::terminal_safe(a.dir.string()).c_str());

    Loop loop{*session, a, 0, 0, {}, {}};
    long ticks = a.count;
    if (ticks == 0 && a.duration_s > 0)
        ticks = static_cast<long>(std::floor(a.duration_s / every)) + 1;
    std::vector<long> heap_ticks = heap_snapshot_ticks(ticks, a.heap_snapshots);
    // Without a known end: one after warm-up (the second tick), then every second tick; what is
    // left is taken at the end.
    if (ticks == 0) {
        for (int k = 0; k < a.heap_snapshots - 1; ++k) heap_ticks.push_back(2 + 2L * k);
    }
    size_t heap_next = 0;

    const auto start = Clock::now();
    const auto period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(every));
    const auto deadline = a.duration_s > 0
                              ? start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(a.duration_s))
                              : Clock::time_point::max();
    std::string why;
    bool ended = false;  // the process ended
    bool count_reached = false;
    try {
        for (long tick = 0;; ++tick) {
            if (!session->process_lives()) {
                ended = true;
                break;
            }
            loop.snapshot("periodic");
            while (heap_next < heap_ticks.size() && heap_ticks[heap_next] <= tick) {
                ++heap_next;
                loop.heap_snapshot();
            }
            if (a.count > 0 && static_cast<long>(loop.written) >= a.count) {
                why = fmt::format("--count {} reached", a.count);
                count_reached = true;
                break;
            }
            const auto next = start + period * (tick + 1);
            if (next > deadline) {
                why = "--duration reached";
                break;
            }
            int sig = 0;
            while (Clock::now() < next && session->process_lives() &&
                   !(child && !child->running())) {
                sig = wait_slice(set, next, child ? &*child : nullptr);
                if (sig > 0 && sig != SIGCHLD) break;
            }
            if (sig > 0 && sig != SIGCHLD) {
                why = stop_signal_text(sig);
                break;
            }
            if (!session->process_lives() || (child && !child->running())) {
                ended = true;
                break;
            }
        }
        if (!ended && !count_reached && session->process_lives()) loop.snapshot("final");
        while (!ended && heap_next < static_cast<size_t>(a.heap_snapshots) &&
               session->process_lives()) {
            ++heap_next;
            loop.heap_snapshot();
        }
    } catch (const util::Error& e) {
        if (session->process_lives()) {
            (void)session->finish();
            throw;
        }
        ended = true;
    }
    ended = ended || !session->process_lives();
    if (ended) {
        why = child ? "the program ended" : fmt::format("process {} ended", pid);
    }
    for (const auto& problem : session->finish()) warn(problem);
    if (loop.written > 0) {
        std::fprintf(stderr,
                     "leakhunt: %s: wrote %zu snapshot%s and %s; last: %s in use in %.0f "
                     "objects (JS heap %s), RSS %s -> %s\n",
                     why.c_str(), loop.written, loop.written == 1 ? "" : "s",
                     util::terminal_safe(session->timeline_path().string()).c_str(),
                     util::format_bytes(loop.last_row.heap_inuse_bytes).c_str(),
                     loop.last_row.heap_inuse_objects,
                     util::format_bytes(loop.last_row.counters["js_heap_used_bytes"]).c_str(),
                     util::format_bytes(loop.last_row.rss_bytes).c_str(),
                     util::terminal_safe((a.dir / loop.last_file).string()).c_str());
    } else {
        std::fprintf(stderr, "leakhunt: %s: no snapshot was written\n", why.c_str());
    }
    if (static_cast<int>(loop.heap_written) < a.heap_snapshots) {
        warnf("{} of the {} heap snapshots asked for were taken ({})", loop.heap_written,
              a.heap_snapshots, why);
    }
    session.reset();
    if (!child) return k_exit_ok;
    if (!ended && child->running()) {
        // The recording ended first (--duration, --count): the program is stopped as soak stops
        // it, and its status is ours.
        child->stop(5.0);
    } else {
        wait_for_program(set, *child);
    }
    return program_status(*child);
}

int snapshot_node_heap(pid_t pid, const std::filesystem::path& dir) {
    nodecap::SessionOptions options;
    options.profile = false;
    nodecap::NodeSession session(pid, dir, recorddir::Manifest{}, options);
    const nodecap::HeapSnapshotResult h = session.heap_snapshot();
    for (const auto& w : session.finish()) warn(w);
    std::fprintf(stderr, "leakhunt: heap snapshot of pid %d: %s, the program paused %.2f s\n", pid,
                 util::format_bytes(static_cast<double>(h.bytes)).c_str(), h.pause_s);
    std::printf("%s\n", util::terminal_safe((dir / h.file).string()).c_str());
    return k_exit_ok;
}

}  // namespace leakhunt::cli
