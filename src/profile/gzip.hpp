// gzip compression for pprof files (the format requires gzip on disk) on top of zlib. Errors name
// the source file so that a truncated download reads as one clear sentence. Stateless;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace leakhunt::profile {

// Decompressed profiles larger than this are refused (a gzip bomb, or not a profile).
inline constexpr uint64_t k_max_decompressed_bytes = uint64_t{1} << 30;

// True when `data` starts with the gzip magic 1f 8b.
bool is_gzip(std::string_view data);

// Inflates one or more concatenated gzip members. Throws util::Error naming `source_name` when
// the stream is corrupt, truncated, followed by other data, or larger than
// k_max_decompressed_bytes.
std::string gunzip(std::string_view data, std::string_view source_name);

// How hard deflate works: zlib's default (level 6), or its fastest (level 1: about twice as
// fast and some 15% larger on profiles; for large outputs that are written once and read once).
enum class GzipLevel { normal, fast };

// Deflates `data` into a single gzip member.
std::string gzip(std::string_view data, GzipLevel level = GzipLevel::normal);

}  // namespace leakhunt::profile
