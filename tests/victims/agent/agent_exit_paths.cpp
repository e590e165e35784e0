// agent_exit_paths: ends in the way --mode says, with live allocations and a busy second thread,
// so a test can check the agent keeps the exit status (and flushes its profile where it can):
//   return -> status 5 (return from main)     exit  -> status 3 (exit(3): atexit, flush)
//   _exit  -> status 4 (no atexit, no flush)  abort -> SIGABRT
//   throw  -> SIGABRT (uncaught exception: std::terminate, then abort)
//   segv   -> SIGSEGV (a store through a null pointer: the kernel's fault)
//   sigterm -> SIGTERM (sent to itself with kill(), as another process would)
//   own_handler -> status 7 (its own SIGTERM handler, installed at start, calls _exit(7))
// Prints "mode=MODE" (flushed) before ending. A bad mode is a usage error: status 2.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

LEAKHUNT_SITE void* exit_site_leak(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x22, size);
    escape(block);
    return block;
}

namespace {

std::atomic<bool> g_started{false};

[[noreturn]] void churn_forever() {
    g_started.store(true);
    for (std::size_t i = 0;; ++i) std::free(exit_site_leak(32 + i % 1024));
}

[[noreturn]] void throw_uncaught() {
    throw std::runtime_error("agent_exit_paths: uncaught");
}

void exit_seven(int) {
    _exit(7);
}

[[noreturn]] void store_through_null() {
    // In assembly: the compiler may not drop the store or turn it into a trap of its own.
    asm volatile("movl $1, 0" ::: "memory");
    std::abort();
}

[[noreturn]] void kill_self(int sig) {
    ::kill(::getpid(), sig);
    for (;;) ::pause();
}

}  // namespace

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags(
        {argv, static_cast<std::size_t>(argc)},
        "usage: agent_exit_paths --mode return|exit|_exit|abort|throw|segv|sigterm|own_handler");
    const std::string mode = flags.text("mode", "return");
    flags.reject_unknown();
    if (mode != "return" && mode != "exit" && mode != "_exit" && mode != "abort" &&
        mode != "throw" && mode != "segv" && mode != "sigterm" && mode != "own_handler") {
        std::fprintf(stderr, "error: unknown --mode %s\n", mode.c_str());
        return 2;
    }

    if (mode == "own_handler") ::signal(SIGTERM, exit_seven);
    for (std::size_t i = 0; i < 100; ++i) escape(exit_site_leak(100 + i));
    std::thread(churn_forever).detach();  // still allocating while the process ends
    while (!g_started.load()) std::this_thread::yield();

    std::printf("mode=%s\n", mode.c_str());
    std::fflush(stdout);
    if (mode == "exit") std::exit(3);
    if (mode == "_exit") _exit(4);
    if (mode == "abort") std::abort();
    if (mode == "throw") throw_uncaught();
    if (mode == "segv") store_through_null();
    if (mode == "sigterm" || mode == "own_handler") kill_self(SIGTERM);
    return 5;
}
