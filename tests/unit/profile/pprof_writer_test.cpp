// Tests for write_profile / serialize_profile: write, read back, compare; atomic output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "profile/gzip.hpp"
#include "profile/pprof.hpp"
#include "util/file.hpp"

namespace leakhunt::profile {
namespace fs = std::filesystem;

namespace {

Profile sample_profile() {
    Profile p = make_heap_profile();
    p.period = 524288;
    p.time_nanos = 1700000000000000000;
    p.duration_nanos = 5000000000;
    p.default_sample_type = "inuse_space";
    p.comments = {"written by a test", "second comment"};
    p.mappings.push_back({.id = 1,
                          .memory_start = 0x400000,
                          .memory_limit = 0x500000,
                          .file_offset = 0x1000,
                          .filename = "/usr/bin/server",
                          .build_id = "0123abcd",
                          .has_functions = true,
                          .has_filenames = true,
                          .has_line_numbers = true,
                          .has_inline_frames = true});
    p.mappings.push_back({.id = 2,
                          .memory_start = 0x7f0000000000,
                          .memory_limit = 0x7f0000100000,
                          .filename = "/lib/x86_64-linux-gnu/libc.so.6"});
    p.functions.push_back({.id = 1,
                           .name = "cache::put(std::string)",
                           .system_name = "_ZN5cache3putENSt7__cxx1112basic_stringIcSt11char_"
                                          "traitsIcESaIcEEE",
                           .filename = "/src/cache.cpp",
                           .start_line = 10});
    p.functions.push_back({.id = 2,
                           .name = "main",
                           .system_name = "main",
                           .filename = "/src/main.cpp",
                           .start_line = 1});
    p.locations.push_back({.id = 1,
                           .mapping_id = 1,
                           .address = 0x401234,
                           .lines = {{.function_id = 1, .line = 12, .column = 5}}});
    p.locations.push_back(
        {.id = 2,
         .mapping_id = 1,
         .address = 0x402000,
         .lines = {{.function_id = 1, .line = 20}, {.function_id = 2, .line = 7}}});
    p.locations.push_back({.id = 3, .mapping_id = 2, .address = 0x7f0000001234});
    p.samples.push_back(
        {{1, 2}, {10, 10240, 4, 4096}, {{.key = "bytes", .num = 1024, .num_unit = "bytes"}}});
    p.samples.push_back({{3, 2}, {1, 64, 1, 64}, {{.key = "thread", .str = "worker"}}});
    return p;
}

}  // namespace

class WriteProfileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        m_dir = fs::temp_directory_path() / ("leakhunt_pprof_test." + std::to_string(::getpid()));
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }
    fs::path m_dir;
};

TEST_F(WriteProfileTest, RoundTripKeepsEverything) {
    const Profile p = sample_profile();
    write_profile(m_dir / "heap.pb.gz", p);
    EXPECT_EQ(read_profile(m_dir / "heap.pb.gz"), p);
    // Only the final file is left: no temporary.
    int entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(m_dir)) ++entries;
    EXPECT_EQ(entries, 1);
}

TEST_F(WriteProfileTest, OutputIsGzipAndRawEncodingParses) {
    const Profile p = sample_profile();
    EXPECT_TRUE(is_gzip(serialize_profile(p)));
    EXPECT_EQ(parse_profile(encode_profile(p), "raw"), p);
    EXPECT_EQ(gunzip(serialize_profile(p), "x"), encode_profile(p));
}

TEST_F(WriteProfileTest, GoProfileSurvivesRewrite) {
    const Profile go = read_profile(LEAKHUNT_TEST_DATA "/profile/go_heap.pb.gz");
    write_profile(m_dir / "go.pb.gz", go);
    EXPECT_EQ(read_profile(m_dir / "go.pb.gz"), go);
}

TEST_F(WriteProfileTest, OverwritesAtomically) {
    write_profile(m_dir / "heap.pb.gz", make_heap_profile());
    write_profile(m_dir / "heap.pb.gz", sample_profile());
    EXPECT_EQ(read_profile(m_dir / "heap.pb.gz"), sample_profile());
}

}  // namespace leakhunt::profile
