// `leakhunt record -- CMD ARGS`: runs a program under the preloaded agent and says what it wrote:
// heap snapshots (gzip pprof) every --snapshot-every seconds, on `leakhunt snapshot PID` and at
// exit, and the timeline of heap in-use against RSS. Exits with the program's own exit status.
// With --pprof-url it runs nothing and pulls a running service's heap profile instead
// (profile_puller.hpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>

#include <fmt/format.h>

#include "capture/runtime.hpp"
#include "cli/agent_files.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/heapscan_view.hpp"
#include "cli/native_preload.hpp"
#include "cli/profile_puller.hpp"
#include "cli/progress.hpp"
#include "cli/record_attach.hpp"
#include "cli/record_runtime.hpp"
#include "cli/snapshot_symbolizer.hpp"
#include "proc/child_process.hpp"
#include "proc/process_list.hpp"
#include "profile/fetch.hpp"
#include "recorddir/record_dir.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

struct RecordArgs {
    std::string out_dir;  // empty: ./leakhunt-record
    bool all = false;
    std::string sample_interval;
    std::string snapshot_every;
    int depth = 64;
    bool follow_children = false;
    bool leak_check = false;
    std::string pprof_url;
    std::string duration;
    long count = 0;
    int max_failures = 5;
    std::string runtime = "auto";
    std::string pid_text;
    int heap_snapshots = 0;
    bool native = false;
    CLI::App* cmd = nullptr;
};

// The native agent's sampling interval from --all and --sample-interval (default 512K).
std::uint64_t agent_interval(const RecordArgs& args) {
    if (args.all && !args.sample_interval.empty()) {
        throw util::UsageError(
            "--all and --sample-interval contradict each other (--all = "
            "--sample-interval 1)");
    }
    if (args.all) return 1;
    if (args.sample_interval.empty()) return 512 * 1024;
    return static_cast<std::uint64_t>(
        parse_bytes_option("--sample-interval", args.sample_interval));
}

// The runtime to record: --runtime when given, else told from the program or the process.
capture::Runtime chosen_runtime(const RecordArgs& args, pid_t pid) {
    if (args.runtime != "auto") {
        const auto r = capture::parse_runtime(args.runtime);
        if (!r) {
            throw util::UsageError("--runtime {}: use auto, native, go, node, java or python",
                                   args.runtime);
        }
        return *r;
    }
    return pid != 0 ? capture::detect_process(pid) : capture::detect_command(trailing_command());
}

// Records a node, java or python program through its runtime (record_runtime.hpp).
int run_runtime_record(const RecordArgs& args, capture::Runtime runtime, pid_t pid) {
    const bool python = runtime == capture::Runtime::python;
    if (args.native && !python) {
        throw util::UsageError(
            "--native records a Python interpreter's malloc beside tracemalloc; a {} program's "
            "native memory is recorded with --runtime native instead",
            capture::runtime_name(runtime));
    }
    for (const char* agent_only :
         {"--all", "--sample-interval", "--depth", "--follow-children", "--leak-check"}) {
        const std::string_view option = agent_only;
        // --depth is also tracemalloc's frame limit; with --native the sampling options
        // configure the agent in the interpreter.
        if (python && (option == "--depth" ||
                       (args.native && (option == "--all" || option == "--sample-interval")))) {
            continue;
        }
        if (args.cmd->count(agent_only) > 0) {
            throw util::UsageError(
                "{} configures the native agent and does not apply to a {} "
                "program (add --runtime native to record its native memory "
                "instead)",
                agent_only, capture::runtime_name(runtime));
        }
    }
    if (args.count < 0) throw util::UsageError("--count {}: use a positive number", args.count);
    if (args.heap_snapshots < 0) {
        throw util::UsageError("--heap-snapshots {}: use 0 or more", args.heap_snapshots);
    }
    RuntimeRecordArgs r;
    r.command = trailing_command();
    r.pid = pid;
    const std::string out_dir = args.out_dir.empty() ? "leakhunt-record" : args.out_dir;
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw util::Error("cannot create {}: {}", out_dir, ec.message());
    r.dir = std::filesystem::absolute(out_dir);
    if (!args.snapshot_every.empty()) {
        r.every_s = parse_duration_option("--snapshot-every", args.snapshot_every);
    }
    if (!args.duration.empty()) r.duration_s = parse_duration_option("--duration", args.duration);
    r.count = args.count;
    r.heap_snapshots = args.heap_snapshots;
    if (args.cmd->count("--depth") > 0) r.depth = args.depth;
    r.native = args.native;
    if (args.native) r.native_interval = agent_interval(args);
    r.cmd = args.cmd;
    switch (runtime) {
        case capture::Runtime::node:
            return record_node(r);
        case capture::Runtime::java:
            return record_java(r);
        case capture::Runtime::python:
            return record_python(r);
        case capture::Runtime::native:
        case capture::Runtime::go:
            break;
    }
    throw util::UsageError("internal: no runtime recorder for {}", capture::runtime_name(runtime));
}

