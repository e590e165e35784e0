// A real pprof reads what we write: a symbolized heap profile of this process is written with
// write_profile and given to `go tool pprof -top`. Skipped when Go is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "profile/pprof.hpp"
#include "self_map.hpp"
#include "symbolize/symbolizer.hpp"

namespace leakhunt::symbolize {
namespace fs = std::filesystem;

namespace {

// stdout and stderr of a shell command.
std::string run(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return out;
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    ::pclose(pipe);
    return out;
}

}  // namespace

TEST(PprofCompat, GoToolPprofTopShowsOurFunction) {
    if (std::system("command -v go >/dev/null 2>&1") != 0) GTEST_SKIP() << "go is not installed";
    const fs::path dir =
        fs::temp_directory_path() / ("leakhunt_pprof_compat." + std::to_string(::getpid()));
    fs::create_directories(dir);

    profile::Profile p = profile::make_heap_profile();
    const uint64_t call = testing::caller_function();
    const uint64_t entry = reinterpret_cast<uint64_t>(&testing::target_function);
    p.mappings.push_back(testing::self_mapping(call));
    p.locations.push_back({.id = 1, .mapping_id = 1, .address = entry});
    p.locations.push_back({.id = 2, .mapping_id = 1, .address = call});
    // target_function holds 3 MiB in use, called from caller_function.
    p.samples.push_back({{1, 2}, {3, 3 << 20, 3, 3 << 20}, {}});
    p.samples.push_back({{2}, {1, 1024, 0, 0}, {}});
    ASSERT_EQ(symbolize_profile(p).symbolized, 2U);
    const fs::path file = dir / "heap.pb.gz";
    profile::write_profile(file, p);

    const std::string env = "GOFLAGS= GOCACHE=" + (dir / "gocache").string() +
                            " PPROF_TMPDIR=" + dir.string() + " HOME=" + dir.string() + " ";
    const std::string out =
        run(env + "go tool pprof -top -sample_index=inuse_space " + file.string());
    fs::remove_all(dir);
    std::printf("%s", out.c_str());
    EXPECT_NE(out.find("Type: inuse_space"), std::string::npos) << out;
    EXPECT_NE(out.find("leakhunt::symbolize::testing::target_function"), std::string::npos) << out;
    EXPECT_NE(out.find("3MB"), std::string::npos) << out;
}

}  // namespace leakhunt::symbolize
