// Tests for parsing and formatting of bytes, durations and rates.
#include "util/units.hpp"

#include <gtest/gtest.h>

namespace leakhunt::util {

TEST(ParseBytes, AcceptsSuffixes) {
    EXPECT_EQ(parse_bytes("512"), 512.0);
    EXPECT_EQ(parse_bytes("64k"), 65536.0);
    EXPECT_EQ(parse_bytes("1.5M"), 1.5 * 1024 * 1024);
    EXPECT_EQ(parse_bytes("2GiB"), 2.0 * 1024 * 1024 * 1024);
    EXPECT_EQ(parse_bytes(" 3 g "), 3.0 * 1024 * 1024 * 1024);
}

TEST(ParseBytes, RejectsGarbage) {
    EXPECT_FALSE(parse_bytes(""));
    EXPECT_FALSE(parse_bytes("abc"));
    EXPECT_FALSE(parse_bytes("12q"));
    EXPECT_FALSE(parse_bytes("-5"));
}

TEST(ParseDuration, AcceptsUnitsAndCompounds) {
    EXPECT_EQ(parse_duration("90"), 90.0);
    EXPECT_EQ(parse_duration("90s"), 90.0);
    EXPECT_EQ(parse_duration("20m"), 1200.0);
    EXPECT_EQ(parse_duration("1h30m"), 5400.0);
    EXPECT_EQ(parse_duration("2d"), 172800.0);
    EXPECT_EQ(parse_duration("500ms"), 0.5);
    EXPECT_EQ(parse_duration("7d"), 604800.0);
}

TEST(ParseDuration, RejectsGarbage) {
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("m"));
    EXPECT_FALSE(parse_duration("5x"));
    EXPECT_FALSE(parse_duration("-3s"));
    EXPECT_FALSE(parse_duration("10 20"));
}

TEST(FormatCount, GroupsThousands) {
    EXPECT_EQ(format_count(uint64_t{0}), "0");
    EXPECT_EQ(format_count(uint64_t{999}), "999");
    EXPECT_EQ(format_count(uint64_t{1000}), "1,000");
    EXPECT_EQ(format_count(41000.4), "41,000");
    EXPECT_EQ(format_count(uint64_t{1234567}), "1,234,567");
    EXPECT_EQ(format_count(-105101.0), "-105,101");
    EXPECT_EQ(format_count(105101.0, CountSign::always), "+105,101");
    EXPECT_EQ(format_count(0, CountSign::always), "+0");
    EXPECT_EQ(format_count(-0.4, CountSign::always), "+0");
    EXPECT_EQ(format_count(1e20), "100000000000000000000");
}

TEST(FormatBytes, PicksUnitAndPrecision) {
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(1536), "1.50 KiB");
    EXPECT_EQ(format_bytes(20.0 * 1024 * 1024), "20.0 MiB");
    EXPECT_EQ(format_bytes(300.0 * 1024 * 1024), "300 MiB");
    EXPECT_EQ(format_bytes(-2048), "-2.00 KiB");
}

TEST(FormatRate, ShowsSign) {
    EXPECT_EQ(format_rate(20.0 * 1024 * 1024), "+20.0 MiB/h");
    EXPECT_EQ(format_rate(-1024), "-1.00 KiB/h");
}

TEST(FormatDuration, ReadsNaturally) {
    EXPECT_EQ(format_duration(42), "42s");
    EXPECT_EQ(format_duration(42.5), "42.5s");
    EXPECT_EQ(format_duration(120), "2m");
    EXPECT_EQ(format_duration(125), "2m05s");
    EXPECT_EQ(format_duration(5400), "1h30m");
    EXPECT_EQ(format_duration(2 * 86400 + 3 * 3600), "2d3h");
}

TEST(FormatDuration, AbsurdSpansDoNotWrapAround) {
    // llround of 1e300 overflowed into "-30m-8s".
    EXPECT_EQ(format_duration(1e300), "over 11574074d");
    EXPECT_EQ(format_duration(-1e300), "-over 11574074d");
    EXPECT_EQ(format_duration(1e12), "11574074d1h");
}

}  // namespace leakhunt::util
