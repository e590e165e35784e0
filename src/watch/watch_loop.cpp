// The sampling loop: ticks on a steady schedule, waits for stop signals between them.
#include "watch/watch_loop.hpp"

#include <chrono>
#include <ctime>

namespace leakhunt::watch {

LoopEnd run_loop(Watcher& w, const LoopOptions& options) {
    sigset_t set = options.stop_signals, old;
    ::sigprocmask(SIG_BLOCK, &set, &old);
    const auto start = std::chrono::steady_clock::now();
    auto next = start;
    const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options.interval_s));
    LoopEnd end = LoopEnd::interrupted;
    for (;;) {
        const double now = w.now();
        w.tick(now);
        if (options.command != nullptr && !options.command->running()) {
            w.command_ended(options.command->exit_text());
        }
        if (options.on_tick) options.on_tick(now);
        if (w.all_ended()) {
            end = LoopEnd::targets_ended;
            break;
        }
        if (options.keep_going && !options.keep_going(now)) {
            end = LoopEnd::stopped;
            break;
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (options.duration_s && elapsed + 1e-9 >= *options.duration_s) {
            end = LoopEnd::duration;
            break;
        }
        next += interval;
        auto wait = next - std::chrono::steady_clock::now();
        if (wait < std::chrono::steady_clock::duration::zero()) {
            next = std::chrono::steady_clock::now();  // fell behind: don't burst to catch up
            wait = std::chrono::steady_clock::duration::zero();
        }
        if (options.duration_s) {
            auto until_end = start +
                             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(*options.duration_s)) -
                             std::chrono::steady_clock::now();
            if (until_end < wait && until_end > std::chrono::steady_clock::duration::zero()) {
                wait = until_end;
                next = std::chrono::steady_clock::now() + wait;
            }
        }
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
        timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        int sig = ::sigtimedwait(&set, nullptr, &ts);
        if (sig > 0) {
            end = LoopEnd::interrupted;
            break;
        }
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    return end;
}

}  // namespace leakhunt::watch
