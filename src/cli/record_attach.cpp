// `leakhunt record --pid PID` for a native program (record_attach.hpp). The checks that tell why
// an attach cannot work come first, each with what to do; then gdb, in batch mode and bounded by
// a timeout, calls dlopen and leakhunt_attach in the target and detaches at once; recording then
// runs as under `record -- CMD`, and ends with the agent's "detach" request.
#include "cli/record_attach.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "cli/agent_files.hpp"
#include "cli/common.hpp"
#include "cli/native_preload.hpp"
#include "cli/snapshot_symbolizer.hpp"
#include "proc/child_process.hpp"
#include "proc/proc_files.hpp"
#include "recorddir/record_dir.hpp"
#include "util/error.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::cli {
namespace {

namespace fs = std::filesystem;

// How long gdb may take to attach, load the agent and detach.
constexpr double k_gdb_timeout_s = 30;
// How long the agent may take to write its last snapshot when asked to detach.
constexpr double k_detach_timeout_s = 30;
// How long a heap scan before the detach may take (it stops the program's threads).
constexpr double k_scan_timeout_s = 60;

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The value of "Key:" in a /proc/PID/status file, "" if absent.
std::string status_field(const std::string& status, const std::string& key) {
    const size_t at = status.find("\n" + key + ":");
    if (at == std::string::npos) return {};
    size_t start = at + key.size() + 2;
    while (start < status.size() && (status[start] == ' ' || status[start] == '\t')) ++start;
    return status.substr(start, status.find('\n', start) - start);
}

bool have_cap_sys_ptrace() {
    const std::string eff = status_field(read_text("/proc/self/status"), "CapEff");
    if (eff.empty()) return false;
    const unsigned long long caps = std::strtoull(eff.c_str(), nullptr, 16);
    return ((caps >> 19) & 1) != 0;  // CAP_SYS_PTRACE
}

std::string find_in_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        const fs::path candidate = fs::path(dir) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

// Why the agent cannot be attached to `pid`, as an error naming what to do; nothing if it can.
void check_attachable(pid_t pid, const std::string& name) {
    const fs::path proc = fmt::format("/proc/{}", pid);
    struct stat st {};
    if (::stat(proc.c_str(), &st) != 0) throw util::Error("no process with pid {}", pid);
    if (pid == ::getpid()) throw util::Error("--pid {} is leakhunt itself", pid);
    const uid_t me = ::geteuid();
    if (me != 0 && st.st_uid != me) {
        throw util::Error(
            "cannot attach to pid {} ({}): it runs as uid {}, leakhunt as uid {} "
            "(run leakhunt as that user or as root)",
            pid, name, st.st_uid, me);
    }
    const std::string maps = read_text(proc / "maps");
    if (maps.empty()) {
        throw util::Error(
            "cannot read /proc/{}/maps: permission denied or the process is gone "
            "(run as the process owner or root)",
            pid);
    }
    if (maps.find("libleakhunt_agent") != std::string::npos) {
        const auto live = proc::agent_pids();
        if (std::find(live.begin(), live.end(), pid) == live.end()) {
            throw util::Error(
                "pid {} ({}) already has the leakhunt agent, detached by an earlier "
                "`record --pid` (or disabled): a process can be attached once; "
                "restart it to record again",
                pid, name);
        }
        throw util::Error(
            "pid {} ({}) already has the leakhunt agent (started under `leakhunt "
            "record`, or attached by another `record --pid`): take snapshots with "
            "`leakhunt snapshot {}`",
            pid, name, pid);
    }
    if (maps.find("/ld-linux") == std::string::npos && maps.find("/ld-musl") == std::string::npos) {
        throw util::Error(
            "pid {} ({}) is statically linked: it has no dynamic loader to load the "
            "agent into (rebuild it dynamically linked, or watch it from outside "
            "with `leakhunt watch --pid {}`)",
            pid, name, pid);
    }
    if (maps.find("libc.so.6") == std::string::npos) {
        throw util::Error(
            "pid {} ({}) does not use the GNU C library: the agent can only be "
            "attached to glibc programs (start it under `leakhunt record -- CMD`)",
            pid, name);
    }
    const std::string tracer = status_field(read_text(proc / "status"), "TracerPid");
    if (!tracer.empty() && tracer != "0") {
        throw util::Error(
            "pid {} ({}) is already traced by pid {} (a debugger or strace): detach "
            "it first",
            pid, name, tracer);
    }
    const std::string scope_text = read_text("/proc/sys/kernel/yama/ptrace_scope");
    if (!scope_text.empty()) {
        const int scope = std::atoi(scope_text.c_str());
        if (scope >= 3) {
            throw util::Error(
                "cannot attach to pid {}: ptrace is disabled on this host "
                "(/proc/sys/kernel/yama/ptrace_scope is 3, until reboot); start the "
                "program under `leakhunt record -- CMD` instead",
                pid);
        }
        if (scope >= 1 && !have_cap_sys_ptrace()) {
            throw util::Error(
                "cannot attach to pid {}: /proc/sys/kernel/yama/ptrace_scope is {} "
                "and leakhunt lacks CAP_SYS_PTRACE (run it as root or with "
                "CAP_SYS_PTRACE, or set ptrace_scope to 0)",
                pid, scope);
        }
    }
}

// A C string literal for gdb: quotes and backslashes escaped; control characters refused.
std::string gdb_string(const std::string& text, const char* what) {
    std::string out = "\"";
    for (char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            throw util::Error("{} {} contains a control character; choose another", what,
                              util::terminal_safe(text));
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// The result line gdb printed for our script, or an error with gdb's own words.
std::string attach_result(const std::string& log) {
    for (const char* key : {"leakhunt-attach-result: ", "leakhunt-dlopen-failed: "}) {
        const size_t at = log.find(key);
        if (at != std::string::npos) return log.substr(at, log.find('\n', at) - at);
    }
    return {};
}

// The last non-empty line of gdb's output, for an error message.
std::string last_line(const std::string& log) {
    std::istringstream in(log);
    std::string last;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) last = line;
    }
    return last;
}

// Loads the agent into `pid` through gdb and starts it. Returns how long the process was stopped
// (gdb's whole run, an upper bound) in seconds.
double inject(const NativeAttachArgs& args, const std::string& name, const fs::path& agent,
              const std::string& gdb) {
    char tmpl[] = "/tmp/leakhunt-attach.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
        throw util::Error("cannot create a temporary directory in /tmp: {}",
                          util::errno_text(errno));
    }
    const fs::path tmp = tmpl;
    struct Cleanup {
        fs::path p;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } cleanup{tmp};
    const std::string spec = fmt::format(
        "interval={};every={};depth={};unwind=cfi;out={}", args.sample_interval,
        static_cast<long long>(args.every_s * 1000 + 0.5), args.depth, args.dir.string());
    {
        std::ofstream script(tmp / "attach.gdb");
        script << "set confirm off\nset pagination off\n"
               << "set $lh_handle = (void*)dlopen(" << gdb_string(agent.string(), "the agent path")
               << ", 2)\n"
               << "if $lh_handle == 0\n"
               << "  printf \"leakhunt-dlopen-failed: %s\\n\", (char*)dlerror()\n"
               << "else\n"
               << "  set $lh_attach = (int(*)(const char*))dlsym($lh_handle, \"leakhunt_attach\")\n"
               << "  printf \"leakhunt-attach-result: %d\\n\", $lh_attach("
               << gdb_string(spec, "the output directory") << ")\n"
               << "end\ndetach\nquit\n";
        if (!script) throw util::Error("cannot write {}", (tmp / "attach.gdb").string());
    }
    const auto started = std::chrono::steady_clock::now();
    proc::ChildProcess child = proc::ChildProcess::spawn_shell(
        fmt::format("exec {} -nx -batch -p {} -x {}/attach.gdb >{}/gdb.log 2>&1",
                    gdb_string(gdb, "gdb"), args.pid, tmp.string(), tmp.string()));
    if (!child.wait_for(k_gdb_timeout_s)) {
        child.stop(2);
        throw util::Error(
            "gdb did not finish attaching to pid {} ({}) within {:.0f} s and was "
            "stopped; the process may be stuck inside the allocator or the loader "
            "(check it is still running)",
            args.pid, name, k_gdb_timeout_s);
    }
    const double paused =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string log = read_text(tmp / "gdb.log");
    const std::string result = attach_result(log);
    if (result.starts_with("leakhunt-dlopen-failed: ")) {
        throw util::Error(
            "pid {} ({}) could not load the agent: {} (nothing was changed in the "
            "process)",
            args.pid, name, util::terminal_safe(result.substr(24)));
    }
    if (result.empty()) {
        throw util::Error(
            "gdb could not attach to pid {} ({}): {} (run as root or the process "
            "owner; a seccomp filter or a container may forbid ptrace)",
            args.pid, name, util::terminal_safe(last_line(log)));
    }
    const int code = std::atoi(result.c_str() + 24);
    if (code == 2) {
        throw util::Error(
            "pid {} ({}) already records with the leakhunt agent: take snapshots "
            "with `leakhunt snapshot {}`",
            args.pid, name, args.pid);
    }
    if (code != 0) {
        throw util::Error(
            "the agent in pid {} ({}) could not start (code {}; its message is on "
            "the program's stderr); the program goes on unchanged",
            args.pid, name, code);
    }
    return paused;
}

