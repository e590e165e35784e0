// Tests of the JSON-lines reader: grouping, restarts, the same rules as the CSV reader, and its
// error messages with line numbers.
#include "series/jsonl.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "series/reader.hpp"
#include "test_helpers.hpp"

namespace leakhunt::series {
namespace {

using testing::col;
using testing::error_of;
using testing::starts_with;

const std::string k_data = LEAKHUNT_TEST_DATA "/series/";

TEST(ParseJsonl, GroupsByTargetWithRestartsAndDroppedRows) {
    const auto r = read_jsonl(k_data + "watch.jsonl");
    ASSERT_EQ(r.series.size(), 2u);
    const Series& api = r.series[0];
    EXPECT_EQ(api.name, "watch.jsonl:api");
    EXPECT_EQ(*api.epoch_offset, 1763705955.0);
    EXPECT_EQ(api.t, (std::vector<double>{0, 10, 20, 40}));
    EXPECT_EQ(api.restart_times, (std::vector<double>{20}));
    EXPECT_EQ(col(api, k_rss), (std::vector<double>{104857600, 105906176, 52428800, 53477376}));
    EXPECT_EQ(col(api, k_threads), (std::vector<double>{8, 8, 8, 9}));
    EXPECT_EQ(api.column("host"), nullptr);
    EXPECT_EQ(api.column("pid"), nullptr);
    const Series& db = r.series[1];
    EXPECT_EQ(db.t, (std::vector<double>{0, 10}));
    EXPECT_TRUE(std::isnan(col(db, k_threads).at(0)));
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_EQ(r.warnings[0],
              k_data + "watch.jsonl:8: key \"host\" has a non-numeric value and was ignored");
    EXPECT_EQ(r.warnings[1], k_data +
                                 "watch.jsonl: 1 row without a rss_bytes value was dropped "
                                 "(first on line 7)");
}

TEST(ParseJsonl, TimeKeys) {
    auto r = parse_jsonl(
        "{\"timestamp\":\"2026-11-21T06:19:15Z\",\"rss_bytes\":1}\n"
        "{\"timestamp\":\"2026-11-21T06:19:16.5Z\",\"rss_bytes\":\"2\"}\n",
        "w.jsonl");
    EXPECT_EQ(*r.series.at(0).epoch_offset, 1795241955.0);
    EXPECT_EQ(r.series.at(0).t, (std::vector<double>{0, 1.5}));
    r = parse_jsonl("{\"t_seconds\":3,\"rss_bytes\":1}\n{\"t_seconds\":4,\"rss_bytes\":2}",
                    "w.jsonl");
    EXPECT_FALSE(r.series.at(0).epoch_offset.has_value());
    EXPECT_EQ(r.series.at(0).t, (std::vector<double>{3, 4}));
}

TEST(ParseJsonl, DuplicateTimesKeepTheLast) {
    const auto r = parse_jsonl("{\"t\":1,\"rss_bytes\":1}\n{\"t\":1,\"rss_bytes\":2}\n", "w");
    EXPECT_EQ(col(r.series.at(0), k_rss), (std::vector<double>{2}));
    EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(ParseJsonlErrors, Messages) {
    EXPECT_EQ(error_of([] { parse_jsonl("\n\n", "w.jsonl"); }),
              "w.jsonl is empty: expected one JSON object per line such as "
              "{\"t\":1795241955,\"rss_bytes\":123456}");
    EXPECT_TRUE(
        starts_with(error_of([] { parse_jsonl("{\"t\":1,\"rss_bytes\":1}\n{\"t\":2,", "w"); }),
                    "w:2: invalid JSON at byte "));
    // Found by fuzz_jsonl (tests/fuzz/regressions): nlohmann throws out_of_range, not parse_error.
    EXPECT_TRUE(starts_with(error_of([] { parse_jsonl("{\"t\":1,\"rss_bytes\":1e999}", "w"); }),
                            "w:1: invalid JSON: number overflow parsing '1e999'"));
    EXPECT_TRUE(starts_with(error_of([] { parse_jsonl("[1,2]\n", "w"); }),
                            "w:1: expected a JSON object, found array"));
    EXPECT_TRUE(starts_with(error_of([] { parse_jsonl("{\"rss_bytes\":1}\n", "w"); }),
                            "w:1: the object has no time"));
    EXPECT_TRUE(
        starts_with(error_of([] { parse_jsonl("{\"t\":\"soon\",\"rss_bytes\":1}\n", "w"); }),
                    "w:1: \"t\" is not a valid time: \"soon\""));
    EXPECT_TRUE(
        starts_with(error_of([] { parse_jsonl("{\"t\":1,\"rss_bytes\":\"12 MB\"}\n", "w"); }),
                    "w:1: \"rss_bytes\" is not a number: \"12 MB\""));
    EXPECT_TRUE(starts_with(error_of([] { parse_jsonl("{\"t\":1,\"rss_bytes\":-1}\n", "w"); }),
                            "w:1: rss_bytes is negative (-1)"));
    EXPECT_TRUE(
        starts_with(error_of([] { parse_jsonl("{\"t\":1,\"rss_bytes\":1,\"pid\":[1]}", "w"); }),
                    "w:1: \"pid\" must be a string or a number, not array"));
    EXPECT_EQ(
        error_of([] { parse_jsonl("{\"t\":5,\"rss_bytes\":1}\n{\"t\":4,\"rss_bytes\":1}", "w"); }),
        "w:2: time goes backwards: 1970-01-01T00:00:04.000Z comes after "
        "1970-01-01T00:00:05.000Z on line 1 (sort the rows by time)");
    EXPECT_TRUE(starts_with(error_of([] {
                                parse_jsonl(
                                    "{\"t\":5,\"rss_bytes\":1}\n"
                                    "{\"t_seconds\":6,\"rss_bytes\":1}",
                                    "w");
                            }),
                            "w:2: this row's time is relative but earlier rows' are absolute"));
    EXPECT_TRUE(starts_with(error_of([] { parse_jsonl("{\"t\":1,\"rss_bytes\":null}", "w"); }),
                            "w: no samples: none of the 1 rows has a rss_bytes value"));
}

TEST(DetectSeriesFormat, ByContent) {
    EXPECT_EQ(detect_series_format("t_seconds,rss_bytes\n"), SeriesFormat::csv);
    EXPECT_EQ(detect_series_format("# c\n{\"t\":1,\"rss_bytes\":2}\n"), SeriesFormat::jsonl);
    EXPECT_EQ(detect_series_format(" \n{\"status\":\"success\",\"data\":{}}"),
              SeriesFormat::prometheus_json);
    EXPECT_EQ(detect_series_format("{\n  \"status\": \"success\"\n}"),
              SeriesFormat::prometheus_json);
    const auto r = read_series(k_data + "watch.jsonl");
    EXPECT_EQ(r.series.size(), 2u);
    EXPECT_EQ(read_series(k_data + "prometheus_pretty.json").series.size(), 1u);
    EXPECT_EQ(read_series(k_data + "watch_multi.csv").series.size(), 2u);
}

}  // namespace
}  // namespace leakhunt::series
