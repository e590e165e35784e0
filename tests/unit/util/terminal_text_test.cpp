// Tests for the terminal sanitiser.
#include "util/terminal_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace leakhunt::util {

TEST(TerminalSafe, KeepsOrdinaryText) {
    EXPECT_EQ(terminal_safe("redis-server *:6379"), "redis-server *:6379");
    EXPECT_EQ(terminal_safe("std::vector<int>::push_back(int&&)"),
              "std::vector<int>::push_back(int&&)");
    EXPECT_EQ(terminal_safe("grün ▁▂█ 名前 \xF0\x9F\x90\x9B"), "grün ▁▂█ 名前 \xF0\x9F\x90\x9B");
    EXPECT_EQ(terminal_safe("a\\x1b"), "a\\x1b");
    EXPECT_EQ(terminal_safe(""), "");
}

TEST(TerminalSafe, EscapesTheHostileProcessName) {
    // Clear the screen, turn red, set the window title (OSC 0 ... BEL).
    EXPECT_EQ(terminal_safe("\x1b[2J\x1b[31mEVIL\x1b]0;pwned\x07"),
              "\\e[2J\\e[31mEVIL\\e]0;pwned\\a");
}

TEST(TerminalSafe, EscapesEveryC0ControlAndDel) {
    for (int c = 0; c < 0x20; ++c) {
        const std::string out = terminal_safe(std::string(1, static_cast<char>(c)));
        ASSERT_EQ(out[0], '\\') << c;
        for (char o : out) EXPECT_GE(static_cast<unsigned char>(o), 0x20) << c;
    }
    EXPECT_EQ(terminal_safe(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(terminal_safe("\t\n\r\b"), "\\t\\n\\r\\b");
    EXPECT_EQ(terminal_safe("x\x7fy"), "x\\x7fy");
}

TEST(TerminalSafe, EscapesC1ControlsAndBidiOverrides) {
    EXPECT_EQ(terminal_safe("\xC2\x9B"
                            "2J"),
              "\\u009b2J");  // CSI as U+009B
    EXPECT_EQ(terminal_safe("\xC2\x9D"
                            "0;t"),
              "\\u009d0;t");  // OSC as U+009D
    EXPECT_EQ(terminal_safe("a\xE2\x80\xAE"
                            "b"),
              "a\\u202eb");  // RIGHT-TO-LEFT OVERRIDE
    EXPECT_EQ(terminal_safe("a\xE2\x81\xA6"
                            "b"),
              "a\\u2066b");                            // LEFT-TO-RIGHT ISOLATE
    EXPECT_EQ(terminal_safe("\xC2\xA0"), "\xC2\xA0");  // U+00A0 is printable
}

TEST(TerminalSafe, EscapesInvalidUtf8ByteByByte) {
    EXPECT_EQ(terminal_safe("\x9b"
                            "2J"),
              "\\x9b2J");                                                  // a raw 8-bit CSI
    EXPECT_EQ(terminal_safe("\xC3"), "\\xc3");                             // truncated sequence
    EXPECT_EQ(terminal_safe("\xC0\x9B"), "\\xc0\\x9b");                    // overlong ESC-like form
    EXPECT_EQ(terminal_safe("\xED\xA0\x80"), "\\xed\\xa0\\x80");           // a UTF-16 surrogate
    EXPECT_EQ(terminal_safe("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

}  // namespace leakhunt::util
