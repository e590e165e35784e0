// The terminal sanitiser (terminal_text.hpp).
#include "util/terminal_text.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace leakhunt::util {
namespace {

// Length of the valid UTF-8 sequence at the start of `s` and its code point; 0 if invalid
// (overlong forms, surrogates and values above U+10FFFF are invalid, as RFC 3629 says).
size_t utf8_sequence(std::string_view s, char32_t& cp) {
    const auto b0 = static_cast<char32_t>(static_cast<unsigned char>(s[0]));
    size_t len = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
        cp = b0;
        return 1;
    }
    if ((b0 & 0xE0U) == 0xC0U) {
        len = 2;
        cp = b0 & 0x1FU;
        min = 0x80;
    } else if ((b0 & 0xF0U) == 0xE0U) {
        len = 3;
        cp = b0 & 0x0FU;
        min = 0x800;
    } else if ((b0 & 0xF8U) == 0xF0U) {
        len = 4;
        cp = b0 & 0x07U;
        min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < len) return 0;
    for (size_t i = 1; i < len; ++i) {
        const auto b = static_cast<char32_t>(static_cast<unsigned char>(s[i]));
        if ((b & 0xC0U) != 0x80U) return 0;
        cp = (cp << 6U) | (b & 0x3FU);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

bool reorders(char32_t cp) {
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string terminal_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        char32_t cp = 0;
        const size_t len = utf8_sequence(text, cp);
        if (len == 0) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[0]));
            text.remove_prefix(1);
            continue;
        }
        if (len == 1 && (cp < 0x20 || cp == 0x7F)) {
            switch (cp) {
                case 0x1B:
                    out += "\\e";
                    break;
                case 0x07:
                    out += "\\a";
                    break;
                case 0x08:
                    out += "\\b";
                    break;
                case 0x09:
                    out += "\\t";
                    break;
                case 0x0A:
                    out += "\\n";
                    break;
                case 0x0D:
                    out += "\\r";
                    break;
                default:
                    out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
                    break;
            }
        } else if ((cp >= 0x80 && cp <= 0x9F) || reorders(cp)) {
            out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
        } else {
            out.append(text.substr(0, len));
        }
        text.remove_prefix(len);
    }
    return out;
}

}  // namespace leakhunt::util
