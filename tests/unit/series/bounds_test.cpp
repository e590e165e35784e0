// Tests of the bounds every series reader checks (series/bounds.hpp): values and times that
// cannot be memory or time are refused with their line, in the same words by the CSV, JSON-lines
// and Prometheus readers; a time column whose steps look like milliseconds or nanoseconds is
// read with a warning that says how to fix it.
#include "series/bounds.hpp"

#include <gtest/gtest.h>

#include <string>

#include "series/csv.hpp"
#include "series/jsonl.hpp"
#include "series/prometheus.hpp"
#include "test_helpers.hpp"

namespace leakhunt::series {
namespace {

using testing::error_of;

// A Prometheus range-query response of one series with these [time, "value"] pairs.
std::string prometheus(const std::string& values) {
    return R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":)"
           R"({"__name__":"mem"},"values":[)" +
           values + "]}]}}";
}

TEST(SeriesBounds, MemoryBeyond2To60IsRefusedWithItsLine) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes\n0,1e30\n1,1e30\n", "m.csv"); }),
              "m.csv:2: rss_bytes is 1e+30, more than 2^60 bytes (1 EiB); a memory size cannot "
              "be (check the column's unit and how the file was produced)");
    // 2^60 itself is the largest value read.
    EXPECT_NO_THROW(parse_csv("t_seconds,rss_bytes\n0,1152921504606846976\n", "m.csv"));
}

TEST(SeriesBounds, EveryKnownColumnIsChecked) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes,fds\n0,1,-3\n", "m.csv"); }),
              "m.csv:2: fds is negative (-3); a count cannot be (check how the file was "
              "produced)");
    EXPECT_EQ(error_of([] {
                  parse_jsonl("{\"t\":1795241955,\"rss_bytes\":1,\"cgroup_limit_bytes\":-1}\n",
                              "w");
              }),
              "w:1: cgroup_limit_bytes is negative (-1); a memory size cannot be (check how the "
              "file was produced)");
    // Unknown columns are kept and not judged.
    EXPECT_NO_THROW(parse_csv("t_seconds,rss_bytes,delta\n0,1,-3\n", "m.csv"));
}

TEST(SeriesBounds, EveryReaderRefusesANegativeValueInTheSameWords) {
    const std::string csv =
        error_of([] { parse_csv("t_seconds,rss_bytes\n0,1\n60,-5\n", "m.csv"); });
    const std::string jsonl = error_of([] {
        parse_jsonl("{\"t\":1795241955,\"rss_bytes\":1}\n{\"t\":1795242015,\"rss_bytes\":-5}\n",
                    "w");
    });
    const std::string prom = error_of(
        [] { parse_prometheus_json(prometheus(R"([1795241955,"1"],[1795242015,"-5"])"), "prom"); });
    const std::string why =
        "is negative (-5); a memory size cannot be (check how the file was "
        "produced)";
    EXPECT_EQ(csv, "m.csv:3: rss_bytes " + why);
    EXPECT_EQ(jsonl, "w:2: rss_bytes " + why);
    EXPECT_EQ(prom, "prom: result 1 (mem), sample 2: the value " + why);
}

TEST(SeriesBounds, TimesThatCannotBeSecondsAreRefusedWithTheFix) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes\n0,1\n1e300,2\n", "m.csv"); }),
              "m.csv:3: t_seconds is 1e+300, more than 1e10 s (317 years) from 0: not a time in "
              "seconds (if the column holds milliseconds, microseconds or nanoseconds, divide "
              "it by 1e3, 1e6 or 1e9; Unix times go in a timestamp column)");
    EXPECT_EQ(error_of([] { parse_csv("timestamp,rss_bytes\n1795241955000000000,1\n", "m.csv"); }),
              "m.csv:2: timestamp 1.795241955e+18 is not Unix seconds: it would be after the "
              "year 2286 (if it is Unix nanoseconds, divide it by 1e9)");
    EXPECT_EQ(error_of([] { parse_jsonl("{\"t\":1795241955000,\"rss_bytes\":1}\n", "w"); }),
              "w:1: t 1795241955000 is not Unix seconds: it would be after the year 2286 (if it "
              "is Unix milliseconds, divide it by 1000)");
    EXPECT_EQ(error_of([] { parse_prometheus_json(prometheus(R"([1795241955123,"1"])"), "prom"); }),
              "prom: result 1 (mem), sample 1: the time 1795241955123 is not Unix seconds: it "
              "would be after the year 2286 (if it is Unix milliseconds, divide it by 1000)");
}

TEST(SeriesBounds, ASpanOfMoreThan100YearsIsRefused) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes\n-5e9,1\n0,1\n5e9,2\n", "m.csv"); }),
              "m.csv:3: t_seconds is 158 years after the first row's; a memory series spans "
              "less than 100 years, so the column is not in seconds (if the column holds "
              "milliseconds, microseconds or nanoseconds, divide it by 1e3, 1e6 or 1e9; Unix "
              "times go in a timestamp column)");
}

TEST(SeriesBounds, StepsThatLookLikeAnotherUnitAreWarnedAbout) {
    const auto ms = parse_csv("t_seconds,rss_bytes\n0,1\n1000,2\n2000,3\n3000,4\n", "m.csv");
    ASSERT_EQ(ms.warnings.size(), 1u);
    EXPECT_EQ(ms.warnings[0],
              "m.csv: t_seconds advances by 1000 per row (median), 16m40s between samples; if it "
              "is in milliseconds, divide it by 1000 (t_seconds is in seconds)");
    const auto ns = parse_jsonl(
        "{\"t_seconds\":0,\"rss_bytes\":1}\n{\"t_seconds\":1e-9,"
        "\"rss_bytes\":2}\n{\"t_seconds\":2e-9,\"rss_bytes\":3}\n",
        "w");
    ASSERT_EQ(ns.warnings.size(), 1u);
    EXPECT_EQ(ns.warnings[0],
              "w: the rows are only 1e-09 s apart (median): memory is not sampled that often, so "
              "t_seconds is probably not in seconds (convert it to seconds, or the growth per "
              "hour will be far off)");
    // Seconds are not warned about, nor are Unix times an hour apart.
    EXPECT_TRUE(parse_csv("t_seconds,rss_bytes\n0,1\n10,2\n20,3\n", "m.csv").warnings.empty());
    EXPECT_TRUE(
        parse_csv("timestamp,rss_bytes\n1795241955,1\n1795245555,2\n1795249155,3\n", "m.csv")
            .warnings.empty());
}

}  // namespace
}  // namespace leakhunt::series
