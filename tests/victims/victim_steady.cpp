// victim_steady: a healthy process. It allocates a fixed live set of --live bytes in slots of
// random sizes at start, then every 10 ms replaces --replace slots with fresh blocks of the same
// size and churns random-sized temporaries. The live set never changes, so RSS is flat once the
// allocator has warmed up.
#include <cstdlib>
#include <random>
#include <vector>

#include "victim_support.hpp"

namespace {

struct Slot {
    void* block = nullptr;
    std::size_t size = 0;
};

}  // namespace

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_steady [--live BYTES=32M] [--replace N=64] "
                "[--seconds N=0 (forever)]");
    const std::size_t live = flags.bytes("live", std::size_t{32} << 20);
    const std::size_t replace = flags.count("replace", 64);
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();

    std::mt19937_64 random(3);
    std::uniform_int_distribution<std::size_t> size_of(64, 16384);
    std::vector<Slot> slots;
    for (std::size_t held = 0; held < live;) {
        const std::size_t size = size_of(random);
        slots.push_back({allocate_touched(size), size});
        held += size;
    }
    std::uniform_int_distribution<std::size_t> pick(0, slots.size() - 1);

    TickClock clock(seconds, std::chrono::milliseconds(10));
    announce_ready();
    do {
        for (std::size_t i = 0; i < replace; ++i) {
            Slot& slot = slots[pick(random)];
            std::free(slot.block);
            slot.block = allocate_touched(slot.size);
        }
        churn(random, 64, 16384);
    } while (clock.next());
    for (Slot& slot : slots) std::free(slot.block);
    return 0;
}
