// gzip container with stored deflate blocks, and CRC-32.
#include "format/gzip.hpp"

namespace leakhunt::format {
namespace {

struct CrcTable {
    std::uint32_t v[256];
    constexpr CrcTable() : v() {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            v[i] = c;
        }
    }
};
constexpr CrcTable k_crc_table{};

void put_le32(Buffer& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.put(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

std::uint32_t crc32(const std::uint8_t* data, std::size_t n, std::uint32_t crc) {
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) crc = k_crc_table.v[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

void gzip_stored(const std::uint8_t* in, std::size_t n, Buffer& out) {
    // Header: magic, CM=8 (deflate), FLG=0, MTIME=0, XFL=0, OS=255 (unknown).
    const std::uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    out.put(header, sizeof header);
    std::size_t pos = 0;
    do {
        const std::size_t len = n - pos > 65535 ? 65535 : n - pos;
        const bool last = pos + len == n;
        out.put(static_cast<std::uint8_t>(last ? 1 : 0));  // BFINAL, BTYPE=00 (stored)
        out.put(static_cast<std::uint8_t>(len & 0xFF));
        out.put(static_cast<std::uint8_t>(len >> 8));
        out.put(static_cast<std::uint8_t>(~len & 0xFF));
        out.put(static_cast<std::uint8_t>((~len >> 8) & 0xFF));
        out.put(in + pos, len);
        pos += len;
    } while (pos < n);
    put_le32(out, crc32(in, n));
    put_le32(out, static_cast<std::uint32_t>(n));  // ISIZE: input size mod 2^32
}

}  // namespace leakhunt::format
