// Shared helpers for the proc tests: fixture paths under tests/data/proc and whole-file reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "util/file.hpp"

namespace leakhunt::proc::test {

inline std::filesystem::path data_dir() {
    return std::filesystem::path(LEAKHUNT_TEST_DATA) / "proc";
}

inline std::string fixture(const std::string& relative) {
    return util::read_file(data_dir() / relative);
}

inline constexpr std::uint64_t k_kib = 1024;

}  // namespace leakhunt::proc::test
