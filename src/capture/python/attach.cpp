// Attaching the bootstrap to a running CPython through gdb (launch.hpp: attach_bootstrap).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "capture/python/launch.hpp"
#include "proc/agent_control.hpp"
#include "proc/proc_files.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::capture::python {
namespace fs = std::filesystem;
namespace {

std::string hex_of(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) out += fmt::format("{:02x}", static_cast<unsigned char>(c));
    return out;
}

// The Python source gdb hands to PyRun_SimpleString: it executes the bootstrap file in a fresh
// namespace (nothing is bound in __main__) with the control directory and the depth; a failure
// to even load it goes to CTL/error, never to the program's stderr. Paths travel as hex, so no
// quoting of gdb's or Python's string syntax is involved.
std::string injected_code(const AttachOptions& o) {
    const std::string boot = hex_of(o.bootstrap.string());
    const std::string ctl = hex_of(o.ctl.string());
    const std::string err = hex_of((o.ctl / "error").string());
    return fmt::format(
        "try:\\n"
        " (lambda b,o:b.exec(b.compile(b.open(o.fsdecode(b.bytes.fromhex('{0}')),'rb').read(),"
        "o.fsdecode(b.bytes.fromhex('{0}')),'exec'),{{'__name__':'_leakhunt_attach',"
        "'__file__':o.fsdecode(b.bytes.fromhex('{0}')),'__builtins__':b,"
        "'_leakhunt_args':(o.fsdecode(b.bytes.fromhex('{1}')),{2})}}))"
        "(__import__('builtins'),__import__('os'))\\n"
        "except BaseException:\\n"
        " (lambda o,s,f:(o.write(f,repr(s.exc_info()[1]).encode()),o.close(f)))(__import__('os'),"
        "__import__('sys'),__import__('os').open(__import__('os').fsdecode(bytes.fromhex('{3}')),"
        "65|512,384))\\n",
        boot, ctl, o.depth, err);
}

std::string gdb_script(const AttachOptions& o) {
    return fmt::format(
        "set debuginfod enabled off\n"
        "set pagination off\n"
        "set confirm off\n"
        "set unwindonsignal on\n"
        "handle SIGPIPE SIGUSR1 SIGUSR2 SIGALRM SIGCHLD SIGHUP SIGTERM SIGWINCH SIGIO SIGPROF "
        "SIGVTALRM SIGURG SIGCONT nostop noprint pass\n"
        "set $leakhunt_gil = (int)PyGILState_Ensure()\n"
        "set $leakhunt_rc = (int)PyRun_SimpleString(\"{}\")\n"
        "call (void)PyGILState_Release($leakhunt_gil)\n"
        "printf \"leakhunt-rc %d\\n\", $leakhunt_rc\n"
        "detach\n"
        "quit\n",
        injected_code(o));
}

int ptrace_scope() {
    const auto text = util::try_read_file("/proc/sys/kernel/yama/ptrace_scope");
    return text && !text->empty() ? std::atoi(text->c_str()) : -1;
}

void check_ptrace(pid_t pid) {
    const int scope = ptrace_scope();
    if (scope == 3) {
        throw util::Error(
            "cannot attach to process {}: ptrace is disabled on this host "
            "(/proc/sys/kernel/yama/ptrace_scope is 3 until reboot); start the "
            "program under `leakhunt record -- python3 ...` instead",
            pid);
    }
    if (::geteuid() == 0) return;
    if (scope >= 1) {
        throw util::Error(
            "cannot attach to process {}: yama ptrace_scope is {}, so only root (or "
            "CAP_SYS_PTRACE) may attach to a process it did not start; run "
            "leakhunt as root, or start the program under `leakhunt record -- "
            "python3 ...`",
            pid, scope);
    }
    const auto uids = proc::process_uids(pid);
    for (const uid_t u : uids) {
        if (u != ::geteuid()) {
            throw util::Error(
                "cannot attach to process {}: it runs as {} and this is {}; run "
                "leakhunt as that user or as root",
                pid, proc::describe_user(u), proc::describe_user(::geteuid()));
        }
    }
}