// False once the process has ended (a zombie its parent has not reaped yet counts as ended).
bool running(pid_t pid) {
    return !proc::has_exited(pid);
}

}  // namespace

NativeAttachment::NativeAttachment(NativeAttachArgs args)
    : m_args(std::move(args)), m_name(process_name(m_args.pid)) {
    check_attachable(m_args.pid, m_name);
    m_gdb = find_in_path("gdb");
    if (m_gdb.empty()) {
        throw util::Error(
            "attaching to a running native process needs gdb, which is not in PATH "
            "(install it: apt-get install gdb), or start the program under "
            "`leakhunt record -- CMD`");
    }
    m_agent = agent_library();
}

NativeAttachment::~NativeAttachment() = default;

void NativeAttachment::start() {
    m_manifest.runtime = "native";
    m_manifest.capture = "agent-attach";
    m_manifest.pid = m_args.pid;
    m_manifest.start_unix = unix_now();
    m_manifest.sampling = preload_sampling(m_args.sample_interval);
    m_manifest.extra["attached"] = "only allocations made after the attach are seen";
    m_manifest.extra["attached_unix"] = fmt::format("{:.3f}", m_manifest.start_unix);
    recorddir::write_manifest(m_args.dir, m_manifest);
    m_symbolizer = std::make_unique<SnapshotSymbolizer>(m_args.dir);
    const double paused = inject(m_args, m_name, m_agent, m_gdb);
    std::fprintf(stderr,
                 "leakhunt: attached to pid %d (%s) in %.0f ms; recording %s into %s (only "
                 "allocations made from now on are seen)\n",
                 m_args.pid, util::terminal_safe(m_name).c_str(), paused * 1000,
                 m_manifest.sampling.c_str(), util::terminal_safe(m_args.dir.string()).c_str());
}

