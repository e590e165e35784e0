// Flat per-function totals of a heap profile, as `leakhunt top` and `go tool pprof -top` show
// them: each sample counts once, for the function that allocated (its allocation site, see
// aggregate.hpp: agent, allocator entry points and the runtime library's frames at the leaf are
// skipped so that the row is the user's code). Stateless apart from the Symbolizer it is given; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::symbolize {

struct FlatRow {
    std::string function;  // display name: the function, or "module+0xoffset" when unknown
    std::string file;      // empty when unknown
    int64_t line = 0;      // the line in `function` holding the most of the sorting value
    std::string module;    // base name of the mapped file
    int64_t inuse_bytes = 0;
    int64_t inuse_objects = 0;
    int64_t alloc_bytes = 0;
    int64_t alloc_objects = 0;
};

// The four heap values of a row, by Go's sample type name.
int64_t row_value(const FlatRow& row, std::string_view sample_type);

// True for allocator entry points that are never the interesting frame: malloc, calloc, realloc,
// reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc, operator new/new[]
// (any overload), their glibc __libc_ and __GI_ aliases and @plt stubs.
bool is_allocator_function(std::string_view name);

// The frames of one location, innermost first: from its lines when symbolized, else from
// `symbolizer` (an unknown frame at worst). Never empty.
std::vector<Frame> location_frames(const profile::Profile& p, const profile::Location& location,
                                   Symbolizer& symbolizer);

// One row per function, sorted by `sort_by` (a Go heap sample type such as "inuse_space")
// descending, then by name. Values of sample types the profile lacks stay 0. Throws util::Error
// naming `source_name` when `sort_by` is not a sample type of the profile.
std::vector<FlatRow> flat_by_function(const profile::Profile& p, Symbolizer& symbolizer,
                                      std::string_view sort_by, std::string_view source_name);

}  // namespace leakhunt::symbolize
