/* Mirrors compiler-rt/test/lsan/TestCases/Linux/fork_threaded.cpp: the main thread's __thread
   variable holds a block; a forked child calls exit() from a new thread, so the child's check
   runs on a thread other than its main one and must still take the main thread's TLS as a root.
   No leak in either process. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

__thread void* t_held;

static void* exit_here(void* arg) {
    (void)arg;
    exit(0);
}

int main(void) {
    t_held = malloc(1337);
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) {
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, exit_here, NULL) != 0) return 1;
    pthread_join(t, NULL);
    return 0;
}
