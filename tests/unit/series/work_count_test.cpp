// Tests for reading counts of work: a counter's reply (number, JSON field, Prometheus metric
// summed over labels) and the summaries of wrk, redis-benchmark, k6, ab and hey.
#include "series/work_count.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::series {

TEST(ParseWorkValue, APlainNumber) {
    EXPECT_DOUBLE_EQ(parse_work_value(" 4123\n", ""), 4123);
    EXPECT_THROW(parse_work_value("4123 requests", ""), util::Error);
    EXPECT_THROW(parse_work_value("", ""), util::Error);
    EXPECT_THROW(parse_work_value("nan", ""), util::Error);
}

TEST(ParseWorkValue, AFieldOfAJsonObject) {
    EXPECT_DOUBLE_EQ(
        parse_work_value(R"({"mode":"leak","requests":118046,"cached":3})", "requests"), 118046);
    EXPECT_THROW(parse_work_value(R"({"requests":"many"})", "requests"), util::Error);
    EXPECT_THROW(parse_work_value(R"({"requests":)", "requests"), util::Error);
}

TEST(ParseWorkValue, AMetricOfThePrometheusTextFormatSummedOverLabels) {
    const char* text =
        "# HELP http_requests_total Requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{code=\"200\",path=\"/a{b}\"} 1027 1700000000000\n"
        "http_requests_total{code=\"500\"} 3\n"
        "http_requests_total_created 1.7e9\n"
        "other 5\n";
    EXPECT_DOUBLE_EQ(parse_work_value(text, "http_requests_total"), 1030);
    try {
        (void)parse_work_value(text, "missing_total");
        FAIL();
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("no metric \"missing_total\""), std::string::npos)
            << e.what();
    }
}

TEST(ParseLoadSummary, Wrk) {
    const auto s = parse_load_summary(
        "Running 30s test @ http://127.0.0.1:8080/\n  4123456 requests in 30.00s, 512.00MB read\n");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->tool, "wrk");
    EXPECT_DOUBLE_EQ(s->requests, 4123456);
    EXPECT_DOUBLE_EQ(*s->seconds, 30);
    EXPECT_DOUBLE_EQ(*parse_load_summary("  12 requests in 2.50m, 1KB read")->seconds, 150);
}

TEST(ParseLoadSummary, RedisBenchmarkAddsItsTests) {
    const auto s = parse_load_summary(
        "====== SET ======\n  100000 requests completed in 1.25 seconds\n"
        "====== GET ======\n  50000 requests completed in 0.75 seconds\n");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->tool, "redis-benchmark");
    EXPECT_DOUBLE_EQ(s->requests, 150000);
    EXPECT_DOUBLE_EQ(*s->seconds, 2);
}

TEST(ParseLoadSummary, K6AbAndHey) {
    EXPECT_DOUBLE_EQ(
        parse_load_summary("     http_reqs......................: 41234  1374.4/s\n")->requests,
        41234);
    const auto ab =
        parse_load_summary("Complete requests:      1000\nTime taken for tests:   1.234 seconds\n");
    EXPECT_EQ(ab->tool, "ab");
    EXPECT_DOUBLE_EQ(*ab->seconds, 1.234);
    EXPECT_DOUBLE_EQ(
        parse_load_summary(
            "Status code distribution:\n  [200]\t990 responses\n  [503]\t10 responses\n")
            ->requests,
        1000);
    EXPECT_FALSE(parse_load_summary("nothing to see"));
    EXPECT_FALSE(parse_load_summary(std::string(400, '9') + " requests in 1s"));
}

}  // namespace leakhunt::series
