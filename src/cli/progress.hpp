// A progress bar for work that takes more than a moment (scanning a fleet, symbolizing, reading
// big files): drawn on stderr only when stderr is a terminal, redrawn in place at most every
// 100 ms, shown only once the work has lasted half a second (quick runs print nothing), and
// cleared at the end so the output that follows starts on a clean line. Layers below cli take
// the plain callback() (done, total) and stay free of terminal code. Not thread-safe: update it
// from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace leakhunt::cli {

class Progress {
  public:
    using Clock = std::chrono::steady_clock;
    using Sink = std::function<void(std::string_view)>;
    using Now = std::function<Clock::time_point()>;
    enum class Unit { items, bytes };

    struct Config {
        std::chrono::milliseconds delay{500};     // nothing is drawn before this
        std::chrono::milliseconds interval{100};  // at most one redraw per interval
        int width = 80;                           // columns of the whole line
    };

    // On stderr if it is a terminal (and TERM is not "dumb"), else silent.
    static Progress on_stderr(std::string label, uint64_t total, Unit unit = Unit::items);

    // Draws through `sink` (silent if empty), reading time from `now`.
    Progress(std::string label, uint64_t total, Unit unit, Sink sink, Now now, Config config);
    Progress(Progress&&) = default;
    Progress& operator=(Progress&&) = default;
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;
    ~Progress();

    void set_label(std::string label);
    void set_total(uint64_t total);  // 0: unknown
    void update(uint64_t done);      // absolute
    void advance(uint64_t n = 1);
    // Clears the line if anything was drawn; later updates draw nothing.
    void finish();
    // update() and set_total() as one callback, for lower layers (valid while this lives).
    std::function<void(uint64_t done, uint64_t total)> callback();

    // The line for the current state (without "\r" and the clear-to-end sequence).
    std::string line() const;

  private:
    void maybe_draw();

    std::string m_label;
    uint64_t m_total = 0;
    uint64_t m_done = 0;
    Unit m_unit = Unit::items;
    Sink m_sink;
    Now m_now;
    Config m_config;
    Clock::time_point m_start;
    Clock::time_point m_last_draw;
    bool m_drawn = false;
    bool m_finished = false;
};

}  // namespace leakhunt::cli
