// What a memory series can hold: the bounds every reader (CSV, JSON lines, Prometheus) checks
// its values and times against, so that each refuses the same input in the same words, and the
// warnings for a time column whose steps look like the wrong unit. A value or a time outside
// these bounds is not a measurement but a broken file (1e30 bytes, a time 1e300 s from now),
// and judging it would print nonsense ("+3279304840195345920 TiB/h"). Pure functions;
// thread-safe.
//
// The bounds (README, `classify`):
//  - a memory value (a *_bytes column) or a count (fds, threads) is finite, not negative and at
//    most 2^60 (1 EiB: no machine's memory comes near it);
//  - an absolute time (RFC 3339, Unix seconds) lies between 1970 and 2286 (Unix 1e10): Unix
//    milliseconds, microseconds or nanoseconds are beyond it, and the message says to divide;
//  - a relative time (t_seconds) is at most 1e10 s (317 years) from zero;
//  - a series spans at most 100 years;
//  - rows closer than 1 ms (median) or, in t_seconds, 1000 s or more apart (median) are read
//    but warned about: the column is probably in another unit.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leakhunt::series {

// Whether a row's time is Unix seconds (RFC 3339 or a Unix number) or seconds from an unknown
// origin (t_seconds).
enum class TimeKind { relative, absolute };

inline constexpr double k_max_value = 1152921504606846976.0;  // 2^60
inline constexpr double k_max_unix_s = 1e10;                  // 2286-11-20
inline constexpr double k_max_relative_s = 1e10;
inline constexpr double k_max_span_s = 100 * 365.25 * 86400;  // 100 years
inline constexpr double k_min_plausible_step_s = 1e-3;
inline constexpr double k_max_plausible_relative_step_s = 1000;

// True for the columns of the series contract (rss_bytes, pss_bytes, ..., fds, threads).
bool is_known_column(std::string_view name);

// What is wrong with `value` in a known column, as the end of a sentence that starts with the
// row's place ("rss_bytes is negative (-5); a memory size cannot be"), or nullopt if it could be
// a measurement. NaN (a missing value) is fine. Unknown columns are not judged. `shown_as`
// names the value in the sentence when it is not the column's name (a Prometheus sample).
std::optional<std::string> value_problem(std::string_view column, double value,
                                         std::string_view shown_as = {});

// What is wrong with time `t` of `column` ("t_seconds", "timestamp", "t"), or nullopt.
std::optional<std::string> time_problem(std::string_view column, double t, TimeKind kind);

// What is wrong with a series running from `first` to `t`, or nullopt (longer than 100 years).
std::optional<std::string> span_problem(std::string_view column, double first, double t);

// A warning when the median step between the times `t` (sorted) suggests that `column` is not
// in seconds, naming `where` (the source and series) and the fix; nullopt otherwise.
std::optional<std::string> step_warning(std::string_view where, std::string_view column,
                                        std::span<const double> t, TimeKind kind);

}  // namespace leakhunt::series
