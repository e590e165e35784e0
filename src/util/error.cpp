// errno to lower-case text, and exceptions' messages without their tags, for error messages.
#include "util/error.hpp"

#include <cctype>
#include <cstring>
#include <string_view>

namespace leakhunt::util {

std::string errno_text(int err) {
    std::string s = std::strerror(err);
    if (!s.empty() && std::isupper(static_cast<unsigned char>(s[0])) != 0 &&
        (s.size() < 2 || std::islower(static_cast<unsigned char>(s[1])) != 0)) {
        s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    }
    return s;
}

std::string exception_text(const std::exception& e) {
    std::string_view w = e.what();
    const size_t close = w.find("] ");
    if (!w.empty() && w.front() == '[' && close != std::string_view::npos)
        w.remove_prefix(close + 2);
    return std::string(w);
}

}  // namespace leakhunt::util
