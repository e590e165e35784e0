// A growable byte buffer with a pluggable growth function, so the same encoders serve the agent
// (which grows with mmap and must never call malloc) and ordinary readers and tests (realloc).
// Header-only, no dependencies beyond libc. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace leakhunt::format {

struct Buffer {
    std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t capacity = 0;
    // Makes room for at least `need` bytes in total; false if it cannot (the buffer then stops
    // growing and `failed` is set, so encoders don't need to check every write).
    bool (*grow)(Buffer& b, std::size_t need) = nullptr;
    bool failed = false;

    void put(std::uint8_t c) {
        if (size + 1 > capacity && !reserve(size + 1)) return;
        data[size++] = c;
    }
    void put(const void* p, std::size_t n) {
        if (n == 0) return;
        if (size + n > capacity && !reserve(size + n)) return;
        std::memcpy(data + size, p, n);
        size += n;
    }
    bool reserve(std::size_t need) {
        if (failed) return false;
        if (need <= capacity) return true;
        if (grow == nullptr || !grow(*this, need)) {
            failed = true;
            return false;
        }
        return true;
    }
};

}  // namespace leakhunt::format
