// Tests of RFC 3339 parsing and formatting, and of the number parser the readers share.
#include "series/timestamp.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace leakhunt::series {
namespace {

TEST(ParseRfc3339, UtcWithZ) {
    // date -u -d 2026-11-21T06:19:15Z +%s
    EXPECT_EQ(parse_rfc3339("2026-11-21T06:19:15Z"), 1795241955.0);
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0.0);
    EXPECT_EQ(parse_rfc3339("2026-11-21t06:19:15z"), 1795241955.0);
    EXPECT_EQ(parse_rfc3339("2026-11-21 06:19:15Z"), 1795241955.0);
}

TEST(ParseRfc3339, FractionalSeconds) {
    EXPECT_DOUBLE_EQ(*parse_rfc3339("2026-11-21T06:19:15.25Z"), 1795241955.25);
    EXPECT_NEAR(*parse_rfc3339("2026-11-21T06:19:15.123456789Z"), 1795241955.123456789, 1e-6);
}

TEST(ParseRfc3339, Offsets) {
    EXPECT_EQ(parse_rfc3339("2026-11-21T07:19:15+01:00"), 1795241955.0);
    EXPECT_EQ(parse_rfc3339("2026-11-21T01:19:15-05:00"), 1795241955.0);
    EXPECT_EQ(parse_rfc3339("2026-11-21T11:49:15.5+05:30"), 1795241955.5);
    EXPECT_EQ(parse_rfc3339("2026-11-21T06:19:15+00:00"), 1795241955.0);
    EXPECT_EQ(parse_rfc3339("2026-11-21T07:19:15+0100"), 1795241955.0);
}

TEST(ParseRfc3339, LeapYearAndLeapSecond) {
    EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
    EXPECT_FALSE(parse_rfc3339("2026-02-29T00:00:00Z").has_value());
    EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), 1483228800.0);
}

TEST(ParseRfc3339, RejectsMalformed) {
    for (const char* bad : {"", "2026-11-21", "2026-11-21T06:19:15", "2026-13-01T00:00:00Z",
                            "2026-11-31T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T06:61:00Z",
                            "2026-11-21T06:19:15.Z", "2026-11-21T06:19:15+1:00",
                            "2026-11-21T06:19:15Zjunk", "26-11-21T06:19:15Z", "1795241955"}) {
        EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
    }
}

TEST(FormatRfc3339, UtcWithMilliseconds) {
    EXPECT_EQ(format_rfc3339(1795241955.0), "2026-11-21T06:19:15.000Z");
    EXPECT_EQ(format_rfc3339(1795241955.25), "2026-11-21T06:19:15.250Z");
    EXPECT_EQ(format_rfc3339(0.0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_rfc3339(-0.5), "1969-12-31T23:59:59.500Z");
    EXPECT_EQ(parse_rfc3339(format_rfc3339(1795241955.123)), 1795241955.123);
}

TEST(ParseNumber, AcceptsDecimalAndExponent) {
    EXPECT_EQ(parse_number("3.1e8"), 3.1e8);
    EXPECT_EQ(parse_number("+42"), 42.0);
    EXPECT_EQ(parse_number("-1.5"), -1.5);
    EXPECT_TRUE(std::isnan(*parse_number("NaN")));
    EXPECT_TRUE(std::isnan(*parse_number("nan")));
    EXPECT_FALSE(parse_number("").has_value());
    EXPECT_FALSE(parse_number("12a").has_value());
    EXPECT_FALSE(parse_number("+-1").has_value());
    EXPECT_FALSE(parse_number(" 1").has_value());
    EXPECT_FALSE(parse_number("1e999").has_value());
}

}  // namespace
}  // namespace leakhunt::series
