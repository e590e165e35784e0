// RFC 3339 parsing and formatting with the civil-date algorithms of Howard Hinnant
// (http://howardhinnant.github.io/date_algorithms.html), so no time zone state is touched.
#include "series/timestamp.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace leakhunt::series {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct Civil {
    int64_t y, m, d;
};

Civil civil_from_days(int64_t z) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = yoe + era * 400;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2 ? 1 : 0), m, d};
}

bool is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t days_in_month(int64_t y, int64_t m) {
    static constexpr int64_t k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

// A checked cursor over the timestamp text.
class Cursor {
  public:
    explicit Cursor(std::string_view s) : m_s(s) {}
    bool done() const { return m_pos >= m_s.size(); }
    char peek() const { return done() ? '\0' : m_s[m_pos]; }
    void skip() { ++m_pos; }
    bool expect(char c) {
        if (peek() != c) return false;
        ++m_pos;
        return true;
    }
    // Exactly n decimal digits.
    std::optional<int64_t> digits(size_t n) {
        if (m_s.size() - m_pos < n) return std::nullopt;
        int64_t v = 0;
        for (size_t i = 0; i < n; ++i) {
            const char c = m_s[m_pos + i];
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + (c - '0');
        }
        m_pos += n;
        return v;
    }

  private:
    std::string_view m_s;
    size_t m_pos = 0;
};

}  // namespace

std::optional<double> parse_number(std::string_view s) {
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
        if (!s.empty() && (s.front() == '-' || s.front() == '+')) return std::nullopt;
    }
    if (s.empty()) return std::nullopt;
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
        // Denormals and overflows: from_chars reports them instead of rounding; both are
        // nonsense for memory series, so treat them as malformed.
        return std::nullopt;
    }
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<double> parse_rfc3339(std::string_view s) {
    Cursor c(s);
    const auto year = c.digits(4);
    if (!year || !c.expect('-')) return std::nullopt;
    const auto month = c.digits(2);
    if (!month || !c.expect('-')) return std::nullopt;
    const auto day = c.digits(2);
    if (!day) return std::nullopt;
    if (!c.expect('T') && !c.expect('t') && !c.expect(' ')) return std::nullopt;
    const auto hour = c.digits(2);
    if (!hour || !c.expect(':')) return std::nullopt;
    const auto minute = c.digits(2);
    if (!minute || !c.expect(':')) return std::nullopt;
    const auto second = c.digits(2);
    if (!second) return std::nullopt;
    if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) ||
        *hour > 23 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    double frac = 0;
    if (c.expect('.')) {
        double scale = 0.1;
        size_t n = 0;
        while (c.peek() >= '0' && c.peek() <= '9') {
            frac += scale * (c.peek() - '0');
            scale /= 10;
            c.skip();
            ++n;
        }
        if (n == 0) return std::nullopt;
    }
    int64_t offset = 0;
    if (c.expect('Z') || c.expect('z')) {
        offset = 0;
    } else if (c.peek() == '+' || c.peek() == '-') {
        const int64_t sign = c.peek() == '-' ? -1 : 1;
        c.skip();
        const auto oh = c.digits(2);
        if (!oh) return std::nullopt;
        c.expect(':');  // RFC 3339 requires it; ISO 8601 basic format omits it.
        const auto om = c.digits(2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offset = sign * (*oh * 3600 + *om * 60);
    } else {
        return std::nullopt;
    }
    if (!c.done()) return std::nullopt;
    const int64_t secs =
        days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second;
    return static_cast<double>(secs - offset) + frac;
}

std::string format_rfc3339(double unix_seconds) {
    if (!std::isfinite(unix_seconds)) return "invalid-time";
    const auto total_ms = static_cast<int64_t>(std::llround(unix_seconds * 1000.0));
    int64_t days = total_ms / 86'400'000;
    int64_t ms_of_day = total_ms % 86'400'000;
    if (ms_of_day < 0) {
        ms_of_day += 86'400'000;
        --days;
    }
    const Civil d = civil_from_days(days);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", d.y, d.m, d.d,
                       ms_of_day / 3'600'000, ms_of_day / 60'000 % 60, ms_of_day / 1000 % 60,
                       ms_of_day % 1000);
}

}  // namespace leakhunt::series
