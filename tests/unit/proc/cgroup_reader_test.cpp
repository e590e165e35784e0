// Tests for CgroupReader on fixture trees: v2/v1 detection, reading, resolving a --cgroup
// argument and finding a process's memory cgroup from /proc/PID/cgroup.
#include "proc/cgroup_reader.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "util/error.hpp"

namespace leakhunt::proc {
namespace {

namespace fs = std::filesystem;
using test::data_dir;

CgroupRoots fixture_roots() {
    return CgroupRoots{.v2 = data_dir() / "cgroup_v2",
                       .v1_memory = data_dir() / "cgroup_v1/memory"};
}

class CgroupReaderTest : public ::testing::Test {
  protected:
    CgroupReader m_reader{fixture_roots(), data_dir() / "root"};
    fs::path m_foo = data_dir() / "cgroup_v2/system.slice/foo.service";
    fs::path m_v1 = data_dir() / "cgroup_v1/memory/process_api/5f960890c225b8a2192d258b32cd4ea0";
    fs::path m_v1_old = data_dir() / "cgroup_v1/memory/docker/old";
};

TEST_F(CgroupReaderTest, DetectsVersionByFiles) {
    EXPECT_EQ(CgroupReader::detect(m_foo), CgroupVersion::v2);
    EXPECT_EQ(CgroupReader::detect(m_v1), CgroupVersion::v1);
    EXPECT_FALSE(CgroupReader::detect(data_dir() / "cgroup_v2/system.slice/notmemory.service"));
    EXPECT_FALSE(CgroupReader::detect(data_dir() / "does-not-exist"));
}

TEST_F(CgroupReaderTest, ReadsV2) {
    const auto m = m_reader.read(m_foo);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->version, CgroupVersion::v2);
    EXPECT_EQ(m->usage, 157286400u);
    EXPECT_EQ(m->working_set, 157286400u - 31457280u);
    EXPECT_EQ(m->limit, 536870912u);
    EXPECT_EQ(m->oom_kills, 1u);
    EXPECT_EQ(m->swap, 4096u);
    EXPECT_EQ(m->anon, 104857600u);
    EXPECT_EQ(m->file, 48234496u);
}

TEST_F(CgroupReaderTest, ReadsV2Unlimited) {
    const auto m = m_reader.read(data_dir() / "cgroup_v2/system.slice/unlimited.service");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->usage, 8192000u);
    EXPECT_FALSE(m->limit);
    EXPECT_EQ(m->working_set, 0u);  // inactive_file > current: floored
    EXPECT_EQ(m->oom_kills, 0u);
    EXPECT_FALSE(m->swap);  // no memory.swap.current
}

TEST_F(CgroupReaderTest, ReadsV1) {
    const auto m = m_reader.read(m_v1);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->version, CgroupVersion::v1);
    EXPECT_EQ(m->usage, 8609792u);
    EXPECT_EQ(m->working_set, 8609792u - 2129920u);
    EXPECT_FALSE(m->limit);  // 9223372036854771712
    EXPECT_EQ(m->oom_kills, 0u);
    EXPECT_EQ(m->anon, 1802240u);
    EXPECT_EQ(m->file, 5046272u);
}

TEST_F(CgroupReaderTest, ReadsOldV1) {
    const auto m = m_reader.read(m_v1_old);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->usage, 104857600u);
    EXPECT_EQ(m->limit, 268435456u);
    EXPECT_EQ(m->working_set, 0u);
    EXPECT_FALSE(m->oom_kills);
}

TEST_F(CgroupReaderTest, ReadOfMissingOrNonMemoryDirIsEmpty) {
    EXPECT_FALSE(m_reader.read(data_dir() / "cgroup_v2/system.slice/gone.service"));
    EXPECT_FALSE(m_reader.read(data_dir() / "cgroup_v2/system.slice/notmemory.service"));
}

TEST_F(CgroupReaderTest, ResolvesAbsoluteAndRelativePaths) {
    EXPECT_EQ(m_reader.resolve(m_foo.string()), m_foo);
    EXPECT_EQ(m_reader.resolve("system.slice/foo.service"), m_foo);
    EXPECT_EQ(m_reader.resolve("/system.slice/foo.service"), m_foo);  // as /proc/PID/cgroup shows
    EXPECT_EQ(m_reader.resolve("docker/old"), m_v1_old);
    EXPECT_EQ(m_reader.resolve("/docker/old/"), m_v1_old);
}

TEST_F(CgroupReaderTest, InvalidPathSaysWhatWasTried) {
    try {
        m_reader.resolve("system.slice/nope.service");
        FAIL() << "expected util::Error";
    } catch (const util::Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("cgroup_v2/system.slice/nope.service"), std::string::npos) << what;
        EXPECT_NE(what.find("cgroup_v1/memory/system.slice/nope.service"), std::string::npos);
        EXPECT_NE(what.find("pass a directory under " + fixture_roots().v2.string()),
                  std::string::npos)
            << what;
    }
    EXPECT_THROW(m_reader.resolve(""), util::Error);
    EXPECT_THROW(m_reader.resolve("system.slice/notmemory.service"), util::Error);
}

TEST_F(CgroupReaderTest, DefaultRootsNameSysFsCgroupInTheError) {
    const CgroupReader reader;
    try {
        reader.resolve("/leakhunt-test/definitely/not/here");
        FAIL() << "expected util::Error";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("pass a directory under /sys/fs/cgroup"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(CgroupReaderTest, MemoryDirFromV2V1AndHybrid) {
    EXPECT_EQ(m_reader.memory_dir_from(ProcCgroup{.v2_path = "/system.slice/foo.service"}), m_foo);
    EXPECT_EQ(m_reader.memory_dir_from(ProcCgroup{.v1_memory_path = "/docker/old"}), m_v1_old);
    // Hybrid: the v2 line names the root, which has no memory files; v1 wins.
    EXPECT_EQ(m_reader.memory_dir_from(ProcCgroup{.v2_path = "/", .v1_memory_path = "/docker/old"}),
              m_v1_old);
    EXPECT_FALSE(m_reader.memory_dir_from(ProcCgroup{}));
    EXPECT_FALSE(m_reader.memory_dir_from(ProcCgroup{.v2_path = "/"}));
}

TEST_F(CgroupReaderTest, ContainerWithoutCgroupNamespaceUsesTheRoot) {
    // The mount shows only the container's cgroup, but /proc/PID/cgroup names the host path.
    const fs::path own = data_dir() / "cgroup_v2/system.slice/foo.service";
    CgroupReader reader(CgroupRoots{.v2 = own, .v1_memory = data_dir() / "none"});
    EXPECT_EQ(reader.memory_dir_from(ProcCgroup{.v2_path = "/kubepods/pod1/abc"}), own);
}

TEST_F(CgroupReaderTest, MemoryDirOfPid) {
    EXPECT_EQ(m_reader.memory_dir_of(4242), m_foo);
    EXPECT_EQ(m_reader.memory_dir_of(4243), m_v1_old);
    EXPECT_FALSE(m_reader.memory_dir_of(999999));
}

}  // namespace
}  // namespace leakhunt::proc
