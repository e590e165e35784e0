// Hand-built heap profiles shared by the unit tests of several layers (symbolize, report).
#pragma once

#include "profile/profile.hpp"

namespace leakhunt::testing {

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

}  // namespace leakhunt::testing
