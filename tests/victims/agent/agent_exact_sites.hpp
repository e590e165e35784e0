// agent_exact's allocation sites (agent_exact.cpp has the program and its ground truth): one
// LEAKHUNT_SITE function per allocation entry point the agent interposes, each allocating one
// block (or array) and nothing else, and the types whose operator new/new[] forms they call.
// Defined in agent_exact_sites.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agent_victim_support.hpp"

namespace leakhunt::victims::agent_exact {

struct Widget {
    std::uint64_t fields[5];
};
static_assert(sizeof(Widget) == 40);

// A non-trivial destructor makes new[] store the element count in a cookie before the array:
// Itanium C++ ABI 2.7, cookie size max(sizeof(size_t), alignof(T)) = 8 here, so operator new[]
// is asked for n * sizeof(Tracked) + 8 bytes.
struct Tracked {
    std::uint64_t fields[3];
    ~Tracked() { agent::escape(this); }
};
static_assert(sizeof(Tracked) == 24 && alignof(Tracked) <= sizeof(std::size_t));
constexpr std::size_t k_array_cookie = sizeof(std::size_t);

struct alignas(64) Aligned64 {
    unsigned char bytes[192];
};
static_assert(sizeof(Aligned64) == 192);

}  // namespace leakhunt::victims::agent_exact

// External linkage (extern "C") so the symbol names are exactly these.
using leakhunt::victims::agent_exact::Aligned64;
using leakhunt::victims::agent_exact::k_array_cookie;
using leakhunt::victims::agent_exact::Tracked;
using leakhunt::victims::agent_exact::Widget;

LEAKHUNT_SITE void* site_malloc_small(std::size_t size);
LEAKHUNT_SITE void* site_malloc_medium(std::size_t size);
LEAKHUNT_SITE void* site_malloc_large(std::size_t size);
LEAKHUNT_SITE void* site_malloc_zero();
LEAKHUNT_SITE void* site_calloc(std::size_t count, std::size_t size);
LEAKHUNT_SITE void* site_realloc_null(std::size_t size);
LEAKHUNT_SITE void* site_realloc_chain_start(std::size_t size);
LEAKHUNT_SITE void* site_realloc_grow(void* block, std::size_t size);
LEAKHUNT_SITE void* site_realloc_grow_last(void* block, std::size_t size);
LEAKHUNT_SITE void* site_realloc_zero_source(std::size_t size);
LEAKHUNT_SITE void* site_realloc_to_zero(void* block);
LEAKHUNT_SITE void* site_reallocarray(std::size_t count, std::size_t size);
LEAKHUNT_SITE void* site_reallocarray_resize(void* block, std::size_t count, std::size_t size);
LEAKHUNT_SITE void* site_posix_memalign(std::size_t alignment, std::size_t size);
LEAKHUNT_SITE void* site_aligned_alloc(std::size_t alignment, std::size_t size);
LEAKHUNT_SITE void* site_memalign(std::size_t alignment, std::size_t size);
LEAKHUNT_SITE void* site_valloc(std::size_t size);
LEAKHUNT_SITE void* site_pvalloc(std::size_t size);
LEAKHUNT_SITE Widget* site_new_object(std::uint64_t seed);
LEAKHUNT_SITE std::uint32_t* site_new_array(std::size_t count);
LEAKHUNT_SITE Tracked* site_new_array_cookie(std::size_t count);
LEAKHUNT_SITE Aligned64* site_new_aligned();
LEAKHUNT_SITE Aligned64* site_new_aligned_array(std::size_t count);
LEAKHUNT_SITE Widget* site_new_nothrow(std::uint64_t seed);
LEAKHUNT_SITE std::uint64_t* site_new_nothrow_array(std::size_t count);
LEAKHUNT_SITE Aligned64* site_new_aligned_nothrow();
LEAKHUNT_SITE Aligned64* site_new_aligned_array_nothrow(std::size_t count);
LEAKHUNT_SITE void* site_operator_new_direct(std::size_t size);
LEAKHUNT_SITE void* site_operator_new_array_direct(std::size_t size);
LEAKHUNT_SITE void* site_thread_produce(std::size_t size);
