// Asymmetric fences: a hot path that orders its store before a later load with a compiler
// barrier only, and a rare slow path that makes every running thread of the process execute a
// full fence (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), as liburcu does). Together they give
// the store-load ordering of Dekker's protocol without a locked instruction on the hot path.
// Used by the unwind gate (fork) and the live table's owner-biased shard locks.
#pragma once

namespace leakhunt::agent {

// Registers for expedited membarriers (call once at load, before other threads use a hot path).
// Not under a seccomp filter: membarrier may be a killing system call there.
void init_remote_fence();
// True if hot paths may rely on remote_fence() (fixed at load; false in a child that could not
// register again).
bool remote_fence_ready();
// Makes every thread of the process that runs a hot path pass a full fence. True if that
// happened. False if a seccomp filter was installed since load, so membarrier is not called:
// the caller must then wait out a hot path racing with it twice, a millisecond apart, as
// remote_fence_then_wait does (its store
// leaves the store buffer long before that: a practical bound, not a formal fence).
bool remote_fence();
// After fork(), in the child (a new mm): registers again; on failure remote_fence_ready() turns
// false for good, and hot paths go back to locked instructions.
void remote_fence_reset_in_child();
// The millisecond of remote_fence()'s fallback.
void remote_fence_fallback_sleep();

// The slow side of the protocol, after the caller has raised its flag: every hot path that
// entered with a plain store either sees the flag or has its store visible, then `wait()` spins
// until those hot paths have left. Without a formal fence (remote_fence() false), `wait()` runs
// twice, a millisecond apart. Without plain-store hot paths at all (not ready), once.
template <typename Wait>
void remote_fence_then_wait(Wait&& wait) {
    const bool fenced = !remote_fence_ready() || remote_fence();
    wait();
    if (!fenced) {
        remote_fence_fallback_sleep();
        wait();
    }
}

}  // namespace leakhunt::agent
