// victim_attach: a native program to attach the agent to while it runs (`record --pid`), started
// without the agent. Two modes:
//   --commands 1: reads lines on stdin: "leak N" allocates N blocks of 1000 bytes in
//     attach_leak_site and keeps them; "free-old" frees the blocks of --pre N (allocated at the
//     start, before any attach); "exit" prints "done leaked=TOTAL" and exits with status 7.
//     Each command is answered with "ok" once done.
//   otherwise: --threads N workers churn every allocation function (malloc, calloc, realloc,
//     posix_memalign, aligned_alloc, new, new[], aligned new) for --seconds S while the main
//     thread leaks 1000 bytes every 5 ms in attach_leak_site; then (or at SIGUSR1) it joins
//     them, prints "done leaked=TOTAL" and exits 0.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "victim_support.hpp"

namespace {

std::vector<void*> g_kept;  // the leak
std::vector<void*> g_old;   // --pre blocks
std::size_t g_leaked = 0;
volatile sig_atomic_t g_end_early = 0;  // SIGUSR1: end the run now, normally

void on_usr1(int) {
    g_end_early = 1;
}

__attribute__((noinline)) void attach_leak_site(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        void* p = std::malloc(1000);
        std::memset(p, 0x5a, 1000);
        g_kept.push_back(p);
    }
    g_leaked += n;
}

void churn_all(std::atomic<bool>& stop, unsigned seed) {
    std::mt19937_64 random(seed);
    while (!stop.load(std::memory_order_relaxed)) {
        const std::size_t n = 16 + random() % 4000;
        void* a = std::malloc(n);
        void* b = std::calloc(4, n);
        a = std::realloc(a, n * 2);
        void* c = nullptr;
        if (posix_memalign(&c, 64, n) != 0) c = nullptr;
        void* d = aligned_alloc(4096, 4096);
        auto* e = new char[n];
        auto* f = new std::string(n % 100, 'x');
        auto* g = new (std::align_val_t{128}) double[4];
        std::memset(a, 1, n);
        ::operator delete[](g, std::align_val_t{128});
        delete f;
        delete[] e;
        std::free(d);
        std::free(c);
        std::free(b);
        std::free(a);
    }
}

int run_commands(std::size_t pre) {
    g_kept.reserve(1 << 20);  // no vector growth inside the leak site: its counts stay exact
    for (std::size_t i = 0; i < pre; ++i) g_old.push_back(std::malloc(1000));
    leakhunt::victims::announce_ready();
    for (std::string line; std::getline(std::cin, line);) {
        if (line.starts_with("leak ")) {
            attach_leak_site(std::strtoull(line.c_str() + 5, nullptr, 10));
        } else if (line == "free-old") {
            for (void* p : g_old) std::free(p);
            g_old.clear();
        } else if (line == "exit") {
            std::printf("done leaked=%zu\n", g_leaked);
            std::fflush(stdout);
            return 7;
        }
        std::printf("ok\n");
        std::fflush(stdout);
    }
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace leakhunt::victims;
    Flags flags({argv, static_cast<std::size_t>(argc)},
                "usage: victim_attach [--commands 0|1] [--pre N=0] [--threads N=4] "
                "[--seconds S=3]");
    const bool commands = flags.count("commands", 0) != 0;
    const std::size_t pre = flags.count("pre", 0);
    const std::size_t threads = flags.count("threads", 4);
    const double seconds = flags.number("seconds", 3);
    flags.reject_unknown();
    if (commands) return run_commands(pre);

    g_kept.reserve(1 << 20);
    struct sigaction usr1 {};
    usr1.sa_handler = on_usr1;
    sigaction(SIGUSR1, &usr1, nullptr);
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < threads; ++i) {
        workers.emplace_back(churn_all, std::ref(stop), static_cast<unsigned>(i + 1));
    }
    announce_ready();
    TickClock clock(seconds, std::chrono::milliseconds(5));
    do {
        attach_leak_site(1);
    } while (clock.next() && g_end_early == 0);
    stop = true;
    for (auto& t : workers) t.join();
    std::printf("done leaked=%zu\n", g_leaked);
    return 0;
}
