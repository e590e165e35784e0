// A minimal protobuf wire-format encoder: varints, length-delimited fields and nested messages
// (sized by a counting pass, then written), enough to write pprof's profile.proto without
// libprotobuf, so the agent stays dependency-free. Header-only; stateless.
//
// Wire format (developers.google.com/protocol-buffers/docs/encoding):
//   tag    = varint(field_number << 3 | wire_type); wire_type 0 = varint, 2 = length-delimited
//   varint = 7 bits per byte, least significant group first, high bit set on all but the last
//   nested message / bytes / packed repeated = tag(2), varint(length), payload
#pragma once

#include <cstddef>
#include <cstdint>

#include "format/buffer.hpp"

namespace leakhunt::format::pb {

// Counts the bytes a message would take (the first pass for nested messages).
struct Counter {
    std::size_t n = 0;
    void put(std::uint8_t) { ++n; }
    void put(const void*, std::size_t k) { n += k; }
};

enum class WireType : std::uint8_t { varint = 0, length_delimited = 2 };

template <typename Sink>
inline void varint(Sink& s, std::uint64_t v) {
    while (v >= 0x80) {
        s.put(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    s.put(static_cast<std::uint8_t>(v));
}

template <typename Sink>
inline void tag(Sink& s, std::uint32_t field, WireType type) {
    varint(s, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
}

// int64 fields are encoded as the two's complement 64-bit varint (not zigzag).
template <typename Sink>
inline void field_int(Sink& s, std::uint32_t field, std::int64_t v) {
    if (v == 0) return;  // proto3 default: omitted
    tag(s, field, WireType::varint);
    varint(s, static_cast<std::uint64_t>(v));
}

template <typename Sink>
inline void field_uint(Sink& s, std::uint32_t field, std::uint64_t v) {
    if (v == 0) return;
    tag(s, field, WireType::varint);
    varint(s, v);
}

template <typename Sink>
inline void field_bool(Sink& s, std::uint32_t field, bool v) {
    if (!v) return;
    tag(s, field, WireType::varint);
    varint(s, 1);
}

// Strings and bytes; an empty one is still written (the string table's first entry must be "").
template <typename Sink>
inline void field_bytes(Sink& s, std::uint32_t field, const void* p, std::size_t n) {
    tag(s, field, WireType::length_delimited);
    varint(s, n);
    s.put(p, n);
}

// A nested message whose body is written by body(sink): counted first, then written.
template <typename Sink, typename Body>
inline void field_message(Sink& s, std::uint32_t field, Body&& body) {
    Counter c;
    body(c);
    tag(s, field, WireType::length_delimited);
    varint(s, c.n);
    body(s);
}

// A packed repeated varint field (proto3 default for repeated scalars).
template <typename Sink, typename T>
inline void field_packed(Sink& s, std::uint32_t field, const T* v, std::size_t n) {
    if (n == 0) return;
    Counter c;
    for (std::size_t i = 0; i < n; ++i) varint(c, static_cast<std::uint64_t>(v[i]));
    tag(s, field, WireType::length_delimited);
    varint(s, c.n);
    for (std::size_t i = 0; i < n; ++i) varint(s, static_cast<std::uint64_t>(v[i]));
}

}  // namespace leakhunt::format::pb
