// Tests for ProcessSampler: end to end on the fake proc root tests/data/proc/root (a full
// process, one without smaps_rollup, a kernel thread, a missing pid), then on the real /proc
// (this test process, and a child that exits).
#include "proc/process_sampler.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "fixture.hpp"
#include "proc/system_info.hpp"
#include "util/error.hpp"

namespace leakhunt::proc {
namespace {

using test::data_dir;
using test::k_kib;

SamplerOptions fixture_options() {
    SamplerOptions o;
    o.proc_root = data_dir() / "root";
    o.smaps = ReadSmaps::yes;
    o.cgroup_roots =
        CgroupRoots{.v2 = data_dir() / "cgroup_v2", .v1_memory = data_dir() / "cgroup_v1/memory"};
    return o;
}

TEST(ProcessSampler, FullProcessFromFixtures) {
    ProcessSampler sampler(fixture_options());
    const auto s = sampler.sample(4242);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->pid, 4242);
    EXPECT_EQ(s->starttime, 25724u);
    EXPECT_EQ(s->state, 'S');
    EXPECT_EQ(s->rss, 3068 * k_kib);
    EXPECT_EQ(s->rss_anon, 276 * k_kib);
    EXPECT_EQ(s->rss_file, 2792 * k_kib);
    EXPECT_EQ(s->rss_shmem, 0u);
    EXPECT_EQ(s->pss, 1327 * k_kib);
    EXPECT_EQ(s->pss_anon, 276 * k_kib);
    EXPECT_EQ(s->uss, (960 + 276) * k_kib);
    EXPECT_EQ(s->swap, 0u);
    EXPECT_EQ(s->vm_hwm, 3068 * k_kib);
    EXPECT_EQ(s->vm_size, 4360 * k_kib);
    EXPECT_EQ(s->fds, 5u);
    EXPECT_EQ(s->threads, 1u);
    EXPECT_EQ(s->smaps, SmapsState::ok);
    EXPECT_FALSE(s->smaps_denied());
    // Cgroup values were not asked for.
    EXPECT_FALSE(s->cgroup_usage);
    EXPECT_FALSE(s->cgroup_limit);
}

TEST(ProcessSampler, MissingSmapsRollupFallsBack) {
    ProcessSampler sampler(fixture_options());
    const auto s = sampler.sample(4243);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->starttime, 31000u);
    EXPECT_EQ(s->rss, 10240 * k_kib);
    EXPECT_FALSE(s->pss);
    EXPECT_FALSE(s->pss_anon);
    EXPECT_FALSE(s->uss);
    EXPECT_EQ(s->smaps, SmapsState::unavailable);
    EXPECT_EQ(s->smaps_errno, ENOENT);
    EXPECT_EQ(s->fds, 3u);
}

TEST(ProcessSampler, KernelThreadUsesStatm) {
    ProcessSampler sampler(data_dir() / "root");
    const auto s = sampler.sample(2);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->rss, 0u);  // statm: status has no VmRSS for kernel threads
    EXPECT_EQ(s->vm_size, 0u);
    EXPECT_FALSE(s->rss_anon);
    EXPECT_FALSE(s->fds);  // no fd directory in the fixture
    EXPECT_EQ(s->threads, 1u);
}

TEST(ProcessSampler, SmapsIsOffByDefaultAndCanBeAskedPerCall) {
    ProcessSampler sampler(data_dir() / "root");
    const auto s = sampler.sample(4242);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->smaps, SmapsState::not_requested);
    EXPECT_FALSE(s->pss);
    EXPECT_FALSE(s->uss);
    EXPECT_EQ(s->rss, 3068 * k_kib);
    EXPECT_EQ(s->fds, 5u);
    const auto with = sampler.sample(4242, ReadSmaps::yes);
    ASSERT_TRUE(with);
    EXPECT_EQ(with->smaps, SmapsState::ok);
    EXPECT_EQ(with->pss, 1327 * k_kib);
}

TEST(ProcessSampler, FdsCanBeSwitchedOff) {
    SamplerOptions o = fixture_options();
    o.fds = ReadFds::no;
    ProcessSampler sampler(o);
    const auto s = sampler.sample(4242);
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->fds);
    EXPECT_EQ(s->threads, 1u);
}

