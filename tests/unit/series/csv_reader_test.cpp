// Tests of parse_csv/read_csv: the contract, every error message (with its FILE:LINE part),
// every stated repair (warnings), grouping by target, pid restarts, and the shared corpus.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "series/csv.hpp"
#include "test_helpers.hpp"

namespace leakhunt::series {
namespace {

using testing::col;
using testing::error_of;
using testing::starts_with;

const std::string k_data = LEAKHUNT_TEST_DATA "/series/";

TEST(ParseCsv, MinimalTSeconds) {
    const auto r = parse_csv("t_seconds,rss_bytes\n0,100\n10,200\n20.5,300\n", "dir/mem.csv");
    ASSERT_EQ(r.series.size(), 1u);
    const Series& s = r.series[0];
    EXPECT_EQ(s.name, "mem.csv");
    EXPECT_EQ(s.t, (std::vector<double>{0, 10, 20.5}));
    EXPECT_EQ(col(s, k_rss), (std::vector<double>{100, 200, 300}));
    EXPECT_FALSE(s.epoch_offset.has_value());
    EXPECT_TRUE(s.restart_times.empty());
    EXPECT_TRUE(r.warnings.empty());
}

TEST(ParseCsv, TimestampColumnIsRelativeWithEpochOffset) {
    const auto r = parse_csv(
        "timestamp,rss_bytes\n2026-11-21T06:19:15Z,1\n2026-11-21T07:19:25.5+01:00,2\n"
        "1795241975,3\n",
        "m.csv");
    const Series& s = r.series.at(0);
    ASSERT_TRUE(s.epoch_offset.has_value());
    EXPECT_EQ(*s.epoch_offset, 1795241955.0);
    EXPECT_EQ(s.t, (std::vector<double>{0, 10.5, 20}));
}

TEST(ParseCsv, KnownAndUnknownColumns) {
    const auto r = parse_csv(
        "t_seconds,rss_bytes,pss_bytes,anon_bytes,heap_inuse_bytes,fds,threads,"
        "cgroup_usage_bytes,cgroup_limit_bytes,gc_cycles,host,event\n"
        "0,1,2,3,4,5,6,7,8,9,web-1,start\n"
        "1,1,2,3,4,5,6,7,8,10,web-1,\n",
        "m.csv");
    const Series& s = r.series.at(0);
    for (auto c : {"rss_bytes", "pss_bytes", "anon_bytes", "heap_inuse_bytes", "fds", "threads",
                   "cgroup_usage_bytes", "cgroup_limit_bytes", "gc_cycles"}) {
        EXPECT_NE(s.column(c), nullptr) << c;
    }
    EXPECT_EQ(col(s, "gc_cycles"), (std::vector<double>{9, 10}));
    EXPECT_EQ(s.column("host"), nullptr);
    EXPECT_EQ(s.column("event"), nullptr);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0],
              "m.csv:2: column host has a non-numeric value \"web-1\" and was ignored");
}

TEST(ParseCsv, CrlfBomCommentsBlankLinesNanAndExponent) {
    const auto r = read_csv(k_data + "crlf_bom.csv");
    const Series& s = r.series.at(0);
    EXPECT_EQ(s.t, (std::vector<double>{0, 10.5, 30}));
    EXPECT_EQ(col(s, k_rss), (std::vector<double>{100, 3.1e8, 300}));
    const auto& heap = col(s, k_heap_inuse);
    EXPECT_EQ(heap[0], 50);
    EXPECT_TRUE(std::isnan(heap[1]));
    EXPECT_TRUE(std::isnan(heap[2]));
    EXPECT_EQ(s.column("host"), nullptr);
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_EQ(r.warnings[1], k_data +
                                 "crlf_bom.csv: 1 row without a rss_bytes value was dropped "
                                 "(first on line 5)");
}

TEST(ParseCsv, RowsWithoutRssAreDroppedWithACount) {
    const auto r = parse_csv("t_seconds,rss_bytes,fds\n0,1,1\n1,,2\n2,NaN,3\n3,4,4\n", "m.csv");
    EXPECT_EQ(r.series.at(0).t, (std::vector<double>{0, 3}));
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0],
              "m.csv: 2 rows without a rss_bytes value were dropped (first on line 3)");
}

TEST(ParseCsv, DuplicateTimesKeepTheLastRow) {
    const auto r = parse_csv("t_seconds,rss_bytes\n0,1\n0,2\n5,3\n5,4\n5,5\n", "m.csv");
    EXPECT_EQ(r.series.at(0).t, (std::vector<double>{0, 5}));
    EXPECT_EQ(col(r.series.at(0), k_rss), (std::vector<double>{2, 5}));
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0],
              "m.csv: 3 rows repeated the time of the row before; the last row "
              "for each time was kept (first on line 3)");
}

