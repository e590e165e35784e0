// Tests for the triage order of serve's index and its RSS sparklines.
#include "server/triage.hpp"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace leakhunt::server {
namespace {

nlohmann::json row(const char* name, nlohmann::json verdict, nlohmann::json left,
                   nlohmann::json growth) {
    return {{"name", name},
            {"verdict", std::move(verdict)},
            {"seconds_to_limit", std::move(left)},
            {"growth_bytes_per_hour", std::move(growth)}};
}

TEST(Triage, SeverityRankOrdersLeakBoundedHealthyInconclusiveThenNone) {
    EXPECT_EQ(severity_rank("leak"), 0);
    EXPECT_EQ(severity_rank("bounded"), 1);
    EXPECT_EQ(severity_rank("healthy"), 2);
    EXPECT_EQ(severity_rank("inconclusive"), 3);
    EXPECT_EQ(severity_rank(nullptr), 4);
    EXPECT_EQ(severity_rank("<b>"), 4);
}

TEST(Triage, SortBySeverityPutsLeaksFirstThenSoonestLimit) {
    nlohmann::json rows = nlohmann::json::array(
        {row("healthy", "healthy", nullptr, 0.0), row("none", nullptr, nullptr, nullptr),
         row("slow leak", "leak", 7200.0, 1e6), row("bounded", "bounded", nullptr, 5e5),
         row("leak, no limit", "leak", nullptr, 9e9), row("fast leak", "leak", 60.0, 1e8),
         row("undecided", "inconclusive", nullptr, nullptr),
         row("leak, no limit, slower", "leak", nullptr, 1e3)});
    sort_by_severity(rows);
    std::vector<std::string> names;
    for (const auto& r : rows) names.push_back(r["name"]);
    EXPECT_EQ(names, (std::vector<std::string>{"fast leak", "slow leak", "leak, no limit",
                                               "leak, no limit, slower", "bounded", "healthy",
                                               "undecided", "none"}));
}

TEST(Triage, SparklineSvgScalesBetweenLowestAndHighest) {
    // 10 x 10 pixels: a 1-pixel margin, so x and y run from 1 to 9.
    EXPECT_EQ(sparkline_svg({{0, 100}, {5, 300}, {10, 200}}, 10, 10),
              "<svg class=\"sparkline\" width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" "
              "role=\"img\" aria-label=\"RSS over time\"><polyline fill=\"none\" "
              "stroke=\"#c0392b\" stroke-width=\"1.5\" points=\"1.0,9.0 5.0,1.0 9.0,5.0\"/></svg>");
}

TEST(Triage, SparklineSvgOfAFlatSeriesIsAMiddleLineAndOfOnePointNothing) {
    EXPECT_NE(sparkline_svg({{0, 5}, {1, 5}}, 10, 10).find("points=\"1.0,5.0 9.0,5.0\""),
              std::string::npos);
    // +-0.5% around 1000: 1.6 of the box's 8 pixels in its middle, not its whole height.
    EXPECT_NE(sparkline_svg({{0, 995}, {1, 1005}}, 10, 10).find("points=\"1.0,5.8 9.0,4.2\""),
              std::string::npos);
    EXPECT_EQ(sparkline_svg({{0, 5}}), "");
    EXPECT_EQ(sparkline_svg({}), "");
}

TEST(Triage, SparklinePointsKeepLowsAndHighsAndSkipMissingValues) {
    std::vector<double> t, v;
    for (int i = 0; i < 1000; ++i) {
        t.push_back(static_cast<double>(i));
        v.push_back(i == 500 ? 1e9 : (i == 10 ? std::nan("") : static_cast<double>(i)));
    }
    const auto points = sparkline_points(t, v, 10);
    EXPECT_LE(points.size(), 22u);
    EXPECT_EQ(points.front(), (std::pair<double, double>{0, 0}));
    EXPECT_EQ(points.back(), (std::pair<double, double>{999, 999}));
    bool spike = false;
    for (const auto& [x, y] : points) {
        EXPECT_FALSE(std::isnan(y));
        spike = spike || (x == 500 && y == 1e9);
    }
    EXPECT_TRUE(spike);
}

}  // namespace
}  // namespace leakhunt::server
