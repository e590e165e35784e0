// Terminal helpers: whether to use colour, ANSI styling that turns itself off when the output is
// not a terminal (or NO_COLOR is set), and a Unicode sparkline. Stateless; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace leakhunt::report {

enum class Color { off, on };

// Colour for this file descriptor: on for a TTY unless NO_COLOR is set or TERM is "dumb".
Color color_for_fd(int fd);

struct Style {
    Color color = Color::off;
    std::string bold(std::string_view s) const;
    std::string red(std::string_view s) const;
    std::string yellow(std::string_view s) const;
    std::string green(std::string_view s) const;
    std::string dim(std::string_view s) const;
};

// The last `width` points (or all, downsampled by averaging) as ▁▂▃▄▅▆▇█, scaled between the
// minimum and maximum shown.
std::string sparkline(std::span<const double> values, size_t width);

}  // namespace leakhunt::report
