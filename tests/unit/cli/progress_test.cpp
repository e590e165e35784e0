// The progress bar with a fake stream and a fake clock: nothing before the delay, at most one
// redraw per interval, cleared at the end, silent without a sink.
#include "cli/progress.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace leakhunt::cli {
namespace {

using namespace std::chrono_literals;

struct Fake {
    std::vector<std::string> writes;
    Progress::Clock::time_point now{};
    Progress make(uint64_t total, Progress::Unit unit = Progress::Unit::items) {
        return Progress(
            "scanning", total, unit, [this](std::string_view s) { writes.emplace_back(s); },
            [this] { return now; }, Progress::Config{500ms, 100ms, 60});
    }
};

TEST(Progress, DrawsAfterTheDelayAtMostOncePerIntervalAndClears) {
    Fake f;
    {
        Progress p = f.make(200);
        p.advance();
        f.now += 400ms;
        p.advance();
        EXPECT_TRUE(f.writes.empty());  // quick work prints nothing
        f.now += 100ms;
        p.update(50);
        ASSERT_EQ(f.writes.size(), 1u);
        EXPECT_EQ(f.writes[0],
                  "\rscanning [########---------------------------] 50/200 (25%)\x1b[K");
        f.now += 50ms;
        p.update(60);
        EXPECT_EQ(f.writes.size(), 1u);  // rate-limited
        f.now += 50ms;
        p.update(200);
        ASSERT_EQ(f.writes.size(), 2u);
        EXPECT_NE(f.writes[1].find("200/200 (100%)"), std::string::npos);
    }
    ASSERT_EQ(f.writes.size(), 3u);
    EXPECT_EQ(f.writes[2], "\r\x1b[K");  // cleared by the destructor
}

TEST(Progress, UnknownTotalAndBytes) {
    Fake f;
    Progress p = f.make(0, Progress::Unit::bytes);
    auto cb = p.callback();
    f.now += 1s;
    cb(3 << 20, 0);
    ASSERT_EQ(f.writes.size(), 1u);
    EXPECT_EQ(f.writes[0], "\rscanning 3.00 MiB\x1b[K");
    p.finish();
    p.finish();
    EXPECT_EQ(f.writes.size(), 2u);
    f.now += 1s;
    p.advance();
    EXPECT_EQ(f.writes.size(), 2u);  // nothing after finish
}

TEST(Progress, NeverDrawnMeansNeverCleared) {
    Fake f;
    {
        Progress p = f.make(10);
        p.advance(10);
    }
    EXPECT_TRUE(f.writes.empty());
}

TEST(Progress, SilentWithoutSink) {
    Progress p(
        "x", 10, Progress::Unit::items, {}, [] { return Progress::Clock::now(); },
        Progress::Config{0ms, 0ms, 80});
    p.advance(5);
    p.finish();
    EXPECT_EQ(p.line(),
              "x [################################--------------------------------] 5/10 (50%)");
}

}  // namespace
}  // namespace leakhunt::cli
