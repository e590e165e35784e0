// agent_signal_alloc: signal handlers that call malloc and free (not async-signal-safe, but real
// programs do it). Two phases, each --signals N times (default 1000):
//   sync:  the main thread allocates, raise(SIGUSR1)s, frees; the handler runs synchronously
//          inside raise, between two allocations, and mallocs/frees (every 100th block is kept).
//   async: a helper thread pthread_kill(SIGALRM)s the main thread, which keeps allocating; the
//          handler allocates only when the main thread is not itself inside the allocator
//          (glibc's malloc is not reentrant: a handler interrupting it on the same thread could
//          deadlock even without an agent), so every signal interrupts ordinary code or the
//          window just around an allocation.
// Prints one line per phase with the deterministic counts, and exits 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

namespace {

volatile std::sig_atomic_t g_main_in_allocator = 0;
std::atomic<unsigned long> g_handled{0};
std::atomic<unsigned long> g_handler_allocs{0};
std::atomic<unsigned long> g_handler_kept{0};

}  // namespace

LEAKHUNT_SITE void* signal_site_handler_alloc(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x99, size);
    escape(block);
    return block;
}

LEAKHUNT_SITE void* signal_site_main_alloc(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x88, size);
    escape(block);
    return block;
}

namespace {

void allocating_handler(int) {
    const unsigned long n = g_handled.load(std::memory_order_relaxed);
    if (g_main_in_allocator == 0) {
        void* block = signal_site_handler_alloc(64 + n % 256);
        if (n % 100 == 0) {
            g_handler_kept.fetch_add(1, std::memory_order_relaxed);  // a leak made in a handler
        } else {
            std::free(block);
        }
        g_handler_allocs.fetch_add(1, std::memory_order_relaxed);
    }
    g_handled.fetch_add(1, std::memory_order_release);
}

void install(int signal_number) {
    struct sigaction action {};
    action.sa_handler = allocating_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(signal_number, &action, nullptr) != 0) {
        std::perror("sigaction");
        std::exit(1);
    }
}

// Allocates and frees with the in-allocator flag set around each call.
void main_thread_alloc_free(std::size_t i) {
    g_main_in_allocator = 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    void* block = signal_site_main_alloc(32 + i % 512);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    g_main_in_allocator = 0;
    escape(block);
    g_main_in_allocator = 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    std::free(block);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    g_main_in_allocator = 0;
}

}  // namespace

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags({argv, static_cast<std::size_t>(argc)},
                                          "usage: agent_signal_alloc [--signals N=1000]");
    const unsigned long signals = flags.count("signals", 1000);
    flags.reject_unknown();
    install(SIGUSR1);
    install(SIGALRM);

    // Phase 1: synchronous.
    for (unsigned long i = 0; i < signals; ++i) {
        void* block = signal_site_main_alloc(128 + i % 64);
        if (raise(SIGUSR1) != 0) return 1;
        std::free(block);
    }
    std::printf("sync: signals=%lu handled=%lu handler_allocs=%lu handler_kept=%lu\n", signals,
                g_handled.load(), g_handler_allocs.load(), g_handler_kept.load());

    // Phase 2: asynchronous, from another thread; the sender waits for each to be handled.
    g_handled.store(0);
    const pthread_t main_thread = pthread_self();
    std::atomic<bool> done{false};
    std::thread sender([&] {
        for (unsigned long i = 0; i < signals; ++i) {
            const unsigned long before = g_handled.load(std::memory_order_acquire);
            pthread_kill(main_thread, SIGALRM);
            while (g_handled.load(std::memory_order_acquire) == before) std::this_thread::yield();
        }
        done.store(true);
    });
    std::size_t iterations = 0;
    while (!done.load(std::memory_order_relaxed)) {
        main_thread_alloc_free(iterations++);
        // Ordinary work between allocations, where most signals land and the handler allocates.
        for (unsigned spin = 0; spin < 2000; ++spin) asm volatile("");
    }
    sender.join();
    std::printf("async: signals=%lu handled=%lu\n", signals, g_handled.load());
    std::fprintf(stderr,
                 "agent_signal_alloc: async handler allocations %lu of %lu, %zu main "
                 "iterations\n",
                 g_handler_allocs.load() - signals, signals, iterations);
    return 0;
}
