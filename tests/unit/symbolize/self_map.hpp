// Test helpers: the mapping of this process that holds an address (read from /proc/self/maps)
// and a few functions with known names and lines to symbolize.
#pragma once

#include <cstdint>

#include "profile/profile.hpp"

namespace leakhunt::symbolize::testing {

// The /proc/self/maps line holding `address`, as a pprof Mapping with id 1.
profile::Mapping self_mapping(uint64_t address);

// An out-of-line function whose first instruction is on k_target_line of self_map.cpp.
int target_function(int x);
extern const int k_target_line;

// Returns (return address - 1) of the call made on k_call_line of self_map.cpp by
// caller_function, as a profile's non-leaf frame would hold it.
uint64_t caller_function();
extern const int k_call_line;

// Returns (return address - 1) of the call made on k_inlined_call_line by inlined_helper, which
// is always inlined into outer_function on k_outer_call_line.
uint64_t outer_function();
extern const int k_inlined_call_line;
extern const int k_outer_call_line;

}  // namespace leakhunt::symbolize::testing