// -o DIR (default ./leakhunt-record), created, as an absolute path.
std::filesystem::path output_directory(const RecordArgs& args) {
    const std::string out_dir = args.out_dir.empty() ? "leakhunt-record" : args.out_dir;
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw util::Error("cannot create {}: {}", out_dir, ec.message());
    return std::filesystem::absolute(out_dir);
}

int run_pull(const RecordArgs& args) {
    if (!trailing_command().empty()) {
        throw util::UsageError(
            "--pprof-url pulls a running service's profile; it runs no "
            "program, so drop `-- CMD ARGS` (or drop --pprof-url)");
    }
    for (const char* agent_only : {"--all", "--sample-interval", "--depth", "--follow-children",
                                   "--leak-check", "--native"}) {
        if (args.cmd->count(agent_only) > 0) {
            throw util::UsageError("{} configures the agent and does not apply to --pprof-url",
                                   agent_only);
        }
    }
    try {
        (void)profile::parse_url(args.pprof_url);
    } catch (const util::Error& e) {
        throw util::UsageError("--pprof-url {}", e.what());
    }
    if (args.count < 0) throw util::UsageError("--count {}: use a positive number", args.count);
    if (args.max_failures < 1) {
        throw util::UsageError("--max-failures {}: use 1 or more", args.max_failures);
    }
    PullOptions o;
    o.url = args.pprof_url;
    o.every_s = args.snapshot_every.empty()
                    ? 30.0
                    : parse_duration_option("--snapshot-every", args.snapshot_every);
    if (!args.duration.empty()) o.duration_s = parse_duration_option("--duration", args.duration);
    o.count = args.count;
    o.max_failures = args.max_failures;
    o.dir = output_directory(args);
    return pull_profiles(o);
}

// --pid with a native program: the agent is attached to it (record_attach.hpp).
int run_attach_record(const RecordArgs& args, pid_t pid, std::uint64_t interval, double every) {
    if (args.leak_check || args.follow_children) {
        throw util::UsageError(
            "--leak-check and --follow-children need the program started under "
            "record; with --pid take heap snapshots with --snapshot-every");
    }
    NativeAttachArgs a;
    a.pid = pid;
    a.sample_interval = interval;
    a.every_s = every;
    a.depth = args.depth;
    if (!args.duration.empty()) a.duration_s = parse_duration_option("--duration", args.duration);
    if (args.count < 0) throw util::UsageError("--count {}: use a positive number", args.count);
    a.count = args.count;
    std::error_code ec;
    const std::string out_dir = args.out_dir.empty() ? "leakhunt-record" : args.out_dir;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw util::Error("cannot create {}: {}", out_dir, ec.message());
    a.dir = std::filesystem::absolute(out_dir);
    return record_attach(a);
}

