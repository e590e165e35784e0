// The runtime.MemStats readers on what Go 1.19 serves (the heap?debug=1 block below is a real
// one, cut to the lines after the profile's records), expvar's JSON, the columns, the URLs.
#include "capture/go/memstats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "series/series.hpp"
#include "util/error.hpp"

namespace leakhunt::capture::go {
namespace {

std::string pauses(size_t n, const std::string& value) {
    std::string out = "[";
    for (size_t i = 0; i < n; ++i) out += (i ? " " : "") + value;
    return out + "]";
}

std::string heap_text(const std::string& num_gc, const std::string& pause_ns) {
    return "heap profile: 3: 1200 [9: 4096] @ heap/524288\n"
           "1: 400 [3: 1200] @ 0x4a 0x4b\n"
           "#\t0x4a\tmain.f+0x1\t/src/main.go:3\n"
           "\n"
           "# runtime.MemStats\n"
           "# Alloc = 1636096\n"
           "# TotalAlloc = 1636096\n"
           "# Sys = 14398728\n"
           "# HeapAlloc = 1636096\n"
           "# HeapSys = 3866624\n"
           "# HeapIdle = 1376256\n"
           "# HeapInuse = 2490368\n"
           "# HeapReleased = 1343488\n"
           "# HeapObjects = 2157\n"
           "# Stack = 327680 / 327680\n"
           "# NextGC = 4194304\n"
           "# PauseNs = " +
           pause_ns +
           "\n"
           "# PauseEnd = " +
           pauses(256, "0") +
           "\n"
           "# NumGC = " +
           num_gc +
           "\n"
           "# GCCPUFraction = 0\n"
           "# DebugGC = false\n"
           "# MaxRSS = 7786496\n";
}

TEST(ParseMemstatsText, ReadsTheFieldsAndSumsThePauses) {
    std::string pause = pauses(256, "0");
    pause.replace(1, 1, "1500");                 // first pause 1500 ns
    pause.replace(pause.size() - 2, 1, "2500");  // last 2500 ns
    const auto m = parse_memstats_text(heap_text("3", pause), "u");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->heap_sys, 3866624);
    EXPECT_EQ(m->heap_idle, 1376256);
    EXPECT_EQ(m->heap_inuse, 2490368);
    EXPECT_EQ(m->heap_released, 1343488);
    EXPECT_EQ(m->num_gc, 3);
    EXPECT_EQ(m->pause_total_ns, 4000);
    // After 256 GCs the buffer has dropped the oldest pauses: the total is unknown.
    const auto late = parse_memstats_text(heap_text("257", pause), "u");
    ASSERT_TRUE(late);
    EXPECT_FALSE(late->pause_total_ns);
    EXPECT_EQ(late->num_gc, 257);
}

TEST(ParseMemstatsText, NoBlockIsNullopt) {
    EXPECT_FALSE(parse_memstats_text("heap profile: 0: 0 [0: 0] @ heap/1\n", "u"));
    EXPECT_FALSE(parse_memstats_text("", "u"));
    // The words inside a line are not the block.
    EXPECT_FALSE(parse_memstats_text("x # runtime.MemStats\n# HeapSys = 1\n", "u"));
}

TEST(ParseMemstatsText, MalformedFieldsNameTheUrlAndField) {
    const auto message = [](const std::string& text) {
        try {
            (void)parse_memstats_text(text, "http://h:1/debug/pprof/heap?debug=1");
        } catch (const util::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(message(heap_text("-1", "[]")),
              "http://h:1/debug/pprof/heap?debug=1: runtime.MemStats field NumGC: \"-1\" is not "
              "a non-negative integer");
    EXPECT_EQ(message(heap_text("1", "[1 x]")),
              "http://h:1/debug/pprof/heap?debug=1: runtime.MemStats field PauseNs: \"x\" is not "
              "a non-negative integer");
    EXPECT_EQ(message(heap_text("1", pauses(257, "1"))),
              "http://h:1/debug/pprof/heap?debug=1: runtime.MemStats field PauseNs holds more "
              "than 256 values");
    EXPECT_EQ(message(heap_text("1", "1 2")),
              "http://h:1/debug/pprof/heap?debug=1: runtime.MemStats field PauseNs: \"1 2\" is "
              "not a [list]");
    EXPECT_EQ(message("# runtime.MemStats\n# HeapSys = 99999999999999999999999\n"),
              "http://h:1/debug/pprof/heap?debug=1: runtime.MemStats field HeapSys: "
              "\"99999999999999999999999\" is not a non-negative integer");
}

TEST(ParseExpvarMemstats, ReadsPauseTotalNs) {
    const auto m = parse_expvar_memstats(
        R"({"cmdline":["x"],"memstats":{"HeapSys":8,"HeapIdle":4,"HeapInuse":3,)"
        R"("HeapReleased":1,"NumGC":300,"PauseTotalNs":123456789,"PauseNs":[1,2]}})",
        "v");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->heap_sys, 8);
    EXPECT_EQ(m->heap_idle, 4);
    EXPECT_EQ(m->heap_inuse, 3);
    EXPECT_EQ(m->heap_released, 1);
    EXPECT_EQ(m->num_gc, 300);
    EXPECT_EQ(m->pause_total_ns, 123456789);
    EXPECT_FALSE(parse_expvar_memstats(R"({"cmdline":["x"]})", "v"));
    EXPECT_THROW((void)parse_expvar_memstats("404 page not found", "v"), util::Error);
    try {
        (void)parse_expvar_memstats(R"({"memstats":{"HeapSys":"8"}})", "http://h:1/debug/vars");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_STREQ(e.what(),
                     "http://h:1/debug/vars: field memstats.HeapSys is not a non-negative number");
    }
}

TEST(GoCounters, ColumnsInOrderAndSecondsOfPause) {
    EXPECT_EQ(go_counter_columns(),
              (std::vector<std::string>{"goroutines", "go_heap_inuse_bytes", "go_heap_idle_bytes",
                                        "go_heap_released_bytes", "go_heap_sys_bytes",
                                        "go_gc_count", "go_gc_pause_total_s"}));
    MemStats m;
    m.heap_inuse = 3;
    m.pause_total_ns = 2.5e9;
    const auto c = go_counters(m, 12);
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.at("goroutines"), 12);
    EXPECT_EQ(c.at("go_heap_inuse_bytes"), 3);
    EXPECT_DOUBLE_EQ(c.at("go_gc_pause_total_s"), 2.5);
    EXPECT_TRUE(go_counters(std::nullopt, std::nullopt).empty());
}

TEST(EndpointsBeside, OnlyBesideAHeapEndpoint) {
    const auto e = endpoints_beside("http://127.0.0.1:6060/debug/pprof/heap");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->goroutine, "http://127.0.0.1:6060/debug/pprof/goroutine?debug=0");
    EXPECT_EQ(e->heap_text, "http://127.0.0.1:6060/debug/pprof/heap?debug=1");
    EXPECT_EQ(e->vars, "http://127.0.0.1:6060/debug/vars");
    const auto mounted = endpoints_beside("https://h/admin/pprof/heap?gc=1");
    ASSERT_TRUE(mounted);
    EXPECT_EQ(mounted->goroutine, "https://h/admin/pprof/goroutine?debug=0");
    EXPECT_EQ(mounted->vars, "");
    EXPECT_FALSE(endpoints_beside("http://h/profile.pb.gz"));
    EXPECT_FALSE(endpoints_beside("http://h/heapx"));
    EXPECT_THROW((void)endpoints_beside("ftp://h/heap"), util::Error);
}

}  // namespace
}  // namespace leakhunt::capture::go
