// Encodes a heap profile in pprof's profile.proto, the way Go's runtime writes heap profiles:
// sample types alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes (in
// that order), period_type space/bytes, and unsymbolized locations (address + mapping) whose
// mappings carry the file name and build ID, so `go tool pprof` and pprof backends symbolize them.
// Written for the agent: no allocation (all output goes to Buffers), no libstdc++ runtime.
// Field numbers: github.com/google/pprof/proto/profile.proto. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/buffer.hpp"

namespace leakhunt::format {

struct PprofMapping {
    std::uint64_t id = 0;  // 1-based
    std::uint64_t start = 0;
    std::uint64_t limit = 0;
    std::uint64_t file_offset = 0;
    const char* filename = "";
    const char* build_id = "";  // lower-case hex, "" if unknown
};

// Indices of the four values of each sample.
enum HeapValue : std::size_t {
    k_alloc_objects = 0,
    k_alloc_space = 1,
    k_inuse_objects = 2,
    k_inuse_space = 3,
    k_heap_values = 4
};

class HeapProfileEncoder {
  public:
    // `out` receives the protobuf; `strings` is scratch space for the string table.
    HeapProfileEncoder(Buffer& out, Buffer& strings);

    // time of the snapshot and duration since the start, in nanoseconds; period = the sampling
    // interval in bytes (1 when every allocation is recorded).
    void header(std::int64_t time_nanos, std::int64_t duration_nanos, std::int64_t period);
    void mapping(const PprofMapping& m);
    void location(std::uint64_t id, std::uint64_t mapping_id, std::uint64_t address);
    // location_ids: leaf first.
    void sample(const std::uint64_t* location_ids, std::size_t depth,
                const std::int64_t (&values)[k_heap_values]);
    // A comment line (pprof shows them with -comments).
    void comment(const char* text);
    // Writes the string table; the profile is complete after this.
    void finish();

  private:
    std::int64_t intern(const char* s);

    Buffer& m_out;
    Buffer& m_strings;
    std::int64_t m_count = 0;
};

}  // namespace leakhunt::format
