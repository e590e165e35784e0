// Tests for owned file descriptors, whole-file reads, atomic writes, and exception_text.
#include "util/file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <span>
#include <stdexcept>

#include "util/error.hpp"

namespace leakhunt::util {
namespace fs = std::filesystem;

// Runs `f`, which must throw Error with exactly `message`.
template <typename F>
void expect_error(F f, const std::string& message) {
    try {
        f();
        ADD_FAILURE() << "no error; expected: " << message;
    } catch (const Error& e) {
        EXPECT_EQ(e.what(), message);
    }
}

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

TEST_F(FileTest, ReadFileInDirReadsARegularFileOfTheOwner) {
    write_file_atomic(m_dir / "heap.1.0001.pb.gz", "profile");
    EXPECT_EQ(read_file_in_dir(m_dir, "heap.1.0001.pb.gz"), "profile");
    const uid_t me = ::geteuid();
    EXPECT_EQ(read_file_in_dir(m_dir, "heap.1.0001.pb.gz", std::span(&me, 1)), "profile");
}

TEST_F(FileTest, ReadFileInDirRefusesOtherOwnersLinksFifosAndPaths) {
    write_file_atomic(m_dir / "mine", "x");
    const uid_t other = ::geteuid() + 1;
    expect_error([&] { read_file_in_dir(m_dir, "mine", std::span(&other, 1)); },
                 fmt::format("refusing to read mine: it belongs to uid {}, not to the user of the "
                             "process that named it",
                             ::geteuid()));
    fs::create_symlink(m_dir / "mine", m_dir / "link");
    expect_error([&] { read_file_in_dir(m_dir, "link"); },
                 "refusing to read link: it is a symbolic link");
    ASSERT_EQ(::mkfifo((m_dir / "fifo").c_str(), 0600), 0);
    expect_error([&] { read_file_in_dir(m_dir, "fifo"); },
                 "refusing to read fifo: not a regular file");
    fs::create_directory(m_dir / "sub");
    write_file_atomic(m_dir / "sub" / "f", "y");
    for (const char* name : {"sub/f", "../mine", "..", ".", "", "/etc/passwd"}) {
        expect_error([&] { read_file_in_dir(m_dir, name); },
                     fmt::format("refusing to read \"{}\": not a plain file name", name));
    }
    expect_error([&] { read_file_in_dir(m_dir, "absent"); },
                 "cannot read absent: no such file or directory");
}

TEST_F(FileTest, OpenReadOnlyOwnsTheDescriptorAndNamesAMissingFile) {
    write_file_atomic(m_dir / "r.txt", "abc");
    int raw = -1;
    {
        UniqueFd fd = open_read_only(m_dir / "r.txt");
        ASSERT_TRUE(fd.valid());
        raw = fd.get();
        char buf[4] = {};
        EXPECT_EQ(::read(raw, buf, sizeof buf), 3);
        EXPECT_STREQ(buf, "abc");
        UniqueFd moved = std::move(fd);
        EXPECT_EQ(moved.get(), raw);
        EXPECT_FALSE(fd.valid());
    }
    // Closed once, by the descriptor's last owner.
    EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
    expect_error([&] { open_read_only(m_dir / "none"); },
                 "cannot open " + (m_dir / "none").string() + ": no such file or directory");
}

TEST(ExceptionText, DropsALeadingTagOnly) {
    EXPECT_EQ(exception_text(std::runtime_error(
                  "[json.exception.parse_error.101] parse error at line 1, column 1")),
              "parse error at line 1, column 1");
    EXPECT_EQ(exception_text(std::runtime_error("plain [x] text")), "plain [x] text");
    EXPECT_EQ(exception_text(std::runtime_error("[unclosed tag")), "[unclosed tag");
    EXPECT_EQ(exception_text(std::runtime_error("")), "");
}

}  // namespace leakhunt::util
