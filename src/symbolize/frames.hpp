// The frames of a profile's location (from its lines, or the symbolizer) and the allocator entry
// points that are never an allocation site (aggregate.hpp skips them at the leaf). Stateless
// apart from the Symbolizer it is given; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::symbolize {

// True for allocator entry points that are never the interesting frame: malloc, calloc, realloc,
// reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc, operator new/new[]
// (any overload), their glibc __libc_ and __GI_ aliases and @plt stubs.
bool is_allocator_function(std::string_view name);

// The frames of one location, innermost first: from its lines when symbolized, else from
// `symbolizer` (an unknown frame at worst). Never empty.
std::vector<Frame> location_frames(const profile::Profile& p, const profile::Location& location,
                                   Symbolizer& symbolizer);

}  // namespace leakhunt::symbolize
