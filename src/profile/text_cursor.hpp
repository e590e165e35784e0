// A cursor over text, for the line-based profile readers (legacy_heap.cpp, proc_maps.cpp):
// lines with their numbers, errors that name the source and line, and small token readers that
// advance a string_view. Internal to src/profile.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::profile::text_cursor {

inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

inline void skip_spaces(std::string_view& s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
}

// Splits `text` into lines; remembers the number of the last line returned.
class Lines {
  public:
    explicit Lines(std::string_view text) : m_rest(text) {}

    bool next(std::string_view& line) {
        if (m_rest.empty()) return false;
        const size_t nl = m_rest.find('\n');
        line = m_rest.substr(0, nl);
        m_rest = nl == std::string_view::npos ? std::string_view{} : m_rest.substr(nl + 1);
        ++m_number;
        return true;
    }
    size_t number() const { return m_number; }
    std::string_view rest() const { return m_rest; }

  private:
    std::string_view m_rest;
    size_t m_number = 0;
};

// Errors of one source, with the line they are on.
class Context {
  public:
    explicit Context(std::string_view source) : m_source(source) {}

    template <typename... Args>
    [[noreturn]] void fail(size_t line, fmt::format_string<Args...> f, Args&&... args) const {
        throw util::Error(
            "cannot read {}:{}: {} (the heap profile is corrupt or truncated; take "
            "it again)",
            m_source, line, fmt::format(f, std::forward<Args>(args)...));
    }
    std::string_view source() const { return m_source; }

  private:
    std::string_view m_source;
};

// Reads a decimal integer (optionally negative) at the front of `s`.
inline bool take_int(std::string_view& s, int64_t& out) {
    skip_spaces(s);
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || ptr == s.data()) return false;
    s.remove_prefix(static_cast<size_t>(ptr - s.data()));
    return true;
}

inline bool take_char(std::string_view& s, char c) {
    skip_spaces(s);
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

inline bool take_prefix(std::string_view& s, std::string_view prefix) {
    if (!s.starts_with(prefix)) return false;
    s.remove_prefix(prefix.size());
    return true;
}

inline bool take_hex(std::string_view& s, uint64_t& out) {
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
    if (ec != std::errc{} || ptr == s.data()) return false;
    s.remove_prefix(static_cast<size_t>(ptr - s.data()));
    return true;
}

}  // namespace leakhunt::profile::text_cursor
