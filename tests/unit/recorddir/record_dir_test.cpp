// Tests for the record directory contract: names, listing, timeline by header, manifest and
// the exit-snapshot rule.
#include "recorddir/record_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <string_view>
#include <vector>

#include "format/agent_protocol.hpp"
#include "util/error.hpp"
#include "util/file.hpp"

namespace leakhunt::recorddir {
namespace fs = std::filesystem;

class RecordDirTest : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() /
                ("leakhunt_recorddir_test." + std::to_string(::getpid()) + "." +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }
    void touch(const std::string& name, const std::string& text = "x") {
        util::write_file_atomic(m_dir / name, text);
    }
    fs::path m_dir;
};

TEST(RecordDirNames, RoundTrip) {
    EXPECT_EQ(snapshot_name(42, 0, Kind::profile), "heap.42.0000.pb.gz");
    EXPECT_EQ(snapshot_name(42, 12345, Kind::hprof), "heap.42.12345.hprof");
    EXPECT_EQ(snapshot_name(42, 3, Kind::goroutine), "goroutine.42.0003.pb.gz");
    EXPECT_EQ(timeline_name(7), "timeline.7.csv");
    for (Kind k : k_kinds) {
        const auto parsed = parse_snapshot_name(snapshot_name(901, 17, k));
        ASSERT_TRUE(parsed);
        EXPECT_EQ(parsed->id, 901);
        EXPECT_EQ(parsed->seq, 17u);
        EXPECT_EQ(parsed->kind, k);
    }
}

TEST(RecordDirNames, RejectsLookalikes) {
    for (const char* bad :
         {"heap.42.0001.pb", "heap.42.1.pb.gz", "heap.-1.0001.pb.gz", "heap.42.0001.pb.gz.tmp",
          "heap..0001.scan", "heap.4x.0001.scan", "xheap.42.0001.scan", "heap.42.0001.", "heap.42",
          "goroutine.42.0001.scan", "goroutine.42.1.pb.gz", "goroutines.42.0001.pb.gz",
          "goroutine.42.0001.pb"}) {
        EXPECT_FALSE(parse_snapshot_name(bad)) << bad;
    }
    EXPECT_EQ(parse_timeline_name("timeline.12.csv"), 12);
    EXPECT_FALSE(parse_timeline_name("timeline..csv"));
    EXPECT_FALSE(parse_timeline_name("timeline.12.csv.tmp"));
}

TEST(RecordDirNames, CompanionKeepsIdAndDigits) {
    EXPECT_EQ(companion_name("heap.42.0003.pb.gz", Kind::scan), "heap.42.0003.scan");
    EXPECT_EQ(companion_name("heap.42.00012.scan", Kind::profile), "heap.42.00012.pb.gz");
    EXPECT_FALSE(companion_name("heap.42.3.pb.gz", Kind::scan));
    EXPECT_FALSE(companion_name("", Kind::scan));
    EXPECT_EQ(companion_name("heap.42.0003.pb.gz", Kind::goroutine), "goroutine.42.0003.pb.gz");
    EXPECT_EQ(companion_name("goroutine.42.00012.pb.gz", Kind::profile), "heap.42.00012.pb.gz");
    const auto g = parse_snapshot_name("goroutine.42.0003.pb.gz");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->kind, Kind::goroutine);
    EXPECT_EQ(parse_snapshot_name("heap.42.0003.pb.gz")->kind, Kind::profile);
}

TEST(RecordDirNames, HeapGraphKindsAreTheWalkableHeaps) {
    std::vector<std::string_view> graphs;
    for (const Kind kind : k_kinds) {
        if (is_heap_graph(kind)) graphs.push_back(extension(kind));
    }
    EXPECT_EQ(graphs, (std::vector<std::string_view>{"heapsnapshot", "hprof", "pygraph"}));
}

TEST_F(RecordDirTest, ListsByIdKindAndSequence) {
    touch("heap.10.0002.pb.gz");
    touch("heap.10.0000.pb.gz");
    touch("heap.10.0002.scan");
    touch("heap.11.0000.pb.gz");
    touch("timeline.10.csv", "timestamp\n");
    touch("timeline.12.csv", "timestamp\n");
    touch("notes.txt");
    const Listing l = list(m_dir);
    EXPECT_EQ(l.ids(), (std::vector<long>{10, 11, 12}));
    const auto profiles = l.files(10, Kind::profile);
    ASSERT_EQ(profiles.size(), 2u);
    EXPECT_EQ(profiles[0].filename(), "heap.10.0000.pb.gz");
    EXPECT_EQ(profiles[1].filename(), "heap.10.0002.pb.gz");
    EXPECT_EQ(l.count(10, Kind::scan), 1u);
    EXPECT_EQ(l.count(12, Kind::profile), 0u);
    EXPECT_EQ(main_id(l), 10);
}

