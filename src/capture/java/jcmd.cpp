#include "capture/java/jcmd.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

#include "capture/runtime.hpp"
#include "proc/proc_files.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/terminal_text.hpp"
#include "util/units.hpp"

namespace leakhunt::capture::java {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// A jcmd that fails prints a Java stack trace; its first "...Exception: why" line is the reason.
std::string reason_of(const std::string& output) {
    std::string_view rest = output;
    std::string_view first;
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty() || line.starts_with('\t') || line.starts_with("Caused by")) continue;
        if (line.back() == ':' && line.find_first_not_of("0123456789") == line.size() - 1) continue;
        if (const size_t at = line.find("Exception: "); at != std::string_view::npos) {
            return util::terminal_safe(line.substr(at + 11).substr(0, 300));
        }
        if (first.empty()) first = line;
    }
    if (first.empty()) return "no output";
    return util::terminal_safe(first.substr(0, 300));
}

bool has_text(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

// The option that forbids attaching, when it is on the JVM's command line or in the variables
// the launcher reads options from.
bool attach_disabled_by_option(pid_t pid) {
    const std::string proc = fmt::format("/proc/{}/", pid);
    constexpr std::string_view k_flag = "-XX:+DisableAttachMechanism";
    if (const auto cmdline = util::try_read_file(proc + "cmdline");
        cmdline && has_text(*cmdline, k_flag)) {
        return true;
    }
    if (const auto env = util::try_read_file(proc + "environ")) {
        for (const char* name : {"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"}) {
            if (const auto v = proc::environ_value(*env, name); v && has_text(*v, k_flag))
                return true;
        }
    }
    return false;
}

}  // namespace

bool catches_signal(pid_t pid, int sig) {
    const auto text = util::try_read_file(fmt::format("/proc/{}/status", pid));
    if (!text) return false;
    const size_t at = text->find("\nSigCgt:");
    if (at == std::string::npos) return false;
    const size_t start = text->find_first_not_of(" \t", at + 8);
    if (start == std::string::npos) return false;
    uint64_t mask = 0;
    const char* first = text->data() + start;
    const auto [ptr, ec] = std::from_chars(first, text->data() + text->size(), mask, 16);
    if (ec != std::errc{} || ptr == first) return false;
    return sig >= 1 && sig <= 64 && ((mask >> (sig - 1)) & 1U) != 0;
}

Jvm::Jvm(pid_t pid) : m_pid(pid) {
    const fs::path proc = fs::path("/proc") / std::to_string(pid);
    struct stat st {};
    if (::stat(proc.c_str(), &st) != 0) {
        throw util::Error("no process {} (it has ended, or lives in another PID namespace)", pid);
    }
    m_uid = st.st_uid;
    m_gid = st.st_gid;
    if (!maps_library(pid, "libjvm.so")) {
        throw util::Error(
            "process {} is not a Java VM (it has no libjvm.so mapped); nothing was "
            "sent to it (record another runtime with --runtime, or give the "
            "JVM's PID)",
            pid);
    }
    std::error_code ec;
    const fs::path exe = fs::read_symlink(proc / "exe", ec);
    // The jcmd of the JVM's own JDK speaks its version of the attach protocol best.
    if (!ec) {
        const fs::path beside = exe.parent_path() / "jcmd";
        if (::access(beside.c_str(), X_OK) == 0) m_jcmd = beside;
    }
    if (m_jcmd.empty()) {
        const fs::path on_path = util::resolve_program("jcmd");
        if (on_path.has_parent_path() && ::access(on_path.c_str(), X_OK) == 0) m_jcmd = on_path;
    }
    if (m_jcmd.empty()) {
        throw util::Error(
            "no jcmd beside {} or on PATH: install the JDK's tools (Debian: "
            "apt-get install openjdk-17-jdk-headless)",
            util::terminal_safe(ec ? std::string("the JVM's java") : exe.string()));
    }
}

bool Jvm::alive() const {
    return !proc::has_exited(m_pid);
}

std::string Jvm::failure(const std::string& command, const proc::RunResult& r) const {
    if (!alive()) return fmt::format("pid {} exited", m_pid);
    if (r.timed_out) return fmt::format("jcmd {} got no answer in time", command);
    if (r.cut) return fmt::format("jcmd {} printed more than leakhunt reads", command);
    return reason_of(r.output);
}

proc::RunResult Jvm::tool(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                          size_t max_output) const {
    proc::BoundedRun run;
    run.argv = {m_jcmd.string(), std::to_string(m_pid)};
    run.argv.insert(run.argv.end(), args.begin(), args.end());
    run.timeout = timeout;
    run.max_output = max_output;
    run.err = proc::BoundedRun::Stderr::merge;
    run.user = proc::BoundedRun::User{m_uid, m_gid};
    run.working_dir = "/";
    run.drop_env = {"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS"};
    return proc::run_bounded(run);
}

std::string Jvm::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                     size_t max_output) {
    const proc::RunResult r = tool(args, timeout, max_output);
    if (!r.ok()) {
        throw util::Error("jcmd {} {} failed: {}", m_pid, args.front(), failure(args.front(), r));
    }
    return r.output;
}

