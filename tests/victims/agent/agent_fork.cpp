// agent_fork: fork without exec, from a process with a second thread churning the allocator
// while it forks (the agent's own locks must survive fork; glibc's are reset by its atfork
// handlers). Each child allocates and frees, prints one line and leaves with _exit; the parent
// waits for it before the next fork, so the output order is fixed. Flags: --forks N (default 20).
// Exit 0 when every child exited 0, else 1.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

// Allocates `count` blocks of varying size, writes them, frees them; returns a checksum.
LEAKHUNT_SITE std::uint64_t fork_site_churn(std::size_t count, std::uint64_t seed) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t size = 16 + (seed * 31 + i * 17) % 2000;
        auto* block = static_cast<unsigned char*>(std::malloc(size));
        if (block == nullptr) std::abort();
        std::memset(block, static_cast<int>(i & 0x7f), size);
        escape(block);
        sum += block[size - 1] + size;
        std::free(block);
    }
    return sum;
}

LEAKHUNT_SITE void* fork_site_keep(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x33, size);
    escape(block);
    return block;
}

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags({argv, static_cast<std::size_t>(argc)},
                                          "usage: agent_fork [--forks N=20]");
    const unsigned long forks = flags.count("forks", 20);
    flags.reject_unknown();

    std::atomic<bool> stop{false};
    std::thread churner([&stop] {
        std::uint64_t seed = 1;
        while (!stop.load(std::memory_order_relaxed)) escape(&(seed += fork_site_churn(16, seed)));
    });

    void* kept = fork_site_keep(4096);  // inherited by every child
    unsigned long children_ok = 0;
    for (unsigned long i = 0; i < forks; ++i) {
        std::fflush(stdout);  // the child must not inherit and print a buffered copy
        const pid_t pid = fork();
        if (pid < 0) {
            std::perror("fork");
            return 1;
        }
        if (pid == 0) {
            const std::uint64_t sum = fork_site_churn(1000, i);
            void* leaked = fork_site_keep(100 + i);  // a leak that dies with the child
            escape(leaked);
            std::printf("child %lu: allocs=1001 frees=1000 checksum=%llu inherited=%d\n", i,
                        static_cast<unsigned long long>(sum),
                        static_cast<const unsigned char*>(kept)[4095]);
            std::fflush(stdout);
            _exit(0);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) {
            std::perror("waitpid");
            return 1;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++children_ok;
    }
    stop.store(true);
    churner.join();
    const std::uint64_t sum = fork_site_churn(1000, 99);
    std::free(kept);
    std::printf("parent: forks=%lu children_ok=%lu checksum=%llu\n", forks, children_ok,
                static_cast<unsigned long long>(sum));
    return children_ok == forks ? 0 : 1;
}