TEST_F(RecordDirTest, MissingDirectoryIsAnErrorNamingIt) {
    try {
        list(m_dir / "nope");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
    }
}

TEST(RecordDirTimeline, ReadsByHeaderNotPosition) {
    const auto rows = parse_timeline(
        "snapshot,timestamp,heap_used_bytes,rss_bytes,reason\n"
        "heap.1.0000.pb.gz,100.5,2048,4096,periodic\n"
        "heap.1.0001.pb.gz,101.5,,8192,exit\n",
        "t.csv");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].snapshot, "heap.1.0000.pb.gz");
    EXPECT_DOUBLE_EQ(rows[0].unix_time, 100.5);
    EXPECT_DOUBLE_EQ(rows[0].rss_bytes, 4096);
    EXPECT_DOUBLE_EQ(rows[0].counters.at("heap_used_bytes"), 2048);
    EXPECT_TRUE(std::isnan(rows[0].heap_inuse_bytes));
    EXPECT_TRUE(std::isnan(rows[1].counters.at("heap_used_bytes")));
    EXPECT_EQ(rows[1].reason, "exit");
}

// The agent writes its timeline in C with format::k_timeline_header; every other writer goes
// through TimelineWriter. One header for both.
TEST(RecordDirTimeline, StandardColumnsAreTheAgentsHeader) {
    std::string joined;
    for (const auto& c : standard_timeline_columns()) joined += (joined.empty() ? "" : ",") + c;
    EXPECT_EQ(joined + "\n", format::k_timeline_header);
}

TEST(RecordDirTimeline, BadNumberNamesFileLineAndColumn) {
    try {
        parse_timeline("timestamp,rss_bytes\n1,2\n3,abc\n", "dir/timeline.1.csv");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_STREQ(e.what(), "dir/timeline.1.csv:3: column rss_bytes: \"abc\" is not a number");
    }
}

TEST(RecordDirTimeline, CutOffLastRowIsLeftOut) {
    const auto rows = parse_timeline(
        "timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,agent_bytes,reason,snapshot\n"
        "1,2,3,4,5,periodic,heap.1.0000.pb.gz\n2,3",
        "t");
    EXPECT_EQ(rows.size(), 1u);
}

TEST_F(RecordDirTest, WritersNumberFromZeroAndContinue) {
    {
        SnapshotWriter w(m_dir, 5);
        EXPECT_EQ(w.write(Kind::profile, "a"), "heap.5.0000.pb.gz");
        EXPECT_EQ(w.write(Kind::profile, "b"), "heap.5.0001.pb.gz");
        EXPECT_EQ(w.reserve(Kind::hprof), "heap.5.0000.hprof");
    }
    SnapshotWriter again(m_dir, 5);
    EXPECT_EQ(again.write(Kind::profile, "c"), "heap.5.0002.pb.gz");
    EXPECT_EQ(util::read_file(m_dir / "heap.5.0002.pb.gz"), "c");
    // A goroutine profile takes its heap profile's number, even when earlier pulls had none.
    EXPECT_EQ(again.write_companion("heap.5.0002.pb.gz", Kind::goroutine, "g"),
              "goroutine.5.0002.pb.gz");
    EXPECT_EQ(util::read_file(m_dir / "goroutine.5.0002.pb.gz"), "g");
    EXPECT_EQ(again.write(Kind::goroutine, "h"), "goroutine.5.0003.pb.gz");
    EXPECT_THROW(again.write_companion("heap.6.0002.pb.gz", Kind::goroutine, "g"), util::Error);
    const Listing l = list(m_dir);
    EXPECT_EQ(l.count(5, Kind::goroutine), 2u);
    EXPECT_EQ(l.count(5, Kind::profile), 3u);

    TimelineWriter t(m_dir, 5, {"heap_used_bytes"});
    TimelineRow r;
    r.unix_time = 1700000000.25;
    r.rss_bytes = 1000;
    r.heap_inuse_bytes = 10;
    r.heap_inuse_objects = 1;
    r.agent_bytes = std::nan("");
    r.reason = "periodic";
    r.snapshot = "heap.5.0000.pb.gz";
    r.counters["heap_used_bytes"] = 77;
    t.append(r);
    EXPECT_EQ(util::read_file(t.path()),
              "timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,agent_bytes,reason,"
              "snapshot,heap_used_bytes\n"
              "1700000000.250,1000,10,1,,periodic,heap.5.0000.pb.gz,77\n");
    const auto back = read_timeline(m_dir, 5);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_DOUBLE_EQ(back[0].counters.at("heap_used_bytes"), 77);
}