TEST(ProcessSampler, CgroupValuesOnRequest) {
    SamplerOptions o = fixture_options();
    o.cgroup = ReadCgroup::yes;
    ProcessSampler sampler(o);

    const auto v2 = sampler.sample(4242);
    ASSERT_TRUE(v2);
    EXPECT_EQ(v2->cgroup_usage, 157286400u);
    EXPECT_EQ(v2->cgroup_working_set, 157286400u - 31457280u);
    EXPECT_EQ(v2->cgroup_limit, 536870912u);
    EXPECT_EQ(v2->cgroup_oom_kills, 1u);

    const auto v1 = sampler.sample(4243);  // hybrid /proc/PID/cgroup, v1 memory controller
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->cgroup_usage, 104857600u);
    EXPECT_EQ(v1->cgroup_working_set, 0u);
    EXPECT_EQ(v1->cgroup_limit, 268435456u);
    EXPECT_FALSE(v1->cgroup_oom_kills);
}

TEST(ProcessSampler, MissingPidIsEmpty) {
    ProcessSampler sampler(data_dir() / "root");
    EXPECT_FALSE(sampler.sample(999999));
    EXPECT_FALSE(sampler.sample(0));
    EXPECT_FALSE(sampler.sample(-1));
}

TEST(ProcessSampler, BadProcRootThrows) {
    EXPECT_THROW(ProcessSampler(data_dir() / "no-such-proc"), util::Error);
}

TEST(ProcessSampler, SmapsErrorMessage) {
    EXPECT_EQ(smaps_error_message("/proc", 4242, EACCES),
              "cannot read /proc/4242/smaps_rollup: permission denied (run as the process owner "
              "or root; falling back to statm)");
    EXPECT_NE(smaps_error_message("/proc", 7, ENOENT).find("Linux 4.14"), std::string::npos);
}

TEST(ProcessSampler, SamplesThisProcessOnRealProc) {
    ProcessSampler sampler;
    const auto s = sampler.sample(::getpid(), ReadSmaps::yes);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->rss);
    EXPECT_GT(*s->rss, 0u);
    ASSERT_TRUE(s->threads);
    EXPECT_GE(*s->threads, 1u);
    ASSERT_TRUE(s->fds);
    EXPECT_GE(*s->fds, 3u);
    EXPECT_GT(s->starttime, 0u);
    EXPECT_EQ(s->state, 'R');
    EXPECT_EQ(s->smaps, SmapsState::ok);  // our own smaps_rollup is always readable
    ASSERT_TRUE(s->pss);
    EXPECT_GT(*s->pss, 0u);
    EXPECT_TRUE(s->uss);
    // Same instance, same identity on a second sample.
    const auto again = sampler.sample(::getpid());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->starttime, s->starttime);
}

TEST(ProcessSampler, ExitedChildIsEmptyAfterReaping) {
    ProcessSampler sampler;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_FALSE(sampler.sample(child));
}

TEST(ProcessSampler, ZombieIsSampledWithoutMemoryLines) {
    ProcessSampler sampler;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) ::_exit(0);
    // Until it is reaped the child is a zombie: still there, state Z, no mm (statm zeros).
    std::optional<MemorySample> s;
    for (int i = 0; i < 1000; ++i) {
        s = sampler.sample(child);
        if (s && s->state == 'Z') break;
        ::usleep(1000);
    }
    ASSERT_TRUE(s);
    EXPECT_EQ(s->state, 'Z');
    EXPECT_FALSE(s->rss_anon);
    EXPECT_EQ(s->rss, 0u);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
}

TEST(SystemInfo, PageSizeAndClockTicks) {
    EXPECT_GE(page_size(), 4096u);
    EXPECT_EQ(page_size() & (page_size() - 1), 0u);
    EXPECT_GT(clock_ticks_per_second(), 0u);
    EXPECT_DOUBLE_EQ(ticks_to_seconds(clock_ticks_per_second() * 3), 3.0);
}

}  // namespace
}  // namespace leakhunt::proc
