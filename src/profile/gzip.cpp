// zlib's inflate/deflate driven over string buffers, with gzip framing (windowBits 16 + 15).
#include "profile/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "util/error.hpp"

namespace leakhunt::profile {
namespace {

constexpr int k_gzip_window_bits = 16 + MAX_WBITS;
constexpr size_t k_chunk = size_t{1} << 16;
constexpr size_t k_max_avail = std::numeric_limits<uInt>::max();

// zlib's next_in is non-const in the older API; it never writes through it.
Bytef* in_ptr(std::string_view data) {
    return reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
}

}  // namespace

bool is_gzip(std::string_view data) {
    return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
           static_cast<unsigned char>(data[1]) == 0x8b;
}

std::string gunzip(std::string_view data, std::string_view source_name) {
    z_stream zs{};
    if (inflateInit2(&zs, k_gzip_window_bits) != Z_OK) {
        throw util::Error("cannot decompress {}: zlib failed to initialise (out of memory?)",
                          source_name);
    }
    std::string out;
    size_t pos = 0;  // consumed input
    int rc = Z_OK;
    try {
        while (true) {
            const size_t in_len = std::min(data.size() - pos, k_max_avail);
            zs.next_in = in_ptr(data.substr(pos));
            zs.avail_in = static_cast<uInt>(in_len);
            const size_t old_size = out.size();
            out.resize(old_size + k_chunk);
            zs.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
            zs.avail_out = static_cast<uInt>(k_chunk);
            rc = inflate(&zs, Z_NO_FLUSH);
            pos += in_len - zs.avail_in;
            out.resize(old_size + (k_chunk - zs.avail_out));
            if (out.size() > k_max_decompressed_bytes) {
                throw util::Error(
                    "cannot read {}: it decompresses to more than {} MiB, which is not a heap "
                    "profile leakhunt can load",
                    source_name, k_max_decompressed_bytes >> 20);
            }
            if (rc == Z_STREAM_END) {
                // Another gzip member may follow (pprof files may be concatenated).
                if (pos == data.size()) break;
                if (!is_gzip(data.substr(pos))) {
                    throw util::Error(
                        "cannot read {}: unexpected data after the end of the gzip stream (the "
                        "file is corrupt; take or copy the profile again)",
                        source_name);
                }
                inflateReset(&zs);
                continue;
            }
            if (rc == Z_OK) continue;
            if (rc == Z_BUF_ERROR && pos == data.size()) {
                throw util::Error(
                    "cannot read {}: the gzip stream is truncated (the file was cut short; take "
                    "or copy the profile again)",
                    source_name);
            }
            throw util::Error(
                "cannot read {}: the gzip data is corrupt ({}); take or copy the profile again",
                source_name, zs.msg != nullptr ? zs.msg : "zlib error");
        }
    } catch (...) {
        inflateEnd(&zs);
        throw;
    }
    inflateEnd(&zs);
    return out;
}

std::string gzip(std::string_view data, GzipLevel level) {
    z_stream zs{};
    const int zlevel = level == GzipLevel::fast ? Z_BEST_SPEED : Z_DEFAULT_COMPRESSION;
    if (deflateInit2(&zs, zlevel, Z_DEFLATED, k_gzip_window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw util::Error("cannot compress a profile: zlib failed to initialise (out of memory?)");
    }
    std::string out;
    size_t pos = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        const size_t in_len = std::min(data.size() - pos, k_max_avail);
        zs.next_in = in_ptr(data.substr(pos));
        zs.avail_in = static_cast<uInt>(in_len);
        const int flush = pos + in_len == data.size() ? Z_FINISH : Z_NO_FLUSH;
        const size_t old_size = out.size();
        out.resize(old_size + k_chunk);
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
        zs.avail_out = static_cast<uInt>(k_chunk);
        rc = deflate(&zs, flush);
        pos += in_len - zs.avail_in;
        out.resize(old_size + (k_chunk - zs.avail_out));
        if (rc == Z_STREAM_ERROR) {
            deflateEnd(&zs);
            throw util::Error("cannot compress a profile: zlib reported a stream error");
        }
    }
    deflateEnd(&zs);
    return out;
}

}  // namespace leakhunt::profile
