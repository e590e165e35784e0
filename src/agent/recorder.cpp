// Recording allocations and frees.
#include "agent/recorder.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "agent/config.hpp"
#include "agent/memory.hpp"
#include "agent/sampler.hpp"
#include "agent/unwind.hpp"

namespace leakhunt::agent {

LiveTable g_live;
constinit thread_local Sampler t_sampler __attribute__((tls_model("initial-exec")));

namespace {

StackTable g_stacks;

// Temporary allocations, as heaptrack counts them: an allocation whose free comes before this
// thread allocates again. Counted in full mode only, where every allocation passes here (a
// sampled run sees too few of them to tell). The last allocation recorded on this thread, and
// the count of all threads.
thread_local std::uintptr_t t_last_alloc __attribute__((tls_model("initial-exec"))) = 0;
std::atomic<std::uint64_t> g_temporary{0};

// Recently interned stacks of this thread, by hash: a hit skips the shard lock and the
// comparison of every frame. Trusts the 64-bit hash (a false hit needs two different stacks of
// one thread with equal hashes in the same slot). A page of mmap'd memory per recording thread,
// reached through a pointer in TLS and unmapped at thread exit (the key's destructor): the
// agent's static TLS must stay small, because an agent dlopen'ed into a running process
// (`record --pid`) gets its initial-exec TLS from glibc's static TLS surplus, about 1.5 KiB
// (glibc.rtld.optional_static_tls and the namespaces' share), which a 3 KiB cache would exceed.
struct StackCache {
    std::uint64_t hash[256];
    std::uint32_t id[256];
};
thread_local StackCache* t_stack_cache __attribute__((tls_model("initial-exec"))) = nullptr;
pthread_key_t g_cache_key;
std::atomic<bool> g_cache_key_ok{false};

void drop_stack_cache(void* cache) {
    unmap_memory(cache, sizeof(StackCache));
}

StackCache* stack_cache() {
    if (t_stack_cache != nullptr || !g_cache_key_ok.load(std::memory_order_acquire)) {
        return t_stack_cache;
    }
    auto* c = static_cast<StackCache*>(map_memory(sizeof(StackCache)));
    if (c != nullptr && pthread_setspecific(g_cache_key, c) != 0) {
        unmap_memory(c, sizeof(StackCache));
        c = nullptr;
    }
    t_stack_cache = c;
    return c;
}

std::uint32_t intern_cached(const std::uintptr_t* ips, std::uint32_t depth) {
    const std::uint64_t h = hash_stack(ips, depth);
    const std::size_t slot = h & 255;
    StackCache* cache = stack_cache();
    if (cache != nullptr && cache->hash[slot] == h) return cache->id[slot];
    const std::uint32_t id = g_stacks.intern(ips, depth, h, thread_token());
    if (id != 0 && cache != nullptr) {
        cache->hash[slot] = h;
        cache->id[slot] = id;
    }
    return id;
}

std::atomic<std::uint64_t> g_stale_retired{0};

// The allocator handed out p while the agent still held a record of it: the block was freed by
// code that called the allocator directly (a library opened with RTLD_DEEPBIND before its GOT
// was patched, a static copy of the C library, a raw syscall). The old block is counted as freed
// where it was allocated, and the first time the agent says so on stderr.
void retire_stale(void* p, std::uint64_t size, std::uint32_t stack) {
    g_stacks.get(stack)->count_free(size, thread_token());
    if (g_stale_retired.fetch_add(1, std::memory_order_relaxed) != 0) return;
    char line[400];
    const int n = std::snprintf(
        line, sizeof line,
        "leakhunt agent (pid %d): the allocator returned %p, which the agent still held as in use "
        "(its free bypassed the agent, e.g. in a library opened with RTLD_DEEPBIND); the stale "
        "record is retired, and so will be any other\n",
        ::getpid(), p);
    if (n > 0) {
        ssize_t ignored = ::write(2, line, static_cast<std::size_t>(n));
        (void)ignored;
    }
}

}  // namespace

std::atomic<bool> g_active{false};

void init_stack_cache() {
    if (g_cache_key_ok.load()) return;
    g_cache_key_ok.store(pthread_key_create(&g_cache_key, drop_stack_cache) == 0,
                         std::memory_order_release);
}

std::uint64_t stale_records_retired() {
    return g_stale_retired.load(std::memory_order_relaxed);
}

void disable_agent(const char* why) {
    static std::atomic<bool> said{false};
    g_active = false;
    if (said.exchange(true)) return;
    char line[512];
    const int n = std::snprintf(line, sizeof line,
                                "leakhunt agent (pid %d): disabled: %s (the program goes on)\n",
                                ::getpid(), why);
    if (n > 0) {
        ssize_t ignored = ::write(2, line, static_cast<std::size_t>(n));
        (void)ignored;
    }
}

StackTable& stacks() {
    return g_stacks;
}
LiveTable& live() {
    return g_live;
}

void record_alloc(void* p, std::size_t size) {
    std::uintptr_t ips[k_max_depth];
    const std::size_t depth = capture_stack(ips, g_config.depth);
    const auto d = static_cast<std::uint32_t>(depth);
    const std::uint32_t id = intern_cached(ips, d);
    if (id == 0) {
        disable_agent("the stack table is full or out of memory; recording stops here");
        return;
    }
    StackRecord* rec = g_stacks.get(id);
    const std::uint32_t me = thread_token();
    std::uint64_t stale_size = 0;
    std::uint32_t stale_stack = 0;
    if (!g_live.insert(reinterpret_cast<std::uintptr_t>(p), size, id, me, stale_size,
                       stale_stack)) {
        disable_agent("no memory for the live-allocation table; recording stops here");
        return;
    }
    if (stale_stack != 0) retire_stale(p, stale_size, stale_stack);
    rec->count_alloc(size, me);
    t_last_alloc = reinterpret_cast<std::uintptr_t>(p);
}

void count_free(std::uint64_t size, std::uint32_t stack) {
    g_stacks.get(stack)->count_free(size, thread_token());
}

bool record_take(void* p, std::uint64_t& size, std::uint32_t& stack) {
    return g_live.remove(reinterpret_cast<std::uintptr_t>(p), size, stack, thread_token());
}

void record_free(void* p) {
    std::uint64_t size = 0;
    std::uint32_t stack = 0;
    if (!record_take(p, size, stack)) return;
    count_free(size, stack);
    if (reinterpret_cast<std::uintptr_t>(p) == t_last_alloc) {
        t_last_alloc = 0;
        if (g_config.full()) g_temporary.fetch_add(1, std::memory_order_relaxed);
    }
}

std::uint64_t temporary_allocations() {
    return g_temporary.load(std::memory_order_relaxed);
}

void record_restore(void* p, std::uint64_t size, std::uint32_t stack) {
    std::uint64_t stale_size = 0;
    std::uint32_t stale_stack = 0;
    g_live.insert(reinterpret_cast<std::uintptr_t>(p), size, stack, thread_token(), stale_size,
                  stale_stack);
}

}  // namespace leakhunt::agent
