// RFC 3339 timestamps for the series formats: parsing "2026-11-21T06:19:15.25+01:00" (and plain
// Unix seconds) into Unix seconds as a double, and formatting Unix seconds back as UTC with
// milliseconds. Pure functions, no locale, no time zone database; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace leakhunt::series {

// "2026-11-21T06:19:15Z", "2026-11-21 06:19:15.123456+05:30", "...-0800" -> Unix seconds.
// The date must be valid (month 1-12, day within the month); a leap second (:60) is accepted.
// nullopt if malformed.
std::optional<double> parse_rfc3339(std::string_view s);

// Unix seconds -> "2026-11-21T06:19:15.250Z" (UTC, milliseconds, rounded to the nearest ms).
std::string format_rfc3339(double unix_seconds);

// A decimal number via std::from_chars; accepts a leading '+', rejects trailing characters.
// "nan"/"NaN" parse as NaN and "inf" as infinity: callers decide what to do with them.
std::optional<double> parse_number(std::string_view s);

}  // namespace leakhunt::series
