// Tests for the flat rows of aggregate() (what `top` shows): the leaf user function gets each
// sample; agent and allocator frames are skipped; rows are sorted by the chosen value; unknown
// frames keep module+offset. And the allocator names of frames.hpp.
#include "symbolize/frames.hpp"

#include <gtest/gtest.h>

#include "common/heap_profiles.hpp"
#include "symbolize/aggregate.hpp"
#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

// agent hook -> operator new -> cache_put (user) -> main, a second sample directly in main, a
// third under an unsymbolized JIT frame (common/heap_profiles.hpp).
profile::Profile heap() {
    return leakhunt::testing::small_heap();
}

// The rows that are allocation sites (flat values), as `top` lists them.
std::vector<AggregateRow> flat_by_function(const profile::Profile& p, Symbolizer& symbolizer,
                                           std::string_view sort_by, std::string_view source) {
    AggregateOptions options;
    options.sort_by = std::string(sort_by);
    std::vector<AggregateRow> rows = aggregate(p, symbolizer, options, source).rows;
    std::erase_if(rows, [](const AggregateRow& r) { return r.flat == HeapValues{}; });
    return rows;
}

}  // namespace

TEST(FlatByFunction, LeafUserFunctionGetsTheSample) {
    Symbolizer s;
    const auto rows = flat_by_function(heap(), s, "inuse_space", "heap.pb.gz");
    ASSERT_EQ(rows.size(), 3U);
    EXPECT_EQ(rows[0].function, "cache_put(int)");
    EXPECT_EQ(rows[0].flat.inuse_bytes, 2500);
    EXPECT_EQ(rows[0].flat.inuse_objects, 6);
    EXPECT_EQ(rows[0].flat.alloc_bytes, 3000);
    EXPECT_EQ(rows[0].flat.alloc_objects, 11);
    EXPECT_EQ(rows[0].file, "cache.cpp");
    EXPECT_EQ(rows[0].line, 43);  // the line holding the most in-use bytes
    EXPECT_EQ(rows[0].module, "server");
    EXPECT_EQ(rows[1].function, "main");
    EXPECT_EQ(rows[1].flat.inuse_bytes, 300);
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

TEST(IsLibraryFrame, PythonStandardLibraryButNotInstalledPackages) {
    const auto python = [](const char* file) {
        Frame f;
        f.function = "f";
        f.file = file;
        return f;
    };
    for (const char* file :
         {"/usr/lib/python3.11/http/server.py", "<frozen abc>", "<frozen importlib._bootstrap>",
          "/root/.pyenv/versions/3.11.7/lib/python3.11/email/utils.py",
          "/usr/local/lib/python3.12/functools.py"}) {
        EXPECT_TRUE(is_library_frame(python(file), false)) << file;
    }
    for (const char* file : {"/srv/app.py", "/usr/lib/python3/dist-packages/requests/api.py",
                             "/usr/local/lib/python3.11/site-packages/flask/app.py",
                             "/usr/lib/python3.11/dist-packages/x.py", "/srv/lib/python3.x/a.py",
                             "/usr/lib/python3.11/lib-dynload/x.so", "<string>", "<stdin>"}) {
        EXPECT_FALSE(is_library_frame(python(file), false)) << file;
    }
    // A native frame of a module is judged by its module, not its file.
    Frame native = python("/usr/lib/python3.11/http/server.py");
    native.module = "libpython3.11.so.1.0";
    EXPECT_FALSE(is_library_frame(native, false));
}

// tracemalloc's frames (no mapping, a file and line each): a standard-library line under the
// user's line is the user's site; a traceback of only library lines keeps its innermost line.
TEST(FlatByFunction, PythonSiteIsTheUsersLineUnderTheStandardLibrary) {
    profile::Profile p = profile::make_heap_profile();
    const std::vector<std::pair<std::string, std::string>> functions = {
        {"format_datetime", "/usr/lib/python3.11/email/utils.py"},
        {"register", "/srv/app.py"},
        {"handle_one_request", "/usr/lib/python3.11/http/server.py"}};
    for (size_t i = 0; i < functions.size(); ++i) {
        const uint64_t id = i + 1;
        p.functions.push_back({id, functions[i].first, functions[i].first, functions[i].second, 1});
        profile::Location loc;
        loc.id = id;
        loc.address = id;
        loc.lines.push_back(profile::Line{id, static_cast<int64_t>(10 * id), 0});
        p.locations.push_back(std::move(loc));
    }
    p.samples.push_back({{1, 2}, {2, 200, 2, 200}, {}});  // utils.py under app.py
    p.samples.push_back({{3}, {1, 50, 1, 50}, {}});       // server.py alone
    Symbolizer s;
    const auto rows = flat_by_function(p, s, "inuse_space", "heap.pb.gz");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].function, "register");
    EXPECT_EQ(rows[0].line, 20);
    EXPECT_EQ(rows[0].flat.inuse_bytes, 200);
    EXPECT_EQ(rows[1].function, "handle_one_request");
    EXPECT_EQ(rows[1].flat.inuse_bytes, 50);
}

}  // namespace leakhunt::symbolize
