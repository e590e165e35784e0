// Victim for the sampled mode's accuracy test: four allocation sites with known shares of a
// ~97 MiB live heap (blocks of 1 MiB, 16 KiB, 512 B and 32 B), allocated interleaved and kept live
// to the end. Prints the ground truth as JSON lines, like agent_exact.
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

std::vector<void*> g_keep;

extern "C" __attribute__((noipa)) void* site_sampling_huge() {
    return std::malloc(1 << 20);
}
extern "C" __attribute__((noipa)) void* site_sampling_large() {
    return std::malloc(16 << 10);
}
extern "C" __attribute__((noipa)) void* site_sampling_medium() {
    return std::malloc(512);
}
extern "C" __attribute__((noipa)) void* site_sampling_small() {
    return std::malloc(32);
}

void touch(void* p, std::size_t n) {
    if (p == nullptr) std::abort();
    static_cast<volatile char*>(p)[0] = 1;
    static_cast<volatile char*>(p)[n - 1] = 1;
}

}  // namespace

int main() {
    constexpr int k_huge = 40, k_large = 2000, k_medium = 40000, k_small = 200000;
    g_keep.reserve(k_huge + k_large + k_medium + k_small);
    // Interleave: one huge per 5000 small, one large per 100 small, one medium per 5 small.
    for (int i = 0; i < k_small; ++i) {
        if (i % 5000 == 0) g_keep.push_back(site_sampling_huge()), touch(g_keep.back(), 1 << 20);
        if (i % 100 == 0) g_keep.push_back(site_sampling_large()), touch(g_keep.back(), 16 << 10);
        if (i % 5 == 0) g_keep.push_back(site_sampling_medium()), touch(g_keep.back(), 512);
        g_keep.push_back(site_sampling_small());
        touch(g_keep.back(), 32);
    }
    const struct {
        const char* name;
        long long count, size;
    } sites[] = {{"site_sampling_huge", k_huge, 1 << 20},
                 {"site_sampling_large", k_large, 16 << 10},
                 {"site_sampling_medium", k_medium, 512},
                 {"site_sampling_small", k_small, 32}};
    for (const auto& s : sites) {
        std::printf("{\"function\": \"%s\", \"inuse_bytes\": %lld, \"inuse_objects\": %lld}\n",
                    s.name, s.count * s.size, s.count);
    }
    return 0;
}
