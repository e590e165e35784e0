// Command-line options of the leaky_service demo: which memory behaviour to show (an unbounded
// per-request cache, a bounded one, or none), how much each cached entry holds, and the port and
// worker-thread count of the HTTP server. parse_options() is the only place flags are read; it
// returns an error message instead of exiting so main() decides the exit code (2 = usage).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace leakhunt::examples {

enum class CacheMode { leak, bounded, healthy };

struct Options {
    std::uint16_t port = 8080;
    CacheMode mode = CacheMode::leak;
    std::size_t leak_bytes = 4096;      // payload bytes each cached session holds
    std::size_t cache_entries = 20000;  // bounded mode: evict beyond this many entries
    std::size_t threads = 8;            // HTTP worker threads (one per keep-alive connection)
};

// Either the parsed options or a one-line error for stderr. `help` is set when --help was given.
struct ParseResult {
    std::optional<Options> options;
    std::string error;
    bool help = false;
};

ParseResult parse_options(std::span<char* const> args);
const char* mode_name(CacheMode mode);
const char* usage_text();

}  // namespace leakhunt::examples
