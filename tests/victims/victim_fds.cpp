// victim_fds: a file-descriptor leak with flat memory. It opens /dev/null --fds-per-sec times a
// second and never closes the descriptors. When the soft RLIMIT_NOFILE is reached it says so
// once on stderr and keeps running (so tests can see the plateau at the limit too).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "victim_support.hpp"

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_fds [--fds-per-sec N=10] [--seconds N=0 (forever)]");
    const double per_second = flags.number("fds-per-sec", 10);
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();

    TickClock clock(seconds, std::chrono::milliseconds(100));
    double owed = 0;
    bool warned = false;
    announce_ready();
    do {
        owed += per_second / 10;
        for (; owed >= 1; owed -= 1) {
            if (::open("/dev/null", O_RDONLY | O_CLOEXEC) < 0 && !warned) {
                std::fprintf(stderr, "victim_fds: open failed: %s (keeping what is open)\n",
                             std::strerror(errno));
                warned = true;
            }
        }
    } while (clock.next());
    return 0;
}
