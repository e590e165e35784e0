// pprof heap-profile encoding.
#include "format/pprof_encoder.hpp"

#include <cstring>

#include "format/protobuf.hpp"

namespace leakhunt::format {
namespace {

// profile.proto field numbers.
enum ProfileField : std::uint32_t {
    k_sample_type = 1,
    k_sample = 2,
    k_mapping = 3,
    k_location = 4,
    k_string_table = 6,
    k_time_nanos = 9,
    k_duration_nanos = 10,
    k_period_type = 11,
    k_period = 12,
    k_comment = 13,
};

struct Out {
    Buffer& b;
    void put(std::uint8_t c) { b.put(c); }
    void put(const void* p, std::size_t n) { b.put(p, n); }
};

template <typename Sink>
void value_type(Sink& s, std::int64_t type, std::int64_t unit) {
    pb::field_int(s, 1, type);
    pb::field_int(s, 2, unit);
}

}  // namespace

HeapProfileEncoder::HeapProfileEncoder(Buffer& out, Buffer& strings)
    : m_out(out), m_strings(strings) {
    intern("");  // index 0 must be the empty string
}

std::int64_t HeapProfileEncoder::intern(const char* s) {
    const std::size_t len = std::strlen(s);
    // Strings are stored as [u32 length][bytes]; few enough for a linear search.
    std::size_t pos = 0;
    for (std::int64_t i = 0; i < m_count; ++i) {
        std::uint32_t n = 0;
        std::memcpy(&n, m_strings.data + pos, sizeof n);
        if (n == len && std::memcmp(m_strings.data + pos + sizeof n, s, len) == 0) return i;
        pos += sizeof n + n;
    }
    const auto n = static_cast<std::uint32_t>(len);
    m_strings.put(&n, sizeof n);
    m_strings.put(s, len);
    return m_count++;
}

void HeapProfileEncoder::header(std::int64_t time_nanos, std::int64_t duration_nanos,
                                std::int64_t period) {
    Out o{m_out};
    const std::int64_t count = intern("count"), bytes = intern("bytes");
    const char* names[] = {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"};
    for (int i = 0; i < 4; ++i) {
        const std::int64_t type = intern(names[i]);
        const std::int64_t unit = (i % 2 == 0) ? count : bytes;
        pb::field_message(o, k_sample_type, [&](auto& s) { value_type(s, type, unit); });
    }
    const std::int64_t space = intern("space");
    pb::field_message(o, k_period_type, [&](auto& s) { value_type(s, space, bytes); });
    pb::field_int(o, k_period, period);
    pb::field_int(o, k_time_nanos, time_nanos);
    pb::field_int(o, k_duration_nanos, duration_nanos);
}

void HeapProfileEncoder::mapping(const PprofMapping& m) {
    Out o{m_out};
    const std::int64_t file = intern(m.filename);
    const std::int64_t build = intern(m.build_id);
    pb::field_message(o, k_mapping, [&](auto& s) {
        pb::field_uint(s, 1, m.id);
        pb::field_uint(s, 2, m.start);
        pb::field_uint(s, 3, m.limit);
        pb::field_uint(s, 4, m.file_offset);
        pb::field_int(s, 5, file);
        pb::field_int(s, 6, build);
    });
}

void HeapProfileEncoder::location(std::uint64_t id, std::uint64_t mapping_id,
                                  std::uint64_t address) {
    Out o{m_out};
    pb::field_message(o, k_location, [&](auto& s) {
        pb::field_uint(s, 1, id);
        pb::field_uint(s, 2, mapping_id);
        pb::field_uint(s, 3, address);
    });
}

void HeapProfileEncoder::sample(const std::uint64_t* location_ids, std::size_t depth,
                                const std::int64_t (&values)[k_heap_values]) {
    Out o{m_out};
    pb::field_message(o, k_sample, [&](auto& s) {
        pb::field_packed(s, 1, location_ids, depth);
        // Values are written unconditionally (a zero in-use count is still a value).
        pb::Counter c;
        for (std::int64_t v : values) pb::varint(c, static_cast<std::uint64_t>(v));
        pb::tag(s, 2, pb::WireType::length_delimited);
        pb::varint(s, c.n);
        for (std::int64_t v : values) pb::varint(s, static_cast<std::uint64_t>(v));
    });
}

void HeapProfileEncoder::comment(const char* text) {
    Out o{m_out};
    pb::field_int(o, k_comment, intern(text));
}

void HeapProfileEncoder::finish() {
    Out o{m_out};
    std::size_t pos = 0;
    for (std::int64_t i = 0; i < m_count; ++i) {
        std::uint32_t n = 0;
        std::memcpy(&n, m_strings.data + pos, sizeof n);
        pb::field_bytes(o, k_string_table, m_strings.data + pos + sizeof n, n);
        pos += sizeof n + n;
    }
}

}  // namespace leakhunt::format
