// Hand-built heap profiles for the report tests: a small one whose flame tree is known exactly,
// and a wide one for the "other" merging.
#pragma once

#include <string>

#include "common/heap_profiles.hpp"
#include "profile/profile.hpp"

namespace leakhunt::report::testing {

using leakhunt::testing::small_heap;

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
        p.locations.push_back(
            {.id = id, .mapping_id = 1, .address = 0x2000 + id, .lines = {{id, 1}}});
        p.samples.push_back({{id, 1}, {1, 1, 1, 1}, {}});
    }
    return p;
}

}  // namespace leakhunt::report::testing
