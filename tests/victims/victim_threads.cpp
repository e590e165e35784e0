// victim_threads: a thread leak. Every --interval seconds it starts a thread that sleeps forever
// and is never joined (detached), up to --max threads. Memory grows only by the threads' stacks
// (mostly untouched), so the signal is the Threads count in /proc/PID/status.
#include <chrono>
#include <cmath>
#include <thread>

#include "victim_support.hpp"

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_threads [--interval S=1] [--max N=10000] [--seconds N=0 (forever)]");
    const double interval = flags.number("interval", 1);
    const std::uint64_t max_threads = flags.count("max", 10000);
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();

    const auto tick_ms = std::llround(interval * 1000);
    TickClock clock(seconds, std::chrono::milliseconds(tick_ms > 1 ? tick_ms : 1));
    std::uint64_t started = 0;
    announce_ready();
    do {
        if (started < max_threads) {
            std::thread([] {
                for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
            }).detach();
            ++started;
        }
    } while (clock.next());
    return 0;
}
