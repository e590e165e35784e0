// agent_ctor_dtor: allocation outside main(), where an agent's own setup or teardown may not be
// ready: a constructor function and a static object's constructor (before main), a thread_local
// destructor, an atexit handler, a static destructor and a destructor function (after main).
// Each prints one line; the order is fixed by the C and C++ runtimes:
//   ctor_function, static_ctor, main, thread_local_dtor, atexit, static_dtor, dtor_function.
// Exits 0.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

// Allocates and frees a few blocks through malloc and new; returns the bytes allocated.
LEAKHUNT_SITE std::size_t ctor_dtor_site_churn(std::size_t seed) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        const std::size_t size = 32 + (seed + i) * 8;
        void* block = std::malloc(size);
        if (block == nullptr) std::abort();
        std::memset(block, 0x11, size);
        escape(block);
        std::free(block);
        auto vector = std::make_unique<std::vector<int>>(size, 1);
        escape(vector.get());
        total += size + size * sizeof(int) + sizeof(std::vector<int>);
    }
    return total;
}

namespace {

void* g_from_ctor_function = nullptr;

struct StaticObject {
    StaticObject() : m_text(200, 'x'), m_bytes(ctor_dtor_site_churn(1)) {
        std::printf("static_ctor: text=%zu churned=%zu\n", m_text.size(), m_bytes);
    }
    ~StaticObject() {
        const std::size_t bytes = ctor_dtor_site_churn(3);
        std::string copy = m_text + m_text;  // allocates during static destruction
        std::printf("static_dtor: copy=%zu churned=%zu\n", copy.size(), bytes);
    }
    StaticObject(const StaticObject&) = delete;
    StaticObject& operator=(const StaticObject&) = delete;

    std::string m_text;
    std::size_t m_bytes;
};

StaticObject g_static_object;

struct ThreadLocalObject {
    ThreadLocalObject() : m_block(std::malloc(300)) {}
    ~ThreadLocalObject() {
        const std::size_t bytes = ctor_dtor_site_churn(4);
        std::free(m_block);
        std::printf("thread_local_dtor: churned=%zu\n", bytes);
    }
    ThreadLocalObject(const ThreadLocalObject&) = delete;
    ThreadLocalObject& operator=(const ThreadLocalObject&) = delete;

    void* m_block;
};

thread_local ThreadLocalObject t_object;

void at_exit_handler() {
    const std::size_t bytes = ctor_dtor_site_churn(5);
    void* leaked = std::malloc(77);  // allocated after main, never freed
    escape(leaked);
    std::printf("atexit: churned=%zu\n", bytes);
}

}  // namespace

// The order of this function and the static object's constructor within one translation unit
// is the order of their .init_array entries: fixed for a given build (GCC 12 runs this one
// first), not by the language, so tests compare runs instead of hard-coding it.
__attribute__((constructor)) static void ctor_function() {
    g_from_ctor_function = std::malloc(123);
    escape(g_from_ctor_function);
    std::printf("ctor_function: churned=%zu\n", ctor_dtor_site_churn(0));
}

__attribute__((destructor)) static void dtor_function() {
    std::free(g_from_ctor_function);
    std::printf("dtor_function: churned=%zu\n", ctor_dtor_site_churn(6));
}

int main() {
    escape(&t_object);  // constructs the main thread's thread_local
    if (std::atexit(at_exit_handler) != 0) return 1;
    std::printf("main: churned=%zu\n", ctor_dtor_site_churn(2));
    return 0;
}
