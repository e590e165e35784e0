// The alerting rules: durations, thresholds, quoting. promtool checks the whole file in the
// integration test (test_server.py).
#include "server/rules.hpp"

#include <gtest/gtest.h>

namespace leakhunt::server {
namespace {

TEST(PrometheusDuration, WholeUnits) {
    EXPECT_EQ(prometheus_duration(1800), "30m");
    EXPECT_EQ(prometheus_duration(5400), "1h30m");
    EXPECT_EQ(prometheus_duration(90061), "1d1h1m1s");
    EXPECT_EQ(prometheus_duration(0.2), "1s");
    EXPECT_EQ(prometheus_duration(0), "1s");
}

TEST(AlertingRulesYaml, UsesTheOptionsAndTheMetricNames) {
    RulesOptions o;
    o.for_s = 2700;
    o.min_confidence = 0.9;
    o.limit_within_s = 7200;
    o.group = "team's leaks";
    const std::string y = alerting_rules_yaml(o);
    EXPECT_NE(y.find("  - name: 'team''s leaks'\n"), std::string::npos) << y;
    EXPECT_NE(y.find("      - alert: MemoryLeak\n        expr: 'leakhunt_memory_growth_bytes_per_"
                     "second and on (target, name, pid) (leakhunt_leak_verdict{verdict=\"leak\"} "
                     "== 1) and on (target, name, pid) (leakhunt_verdict_confidence >= 0.9)'\n"
                     "        for: 45m\n"),
              std::string::npos)
        << y;
    EXPECT_NE(y.find("expr: 'leakhunt_projected_limit_seconds < 7200'"), std::string::npos);
    EXPECT_NE(y.find("expr: 'leakhunt_verdict_flag{flag=\"fd_growth\"} == 1'"), std::string::npos);
    EXPECT_NE(y.find("expr: 'leakhunt_source_up == 0'"), std::string::npos);
}

}  // namespace
}  // namespace leakhunt::server
