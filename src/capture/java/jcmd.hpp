// A running JVM reached through the JDK's own attach mechanism: `jcmd`, run as the JVM's user
// (the attach socket accepts only its own uid), with a timeout and a bound on what it may print.
// Before the first command that attaches, the JVM must catch SIGQUIT: jcmd asks a JVM to start
// its attach listener with that signal, which kills a process that does not handle it (a JVM
// still starting, one run with -Xrs, or no JVM at all). PerfCounter.print reads the JVM's
// hsperfdata file and does not attach. Not thread-safe; one object per target.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "capture/java/class_histogram.hpp"
#include "capture/java/perf_counters.hpp"
#include "proc/child_process.hpp"

namespace leakhunt::capture::java {

class Jvm {
  public:
    // The JVM of `pid`. Throws util::Error when the process is gone, maps no libjvm.so (not a
    // JVM: nothing is sent to it), or no jcmd is found beside its java or on PATH.
    explicit Jvm(pid_t pid);

    pid_t pid() const { return m_pid; }
    uid_t uid() const { return m_uid; }
    gid_t gid() const { return m_gid; }
    const std::filesystem::path& jcmd() const { return m_jcmd; }
    bool alive() const;

    // Waits until the JVM catches SIGQUIT and answers a command (VM.version), up to `limit`;
    // `keep_waiting` is asked between tries. Returns false when it said stop (a signal, the
    // program's exit). Throws util::Error saying why the JVM cannot be reached: attach disabled
    // (-XX:+DisableAttachMechanism), SIGQUIT not handled (-Xrs), gone, or no answer in time.
    bool wait_ready(std::chrono::milliseconds limit, const std::function<bool()>& keep_waiting);

    // GC.class_histogram (a full GC, then the live objects by class).
    ClassHistogram class_histogram();
    // PerfCounter.print; empty when the JVM exports none (-XX:-UsePerfData).
    PerfCounters perf_counters();
    // GC.heap_dump of the live objects into `dir`/`name`: written by the JVM under a temporary
    // name in a directory it can write, then renamed. `heap_used` (bytes, 0: unknown) is checked
    // against the free space first. Throws util::Error saying what to do when it fails.
    void heap_dump(const std::filesystem::path& dir, const std::string& name, double heap_used);

  private:
    // Runs jcmd PID ARGS as the JVM's user (the attach socket accepts only its own uid), stdout
    // and stderr together, in /; the JVM option variables (JAVA_TOOL_OPTIONS, _JAVA_OPTIONS,
    // JDK_JAVA_OPTIONS) are left out, so jcmd's own JVM starts plain.
    proc::RunResult tool(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                         size_t max_output) const;
    // The same; throws util::Error on failure, naming the command and why.
    std::string run(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                    size_t max_output);
    std::string failure(const std::string& command, const proc::RunResult& r) const;

    pid_t m_pid;
    uid_t m_uid = 0;
    gid_t m_gid = 0;
    std::filesystem::path m_jcmd;
};

// True if /proc/PID/status says the process catches `sig` (SigCgt).
bool catches_signal(pid_t pid, int sig);

}  // namespace leakhunt::capture::java
