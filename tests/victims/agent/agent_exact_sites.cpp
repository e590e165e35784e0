// agent_exact's allocation sites (agent_exact_sites.hpp): each writes its block and makes it
// escape, so that the compiler keeps the allocation and the call stays a frame of its own.
#include "agent_exact_sites.hpp"

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

using leakhunt::victims::agent::escape;

[[noreturn]] void out_of_memory(std::size_t size) {
    std::fprintf(stderr, "agent_exact: allocation of %zu bytes failed\n", size);
    std::exit(1);
}

// Writes every byte (a nonzero pattern: GCC would fold malloc+memset(0) into calloc) and makes
// the block escape; the work after the call also keeps the site's call from being a tail call.
void* touch(void* block, std::size_t size) {
    if (block == nullptr && size != 0) out_of_memory(size);
    if (block != nullptr) std::memset(block, 0x5a, size);
    escape(block);
    return block;
}

}  // namespace

// ---- Allocation sites: external linkage so the symbol names are exactly these. ----

LEAKHUNT_SITE void* site_malloc_small(std::size_t size) {
    return touch(std::malloc(size), size);
}
LEAKHUNT_SITE void* site_malloc_medium(std::size_t size) {
    return touch(std::malloc(size), size);
}
LEAKHUNT_SITE void* site_malloc_large(std::size_t size) {
    return touch(std::malloc(size), size);
}
LEAKHUNT_SITE void* site_malloc_zero() {
    void* block = std::malloc(0);  // glibc: a unique minimum-size block that must be freed
    escape(block);
    return block;
}
LEAKHUNT_SITE void* site_calloc(std::size_t count, std::size_t size) {
    void* block = std::calloc(count, size);
    if (block == nullptr) out_of_memory(count * size);
    escape(block);
    return block;
}
LEAKHUNT_SITE void* site_realloc_null(std::size_t size) {
    return touch(std::realloc(nullptr, size), size);  // realloc(NULL, n) is malloc(n)
}
LEAKHUNT_SITE void* site_realloc_chain_start(std::size_t size) {
    return touch(std::malloc(size), size);
}
LEAKHUNT_SITE void* site_realloc_grow(void* block, std::size_t size) {
    return touch(std::realloc(block, size), size);
}
LEAKHUNT_SITE void* site_realloc_grow_last(void* block, std::size_t size) {
    return touch(std::realloc(block, size), size);
}
LEAKHUNT_SITE void* site_realloc_zero_source(std::size_t size) {
    return touch(std::malloc(size), size);
}
// glibc: realloc(p, 0) frees p and returns NULL (man 3 realloc; C23 makes it undefined). Another
// allocator may return a minimum-size block instead; the caller accounts for either.
LEAKHUNT_SITE void* site_realloc_to_zero(void* block) {
    void* result = std::realloc(block, 0);
    escape(result);
    return result;
}
LEAKHUNT_SITE void* site_reallocarray(std::size_t count, std::size_t size) {
    return touch(reallocarray(nullptr, count, size), count * size);
}
LEAKHUNT_SITE void* site_reallocarray_resize(void* block, std::size_t count, std::size_t size) {
    return touch(reallocarray(block, count, size), count * size);
}
LEAKHUNT_SITE void* site_posix_memalign(std::size_t alignment, std::size_t size) {
    void* block = nullptr;
    if (posix_memalign(&block, alignment, size) != 0) out_of_memory(size);
    return touch(block, size);
}
LEAKHUNT_SITE void* site_aligned_alloc(std::size_t alignment, std::size_t size) {
    return touch(std::aligned_alloc(alignment, size), size);
}
LEAKHUNT_SITE void* site_memalign(std::size_t alignment, std::size_t size) {
    return touch(memalign(alignment, size), size);
}
LEAKHUNT_SITE void* site_valloc(std::size_t size) {
    return touch(valloc(size), size);
}
// pvalloc rounds the size up to whole pages; callers pass a page multiple so the requested and
// the rounded size agree and the ground truth does not depend on which one the agent records.
LEAKHUNT_SITE void* site_pvalloc(std::size_t size) {
    return touch(pvalloc(size), size);
}
LEAKHUNT_SITE Widget* site_new_object(std::uint64_t seed) {
    auto* widget = new Widget{{seed, seed + 1, seed + 2, seed + 3, seed + 4}};
    escape(widget);
    return widget;
}
LEAKHUNT_SITE std::uint32_t* site_new_array(std::size_t count) {
    auto* array = new std::uint32_t[count];
    touch(array, count * sizeof(std::uint32_t));
    return array;
}
LEAKHUNT_SITE Tracked* site_new_array_cookie(std::size_t count) {
    auto* array = new Tracked[count]();
    escape(array);
    return array;
}
LEAKHUNT_SITE Aligned64* site_new_aligned() {
    auto* object = new Aligned64();
    escape(object);
    return object;
}
LEAKHUNT_SITE Aligned64* site_new_aligned_array(std::size_t count) {
    auto* array = new Aligned64[count]();
    escape(array);
    return array;
}
LEAKHUNT_SITE Widget* site_new_nothrow(std::uint64_t seed) {
    auto* widget = new (std::nothrow) Widget{{seed, seed, seed, seed, seed}};
    if (widget == nullptr) out_of_memory(sizeof(Widget));
    escape(widget);
    return widget;
}
LEAKHUNT_SITE std::uint64_t* site_new_nothrow_array(std::size_t count) {
    auto* array = new (std::nothrow) std::uint64_t[count];
    if (array == nullptr) out_of_memory(count * sizeof(std::uint64_t));
    touch(array, count * sizeof(std::uint64_t));
    return array;
}
LEAKHUNT_SITE Aligned64* site_new_aligned_nothrow() {
    auto* object = new (std::nothrow) Aligned64();
    if (object == nullptr) out_of_memory(sizeof(Aligned64));
    escape(object);
    return object;
}
LEAKHUNT_SITE Aligned64* site_new_aligned_array_nothrow(std::size_t count) {
    auto* array = new (std::nothrow) Aligned64[count]();
    if (array == nullptr) out_of_memory(count * sizeof(Aligned64));
    escape(array);
    return array;
}
LEAKHUNT_SITE void* site_operator_new_direct(std::size_t size) {
    return touch(::operator new(size), size);
}
LEAKHUNT_SITE void* site_operator_new_array_direct(std::size_t size) {
    return touch(::operator new[](size), size);
}
LEAKHUNT_SITE void* site_thread_produce(std::size_t size) {
    return touch(std::malloc(size), size);
}
