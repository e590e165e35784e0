// The Prometheus text format writer: escaping, value formatting, family grouping.
#include "server/exposition.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include <gtest/gtest.h>

namespace leakhunt::server {
namespace {

TEST(EscapeLabelValue, EscapesBackslashQuoteAndNewline) {
    EXPECT_EQ(escape_label_value(R"(a\b"c)"
                                 "\n"
                                 "d"),
              R"(a\\b\"c\nd)");
    EXPECT_EQ(escape_label_value("<script>'x'</script>"), "<script>'x'</script>");
}

TEST(EscapeLabelValue, KeepsUtf8AndReplacesInvalidBytes) {
    EXPECT_EQ(escape_label_value("caf\xC3\xA9"), "caf\xC3\xA9");
    EXPECT_EQ(escape_label_value("a\xFF"
                                 "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(escape_label_value("\xC3"), "\xEF\xBF\xBD");                  // truncated sequence
    EXPECT_EQ(escape_label_value("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
    EXPECT_EQ(escape_label_value("\xED\xA0\x80"),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(EscapeHelp, EscapesBackslashAndNewlineOnly) {
    EXPECT_EQ(escape_help("a \"b\" \\ c\nd"), "a \"b\" \\\\ c\\nd");
}

TEST(FormatSampleValue, MatchesPrometheusNotation) {
    EXPECT_EQ(format_sample_value(0), "0");
    EXPECT_EQ(format_sample_value(-0.0), "0");
    EXPECT_EQ(format_sample_value(42), "42");
    EXPECT_EQ(format_sample_value(0.25), "0.25");
    EXPECT_EQ(format_sample_value(24309760), "24309760");
    EXPECT_EQ(format_sample_value(std::nan("")), "NaN");
    EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(ValidNames, FollowTheDataModel) {
    EXPECT_TRUE(valid_metric_name("leakhunt_process_resident_memory_bytes"));
    EXPECT_TRUE(valid_metric_name("job:rate5m"));
    EXPECT_FALSE(valid_metric_name("1abc"));
    EXPECT_FALSE(valid_metric_name("a-b"));
    EXPECT_FALSE(valid_metric_name(""));
    EXPECT_TRUE(valid_label_name("pid"));
    EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Exposition, GroupsSamplesUnderOneHelpAndType) {
    Exposition x;
    x.declare("m_bytes", MetricType::gauge, "Bytes.\nSecond line");
    x.declare("unused", MetricType::gauge, "Never sampled: not rendered.");
    x.declare("c_total", MetricType::counter, "A counter.");
    x.add("m_bytes", {{"name", "a\"b"}}, 1);
    x.add("c_total", {}, 3);
    x.add("m_bytes", {{"name", "c"}, {"pid", "7"}}, 2.5);
    x.declare("m_bytes", MetricType::gauge, "again: ignored");
    EXPECT_EQ(x.render(),
              "# HELP m_bytes Bytes.\\nSecond line\n"
              "# TYPE m_bytes gauge\n"
              "m_bytes{name=\"a\\\"b\"} 1\n"
              "m_bytes{name=\"c\",pid=\"7\"} 2.5\n"
              "# HELP c_total A counter.\n"
              "# TYPE c_total counter\n"
              "c_total 3\n");
}

TEST(Exposition, RejectsProgrammingErrors) {
    Exposition x;
    EXPECT_THROW(x.declare("bad-name", MetricType::gauge, ""), std::logic_error);
    EXPECT_THROW(x.add("undeclared", {}, 1), std::logic_error);
    x.declare("ok", MetricType::gauge, "");
    EXPECT_THROW(x.add("ok", {{"bad-label", "v"}}, 1), std::logic_error);
}

}  // namespace
}  // namespace leakhunt::server
