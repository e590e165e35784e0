// The HPROF 1.0.2 format as the heap dump reader (hprof_reader.cpp) reads it: checked big-endian
// reads from a file or from memory, bounded by the end of the current record; the record and
// heap dump sub-record tags; the basic types and their sizes. See hprof_reader.hpp for the
// format. The reads are inline here, so the reader's inner loops cost what they did written in
// one file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"

namespace leakhunt::heapgraph {

// Bytes read from a file at once; the most a single take() returns.
inline constexpr size_t k_hprof_chunk = size_t{1} << 20;

// Checked big-endian reads from a file (buffered, pread) or from memory, bounded by a limit (the
// end of the current record) and by the end of the input. Not thread-safe.
class HprofInput {
  public:
    HprofInput(std::string_view bytes, std::string where)
        : m_where(std::move(where)), m_size(bytes.size()), m_limit(bytes.size()) {
        m_data = reinterpret_cast<const uint8_t*>(bytes.data());
        m_len = bytes.size();
    }
    HprofInput(int fd, uint64_t size, std::string where)
        : m_where(std::move(where)), m_fd(fd), m_size(size), m_limit(size), m_buf(k_hprof_chunk) {
        m_data = m_buf.data();
    }

    uint64_t offset() const { return m_base + m_pos; }
    uint64_t size() const { return m_size; }
    uint64_t remaining() const { return m_limit - offset(); }
    void set_limit(uint64_t limit) { m_limit = limit; }
    const std::string& where() const { return m_where; }

    void seek(uint64_t off) {
        if (off >= m_base && off <= m_base + m_len) {
            m_pos = static_cast<size_t>(off - m_base);
        } else {
            m_base = off;
            m_len = m_pos = 0;
        }
    }
    // `n` contiguous bytes (n <= k_hprof_chunk), checked against the limit.
    const uint8_t* take(size_t n, std::string_view what) {
        if (n > remaining())
            fail("{} runs past the end of its {}", what, m_limit == m_size ? "file" : "record");
        ensure(n);
        const uint8_t* p = m_data + m_pos;
        m_pos += n;
        return p;
    }
    void skip(uint64_t n, std::string_view what) {
        if (n > remaining())
            fail("{} runs past the end of its {}", what, m_limit == m_size ? "file" : "record");
        if (n <= m_len - m_pos) {
            m_pos += static_cast<size_t>(n);
        } else {
            seek(offset() + n);
        }
    }
    uint8_t u1(std::string_view what) { return *take(1, what); }
    uint16_t u2(std::string_view what) { return static_cast<uint16_t>(be(take(2, what), 2)); }
    uint32_t u4(std::string_view what) { return static_cast<uint32_t>(be(take(4, what), 4)); }
    uint64_t u8(std::string_view what) { return be(take(8, what), 8); }
    uint64_t id(unsigned id_size, std::string_view what) {
        return be(take(id_size, what), id_size);
    }
    static uint64_t be(const uint8_t* p, unsigned n) {
        uint64_t v = 0;
        for (unsigned i = 0; i < n; ++i) v = (v << 8) | p[i];
        return v;
    }

    template <typename... Args>
    [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
        throw util::Error("{}: byte {}: {} (not a complete HPROF heap dump; take it again)",
                          m_where, offset(), fmt::format(f, std::forward<Args>(args)...));
    }

  private:
    void ensure(size_t n) {
        if (m_len - m_pos < n) refill(n);
    }
    // Reads on until `n` bytes are buffered (cold: once per chunk).
    void refill(size_t n);

    std::string m_where;
    int m_fd = -1;
    uint64_t m_size = 0;
    uint64_t m_limit = 0;
    std::vector<uint8_t> m_buf;
    const uint8_t* m_data = nullptr;
    uint64_t m_base = 0;  // offset of m_data[0]
    size_t m_len = 0;     // valid bytes at m_data
    size_t m_pos = 0;
};

// Reads the file header ("JAVA PROFILE 1.0.2\0", the id size, a timestamp) and returns the id
// size (4 or 8); throws util::Error (HprofInput::fail) for anything else.
unsigned read_hprof_header(HprofInput& in);

// Top-level record tags and heap dump sub-record tags (HPROF 1.0.2).
enum class Tag : uint8_t {
    string = 0x01,
    load_class = 0x02,
    start_thread = 0x0a,
    heap_dump = 0x0c,
    heap_dump_segment = 0x1c,
};
enum class Sub : uint8_t {
    root_unknown = 0xff,
    root_jni_global = 0x01,
    root_jni_local = 0x02,
    root_java_frame = 0x03,
    root_native_stack = 0x04,
    root_sticky_class = 0x05,
    root_thread_block = 0x06,
    root_monitor_used = 0x07,
    root_thread_object = 0x08,
    class_dump = 0x20,
    instance_dump = 0x21,
    obj_array_dump = 0x22,
    prim_array_dump = 0x23,
};
// The GC root sub-records, each with the name of its edges in the model.
struct RootKind {
    Sub tag;
    const char* name;
};
inline constexpr RootKind k_root_kinds[] = {
    {Sub::root_unknown, "unknown root"},        {Sub::root_jni_global, "JNI global"},
    {Sub::root_jni_local, "JNI local"},         {Sub::root_java_frame, "Java frame"},
    {Sub::root_native_stack, "native stack"},   {Sub::root_sticky_class, "sticky class"},
    {Sub::root_thread_block, "thread block"},   {Sub::root_monitor_used, "monitor used"},
    {Sub::root_thread_object, "thread object"},
};

// The size of a basic type's value in the dump (objects: the id size); 0 for an invalid type.
inline unsigned value_size(uint8_t type, unsigned id_size) {
    switch (type) {
        case 1:
        case 2:
            return id_size;  // 1: "array object" in old writers
        case 4:
        case 8:
            return 1;  // boolean, byte
        case 5:
        case 9:
            return 2;  // char, short
        case 6:
        case 10:
            return 4;  // float, int
        case 7:
        case 11:
            return 8;  // double, long
        default:
            return 0;
    }
}
inline bool is_ref(uint8_t type) {
    return type == 1 || type == 2;
}
inline const char* prim_array_name(uint8_t type) {
    switch (type) {
        case 4:
            return "boolean[]";
        case 5:
            return "char[]";
        case 6:
            return "float[]";
        case 7:
            return "double[]";
        case 8:
            return "byte[]";
        case 9:
            return "short[]";
        case 10:
            return "int[]";
        case 11:
            return "long[]";
        default:
            return nullptr;
    }
}
inline uint64_t align8(uint64_t v) {
    return (v + 7) & ~uint64_t{7};
}

}  // namespace leakhunt::heapgraph
