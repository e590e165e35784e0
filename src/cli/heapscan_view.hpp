// Printing heap-scan results, shared by `paths`, `leaks` and `record --leak-check`: the
// LeakSanitizer-style leak report and the retention paths, as text or JSON lines. Functions
// print to the given stream; not thread-safe.
#pragma once

#include <cstdio>
#include <filesystem>

#include "heapscan/retention.hpp"

namespace leakhunt::cli {

// The LeakSanitizer-style report of `scan_path` on `out`; returns the number of leaked objects
// (direct + indirect): a leaked malloc(0) is a leak of 0 bytes, and still a leak.
uint64_t print_leaks(const std::filesystem::path& scan_path, std::FILE* out, bool json);

}  // namespace leakhunt::cli
