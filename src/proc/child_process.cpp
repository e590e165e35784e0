// Starting, polling and stopping child processes in their own process groups, and bounded runs.
#include "proc/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <thread>

#include <fmt/format.h>

#include "proc/process_list.hpp"
#include "util/error.hpp"

extern char** environ;

namespace leakhunt::proc {
namespace {

using Clock = std::chrono::steady_clock;

// argv for exec, pointing into `argv` (built before fork: the child may only exec).
std::vector<char*> exec_argv(const std::vector<std::string>& argv) {
    std::vector<char*> out;
    for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

// Our environment without the variables named in `drop`, then `extra` ("NAME=value").
std::vector<char*> exec_environment(const std::vector<std::string>& extra,
                                    const std::vector<std::string_view>& drop) {
    std::vector<char*> out;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry = *e;
        const std::string_view name = entry.substr(0, entry.find('='));
        bool dropped = false;
        for (std::string_view d : drop) dropped = dropped || name == d;
        if (!dropped) out.push_back(*e);
    }
    for (const auto& e : extra) out.push_back(const_cast<char*>(e.c_str()));
    out.push_back(nullptr);
    return out;
}

// In the child, right after fork (async-signal-safe calls only): its own process group when
// asked, `death_signal` when leakhunt dies, no blocked signals, and `defaults` at their default
// action. If leakhunt is killed outright (SIGKILL, the OOM killer), its children go too, as
// stopping them would have done: a leaking program left running fills the machine. The signal
// comes when the forking thread ends, and every caller forks from the main thread.
void prepare_child(pid_t parent, bool own_group, int death_signal,
                   std::initializer_list<int> defaults) {
    if (own_group) ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, death_signal);
    if (::getppid() != parent) ::_exit(127);  // it died before the line above
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : defaults) ::signal(sig, SIG_DFL);
}

pid_t fork_exec(const std::vector<std::string>& argv, const std::string& description,
                bool stdout_to_stderr = false, bool own_group = true,
                const std::vector<std::string>& extra_env = {}, int stdout_fd = -1) {
    if (argv.empty()) throw util::Error("no command given");
    std::vector<char*> cargv = exec_argv(argv);
    std::vector<char*> envp = exec_environment(extra_env, {});
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) {
        throw util::Error("cannot start {}: {}", description, util::errno_text(errno));
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        ::close(pipefd[0]);
        ::close(pipefd[1]);
        throw util::Error("cannot start {}: {}", description, util::errno_text(e));
    }
    if (pid == 0) {
        prepare_child(parent, own_group, SIGTERM, {SIGPIPE, SIGINT, SIGTERM});
        if (stdout_to_stderr) ::dup2(2, 1);
        if (stdout_fd >= 0) ::dup2(stdout_fd, 1);
        ::execvpe(cargv[0], cargv.data(), envp.data());
        int e = errno;
        ssize_t ignored = ::write(pipefd[1], &e, sizeof e);
        (void)ignored;
        ::_exit(127);
    }
    if (own_group) ::setpgid(pid, pid);  // also from the parent, so the group exists at once
    ::close(pipefd[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(pipefd[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(pipefd[0]);
    if (n == sizeof child_errno) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        throw util::Error("cannot start {}: {} (check the program name and PATH)", description,
                          util::errno_text(child_errno));
    }
    return pid;
}

// Reads the child's output from `fd` into `r` until it closes it, the deadline passes (timed_out)
// or it prints more than `max_output` (cut: the output keeps the first `max_output` bytes).
void read_output(int fd, Clock::time_point deadline, size_t max_output, RunResult& r) {
    using std::chrono::milliseconds;
    char buf[65536];
    for (;;) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left <= milliseconds(0)) {
            r.timed_out = true;
            return;
        }
        pollfd p{fd, POLLIN, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (n < 0 && errno != EINTR) return;
        if (n <= 0) continue;
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return;  // EOF: the command closed its output
        if (r.output.size() + static_cast<size_t>(got) > max_output) {
            r.output.append(buf, max_output - r.output.size());
            r.cut = true;
            return;
        }
        r.output.append(buf, static_cast<size_t>(got));
    }
}

}  // namespace

