// Victim for `leakhunt suspects`: a bounded cache (site_cache_insert, 4 KiB entries, --capacity
// 1000) that fills in the first --fill-seconds and then evicts its oldest entry for every new
// one, so what it holds grows and then stops; and a slower real leak elsewhere
// (site_slow_leak, 1 KiB records chained into a list, ~100 KiB/s) that never stops. Runs
// --seconds (default 6). suspects must rank site_slow_leak first and call the cache a plateau.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "agent_victim_support.hpp"

namespace {

using leakhunt::victims::agent::escape;

struct Record {
    Record* next;
};

LEAKHUNT_SITE void* site_cache_insert(std::size_t bytes) {
    void* p = std::malloc(bytes);
    if (p == nullptr) std::abort();
    std::memset(p, 2, bytes);
    escape(p);
    return p;
}

LEAKHUNT_SITE Record* site_slow_leak(Record* head, std::size_t bytes) {
    auto* r = static_cast<Record*>(std::malloc(bytes));
    if (r == nullptr) std::abort();
    std::memset(r, 3, bytes);
    r->next = head;
    return r;
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
        "usage: agent_cache_plateau [--seconds 6] [--capacity 1000] [--fill-seconds 1.5] "
        "[--entry-bytes 4096] [--leak-bytes 1024] [--leak-every-ms 10]");
    const double seconds = flags.number("seconds", 6);
    const std::size_t capacity = flags.count("capacity", 1000);
    const double insert_every = flags.number("fill-seconds", 1.5) / static_cast<double>(capacity);
    const std::size_t entry_bytes = flags.count("entry-bytes", 4096);
    const std::size_t leak_bytes = flags.count("leak-bytes", 1024);
    const double leak_every = flags.number("leak-every-ms", 10) / 1000.0;
    flags.reject_unknown();
    if (capacity == 0) return 2;

    void** cache = static_cast<void**>(std::calloc(capacity, sizeof(void*)));
    std::size_t next_slot = 0;
    Record* leaked = nullptr;
    std::size_t leaked_bytes = 0;
    const double start = now();
    double next_insert = start;
    double next_leak = start;
    const timespec tick{0, 1000000};
    while (now() - start < seconds) {
        while (now() >= next_insert) {
            std::free(cache[next_slot]);  // evicts the oldest once the cache is full
            cache[next_slot] = site_cache_insert(entry_bytes);
            next_slot = (next_slot + 1) % capacity;
            next_insert += insert_every;
        }
        while (now() >= next_leak) {
            leaked = site_slow_leak(leaked, leak_bytes);
            leaked_bytes += leak_bytes;
            next_leak += leak_every;
        }
        nanosleep(&tick, nullptr);
    }
    escape(leaked);
    escape(cache);
    std::printf("{\"function\":\"site_slow_leak\",\"leaked_bytes\":%zu}\n", leaked_bytes);
    return 0;
}
