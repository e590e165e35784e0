// victim_bounded: grows like victim_leak until it holds --cap bytes, then keeps the same live
// set and only churns: a cache or pool that fills and stops. RSS rises at --rate, then is flat.
#include <cstdlib>
#include <random>
#include <vector>

#include "victim_support.hpp"

namespace {
std::vector<void*> g_pool;  // fills up to the cap, then never changes size
}

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_bounded [--rate BYTES_PER_SEC=2M] [--cap BYTES=64M] "
                "[--chunk BYTES=4K] [--seconds N=0 (forever)]");
    const std::size_t rate = flags.bytes("rate", std::size_t{2} << 20);
    const std::size_t cap = flags.bytes("cap", std::size_t{64} << 20);
    const std::size_t chunk = flags.bytes("chunk", std::size_t{4} << 10);
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();

    std::mt19937_64 random(2);
    TickClock clock(seconds, std::chrono::milliseconds(10));
    std::size_t held = 0;
    std::size_t owed = 0;
    announce_ready();
    do {
        owed += rate / 100;
        for (; owed >= chunk && chunk > 0 && held + chunk <= cap; owed -= chunk) {
            g_pool.push_back(allocate_touched(chunk));
            held += chunk;
        }
        if (held + chunk > cap) owed = 0;
        churn(random, 32, 8192);
    } while (clock.next());
    return 0;
}
