// Parsing and formatting of bytes, durations and rates.
#include "util/units.hpp"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace leakhunt::util {
namespace {

// Parses a leading decimal number; returns characters consumed (0 if none).
size_t parse_number(std::string_view s, double& out) {
    size_t i = 0;
    bool digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
        ++i;
        digits = true;
    }
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
            ++i;
            digits = true;
        }
    }
    if (!digits) return 0;
    out = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
    return i;
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

}  // namespace

std::optional<double> parse_bytes(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    double v = 0;
    size_t n = parse_number(s, v);
    if (n == 0) return std::nullopt;
    std::string unit = lower(s.substr(n));
    while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    double mul = 1;
    if (unit.empty() || unit == "b") {
        mul = 1;
    } else if (unit == "k" || unit == "kb" || unit == "kib") {
        mul = 1024.0;
    } else if (unit == "m" || unit == "mb" || unit == "mib") {
        mul = 1024.0 * 1024;
    } else if (unit == "g" || unit == "gb" || unit == "gib") {
        mul = 1024.0 * 1024 * 1024;
    } else if (unit == "t" || unit == "tb" || unit == "tib") {
        mul = 1024.0 * 1024 * 1024 * 1024;
    } else {
        return std::nullopt;
    }
    return v * mul;
}

std::optional<double> parse_duration(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    double total = 0;
    bool any = false;
    while (!s.empty()) {
        double v = 0;
        size_t n = parse_number(s, v);
        if (n == 0) return std::nullopt;
        s.remove_prefix(n);
        size_t u = 0;
        while (u < s.size() && std::isalpha(static_cast<unsigned char>(s[u])) != 0) ++u;
        std::string unit = lower(s.substr(0, u));
        s.remove_prefix(u);
        double mul = 0;
        if (unit.empty() || unit == "s") {
            mul = 1;
            if (unit.empty() && !s.empty()) return std::nullopt;
        } else if (unit == "ms") {
            mul = 0.001;
        } else if (unit == "m" || unit == "min") {
            mul = 60;
        } else if (unit == "h") {
            mul = 3600;
        } else if (unit == "d") {
            mul = 86400;
        } else if (unit == "w") {
            mul = 7 * 86400;
        } else {
            return std::nullopt;
        }
        total += v * mul;
        any = true;
    }
    if (!any) return std::nullopt;
    return total;
}

std::string format_count(double count, CountSign sign) {
    const double rounded = std::round(count);
    const char* lead = rounded < 0 ? "-" : (sign == CountSign::always ? "+" : "");
    const double magnitude = std::fabs(rounded);
    if (!(magnitude < 1e18)) return fmt::format("{}{:.0f}", lead, magnitude);
    return lead + format_count(static_cast<uint64_t>(magnitude));
}

std::string format_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double a = std::fabs(bytes);
    int u = 0;
    while (a >= 1024.0 && u < 4) {
        a /= 1024.0;
        ++u;
    }
    const char* sign = bytes < 0 ? "-" : "";
    if (u == 0) return fmt::format("{}{:.0f} B", sign, a);
    if (a >= 100) return fmt::format("{}{:.0f} {}", sign, a, units[u]);
    if (a >= 10) return fmt::format("{}{:.1f} {}", sign, a, units[u]);
    return fmt::format("{}{:.2f} {}", sign, a, units[u]);
}

std::string format_rate(double bytes_per_hour) {
    std::string b = format_bytes(bytes_per_hour);
    if (bytes_per_hour >= 0) b = "+" + b;
    return b + "/h";
}

std::string format_count(uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds)) return "forever";
    if (seconds < 0) return "-" + format_duration(-seconds);
    if (seconds < 60) {
        if (seconds == std::floor(seconds)) return fmt::format("{:.0f}s", seconds);
        return fmt::format("{:.1f}s", seconds);
    }
    // Beyond ~31,700 years a duration is only "more than" (llround would overflow past 2^63).
    constexpr double k_longest = 1e12;
    if (seconds > k_longest)
        return fmt::format("over {}d", static_cast<long long>(k_longest / 86400));
    auto total = static_cast<long long>(std::llround(seconds));
    long long d = total / 86400, h = (total % 86400) / 3600, m = (total % 3600) / 60,
              s = total % 60;
    if (d > 0) return fmt::format("{}d{}h", d, h);
    if (h > 0) return fmt::format("{}h{:02}m", h, m);
    if (s == 0) return fmt::format("{}m", m);
    return fmt::format("{}m{:02}s", m, s);
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace leakhunt::util
