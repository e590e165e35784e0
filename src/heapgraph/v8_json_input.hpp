// The streaming JSON reader under the V8 heap snapshot reader (v8_snapshot.cpp): bytes from a file
// read in chunks, or from memory, as JSON tokens: non-negative integers (the hot path: "nodes" and
// "edges" are arrays of millions of them), strings decoded to UTF-8, and any value skipped or
// copied. Every error names the file and the byte offset. The hot paths are inline here, so the
// reader's inner loops cost what they did written in one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::heapgraph {

// Numbers above this are not exact in JSON readers (2^53 - 1): the snapshot has none.
inline constexpr uint64_t k_max_snapshot_number = (uint64_t{1} << 53) - 1;

// Bytes from a file (read in chunks) or from memory, with the absolute offset for errors. Not
// thread-safe.
class V8JsonInput {
  public:
    V8JsonInput(std::string_view bytes, std::string where) : m_where(std::move(where)) {
        m_data = bytes.data();
        m_end = bytes.size();
    }
    V8JsonInput(int fd, std::string where)
        : m_where(std::move(where)), m_fd(fd), m_buf(size_t{1} << 20) {
        m_data = m_buf.data();
    }

    // The next byte, or -1 at the end.
    int peek() {
        if (m_pos == m_end && !refill()) return -1;
        return static_cast<unsigned char>(m_data[m_pos]);
    }
    int get() {
        const int c = peek();
        if (c >= 0) ++m_pos;
        return c;
    }
    int next_token() {  // skips white space, then peeks
        for (;;) {
            const int c = peek();
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c;
            ++m_pos;
        }
    }
    void expect(char want, std::string_view in) {
        const int c = next_token();
        if (c != want) fail("expected '{}' in {}, found {}", want, in, shown(c));
        ++m_pos;
    }
    uint64_t offset() const { return m_base + m_pos; }
    const std::string& where() const { return m_where; }

    // How a byte is named in an error: "'x'", "byte 0x01", "the end of the file".
    static std::string shown(int c);

    template <typename... Args>
    [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
        throw util::Error("{}: byte {}: {} (not a complete V8 heap snapshot; take it again)",
                          m_where, offset(), fmt::format(f, std::forward<Args>(args)...));
    }

    // A non-negative integer, the next token. The hot path of the reader.
    uint64_t number(std::string_view in) {
        int c = next_token();
        if (c < '0' || c > '9') {
            if (c == '-') fail("a negative number in {}", in);
            fail("expected a number in {}, found {}", in, shown(c));
        }
        uint64_t v = 0;
        for (;;) {
            if (m_pos == m_end && !refill()) break;
            const char ch = m_data[m_pos];
            if (ch < '0' || ch > '9') break;
            v = v * 10 + static_cast<uint64_t>(ch - '0');
            if (v > k_max_snapshot_number) fail("a number above 2^53 in {}", in);
            ++m_pos;
        }
        c = peek();
        if (c == '.' || c == 'e' || c == 'E') fail("a fractional number in {}", in);
        return v;
    }

    // A JSON string (the opening quote next), decoded to UTF-8 into `out`.
    void string(std::string& out, std::string_view in) {
        out.clear();
        if (next_token() != '"') fail("expected a string in {}, found {}", in, shown(peek()));
        ++m_pos;
        for (;;) {
            if (m_pos == m_end && !refill()) fail("a string in {} runs to the end of the file", in);
            // Copy the plain run at once.
            size_t run = m_pos;
            while (run < m_end && m_data[run] != '"' && m_data[run] != '\\' &&
                   static_cast<unsigned char>(m_data[run]) >= 0x20) {
                ++run;
            }
            out.append(m_data + m_pos, run - m_pos);
            m_pos = run;
            if (m_pos == m_end) continue;
            const char ch = m_data[m_pos++];
            if (ch == '"') return;
            if (ch != '\\') fail("a control character in a string in {}", in);
            const int e = get();
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = hex4(in);
                    if (cp >= 0xd800 && cp < 0xdc00) {
                        // A high surrogate: a low one should follow; V8 writes lone ones too.
                        if (peek() == '\\') {
                            ++m_pos;
                            if (get() != 'u') fail("a bad escape in a string in {}", in);
                            const uint32_t lo = hex4(in);
                            if (lo >= 0xdc00 && lo < 0xe000) {
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            } else {
                                put_utf8(out, 0xfffd);
                                cp = lo >= 0xd800 && lo < 0xe000 ? 0xfffd : lo;
                            }
                        } else {
                            cp = 0xfffd;
                        }
                    } else if (cp >= 0xdc00 && cp < 0xe000) {
                        cp = 0xfffd;
                    }
                    put_utf8(out, cp);
                    break;
                }
                default:
                    fail("a bad escape in a string in {}", in);
            }
        }
    }

    // Skips any JSON value, iteratively; appends its text to `copy` when given (bounded).
    void skip_value(std::string_view in, std::string* copy = nullptr, size_t limit = 0);

  private:
    // The next chunk of the file; false at its end (or for input held in memory).
    bool refill();
    // The four hex digits of a \u escape.
    uint32_t hex4(std::string_view in);
    static void put_utf8(std::string& out, uint32_t cp);

    std::string m_where;
    int m_fd = -1;
    std::vector<char> m_buf;
    const char* m_data = nullptr;
    size_t m_pos = 0, m_end = 0;
    uint64_t m_base = 0;
};

}  // namespace leakhunt::heapgraph
