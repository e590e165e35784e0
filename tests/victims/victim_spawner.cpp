// victim_spawner: a tiny supervisor, for following restarts with `leakhunt watch --name`. It
// fork/execs the command given after `--`, and whenever the child dies it starts it again after
// --restart-delay seconds (up to --max-restarts, 0 = no limit). The child's stdout goes to the
// spawner's stderr, so the spawner's own stdout carries exactly one "ready". SIGTERM/SIGINT stop
// the child and then the spawner. Signals are blocked and taken with sigtimedwait(2), so there
// is no handler and no race between a child's death and the wait.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "victim_support.hpp"

namespace {

pid_t spawn(const std::vector<std::string>& command, const sigset_t& original_mask) {
    std::vector<char*> argv;
    for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const pid_t child = fork();
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &original_mask, nullptr);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], argv.data());
        std::fprintf(stderr, "victim_spawner: cannot run %s: %s\n", argv[0], std::strerror(errno));
        _exit(127);
    }
    return child;
}

// Waits up to `seconds` for one of the blocked signals; returns it, or 0 on timeout.
int wait_signal(const sigset_t& signals, double seconds) {
    const double whole = std::floor(seconds);
    timespec timeout{static_cast<time_t>(whole), static_cast<long>((seconds - whole) * 1e9)};
    const int received = sigtimedwait(&signals, nullptr, &timeout);
    return received < 0 ? 0 : received;
}

void stop_child(pid_t child) {
    if (child <= 0) return;
    kill(child, SIGTERM);
    int status = 0;
    waitpid(child, &status, 0);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_spawner [--restart-delay S=1] [--max-restarts N=0 (no limit)] "
                "[--seconds N=0 (forever)] -- CMD ARGS");
    const double restart_delay = flags.number("restart-delay", 1);
    const std::uint64_t max_restarts = flags.count("max-restarts", 0);
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();
    if (flags.rest().empty()) {
        std::fprintf(stderr, "error: no command after --\n");
        return 2;
    }

    sigset_t signals;
    sigset_t original_mask;
    sigemptyset(&signals);
    sigaddset(&signals, SIGCHLD);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, &original_mask);

    TickClock clock(seconds, std::chrono::milliseconds(0));
    pid_t child = spawn(flags.rest(), original_mask);
    std::uint64_t restarts = 0;
    announce_ready();
    for (;;) {
        const double left = seconds > 0 ? seconds - clock.elapsed_seconds() : 3600;
        if (left <= 0) break;
        const int received = wait_signal(signals, left < 1 ? left : 1);
        if (received == SIGTERM || received == SIGINT) break;
        if (received != SIGCHLD) continue;
        int status = 0;
        if (waitpid(child, &status, WNOHANG) != child) continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            std::fprintf(stderr, "victim_spawner: child could not be started; giving up\n");
            return 1;
        }
        std::fprintf(stderr, "victim_spawner: child %d ended (%s %d)\n", static_cast<int>(child),
                     WIFEXITED(status) ? "exit" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        child = 0;
        if (max_restarts != 0 && restarts >= max_restarts) return 0;
        const int during_delay = wait_signal(signals, restart_delay);
        if (during_delay == SIGTERM || during_delay == SIGINT) return 0;
        child = spawn(flags.rest(), original_mask);
        ++restarts;
        std::fprintf(stderr, "victim_spawner: restarted as %d (restart %llu)\n",
                     static_cast<int>(child), static_cast<unsigned long long>(restarts));
    }
    stop_child(child);
    return 0;
}
