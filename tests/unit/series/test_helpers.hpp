// Helpers shared by the series tests: catching the util::Error of a call and checking the
// beginning of its message, and a temporary directory removed at the end of a test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "series/series.hpp"

#include "util/error.hpp"

namespace leakhunt::series::testing {

// The message of the util::Error that f throws, or "" (and a test failure) if none.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const util::Error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a util::Error";
    return "";
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

// A column that must exist (throws, failing the test, if it does not).
inline const std::vector<double>& col(const Series& s, std::string_view name) {
    const auto* c = s.column(name);
    if (c == nullptr) throw std::runtime_error("no column " + std::string(name));
    return *c;
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "leakhunt-series-XXXXXX");
        m_path = ::mkdtemp(tmpl.data());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
};

}  // namespace leakhunt::series::testing
