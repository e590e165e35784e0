// Tests of the Prometheus range-query reader with realistic fixtures in tests/data/series/.
#include "series/prometheus.hpp"

#include <gtest/gtest.h>

#include "test_helpers.hpp"

namespace leakhunt::series {
namespace {

using testing::col;
using testing::error_of;
using testing::starts_with;

const std::string k_data = LEAKHUNT_TEST_DATA "/series/";

TEST(ParsePrometheusJson, MatrixWithNanAndInf) {
    const auto r = read_prometheus_json(k_data + "prometheus_matrix.json");
    ASSERT_EQ(r.series.size(), 2u);
    const Series& api = r.series[0];
    EXPECT_EQ(api.name,
              "container_memory_working_set_bytes{container=\"api\",namespace=\"prod\","
              "pod=\"api-7d9f8c6b5-x2k4q\"}");
    EXPECT_EQ(api.labels.at("pod"), "api-7d9f8c6b5-x2k4q");
    EXPECT_EQ(api.labels.at("__name__"), "container_memory_working_set_bytes");
    EXPECT_DOUBLE_EQ(*api.epoch_offset, 1763705955.123);
    ASSERT_EQ(api.size(), 4u);
    EXPECT_NEAR(api.t[1], 60, 1e-6);
    EXPECT_NEAR(api.t[3], 240, 1e-6);
    EXPECT_EQ(col(api, k_rss), (std::vector<double>{314572800, 316669952, 318767104, 320864256}));
    const Series& worker = r.series[1];
    EXPECT_EQ(col(worker, k_rss), (std::vector<double>{104857600, 104857600}));
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_EQ(r.warnings[0], k_data + "prometheus_matrix.json: " + api.name +
                                 ": dropped 1 NaN and 0 infinite sample");
    EXPECT_EQ(r.warnings[1], k_data + "prometheus_matrix.json: " + worker.name +
                                 ": dropped 0 NaN and 1 infinite sample");
}

TEST(ParsePrometheusJson, PrettyPrintedWithWarningsAndEscapedLabels) {
    const auto r = read_prometheus_json(k_data + "prometheus_pretty.json");
    ASSERT_EQ(r.series.size(), 1u);
    EXPECT_EQ(r.series[0].name, "{instance=\"host-1:9100\",job=\"node\",quote=\"a\\\"b\"}");
    EXPECT_EQ(r.series[0].t, (std::vector<double>{0, 15, 30}));
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0], k_data +
                                 "prometheus_pretty.json: Prometheus warning: PromQL info: "
                                 "metric might not be a counter");
}

TEST(ParsePrometheusJsonErrors, InvalidJsonGivesTheByteOffset) {
    EXPECT_TRUE(starts_with(error_of([] { parse_prometheus_json("{\"status\": succ", "q"); }),
                            "q: invalid JSON at byte 12: "));
    // Found by fuzz_prometheus_json (tests/fuzz/regressions).
    EXPECT_TRUE(starts_with(error_of([] { parse_prometheus_json("66e0111995715736916", "q"); }),
                            "q: invalid JSON: number overflow parsing"));
}

TEST(ParsePrometheusJsonErrors, StatusError) {
    EXPECT_EQ(error_of([] { read_prometheus_json(k_data + "prometheus_error.json"); }),
              k_data +
                  "prometheus_error.json: Prometheus returned an error: bad_data: invalid "
                  "parameter \"query\": 1:36: parse error: unexpected right brace '}' "
                  "(check the query and the time range)");
}

TEST(ParsePrometheusJsonErrors, VectorResult) {
    EXPECT_EQ(error_of([] { read_prometheus_json(k_data + "prometheus_vector.json"); }),
              k_data +
                  "prometheus_vector.json: the result type is \"vector\": expected a range "
                  "query result (matrix); use /api/v1/query_range");
}

TEST(ParsePrometheusJsonErrors, EmptyResult) {
    EXPECT_EQ(error_of([] { read_prometheus_json(k_data + "prometheus_empty.json"); }),
              k_data +
                  "prometheus_empty.json: the query returned no series (check the metric "
                  "name, the label matchers and the time range)");
}

TEST(ParsePrometheusJsonErrors, WrongShapes) {
    EXPECT_TRUE(starts_with(error_of([] { parse_prometheus_json("[]", "q"); }),
                            "q: expected a JSON object, found array"));
    EXPECT_TRUE(starts_with(error_of([] { parse_prometheus_json("{}", "q"); }),
                            "q: not a Prometheus API response"));
    EXPECT_TRUE(starts_with(error_of([] {
                                parse_prometheus_json(
                                    R"({"status":"success","data":{"resultType":"matrix",
                "result":[{"metric":{},"values":[[1,"1"],["x","2"]]}]}})",
                                    "q");
                            }),
                            "q: result 1 ({}), sample 2: expected [unix_time, \"value\"]"));
    EXPECT_TRUE(starts_with(error_of([] {
                                parse_prometheus_json(
                                    R"({"status":"success","data":{"resultType":"matrix",
                "result":[{"metric":{"__name__":"m"},"values":[[1,"NaN"]]}]}})",
                                    "q");
                            }),
                            "q: no samples: none of the 1 series has a finite value"));
}

TEST(LooksLikePrometheusJson, Detects) {
    EXPECT_TRUE(looks_like_prometheus_json("  {\"status\":\"success\"}"));
    EXPECT_FALSE(looks_like_prometheus_json("t_seconds,rss_bytes\n"));
    EXPECT_FALSE(looks_like_prometheus_json("{\"t\":1,\"rss_bytes\":1}\n"));
    EXPECT_FALSE(looks_like_prometheus_json(""));
}

}  // namespace
}  // namespace leakhunt::series
