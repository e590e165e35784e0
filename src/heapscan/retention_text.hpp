// Retention paths in words, as `leakhunt paths` prints them and the HTML report shows them: one
// rule for both, so a holder reads the same on the terminal and on the page. The text is raw:
// the terminal passes each line through util::terminal_safe, the page through textContent.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "heapscan/retention.hpp"

namespace leakhunt::heapscan {

// 12034 -> "12,034 blocks"; 1 -> "1 block".
std::string blocks_text(uint64_t n);

// "1,000 blocks (31.2 KiB) allocated in LABEL are held by:"; with `with_growth` (a base scan was
// given), the growth follows the size: "(31.2 KiB, +20.0 KiB since the base scan)".
std::string site_heading(const SiteRetention& site, bool with_growth);

// A path's lines, indented as `paths` prints them under its site's heading:
//   "  1,000 blocks (31.2 KiB): global g_sessions (holders)"
//   "      -> std::vector::reserve in fill_sessions (holders.cpp:60)"
//   "      -> at +0x10: make_session (holders.cpp:41) [a chain of these]"
std::vector<std::string> path_lines(const RetentionPath& path);

// Every line `paths` prints for one site: its heading, its first `max_paths` paths (0: all) and,
// for the rest, "  ... and N more paths: X blocks (Y)".
std::vector<std::string> site_lines(const SiteRetention& site, bool with_growth, size_t max_paths);

}  // namespace leakhunt::heapscan
