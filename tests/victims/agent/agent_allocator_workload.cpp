// agent_jemalloc / agent_tcmalloc: one small workload linked against another allocator, so the
// agent's RTLD_NEXT originals are jemalloc's or tcmalloc's and not glibc's (and, for tcmalloc,
// operator new/delete come from the allocator too). It asks the allocator itself for a
// statistic to prove it is the one in use, then runs malloc/calloc/realloc/posix_memalign/
// aligned_alloc/new/new[] churn on 4 threads with a known live set at the end.
// Prints "allocator=NAME in_use=yes" and "workload: ..." (deterministic) and exits 0.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

// Declared here rather than through the allocators' headers, which redeclare malloc & co.
#if defined(AGENT_VICTIM_JEMALLOC)
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen);
namespace {
constexpr const char* k_allocator = "jemalloc";
// jemalloc counts this thread's allocated bytes; nonzero once the workload ran through it.
bool allocator_in_use() {
    std::uint64_t allocated = 0;
    std::size_t length = sizeof(allocated);
    return mallctl("thread.allocated", &allocated, &length, nullptr, 0) == 0 && allocated > 0;
}
}  // namespace
#elif defined(AGENT_VICTIM_TCMALLOC)
extern "C" int MallocExtension_GetNumericProperty(const char* property, std::size_t* value);
namespace {
constexpr const char* k_allocator = "tcmalloc";
bool allocator_in_use() {
    std::size_t allocated = 0;
    return MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &allocated) != 0 &&
           allocated > 0;
}
}  // namespace
#else
#error "define AGENT_VICTIM_JEMALLOC or AGENT_VICTIM_TCMALLOC"
#endif

LEAKHUNT_SITE void* workload_site_alloc(std::size_t i, std::size_t size) {
    void* block = nullptr;
    switch (i % 5) {
        case 0:
            block = std::malloc(size);
            break;
        case 1:
            block = std::calloc(size, 1);
            break;
        case 2:
            block = std::realloc(nullptr, size);
            break;
        case 3:
            if (posix_memalign(&block, 64, size) != 0) block = nullptr;
            break;
        default:
            block = std::aligned_alloc(32, (size + 31) & ~std::size_t{31});
            break;
    }
    if (block == nullptr) std::abort();
    std::memset(block, 0x42, size);
    escape(block);
    return block;
}

LEAKHUNT_SITE std::string* workload_site_new(std::size_t i) {
    auto* text = new std::string(100 + i % 50, 'w');  // new, plus the string's own buffer
    escape(text);
    return text;
}

namespace {

struct Result {
    std::size_t live_blocks = 0;
    std::size_t live_bytes = 0;
};

Result run_thread(std::size_t thread_index) {
    std::vector<void*> blocks(1000, nullptr);
    std::vector<std::unique_ptr<std::string>> texts;
    Result result;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const std::size_t size = 16 + (thread_index * 131 + i * 37) % 3000;
        blocks[i] = workload_site_alloc(i, size);
        if (i % 3 == 0) blocks[i] = std::realloc(blocks[i], size * 2);
        texts.emplace_back(workload_site_new(i));
        if (i % 10 == 0) {
            ++result.live_blocks;
            result.live_bytes += i % 3 == 0 ? size * 2 : size;
        }
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (i % 10 != 0) std::free(blocks[i]);  // 10% stay live until exit
    }
    return result;
}

}  // namespace

int main() {
    std::array<Result, 4> results{};
    std::array<std::thread, 4> threads;
    for (std::size_t i = 0; i < threads.size(); ++i) {
        threads[i] = std::thread([&results, i] { results[i] = run_thread(i); });
    }
    for (std::thread& thread : threads) thread.join();
    Result total;
    for (const Result& r : results) {
        total.live_blocks += r.live_blocks;
        total.live_bytes += r.live_bytes;
    }
    std::printf("allocator=%s in_use=%s\n", k_allocator, allocator_in_use() ? "yes" : "no");
    std::printf("workload: threads=4 allocs_per_thread=2000 live_blocks=%zu live_bytes=%zu\n",
                total.live_blocks, total.live_bytes);
    return 0;
}