// How long after the start record looks for the agent in the program it started.
constexpr std::chrono::seconds k_agent_check{1};

// --leak-check: the LeakSanitizer-style report of each process's exit scan; true if any leaked.
bool report_exit_leaks(const std::filesystem::path& dir) {
    bool leaked = false, any = false;
    for (const auto& [pid, timeline] : recorddir::list(dir).timelines) {
        for (const auto& row : recorddir::read_timeline(dir, pid)) {
            if (row.reason != "exit") continue;
            const auto scan = recorddir::companion_name(row.snapshot, recorddir::Kind::scan);
            if (!scan || !std::filesystem::exists(dir / *scan)) continue;
            any = true;
            leaked = print_leaks(dir / *scan, stderr, false) > 0 || leaked;
        }
    }
    if (!any) {
        warn(
            "--leak-check: no exit scan was written (the program ended through _exit or a "
            "signal, or the scan failed: see the agent's message above)");
    }
    return leaked;
}

int run_record(const RecordArgs& args) {
    if (!args.pprof_url.empty()) return run_pull(args);
    pid_t attach = 0;
    if (!args.pid_text.empty()) {
        if (!trailing_command().empty()) {
            throw util::UsageError(
                "--pid attaches to a running process; drop `-- CMD ARGS` (or "
                "drop --pid to start the program)");
        }
        attach = parse_pid_option("--pid", args.pid_text);
    }
    if (attach == 0 && trailing_command().empty()) {
        throw util::UsageError(
            "record needs a program to run (-- CMD ARGS), a running process "
            "(--pid PID) or a Go service's profile (--pprof-url URL)");
    }
    const capture::Runtime runtime = chosen_runtime(args, attach);
    if (runtime == capture::Runtime::go) {
        throw util::UsageError(
            "a Go service is recorded from its pprof endpoint: --pprof-url "
            "http://127.0.0.1:PORT/debug/pprof/heap");
    }
    if (runtime != capture::Runtime::native) return run_runtime_record(args, runtime, attach);
    if (args.heap_snapshots > 0) {
        throw util::UsageError(
            "--heap-snapshots applies to node, java and python programs; for a "
            "native one take heap scans with `leakhunt snapshot PID --scan`");
    }
    if (attach == 0 && (!args.duration.empty() || args.count != 0)) {
        throw util::UsageError(
            "--duration and --count apply to a native program only with --pid "
            "(started by record, it is recorded until it exits)");
    }
    if (args.cmd->count("--max-failures") > 0) {
        throw util::UsageError("--max-failures applies to --pprof-url only");
    }
    if (args.native) {
        throw util::UsageError(
            "--native records a Python interpreter's malloc beside tracemalloc; this {} is "
            "native already: drop --native",
            attach != 0 ? fmt::format("process ({})", process_name(attach)) : "program");
    }
    const auto& command = trailing_command();
    const std::uint64_t interval = agent_interval(args);
    if (args.leak_check && !args.all && args.sample_interval != "1") {
        throw util::UsageError(
            "--leak-check needs --all: the heap scan must know every live block");
    }
    if (args.depth < 1 || args.depth > 256) {
        throw util::UsageError("--depth {}: use 1 to 256", args.depth);
    }
    double every = 0;
    if (!args.snapshot_every.empty()) {
        every = parse_duration_option("--snapshot-every", args.snapshot_every);
    }
    if (attach != 0) return run_attach_record(args, attach, interval, every);
    PreloadSettings preload;
    preload.agent = agent_library();
    preload.dir = output_directory(args);
    preload.sample_interval = interval;
    preload.every_s = every;
    preload.depth = args.depth;
    // Through a wrapper (`sh -c 'exec ./server'`, env, nice, timeout, a #!/bin/sh script) the
    // program is a later exec: the agent must stay in LD_PRELOAD to reach it.
    preload.follow_children = args.follow_children || is_wrapper(command.front());
    preload.leak_check = args.leak_check;
    const std::filesystem::path& dir = preload.dir;
    export_preload(preload);

    // The program keeps our terminal and process group: ^C reaches it directly, as without us;
    // we wait for it to end rather than die first. A stop signal sent to leakhunt alone (kill,
    // a supervisor) is passed on to the program and what it started, as ^C would have reached
    // them; one from the terminal (si_code SI_KERNEL) reached them already.
    sigset_t set = stop_signals(), old;
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &set, &old);
    proc::ChildProcess child = proc::ChildProcess::spawn(
        command, proc::ChildProcess::Stdout::inherit, proc::ChildProcess::Group::same);
    unexport_preload();
    SnapshotSymbolizer symbolizer(dir);
    recorddir::Manifest manifest = preload_manifest(preload, command, child.pid());
    recorddir::write_manifest(dir, manifest);
    std::fprintf(stderr, "leakhunt: recording pid %d (%s%s) into %s\n", child.pid(),
                 interval == 1 ? "" : "sampling ", manifest.sampling.c_str(),
                 util::terminal_safe(dir.string()).c_str());
    const auto started = std::chrono::steady_clock::now();
    auto next_check = started + k_agent_check;
    bool agent_found = false, agent_warned = false;
    while (child.running()) {
        timespec ts{0, 200 * 1000 * 1000};
        siginfo_t info{};
        const int sig = ::sigtimedwait(&set, &info, &ts);
        if (sig > 0 && sig != SIGCHLD && info.si_code != SI_KERNEL && info.si_pid != ::getpid()) {
            proc::forward_signal(child.pid(), sig);
        }
        if (agent_found || std::chrono::steady_clock::now() < next_check || !child.running()) {
            continue;
        }
        // Where is the agent? Said at once, not after the program ends.
        next_check += k_agent_check;
        const AgentSearch found = find_agent(child.pid());
        if (const auto holder = found.holding_leaf()) {
            agent_found = true;
            if (*holder != child.pid() || agent_warned) {
                std::fprintf(stderr, "leakhunt: the agent runs in pid %d (%s)\n", *holder,
                             util::terminal_safe(process_name(*holder)).c_str());
            }
        } else if (!agent_warned && !found.leaves.empty()) {
            agent_warned = true;
            warnf(
                "no agent in the program after {}: {}; nothing will be recorded unless it "
                "starts one that has the agent",
                util::format_duration(std::chrono::duration<double>(k_agent_check).count()),
                why_no_agent(found.leaves.back()));
        }
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    const int status = *child.wait_status();
    for (const auto& w : symbolizer.finish()) warn(w);

    const size_t snapshots = finish_preloaded(dir, manifest);
    if (snapshots == 0) {
        warn(agent_warned ? "no snapshot was written: the program ran without the agent (see "
                            "above)"
                          : "no snapshot was written: the program ended through _exit (or a "
                            "signal it had its own handler for) before any --snapshot-every "
                            "interval passed, or ran without the agent (statically linked or "
                            "setuid programs ignore LD_PRELOAD)");
    }
    std::fprintf(stderr, "leakhunt: the program %s\n", proc::describe_wait_status(status).c_str());
    const bool leaked = args.leak_check && report_exit_leaks(dir);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && leaked) return k_exit_leak;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return k_exit_error;
}

