// Checked, allocation-free helpers shared by the /proc and cgroup parsers: line splitting,
// whitespace trimming, tokenising and std::from_chars number parsing over std::string_view.
// Every function accepts any input (truncated, empty, binary) and reports failure as nullopt or
// false; none reads outside the view. Internal to src/proc (namespace detail).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace leakhunt::proc::detail {

inline constexpr bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Pops the next line (without its '\n') from `rest`. Returns false once `rest` is exhausted.
inline bool next_line(std::string_view& rest, std::string_view& line) {
    if (rest.empty()) return false;
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) {
        line = rest;
        rest = {};
    } else {
        line = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
    }
    return true;
}

// Pops the next whitespace-separated token from `rest`; empty when there is none.
inline std::string_view next_token(std::string_view& rest) {
    while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
    std::size_t n = 0;
    while (n < rest.size() && !is_space(rest[n])) ++n;
    const std::string_view token = rest.substr(0, n);
    rest.remove_prefix(n);
    return token;
}

// The whole of `s` (after trimming) is an unsigned decimal number that fits in 64 bits.
inline std::optional<std::uint64_t> parse_u64(std::string_view s) {
    s = trim(s);
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return v;
}

// Signed variant, for fields such as ppid that are pid_t.
inline std::optional<std::int64_t> parse_i64(std::string_view s) {
    s = trim(s);
    if (s.empty()) return std::nullopt;
    std::int64_t v = 0;
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return v;
}

// "   1736 kB" -> 1777664; "1" (no unit, e.g. Threads) -> 1. Any other unit, a missing number or
// an overflow -> nullopt. /proc prints "kB" meaning KiB (fs/proc/task_mmu.c,
// seq_put_decimal_ull_width).
inline std::optional<std::uint64_t> parse_kb_value(std::string_view s) {
    std::string_view rest = s;
    const std::string_view number = next_token(rest);
    const auto v = parse_u64(number);
    if (!v) return std::nullopt;
    const std::string_view unit = trim(rest);
    if (unit.empty()) return v;
    if (unit != "kB") return std::nullopt;
    constexpr std::uint64_t k_kib = 1024;
    if (*v > UINT64_MAX / k_kib) return std::nullopt;
    return *v * k_kib;
}

// Splits "Key:   value" at the first ':' into key and (untrimmed) value. False without a ':'.
inline bool split_colon(std::string_view line, std::string_view& key, std::string_view& value) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    key = line.substr(0, colon);
    value = line.substr(colon + 1);
    return true;
}

// Splits "key value" at the first run of whitespace (cgroup memory.stat, memory.events).
inline bool split_space(std::string_view line, std::string_view& key, std::string_view& value) {
    std::string_view rest = line;
    key = next_token(rest);
    if (key.empty()) return false;
    value = rest;
    return true;
}

}  // namespace leakhunt::proc::detail
