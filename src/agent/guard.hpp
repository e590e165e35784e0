// The recursion guard: a thread-local flag (initial-exec TLS: no allocation, no lock on first
// use) that is set while the agent does its own work. Allocations made meanwhile (by libunwind,
// by the writer thread, by a signal handler that interrupts the agent) go straight to the
// original allocator, untracked. It saves and restores the previous value, so guards nest.
#pragma once

namespace leakhunt::agent {

extern thread_local bool t_in_agent __attribute__((tls_model("initial-exec")));
// A fatal signal that arrived while this thread was inside the agent (agent.cpp): it is raised
// again as soon as the thread leaves the agent, where the exit snapshot can be written safely.
extern thread_local int t_pending_signal __attribute__((tls_model("initial-exec")));
void raise_pending_signal();

// Call right after clearing t_in_agent by hand (the guard below does it itself).
inline void left_agent() {
    if (t_pending_signal != 0) [[unlikely]]
        raise_pending_signal();
}

class RecursionGuard {
  public:
    RecursionGuard() : m_prev(t_in_agent) { t_in_agent = true; }
    ~RecursionGuard() {
        t_in_agent = m_prev;
        if (!m_prev) left_agent();
    }
    RecursionGuard(const RecursionGuard&) = delete;
    RecursionGuard& operator=(const RecursionGuard&) = delete;
    // True if the agent was already active on this thread: the caller must not record.
    bool nested() const { return m_prev; }

  private:
    bool m_prev;
};

}  // namespace leakhunt::agent
