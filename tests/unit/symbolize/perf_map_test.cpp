// Tests for the perf map: V8's names as frames, later lines replacing earlier ones, malformed
// lines skipped, and the loader refusing what another user could have planted in /tmp.
#include "symbolize/perf_map.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace leakhunt::symbolize {

TEST(PerfMapFrame, V8NamesGiveFunctionFileAndLine) {
    Frame f = perf_map_frame("JS:*cacheSession /srv/app/server.js:21:5");
    EXPECT_EQ(f.function, "cacheSession");
    EXPECT_EQ(f.file, "/srv/app/server.js");
    EXPECT_EQ(f.line, 21);
    EXPECT_EQ(f.system_name, "JS:*cacheSession /srv/app/server.js:21:5");
    f = perf_map_frame("LazyCompile:~onRequest file:///srv/app/a b.mjs:7");
    EXPECT_EQ(f.function, "onRequest file:///srv/app/a");  // a space in the path is ambiguous
    EXPECT_EQ(f.file, "b.mjs");
    f = perf_map_frame("JS:~ /tmp/bufleak.js:4:23");
    EXPECT_EQ(f.function, "(anonymous)");
    EXPECT_EQ(f.file, "/tmp/bufleak.js");
    EXPECT_EQ(f.line, 4);
    f = perf_map_frame("Builtin:ArrayPrototypePush");
    EXPECT_EQ(f.function, "ArrayPrototypePush");
    EXPECT_EQ(f.file, "");
    EXPECT_EQ(f.line, 0);
}

TEST(PerfMap, LaterLinesWinWhereTheyOverlap) {
    const PerfMap m = PerfMap::parse(
        "1000 100 JS:~old /a.js:1:1\n"
        "1040 20 JS:*hot /a.js:2:1\n"
        "not a line\n"
        "zz 10 JS:bad\n"
        "2000 0 JS:empty\n"
        "3000 10\n"
        "ffffffffffffffff 10 JS:overflow\n");
    EXPECT_EQ(m.skipped_lines(), 5u);
    EXPECT_EQ(m.size(), 3u);  // old before hot, hot, old after hot
    EXPECT_EQ(m.frame_at(0x1000)->function, "old");
    EXPECT_EQ(m.frame_at(0x1045)->function, "hot");
    EXPECT_EQ(m.frame_at(0x1045)->module_offset, 5u);
    EXPECT_EQ(m.frame_at(0x1060)->function, "old");
    EXPECT_EQ(m.frame_at(0x10ff)->function, "old");
    EXPECT_FALSE(m.frame_at(0x1100));
    EXPECT_FALSE(m.frame_at(0xfff));
}

TEST(PerfMap, LoadRefusesALinkAndAnotherUsersFile) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("perfmap-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::filesystem::path file = dir / "perf-1.map";
    std::ofstream(file) << "1000 10 JS:*f /x.js:3:1\n";
    std::string why;
    const auto mine = PerfMap::load(1, ::geteuid(), &why, file.string());
    ASSERT_TRUE(mine) << why;
    EXPECT_EQ(mine->frame_at(0x1000)->function, "f");
    const std::filesystem::path link = dir / "perf-2.map";
    std::filesystem::create_symlink(file, link);
    EXPECT_FALSE(PerfMap::load(2, ::geteuid(), &why, link.string()));
    EXPECT_NE(why.find("cannot read"), std::string::npos) << why;
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(file.c_str(), 4242, 4242), 0);
        why.clear();
        EXPECT_FALSE(PerfMap::load(1, 1000, &why, file.string()));
        EXPECT_NE(why.find("owned by uid 4242"), std::string::npos) << why;
    }
    why.clear();
    EXPECT_FALSE(PerfMap::load(3, ::geteuid(), &why, (dir / "absent.map").string()));
    EXPECT_EQ(why, "");
    std::filesystem::remove_all(dir);
}

}  // namespace leakhunt::symbolize
