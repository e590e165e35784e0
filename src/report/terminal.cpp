// ANSI styling and sparklines for the terminal views.
#include "report/terminal.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace leakhunt::report {

Color color_for_fd(int fd) {
    if (::isatty(fd) == 0) return Color::off;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0') return Color::off;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::string_view(term) == "dumb") return Color::off;
    return Color::on;
}

namespace {
std::string wrap(Color c, std::string_view code, std::string_view s) {
    if (c == Color::off) return std::string(s);
    std::string out = "\x1b[";
    out += code;
    out += 'm';
    out += s;
    out += "\x1b[0m";
    return out;
}
}  // namespace

std::string Style::bold(std::string_view s) const {
    return wrap(color, "1", s);
}
std::string Style::red(std::string_view s) const {
    return wrap(color, "1;31", s);
}
std::string Style::yellow(std::string_view s) const {
    return wrap(color, "33", s);
}
std::string Style::green(std::string_view s) const {
    return wrap(color, "32", s);
}
std::string Style::dim(std::string_view s) const {
    return wrap(color, "2", s);
}

std::string sparkline(std::span<const double> values, size_t width) {
    static const char* const k_bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    std::vector<double> pts;
    if (values.empty() || width == 0) return {};
    if (values.size() <= width) {
        pts.assign(values.begin(), values.end());
    } else {
        for (size_t i = 0; i < width; ++i) {
            size_t a = i * values.size() / width, b = (i + 1) * values.size() / width;
            double sum = 0;
            for (size_t j = a; j < b; ++j) sum += values[j];
            pts.push_back(sum / static_cast<double>(b - a));
        }
    }
    auto [lo_it, hi_it] = std::minmax_element(pts.begin(), pts.end());
    const double lo = *lo_it, hi = *hi_it;
    std::string out;
    for (double p : pts) {
        int level = hi > lo ? static_cast<int>(std::lround((p - lo) / (hi - lo) * 7.0)) : 0;
        out += k_bars[std::clamp(level, 0, 7)];
    }
    return out;
}

}  // namespace leakhunt::report
