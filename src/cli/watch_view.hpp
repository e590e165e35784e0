// The live terminal view of `watch`, `soak` and `hunt` over the watch engine (src/watch). On a TTY
// the table of targets (RSS, growth, verdict, sparkline) is redrawn in place; when piped, plain
// lines are printed on events and every few seconds; with --json only JSON lines reach stdout.
// Not thread-safe.
#pragma once

#include <map>
#include <string>

#include "watch/watch_loop.hpp"
#include "watch/watcher.hpp"

namespace leakhunt::cli {

enum class ViewMode { tty, lines, quiet };

class WatchView {
  public:
    explicit WatchView(ViewMode mode) : m_mode(mode) {}
    // Shows the notices and the current state after a tick.
    void update(watch::Watcher& w, double now);
    // Leaves the table on screen (TTY) before final output.
    void close();

  private:
    std::string table(const watch::Watcher& w, double now) const;

    ViewMode m_mode;
    size_t m_lines = 0;
    double m_last_lines_at = 0;
    std::map<std::string, trend::Verdict> m_shown;
};

// watch::run_loop with this view shown after every tick (and left on screen at the end), ended
// by the stop signals of every command (stop_signals()).
watch::LoopEnd run_watch_loop(watch::Watcher& w, WatchView& view, watch::LoopOptions options);

}  // namespace leakhunt::cli
