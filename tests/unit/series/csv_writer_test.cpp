// Tests of format_csv/write_csv (column order, number format, round trip) and CsvAppender
// (header, appends, resume, torn last line).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "series/csv.hpp"
#include "test_helpers.hpp"
#include "util/file.hpp"

namespace leakhunt::series {
namespace {

using testing::col;
using testing::error_of;
using testing::starts_with;
using testing::TempDir;

const double k_nan = std::numeric_limits<double>::quiet_NaN();

Series make_series() {
    Series s;
    s.name = "api";
    s.t = {0, 10, 20.25};
    s.columns["rss_bytes"] = {1048576, 2097152.5, 3e9};
    s.columns["fds"] = {10, k_nan, 12};
    s.columns["zeta"] = {1, 2, 3};
    s.columns["alpha"] = {0.5, 0.25, 0.125};
    s.columns["pss_bytes"] = {1, 2, 3};
    return s;
}

TEST(FormatCsv, ColumnOrderIntegersAndMissingCells) {
    EXPECT_EQ(format_csv({make_series()}),
              "t_seconds,rss_bytes,pss_bytes,fds,alpha,zeta\n"
              "0,1048576,1,10,0.5,1\n"
              "10,2097152.5,2,,0.25,2\n"
              "20.25,3000000000,3,12,0.125,3\n");
}

TEST(FormatCsv, TimestampWhenEpochOffsetIsSet) {
    Series s;
    s.epoch_offset = 1795241955.0;
    s.t = {0, 0.5};
    s.columns["rss_bytes"] = {1, 2};
    EXPECT_EQ(format_csv({s}),
              "timestamp,rss_bytes\n2026-11-21T06:19:15.000Z,1\n2026-11-21T06:19:15.500Z,2\n");
}

TEST(FormatCsv, SeveralSeriesGetATargetColumn) {
    Series a = make_series();
    Series b;
    b.name = "other";
    b.labels["target"] = "name:^db,main";
    b.t = {5};
    b.columns["rss_bytes"] = {7};
    const std::string text = format_csv({a, b});
    EXPECT_TRUE(starts_with(text,
                            "t_seconds,target,rss_bytes,pss_bytes,fds,alpha,zeta\n"
                            "0,api,1048576,1,10,0.5,1\n"));
    EXPECT_NE(text.find("\n5,\"name:^db,main\",7,,,,\n"), std::string::npos);
}

TEST(WriteCsv, RoundTripRelative) {
    TempDir dir;
    const auto path = dir.path() / "out.csv";
    const Series in = make_series();
    write_csv(path, {in});
    const auto r = read_csv(path);
    ASSERT_EQ(r.series.size(), 1u);
    const Series& out = r.series[0];
    EXPECT_EQ(out.t, in.t);
    EXPECT_FALSE(out.epoch_offset.has_value());
    ASSERT_EQ(out.columns.size(), in.columns.size());
    for (const auto& [name, values] : in.columns) {
        const auto& got = col(out, name);
        for (size_t i = 0; i < values.size(); ++i) {
            if (std::isnan(values[i])) {
                EXPECT_TRUE(std::isnan(got[i]));
            } else {
                EXPECT_EQ(got[i], values[i]) << name << " " << i;
            }
        }
    }
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp." + std::to_string(::getpid())));
}

TEST(WriteCsv, RoundTripAbsoluteWithTargets) {
    TempDir dir;
    const auto path = dir.path() / "out.csv";
    Series a;
    a.name = "a";
    a.epoch_offset = 1795241955.0;
    a.t = {0, 1.5, 3};
    a.columns["rss_bytes"] = {10, 20, 30};
    Series b = a;
    b.name = "b";
    b.columns["rss_bytes"] = {40, 50, 60};
    write_csv(path, {a, b});
    const auto r = read_csv(path);
    ASSERT_EQ(r.series.size(), 2u);
    EXPECT_EQ(r.series[0].name, "out.csv:a");
    EXPECT_EQ(r.series[1].name, "out.csv:b");
    for (size_t k = 0; k < 2; ++k) {
        const Series& in = k == 0 ? a : b;
        EXPECT_EQ(r.series[k].epoch_offset, in.epoch_offset);
        EXPECT_EQ(r.series[k].t, in.t);
        EXPECT_EQ(col(r.series[k], k_rss), col(in, k_rss));
    }
}

TEST(CsvAppender, WritesHeaderOnceAndAppendsAcrossReopen) {
    TempDir dir;
    const auto path = dir.path() / "watch.csv";
    {
        CsvAppender app(path, {"rss_bytes", "fds"});
        app.append(
            {{1795241955.0, "api", 4242, {100, 10}}, {1795241955.0, "db", 17, {500, k_nan}}});
        app.append({{1795241965.0, "api", 4242, {110, 11}}});
    }
    {
        CsvAppender app(path, {"rss_bytes", "fds"});
        app.append({{1795241975.0, "api", 5151, {50, 3}}});
        app.sync();
    }
    EXPECT_EQ(util::read_file(path),
              "timestamp,target,pid,rss_bytes,fds\n"
              "2026-11-21T06:19:15.000Z,api,4242,100,10\n"
              "2026-11-21T06:19:15.000Z,db,17,500,\n"
              "2026-11-21T06:19:25.000Z,api,4242,110,11\n"
              "2026-11-21T06:19:35.000Z,api,5151,50,3\n");
    const auto r = read_csv(path);
    ASSERT_EQ(r.series.size(), 2u);
    EXPECT_EQ(r.series[0].t, (std::vector<double>{0, 10, 20}));
    EXPECT_EQ(r.series[0].restart_times, (std::vector<double>{20}));
}

TEST(CsvAppender, CutsATornLastLine) {
    TempDir dir;
    const auto path = dir.path() / "watch.csv";
    util::write_file_atomic(path,
                            "timestamp,target,pid,rss_bytes\n"
                            "2026-11-21T06:19:15.000Z,api,1,100\n"
                            "2026-11-21T06:19:2");
    {
        CsvAppender app(path, {"rss_bytes"});
        app.append({{1795241965.0, "api", 1, {110}}});
    }
    EXPECT_EQ(util::read_file(path),
              "timestamp,target,pid,rss_bytes\n"
              "2026-11-21T06:19:15.000Z,api,1,100\n"
              "2026-11-21T06:19:25.000Z,api,1,110\n");
}

TEST(CsvAppender, RejectsADifferentHeader) {
    TempDir dir;
    const auto path = dir.path() / "watch.csv";
    util::write_file_atomic(path, "t_seconds,rss_bytes\n0,1\n");
    EXPECT_TRUE(starts_with(error_of([&] { CsvAppender app(path, {"rss_bytes"}); }),
                            path.string() + ":1: the existing header \"t_seconds,rss_bytes\" "
                                            "differs from the one this watch writes"));
    EXPECT_TRUE(starts_with(error_of([&] { CsvAppender app(dir.path() / "x.csv", {"fds"}); }),
                            "cannot write " + (dir.path() / "x.csv").string() +
                                ": the columns must include rss_bytes"));
}

}  // namespace
}  // namespace leakhunt::series
