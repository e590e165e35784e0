// Functions with known lines for the symbolizer tests. Line numbers are taken with __LINE__ so
// editing this file does not break the tests; keep each marked statement on its own line.
#include "self_map.hpp"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace leakhunt::symbolize::testing {

profile::Mapping self_mapping(uint64_t address) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        uint64_t start = 0;
        uint64_t end = 0;
        uint64_t offset = 0;
        char perms[8] = {};
        int path_at = 0;
        if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &start,
                        &end, perms, &offset, &path_at) < 4) {
            continue;
        }
        if (address < start || address >= end) continue;
        return {.id = 1,
                .memory_start = start,
                .memory_limit = end,
                .file_offset = offset,
                .filename = path_at > 0 ? line.substr(static_cast<size_t>(path_at)) : ""};
    }
    throw std::runtime_error("address not in /proc/self/maps");
}

namespace {

volatile int g_sink = 0;

__attribute__((noinline)) uint64_t return_address_minus_one() {
    const auto ra = reinterpret_cast<uint64_t>(__builtin_return_address(0));
    asm volatile("" ::: "memory");  // keep the call a real call, not a tail call
    return ra - 1;
}

constexpr int k_inlined_line = __LINE__ + 2;
__attribute__((always_inline)) inline uint64_t inlined_helper(uint64_t x) {
    const uint64_t r = return_address_minus_one();
    g_sink = g_sink + static_cast<int>(x);  // work after the call keeps it inside the inlined range
    return r;
}

}  // namespace

const int k_target_line = __LINE__ + 1;
__attribute__((noinline)) int target_function(int x) {
    g_sink = g_sink + x;
    return g_sink * 3;
}

const int k_call_line = __LINE__ + 2;
__attribute__((noinline)) uint64_t caller_function() {
    const uint64_t r = return_address_minus_one();
    g_sink = g_sink + 1;
    return r;
}

const int k_inlined_call_line = k_inlined_line;
const int k_outer_call_line = __LINE__ + 2;
__attribute__((noinline)) uint64_t outer_function() {
    const uint64_t r = inlined_helper(static_cast<uint64_t>(g_sink));
    g_sink = g_sink + 1;
    return r;
}

}  // namespace leakhunt::symbolize::testing
