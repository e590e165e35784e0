// The agent's life cycle: at load, read the configuration, keep or drop itself from LD_PRELOAD
// for programs that will be exec'd, start the writer; around fork, hold every lock so the child
// inherits none held by a thread that does not exist there, and give the child its own writer
// and output files; at exit, stop the writer and write the final snapshot. On an internal failure
// the agent disables itself with one line on stderr and never takes the program down.
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "agent/config.hpp"
#include "agent/fence.hpp"
#include "agent/guard.hpp"
#include "agent/recorder.hpp"
#include "agent/unwind.hpp"
#include "agent/writer.hpp"

extern char** environ;

namespace leakhunt::agent {
namespace {

void say(const char* text) {
    char line[600];
    const int n = std::snprintf(line, sizeof line, "leakhunt agent (pid %d): %s\n", ::getpid(), text);
    ssize_t ignored = ::write(2, line, static_cast<std::size_t>(n));
    (void)ignored;
}

// Removes this library from LD_PRELOAD in our own environment (in place, no allocation), so that
// programs we exec run without the agent unless LEAKHUNT_FOLLOW_CHILDREN=1.
void drop_from_ld_preload() {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) continue;
        char* list = *e + 11;
        char* out = list;
        char* p = list;
        while (*p != '\0') {
            while (*p == ' ' || *p == ':') ++p;
            char* start = p;
            while (*p != '\0' && *p != ' ' && *p != ':') ++p;
            const std::size_t len = static_cast<std::size_t>(p - start);
            if (len == 0) break;
            const bool ours = std::strstr(start, "libleakhunt_agent") != nullptr &&
                              static_cast<std::size_t>(std::strstr(start, "libleakhunt_agent") - start) < len;
            if (!ours) {
                if (out != list) *out++ = ':';
                std::memmove(out, start, len);
                out += len;
            }
        }
        *out = '\0';
    }
}

// fork() from a signal handler that interrupted the agent on this thread (the agent itself never
// forks): this thread may hold the agent's locks, so taking them all would deadlock. The fork
// then goes ahead without them, the parent carries on where it was interrupted, and the child,
// whose copy of the agent's tables may be mid-update, runs without recording (quietly: its
// output is the program's).
thread_local bool t_fork_inside_agent __attribute__((tls_model("initial-exec"))) = false;

void before_fork() {
    if (t_in_agent) {
        t_fork_inside_agent = true;
        return;
    }
    t_in_agent = true;  // nothing this thread does until the fork returns is recorded
    unwind_gate_lock();
    stacks().lock_all();
    live().lock_all();
}

void after_fork_parent() {
    if (t_fork_inside_agent) {
        t_fork_inside_agent = false;
        return;
    }
    live().unlock_all();
    stacks().unlock_all();
    unwind_gate_unlock();
    t_in_agent = false;
}

void after_fork_child() {
    if (t_fork_inside_agent) {
        t_fork_inside_agent = false;
        g_active = false;  // the hooks pass every call straight through from now on
        return;
    }
    live().reset_in_child();
    stacks().unlock_all();
    unwind_gate_reset_in_child();
    live().set_biased(remote_fence_ready());
    t_in_agent = false;
    if (g_active) writer_after_fork_child();
}

__attribute__((constructor(101))) void agent_init() {
    RecursionGuard guard;
    read_config(g_config);
    if (!g_config.follow_children) drop_from_ld_preload();
    if (!g_config.enabled()) return;
    init_unwind();
    live().set_full(g_config.full());
    live().set_biased(remote_fence_ready());
    if (pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0) {
        say("cannot register fork handlers; the agent is disabled");
        return;
    }
    start_writer();
    g_active = true;
}

__attribute__((destructor(101))) void agent_fini() {
    if (!g_active) return;
    // The heap scan's root on this thread's stack starts here: the frames below (ours) and the
    // dead stack they reuse may still hold addresses of blocks the program has leaked.
    const auto root_sp = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
    RecursionGuard guard;
    stop_writer();
    char msg[4300];
    const SnapshotScan scan = g_config.leak_check ? SnapshotScan::yes : SnapshotScan::no;
    if (!write_snapshot("exit", msg, sizeof msg, scan, root_sp)) say(msg);
    else if (const char* err = std::strstr(msg, " scan-error="); err != nullptr) say(err + 1);
    report_unwind_check();
    // Hooks keep working for later destructors; only the writing is over.
}

}  // namespace
}  // namespace leakhunt::agent
