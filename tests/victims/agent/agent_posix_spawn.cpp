// agent_posix_spawn: posix_spawn("/bin/true") N times and wait for each. glibc's posix_spawn
// clones with CLONE_VM | CLONE_VFORK, so the child runs on the parent's memory until exec: an
// agent hook that runs there (or a lock held by another thread) must not break it. A second
// thread allocates meanwhile. Flags: --children N (default 10). Exit 0 when all exited 0.
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

extern char** environ;

LEAKHUNT_SITE void* spawn_site_alloc(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x55, size);
    escape(block);
    return block;
}

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags({argv, static_cast<std::size_t>(argc)},
                                          "usage: agent_posix_spawn [--children N=10]");
    const unsigned long children = flags.count("children", 10);
    flags.reject_unknown();

    std::atomic<bool> stop{false};
    std::thread allocator([&stop] {
        std::size_t i = 0;
        while (!stop.load(std::memory_order_relaxed)) std::free(spawn_site_alloc(64 + i++ % 512));
    });

    unsigned long children_ok = 0;
    for (unsigned long i = 0; i < children; ++i) {
        char true_name[] = "true";
        char* child_argv[] = {true_name, nullptr};
        pid_t pid = 0;
        const int error = posix_spawn(&pid, "/bin/true", nullptr, nullptr, child_argv, environ);
        if (error != 0) {
            std::fprintf(stderr, "posix_spawn: %s\n", std::strerror(error));
            break;
        }
        void* during = spawn_site_alloc(4096);
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) {
            std::perror("waitpid");
            break;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++children_ok;
        std::free(during);
    }
    stop.store(true);
    allocator.join();
    std::printf("posix_spawn: children=%lu children_ok=%lu\n", children, children_ok);
    return children_ok == children ? 0 : 1;
}
