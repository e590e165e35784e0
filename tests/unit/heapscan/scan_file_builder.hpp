// Builds heap-scan files in memory for the tests, with the agent's encoding (varints, records,
// trailer; format/scan_format.hpp), so that the reader is tested against the same layout.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "format/protobuf.hpp"
#include "format/scan_format.hpp"

namespace leakhunt::heapscan::test {

struct Sink {
    std::string* s;
    void put(std::uint8_t c) { s->push_back(static_cast<char>(c)); }
    void put(const void* p, std::size_t n) { s->append(static_cast<const char*>(p), n); }
};

class ScanBuilder {
  public:
    ScanBuilder() {
        m_out.append(format::k_scan_magic, sizeof format::k_scan_magic);
        Sink s{&m_out};
        format::pb::varint(s, format::k_scan_version);
    }
    // A record of varints and strings (strings given as std::string).
    template <typename... Fields>
    ScanBuilder& record(format::ScanTag tag, Fields... fields) {
        std::string body;
        Sink b{&body};
        (put(b, fields), ...);
        m_out.push_back(static_cast<char>(tag));
        Sink s{&m_out};
        format::pb::varint(s, body.size());
        m_out += body;
        ++m_records;
        return *this;
    }
    ScanBuilder& summary(std::uint64_t blocks = 10, std::uint64_t bytes = 1000) {
        return record(format::ScanTag::summary, 42u, 1700000000000u, 1500u, 900u, 2u, blocks, bytes,
                      7u, 700u, 4096u, std::string("request"), 65536u);
    }
    std::string finish() {
        std::string out = m_out;
        std::string body;
        Sink b{&body};
        format::pb::varint(b, m_records);
        out.push_back(static_cast<char>(format::ScanTag::end));
        Sink s{&out};
        format::pb::varint(s, body.size());
        out += body;
        out.append(format::k_scan_end_magic, sizeof format::k_scan_end_magic);
        return out;
    }

  private:
    static void put(Sink& s, std::uint64_t v) { format::pb::varint(s, v); }
    static void put(Sink& s, unsigned v) { format::pb::varint(s, v); }
    static void put(Sink& s, int v) { format::pb::varint(s, static_cast<std::uint64_t>(v)); }
    static void put(Sink& s, const std::string& v) {
        format::pb::varint(s, v.size());
        s.put(v.data(), v.size());
    }
    std::string m_out;
    std::uint64_t m_records = 0;
};

}  // namespace leakhunt::heapscan::test
