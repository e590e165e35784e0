// victim_sawtooth: a GC-like or batch-like sawtooth. Each --period seconds it climbs from --low
// to --high (over 70% of the period, in 256 KiB chunks), then frees back to --low and rests.
// The chunks are above a fixed mmap threshold, so free() returns them to the kernel and RSS
// really drops (glibc otherwise raises the threshold dynamically after the first mmapped free;
// see mallopt(3), M_MMAP_THRESHOLD), and malloc_trim(0) releases what the heap can give back.
// With --rise BYTES_PER_CYCLE the baseline (and the peak) grows every cycle: a leak under a
// sawtooth; with the default 0 the baseline is flat: healthy.
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "victim_support.hpp"

namespace {
constexpr std::size_t k_chunk = std::size_t{256} << 10;
}

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_sawtooth [--low BYTES=32M] [--high BYTES=160M] [--period S=10] "
                "[--rise BYTES_PER_CYCLE=0] [--seconds N=0 (forever)]");
    const std::size_t low = flags.bytes("low", std::size_t{32} << 20);
    const std::size_t high = std::max(low, flags.bytes("high", std::size_t{160} << 20));
    const double period = std::max(0.1, flags.number("period", 10));
    const std::size_t rise = flags.bytes("rise", 0);
    const double seconds = flags.number("seconds", 0);
    flags.reject_unknown();

    // A fixed threshold: 256 KiB chunks always come from mmap, so freeing them unmaps them.
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);

    std::mt19937_64 random(4);
    std::vector<void*> baseline;  // the low part, plus whatever --rise adds
    std::vector<void*> peak;      // the climb, freed at the end of each cycle
    const auto fill = [](std::vector<void*>& into, std::size_t chunks) {
        for (std::size_t i = 0; i < chunks; ++i) into.push_back(allocate_touched(k_chunk));
    };
    fill(baseline, low / k_chunk);

    const auto tick = std::chrono::milliseconds(50);
    const double ticks_per_cycle = period / 0.05;
    const double climb_ticks = std::max(1.0, ticks_per_cycle * 0.7);
    TickClock clock(seconds, tick);
    std::size_t cycle_tick = 0;
    std::size_t rise_owed = 0;
    announce_ready();
    do {
        const double progress = std::min(1.0, static_cast<double>(cycle_tick) / climb_ticks);
        const double wanted = progress * static_cast<double>(high - low) / k_chunk;
        const auto target = static_cast<std::size_t>(wanted);
        if (peak.size() < target) fill(peak, target - peak.size());
        churn(random, 16, 4096);
        if (static_cast<double>(++cycle_tick) >= ticks_per_cycle) {
            for (void* block : peak) std::free(block);
            peak.clear();
            malloc_trim(0);
            rise_owed += rise;
            fill(baseline, rise_owed / k_chunk);
            rise_owed %= k_chunk;
            cycle_tick = 0;
        }
    } while (clock.next());
    return 0;
}
