// Tests for retention paths in words: the lines `leakhunt paths` prints and the report shows.
#include "heapscan/retention_text.hpp"

#include <gtest/gtest.h>

namespace leakhunt::heapscan {
namespace {

SiteRetention holders_site() {
    SiteRetention site;
    site.site = {"fill_sessions", "std::vector::reserve", "holders.cpp", 60};
    site.count = 1000;
    site.bytes = 32000;
    site.growth_bytes = 20480;
    RetentionPath p;
    p.root = "global g_sessions (holders)";
    p.hops = {{{"make_session", "", "holders.cpp", 40}, 8, false, false},
              {site.site, 16, true, true}};
    p.count = 600;
    p.bytes = 19200;
    RetentionPath q = p;
    q.root = "stack of thread 2";
    q.hops = {{site.site, 0, false, false}};
    q.count = 400;
    q.bytes = 12800;
    site.paths = {p, q};
    return site;
}

TEST(BlocksText, CountsWithThousandsSeparatorsAndSingular) {
    EXPECT_EQ(blocks_text(1), "1 block");
    EXPECT_EQ(blocks_text(12034), "12,034 blocks");
    EXPECT_EQ(blocks_text(0), "0 blocks");
}

TEST(SiteHeading, SizeAndLabelAndGrowthWithABase) {
    const SiteRetention site = holders_site();
    EXPECT_EQ(site_heading(site, false),
              "1,000 blocks (31.2 KiB) allocated in std::vector::reserve in fill_sessions "
              "(holders.cpp:60) are held by:");
    EXPECT_EQ(site_heading(site, true),
              "1,000 blocks (31.2 KiB, +20.0 KiB since the base scan) allocated in "
              "std::vector::reserve in fill_sessions (holders.cpp:60) are held by:");
}

TEST(PathLines, RootThenHopsWithOffsetsAfterTheFirst) {
    EXPECT_EQ(path_lines(holders_site().paths[0]),
              (std::vector<std::string>{
                  "  600 blocks (18.8 KiB): global g_sessions (holders)",
                  "      -> make_session (holders.cpp:40)",
                  "      -> at +0x10 (and other offsets): std::vector::reserve in fill_sessions "
                  "(holders.cpp:60) [a chain of these]"}));
}

TEST(SiteLines, HeadingPathsAndTheRestSummed) {
    const std::vector<std::string> lines = site_lines(holders_site(), false, 1);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], site_heading(holders_site(), false));
    EXPECT_EQ(lines[1], "  600 blocks (18.8 KiB): global g_sessions (holders)");
    EXPECT_EQ(lines[4], "  ... and 1 more paths: 400 blocks (12.5 KiB)");
    EXPECT_EQ(site_lines(holders_site(), false, 0).size(), 6u);
}

}  // namespace
}  // namespace leakhunt::heapscan