TEST(ParseCsv, QuotedFields) {
    const auto r = parse_csv(
        "t_seconds,target,rss_bytes\n0,\"a,b\",1\n1,\"a,b\",2\n"
        "1,\"say \"\"hi\"\"\",3\n",
        "m.csv");
    ASSERT_EQ(r.series.size(), 2u);
    EXPECT_EQ(r.series[0].name, "m.csv:a,b");
    EXPECT_EQ(r.series[1].labels.at("target"), "say \"hi\"");
}

TEST(ParseCsv, GroupsByTargetAndRecordsPidRestarts) {
    const auto r = read_csv(k_data + "watch_multi.csv");
    ASSERT_EQ(r.series.size(), 2u);
    const Series& api = r.series[0];
    const Series& db = r.series[1];
    EXPECT_EQ(api.name, "watch_multi.csv:api");
    EXPECT_EQ(api.labels.at("target"), "api");
    EXPECT_EQ(db.name, "watch_multi.csv:db");
    EXPECT_EQ(api.t, (std::vector<double>{0, 10, 20, 40}));
    EXPECT_EQ(*api.epoch_offset, 1795241955.0);
    EXPECT_EQ(api.restart_times, (std::vector<double>{20}));
    EXPECT_EQ(col(api, k_fds), (std::vector<double>{40, 41, 12, 13}));
    EXPECT_EQ(api.column("pid"), nullptr);
    EXPECT_EQ(db.t, (std::vector<double>{0, 10}));
    EXPECT_TRUE(db.restart_times.empty());
    EXPECT_TRUE(std::isnan(col(db, k_threads).at(0)));
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_TRUE(starts_with(r.warnings[0], k_data + "watch_multi.csv: 1 row without"));
}

TEST(ParseCsv, PidWithoutTargetRecordsRestarts) {
    const auto r =
        parse_csv("t_seconds,pid,rss_bytes\n0,10,1\n5,10,2\n10,11,3\n15,11,4\n20,12,5\n", "m.csv");
    EXPECT_EQ(r.series.at(0).restart_times, (std::vector<double>{10, 20}));
}

TEST(ParseCsvErrors, EmptyFile) {
    EXPECT_EQ(error_of([] { parse_csv("", "m.csv"); }),
              "m.csv is empty: expected a header row such as t_seconds,rss_bytes");
    EXPECT_EQ(error_of([] { parse_csv("\xEF\xBB\xBF\n# only a comment\r\n\n", "m.csv"); }),
              "m.csv is empty: expected a header row such as t_seconds,rss_bytes");
}

TEST(ParseCsvErrors, HeaderWithoutTime) {
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("# x\ntime,rss_bytes\n0,1\n", "m.csv"); }),
                            "m.csv:2: the header has no t_seconds or timestamp column"));
}

TEST(ParseCsvErrors, HeaderWithoutRss) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss\n0,1\n", "m.csv"); }),
              "m.csv:1: the header has no rss_bytes column (add a rss_bytes column with the "
              "resident set size in bytes)");
}

TEST(ParseCsvErrors, DuplicateAndEmptyHeaderNames) {
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("t_seconds,rss_bytes,rss_bytes\n", "m.csv"); }),
                            "m.csv:1: column rss_bytes appears twice in the header"));
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("t_seconds,,rss_bytes\n", "m.csv"); }),
                            "m.csv:1: column 2 of the header has no name"));
}

TEST(ParseCsvErrors, WrongNumberOfFields) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes\n0,1\n\n1,2,3\n", "m.csv"); }),
              "m.csv:4: expected 2 fields as in the header on line 1, found 3 (check for a "
              "missing or extra comma)");
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("t_seconds,rss_bytes\n0\n", "m.csv"); }),
                            "m.csv:2: expected 2 fields as in the header on line 1, found 1"));
}

TEST(ParseCsvErrors, NonNumericValueNamesTheColumn) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes,fds\n0,1,2\n1,2,many\n", "m.csv"); }),
              "m.csv:3: fds is not a number: \"many\" (use a plain number such as 123456 or "
              "3.1e8; leave the cell empty for a missing value)");
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("t_seconds,rss_bytes\n0,12 MB\n", "m.csv"); }),
                            "m.csv:2: rss_bytes is not a number: \"12 MB\""));
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("t_seconds,rss_bytes\n0,inf\n", "m.csv"); }),
                            "m.csv:2: rss_bytes is not a number: \"inf\""));
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("t_seconds,rss_bytes\nzero,1\n", "m.csv"); }),
                            "m.csv:2: t_seconds \"zero\" is not a number"));
}

TEST(ParseCsvErrors, MalformedTimestamp) {
    EXPECT_EQ(error_of([] {
                  parse_csv("timestamp,rss_bytes\n2026-11-21T06:19:15Z,1\n2026-11-21 6:19,2\n",
                            "m.csv");
              }),
              "m.csv:3: timestamp \"2026-11-21 6:19\" is neither RFC 3339 nor Unix seconds (use "
              "a time such as 2026-11-21T06:19:15Z or 1795241955)");
    EXPECT_TRUE(starts_with(error_of([] { parse_csv("timestamp,rss_bytes\n,1\n", "m.csv"); }),
                            "m.csv:2: timestamp is empty (every row needs a time)"));
}

