// agent_vfork: vfork + execv("/bin/true") N times. The vfork child shares the parent's memory
// and stack until exec, so it does nothing but execv or _exit (no allocation, no stdio): the
// agent must survive being inherited that way. Flags: --children N (default 10). Exit 0 when
// every child exited 0.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

LEAKHUNT_SITE void* vfork_site_alloc(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x66, size);
    escape(block);
    return block;
}

namespace {

// Returns the child's wait status, or -1. argv is prepared before vfork.
int run_true(char* const* child_argv) {
    const pid_t pid = vfork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execv("/bin/true", child_argv);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags({argv, static_cast<std::size_t>(argc)},
                                          "usage: agent_vfork [--children N=10]");
    const unsigned long children = flags.count("children", 10);
    flags.reject_unknown();

    char true_name[] = "true";
    char* child_argv[] = {true_name, nullptr};
    unsigned long children_ok = 0;
    for (unsigned long i = 0; i < children; ++i) {
        void* before = vfork_site_alloc(512 + i);
        const int status = run_true(child_argv);
        if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) ++children_ok;
        std::free(before);
    }
    std::printf("vfork: children=%lu children_ok=%lu\n", children, children_ok);
    return children_ok == children ? 0 : 1;
}
