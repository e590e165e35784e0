// Wraps bytes in a gzip container (RFC 1952) with stored deflate blocks (RFC 1951, BTYPE=00):
// valid gzip that every reader (zlib, go tool pprof) accepts, written with no compression
// library, so the agent needs nothing but libc. CRC-32 as in RFC 1952 section 8. Stateless.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/buffer.hpp"

namespace leakhunt::format {

std::uint32_t crc32(const std::uint8_t* data, std::size_t n, std::uint32_t crc = 0);

// Appends the gzip encoding of `in` to `out`.
void gzip_stored(const std::uint8_t* in, std::size_t n, Buffer& out);

}  // namespace leakhunt::format
