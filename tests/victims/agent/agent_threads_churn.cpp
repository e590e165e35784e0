// agent_threads_churn: --threads N (default 8) threads allocate and free at full speed through
// malloc, calloc, realloc, aligned_alloc, new/delete and new[]/delete[], each keeping a ring of
// 64 live blocks, for --seconds S (default 3), or for exactly --ops N operations per thread.
// Prints "ready" once the threads run, then "threads=N ops=TOTAL" at the end: TOTAL depends on
// speed with --seconds, and is N * --ops with --ops (deterministic output). Exits 0.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

namespace {

enum class Kind : std::uint8_t { none, malloc, calloc, realloc, aligned, new_scalar, new_array };

struct Slot {
    void* pointer = nullptr;
    std::size_t size = 0;
    Kind kind = Kind::none;
};

struct Scalar {
    std::uint64_t words[8];
};

void release(Slot& slot) {
    switch (slot.kind) {
        case Kind::none:
            break;
        case Kind::malloc:
        case Kind::calloc:
        case Kind::realloc:
        case Kind::aligned:
            std::free(slot.pointer);
            break;
        case Kind::new_scalar:
            delete static_cast<Scalar*>(slot.pointer);
            break;
        case Kind::new_array:
            delete[] static_cast<unsigned char*>(slot.pointer);
            break;
    }
    slot = Slot{};
}

}  // namespace

LEAKHUNT_SITE void churn_site_allocate(Slot& slot, std::uint64_t choice, std::size_t size) {
    switch (choice % 6) {
        case 0:
            slot = Slot{std::malloc(size), size, Kind::malloc};
            break;
        case 1:
            slot = Slot{std::calloc(1, size), size, Kind::calloc};
            break;
        case 2:
            slot = Slot{std::realloc(std::malloc(size / 2 + 1), size), size, Kind::realloc};
            break;
        case 3:
            slot =
                Slot{std::aligned_alloc(64, (size + 63) & ~std::size_t{63}), size, Kind::aligned};
            break;
        case 4:
            slot = Slot{new Scalar{}, sizeof(Scalar), Kind::new_scalar};
            break;
        default:
            slot = Slot{new unsigned char[size], size, Kind::new_array};
            break;
    }
    if (slot.pointer == nullptr) std::abort();
    static_cast<unsigned char*>(slot.pointer)[0] = 1;
    escape(slot.pointer);
}

namespace {

std::uint64_t churn(std::size_t thread_index, std::uint64_t ops_limit,
                    const std::atomic<bool>& stop) {
    std::mt19937_64 random(thread_index + 1);
    std::array<Slot, 64> ring{};
    std::uint64_t ops = 0;
    while (ops_limit != 0 ? ops < ops_limit : !stop.load(std::memory_order_relaxed)) {
        const std::uint64_t r = random();
        Slot& slot = ring[r % ring.size()];
        release(slot);
        churn_site_allocate(slot, r >> 8, 1 + (r >> 16) % 4096);
        ++ops;
    }
    for (Slot& slot : ring) release(slot);
    return ops;
}

}  // namespace

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags(
        {argv, static_cast<std::size_t>(argc)},
        "usage: agent_threads_churn [--threads N=8] [--seconds S=3 | --ops N_PER_THREAD]");
    const unsigned long thread_count = flags.count("threads", 8);
    const double seconds = flags.number("seconds", 3);
    const unsigned long ops_limit = flags.count("ops", 0);
    flags.reject_unknown();

    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> total{0};
    std::vector<std::thread> threads;
    threads.reserve(thread_count);
    for (std::size_t i = 0; i < thread_count; ++i) {
        threads.emplace_back([&, i] { total.fetch_add(churn(i, ops_limit, stop)); });
    }
    std::printf("ready\n");
    std::fflush(stdout);
    if (ops_limit == 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        stop.store(true);
    }
    for (std::thread& thread : threads) thread.join();
    std::printf("threads=%lu ops=%llu\n", thread_count,
                static_cast<unsigned long long>(total.load()));
    return 0;
}
