// The bootstrap's snapshot file: parsed exactly, refused with the line when malformed, and turned
// into a heap profile with Python frames.
#include "capture/python/pytrace.hpp"

#include <gtest/gtest.h>

#include "profile/pprof.hpp"
#include "util/error.hpp"

namespace leakhunt::capture::python {
namespace {

constexpr std::string_view k_file =
    "leakhunt-pytrace 1\n"
    "time 1700000000.5\n"
    "traced_bytes 5000\n"
    "traced_peak_bytes 7000\n"
    "depth 2\n"
    "gc_objects 1234\n"
    "gc_count 5 6 7\n"
    "gc_collections 10 2 1\n"
    "dropped 3 30 4\n"
    "frame 0 42 40 /srv/app.py register\n"
    "frame 1 50 48 /srv/app.py Handler.do_GET\n"
    "frame 2 7 0 /srv/my%20dir/x%25.py %3Cmodule%3E\n"
    "trace 4096 16 0 1\n"
    "trace 100 2 1\n"
    "trace 8 1 2\n"
    "end 3 3\n";

TEST(ParsePytrace, ReadsEveryField) {
    const PyTraceFile t = parse_pytrace(k_file, "t");
    EXPECT_DOUBLE_EQ(t.unix_time, 1700000000.5);
    EXPECT_EQ(t.traced_bytes, 5000);
    EXPECT_EQ(t.traced_peak_bytes, 7000);
    EXPECT_EQ(t.depth, 2);
    EXPECT_EQ(t.gc_objects, 1234);
    EXPECT_EQ(t.gc_count, (std::array<int64_t, 3>{5, 6, 7}));
    EXPECT_EQ(t.gc_collections, (std::array<int64_t, 3>{10, 2, 1}));
    EXPECT_EQ(t.dropped_traces, 3);
    EXPECT_EQ(t.dropped_bytes, 30);
    EXPECT_EQ(t.dropped_blocks, 4);
    ASSERT_EQ(t.frames.size(), 3u);
    EXPECT_EQ(t.frames[0], (PyFrame{"/srv/app.py", "register", 42, 40}));
    EXPECT_EQ(t.frames[2], (PyFrame{"/srv/my dir/x%.py", "<module>", 7, 0}));
    ASSERT_EQ(t.traces.size(), 3u);
    EXPECT_EQ(t.traces[0], (PyTraceback{4096, 16, {0, 1}}));
    EXPECT_EQ(t.traces[1], (PyTraceback{100, 2, {1}}));
}

TEST(ParsePytrace, RefusesMalformedInputNamingTheLine) {
    const auto message = [](std::string_view text) {
        try {
            (void)parse_pytrace(text, "f");
        } catch (const util::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("").find("f: the file is empty"), std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 2\n").find("f:1: expected"), std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\ntrace 1 1 0\nend 1 0\n")
                  .find("f:2: frame 0 is used before it is defined"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\nframe 1 1 1 a b\n").find("f:2: frame id 1 out of order"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\ntrace -1 1\n").find("f:2: size \"-1\""),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\nframe 0 1 1 a%4 b\n").find("malformed %-escape"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\ntrace 1 1\n").find("no `end` trailer"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\ntrace 1 1\nend 2 0\n").find("counts 2 tracebacks"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\nend 0 0").find("cut short"), std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\nend 0 0\nend 0 0\n").find("after the `end`"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\ndepth 1 2\nend 0 0\n").find("more fields"),
              std::string::npos);
    EXPECT_NE(message("leakhunt-pytrace 1\nbogus\n").find("unknown record \"bogus\""),
              std::string::npos);
}

TEST(ToProfile, PythonFramesAsFunctionsAndLines) {
    const profile::Profile p = to_profile(parse_pytrace(k_file, "t"));
    ASSERT_EQ(p.sample_types.size(), 4u);
    EXPECT_EQ(p.sample_types[3].type, "inuse_space");
    EXPECT_EQ(p.time_nanos, 1700000000500000000);
    // Three tracebacks and the dropped ones as one frameless sample.
    ASSERT_EQ(p.samples.size(), 4u);
    EXPECT_EQ(p.samples[0].values, (std::vector<int64_t>{16, 4096, 16, 4096}));
    ASSERT_EQ(p.samples[0].location_ids.size(), 2u);
    const profile::Location* leaf = profile::find_location(p, p.samples[0].location_ids[0]);
    ASSERT_NE(leaf, nullptr);
    ASSERT_EQ(leaf->lines.size(), 1u);
    EXPECT_EQ(leaf->lines[0].line, 42);
    const profile::Function* f = profile::find_function(p, leaf->lines[0].function_id);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->name, "register");
    EXPECT_EQ(f->filename, "/srv/app.py");
    EXPECT_EQ(f->start_line, 40);
    // Handler.do_GET at line 50 is one location, used by two samples.
    EXPECT_EQ(p.samples[0].location_ids[1], p.samples[1].location_ids[0]);
    EXPECT_TRUE(p.samples[3].location_ids.empty());
    EXPECT_EQ(p.samples[3].values, (std::vector<int64_t>{4, 30, 4, 30}));
    EXPECT_EQ(p.functions.size(), 3u);
    // pprof round trip.
    EXPECT_EQ(profile::parse_profile(profile::serialize_profile(p), "again").samples.size(), 4u);
}

TEST(DecodeField, PercentEscapes) {
    bool ok = false;
    EXPECT_EQ(decode_field("a%20b%0A", &ok), "a b\n");
    EXPECT_TRUE(ok);
    EXPECT_EQ(decode_field("%", &ok), "");
    EXPECT_TRUE(ok);
    (void)decode_field("%G0", &ok);
    EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace leakhunt::capture::python