bool RunResult::ok() const {
    return !timed_out && !cut && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

RunResult run_bounded(const BoundedRun& run) {
    if (run.argv.empty()) throw util::Error("internal: run_bounded without a program");
    const std::string& program = run.argv.front();
    std::vector<char*> cargv = exec_argv(run.argv);
    std::vector<char*> envp = exec_environment({}, run.drop_env);
    const bool switch_ids = run.user && ::geteuid() == 0 &&
                            (run.user->uid != ::geteuid() || run.user->gid != ::getegid());
    const uid_t uid = run.user ? run.user->uid : 0;
    const gid_t gid = run.user ? run.user->gid : 0;
    const char* dir = run.working_dir.empty() ? nullptr : run.working_dir.c_str();
    const bool merge = run.err == BoundedRun::Stderr::merge;
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        throw util::Error("cannot run {}: {}", program, util::errno_text(errno));
    }
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(out[0]);
        ::close(out[1]);
        throw util::Error("cannot run {}: {}", program, util::errno_text(e));
    }
    if (pid == 0) {
        prepare_child(parent, true, SIGKILL, {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT});
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) ::dup2(null, 0);
        ::dup2(out[1], 1);
        if (merge) ::dup2(out[1], 2);
        if (dir != nullptr && ::chdir(dir) != 0) ::_exit(126);
        if (switch_ids) {
            // E.g. a JVM's attach listener and jcmd both insist on the same user: become it.
            if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
                ::setresuid(uid, uid, uid) != 0) {
                static const char k_msg[] = "cannot switch to the process's user\n";
                ssize_t ignored = ::write(2, k_msg, sizeof k_msg - 1);
                (void)ignored;
                ::_exit(126);
            }
        }
        ::execve(cargv[0], cargv.data(), envp.data());
        static const char k_msg[] = "cannot execute the program\n";
        ssize_t ignored = ::write(2, k_msg, sizeof k_msg - 1);
        (void)ignored;
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(out[1]);
    RunResult r;
    const auto deadline = Clock::now() + run.timeout;
    read_output(out[0], deadline, run.max_output, r);
    ::close(out[0]);
    // It may close its output and go on: it still gets only the time left.
    while (!r.timed_out && !r.cut) {
        const pid_t w = ::waitpid(pid, &r.status, WNOHANG);
        if (w == pid) return r;
        if (w < 0 && errno != EINTR) break;
        if (Clock::now() >= deadline) {
            r.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (r.timed_out || r.cut) ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &r.status, 0) < 0 && errno == EINTR) {
    }
    return r;
}

std::string run_for_output(const std::string& command, double timeout_s, size_t max_bytes) {
    BoundedRun run;
    run.argv = {"/bin/sh", "-c", command};
    run.timeout = std::chrono::milliseconds(std::llround(timeout_s * 1000));
    run.max_output = max_bytes;
    const RunResult r = run_bounded(run);
    if (r.timed_out)
        throw util::Error("the command '{}' ran longer than {:g} s", command, timeout_s);
    if (r.cut) throw util::Error("the command '{}' printed more than {} bytes", command, max_bytes);
    if (!r.ok()) {
        throw util::Error("the command '{}' {}", command, describe_wait_status(r.status));
    }
    return r.output;
}

void forward_signal(pid_t child, int sig) {
    ::kill(child, sig);
    for (pid_t p : proc::descendants(proc::list_processes(), child)) ::kill(p, sig);
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char* name = sigabbrev_np(sig);
        return fmt::format("killed by signal {} (SIG{})", sig, name != nullptr ? name : "?");
    }
    return "ended";
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, Stdout out, Group group) {
    ChildProcess c;
    c.m_description = argv.empty() ? "" : argv.front();
    c.m_own_group = group == Group::own;
    c.m_pid = fork_exec(argv, c.m_description, out == Stdout::to_stderr, c.m_own_group);
    return c;
}

ChildProcess ChildProcess::spawn_shell(const std::string& command,
                                       const std::vector<std::string>& extra_env,
                                       const std::string& stdout_path) {
    ChildProcess c;
    c.m_description = "'" + command + "'";
    int fd = -1;
    if (!stdout_path.empty()) {
        fd = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    0644);
        if (fd < 0) {
            throw util::Error("cannot write {}: {}", stdout_path, util::errno_text(errno));
        }
    }
    try {
        c.m_pid =
            fork_exec({"/bin/sh", "-c", command}, c.m_description, false, true, extra_env, fd);
    } catch (...) {
        if (fd >= 0) ::close(fd);
        throw;
    }
    if (fd >= 0) ::close(fd);
    return c;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : m_pid(other.m_pid),
      m_status(other.m_status),
      m_description(std::move(other.m_description)),
      m_own_group(other.m_own_group) {
    other.m_pid = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        if (m_pid > 0 && !m_status) stop(1.0);
        m_pid = other.m_pid;
        m_status = other.m_status;
        m_description = std::move(other.m_description);
        m_own_group = other.m_own_group;
        other.m_pid = -1;
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    if (m_pid > 0 && !m_status) stop(2.0);
}

bool ChildProcess::running() {
    if (m_pid <= 0 || m_status) return false;
    int status = 0;
    pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r == m_pid) {
        m_status = status;
        return false;
    }
    return true;
}

std::string ChildProcess::exit_text() const {
    return m_status ? describe_wait_status(*m_status) : std::string("still running");
}

void ChildProcess::wait() {
    if (m_pid <= 0 || m_status) return;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(m_pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r == m_pid) m_status = status;
}

bool ChildProcess::wait_for(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

void ChildProcess::stop(double grace_s) {
    if (m_pid <= 0) return;
    if (!running()) {
        if (m_own_group) ::kill(-m_pid, SIGTERM);  // the group may outlive its leader
        return;
    }
    if (m_own_group) ::kill(-m_pid, SIGTERM);
    ::kill(m_pid, SIGTERM);
    if (wait_for(grace_s)) {
        if (m_own_group) ::kill(-m_pid, SIGKILL);  // leftovers in the group
        return;
    }
    if (m_own_group) ::kill(-m_pid, SIGKILL);
    ::kill(m_pid, SIGKILL);
    int status = 0;
    if (::waitpid(m_pid, &status, 0) == m_pid) m_status = status;
}

}  // namespace leakhunt::proc