size_t NativeAttachment::snapshots() const {
    return recorddir::read_timeline(m_args.dir, m_args.pid).size();
}

void NativeAttachment::finish(bool exited, const char* why) {
    const pid_t pid = m_args.pid;
    exited = exited || !running(pid);
    std::string detach_error;
    if (!exited && m_args.scan_before_detach && m_args.sample_interval == 1 && !stop_requested()) {
        std::fprintf(stderr,
                     "leakhunt: scanning the heap of pid %d (its threads stop for the "
                     "scan)\n",
                     pid);
        try {
            // The reply's file names are not read here (the scan is found in the record
            // directory, through recorddir), so the raw request is enough.
            const proc::AgentReply reply =
                proc::agent_request(pid, k_scan_timeout_s, "snapshot scan");
            if (const size_t err = reply.text.find("scan-error="); err != std::string::npos) {
                warnf("the heap scan of pid {} failed: {}", pid,
                      util::terminal_safe(reply.text.substr(err + 11)));
            } else if (!reply.text.starts_with("ok ")) {
                warnf("the heap scan of pid {} failed: {}", pid, util::terminal_safe(reply.text));
            }
        } catch (const util::Error& e) {
            if (running(pid)) warnf("the heap scan of pid {} failed: {}", pid, e.what());
        }
    }
    if (!exited) {
        try {
            const proc::AgentReply reply = proc::agent_request(pid, k_detach_timeout_s, "detach");
            if (!reply.text.starts_with("ok ")) detach_error = reply.text;
        } catch (const util::Error& e) {
            if (running(pid))
                detach_error = e.what();
            else
                exited = true;
        }
    }
    if (m_symbolizer) {
        for (const auto& w : m_symbolizer->finish()) warn(w);
    }
    const auto rows = recorddir::read_timeline(m_args.dir, pid);
    if (!rows.empty()) {
        const auto& last = rows.back();
        std::fprintf(stderr,
                     "leakhunt: pid %d: %zu snapshot%s; last (%s): %s in use in %.0f "
                     "objects allocated since the attach -> %s\n",
                     pid, rows.size(), rows.size() == 1 ? "" : "s", last.reason.c_str(),
                     util::format_bytes(last.heap_inuse_bytes).c_str(), last.heap_inuse_objects,
                     util::terminal_safe((m_args.dir / last.snapshot).string()).c_str());
    }
    if (!detach_error.empty()) {
        throw util::Error(
            "the agent in pid {} did not detach: {} (it keeps recording until the "
            "program exits)",
            pid, util::terminal_safe(detach_error));
    }
    std::fprintf(stderr, "leakhunt: %s; %s\n", why,
                 exited ? "the program ended while recorded"
                        : "detached: the program runs on unchanged (the agent's code stays "
                          "mapped, inactive)");
}

int record_attach(const NativeAttachArgs& args) {
    NativeAttachment attachment(args);
    sigset_t set = stop_signals(), old;
    ::sigprocmask(SIG_BLOCK, &set, &old);
    attachment.start();
    const auto started = std::chrono::steady_clock::now();
    const char* why = nullptr;
    bool exited = false;
    while (why == nullptr) {
        timespec ts{0, 200 * 1000 * 1000};
        const int sig = ::sigtimedwait(&set, nullptr, &ts);
        if (sig > 0)
            why = stop_signal_text(sig);
        else if (!running(args.pid))
            exited = true, why = "the program ended";
        else if (args.duration_s > 0 &&
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                         .count() >= args.duration_s) {
            why = "--duration reached";
        } else if (args.count > 0 && attachment.snapshots() >= static_cast<size_t>(args.count)) {
            why = "--count reached";
        }
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    attachment.finish(exited, why);
    return k_exit_ok;
}

}  // namespace leakhunt::cli