TEST(ParseCsvErrors, TimeGoingBackwardsNamesThePreviousTime) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes\n0,1\n10,2\n# c\n5,3\n", "m.csv"); }),
              "m.csv:5: time goes backwards: 5 s comes after 10 s on line 3 (sort the rows by "
              "time)");
    EXPECT_EQ(error_of([] {
                  parse_csv(
                      "timestamp,target,rss_bytes\n2026-11-21T06:19:15Z,a,1\n"
                      "2026-11-21T06:19:10Z,b,1\n2026-11-21T06:19:14Z,a,1\n",
                      "m.csv");
              }),
              "m.csv:4: time goes backwards: 2026-11-21T06:19:14.000Z comes after "
              "2026-11-21T06:19:15.000Z on line 2 for target a (sort the rows by time)");
}

TEST(ParseCsvErrors, HeaderWithoutRows) {
    EXPECT_EQ(error_of([] { parse_csv("# c\nt_seconds,rss_bytes\n\n", "m.csv"); }),
              "m.csv:2: no samples: the file has a header but no rows (record some samples "
              "first)");
    EXPECT_TRUE(
        starts_with(error_of([] { parse_csv("t_seconds,rss_bytes\n0,\n1,NaN\n", "m.csv"); }),
                    "m.csv:1: no samples: none of the 2 rows has a rss_bytes value"));
}

TEST(ParseCsvErrors, NegativeRss) {
    EXPECT_EQ(error_of([] { parse_csv("t_seconds,rss_bytes\n0,1\n1,-5\n", "m.csv"); }),
              "m.csv:3: rss_bytes is negative (-5); a memory size cannot be (check how the file "
              "was produced)");
}

TEST(ParseCsvErrors, UnclosedQuote) {
    EXPECT_TRUE(
        starts_with(error_of([] { parse_csv("t_seconds,target,rss_bytes\n0,\"a,1\n", "m.csv"); }),
                    "m.csv:2: a quoted field is not closed"));
}

TEST(ReadCsv, MissingFileSaysWhy) {
    EXPECT_TRUE(starts_with(error_of([] { read_csv("/nonexistent/m.csv"); }),
                            "cannot read /nonexistent/m.csv: "));
}

struct CorpusTrace {
    const char* file;
    size_t samples;
};

class CorpusTest : public ::testing::TestWithParam<CorpusTrace> {};

TEST_P(CorpusTest, ReadsEveryTrace) {
    const auto& p = GetParam();
    const auto r = read_csv(std::string(LEAKHUNT_CORPUS "/traces/") + p.file);
    ASSERT_EQ(r.series.size(), 1u);
    const Series& s = r.series[0];
    EXPECT_EQ(s.size(), p.samples);
    EXPECT_EQ(s.t.front(), 0.0);
    EXPECT_TRUE(r.warnings.empty());
    for (size_t i = 1; i < s.size(); ++i) ASSERT_LT(s.t[i - 1], s.t[i]);
    for (double v : col(s, k_rss)) ASSERT_GT(v, 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Traces, CorpusTest,
    ::testing::Values(
        CorpusTrace{"batch_spikes.csv", 2880}, CorpusTrace{"daily_cycle.csv", 4320},
        CorpusTrace{"daily_cycle_leak.csv", 4320}, CorpusTrace{"flat_noisy.csv", 2160},
        CorpusTrace{"late_onset_leak.csv", 3600}, CorpusTrace{"late_plateau.csv", 2880},
        CorpusTrace{"leak_with_restarts.csv", 2880}, CorpusTrace{"linear_leak.csv", 2880},
        CorpusTrace{"log_growth.csv", 4320}, CorpusTrace{"sawtooth_flat.csv", 4320},
        CorpusTrace{"sawtooth_rising.csv", 4320}, CorpusTrace{"slow_leak_under_spikes.csv", 4320},
        CorpusTrace{"step_leak.csv", 3600}, CorpusTrace{"too_short.csv", 36},
        CorpusTrace{"warmup_plateau.csv", 2880}),
    [](const auto& param_info) {
        std::string n = param_info.param.file;
        return n.substr(0, n.find('.'));
    });

TEST(Corpus, LabelsFileIsNotATrace) {
    // labels.csv sits beside the traces; reading it as a series must fail clearly.
    EXPECT_TRUE(starts_with(error_of([] { read_csv(LEAKHUNT_CORPUS "/traces/labels.csv"); }),
                            LEAKHUNT_CORPUS "/traces/labels.csv:1: the header has no t_seconds"));
}

}  // namespace
}  // namespace leakhunt::series
