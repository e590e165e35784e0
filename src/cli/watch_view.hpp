// The live terminal view of `watch` and `soak` and the sampling loop that drives it. On a TTY the
// table of targets (RSS, growth, verdict, sparkline) is redrawn in place; when piped, plain lines
// are printed on events and every few seconds; with --json only JSON lines reach stdout.
// Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cli/child_process.hpp"
#include "cli/watcher.hpp"

namespace leakhunt::cli {

enum class ViewMode { tty, lines, quiet };

class WatchView {
  public:
    explicit WatchView(ViewMode mode) : m_mode(mode) {}
    // Shows the notices and the current state after a tick.
    void update(Watcher& w, double now);
    // Leaves the table on screen (TTY) before final output.
    void close();

  private:
    std::string table(const Watcher& w, double now) const;

    ViewMode m_mode;
    size_t m_lines = 0;
    double m_last_lines_at = 0;
    std::map<std::string, trend::Verdict> m_shown;
};

struct LoopOptions {
    double interval_s = 1;
    std::optional<double> duration_s;  // from the start of the loop
    ChildProcess* command = nullptr;   // the watched command, if leakhunt started it
    // Called after each tick; returning false stops the loop (e.g. the soak's load died).
    std::function<bool(double now)> keep_going;
};

enum class LoopEnd { duration, targets_ended, interrupted, stopped };

// Samples every interval until the duration passes, every target has ended, one of the stop
// signals (SIGINT, SIGTERM, SIGHUP: stop_signals()) arrives, or keep_going says stop. Signals are
// blocked and waited for (sigtimedwait), so a ^C ends the loop cleanly between ticks and the
// outputs are complete.
LoopEnd run_watch_loop(Watcher& w, WatchView& view, const LoopOptions& options);

}  // namespace leakhunt::cli