bool Jvm::wait_ready(std::chrono::milliseconds limit, const std::function<bool()>& keep_waiting) {
    if (attach_disabled_by_option(m_pid)) {
        throw util::Error(
            "pid {} runs with -XX:+DisableAttachMechanism: jcmd cannot reach it "
            "(restart it without that option to record it)",
            m_pid);
    }
    const auto deadline = Clock::now() + limit;
    std::string last;
    while (true) {
        if (!alive()) throw util::Error("pid {} exited before it answered jcmd", m_pid);
        // jcmd wakes the attach listener with SIGQUIT, which kills a process not handling it.
        if (catches_signal(m_pid, SIGQUIT)) {
            const proc::RunResult r = tool({"VM.version"}, 30s, 64 * 1024);
            if (r.ok()) return true;
            if (has_text(r.output, "does not support the attach mechanism")) {
                throw util::Error(
                    "pid {} does not allow attaching (started with "
                    "-XX:+DisableAttachMechanism?): jcmd cannot reach it",
                    m_pid);
            }
            last = failure("VM.version", r);
        }
        if (Clock::now() >= deadline) {
            if (last.empty()) {
                throw util::Error(
                    "pid {} does not handle SIGQUIT (started with -Xrs or "
                    "-XX:+ReduceSignalUsage?), so jcmd cannot attach without killing "
                    "it; nothing was sent",
                    m_pid);
            }
            throw util::Error(
                "pid {} did not answer jcmd within {}: {} (is it the JVM's own "
                "user, or a JVM in another container?)",
                m_pid, util::format_duration(std::chrono::duration<double>(limit).count()), last);
        }
        if (!keep_waiting()) return false;
    }
}

ClassHistogram Jvm::class_histogram() {
    const std::string text = run({"GC.class_histogram"}, 600s, 64 * 1024 * 1024);
    try {
        return parse_class_histogram(text);
    } catch (const util::Error& e) {
        throw util::Error("jcmd {} GC.class_histogram: {}", m_pid, e.what());
    }
}

PerfCounters Jvm::perf_counters() {
    const proc::RunResult r = tool({"PerfCounter.print"}, 60s, 4 * 1024 * 1024);
    if (!r.ok()) return {};
    return parse_perf_counters(r.output);
}

void Jvm::heap_dump(const fs::path& dir, const std::string& name, double heap_used) {
    struct statvfs vfs {};
    if (heap_used > 0 && ::statvfs(dir.c_str(), &vfs) == 0) {
        const double free = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
        // A dump of the live objects is about the size of the heap they use, plus headers.
        if (free < heap_used * 1.1) {
            throw util::Error(
                "not enough free space in {} for a heap dump of pid {}: {} free, its "
                "heap uses {} (free some space, or record into another directory "
                "with -o)",
                util::terminal_safe(dir.string()), m_pid, util::format_bytes(free),
                util::format_bytes(heap_used));
        }
    }
    // The JVM writes the file as its own user: a staging directory it owns, inside `dir`, then
    // a rename once the dump is whole.
    const fs::path staging = dir / fmt::format(".hprof-staging.{}", ::getpid());
    std::error_code ec;
    fs::remove_all(staging, ec);
    if (::mkdir(staging.c_str(), 0700) != 0) {
        throw util::Error("cannot create {}: {}", util::terminal_safe(staging.string()),
                          util::errno_text(errno));
    }
    const bool other_user = ::geteuid() == 0 && m_uid != 0;
    if (other_user && ::chown(staging.c_str(), m_uid, m_gid) != 0) {
        const int e = errno;
        fs::remove_all(staging, ec);
        throw util::Error("cannot give {} to the JVM's user {}: {}",
                          util::terminal_safe(staging.string()), m_uid, util::errno_text(e));
    }
    const fs::path file = staging / name;
    const proc::RunResult r =
        tool({"GC.heap_dump", "-all=false", file.string()}, 1800s, 1024 * 1024);
    const bool written = r.ok() && has_text(r.output, "Heap dump file created");
    if (!written) {
        fs::remove_all(staging, ec);
        std::string why = failure("GC.heap_dump", r);
        if (has_text(r.output, "Permission denied") || has_text(r.output, "No such file")) {
            why = fmt::format(
                "the JVM's user (uid {}) cannot write into {}: make the directory "
                "and its parents reachable by that user, or record into one it "
                "can write (e.g. under /tmp)",
                m_uid, util::terminal_safe(dir.string()));
        }
        throw util::Error("heap dump of pid {} failed: {}", m_pid, why);
    }
    if (other_user) {
        // Ours again, like the rest of the directory; if that fails the dump is still whole.
        const int ignored = ::chown(file.c_str(), ::geteuid(), ::getegid());
        (void)ignored;
    }
    fs::rename(file, dir / name, ec);
    const int rename_error = ec.value();
    fs::remove_all(staging, ec);
    if (rename_error != 0) {
        throw util::Error("cannot move the heap dump into {}: {}",
                          util::terminal_safe(dir.string()), util::errno_text(rename_error));
    }
}

}  // namespace leakhunt::capture::java
