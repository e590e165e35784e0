// Tests for flat_by_function: the leaf user function gets each sample; agent and allocator
// frames are skipped; rows are sorted by the chosen value; unknown frames keep module+offset.
#include "symbolize/flat.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

// agent hook -> malloc -> cache_put (user) -> main, and a second sample directly in main;
// a third sample in an unsymbolized library.
profile::Profile heap() {
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
    return p;
}

}  // namespace

TEST(FlatByFunction, LeafUserFunctionGetsTheSample) {
    Symbolizer s;
    const auto rows = flat_by_function(heap(), s, "inuse_space", "heap.pb.gz");
    ASSERT_EQ(rows.size(), 3U);
    EXPECT_EQ(rows[0].function, "cache_put(int)");
    EXPECT_EQ(rows[0].inuse_bytes, 2500);
    EXPECT_EQ(rows[0].inuse_objects, 6);
    EXPECT_EQ(rows[0].alloc_bytes, 3000);
    EXPECT_EQ(rows[0].alloc_objects, 11);
    EXPECT_EQ(rows[0].file, "cache.cpp");
    EXPECT_EQ(rows[0].line, 43);  // the line holding the most in-use bytes
    EXPECT_EQ(rows[0].module, "server");
    EXPECT_EQ(rows[1].function, "main");
    EXPECT_EQ(rows[1].inuse_bytes, 300);
    EXPECT_EQ(rows[2].function, "[anon:jit]+0x2040");
    EXPECT_EQ(rows[2].line, 0);
}

TEST(FlatByFunction, SortsByTheChosenValue) {
    Symbolizer s;
    const auto rows = flat_by_function(heap(), s, "alloc_objects", "heap.pb.gz");
    EXPECT_EQ(rows[0].function, "cache_put(int)");
    EXPECT_EQ(rows[1].function, "main");
    EXPECT_EQ(rows[0].line, 42);  // most allocations happened on line 42
}

TEST(FlatByFunction, MissingSampleTypeNamesFileAndChoices) {
    profile::Profile p = heap();
    p.sample_types = {{"objects", "count"}, {"space", "bytes"}, {"a", "b"}, {"c", "d"}};
    Symbolizer s;
    try {
        flat_by_function(p, s, "inuse_space", "heap.pb.gz");
        FAIL() << "expected an error";
    } catch (const util::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("heap.pb.gz"), std::string::npos) << what;
        EXPECT_NE(what.find("objects, space"), std::string::npos) << what;
    }
}

TEST(IsAllocatorFunction, EntryPointsAndOverloads) {
    for (const char* name :
         {"malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
          "memalign", "valloc", "pvalloc", "malloc@plt", "operator new(unsigned long)",
          "operator new[](unsigned long)", "operator new(unsigned long, std::align_val_t)",
          "__libc_malloc", "__GI___libc_malloc"}) {
        EXPECT_TRUE(is_allocator_function(name)) << name;
    }
    for (const char* name : {"main", "my_malloc_wrapper", "operator delete(void*)", ""}) {
        EXPECT_FALSE(is_allocator_function(name)) << name;
    }
}

}  // namespace leakhunt::symbolize
