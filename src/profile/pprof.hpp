// Reading and writing pprof profiles (profile.proto), gzip-compressed on disk as the format asks,
// and reading the older text heap formats of gperftools and jemalloc, so that `go tool pprof`,
// Pyroscope and Parca read what leakhunt writes and leakhunt reads what Go's runtime/pprof and our
// agent write. Input is untrusted: every index and id is checked and a bad file is one util::Error
// naming it. Stateless; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "profile/profile.hpp"

namespace leakhunt::profile {

// Reads a heap profile file in any format parse_profile reads. A path that is an http:// or
// https:// URL is fetched instead (see fetch.hpp: load_profile).
Profile read_profile(const std::filesystem::path& path);

// Parses a heap profile: pprof protobuf (gzip-compressed or raw), or, probed by its first line,
// a gperftools or jemalloc text heap profile (legacy_heap.hpp), also gzip-compressed or not.
// `source_name` names the input in errors; anything else is one util::Error quoting the start of
// the input. The result has dense ids (see profile.hpp): mappings, locations and functions are
// numbered 1..N in file order and every reference follows.
Profile parse_profile(std::string_view bytes, std::string_view source_name);

// The protobuf encoding of `p`, uncompressed; ids are written as they are.
std::string encode_profile(const Profile& p);

// encode_profile, gzip-compressed: the bytes of a .pb.gz file.
std::string serialize_profile(const Profile& p);

// Writes serialize_profile(p) to `path` atomically (temporary name, then rename).
void write_profile(const std::filesystem::path& path, const Profile& p);

}  // namespace leakhunt::profile
