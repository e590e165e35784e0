// errno to lower-case text for error messages.
#include "util/error.hpp"

#include <cctype>
#include <cstring>

namespace leakhunt::util {

std::string errno_text(int err) {
    std::string s = std::strerror(err);
    if (!s.empty() && std::isupper(static_cast<unsigned char>(s[0])) != 0 &&
        (s.size() < 2 || std::islower(static_cast<unsigned char>(s[1])) != 0)) {
        s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    }
    return s;
}

}  // namespace leakhunt::util
