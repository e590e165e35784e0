// victim_leak: a steady native leak. Every 10 ms it allocates rate/100 bytes in --chunk sized
// blocks, writes them (so RSS grows, not just virtual size) and never frees them, while also
// churning short-lived temporaries like a real request loop. By default the blocks stay
// reachable from a global vector (an unbounded cache); --lose-pointers 1 drops the pointers so
// the blocks are unreachable (a classic leak, for heap-scan tests).
#include <cstdlib>
#include <random>
#include <vector>

#include "victim_support.hpp"

namespace {
std::vector<void*> g_retained;  // the leak: never cleared
}

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_leak [--rate BYTES_PER_SEC=2M] [--chunk BYTES=4K] "
                "[--lose-pointers 0|1] [--seconds N=0 (forever)]");
    const std::size_t rate = flags.bytes("rate", std::size_t{2} << 20);
    const std::size_t chunk = flags.bytes("chunk", std::size_t{4} << 10);
    const bool lose_pointers = flags.count("lose-pointers", 0) != 0;
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();

    std::mt19937_64 random(1);
    TickClock clock(seconds, std::chrono::milliseconds(10));
    std::size_t owed = 0;  // bytes still to leak, so rates below one chunk per tick add up
    announce_ready();
    do {
        owed += rate / 100;
        for (; owed >= chunk && chunk > 0; owed -= chunk) {
            void* block = allocate_touched(chunk);
            if (!lose_pointers) g_retained.push_back(block);
        }
        churn(random, 32, 8192);
    } while (clock.next());
    return 0;
}
