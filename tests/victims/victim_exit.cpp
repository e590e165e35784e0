// victim_exit: a process that ends while it is being watched. It holds a modest, constant
// amount of memory (--bytes, written), churns a little, and exits with --code (default 0) after
// --seconds (default 5).
#include <cstdlib>
#include <random>

#include "victim_support.hpp"

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_exit [--seconds N=5] [--bytes BYTES=8M] [--code N=0]");
    const double seconds = flags.number("seconds", 5);
    const std::size_t bytes = flags.bytes("bytes", std::size_t{8} << 20);
    const auto code = static_cast<int>(flags.count("code", 0) & 0xff);
    flags.reject_unknown();

    void* held = allocate_touched(bytes);
    std::mt19937_64 random(5);
    TickClock clock(seconds > 0 ? seconds : 5, std::chrono::milliseconds(10));
    announce_ready();
    while (clock.next()) churn(random, 8, 4096);
    std::free(held);
    return code;
}
