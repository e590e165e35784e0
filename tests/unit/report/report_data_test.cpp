// Tests for ReportBuilder and the input detection: exact point counts and values of the
// timeline, flame totals, what the "missing" list says, and errors that name the file.
#include "report/report_data.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "recorddir/record_dir.hpp"
#include "report/report_inputs.hpp"
#include "report/snapshot_suspects.hpp"
#include "test_profiles.hpp"
#include "util/error.hpp"

namespace leakhunt::report {
namespace {

namespace fs = std::filesystem;

// 600 samples, 1 s apart, RSS 100 MB + 10 kB/s, one missing heap value.
series::Series linear_series() {
    series::Series s;
    s.name = "mem.csv";
    auto& rss = s.columns["rss_bytes"];
    auto& heap = s.columns["heap_inuse_bytes"];
    for (int i = 0; i < 600; ++i) {
        s.t.push_back(i);
        rss.push_back(100e6 + 10e3 * i);
        heap.push_back(i == 5 ? std::nan("") : 50e6 + 10e3 * i);
    }
    return s;
}

class TempDir {
  public:
    TempDir() {
        m_path = fs::temp_directory_path() / ("leakhunt-report-test-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(s_count++));
        fs::create_directories(m_path);
    }
    ~TempDir() { fs::remove_all(m_path); }
    fs::path write(const std::string& name, const std::string& content) const {
        std::ofstream(m_path / name, std::ios::binary) << content;
        return m_path / name;
    }
    const fs::path& path() const { return m_path; }

  private:
    static inline int s_count = 0;
    fs::path m_path;
};

std::string error_of(const fs::path& p) {
    try {
        detect_input(p);
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ReportBuilder, TimelineHasEverySampleAndTheVerdict) {
    ReportBuilder b("t");
    b.set_series(linear_series());
    symbolize::Symbolizer s;
    const nlohmann::json doc = b.build(s, {}, "2026-01-01T00:00:00.000Z");
    EXPECT_EQ(doc["format"], "leakhunt-report");
    EXPECT_EQ(doc["version"], 1);
    EXPECT_EQ(doc["generated_at"], "2026-01-01T00:00:00.000Z");
    const auto& tl = doc["timeline"];
    EXPECT_EQ(tl["samples"], 600U);
    ASSERT_EQ(tl["t"].size(), 600U);
    ASSERT_EQ(tl["rss_bytes"].size(), 600U);
    ASSERT_EQ(tl["heap_inuse_bytes"].size(), 600U);
    EXPECT_EQ(tl["t"][599], 599.0);
    EXPECT_EQ(tl["rss_bytes"][1], 100010000.0);
    EXPECT_TRUE(tl["heap_inuse_bytes"][5].is_null());  // NaN: missing
    EXPECT_TRUE(tl["epoch_offset_s"].is_null());
    EXPECT_EQ(doc["verdict"]["verdict"], "leak");
    EXPECT_EQ(doc["verdict"]["series"], "mem.csv");
    ASSERT_TRUE(tl["trend"].is_object());
    // The fitted baseline: 10 kB/s.
    EXPECT_NEAR(tl["trend"]["slope_per_s"].get<double>(), 10e3, 100);
    EXPECT_TRUE(tl["first_leak_at_s"].is_number());
    EXPECT_TRUE(doc["flame"].is_null());
    EXPECT_TRUE(doc["diff_flame"].is_null());
    EXPECT_TRUE(doc["suspects"].is_null());
    EXPECT_TRUE(doc["retention_paths"].is_null());
    ASSERT_EQ(doc["missing"].size(), 4U);
    EXPECT_EQ(doc["missing"][0].get<std::string>().rfind("suspects: no suspects list", 0), 0U);
    EXPECT_EQ(doc["missing"][1].get<std::string>().rfind("flame graph: no heap profile", 0), 0U);
    EXPECT_EQ(doc["missing"][2], "diff flame graph: needs two heap snapshots, 0 given");
    EXPECT_EQ(b.summary().at(0), "verdict and timeline: mem.csv, 600 samples");
}

TEST(ReportBuilder, ALongTimelineIsDrawnFromItsLowsAndHighs) {
    // 100,000 samples: the page gets at most two rows per drawn column (4096 columns), and the
    // verdict still reads them all.
    series::Series s;
    s.name = "long.csv";
    const size_t n = 100'000;
    for (size_t i = 0; i < n; ++i) {
        s.t.push_back(static_cast<double>(i));
        s.columns[std::string(series::k_rss)].push_back(100e6 + 1000.0 * static_cast<double>(i) +
                                                        (i == 54'321 ? 5e9 : 0.0));
    }
    ReportBuilder b("t");
    b.set_series(std::move(s));
    symbolize::Symbolizer sym;
    const nlohmann::json doc = b.build(sym, {}, "2026-01-01T00:00:00.000Z");
    const auto& tl = doc["timeline"];
    EXPECT_EQ(tl["samples"], n);
    ASSERT_LE(tl["t"].size(), 2U * 4096U + 2U);
    EXPECT_GT(tl["t"].size(), 4096U);
    EXPECT_EQ(tl["t"].size(), tl["rss_bytes"].size());
    EXPECT_EQ(tl["t"][0], 0.0);
    EXPECT_EQ(tl["t"].back(), static_cast<double>(n - 1));
    bool spike = false;
    for (size_t i = 0; i < tl["t"].size(); ++i) {
        if (tl["t"][i] == 54'321.0) spike = tl["rss_bytes"][i] == 100e6 + 1000.0 * 54'321 + 5e9;
    }
    EXPECT_TRUE(spike);
    EXPECT_EQ(b.summary().at(0), "verdict and timeline: long.csv, 100000 samples");
}

TEST(ReportBuilder, ProfilesGiveFlameAndDiff) {
    ReportBuilder b("t");
    b.add_profile("heap.1.0001.pb.gz", testing::small_heap(true));
    b.add_profile("heap.1.0002.pb.gz", testing::small_heap());
    symbolize::Symbolizer s;
    const nlohmann::json doc = b.build(s);
    EXPECT_EQ(doc["flame"]["file"], "heap.1.0002.pb.gz");
    EXPECT_EQ(doc["flame"]["total"], 2900);
    EXPECT_EQ(doc["flame"]["stacks"], 4);
    EXPECT_EQ(doc["flame"]["nodes"], 4);
    EXPECT_EQ(doc["flame"]["root"]["n"], "all");
    EXPECT_EQ(doc["flame"]["root"]["c"][0]["n"], "main");
    EXPECT_FALSE(doc["flame"]["root"].contains("d"));
    EXPECT_EQ(doc["diff_flame"]["from"], "heap.1.0001.pb.gz");
    EXPECT_EQ(doc["diff_flame"]["delta"], 2400);
    EXPECT_EQ(doc["diff_flame"]["root"]["d"], 2400);
    EXPECT_TRUE(doc["timeline"].is_null());
    EXPECT_EQ(doc["missing"][0].get<std::string>().rfind("verdict and memory timeline: no memory "
                                                         "series",
                                                         0),
              0U);
}

TEST(ReportBuilder, TheFlameTableIsTopAndTheTotalsAreTheSnapshotsAndTheSeries) {
    ReportBuilder b("t");
    b.set_series(linear_series());
    b.add_profile("heap.1.0002.pb.gz", testing::small_heap());
    symbolize::Symbolizer s;
    const nlohmann::json doc = b.build(s);
    // small_heap: cache_put holds 500 + 2000 bytes in 5 + 1 objects, main 300 in 3 (of 2900).
    const auto& top = doc["flame"]["top"];
    ASSERT_GE(top.size(), 2U);
    EXPECT_EQ(top[0]["function"], "cache_put(int)");
    EXPECT_EQ(top[0]["bytes"], 2500);
    EXPECT_EQ(top[0]["objects"], 6);
    EXPECT_DOUBLE_EQ(top[0]["share"].get<double>(), 2500.0 / 2900.0);
    EXPECT_EQ(top[1]["function"], "main");
    EXPECT_EQ(top[1]["bytes"], 300);
    EXPECT_EQ(top[1]["objects"], 3);
    const auto& t = doc["totals"];
    EXPECT_EQ(t["peak_rss_bytes"], 100e6 + 10e3 * 599);
    EXPECT_EQ(t["last_rss_bytes"], 100e6 + 10e3 * 599);
    EXPECT_EQ(t["peak_heap_bytes"], 50e6 + 10e3 * 599);
    EXPECT_EQ(t["snapshot_inuse_bytes"], 2900);
    EXPECT_EQ(t["snapshot_inuse_objects"], 10);
    EXPECT_EQ(t["snapshot_allocations"], 15);
    EXPECT_EQ(t["snapshot_alloc_bytes"], 3400);
}

TEST(ReportBuilder, WithoutATitleThePageIsNamedByTheService) {
    {
        ReportBuilder b("");
        b.set_series(linear_series());
        symbolize::Symbolizer s;
        EXPECT_EQ(b.build(s)["title"], "leakhunt report: mem.csv");
    }
    {
        ReportBuilder b("", "leakhunt live");
        b.set_service("checkout (PID 7)");
        b.set_service("ignored");
        b.set_series(linear_series());
        symbolize::Symbolizer s;
        const nlohmann::json doc = b.build(s);
        EXPECT_EQ(doc["title"], "leakhunt live: checkout (PID 7)");
        EXPECT_EQ(doc["service"], "checkout (PID 7)");
    }
    {
        ReportBuilder b("given");
        b.set_service("svc");
        symbolize::Symbolizer s;
        EXPECT_EQ(b.build(s)["title"], "given");
    }
    {
        // A series file is named by its target, else by the file's stem.
        TempDir d;
        ReportBuilder b("");
        add_input(b, d.write("payments.csv", "t_seconds,rss_bytes\n0,1\n1,2\n"), {});
        symbolize::Symbolizer s;
        EXPECT_EQ(b.build(s)["title"], "leakhunt report: payments");
        ReportBuilder c("");
        add_input(c, d.write("m.csv", "t_seconds,target,rss_bytes\n0,api-7,1\n1,api-7,2\n"), {});
        EXPECT_EQ(c.build(s)["title"], "leakhunt report: api-7");
    }
}

TEST(ReportBuilder, SuspectsAndPathsAreCheckedAndKept) {
    ReportBuilder b("t");
    b.set_suspects(nlohmann::json::parse(R"([{"function":"f","growth_bytes_per_hour":1}])"),
                   "s.json");
    b.set_retention_paths(nlohmann::json::parse(R"([{"root":"g","hops":[],"blocks":1,"bytes":8}])"),
                          "p.json");
    EXPECT_THROW(b.set_suspects(nlohmann::json::parse(R"([{"x":1}])"), "bad.json"), util::Error);
    EXPECT_THROW(b.set_retention_paths(nlohmann::json::parse(R"({"root":"g"})"), "bad.json"),
                 util::Error);
    symbolize::Symbolizer s;
    const nlohmann::json doc = b.build(s);
    EXPECT_EQ(doc["suspects"].size(), 1U);
    EXPECT_EQ(doc["retention_paths"][0]["bytes"], 8);
}

TEST(DetectInput, TellsKindsApartByContent) {
    TempDir d;
    EXPECT_EQ(detect_input(d.write("m.txt", "t_seconds,rss_bytes\n0,1\n")), InputKind::series);
    EXPECT_EQ(detect_input(d.write("s.json", R"([{"function":"f","file":"a.c"}])")),
              InputKind::suspects);
    EXPECT_EQ(detect_input(d.write("s.jsonl", "{\"function\":\"f\"}\n{\"function\":\"g\"}\n")),
              InputKind::suspects);
    EXPECT_EQ(
        detect_input(d.write("p.json", "{\n \"paths\": [{\"root\": \"g\", \"hops\": []}]\n}\n")),
        InputKind::retention_paths);
    EXPECT_EQ(detect_input(d.write("w.jsonl", "{\"t\":1,\"rss_bytes\":5}\n")), InputKind::series);
    EXPECT_EQ(detect_input(d.write("h.gz", std::string("\x1f\x8b\x08\x00", 4))),
              InputKind::profile);
    EXPECT_EQ(detect_input(d.path()), InputKind::record_dir);
}

TEST(DetectInput, UnknownInputNamesTheFile) {
    TempDir d;
    const fs::path notes = d.write("notes.txt", "hello\n");
    EXPECT_EQ(error_of(notes).rfind("cannot tell what " + notes.string() + " is: expected", 0), 0U)
        << error_of(notes);
    EXPECT_NE(error_of(d.path() / "nope").find("no such file or directory"), std::string::npos);
    const fs::path other = d.write("o.json", R"([{"a":1}])");
    EXPECT_NE(error_of(other).find(other.string() + ": JSON, but neither"), std::string::npos)
        << error_of(other);
}

TEST(AddInput, EmptyDirectoryIsNotARecording) {
    TempDir d;
    ReportBuilder b("t");
    try {
        add_input(b, d.path(), {});
        FAIL() << "expected an error";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("has no timeline.PID.csv"), std::string::npos);
    }
}

TEST(AddInput, SeriesFileWithSeveralTargets) {
    TempDir d;
    const fs::path f = d.write("m.csv", "t_seconds,target,rss_bytes\n0,a,1\n0,b,2\n1,a,3\n1,b,4\n");
    ReportBuilder b("t");
    InputOptions o;
    o.target = "b";
    EXPECT_EQ(add_input(b, f, o), InputKind::series);
    symbolize::Symbolizer s;
    const nlohmann::json doc = b.build(s);
    EXPECT_EQ(doc["timeline"]["rss_bytes"], nlohmann::json::parse("[2.0, 4.0]"));
    o.target = "zzz";
    ReportBuilder b2("t");
    EXPECT_THROW(add_input(b2, f, o), util::UsageError);
}

// tracemalloc attached to a running interpreter sees only what was allocated since: its
// snapshots carry the process's RSS as what the process holds; started ones do not, nor does a
// recording of another capture.
TEST(SnapshotFacts, AnAttachedTracemallocRecordingCarriesTheRss) {
    const auto facts_with = [](const std::string& capture, std::vector<std::string> command) {
        TempDir d;
        recorddir::Manifest m;
        m.runtime = "python";
        m.capture = capture;
        m.command = std::move(command);
        m.pid = 42;
        recorddir::write_manifest(d.path(), m);
        recorddir::TimelineWriter timeline(d.path(), 42);
        recorddir::TimelineRow row;
        row.unix_time = 1700000000;
        row.rss_bytes = 22e6;
        row.snapshot = "heap.42.0000.pb.gz";
        timeline.append(row);
        return snapshot_facts(d.path(), 42).at("heap.42.0000.pb.gz");
    };
    const SnapshotFacts attached = facts_with("tracemalloc", {});
    EXPECT_EQ(attached.rss_bytes, 22e6);
    EXPECT_EQ(attached.whole_heap_bytes, 22e6);
    EXPECT_EQ(facts_with("tracemalloc", {"python3", "app.py"}).whole_heap_bytes, 0);
    EXPECT_EQ(facts_with("agent-attach", {}).whole_heap_bytes, 0);
}

}  // namespace leakhunt::report

namespace leakhunt::report {

TEST(AddInput, PathsJsonOfAHeapGraphGivesOneRowPerPathHeadedByItsClass) {
    TempDir d;
    // Two lines of `leakhunt paths x.heapsnapshot --json`.
    const fs::path f = d.write(
        "paths.json",
        R"j({"type":"class","class":"Session","count":3,"self_bytes":96,"retained_bytes":4096,"paths":[{"count":2,"self_bytes":64,"retained_bytes":4000,"steps":["Window / global","`cache` (Map)","[] (Session)"]},{"count":1,"self_bytes":32,"retained_bytes":96,"steps":["(GC roots)"]}]}
{"type":"class","class":"Buffer","count":1,"self_bytes":8,"retained_bytes":8,"paths":[{"count":1,"self_bytes":8,"retained_bytes":8,"steps":[]}]}
)j");
    EXPECT_EQ(detect_input(f), InputKind::retention_paths);
    ReportBuilder b("t");
    add_input(b, f, {});
    symbolize::Symbolizer s;
    const nlohmann::json doc = b.build(s);
    const nlohmann::json& rows = doc["retention_paths"];
    // A path without steps (not reachable from the roots) has no row.
    ASSERT_EQ(rows.size(), 2U) << rows.dump();
    EXPECT_EQ(rows[0]["root"], "Window / global");
    EXPECT_EQ(rows[0]["site"], "Session");
    ASSERT_EQ(rows[0]["hops"].size(), 2U);
    EXPECT_EQ(rows[0]["hops"][1]["site"], "[] (Session)");
    EXPECT_EQ(rows[0]["blocks"], 2);
    EXPECT_EQ(rows[0]["bytes"], 4000);
    EXPECT_EQ(rows[1]["root"], "(GC roots)");
    EXPECT_TRUE(rows[1]["hops"].empty());
}

TEST(DetectInput, HeapGraphsByTheirNamesAndABadOneIsNamed) {
    TempDir d;
    EXPECT_EQ(detect_input(d.write("a.heapsnapshot", "{}")), InputKind::heap_graph);
    EXPECT_EQ(detect_input(d.write("heap.1.0001.hprof", "JAVA")), InputKind::heap_graph);
    const fs::path bad = d.write("heap.7.0002.pygraph", "not a graph");
    EXPECT_EQ(detect_input(bad), InputKind::heap_graph);
    ReportBuilder b("t");
    try {
        add_input(b, bad, {});
        FAIL() << "expected an error";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
    }
}

}  // namespace leakhunt::report
