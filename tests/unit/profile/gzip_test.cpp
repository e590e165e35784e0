// Tests for gzip / gunzip: round trips, concatenated members, truncation and corruption.
#include "profile/gzip.hpp"

#include <gtest/gtest.h>

#include <string>

#include "util/error.hpp"

namespace leakhunt::profile {

TEST(Gzip, RoundTripsEmptyAndLargeData) {
    EXPECT_EQ(gunzip(gzip(""), "x"), "");
    std::string big;
    for (int i = 0; i < 200000; ++i) big += std::to_string(i * 7919);
    const std::string packed = gzip(big);
    EXPECT_TRUE(is_gzip(packed));
    EXPECT_LT(packed.size(), big.size());
    EXPECT_EQ(gunzip(packed, "x"), big);
}

TEST(Gunzip, ReadsConcatenatedMembers) {
    EXPECT_EQ(gunzip(gzip("hello, ") + gzip("world"), "x"), "hello, world");
}

TEST(Gunzip, TruncatedStreamNamesTheFile) {
    std::string packed = gzip(std::string(100000, 'a') + "tail");
    packed.resize(packed.size() / 2);
    try {
        gunzip(packed, "heap.pb.gz");
        FAIL() << "expected an error";
    } catch (const util::Error& e) {
        EXPECT_NE(std::string(e.what()).find("heap.pb.gz"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
}

TEST(Gunzip, CorruptAndTrailingDataAreErrors) {
    std::string packed = gzip("some profile bytes");
    std::string corrupt = packed;
    corrupt[12] = static_cast<char>(corrupt[12] ^ 0x5a);
    EXPECT_THROW(gunzip(corrupt, "x"), util::Error);
    EXPECT_THROW(gunzip(packed + "junk", "x"), util::Error);
    EXPECT_THROW(gunzip(std::string("\x1f\x8b", 2), "x"), util::Error);
}

TEST(Gzip, FastLevelRoundTripsToo) {
    std::string data;
    for (int i = 0; i < 100000; ++i) data += std::to_string(i % 977) + ',';
    const std::string fast = gzip(data, GzipLevel::fast);
    EXPECT_TRUE(is_gzip(fast));
    EXPECT_EQ(gunzip(fast, "fast.gz"), data);
    EXPECT_LT(fast.size(), data.size() / 2);
}

}  // namespace leakhunt::profile
