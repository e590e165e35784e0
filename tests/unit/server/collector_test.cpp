// The collector: metrics from a watch database written by another connection (new samples are
// picked up, unchanged databases are not re-read), from a record directory, and sources that
// cannot be read.
#include "server/collector.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "series/store.hpp"

namespace leakhunt::server {
namespace {

namespace fs = std::filesystem;

class CollectorTest : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("leakhunt-collector-" + std::to_string(::getpid()));
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // n samples one second apart from t0, rss = 100 MiB + rate * t.
    static void add_samples(series::Store& store, int64_t instance, double t0, int n, double rate) {
        std::vector<series::SampleRow> batch;
        int64_t noise = 1;
        for (int i = 0; i < n; ++i) {
            series::SampleRow r;
            r.instance_id = instance;
            r.t = t0 + i;
            // A steady rise under a deterministic jitter of up to 64 KiB (an LCG).
            noise = (noise * 1103515245 + 12345) % (int64_t{1} << 31);
            r.rss = static_cast<int64_t>(100.0 * (1 << 20) + rate * (t0 + i - 1.7e9)) +
                    (noise >> 8) % 65536;
            r.fds = 12;
            r.threads = 3;
            batch.push_back(r);
        }
        store.add_samples(batch);
    }

    fs::path m_dir;
};

std::string line_of(const std::string& text, const std::string& prefix) {
    const size_t at = text.find("\n" + prefix);
    if (at == std::string::npos) return "";
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

TEST_F(CollectorTest, ExportsAWatchedLeakAndFollowsNewSamples) {
    const fs::path db = m_dir / "w.db";
    series::Store writer(db);
    const int64_t target = writer.get_or_create_target("name:^api", "^api");
    const int64_t instance =
        writer.start_instance(target, 4242, 1, "/usr/bin/api\"<b> --port 1", 1.7e9);
    add_samples(writer, instance, 1.7e9, 600, 100000);

    Collector c(SourceConfig{{db}, {}, 2e9});
    std::string text = c.metrics_text();
    const std::string labels = R"({target="name:^api",name="api\"<b>",pid="4242"})";
    EXPECT_EQ(line_of(text, "leakhunt_process_open_fds{"),
              "leakhunt_process_open_fds" + labels + " 12");
    EXPECT_EQ(line_of(text, "leakhunt_process_threads{"),
              "leakhunt_process_threads" + labels + " 3");
    EXPECT_EQ(line_of(text, "leakhunt_process_running{"),
              "leakhunt_process_running" + labels + " 1");
    EXPECT_EQ(line_of(text, "leakhunt_verdict_samples{"),
              "leakhunt_verdict_samples" + labels + " 600");
    EXPECT_EQ(line_of(text, "leakhunt_memory_limit_bytes{"),
              "leakhunt_memory_limit_bytes" + labels + " 2000000000");
    EXPECT_EQ(
        line_of(text, "leakhunt_leak_verdict{"),
        R"(leakhunt_leak_verdict{target="name:^api",name="api\"<b>",pid="4242",verdict="leak"} 1)");
    EXPECT_EQ(line_of(text, "leakhunt_source_up{"),
              fmt::format("leakhunt_source_up{{source=\"db:{}\"}} 1", db.string()));
    const std::string growth = line_of(text, "leakhunt_memory_growth_bytes_per_second{");
    ASSERT_FALSE(growth.empty()) << text;
    EXPECT_NEAR(std::stod(growth.substr(growth.rfind(' ') + 1)), 100000, 1000);
    EXPECT_FALSE(line_of(text, "leakhunt_projected_limit_seconds{").empty());
    EXPECT_NE(text.find("# TYPE leakhunt_memory_growth_bytes_per_second gauge\n"),
              std::string::npos);

    // More samples from the writer's connection show up at the next scrape.
    add_samples(writer, instance, 1.7e9 + 600, 30, 100000);
    writer.end_instance(instance, 1.7e9 + 630);
    text = c.metrics_text();
    EXPECT_EQ(line_of(text, "leakhunt_verdict_samples{"),
              "leakhunt_verdict_samples" + labels + " 630");
    EXPECT_EQ(line_of(text, "leakhunt_process_running{"),
              "leakhunt_process_running" + labels + " 0");
}

TEST_F(CollectorTest, AMissingDatabaseIsDownUntilItAppears) {
    const fs::path db = m_dir / "later.db";
    Collector c(SourceConfig{{db}, {}, std::nullopt});
    std::string text = c.metrics_text();
    EXPECT_EQ(line_of(text, "leakhunt_source_up{"),
              fmt::format("leakhunt_source_up{{source=\"db:{}\"}} 0", db.string()));
    EXPECT_TRUE(c.refresh().empty());
    {
        series::Store writer(db);
        const int64_t t = writer.get_or_create_target("pid:7", "pid 7");
        add_samples(writer, writer.start_instance(t, 7, 1, "victim", 1.7e9), 1.7e9, 10, 0);
    }
    text = c.metrics_text();
    EXPECT_EQ(line_of(text, "leakhunt_source_up{"),
              fmt::format("leakhunt_source_up{{source=\"db:{}\"}} 1", db.string()));
    const auto processes = c.refresh();
    ASSERT_EQ(processes.size(), 1u);
    EXPECT_EQ(processes[0].name, "victim");
    EXPECT_EQ(processes[0].classification.memory.verdict, trend::Verdict::inconclusive);
}

TEST_F(CollectorTest, ReadsTheTimelinesOfARecordDirectory) {
    const fs::path rec = m_dir / "rec";
    fs::create_directories(rec);
    std::ofstream(rec / "timeline.999999.csv")
        << "timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,agent_bytes,reason,snapshot\n"
           "1700000000,1000,500,5,10,request,heap.999999.0000.pb.gz\n"
           "1700000010,2000,1500,6,10,exit,heap.999999.0001.pb.gz\n";
    Collector c(SourceConfig{{}, {rec}, std::nullopt});
    const std::string text = c.metrics_text();
    const std::string labels =
        fmt::format(R"({{target="record:{}:999999",name="",pid="999999"}})", rec.string());
    EXPECT_EQ(line_of(text, "leakhunt_process_heap_inuse_bytes{"),
              "leakhunt_process_heap_inuse_bytes" + labels + " 1500");
    EXPECT_EQ(line_of(text, "leakhunt_process_resident_memory_bytes{"),
              "leakhunt_process_resident_memory_bytes" + labels + " 2000");
    EXPECT_EQ(line_of(text, "leakhunt_last_sample_timestamp_seconds{"),
              "leakhunt_last_sample_timestamp_seconds" + labels + " 1700000010");
    EXPECT_TRUE(c.live_agent_pids().empty());  // pid 999999 is not running
}

}  // namespace
}  // namespace leakhunt::server
