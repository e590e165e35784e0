// Tests for the /proc/PID file parsers, on files captured from a real process (a copy of bash
// named "x) (y z" to exercise comm parsing) and a kernel thread (kthreadd).
#include "proc/proc_files.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace leakhunt::proc {
namespace {

using test::fixture;
using test::k_kib;

TEST(ParseStatus, RealProcess) {
    const StatusInfo s = parse_status(fixture("real/status"));
    EXPECT_EQ(s.name, "x) (y z");
    EXPECT_EQ(s.ppid, 1);
    EXPECT_EQ(s.uid, 0u);
    EXPECT_EQ(s.vm_rss, 3068 * k_kib);
    EXPECT_EQ(s.rss_anon, 276 * k_kib);
    EXPECT_EQ(s.rss_file, 2792 * k_kib);
    EXPECT_EQ(s.rss_shmem, 0u);
    EXPECT_EQ(s.vm_swap, 0u);
    EXPECT_EQ(s.vm_hwm, 3068 * k_kib);
    EXPECT_EQ(s.vm_size, 4360 * k_kib);
    EXPECT_EQ(s.threads, 1u);
}

TEST(ParseStatus, KernelThreadHasNoMemoryLines) {
    const StatusInfo s = parse_status(fixture("kthread/status"));
    EXPECT_EQ(s.name, "kthreadd");
    EXPECT_EQ(s.ppid, 0);
    EXPECT_FALSE(s.vm_rss);
    EXPECT_FALSE(s.vm_size);
    EXPECT_FALSE(s.rss_anon);
    EXPECT_EQ(s.threads, 1u);
}

TEST(ParseStatus, RealUidIsTheFirstOfFour) {
    const StatusInfo s = parse_status("Uid:\t1000\t0\t1000\t1000\nThreads:\t12\n");
    EXPECT_EQ(s.uid, 1000u);
    EXPECT_EQ(s.threads, 12u);
}

TEST(ParseStatus, SignalsCaughtIsTheSigCgtMask) {
    EXPECT_EQ(parse_status(fixture("real/status")).signals_caught, 0x10000u);
    // A node process: SIGUSR1 (bit 9) among others.
    EXPECT_EQ(parse_status("SigCgt:\t0000000100004602\n").signals_caught, 0x100004602u);
    EXPECT_FALSE(parse_status("SigCgt:\tnope\n").signals_caught);
    EXPECT_FALSE(parse_status("Threads:\t1\n").signals_caught);
}

TEST(ParseStatus, MalformedAndTruncatedInputLeavesFieldsEmpty) {
    const StatusInfo s =
        parse_status("garbage line\nVmRSS:\tlots kB\nVmSize:\t12 MB\nRssAnon:\t-5 kB\nVmHWM:\t  7");
    EXPECT_FALSE(s.vm_rss);
    EXPECT_FALSE(s.vm_size);
    EXPECT_FALSE(s.rss_anon);
    EXPECT_EQ(s.vm_hwm, 7u);  // truncated before the unit: a bare number
    EXPECT_EQ(parse_status("").name, "");
    EXPECT_FALSE(parse_status("VmRSS:\t99999999999999999999 kB\n").vm_rss);  // overflow
}

TEST(ParseSmapsRollup, RealProcess) {
    const SmapsRollup s = parse_smaps_rollup(fixture("real/smaps_rollup"));
    EXPECT_EQ(s.rss, 3068 * k_kib);
    EXPECT_EQ(s.pss, 1327 * k_kib);
    EXPECT_EQ(s.pss_anon, 276 * k_kib);
    EXPECT_EQ(s.pss_file, 1051 * k_kib);
    EXPECT_EQ(s.pss_shmem, 0u);
    EXPECT_EQ(s.private_clean, 960 * k_kib);
    EXPECT_EQ(s.private_dirty, 276 * k_kib);
    EXPECT_EQ(s.private_hugetlb, 0u);
    EXPECT_EQ(s.swap, 0u);
    EXPECT_EQ(s.swap_pss, 0u);
    EXPECT_EQ(s.uss(), (960 + 276) * k_kib);
}

TEST(ParseSmapsRollup, UssAddsHugetlbAndNeedsBothPrivateFields) {
    SmapsRollup s = parse_smaps_rollup(
        "Private_Clean:  1 kB\nPrivate_Dirty:  2 kB\nPrivate_Hugetlb: 2048 kB\n");
    EXPECT_EQ(s.uss(), 2051 * k_kib);
    s = parse_smaps_rollup("Private_Clean:  1 kB\n");
    EXPECT_FALSE(s.uss());
    // Older kernels (before 5.7) have no Pss_Anon/Pss_File/Pss_Shmem.
    s = parse_smaps_rollup("Rss: 8 kB\nPss: 4 kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: 4 kB\n");
    EXPECT_EQ(s.pss, 4 * k_kib);
    EXPECT_FALSE(s.pss_anon);
    EXPECT_EQ(s.uss(), 4 * k_kib);
}

TEST(ParseStatm, ScalesPagesToBytes) {
    const Statm s = parse_statm(fixture("real/statm"), 4096);
    EXPECT_EQ(s.size, 1090u * 4096);
    EXPECT_EQ(s.resident, 767u * 4096);
    EXPECT_EQ(s.shared, 698u * 4096);
    const Statm k = parse_statm(fixture("kthread/statm"), 4096);
    EXPECT_EQ(k.resident, 0u);
    const Statm bad = parse_statm("12 x", 4096);
    EXPECT_EQ(bad.size, 12u * 4096);
    EXPECT_FALSE(bad.resident);
    EXPECT_FALSE(bad.shared);
}

TEST(ParseStat, CommWithParenthesesAndSpaces) {
    const StatInfo s = parse_stat(fixture("real/stat"));
    EXPECT_EQ(s.pid, 4324);
    EXPECT_EQ(s.comm, "x) (y z");
    EXPECT_EQ(s.state, 'S');
    EXPECT_EQ(s.ppid, 1);
    EXPECT_EQ(s.flags, 4194304u);
    EXPECT_EQ(s.num_threads, 1u);
    EXPECT_EQ(s.starttime, 25724u);
    EXPECT_FALSE(is_kernel_thread(s));
}

TEST(ParseStat, KernelThread) {
    const StatInfo s = parse_stat(fixture("kthread/stat"));
    EXPECT_EQ(s.pid, 2);
    EXPECT_EQ(s.comm, "kthreadd");
    EXPECT_EQ(s.ppid, 0);
    EXPECT_EQ(s.starttime, 24u);
    EXPECT_TRUE(is_kernel_thread(s));
}

TEST(ParseStat, CommThatLooksLikeFields) {
    const StatInfo s =
        parse_stat("7 (a) R 99 (b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20");
    EXPECT_EQ(s.comm, "a) R 99 (b");
    EXPECT_EQ(s.state, 'S');
    EXPECT_EQ(s.ppid, 1);
    EXPECT_EQ(s.starttime, 19u);
}

TEST(ParseStat, TruncatedOrMalformed) {
    EXPECT_FALSE(parse_stat("").pid);
    EXPECT_FALSE(parse_stat("12 no parens").state);
    EXPECT_FALSE(parse_stat("12 )(").state);
    const StatInfo s = parse_stat("12 (x) R 1 2");
    EXPECT_EQ(s.state, 'R');
    EXPECT_EQ(s.ppid, 1);
    EXPECT_FALSE(s.starttime);
}

TEST(ParseCmdline, RealProcess) {
    const Cmdline c = parse_cmdline(fixture("real/cmdline"));
    ASSERT_EQ(c.args.size(), 3u);
    EXPECT_EQ(c.args[0], "./x) (y z");
    EXPECT_EQ(c.args[1], "-c");
    EXPECT_EQ(c.args[2], "sleep 600; : \"arg with space\"");
    EXPECT_EQ(c.display, "./x) (y z -c sleep 600; : \"arg with space\"");
    EXPECT_EQ(cmdline_display(fixture("real/cmdline")), c.display);
}

TEST(ParseCmdline, KernelThreadIsEmpty) {
    const Cmdline c = parse_cmdline(fixture("kthread/cmdline"));
    EXPECT_TRUE(c.args.empty());
    EXPECT_EQ(c.display, "");
    EXPECT_EQ(cmdline_display(""), "");
}

TEST(ParseCmdline, EmptyArgumentsAndRewrittenTitles) {
    using namespace std::string_view_literals;
    const Cmdline c = parse_cmdline("prog\0\0x\0"sv);
    ASSERT_EQ(c.args.size(), 3u);
    EXPECT_EQ(c.args[1], "");
    EXPECT_EQ(c.display, "prog  x");
    // setproctitle-style: one string padded with NULs.
    const Cmdline t = parse_cmdline("nginx: worker process\0\0\0\0"sv);
    ASSERT_EQ(t.args.size(), 1u);
    EXPECT_EQ(t.display, "nginx: worker process");
}

TEST(ParseProcCgroup, V2) {
    const ProcCgroup c = parse_proc_cgroup(fixture("cgroup_file_v2"));
    EXPECT_EQ(c.v2_path, "/system.slice/foo.service");
    EXPECT_FALSE(c.v1_memory_path);
}

TEST(ParseProcCgroup, V1) {
    const ProcCgroup c = parse_proc_cgroup(fixture("cgroup_file_v1"));
    EXPECT_FALSE(c.v2_path);
    EXPECT_EQ(c.v1_memory_path, "/docker/abc");
}

TEST(ParseProcCgroup, V1CombinedControllersAndPathWithSpace) {
    const ProcCgroup c = parse_proc_cgroup(fixture("cgroup_file_v1_combined"));
    EXPECT_EQ(c.v1_memory_path, "/batch/job 7");
}

TEST(ParseProcCgroup, Hybrid) {
    const ProcCgroup c = parse_proc_cgroup(fixture("cgroup_file_hybrid"));
    EXPECT_EQ(c.v2_path, "/");
    EXPECT_EQ(c.v1_memory_path, "/process_api/5f960890c225b8a2192d258b32cd4ea0");
}

TEST(ParseProcCgroup, MalformedLinesAreSkipped) {
    const ProcCgroup c =
        parse_proc_cgroup("junk\n3:memory\nx:memory:/a\n4:memoryx:/b\n0::/c:d\n2:memory:\n");
    EXPECT_EQ(c.v2_path, "/c:d");
    EXPECT_FALSE(c.v1_memory_path);
}

// Every prefix of every fixture (a file cut short, as a racing exit can leave it) parses
// without crashing; run under the sanitizers this is our cheap stand-in for a fuzzer.
TEST(Parsers, SurviveEveryTruncation) {
    for (const char* name :
         {"real/status", "real/smaps_rollup", "real/statm", "real/stat", "real/cmdline",
          "real/cgroup", "kthread/status", "kthread/stat", "cgroup_file_v1_combined"}) {
        const std::string text = fixture(name);
        for (std::size_t n = 0; n <= text.size(); ++n) {
            const std::string_view cut(text.data(), n);
            (void)parse_status(cut);
            (void)parse_smaps_rollup(cut);
            (void)parse_statm(cut, 4096);
            (void)parse_stat(cut);
            (void)parse_cmdline(cut);
            (void)cmdline_display(cut);
            (void)parse_proc_cgroup(cut);
        }
    }
}

}  // namespace
}  // namespace leakhunt::proc

