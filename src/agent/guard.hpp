// The recursion guard: a thread-local flag (initial-exec TLS: no allocation, no lock on first
// use) that is set while the agent does its own work. Allocations made meanwhile (by libunwind,
// by the writer thread, by a signal handler that interrupts the agent) go straight to the
// original allocator, untracked. It saves and restores the previous value, so guards nest.
#pragma once

namespace leakhunt::agent {

extern thread_local bool t_in_agent __attribute__((tls_model("initial-exec")));

class RecursionGuard {
public:
    RecursionGuard() : m_prev(t_in_agent) { t_in_agent = true; }
    ~RecursionGuard() { t_in_agent = m_prev; }
    RecursionGuard(const RecursionGuard&) = delete;
    RecursionGuard& operator=(const RecursionGuard&) = delete;
    // True if the agent was already active on this thread: the caller must not record.
    bool nested() const { return m_prev; }

private:
    bool m_prev;
};

}  // namespace leakhunt::agent