struct SnapshotArgs {
    std::string pid_text;
    std::string timeout = "30s";
    bool scan = false;
    bool heap = false;
    std::string out_dir;
};

// "key=value" from the rest of the agent's reply, up to the next " key=" (values are numbers;
// an error text runs to the end).
std::string reply_field(const std::string& details, const std::string& key) {
    const size_t at = details.find(" " + key + "=");
    if (at == std::string::npos) return {};
    const size_t start = at + key.size() + 2;
    if (key == "scan-error") return details.substr(start);
    return details.substr(start, details.find(' ', start) - start);
}

// `snapshot PID --heap`: the heap graph of a managed runtime (a JVM's heap dump, a V8 heap
// snapshot, a Python process's object graph).
int run_heap_snapshot(pid_t pid, const SnapshotArgs& args) {
    if (args.scan)
        throw util::UsageError(
            "--heap and --scan contradict each other (--scan is the native agent's heap scan)");
    const capture::Runtime runtime = capture::detect_process(pid);
    if (runtime != capture::Runtime::java && runtime != capture::Runtime::node &&
        runtime != capture::Runtime::python) {
        throw util::UsageError(
            "--heap takes the heap graph of a JVM, a Node or a Python process; pid {} runs {} "
            "(for a native program recorded under the agent use --scan)",
            pid, capture::runtime_name(runtime));
    }
    const std::string out = args.out_dir.empty() ? "." : args.out_dir;
    std::error_code ec;
    std::filesystem::create_directories(out, ec);
    if (ec) throw util::Error("cannot create {}: {}", out, ec.message());
    if (runtime == capture::Runtime::node)
        return snapshot_node_heap(pid, std::filesystem::absolute(out));
    if (runtime == capture::Runtime::python)
        return snapshot_python_heap(pid, std::filesystem::absolute(out));
    return snapshot_java_heap(pid, std::filesystem::absolute(out));
}