namespace leakhunt::proc {

TEST(ParsePid, AcceptsDecimalPidsUpToTheKernelLimit) {
    EXPECT_EQ(parse_pid("1"), 1);
    EXPECT_EQ(parse_pid("4242"), 4242);
    EXPECT_EQ(parse_pid("4194304"), 4194304);
}

TEST(ParsePid, RejectsWhatIsNotAPid) {
    for (const char* bad : {"", "0", "-1", "+5", " 5", "5 ", "12abc", "0x10", "4194305",
                            "4294967297",  // wraps to 1 as a 32-bit int
                            "99999999999999999999", "1e3", "٣"}) {
        EXPECT_EQ(parse_pid(bad), std::nullopt) << bad;
    }
}

TEST(EnvironValue, FindsTheWholeNameOnly) {
    using namespace std::string_view_literals;
    const std::string_view env = "LD_PRELOAD_X=no\0LD_PRELOAD=/a.so\0EMPTY=\0LAST=end"sv;
    EXPECT_EQ(environ_value(env, "LD_PRELOAD"), "/a.so");
    EXPECT_EQ(environ_value(env, "EMPTY"), "");
    EXPECT_EQ(environ_value(env, "LAST"), "end");
    EXPECT_EQ(environ_value(env, "LD"), std::nullopt);
    EXPECT_EQ(environ_value("", "LAST"), std::nullopt);
}

}  // namespace leakhunt::proc
