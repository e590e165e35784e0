// The cold parts of the snapshot's JSON reader: refills, escapes, skipping values.
#include "heapgraph/v8_json_input.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>

#include <nlohmann/json.hpp>

namespace leakhunt::heapgraph {

std::string V8JsonInput::shown(int c) {
    if (c < 0) return "the end of the file";
    if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
    return fmt::format("byte {:#04x}", c);
}

void V8JsonInput::skip_value(std::string_view in, std::string* copy, size_t limit) {
    size_t depth = 0;
    std::string scratch;
    for (;;) {
        const int c = next_token();
        const uint64_t start = offset();
        auto keep = [&](std::string_view text) {
            if (copy == nullptr) return;
            copy->append(text);
            if (copy->size() > limit) fail("{} is larger than {} MB", in, limit >> 20);
        };
        if (c == '{' || c == '[') {
            ++m_pos;
            ++depth;
            keep(std::string_view(c == '{' ? "{" : "["));
            if (next_token() == (c == '{' ? '}' : ']')) {
                ++m_pos;
                --depth;
                keep(c == '{' ? "}" : "]");
                if (depth == 0) return;
                goto after_value;
            }
            continue;
        }
        if (c == '"') {
            string(scratch, in);
            // Re-encoded for the kept text; bytes that are not UTF-8 (the input is untrusted)
            // become U+FFFD rather than an exception.
            keep(nlohmann::json(scratch).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace));
        } else if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
            // A scalar: copy its characters.
            std::string lit;
            for (int d = peek(); d >= 0 && (std::isalnum(d) || d == '-' || d == '+' || d == '.');
                 d = peek()) {
                lit += static_cast<char>(d);
                ++m_pos;
                if (lit.size() > 400) fail("a value too long in {}", in);
            }
            keep(lit);
        } else {
            fail("expected a value in {}, found {}", in, shown(c));
        }
        (void)start;
    after_value:
        if (depth == 0) return;
        // Inside a container: a key's ':' , a ',' or the closing bracket.
        for (;;) {
            const int d = next_token();
            if (d == ':' || d == ',') {
                ++m_pos;
                keep(d == ':' ? ":" : ",");
                break;
            }
            if (d == '}' || d == ']') {
                ++m_pos;
                keep(d == '}' ? "}" : "]");
                if (--depth == 0) return;
                continue;
            }
            fail("expected ',' or a closing bracket in {}, found {}", in, shown(d));
        }
    }
}

bool V8JsonInput::refill() {
    if (m_fd < 0) return false;
    m_base += m_end;
    m_pos = m_end = 0;
    for (;;) {
        const ssize_t got = ::read(m_fd, m_buf.data(), m_buf.size());
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw util::Error("{}: cannot read: {}", m_where, util::errno_text(errno));
        m_end = static_cast<size_t>(got);
        return got > 0;
    }
}

uint32_t V8JsonInput::hex4(std::string_view in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        const int c = get();
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= static_cast<uint32_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= static_cast<uint32_t>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= static_cast<uint32_t>(c - 'A' + 10);
        else
            fail("a bad \\u escape in a string in {}", in);
    }
    return v;
}

void V8JsonInput::put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

}  // namespace leakhunt::heapgraph
