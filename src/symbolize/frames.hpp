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

// The C and C++ runtimes and the loader (libc, libstdc++, libc++, libgcc_s, libm, ld-linux,
// libpthread, musl), by the module's file name.
bool is_runtime_module(std::string_view module);

// Not the user's code, the one rule every view (profiles, heap scans, flame graphs) names an
// allocation site by: a frame in a runtime module, of the standard library by its qualified name
// (a leading return type, "void std::...", is looked past), or, for an `inlined` frame (not its
// location's outermost one), by its source in the standard library's headers. Inlined frames
// carry unqualified names ("_M_create", "allocate"), so their file tells; the outermost frame's
// file can be a header too (a line of inlined code without its own DWARF scope) while the
// function is the user's, so there only the module and the name count. A Python frame (no
// module) is library code when its file is CPython's standard library: a frozen module, or a
// .py file under ".../lib/python3.N/" outside site-packages and dist-packages.
bool is_library_frame(const Frame& f, bool inlined);

// The frames of one location, innermost first: from its lines when symbolized, else from
// `symbolizer` (an unknown frame at worst). Never empty.
std::vector<Frame> location_frames(const profile::Profile& p, const profile::Location& location,
                                   Symbolizer& symbolizer);

}  // namespace leakhunt::symbolize
