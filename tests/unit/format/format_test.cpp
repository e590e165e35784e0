// Tests for the agent's wire formats: protobuf varints and fields, the gzip container (read back
// by zlib, the reference implementation) and CRC-32, and the pprof heap-profile encoder's bytes.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "format/gzip.hpp"
#include "format/pprof_encoder.hpp"
#include "format/protobuf.hpp"

namespace leakhunt::format {
namespace {

bool grow_realloc(Buffer& b, std::size_t need) {
    std::size_t cap = b.capacity == 0 ? 16 : b.capacity;
    while (cap < need) cap *= 2;
    void* p = std::realloc(b.data, cap);
    if (p == nullptr) return false;
    b.data = static_cast<std::uint8_t*>(p);
    b.capacity = cap;
    return true;
}

struct OwnedBuffer {
    Buffer b{nullptr, 0, 0, grow_realloc, false};
    ~OwnedBuffer() { std::free(b.data); }
    std::vector<std::uint8_t> bytes() const { return {b.data, b.data + b.size}; }
};

std::string gunzip(const Buffer& in) {
    z_stream zs{};
    EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    zs.next_in = in.data;
    zs.avail_in = static_cast<uInt>(in.size);
    std::string out;
    char chunk[4096];
    int r = Z_OK;
    while (r == Z_OK) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        r = inflate(&zs, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - zs.avail_out);
    }
    EXPECT_EQ(r, Z_STREAM_END);
    inflateEnd(&zs);
    return out;
}

}  // namespace

TEST(Crc32, CheckValue) {
    const std::string s = "123456789";
    EXPECT_EQ(crc32(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), 0xCBF43926u);
    EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(GzipStored, ZlibReadsItBack) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{65535}, std::size_t{65536},
                          std::size_t{200000}}) {
        std::string data(n, '\0');
        for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>((i * 7919) & 0xff);
        OwnedBuffer out;
        gzip_stored(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), out.b);
        ASSERT_FALSE(out.b.failed);
        EXPECT_EQ(out.b.data[0], 0x1f);
        EXPECT_EQ(out.b.data[1], 0x8b);
        EXPECT_EQ(gunzip(out.b), data) << "n = " << n;
    }
}

TEST(Protobuf, VarintBytes) {
    OwnedBuffer out;
    pb::varint(out.b, 0);
    pb::varint(out.b, 1);
    pb::varint(out.b, 127);
    pb::varint(out.b, 128);
    pb::varint(out.b, 300);
    EXPECT_EQ(out.bytes(), (std::vector<std::uint8_t>{0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02}));
}

TEST(Protobuf, FieldsAndNestedMessage) {
    OwnedBuffer out;
    pb::field_uint(out.b, 1, 150);                                          // 08 96 01
    pb::field_int(out.b, 2, 0);                                             // omitted
    pb::field_bytes(out.b, 3, "hi", 2);                                     // 1a 02 68 69
    pb::field_message(out.b, 4, [](auto& s) { pb::field_uint(s, 1, 5); });  // 22 02 08 05
    const std::uint64_t v[] = {3, 270};
    pb::field_packed(out.b, 5, v, 2);  // 2a 03 03 8e 02
    EXPECT_EQ(out.bytes(),
              (std::vector<std::uint8_t>{0x08, 0x96, 0x01, 0x1a, 0x02, 0x68, 0x69, 0x22, 0x02, 0x08,
                                         0x05, 0x2a, 0x03, 0x03, 0x8e, 0x02}));
}

TEST(Protobuf, NegativeInt64IsTenBytes) {
    OwnedBuffer out;
    pb::field_int(out.b, 1, -1);
    ASSERT_EQ(out.b.size, 11u);  // tag + 10-byte varint
    EXPECT_EQ(out.b.data[10], 0x01);
}

TEST(HeapProfileEncoder, StringTableStartsEmptyAndDedups) {
    OwnedBuffer out, strings;
    HeapProfileEncoder enc(out.b, strings.b);
    enc.header(1, 2, 524288);
    enc.mapping({1, 0x1000, 0x2000, 0, "/bin/x", "abcd"});
    enc.mapping({2, 0x3000, 0x4000, 0, "/bin/x", "abcd"});
    enc.location(1, 1, 0x1234);
    const std::uint64_t ids[] = {1};
    const std::int64_t values[k_heap_values] = {2, 64, 1, 32};
    enc.sample(ids, 1, values);
    enc.finish();
    ASSERT_FALSE(out.b.failed);
    // The string table is the last run of field-6 entries: "", count, bytes, the four sample
    // types, space, /bin/x, abcd = 10 strings, "/bin/x" once.
    const std::string all(reinterpret_cast<char*>(out.b.data), out.b.size);
    EXPECT_NE(all.find(std::string("\x32\x00", 2)), std::string::npos);  // field 6, ""
    size_t count = 0;
    for (size_t pos = all.find("/bin/x"); pos != std::string::npos;
         pos = all.find("/bin/x", pos + 1)) {
        ++count;
    }
    EXPECT_EQ(count, 1u);
    EXPECT_NE(all.find("inuse_space"), std::string::npos);
    EXPECT_NE(all.find("alloc_objects"), std::string::npos);
}

}  // namespace leakhunt::format
