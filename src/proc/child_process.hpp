// Child processes that leakhunt starts: the program under watch (`watch -- CMD`, `soak -- CMD`),
// load generators (`soak --load 'CMD'`), `--on-leak` commands, and tools run to completion with
// bounds on their time and output (a work counter, jcmd). Each runs in its own process group so
// that stopping it also stops what it started (a shell's children, wrk's threads), and gets a
// signal if leakhunt dies without stopping it (PR_SET_PDEATHSIG; a shell's own children are not
// covered). Not thread-safe; start children from the main thread (the death signal follows the
// forking thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leakhunt::proc {

class ChildProcess {
  public:
    // Starts argv[0] (searched in PATH) with its arguments. Throws util::Error if it cannot be
    // started (the message names the program and the reason).
    // Where the child's stdout goes: inherited, or to our stderr (when our stdout carries JSON).
    enum class Stdout { inherit, to_stderr };
    // Process group: its own (so stopping it stops what it started), or ours (an interactive
    // program under `record` keeps the terminal and gets ^C as it would without us).
    enum class Group { own, same };
    static ChildProcess spawn(const std::vector<std::string>& argv, Stdout out = Stdout::inherit,
                              Group group = Group::own);
    // Starts `/bin/sh -c command`, with `extra_env` ("NAME=value") added to our environment.
    // With `stdout_path`, its stdout goes to that file (created or truncated).
    static ChildProcess spawn_shell(const std::string& command,
                                    const std::vector<std::string>& extra_env = {},
                                    const std::string& stdout_path = {});

    ChildProcess() = default;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();  // stops the child if still running

    pid_t pid() const { return m_pid; }
    const std::string& description() const { return m_description; }
    // Reaps the child if it has exited; true while it runs.
    bool running();
    // The wait status once exited.
    std::optional<int> wait_status() const { return m_status; }
    // "exited with code 1", "killed by signal 9 (SIGKILL)".
    std::string exit_text() const;
    // Waits until the child exits and reaps it.
    void wait();
    // Waits at most `seconds` for the child to exit (reaping it); true if it has.
    bool wait_for(double seconds);
    // SIGTERM to the process group, then SIGKILL after `grace_s`; reaps.
    void stop(double grace_s = 5.0);

  private:
    pid_t m_pid = -1;
    std::optional<int> m_status;
    std::string m_description;
    bool m_own_group = true;
};

// `sig` to the program and everything it started (parents first), as a ^C from the terminal
// reaches the whole foreground process group.
void forward_signal(pid_t child, int sig);

// A command run to completion, bounded in time and in output.
struct BoundedRun {
    std::vector<std::string> argv;  // argv[0] a path (PATH is not searched)
    std::chrono::milliseconds timeout{0};
    size_t max_output = 0;  // bytes read from the command at most
    // Its stderr: ours, or into the same pipe as its stdout (interleaved, as a terminal shows it).
    enum class Stderr { inherit, merge };
    Stderr err = Stderr::inherit;
    // Run as this user and group (when we are root and they are not ours).
    struct User {
        uid_t uid = 0;
        gid_t gid = 0;
    };
    std::optional<User> user;
    std::filesystem::path working_dir;       // empty: ours
    std::vector<std::string_view> drop_env;  // variables left out of its environment
};

// What a bounded run returned.
struct RunResult {
    int status = 0;          // wait status
    bool timed_out = false;  // killed after the timeout
    bool cut = false;        // killed because it printed more than the bound
    std::string output;      // what it printed, at most the bound
    bool ok() const;         // exited 0, in time, whole
};

// Runs `run.argv` with stdin from /dev/null and its output into a pipe, in its own process group;
// the group is killed at the timeout (also when the command closed its output and goes on) or
// past `max_output` bytes. Throws util::Error naming the program when it cannot start.
RunResult run_bounded(const BoundedRun& run);

// Runs `/bin/sh -c command` (run_bounded, stderr ours) and returns what it printed on stdout.
// Throws util::Error naming the command when it cannot start, prints more than `max_bytes`, runs
// longer than `timeout_s` (it and what it started are killed), or does not exit with 0.
std::string run_for_output(const std::string& command, double timeout_s, size_t max_bytes);

// "exited with code 1" / "killed by signal 9 (SIGKILL)" for a wait status.
std::string describe_wait_status(int status);

}  // namespace leakhunt::proc
