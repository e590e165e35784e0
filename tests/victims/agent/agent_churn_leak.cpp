// Victim for `leakhunt suspects`: a small steady leak (site_leak_record, 512-byte records chained
// into a list, ~100 KiB/s) hidden under heavy churn (site_churn_block: tens of thousands of
// 64 KiB..1 MiB blocks a second, each freed soon after, so that the churning site holds several
// MiB that go up and down at random). Runs --seconds (default 6) and prints the leaked total as
// a JSON line. suspects must rank site_leak_record first and call site_churn_block churn.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>

#include "agent_victim_support.hpp"

namespace {

using leakhunt::victims::agent::escape;

struct Record {
    Record* next;
};

LEAKHUNT_SITE Record* site_leak_record(Record* head, std::size_t bytes) {
    auto* r = static_cast<Record*>(std::malloc(bytes));
    if (r == nullptr) std::abort();
    std::memset(r, 0x5a, bytes);
    r->next = head;
    return r;
}

LEAKHUNT_SITE void* site_churn_block(std::size_t bytes) {
    void* p = std::malloc(bytes);
    if (p == nullptr) std::abort();
    std::memset(p, 1, 4096);
    escape(p);
    return p;
}

double now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags(
        {argv, static_cast<std::size_t>(argc)},
        "usage: agent_churn_leak [--seconds 6] [--leak-bytes 512] [--leak-every-ms 5] "
        "[--churn-per-ms 20] [--seed 1]");
    const double seconds = flags.number("seconds", 6);
    const std::size_t leak_bytes = flags.count("leak-bytes", 512);
    const double leak_every = flags.number("leak-every-ms", 5) / 1000.0;
    const unsigned long churn_per_ms = flags.count("churn-per-ms", 20);
    // A full-quality generator, as the other victims use: the blocks live at one snapshot must say
    // nothing about those at the next (an LCG's bits repeat in patterns a snapshot period can beat
    // against).
    std::mt19937_64 random(flags.count("seed", 1));
    flags.reject_unknown();

    constexpr std::size_t k_slots = 16;
    void* slots[k_slots] = {};
    Record* leaked = nullptr;
    std::size_t leaked_bytes = 0;
    const double start = now();
    double next_leak = start;
    const timespec tick{0, 1000000};
    while (now() - start < seconds) {
        for (unsigned long i = 0; i < churn_per_ms; ++i) {
            const std::size_t slot = random() % k_slots;
            const std::size_t size = (64U << 10) + random() % (960U << 10);
            std::free(slots[slot]);
            slots[slot] = site_churn_block(size);
        }
        while (now() >= next_leak) {
            leaked = site_leak_record(leaked, leak_bytes);
            leaked_bytes += leak_bytes;
            next_leak += leak_every;
        }
        nanosleep(&tick, nullptr);
    }
    escape(leaked);
    std::printf("{\"function\":\"site_leak_record\",\"leaked_bytes\":%zu}\n", leaked_bytes);
    return 0;
}
