// Tests for aggregate(): flat and cum by function, line, file and module with exact values;
// recursion counted once in cum; the site skips allocator and runtime-library frames and keeps
// the library callee; focus/ignore with pprof's semantics; short_callee.
#include "symbolize/aggregate.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::symbolize {
namespace {

// s1: operator new <- std::string::_M_create (libstdc++) <- insert:42 <- handle <- main
// s2: malloc <- insert:50 <- handle <- main
// s3: malloc <- recurse <- recurse <- handle <- main
// s4: malloc <- handle <- main (freed: no in-use value)
profile::Profile heap() {
    profile::Profile p = profile::make_heap_profile();
    p.mappings = {
        {.id = 1, .memory_start = 0x1000, .memory_limit = 0x9000, .filename = "/opt/app/server"},
        {.id = 2,
         .memory_start = 0x7f0000000000,
         .memory_limit = 0x7f0000100000,
         .filename = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"}};
    p.functions = {
        {.id = 1, .name = "malloc"},
        {.id = 2, .name = "operator new(unsigned long)"},
        {.id = 3,
         .name = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> "
                 ">::_M_create(unsigned long&, unsigned long)"},
        {.id = 4, .name = "SessionCache::insert(int)", .filename = "cache.cpp"},
        {.id = 5, .name = "handle", .filename = "server.cpp"},
        {.id = 6, .name = "main", .filename = "main.cpp"},
        {.id = 7, .name = "recurse", .filename = "r.cpp"}};
    p.locations = {{.id = 1, .mapping_id = 2, .address = 0x7f0000000100, .lines = {{2, 0}}},
                   {.id = 2, .mapping_id = 2, .address = 0x7f0000000200, .lines = {{3, 0}}},
                   {.id = 3, .mapping_id = 1, .address = 0x1100, .lines = {{4, 42}}},
                   {.id = 4, .mapping_id = 1, .address = 0x1200, .lines = {{5, 10}}},
                   {.id = 5, .mapping_id = 1, .address = 0x1300, .lines = {{6, 5}}},
                   {.id = 6, .mapping_id = 1, .address = 0x1400, .lines = {{7, 3}}},
                   {.id = 7, .mapping_id = 1, .address = 0x1010, .lines = {{1, 0}}},
                   {.id = 8, .mapping_id = 1, .address = 0x1150, .lines = {{4, 50}}}};
    // alloc_objects, alloc_space, inuse_objects, inuse_space
    p.samples = {{{1, 2, 3, 4, 5}, {2, 1000, 1, 500}, {}},
                 {{7, 8, 4, 5}, {4, 400, 2, 300}, {}},
                 {{7, 6, 6, 4, 5}, {1, 50, 1, 50}, {}},
                 {{7, 4, 5}, {1, 10, 0, 0}, {}}};
    return p;
}

const AggregateRow& row(const Aggregate& a, const std::string& name) {
    for (const auto& r : a.rows) {
        if (r.name == name) return r;
    }
    throw std::runtime_error("no row " + name);
}

Aggregate run(Granularity by, std::string focus = "", std::string ignore = "") {
    Symbolizer s;
    AggregateOptions o;
    o.by = by;
    o.focus = std::move(focus);
    o.ignore = std::move(ignore);
    return aggregate(heap(), s, o, "heap.pb.gz");
}

}  // namespace

TEST(Aggregate, ByFunctionFlatAndCum) {
    const Aggregate a = run(Granularity::function);
    EXPECT_EQ(a.samples, 4U);
    EXPECT_EQ(a.total, (HeapValues{850, 4, 1460, 8}));
    ASSERT_EQ(a.rows.size(), 7U);
    EXPECT_EQ(a.rows[0].name, "SessionCache::insert(int)");
    EXPECT_EQ(a.rows[0].flat, (HeapValues{800, 3, 1400, 6}));
    EXPECT_EQ(a.rows[0].cum, (HeapValues{800, 3, 1400, 6}));
    EXPECT_EQ(a.rows[0].file, "cache.cpp");
    EXPECT_EQ(a.rows[0].line, 42);  // 500 in-use bytes on line 42, 300 on line 50
    EXPECT_EQ(a.rows[0].callee, "std::string");
    EXPECT_EQ(a.rows[0].module, "server");
    EXPECT_EQ(a.rows[1].name, "recurse");
    EXPECT_EQ(a.rows[1].flat, (HeapValues{50, 1, 50, 1}));
    EXPECT_EQ(a.rows[1].cum, (HeapValues{50, 1, 50, 1}));  // twice on the stack, counted once
    EXPECT_EQ(a.rows[1].callee, "malloc");
    const AggregateRow& handle = row(a, "handle");
    EXPECT_EQ(handle.flat, (HeapValues{0, 0, 10, 1}));
    EXPECT_EQ(handle.cum, (HeapValues{850, 4, 1460, 8}));
    EXPECT_EQ(row(a, "main").cum.inuse_bytes, 850);
    EXPECT_EQ(row(a, "malloc").flat, HeapValues{});
    EXPECT_EQ(row(a, "malloc").cum.inuse_bytes, 350);
    EXPECT_EQ(row(a, "operator new(unsigned long)").cum.inuse_bytes, 500);
}

TEST(Aggregate, ByLine) {
    const Aggregate a = run(Granularity::line);
    EXPECT_EQ(a.rows[0].name, "SessionCache::insert(int) cache.cpp:42");
    EXPECT_EQ(a.rows[0].line, 42);
    EXPECT_EQ(a.rows[0].flat.inuse_bytes, 500);
    EXPECT_EQ(a.rows[0].callee, "std::string");
    EXPECT_EQ(a.rows[1].name, "SessionCache::insert(int) cache.cpp:50");
    EXPECT_EQ(a.rows[1].flat.inuse_bytes, 300);
    EXPECT_EQ(a.rows[1].callee, "malloc");
    EXPECT_EQ(row(a, "recurse r.cpp:3").cum.inuse_objects, 1);
}

TEST(Aggregate, ByFileAndModule) {
    const Aggregate f = run(Granularity::file);
    EXPECT_EQ(f.rows[0].name, "cache.cpp");
    EXPECT_EQ(f.rows[0].flat.inuse_bytes, 800);
    EXPECT_EQ(row(f, "r.cpp").flat.inuse_bytes, 50);
    EXPECT_EQ(row(f, "server.cpp").flat.alloc_bytes, 10);
    EXPECT_EQ(row(f, "server.cpp").cum.inuse_bytes, 850);
    EXPECT_EQ(row(f, "libstdc++.so.6").cum.inuse_bytes, 500);  // no file: the module
    EXPECT_EQ(row(f, "server").cum.inuse_bytes, 350);          // malloc@plt, no file

    const Aggregate m = run(Granularity::module);
    ASSERT_EQ(m.rows.size(), 2U);
    EXPECT_EQ(m.rows[0].name, "server");
    EXPECT_EQ(m.rows[0].flat, (HeapValues{850, 4, 1460, 8}));
    EXPECT_EQ(m.rows[1].name, "libstdc++.so.6");
    EXPECT_EQ(m.rows[1].flat, HeapValues{});
    EXPECT_EQ(m.rows[1].cum, (HeapValues{500, 1, 1000, 2}));
}

TEST(Aggregate, FocusKeepsSamplesWithAMatchingFrame) {
    const Aggregate a = run(Granularity::function, "^recurse$");
    EXPECT_EQ(a.samples, 1U);
    EXPECT_EQ(a.samples_dropped, 3U);
    EXPECT_EQ(a.total.inuse_bytes, 50);
    EXPECT_EQ(a.rows[0].name, "recurse");
    EXPECT_EQ(row(a, "main").cum.inuse_bytes, 50);
}

TEST(Aggregate, IgnoreDropsSamplesWithAMatchingFrame) {
    const Aggregate a = run(Granularity::function, "", "basic_string|recurse");
    EXPECT_EQ(a.samples, 2U);
    EXPECT_EQ(a.total.inuse_bytes, 300);
    EXPECT_EQ(a.rows[0].name, "SessionCache::insert(int)");
    EXPECT_EQ(a.rows[0].flat.inuse_bytes, 300);
    EXPECT_EQ(a.rows[0].line, 50);
    // focus then ignore
    const Aggregate b = run(Granularity::function, "insert", "basic_string");
    EXPECT_EQ(b.total.inuse_bytes, 300);
}

TEST(Aggregate, BadRegexIsAUsageError) {
    EXPECT_THROW(run(Granularity::function, "("), util::UsageError);
}

TEST(Aggregate, SortByCum) {
    Aggregate a = run(Granularity::function);
    sort_rows(a.rows, "inuse_space", SortKey::cum);
    EXPECT_EQ(a.rows[0].name, "handle");  // ties with main (850) broken by name
    EXPECT_EQ(a.rows[1].name, "main");
    EXPECT_EQ(a.rows[2].name, "SessionCache::insert(int)");
}

// Go writes samples with no frames: they are the row "(unknown)" and count in the total, so that
// the rows add up to it as pprof's total does (go_legacy_empty_stack.heap: 2402883 bytes).
TEST(Aggregate, EmptyStackIsTheUnknownRow) {
    profile::Profile p = heap();
    p.samples.push_back({{}, {4, 200, 2, 100}, {}});
    Symbolizer s;
    const Aggregate a = aggregate(p, s, AggregateOptions{}, "heap.pb.gz");
    EXPECT_EQ(a.samples, 5U);
    EXPECT_EQ(a.total, (HeapValues{950, 6, 1660, 12, 0}));
    const AggregateRow& unknown = row(a, "(unknown)");
    EXPECT_EQ(unknown.flat, (HeapValues{100, 2, 200, 4, 0}));
    EXPECT_EQ(unknown.cum, unknown.flat);
    int64_t sum = 0;
    for (const auto& r : a.rows) sum += r.flat.inuse_bytes;
    EXPECT_EQ(sum, a.total.inuse_bytes);
    // --focus keeps only samples with a matching frame, which an empty stack lacks.
    AggregateOptions focus;
    focus.focus = "insert";
    EXPECT_EQ(aggregate(p, s, focus, "heap.pb.gz").samples_dropped, 3U);
}

// A goroutine profile has one sample type, goroutine/count: ranked by it, each row's value is
// `other`, which get() returns for that name.
TEST(Aggregate, RanksByASampleTypeThatIsNotAHeapOne) {
    profile::Profile p = heap();
    p.sample_types = {{"goroutine", "count"}};
    p.period_type = {"goroutine", "count"};
    p.samples = {{{3, 4, 5}, {7}, {}}, {{6, 4, 5}, {2}, {}}, {{}, {1}, {}}};
    Symbolizer s;
    AggregateOptions o;
    o.sort_by = "goroutine";
    const Aggregate a = aggregate(p, s, o, "goroutine.pb.gz");
    EXPECT_EQ(a.total.get("goroutine"), 10);
    EXPECT_EQ(a.total.inuse_bytes, 0);
    ASSERT_GE(a.rows.size(), 3U);
    EXPECT_EQ(a.rows[0].name, "SessionCache::insert(int)");
    EXPECT_EQ(a.rows[0].flat.get("goroutine"), 7);
    EXPECT_EQ(a.rows[1].name, "recurse");
    EXPECT_EQ(a.rows[2].name, "(unknown)");
    EXPECT_EQ(row(a, "handle").cum.get("goroutine"), 9);
    EXPECT_EQ(a.rows[0].flat.get(""), 0);
    o.sort_by = "inuse_space";
    try {
        aggregate(p, s, o, "goroutine.pb.gz");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_STREQ(e.what(),
                     "goroutine.pb.gz has no sample type inuse_space (it has: "
                     "goroutine); choose one of those with --sample-index");
    }
}

TEST(ShortCallee, LibraryNames) {
    EXPECT_EQ(short_callee("std::__cxx11::basic_string<char, std::char_traits<char>, "
                           "std::allocator<char> >::_M_create(unsigned long&, unsigned long)"),
              "std::string");
    EXPECT_EQ(short_callee("std::vector<int, std::allocator<int> >::_M_realloc_insert<int "
                           "const&>(__gnu_cxx::__normal_iterator<int*, std::vector<int> >, int "
                           "const&)"),
              "std::vector");
    EXPECT_EQ(short_callee("std::_Hashtable<std::__cxx11::basic_string<char>, int>::_M_insert()"),
              "std::unordered_map");
    EXPECT_EQ(short_callee("operator new(unsigned long)"), "operator new");
    EXPECT_EQ(short_callee("__GI___libc_malloc"), "__libc_malloc");
    EXPECT_EQ(short_callee("strdup"), "strdup");
}

// Hand-built profiles may number locations sparsely (no index lookup) and put one function in
// two mappings (two memo entries): the rows are those of the dense profile.
TEST(Aggregate, SparseLocationIdsGiveTheSameRows) {
    profile::Profile sparse = heap();
    for (auto& l : sparse.locations) l.id *= 10;
    for (auto& s : sparse.samples) {
        for (auto& id : s.location_ids) id *= 10;
    }
    for (const Granularity by :
         {Granularity::function, Granularity::line, Granularity::file, Granularity::module}) {
        Symbolizer symbolizer;
        AggregateOptions o;
        o.by = by;
        const Aggregate dense = run(by);
        const Aggregate a = aggregate(sparse, symbolizer, o, "sparse.pb.gz");
        ASSERT_EQ(a.rows.size(), dense.rows.size());
        for (size_t i = 0; i < a.rows.size(); ++i) {
            EXPECT_EQ(a.rows[i].name, dense.rows[i].name);
            EXPECT_EQ(a.rows[i].line, dense.rows[i].line);
            EXPECT_EQ(a.rows[i].callee, dense.rows[i].callee);
            EXPECT_EQ(a.rows[i].flat, dense.rows[i].flat);
            EXPECT_EQ(a.rows[i].cum, dense.rows[i].cum);
        }
    }
}

TEST(Aggregate, OneFunctionInTwoMappingsIsTwoRows) {
    profile::Profile p = heap();
    // handle (function 5) also in a plugin's mapping, on line 11.
    p.mappings.push_back({.id = 3,
                          .memory_start = 0x7e0000000000,
                          .memory_limit = 0x7e0000100000,
                          .filename = "/opt/app/libplugin.so"});
    p.locations.push_back(
        {.id = 9, .mapping_id = 3, .address = 0x7e0000000300, .lines = {{5, 11}}});
    p.samples.push_back({{7, 9, 5}, {1, 64, 1, 64}, {}});
    Symbolizer symbolizer;
    AggregateOptions o;
    const Aggregate a = aggregate(p, symbolizer, o, "two.pb.gz");
    std::vector<const AggregateRow*> handles;
    for (const auto& r : a.rows) {
        if (r.name == "handle") handles.push_back(&r);
    }
    ASSERT_EQ(handles.size(), 2U);
    const AggregateRow& lib = handles[0]->module == "server" ? *handles[1] : *handles[0];
    const AggregateRow& app = handles[0]->module == "server" ? *handles[0] : *handles[1];
    EXPECT_EQ(lib.module, "libplugin.so");
    EXPECT_EQ(lib.flat, (HeapValues{64, 1, 64, 1}));
    EXPECT_EQ(lib.line, 11);
    EXPECT_EQ(app.flat, (HeapValues{0, 0, 10, 1}));
    EXPECT_EQ(app.line, 10);
}

}  // namespace leakhunt::symbolize
