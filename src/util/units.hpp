// Human units: bytes ("1.5 GiB"), durations ("20m", "1h30m"), rates; parsing and formatting.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leakhunt::util {

// "512", "64k", "1.5M", "2GiB", "3g" -> bytes (powers of 1024). nullopt if malformed.
std::optional<double> parse_bytes(std::string_view s);

// "90", "90s", "20m", "1h30m", "2d", "500ms" -> seconds. A bare number is seconds. nullopt if
// malformed or negative.
std::optional<double> parse_duration(std::string_view s);

// 1536 -> "1.5 KiB"; negative values keep their sign.
std::string format_bytes(double bytes);

// 12034 -> "12,034" (exact for every uint64_t; the double overload below rounds and signs).
std::string format_count(uint64_t n);
// Any narrower unsigned count (a uint32_t index, a size_t) is the same.
template <std::unsigned_integral T>
std::string format_count(T n) {
    return format_count(static_cast<uint64_t>(n));
}

// bytes per hour -> "+12.3 MiB/h" (sign always shown).
std::string format_rate(double bytes_per_hour);

// A count rounded to a whole number with its thousands grouped: 41000 -> "41,000", with
// `sign` also "+41,000" (and "-3", "+0"). Beyond 1e18 the plain number.
enum class CountSign { when_negative, always };
std::string format_count(double count, CountSign sign = CountSign::when_negative);

// 5400 -> "1h30m", 42.5 -> "42.5s", 2 days -> "2d0h".
std::string format_duration(double seconds);

// Unix time now, in seconds (the system clock).
double unix_now();

}  // namespace leakhunt::util
