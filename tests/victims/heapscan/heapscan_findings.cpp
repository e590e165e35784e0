// heapscan_findings MODE: one program per way a heap scan can go wrong, each with a known answer.
// Built plainly (run under `leakhunt record --all --leak-check` or scanned while it waits on
// stdin) and, for the modes LeakSanitizer can judge, with clang -fsanitize=leak.
//   loader    starts and joins 8 threads, then dlopen(RTLD_GLOBAL)s a module with TLS and
//             touches it from 2 more threads: the loader's DTVs and its global scope are its
//             own state. Leaks nothing.
//   top       leaks one 1000-byte block, the last one carved from the top chunk (the top
//             chunk's header then lies inside its last 8 bytes). Leaks 1000 bytes in 1 object.
//   malloc0   leaks malloc(0). Leaks 1 object (0 bytes; LeakSanitizer counts 1 byte).
//   mapping   keeps 200 x 96-byte blocks through a region it mmap'd itself, and leaks 3 x 48 B
//             directly plus one 256 KiB block (malloc's own mmap'd chunk) holding 5 x 64 B.
//             Leaks direct 262,288 bytes in 4 objects, indirect 320 bytes in 5. Prints "ready"
//             and waits for a line on stdin; "more" adds 100 blocks to the region.
//   unjoined  a thread gets a 40-byte argument and returns a 56-byte result, and finishes; it is
//             joined only after "ready" and a line on stdin. Leaks nothing.
//   holders   a global list g_list of 2000 nodes, and an array held[] of 1620 buffers of 64 B
//             whose uninitialised bytes happen to hold addresses of list nodes. Prints "ready"
//             and waits for a line on stdin. Leaks nothing.
// Every mode prints "done" at the end and exits 0.
#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#ifndef HEAPSCAN_MODULE_PATH
#error "HEAPSCAN_MODULE_PATH must name heapscan_findings_module.so"
#endif

__attribute__((noinline)) void scrub_stack() {
    volatile char junk[32768];
    for (std::size_t i = 0; i < sizeof junk; ++i) junk[i] = 0;
}

std::string wait_line() {
    char line[64] = {};
    if (std::fgets(line, sizeof line, stdin) == nullptr) return "";
    return line;
}

void ready() {
    std::printf("ready\n");
    std::fflush(stdout);
}

// ---- loader ----

void* touch_module(void* fn) {
    auto touch = reinterpret_cast<long (*)()>(fn);
    return reinterpret_cast<void*>(touch());
}

void* idle(void*) {
    return nullptr;
}

int run_loader() {
    for (int i = 0; i < 8; ++i) {
        pthread_t t;
        if (pthread_create(&t, nullptr, idle, nullptr) != 0) return 1;
        pthread_join(t, nullptr);
    }
    void* h = dlopen(HEAPSCAN_MODULE_PATH, RTLD_NOW | RTLD_GLOBAL);
    if (h == nullptr) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void* fn = dlsym(h, "heapscan_module_touch");
    if (fn == nullptr) return 1;
    for (int i = 0; i < 2; ++i) {
        pthread_t t;
        if (pthread_create(&t, nullptr, touch_module, fn) != 0) return 1;
        pthread_join(t, nullptr);
    }
    touch_module(fn);
    return 0;
}

// ---- top, malloc0 ----

__attribute__((noinline)) void leak_last_block() {
    void* volatile p = std::malloc(1000);
    std::memset(p, 0x5a, 1000);
}

__attribute__((noinline)) void leak_zero_bytes() {
    void* volatile p = std::malloc(0);
    (void)p;
}

// ---- mapping ----

struct Region {
    void* kept[4096];
    std::size_t n;
};
Region* g_region = nullptr;  // the only pointer to the region: blocks are held from inside it

