// Child processes that leakhunt starts: the program under watch (`watch -- CMD`, `soak -- CMD`)
// and load generators (`soak --load 'CMD'`). Each runs in its own process group so that stopping
// it also stops what it started (a shell's children, wrk's threads), and gets SIGTERM if leakhunt
// dies without stopping it (PR_SET_PDEATHSIG; a shell's own children are not covered). Not
// thread-safe; start children from the main thread (the death signal follows the forking thread).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace leakhunt::cli {

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

// Runs `/bin/sh -c command` with stdin from /dev/null and returns what it printed on stdout (its
// stderr is ours). Throws util::Error naming the command when it cannot start, prints more than
// `max_bytes`, runs longer than `timeout_s` (it and what it started are killed), or does not
// exit with 0.
std::string run_for_output(const std::string& command, double timeout_s, size_t max_bytes);

// "exited with code 1" / "killed by signal 9 (SIGKILL)" for a wait status.
std::string describe_wait_status(int status);

}  // namespace leakhunt::cli
