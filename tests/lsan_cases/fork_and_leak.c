/* Mirrors compiler-rt/test/lsan/TestCases/Linux/fork_and_leak.cpp: a forked child (no exec) leaks
   10 blocks of 1337 bytes and exits; the parent waits and leaks nothing. The child's check
   reports 13370 bytes in 10 objects, direct. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lsan_case.h"

__attribute__((noinline)) static void leak_ten(void) {
    for (int i = 0; i < 10; ++i) {
        void* volatile p = malloc(1337);
        (void)p;
    }
}

int main(void) {
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    leak_ten();
    clear_stack();
    return 0;
}
