// Parses the leaky_service command line (--port, --mode, --leak-bytes, --cache-entries,
// --threads). Numbers are checked for range and trailing garbage, so a typo is an error message
// rather than a silently different demo.
#include "options.hpp"

#include <charconv>
#include <limits>
#include <string_view>

namespace leakhunt::examples {
namespace {

std::optional<std::size_t> parse_size(std::string_view text, std::size_t min, std::size_t max) {
    std::size_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || value < min || value > max) return std::nullopt;
    return value;
}

std::optional<CacheMode> parse_mode(std::string_view text) {
    if (text == "leak") return CacheMode::leak;
    if (text == "bounded") return CacheMode::bounded;
    if (text == "healthy") return CacheMode::healthy;
    return std::nullopt;
}

}  // namespace

const char* mode_name(CacheMode mode) {
    switch (mode) {
        case CacheMode::leak:
            return "leak";
        case CacheMode::bounded:
            return "bounded";
        case CacheMode::healthy:
            return "healthy";
    }
    return "?";
}

const char* usage_text() {
    return "usage: leaky_service [--port P] [--mode leak|bounded|healthy] [--leak-bytes N]\n"
           "                     [--cache-entries N] [--threads N]\n"
           "  --port P            listen on 127.0.0.1:P (default 8080)\n"
           "  --mode M            leak: every request adds a session to a cache that is never\n"
           "                      evicted; bounded: the cache evicts beyond --cache-entries;\n"
           "                      healthy: no cache (default leak)\n"
           "  --leak-bytes N      payload bytes per cached session (default 4096)\n"
           "  --cache-entries N   bounded mode's capacity (default 20000)\n"
           "  --threads N         HTTP worker threads (default 8)\n"
           "endpoints: GET /session?user=ID, GET /health, GET /stats\n";
}

ParseResult parse_options(std::span<char* const> args) {
    ParseResult result;
    Options options;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string_view flag = args[i];
        if (flag == "--help" || flag == "-h") {
            result.help = true;
            return result;
        }
        if (i + 1 >= args.size()) {
            result.error = "unknown flag or missing value: " + std::string(flag);
            return result;
        }
        const std::string_view value = args[++i];
        bool ok = true;
        if (flag == "--port") {
            const auto port = parse_size(value, 1, std::numeric_limits<std::uint16_t>::max());
            ok = port.has_value();
            if (ok) options.port = static_cast<std::uint16_t>(*port);
        } else if (flag == "--mode") {
            const auto mode = parse_mode(value);
            ok = mode.has_value();
            if (ok) options.mode = *mode;
        } else if (flag == "--leak-bytes") {
            const auto bytes = parse_size(value, 0, std::size_t{1} << 30);
            ok = bytes.has_value();
            if (ok) options.leak_bytes = *bytes;
        } else if (flag == "--cache-entries") {
            const auto entries = parse_size(value, 1, std::size_t{1} << 32);
            ok = entries.has_value();
            if (ok) options.cache_entries = *entries;
        } else if (flag == "--threads") {
            const auto threads = parse_size(value, 1, 1024);
            ok = threads.has_value();
            if (ok) options.threads = *threads;
        } else {
            result.error = "unknown flag: " + std::string(flag);
            return result;
        }
        if (!ok) {
            result.error = "invalid value for " + std::string(flag) + ": " + std::string(value);
            return result;
        }
    }
    result.options = options;
    return result;
}

}  // namespace leakhunt::examples
