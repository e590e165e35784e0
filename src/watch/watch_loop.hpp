// The sampling loop of `watch`, `soak` and `hunt`: a Watcher ticked every interval until the
// duration passes, every target has ended, a stop signal arrives or the caller says stop. Prints
// nothing itself; the caller shows each tick (on_tick). Not thread-safe.
#pragma once

#include <signal.h>

#include <functional>
#include <optional>

#include "proc/child_process.hpp"
#include "watch/watcher.hpp"

namespace leakhunt::watch {

struct LoopOptions {
    double interval_s = 1;
    std::optional<double> duration_s;       // from the start of the loop
    proc::ChildProcess* command = nullptr;  // the watched command, if leakhunt started it
    // The signals that end the loop: blocked while it runs and waited for between ticks.
    sigset_t stop_signals{};
    // Called after each tick and the command's check, with the tick's time (the live view).
    std::function<void(double now)> on_tick;
    // Called after each tick; returning false stops the loop (e.g. the soak's load died).
    std::function<bool(double now)> keep_going;
};

enum class LoopEnd { duration, targets_ended, interrupted, stopped };

// Samples every interval until the duration passes, every target has ended, one of
// `stop_signals` arrives, or keep_going says stop. The signals are blocked and waited for
// (sigtimedwait), so a ^C ends the loop cleanly between ticks and the outputs are complete.
LoopEnd run_loop(Watcher& w, const LoopOptions& options);

}  // namespace leakhunt::watch