int run_snapshot(const SnapshotArgs& args) {
    const pid_t pid = parse_pid_option("", args.pid_text);
    if (args.heap) return run_heap_snapshot(pid, args);
    if (!args.out_dir.empty()) {
        throw util::UsageError(
            "-o applies to --heap (a runtime's heap dump); the agent writes "
            "its snapshots into its own record directory");
    }
    const double timeout = parse_duration_option("--timeout", args.timeout);
    // A scan stops the process and walks its heap: seconds for a big one. The request runs on
    // its own thread while a progress bar (stderr, terminals only) counts the seconds.
    auto pending = std::async(std::launch::async, [&] {
        return request_snapshot(pid, timeout, args.scan ? "snapshot scan" : "snapshot");
    });
    Progress bar = Progress::on_stderr(fmt::format("waiting for the {} of pid {} (seconds)",
                                                   args.scan ? "heap scan" : "snapshot", pid),
                                       0);
    const auto started = std::chrono::steady_clock::now();
    while (pending.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
        bar.update(static_cast<uint64_t>(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()));
    }
    bar.finish();
    const proc::AgentSnapshot reply = pending.get();
    std::printf("%s\n", reply.path().c_str());
    if (!args.scan) return k_exit_ok;
    if (const std::string err = reply_field(reply.details, "scan-error"); !err.empty()) {
        std::fflush(stdout);
        throw util::Error("the snapshot was written, but the heap scan of process {} failed: {}",
                          pid, err);
    }
    const std::string scan = reply.scan_path();
    std::printf("%s\n", scan.c_str());
    const auto field = [&](const char* key) { return reply_field(reply.details, key); };
    std::fprintf(stderr,
                 "leakhunt: heap scan of pid %d: %s blocks, threads stopped for %s ms; leaks: %s "
                 "direct (%s bytes), %s indirect (%s bytes). Next: leakhunt paths %s; leakhunt "
                 "leaks %s\n",
                 pid, field("blocks").c_str(), field("pause_ms").c_str(),
                 field("direct_leaks").c_str(), field("direct_bytes").c_str(),
                 field("indirect_leaks").c_str(), field("indirect_bytes").c_str(), scan.c_str(),
                 scan.c_str());
    return k_exit_ok;
}

}  // namespace

