// Starting, polling and stopping child processes in their own process groups.
#include "cli/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "proc/process_list.hpp"
#include "util/error.hpp"

extern char** environ;

namespace leakhunt::cli {
namespace {

pid_t fork_exec(const std::vector<std::string>& argv, const std::string& description,
                bool stdout_to_stderr = false, bool own_group = true,
                const std::vector<std::string>& extra_env = {}, int stdout_fd = -1) {
    if (argv.empty()) throw util::Error("no command given");
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    // The environment is built before fork: the child may only exec.
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    for (const auto& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
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
        // Child: own process group, default signal state, then exec. Only async-signal-safe calls.
        if (own_group) ::setpgid(0, 0);
        // If leakhunt is killed outright (SIGKILL, the OOM killer), its program goes too, as
        // stop() would have done: a leaking program left running fills the machine. The signal
        // comes when the forking thread ends, and every caller forks from the main thread.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(127);  // it died before the line above
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::signal(SIGINT, SIG_DFL);
        ::signal(SIGTERM, SIG_DFL);
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

}  // namespace

std::string run_for_output(const std::string& command, double timeout_s, size_t max_bytes) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        throw util::Error("cannot run '{}': {}", command, util::errno_text(errno));
    }
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int e = errno;
        ::close(out[0]);
        ::close(out[1]);
        if (null_fd >= 0) ::close(null_fd);
        throw util::Error("cannot run '{}': {}", command, util::errno_text(e));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::dup2(out[1], 1);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(out[1]);
    if (null_fd >= 0) ::close(null_fd);
    std::string text;
    std::string failure;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            failure = fmt::format("ran longer than {:g} s", timeout_s);
            break;
        }
        pollfd p{out[0], POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        const ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (text.size() + static_cast<size_t>(n) > max_bytes) {
            failure = fmt::format("printed more than {} bytes", max_bytes);
            break;
        }
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    // It may close its stdout and go on: it still gets only the time left.
    while (failure.empty()) {
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            failure = fmt::format("ran longer than {:g} s", timeout_s);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!failure.empty()) {
        ::kill(-pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (!failure.empty()) throw util::Error("the command '{}' {}", command, failure);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw util::Error("the command '{}' {}", command, describe_wait_status(status));
    }
    return text;
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

}  // namespace leakhunt::cli
