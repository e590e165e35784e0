// membarrier(2) behind the asymmetric fences of fence.hpp.
#include "agent/fence.hpp"

#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace leakhunt::agent {
namespace {

bool g_ready = false;  // set once at load, before any other thread runs a hot path

long membarrier(int cmd) {
    return ::syscall(SYS_membarrier, cmd, 0, 0);
}
bool under_seccomp() {
    return ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0;
}

// Registers for expedited private membarriers (per process: again in a forked child).
bool register_membarrier() {
    if (under_seccomp()) return false;
    const long cmds = membarrier(MEMBARRIER_CMD_QUERY);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 ||
        (cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
        return false;
    }
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

}  // namespace

void init_remote_fence() {
    g_ready = register_membarrier();
}

bool remote_fence_ready() {
    return g_ready;
}

bool remote_fence() {
    if (!g_ready || under_seccomp()) return false;
    // Cannot fail once registered; if it did, the global one needs no registration.
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
        membarrier(MEMBARRIER_CMD_GLOBAL) != 0) {
        return false;
    }
    return true;
}

void remote_fence_reset_in_child() {
    if (g_ready && !register_membarrier()) g_ready = false;
}

void remote_fence_fallback_sleep() {
    const timespec ms{0, 1000000};
    ::nanosleep(&ms, nullptr);
}

}  // namespace leakhunt::agent