TEST_F(RecordDirTest, ManifestRoundTripAndErrors) {
    EXPECT_FALSE(read_manifest(m_dir));
    Manifest m;
    m.runtime = "node";
    m.capture = "inspector";
    m.command = {"node", "app.js"};
    m.pid = 77;
    m.start_unix = 1700000000.5;
    m.sampling = "every 32 KiB on average";
    m.exit_snapshot = "heap.77.0003.pb.gz";
    m.extra["node_version"] = "v20";
    write_manifest(m_dir, m);
    const auto back = read_manifest(m_dir);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->runtime, "node");
    EXPECT_EQ(back->command, m.command);
    EXPECT_EQ(back->pid, 77);
    EXPECT_EQ(back->exit_snapshot, "heap.77.0003.pb.gz");
    EXPECT_EQ(back->extra.at("node_version"), "v20");

    touch("manifest.json", R"({"pid": "seven"})");
    try {
        read_manifest(m_dir);
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("field \"pid\""), std::string::npos) << e.what();
    }
    touch("manifest.json", R"({"exit_snapshot": "../../etc/passwd"})");
    EXPECT_THROW(read_manifest(m_dir), util::Error);
}

TEST_F(RecordDirTest, NativePartOnlyWithItsManifest) {
    // `record --native`: DIR/native is a record directory of its own, known by its manifest.
    EXPECT_FALSE(native_part(m_dir));
    std::filesystem::create_directories(m_dir / k_native_dir);
    EXPECT_FALSE(native_part(m_dir));  // an empty directory of that name is not one
    // The native part's snapshots are not the Python recording's.
    touch(std::string(k_native_dir) + "/" + snapshot_name(4, 0, Kind::profile));
    EXPECT_TRUE(list(m_dir).ids().empty());
    Manifest m;
    m.runtime = "native";
    write_manifest(m_dir / k_native_dir, m);
    ASSERT_TRUE(native_part(m_dir));
    EXPECT_EQ(*native_part(m_dir), m_dir / "native");
    EXPECT_FALSE(native_part(m_dir / k_native_dir));
}

TEST_F(RecordDirTest, ExitSnapshotLeftOutOnlyWhenEnoughRemain) {
    for (int i = 0; i < 3; ++i) touch(snapshot_name(9, static_cast<unsigned>(i), Kind::profile));
    touch("timeline.9.csv",
          "timestamp,reason,snapshot\n1,periodic,heap.9.0000.pb.gz\n2,periodic,heap.9.0001.pb.gz\n"
          "3,exit,heap.9.0002.pb.gz\n");
    // Three snapshots, the last the exit one: two remain, fewer than the three needed.
    Selection s = select_profiles(m_dir, list(m_dir), 9, 3);
    EXPECT_EQ(s.files.size(), 3u);
    EXPECT_FALSE(s.left_out);
    ASSERT_TRUE(s.exit_snapshot);
    EXPECT_EQ(s.exit_snapshot->filename(), "heap.9.0002.pb.gz");
    // Two needed: it is left out.
    s = select_profiles(m_dir, list(m_dir), 9, 2);
    EXPECT_EQ(s.files.size(), 2u);
    ASSERT_TRUE(s.left_out);
    EXPECT_EQ(s.left_out->filename(), "heap.9.0002.pb.gz");
    // The manifest wins over the timeline.
    Manifest m;
    m.pid = 9;
    m.exit_snapshot = "heap.9.0001.pb.gz";
    write_manifest(m_dir, m);
    s = select_profiles(m_dir, list(m_dir), 9, 2);
    ASSERT_TRUE(s.left_out);
    EXPECT_EQ(s.left_out->filename(), "heap.9.0001.pb.gz");
}

}  // namespace leakhunt::recorddir
