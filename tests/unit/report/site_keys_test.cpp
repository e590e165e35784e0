// Tests for the labels the report layer gives each runtime's sites (report/site_keys.hpp), and
// for sites that are not native allocation sites (a JVM class, a Python line, a goroutine group)
// going through find_snapshot_suspects: ranked and said as their runtime names them.
#include "report/site_keys.hpp"

#include <gtest/gtest.h>

#include "report/snapshot_suspects.hpp"

namespace leakhunt::report {
namespace {

trend::SiteKey key(std::string name, std::string file = "", int64_t line = 0) {
    trend::SiteKey k;
    k.name = std::move(name);
    k.file = std::move(file);
    k.line = line;
    return k;
}

TEST(SiteKeys, AllocationLabelsDropParametersButKeepGoMethodsWhole) {
    EXPECT_EQ(
        allocation_label(key("main.(*server).handleLookup", "/src/app/server.go", 88), "bytes"),
        "memory allocated in main.(*server).handleLookup (/src/app/server.go:88)");
    trend::SiteKey cxx = key("ns::Cache::insert(std::string const&) const", "cache.cpp");
    EXPECT_EQ(allocation_label(cxx, "objects"),
              "objects allocated in ns::Cache::insert (cache.cpp)");
    cxx.callee = "std::string";
    cxx.line = 42;
    EXPECT_EQ(allocation_label(cxx, "bytes"),
              "std::string allocated in ns::Cache::insert (cache.cpp:42)");
    EXPECT_EQ(allocation_label(key("register", "app.py", 42), "bytes"),
              "memory allocated in register (app.py:42)");
}

TEST(SiteKeys, GoroutineLabelsSayTheStateAndTheFilesBaseName) {
    trend::SiteKey g = key("main.handleRequest.func1", "/src/app/main.go", 42);
    g.state = "chan receive";
    EXPECT_EQ(goroutine_label(g),
              "blocked in chan receive in main.handleRequest.func1 (main.go:42)");
    g.state = "running";
    g.line = 0;
    EXPECT_EQ(goroutine_label(g), "running in main.handleRequest.func1 (main.go)");
    g.state = "syscall";
    EXPECT_EQ(goroutine_label(g), "in a system call in main.handleRequest.func1 (main.go)");
    g.state = "";
    g.file = "";
    EXPECT_EQ(goroutine_label(g), "blocked in waiting in main.handleRequest.func1");
}

TEST(SiteKeys, ClassesAndTheJdksModules) {
    EXPECT_EQ(class_label(key("com.example.Session")), "class com.example.Session");
    EXPECT_TRUE(is_jdk_module("java.base@17.0.15"));
    EXPECT_TRUE(is_jdk_module("jdk.internal.vm.ci@17"));
    EXPECT_FALSE(is_jdk_module("app"));
    EXPECT_FALSE(is_jdk_module("javax.app"));
}

constexpr int64_t k_t0 = 1'700'000'000'000'000'000;

// The suspects of `profiles` by inuse_space, in the order given.
SnapshotSuspects suspects_of(const std::vector<profile::Profile>& profiles) {
    std::vector<SuspectSnapshot> in;
    for (unsigned i = 0; i < profiles.size(); ++i)
        in.push_back({"s" + std::to_string(i), i, &profiles[i]});
    symbolize::Symbolizer sym;
    return find_snapshot_suspects(in, sym, "inuse_space");
}

// A class histogram at minute `i` as capture/java writes one: a mapping per module, a function per
// class, inuse_objects/inuse_space per row. com.example.Session (module "app") gains 10
// instances of 32 bytes a minute; byte[] (java.base) gains 50 of 40 bytes; java.lang.Class stays.
profile::Profile histogram(int i) {
    profile::Profile p = profile::make_heap_profile();
    p.time_nanos = k_t0 + int64_t{60'000'000'000} * i;
    p.period = 1;
    p.mappings = {
        {.id = 1, .filename = profile::java_class_mapping("java.base@17"), .has_functions = true},
        {.id = 2, .filename = profile::java_class_mapping("app"), .has_functions = true}};
    p.functions = {{.id = 1, .name = "byte[]"},
                   {.id = 2, .name = "com.example.Session"},
                   {.id = 3, .name = "java.lang.Class"}};
    p.locations = {{.id = 1, .mapping_id = 1, .address = 0x10, .lines = {{1, 0}}},
                   {.id = 2, .mapping_id = 2, .address = 0x20, .lines = {{2, 0}}},
                   {.id = 3, .mapping_id = 1, .address = 0x30, .lines = {{3, 0}}}};
    const int64_t bytes = 100 + 50 * i;
    const int64_t sessions = 10 + 10 * i;
    p.samples = {{{1}, {0, 0, bytes, 40 * bytes}, {}},
                 {{2}, {0, 0, sessions, 32 * sessions}, {}},
                 {{3}, {0, 0, 20, 5000}, {}}};
    return p;
}

TEST(SiteKeys, AnApplicationClassRanksBeforeTheJdksClassesAndCountsInstances) {
    std::vector<profile::Profile> ps;
    for (int i = 0; i < 5; ++i) ps.push_back(histogram(i));
    const SnapshotSuspects s = suspects_of(ps);
    ASSERT_EQ(s.report.suspects.size(), 2u);
    EXPECT_EQ(s.report.suspects[0].site.key.name, "com.example.Session");
    EXPECT_FALSE(s.report.suspects[0].site.key.rank_last);
    EXPECT_EQ(s.report.suspects[1].site.key.name, "byte[]");
    EXPECT_TRUE(s.report.suspects[1].site.key.rank_last);
    // 320 of 320 + 2000 bytes a minute.
    EXPECT_EQ(s.report.suspects[0].sentence,
              "com.example.Session +10 instances/min (320 B/min), monotone over 5 snapshots: 14% "
              "of all heap growth");
    ASSERT_EQ(s.report.others.size(), 1u);
    EXPECT_EQ(s.report.others[0].sentence.rfind("class java.lang.Class holds 4.88 KiB", 0), 0u)
        << s.report.others[0].sentence;
    const nlohmann::json row = suspect_json(s.report.suspects[0], 1, s.unit);
    EXPECT_EQ(row["function"], "com.example.Session");
    EXPECT_EQ(row["rank"], 1);
}

// A tracemalloc snapshot as leakhunt writes one: a Python line is a function, file and line.
profile::Profile python_snapshot(int i) {
    profile::Profile p = profile::make_heap_profile();
    p.time_nanos = k_t0 + int64_t{60'000'000'000} * i;
    p.functions = {{.id = 1, .name = "register", .filename = "app.py"},
                   {.id = 2, .name = "load", .filename = "config.py"}};
    p.locations = {{.id = 1, .address = 0, .lines = {{1, 42}}},
                   {.id = 2, .address = 0, .lines = {{2, 7}}}};
    p.samples = {{{1}, {0, 0, 3 * i, 3000 * int64_t{i}}, {}}, {{2}, {0, 0, 1, 800}, {}}};
    return p;
}

TEST(SiteKeys, APythonLineIsRankedAndSaidByItsFileAndLine) {
    std::vector<profile::Profile> ps;
    for (int i = 1; i <= 4; ++i) ps.push_back(python_snapshot(i));
    const SnapshotSuspects s = suspects_of(ps);
    ASSERT_EQ(s.report.suspects.size(), 1u);
    EXPECT_EQ(s.report.suspects[0].site.key.label, "memory allocated in register (app.py:42)");
    EXPECT_EQ(s.report.suspects[0].sentence,
              "memory allocated in register (app.py:42) grows 2.93 KiB/min, monotone over 4 "
              "snapshots: 100% of all heap growth");
    ASSERT_EQ(s.report.others.size(), 1u);
    EXPECT_EQ(s.report.others[0].site.key.label, "memory allocated in load (config.py:7)");
    EXPECT_EQ(s.report.others[0].trend.shape, trend::SiteShape::flat);
}

}  // namespace
}  // namespace leakhunt::report
