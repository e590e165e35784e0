// A Go goroutine profile (net/http/pprof's /debug/pprof/goroutine?debug=0: one sample per
// distinct stack, sample type goroutine/count) grouped the way a person reads it: the runtime's
// and the standard library's blocking plumbing at the top of a stack (runtime.gopark,
// runtime.chanrecv, sync.runtime_Semacquire, internal/poll, net, syscall, time.Sleep) is folded
// into the state it means ("chan receive", "select", "IO wait", "sleep", "sync.Mutex.Lock",
// "syscall", "running"), and the group is named by the first frame below it: the goroutine's own
// function. The debug=0 form carries no wait reason (only debug=2's text does, and only as
// text), so the state is read from those frames. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace leakhunt::profile {

struct GoroutineGroup {
    // The group's identity across snapshots: the state, then every frame from `function` to the
    // root (runtime.goexit left out), one per line.
    std::string key;
    std::string state;     // see goroutine_state
    std::string function;  // the first frame below the folded plumbing (the root when all is)
    std::string file;      // of that frame's line; empty when unknown
    int64_t line = 0;      // 0 when unknown
    int64_t count = 0;     // goroutines with this stack
};

// True when `p` has the sample type "goroutine" (a goroutine profile).
bool is_goroutine_profile(const Profile& p);

// The goroutines in `p`: the sum of its goroutine counts. Throws util::Error naming `where` when
// `p` is not a goroutine profile.
int64_t goroutine_count(const Profile& p, std::string_view where);

// True for a frame of the plumbing folded into a state: packages runtime, runtime/internal/*,
// internal/*, syscall, sync, net and os, and time.Sleep.
bool is_blocking_plumbing(std::string_view function);

// The state that the folded frames `plumbing` (leaf first) mean; the outermost frame that says
// one wins (sync.(*WaitGroup).Wait over the sync.runtime_Semacquire it calls):
//   runtime.chanrecv* -> "chan receive", runtime.chansend* -> "chan send",
//   runtime.selectgo -> "select", runtime.block -> "select (no cases)",
//   runtime.netpollblock, internal/poll.runtime_pollWait -> "IO wait",
//   time.Sleep, runtime.timeSleep -> "sleep", sync.runtime_Semacquire* -> "semacquire",
//   sync.(*Mutex).Lock/lockSlow -> "sync.Mutex.Lock", sync.(*RWMutex).Lock -> "sync.RWMutex.Lock",
//   sync.(*RWMutex).RLock -> "sync.RWMutex.RLock", sync.(*WaitGroup).Wait -> "sync.WaitGroup.Wait",
//   sync.runtime_notifyListWait, sync.(*Cond).Wait -> "sync.Cond.Wait",
//   syscall.Syscall*, syscall.RawSyscall*, runtime.cgocall, runtime/internal/syscall.* ->
//   "syscall", runtime.goroutineProfileWithLabels -> "running" (the goroutine writing the profile);
// else "waiting" when runtime.gopark is among them, else "running".
std::string goroutine_state(std::span<const std::string_view> plumbing);

// The groups of `p`, by count descending then key. Throws util::Error naming `where` when `p`
// is not a goroutine profile.
std::vector<GoroutineGroup> group_goroutines(const Profile& p, std::string_view where);

}  // namespace leakhunt::profile