__attribute__((noinline)) void* make_in_mapping() {
    void* p = std::malloc(96);
    std::memset(p, 0, 96);
    return p;
}
__attribute__((noinline)) void keep_in_mapping(int n) {
    for (int i = 0; i < n; ++i) g_region->kept[g_region->n++] = make_in_mapping();
}
__attribute__((noinline)) void leak_small() {
    for (int i = 0; i < 3; ++i) {
        void* volatile p = std::malloc(48);
        std::memset(p, 0, 48);
    }
}
__attribute__((noinline)) void* make_held_by_big() {
    return std::calloc(1, 64);
}
__attribute__((noinline)) void leak_big_chunk() {
    auto** big = static_cast<void**>(std::malloc(256 * 1024));
    std::memset(big, 0, 256 * 1024);
    for (int i = 0; i < 5; ++i) big[i] = make_held_by_big();
}

int run_mapping() {
    void* m =
        mmap(nullptr, sizeof(Region), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 1;
    g_region = static_cast<Region*>(m);
    keep_in_mapping(200);
    leak_small();
    leak_big_chunk();
    scrub_stack();
    ready();
    while (wait_line() == "more\n") {
        keep_in_mapping(100);
        scrub_stack();
        ready();
    }
    return 0;
}

// ---- unjoined ----

std::atomic<long> g_worker_tid{0};

__attribute__((noinline)) void* make_thread_result() {
    auto* r = static_cast<char*>(std::malloc(56));
    std::memset(r, 1, 56);
    return r;
}
void* worker(void* arg) {
    static_cast<char*>(arg)[0] = 2;
    g_worker_tid.store(syscall(SYS_gettid));
    return make_thread_result();
}
__attribute__((noinline)) void* make_thread_arg() {
    auto* a = static_cast<char*>(std::malloc(40));
    std::memset(a, 0, 40);
    return a;
}
__attribute__((noinline)) bool start_worker(pthread_t* t) {
    return pthread_create(t, nullptr, worker, make_thread_arg()) == 0;
}

int run_unjoined() {
    pthread_t t;
    if (!start_worker(&t)) return 1;
    // Finished: its task is gone (the kernel cleared the tid glibc keeps in the descriptor).
    while (g_worker_tid.load() == 0) usleep(1000);
    const std::string task = "/proc/self/task/" + std::to_string(g_worker_tid.load());
    while (access(task.c_str(), F_OK) == 0) usleep(1000);
    scrub_stack();
    ready();
    wait_line();
    void* result = nullptr;
    pthread_join(t, &result);
    std::free(result);
    return 0;
}

// ---- holders ----

struct Node {
    Node* next;
    long v[3];
};
constexpr int k_nodes = 2000;
constexpr int k_buffers = 1620;

char* held[k_buffers];
Node* g_list = nullptr;

__attribute__((noinline)) Node* make_node(Node* next) {
    auto* n = new Node{};
    n->next = next;
    return n;
}
__attribute__((noinline)) char* make_buffer() {
    return static_cast<char*>(std::malloc(64));
}

int run_holders() {
    Node* nodes[k_nodes];
    for (int i = 0; i < k_nodes; ++i) nodes[i] = g_list = make_node(g_list);
    for (int k = 0; k < k_buffers; ++k) {
        held[k] = make_buffer();
        // What a reused chunk's uninitialised bytes may hold: a list node's address.
        std::memcpy(held[k] + 8, &nodes[(k * 7) % k_nodes], sizeof(Node*));
        held[k][0] = 'x';
    }
    explicit_bzero(nodes, sizeof nodes);
    scrub_stack();
    ready();
    wait_line();
    for (char*& b : held) std::free(b);
    while (g_list != nullptr) delete std::exchange(g_list, g_list->next);
    return 0;
}

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    int rc = 2;
    if (mode == "loader") {
        rc = run_loader();
    } else if (mode == "top") {
        std::printf("done\n");  // stdout's buffer is allocated before the leak, not after it
        std::fflush(stdout);
        leak_last_block();
        scrub_stack();
        return 0;
    } else if (mode == "malloc0") {
        leak_zero_bytes();
        rc = 0;
    } else if (mode == "mapping") {
        rc = run_mapping();
    } else if (mode == "unjoined") {
        rc = run_unjoined();
    } else if (mode == "holders") {
        rc = run_holders();
    } else {
        std::fprintf(stderr,
                     "usage: heapscan_findings loader|top|malloc0|mapping|unjoined|holders\n");
        return 2;
    }
    scrub_stack();
    if (rc == 0) std::printf("done\n");
    return rc;
}
