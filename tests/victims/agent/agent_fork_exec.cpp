// agent_fork_exec: fork + execv("/bin/echo") a few times while the parent allocates; the agent
// is inherited through LD_PRELOAD by echo too. The parent waits for each child, so the output is
// "agent_fork_exec child N" lines then the parent's line. Flags: --children N (default 5).
// Exit 0 when every child exited 0, else 1.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

LEAKHUNT_SITE void* fork_exec_site_alloc(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x44, size);
    escape(block);
    return block;
}

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags({argv, static_cast<std::size_t>(argc)},
                                          "usage: agent_fork_exec [--children N=5]");
    const unsigned long children = flags.count("children", 5);
    flags.reject_unknown();

    unsigned long children_ok = 0;
    for (unsigned long i = 0; i < children; ++i) {
        void* before = fork_exec_site_alloc(1000 + i);
        // Built before fork: after fork only exec and _exit are used in the child.
        const std::string text = "agent_fork_exec child " + std::to_string(i);
        char echo[] = "echo";
        char* child_argv[] = {echo, const_cast<char*>(text.c_str()), nullptr};
        std::fflush(stdout);
        const pid_t pid = fork();
        if (pid < 0) {
            std::perror("fork");
            return 1;
        }
        if (pid == 0) {
            execv("/bin/echo", child_argv);
            _exit(127);
        }
        void* during = fork_exec_site_alloc(2000 + i);
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) {
            std::perror("waitpid");
            return 1;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++children_ok;
        std::free(during);
        std::free(before);
    }
    std::printf("parent: children=%lu children_ok=%lu\n", children, children_ok);
    return children_ok == children ? 0 : 1;
}
