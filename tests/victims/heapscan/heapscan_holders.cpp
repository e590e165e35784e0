// A victim for the heap scan: memory held four ways, so `leakhunt paths` must name each holder.
//   global  the global vector g_sessions holds 1000 Session blocks (make_session)
//   tls     a worker thread's thread_local vector t_items holds 500 Item blocks (make_item)
//   stack   a worker thread's local Holder (make_holder) with 300 Record blocks, reachable only
//           from that thread's stack while it waits in hold_on_stack
//   leaks   unreachable memory: 10 direct leaks of 400 bytes (leak_buffers), 5 Parent blocks
//           (direct, 32 bytes) each holding 4 Child blocks (indirect, 48 bytes), and 3 cycles of
//           two 64-byte Link blocks that only point to each other (indirect)
// Prints "ready" and then blocks reading stdin (a process blocked in a syscall); exits on EOF or
// a line "exit". With --churn N, N threads allocate and free at full speed meanwhile; with
// --forbid-ptrace, a seccomp filter makes ptrace fail with EPERM for every thread; with --fork,
// a thread forks children (that exit at once) in a loop.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

struct Session {
    char name[48];
    long id;
    long pad[3];
};
struct Item {
    long v[10];
};
struct Record {
    long v[6];
};
struct Holder {
    std::vector<Record*> records;
};
struct Child {
    long v[6];
};
struct Parent {
    Child* kids[4];
};
struct Link {
    Link* other;
    long v[7];
};

std::vector<Session*> g_sessions;
thread_local std::vector<Item*> t_items;
std::atomic<bool> g_stop{false};
std::atomic<int> g_ready{0};

__attribute__((noinline)) Session* make_session(long id) {
    auto* s = new Session{};
    s->id = id;
    return s;
}
__attribute__((noinline)) Item* make_item() {
    return new Item{};
}
__attribute__((noinline)) Record* make_record() {
    return new Record{};
}
__attribute__((noinline)) Holder* make_holder() {
    return new Holder{};
}

__attribute__((noinline)) void fill_sessions() {
    g_sessions.reserve(1000);
    for (long i = 0; i < 1000; ++i) g_sessions.push_back(make_session(i));
}

__attribute__((noinline)) void tls_worker() {
    t_items.reserve(500);
    for (int i = 0; i < 500; ++i) t_items.push_back(make_item());
    g_ready.fetch_add(1);
    while (!g_stop.load()) ::usleep(1000);
    for (Item* p : t_items) delete p;
}

__attribute__((noinline)) void hold_on_stack() {
    Holder* volatile h = make_holder();
    h->records.reserve(300);
    for (int i = 0; i < 300; ++i) h->records.push_back(make_record());
    g_ready.fetch_add(1);
    while (!g_stop.load()) ::usleep(1000);
    for (Record* r : h->records) delete r;
    delete h;
}

__attribute__((noinline)) void leak_buffers() {
    for (int i = 0; i < 10; ++i) {
        char* volatile p = static_cast<char*>(std::malloc(400));
        std::memset(p, 1, 400);
    }
}

__attribute__((noinline)) Child* make_child() {
    return new Child{};
}
__attribute__((noinline)) Parent* make_parent() {
    auto* p = new Parent{};
    for (auto& k : p->kids) k = make_child();
    return p;
}
__attribute__((noinline)) void leak_parents() {
    for (int i = 0; i < 5; ++i) {
        Parent* volatile p = make_parent();
        (void)p;
    }
}

__attribute__((noinline)) Link* make_link() {
    return new Link{};
}
__attribute__((noinline)) void leak_cycles() {
    for (int i = 0; i < 3; ++i) {
        Link* a = make_link();
        Link* b = make_link();
        a->other = b;
        b->other = a;
    }
}

// Overwrites the dead stack below us, so no stale copy of a leaked pointer survives there.
__attribute__((noinline)) void scrub_stack() {
    volatile char junk[32768];
    for (std::size_t i = 0; i < sizeof junk; ++i) junk[i] = 0;
}

void churn() {
    std::vector<void*> keep(256, nullptr);
    unsigned x = 12345;
    while (!g_stop.load(std::memory_order_relaxed)) {
        x = x * 1103515245 + 12345;
        const unsigned k = (x >> 8) & 255;
        std::free(keep[k]);
        keep[k] = std::malloc(16 + (x >> 20) % 512);
    }
    for (void* p : keep) std::free(p);
}

void fork_loop() {
    while (!g_stop.load(std::memory_order_relaxed)) {
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(0);
        if (pid > 0) ::waitpid(pid, nullptr, 0);
    }
}

void forbid_ptrace() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
        std::perror("seccomp");
        std::exit(1);
    }
}

int main(int argc, char** argv) {
    int churners = 0;
    bool forking = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--churn") == 0 && i + 1 < argc) churners = std::atoi(argv[++i]);
        if (std::strcmp(argv[i], "--forbid-ptrace") == 0) forbid_ptrace();
        if (std::strcmp(argv[i], "--fork") == 0) forking = true;
    }
    fill_sessions();
    leak_buffers();
    leak_parents();
    leak_cycles();
    scrub_stack();
    std::thread t1(tls_worker);
    std::thread t2(hold_on_stack);
    while (g_ready.load() < 2) ::usleep(1000);
    std::vector<std::thread> churn_threads;
    for (int i = 0; i < churners; ++i) churn_threads.emplace_back(churn);
    if (forking) churn_threads.emplace_back(fork_loop);
    std::printf("ready\n");
    std::fflush(stdout);
    char line[64];
    while (std::fgets(line, sizeof line, stdin) != nullptr) {
        if (std::strncmp(line, "exit", 4) == 0) break;
    }
    g_stop.store(true);
    t1.join();
    t2.join();
    for (auto& t : churn_threads) t.join();
    for (Session* s : g_sessions) delete s;
    std::printf("done\n");
    return 0;
}
