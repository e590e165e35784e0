// Tests for whole-file reads and atomic writes.
#include "util/file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "util/error.hpp"

namespace leakhunt::util {
namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("leakhunt_file_test." + std::to_string(::getpid()));
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }
    fs::path m_dir;
};

TEST_F(FileTest, WriteFileAtomicThenReadBack) {
    write_file_atomic(m_dir / "a.txt", "hello\n");
    EXPECT_EQ(read_file(m_dir / "a.txt"), "hello\n");
    // No temporary is left behind.
    int entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(m_dir)) ++entries;
    EXPECT_EQ(entries, 1);
}

TEST_F(FileTest, UncommittedAtomicFileLeavesNothing) {
    {
        AtomicFile f(m_dir / "b.txt");
        f.write("partial");
    }
    EXPECT_FALSE(fs::exists(m_dir / "b.txt"));
    EXPECT_TRUE(fs::is_empty(m_dir));
}

TEST_F(FileTest, ReadMissingFileNamesPathAndReason) {
    try {
        read_file(m_dir / "missing.csv");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.csv"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos);
    }
}

TEST_F(FileTest, WriteIntoMissingDirectoryFails) {
    EXPECT_THROW(write_file_atomic(m_dir / "nope" / "c.txt", "x"), Error);
}

}  // namespace leakhunt::util
