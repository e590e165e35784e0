// Hand-built heap profiles for the report tests: a small one whose flame tree is known exactly,
// and a wide one for the "other" merging.
#pragma once

#include <string>

#include "profile/profile.hpp"

namespace leakhunt::report::testing {

// agent hook -> operator new -> cache_put (cache.cpp:42) -> main (main.cpp:7): 500 in use;
// the same through cache.cpp:43: 2000; main alone: 300; an unsymbolized JIT frame under main:
// 100. With `only_first`, just the first sample (the "earlier" snapshot of a diff).
inline profile::Profile small_heap(bool only_first = false) {
    profile::Profile p = profile::make_heap_profile();
    p.mappings = {
        {.id = 1, .memory_start = 0x1000, .memory_limit = 0x9000, .filename = "/opt/app/server"},
        {.id = 2,
         .memory_start = 0x7f0000000000,
         .memory_limit = 0x7f0000010000,
         .filename = "/usr/lib/libleakhunt_agent.so"},
        {.id = 3,
         .memory_start = 0x7e0000000000,
         .memory_limit = 0x7e0000010000,
         .file_offset = 0x2000,
         .filename = "[anon:jit]"}};
    p.functions = {{.id = 1, .name = "leakhunt::agent::malloc_hook(unsigned long)"},
                   {.id = 2, .name = "operator new(unsigned long)"},
                   {.id = 3, .name = "cache_put(int)", .filename = "cache.cpp"},
                   {.id = 4, .name = "main", .filename = "main.cpp"}};
    p.locations = {{.id = 1, .mapping_id = 2, .address = 0x7f0000000100, .lines = {{1, 10}}},
                   {.id = 2, .mapping_id = 1, .address = 0x1100, .lines = {{2, 0}}},
                   {.id = 3, .mapping_id = 1, .address = 0x1200, .lines = {{3, 42}}},
                   {.id = 4, .mapping_id = 1, .address = 0x1300, .lines = {{4, 7}}},
                   {.id = 5, .mapping_id = 1, .address = 0x1310, .lines = {{3, 43}}},
                   {.id = 6, .mapping_id = 3, .address = 0x7e0000000040}};
    // alloc_objects, alloc_space, inuse_objects, inuse_space
    p.samples = {{{1, 2, 3, 4}, {10, 1000, 5, 500}, {}},
                 {{1, 2, 5, 4}, {1, 2000, 1, 2000}, {}},
                 {{4}, {3, 300, 3, 300}, {}},
                 {{6, 4}, {1, 100, 1, 100}, {}}};
    if (only_first) p.samples.resize(1);
    return p;
}

// main -> big (100000 bytes) and main -> fn_0 .. fn_{n-1} (1 byte each), all symbolized.
inline profile::Profile wide_heap(int n) {
    profile::Profile p = profile::make_heap_profile();
    p.mappings = {{.id = 1, .memory_start = 0x1000, .memory_limit = 0x100000, .filename = "/a"}};
    p.functions = {{.id = 1, .name = "main"}, {.id = 2, .name = "big"}};
    p.locations = {{.id = 1, .mapping_id = 1, .address = 0x1000, .lines = {{1, 1}}},
                   {.id = 2, .mapping_id = 1, .address = 0x1010, .lines = {{2, 1}}}};
    p.samples.push_back({{2, 1}, {1, 100000, 1, 100000}, {}});
    for (int i = 0; i < n; ++i) {
        const uint64_t id = static_cast<uint64_t>(i) + 3;
        p.functions.push_back({.id = id, .name = "fn_" + std::to_string(i)});
        p.locations.push_back({.id = id, .mapping_id = 1, .address = 0x2000 + id, .lines = {{id, 1}}});
        p.samples.push_back({{id, 1}, {1, 1, 1, 1}, {}});
    }
    return p;
}

}  // namespace leakhunt::report::testing
