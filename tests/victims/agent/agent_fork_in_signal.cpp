// agent_fork_in_signal: fork() from a signal handler (async-signal-safe, and what crash reporters
// and some supervisors do). A worker thread does nothing but malloc(32)/free, so most signals
// interrupt it inside the allocator; glibc serves that size from its per-thread cache without a
// lock, so without an agent the fork in the handler is safe. The main thread sends the worker
// SIGUSR1 --signals N times (default 300) and waits for each handler to finish; the handler
// forks, the child _exits with 7, the parent reaps it. Under an agent, the handler may interrupt
// the agent while it holds its own locks: the agent must not deadlock the fork (it lets the child
// go without recording). Prints the deterministic counts and exits 0.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_ready{false};
std::atomic<int> g_handled{0};
std::atomic<int> g_children_ok{0};

void on_usr1(int) {
    const int saved = errno;
    const pid_t pid = fork();
    if (pid == 0) _exit(7);
    if (pid > 0) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 7) g_children_ok.fetch_add(1);
    }
    g_handled.fetch_add(1);
    errno = saved;
}

}  // namespace

int main(int argc, char** argv) {
    int signals = 300;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--signals") == 0) signals = std::atoi(argv[i + 1]);
    }
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, nullptr);
    // Only the worker takes SIGUSR1.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
    std::thread worker([] {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        // The first malloc of a thread sets up its cache and arena under glibc's arena list
        // lock, which fork() takes too: no signal before that is done.
        void* first = std::malloc(32);
        escape(first);
        std::free(first);
        g_ready = true;
        pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
        while (!g_stop.load(std::memory_order_relaxed)) {
            void* p = std::malloc(32);
            escape(p);
            std::free(p);
        }
    });
    while (!g_ready.load()) std::this_thread::yield();
    for (int i = 0; i < signals; ++i) {
        pthread_kill(worker.native_handle(), SIGUSR1);
        while (g_handled.load() <= i) std::this_thread::yield();
    }
    g_stop = true;
    worker.join();
    std::printf("fork_in_signal: signals=%d handled=%d children_ok=%d\n", signals, g_handled.load(),
                g_children_ok.load());
    return 0;
}