Runner add_record(CLI::App& app) {
    auto args = std::make_shared<RecordArgs>();
    CLI::App* cmd = app.add_subcommand(
        "record", "Run a program under the allocation agent and write heap profiles (pprof)");
    cmd->add_option("-o,--out,--output", args->out_dir,
                    "Output directory (default ./leakhunt-record)");
    cmd->add_flag("--all", args->all,
                  "Record every allocation (exact; slower) instead of sampling");
    cmd->add_option("--sample-interval", args->sample_interval,
                    "Mean bytes between samples (default 512K; 1 = every allocation)");
    cmd->add_option("--snapshot-every", args->snapshot_every,
                    "Also write a snapshot every this long, e.g. 30s (default: only at exit and "
                    "on `leakhunt snapshot PID`)");
    cmd->add_option("--depth", args->depth,
                    "Maximum stack depth (default 64, at most 256; python: "
                    "tracemalloc's frames, default 1)");
    cmd->add_flag("--follow-children", args->follow_children,
                  "Keep the agent in programs this one execs (forked children always have it; "
                  "through a shell or wrapper such as sh -c, env, nice or timeout it is kept "
                  "without this flag)");
    cmd->add_flag("--leak-check", args->leak_check,
                  "With --all: scan the heap at exit and print the unreachable blocks as "
                  "LeakSanitizer does (exit 3 if the program exited 0 but leaked)");
    cmd->add_option("--pprof-url", args->pprof_url,
                    "Run nothing: pull a running service's heap profile from this URL every "
                    "--snapshot-every (default 30s), e.g. http://127.0.0.1:6060/debug/pprof/heap");
    cmd->add_option(
        "--duration", args->duration,
        "With --pprof-url or a runtime's recording: stop after this long, e.g. 10m (default: "
        "until the program ends or ^C)");
    cmd->add_option("--count", args->count,
                    "With --pprof-url or a runtime's recording: stop after this many snapshots "
                    "(default: no limit)");
    cmd->add_option("--max-failures", args->max_failures,
                    "With --pprof-url: give up (exit 1) after this many failed pulls in a row "
                    "(default 5)");
    cmd->add_option("--runtime", args->runtime,
                    "auto (default: told from the program or process), native, node, java or "
                    "python");
    cmd->add_option("--pid", args->pid_text,
                    "Attach to this running process instead of starting one (native through "
                    "gdb, node, java, python)");
    cmd->add_option("--heap-snapshots", args->heap_snapshots,
                    "node, java, python: also take this many heap graphs spaced over the "
                    "recording, for `leakhunt paths` (default 0)");
    cmd->add_flag("--native", args->native,
                  "python: also run the native agent in the interpreter (preloaded, or attached "
                  "with --pid) and write its snapshots into OUT/native, so that a leak in C code "
                  "(an extension, ctypes) is named by its C function; --all and "
                  "--sample-interval set its sampling");
    cmd->footer("  -- CMD ARGS   the program to run (not with --pprof-url or --pid)");
    args->cmd = cmd;
    return [args] { return run_record(*args); };
}

Runner add_snapshot(CLI::App& app) {
    auto args = std::make_shared<SnapshotArgs>();
    CLI::App* cmd = app.add_subcommand(
        "snapshot", "Ask a program running under the agent for a heap snapshot now");
    cmd->add_option("pid", args->pid_text, "The process (started with `leakhunt record`)")
        ->required();
    cmd->add_option("--timeout", args->timeout, "How long to wait for the agent (default 30s)");
    cmd->add_flag("--scan", args->scan,
                  "Also scan the heap (program recorded with --all): stop the threads, find what "
                  "is reachable from the roots, write heap.PID.NNNN.scan for `paths` and `leaks`");
    cmd->add_flag("--heap", args->heap,
                  "A JVM: write its heap dump (jcmd GC.heap_dump, live objects) as "
                  "heap.PID.NNNN.hprof into -o DIR; a Python process: its object graph as "
                  "heap.PID.NNNN.pygraph");
    cmd->add_option("-o,--out", args->out_dir,
                    "With --heap: the record directory to write into (default: the current one)");
    return [args] { return run_snapshot(*args); };
}

}  // namespace leakhunt::cli
