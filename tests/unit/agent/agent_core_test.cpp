// Tests for the agent's core, outside a preloaded process: the sampler's rate, the stack and
// live tables, and the agent's small I/O helpers.
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "agent/agent_io.hpp"
#include "agent/config.hpp"
#include "agent/live_table.hpp"
#include "agent/sampler.hpp"
#include "agent/stack_table.hpp"

namespace leakhunt::agent {
namespace {

TEST(ReadAttachConfig, EveryFieldAndAnOutDirThatRunsToTheEnd) {
    Config c;
    ASSERT_TRUE(read_attach_config(
        c, "interval=1;every=1500;depth=300;unwind=libunwind;seed=9;out=/tmp/a;b=c d"));
    EXPECT_EQ(c.sample_interval, 1u);
    EXPECT_EQ(c.snapshot_every_s, 1.5);
    EXPECT_EQ(c.depth, k_max_depth);
    EXPECT_EQ(c.unwind, Config::Unwind::libunwind);
    EXPECT_EQ(c.seed, 9u);
    EXPECT_STREQ(c.out_dir, "/tmp/a;b=c d");
}

TEST(ReadAttachConfig, RefusesMalformedRequests) {
    Config c;
    EXPECT_FALSE(read_attach_config(c, nullptr));
    EXPECT_FALSE(read_attach_config(c, "interval=1"));            // no out
    EXPECT_FALSE(read_attach_config(c, "interval=x;out=/tmp"));   // not a number
    EXPECT_FALSE(read_attach_config(c, "interval=;out=/tmp"));    // empty
    EXPECT_FALSE(read_attach_config(c, "depth=0;out=/tmp"));      // depth 0
    EXPECT_FALSE(read_attach_config(c, "unwind=fast;out=/tmp"));  // unknown unwinder
    EXPECT_FALSE(read_attach_config(c, "colour=red;out=/tmp"));   // unknown field
    EXPECT_FALSE(read_attach_config(c, "out="));                  // empty directory
}

TEST(Sampler, EveryAllocationAtIntervalOneAndNoneAtZero) {
    Sampler s;
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(s.sample(16, 1, 7));
    Sampler off;
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(off.sample(1 << 20, 0, 7));
}

// Each byte has the chance 1/interval of being the sampled one: over N bytes the number of
// samples is Poisson with mean N/interval (for small allocations, where one allocation seldom
// holds two sampled bytes). 4M allocations of 64 bytes at 64 KiB: mean 4096, sd 64; the bound
// is 5 sd.
TEST(Sampler, SamplesBytesAtTheConfiguredRate) {
    Sampler s;
    const std::uint64_t interval = 64 * 1024;
    std::uint64_t samples = 0;
    const std::uint64_t n = 4u << 20;
    for (std::uint64_t i = 0; i < n; ++i) samples += s.sample(64, interval, 12345) ? 1u : 0u;
    const double mean = static_cast<double>(n * 64) / static_cast<double>(interval);
    EXPECT_NEAR(static_cast<double>(samples), mean, 5 * std::sqrt(mean));
}

// A large allocation is sampled with probability 1 - exp(-size/interval): 8 MiB at 512 KiB is
// 1 - e^-16, so every one of 1,000.
TEST(Sampler, LargeAllocationsAreAlmostAlwaysSampled) {
    Sampler s;
    int sampled = 0;
    for (int i = 0; i < 1000; ++i) sampled += s.sample(8u << 20, 512 * 1024, 99) ? 1 : 0;
    EXPECT_EQ(sampled, 1000);
}

TEST(StackTable, InternsOnceAndCountsFromEveryThread) {
    static StackTable table;  // large: not on the stack
    const std::uintptr_t a[] = {0x401000, 0x402000, 0x403000};
    const std::uintptr_t b[] = {0x401000, 0x402000, 0x404000};
    const std::uint32_t me = thread_token();
    const std::uint32_t ia = table.intern(a, 3, 111, me);
    const std::uint32_t ib = table.intern(b, 3, 222, me);
    ASSERT_NE(ia, 0u);
    ASSERT_NE(ib, 0u);
    EXPECT_NE(ia, ib);
    EXPECT_EQ(table.intern(a, 3, 111, me), ia);
    EXPECT_EQ(table.count(), 2u);
    StackRecord* r = table.get(ia);
    ASSERT_EQ(r->depth, 3u);
    EXPECT_EQ(r->ips()[2], 0x403000u);
    r->count_alloc(100, me);
    std::thread other([&] { r->count_alloc(50, thread_token()); });
    other.join();
    r->count_free(30, me);
    EXPECT_EQ(r->alloc_count(), 2u);
    EXPECT_EQ(r->alloc_bytes(), 150u);
    EXPECT_EQ(r->free_count(), 1u);
    EXPECT_EQ(r->free_bytes(), 30u);
    EXPECT_FALSE(table.any_locked());
}

TEST(LiveTable, InsertRemoveAndStaleRecords) {
    static LiveTable live;
    live.set_full(false);
    const std::uint32_t me = thread_token();
    std::uint64_t stale_size = 0, size = 0;
    std::uint32_t stale_stack = 0, stack = 0;
    ASSERT_TRUE(live.insert(0x7f0000001000, 64, 5, me, stale_size, stale_stack));
    EXPECT_EQ(stale_stack, 0u);
    EXPECT_TRUE(live.maybe_present(0x7f0000001000));
    // The allocator handed the address out again: the old record is replaced and returned.
    ASSERT_TRUE(live.insert(0x7f0000001000, 128, 6, me, stale_size, stale_stack));
    EXPECT_EQ(stale_size, 64u);
    EXPECT_EQ(stale_stack, 5u);
    EXPECT_EQ(live.approx_count(), 1u);
    std::size_t seen = 0;
    live.for_each([&](std::uintptr_t p, std::uint64_t s, std::uint32_t st) {
        ++seen;
        EXPECT_EQ(p, 0x7f0000001000u);
        EXPECT_EQ(s, 128u);
        EXPECT_EQ(st, 6u);
    });
    EXPECT_EQ(seen, 1u);
    EXPECT_TRUE(live.remove(0x7f0000001000, size, stack, me));
    EXPECT_EQ(size, 128u);
    EXPECT_EQ(stack, 6u);
    EXPECT_FALSE(live.remove(0x7f0000001000, size, stack, me));
    // Sampled mode: a block never recorded is filtered without a lock.
    EXPECT_FALSE(live.maybe_present(0x7f0000001000));
    EXPECT_EQ(live.approx_count(), 0u);
}

// Many blocks from two threads: every one is found again with its own size.
TEST(LiveTable, ManyBlocksFromTwoThreads) {
    static LiveTable live;
    live.set_full(true);
    auto fill = [](std::uintptr_t base) {
        const std::uint32_t me = thread_token();
        std::uint64_t ss = 0;
        std::uint32_t st = 0;
        for (std::uintptr_t i = 0; i < 20000; ++i) {
            ASSERT_TRUE(live.insert(base + i * 32, i + 1, 1, me, ss, st));
        }
    };
    std::thread t1(fill, 0x100000000);
    std::thread t2(fill, 0x200000000);
    t1.join();
    t2.join();
    EXPECT_EQ(live.approx_count(), 40000u);
    const std::uint32_t me = thread_token();
    std::uint64_t size = 0;
    std::uint32_t stack = 0;
    for (std::uintptr_t i = 0; i < 20000; i += 997) {
        ASSERT_TRUE(live.remove(0x200000000 + i * 32, size, stack, me));
        EXPECT_EQ(size, i + 1);
    }
}

int first_object(dl_phdr_info* info, size_t, void* data) {
    auto* out = static_cast<std::pair<std::string, std::string>*>(data);
    char id[130], path[512];
    build_id_hex(info, id, sizeof id);
    object_path(info, path, sizeof path);
    *out = {id, path};
    return 1;  // the program itself comes first
}

// The program's own build ID, as the ELF note in the file says (read here from the file with
// the section's raw bytes, independently of the agent's reader of the mapped notes).
TEST(AgentIo, BuildIdOfTheProgramMatchesItsFile) {
    std::pair<std::string, std::string> got;
    dl_iterate_phdr(first_object, &got);
    EXPECT_EQ(got.second, std::filesystem::read_symlink("/proc/self/exe").string());
    std::ifstream f(got.second, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string elf = ss.str();
    // The note: namesz 4, type 3 (NT_GNU_BUILD_ID), "GNU\0", then descsz bytes.
    const size_t at = elf.find(std::string("\x03\x00\x00\x00GNU\x00", 8));
    ASSERT_NE(at, std::string::npos) << "the test program has no build ID";
    std::uint32_t descsz = 0;
    std::memcpy(&descsz, elf.data() + at - 4, 4);
    std::string want;
    for (std::uint32_t i = 0; i < descsz; ++i) {
        char hex[3];
        std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(elf[at + 8 + i]));
        want += hex;
    }
    EXPECT_EQ(got.first, want);
}

TEST(AgentIo, AtomicWriteAndItsError) {
    const std::string dir = std::filesystem::temp_directory_path() /
                            ("leakhunt_agent_io." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/out.bin";
    char msg[256] = "";
    ASSERT_TRUE(write_file_atomic(path.c_str(), "hello", 5, msg, sizeof msg));
    std::ifstream in(path);
    std::string text;
    in >> text;
    EXPECT_EQ(text, "hello");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
    const std::string bad = dir + "/missing/out.bin";
    EXPECT_FALSE(write_file_atomic(bad.c_str(), "x", 1, msg, sizeof msg));
    EXPECT_EQ(std::string(msg), "cannot write " + bad + ": No such file or directory");
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace leakhunt::agent
