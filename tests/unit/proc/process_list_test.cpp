// Tests for list_processes on the fake proc root and on the real /proc.
#include "proc/process_list.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "fixture.hpp"
#include "util/error.hpp"

namespace leakhunt::proc {
namespace {

using test::data_dir;

TEST(ListProcesses, FixtureRoot) {
    const auto list = list_processes(data_dir() / "root");
    ASSERT_EQ(list.size(), 3u);

    EXPECT_EQ(list[0].pid, 2);
    EXPECT_EQ(list[0].comm, "kthreadd");
    EXPECT_TRUE(list[0].kernel_thread);
    EXPECT_EQ(list[0].cmdline, "");
    EXPECT_EQ(list[0].display(), "[kthreadd]");
    EXPECT_EQ(list[0].starttime, 24u);

    EXPECT_EQ(list[1].pid, 4242);
    EXPECT_EQ(list[1].comm, "x) (y z");
    EXPECT_FALSE(list[1].kernel_thread);
    EXPECT_EQ(list[1].display(), "./x) (y z -c sleep 600; : \"arg with space\"");
    EXPECT_EQ(list[1].starttime, 25724u);
    EXPECT_EQ(list[1].ppid, 1);

    EXPECT_EQ(list[2].pid, 4243);
    EXPECT_EQ(list[2].display(), "worker --threads 4");
}

TEST(Descendants, ParentsBeforeChildrenAndNothingElse) {
    auto proc = [](Pid pid, Pid ppid) {
        ProcessInfo p;
        p.pid = pid;
        p.ppid = ppid;
        return p;
    };
    // 10 -> 11 -> 13 -> 14, 10 -> 12; 20 is unrelated; 15's parent is 14.
    const std::vector<ProcessInfo> list = {proc(10, 1),  proc(11, 10), proc(12, 10), proc(13, 11),
                                           proc(14, 13), proc(15, 14), proc(20, 1)};
    EXPECT_EQ(descendants(list, 10), (std::vector<Pid>{11, 12, 13, 14, 15}));
    EXPECT_EQ(descendants(list, 13), (std::vector<Pid>{14, 15}));
    EXPECT_EQ(descendants(list, 12), std::vector<Pid>{});
    EXPECT_EQ(descendants(list, 99), std::vector<Pid>{});
}

TEST(ListProcesses, RealProcSkipsSelfUnlessAsked) {
    const pid_t self = ::getpid();
    auto has_self = [self](const std::vector<ProcessInfo>& l) {
        return std::any_of(l.begin(), l.end(),
                           [self](const ProcessInfo& p) { return p.pid == self; });
    };
    const auto without = list_processes();
    EXPECT_FALSE(has_self(without));
    EXPECT_FALSE(without.empty());
    const auto with = list_processes("/proc", IncludeSelf::yes);
    ASSERT_TRUE(has_self(with));
    const auto me = std::find_if(with.begin(), with.end(),
                                 [self](const ProcessInfo& p) { return p.pid == self; });
    EXPECT_NE(me->cmdline.find("proc_test"), std::string::npos) << me->cmdline;
}

TEST(ListProcesses, MissingRootThrows) {
    EXPECT_THROW(list_processes(data_dir() / "no-such-proc"), util::Error);
}

}  // namespace
}  // namespace leakhunt::proc