// The first line of gdb's log that says why it failed, for the message.
std::string why_from_log(const std::string& log, pid_t pid) {
    if (proc::has_exited(pid) || log.find("ptrace: No such process") != std::string::npos ||
        log.find("exited while in a function called from GDB") != std::string::npos ||
        log.find("The program being debugged exited") != std::string::npos ||
        log.find("No such process") != std::string::npos) {
        return fmt::format("process {} exited during the attach", pid);
    }
    if (log.find("ptrace: Operation not permitted") != std::string::npos) {
        return fmt::format(
            "ptrace of process {} was refused (another debugger or tracer holds "
            "it, it is not dumpable, or a seccomp filter or container forbids "
            "ptrace); nothing was changed in it",
            pid);
    }
    if (log.find("No symbol \"PyGILState_Ensure\"") != std::string::npos ||
        log.find("No symbol table is loaded") != std::string::npos) {
        return fmt::format(
            "process {}'s interpreter does not export PyGILState_Ensure (a "
            "static or stripped build): start the program under `leakhunt "
            "record -- python3 ...` instead",
            pid);
    }
    if (log.find("signaled while in a function called from GDB") != std::string::npos) {
        return fmt::format(
            "the call into process {} was interrupted and unwound (a signal, or "
            "the timeout); the process runs on unchanged",
            pid);
    }
    const size_t err = log.rfind("\n");
    std::string last = log.substr(0, err == std::string::npos ? log.size() : err);
    last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
    std::string clean;
    for (const char c : last.substr(0, 200)) clean += (c >= 0x20 && c < 0x7f) ? c : '?';
    return fmt::format("gdb could not run the bootstrap in process {}: {}", pid, clean);
}

}  // namespace

void attach_bootstrap(const AttachOptions& o) {
    if (proc::has_exited(o.pid))
        throw util::Error("cannot attach to process {}: it has exited", o.pid);
    (void)python_version_of(o.pid);
    const fs::path gdb = util::resolve_program("gdb");
    if (!gdb.has_parent_path() || ::access(gdb.c_str(), X_OK) != 0) {
        throw util::Error(
            "attaching to a running Python needs gdb, which is not installed "
            "(apt-get install gdb), or start the program under `leakhunt record "
            "-- python3 ...`");
    }
    check_ptrace(o.pid);
    std::string tmpl = "/tmp/leakhunt-gdb.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
        throw util::Error("cannot make a temporary directory under /tmp: {}",
                          util::errno_text(errno));
    }
    const fs::path work = tmpl;
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{work};
    util::write_file_atomic(work / "attach.gdb", gdb_script(o));
    const fs::path log_path = work / "gdb.log";
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (log < 0)
        throw util::Error("cannot write {}: {}", log_path.string(), util::errno_text(errno));
    const std::string pid_text = std::to_string(o.pid);
    const std::string script = (work / "attach.gdb").string();
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(log);
        throw util::Error("cannot start gdb: {}", util::errno_text(errno));
    }
    if (child == 0) {
        // Its own process group: a ^C at the terminal must not interrupt gdb mid-call.
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        const int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(log, 1);
        ::dup2(log, 2);
        ::execl(gdb.c_str(), "gdb", "-nx", "-batch", "-p", pid_text.c_str(), "-x", script.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(log);
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    bool interrupted = false;
    int status = 0;
    while (true) {
        const pid_t r = ::waitpid(child, &status, WNOHANG);
        if (r == child) break;
        const double waited = std::chrono::duration<double>(Clock::now() - start).count();
        if (!interrupted && waited > o.timeout_s) {
            // gdb unwinds the call on SIGINT (unwindonsignal) and detaches; killing it while
            // the target runs the injected call would leave the target to crash on return.
            ::kill(child, SIGINT);
            interrupted = true;
        } else if (interrupted && waited > o.timeout_s + 30) {
            throw util::Error(
                "gdb (pid {}) did not finish the attach to process {} within {:.0f} "
                "s and did not stop when interrupted; it was left running so that "
                "it can restore the process (check on it with ps)",
                child, o.pid, o.timeout_s + 30);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::string text = util::try_read_file(log_path).value_or("");
    if (interrupted) {
        throw util::Error(
            "attaching to process {} timed out after {:.0f} s: the injected call did not "
            "return (a thread holds the GIL in a long C call, the process is stopped, or "
            "gdb was slow to start on a loaded machine: try again); the call was unwound "
            "and the process runs on unchanged",
            o.pid, o.timeout_s);
    }
    if (text.find("leakhunt-rc 0") == std::string::npos) {
        if (text.find("leakhunt-rc -1") != std::string::npos) {
            throw util::Error(
                "the bootstrap raised an exception inside process {} (see its "
                "stderr); nothing is recorded",
                o.pid);
        }
        throw util::Error("cannot attach to process {}: {}", o.pid, why_from_log(text, o.pid));
    }
}

}  // namespace leakhunt::capture::python
