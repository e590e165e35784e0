// A reusable read buffer for small kernel-generated files (/proc, cgroupfs). Reading uses
// openat/read/close straight into memory that is allocated once and grows only when a file is
// larger than anything read before, so steady-state sampling allocates nothing. Files are opened
// relative to a directory descriptor, which lets a sampler open /proc/PID once and read every
// file of that same process instance (a reused PID cannot slip in between reads).
// Owns its memory; not thread-safe (one per sampling thread).
#pragma once

#include <fcntl.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "util/file.hpp"

namespace leakhunt::proc::detail {

// Opens a directory (for use as an openat base) with O_PATH; returns an invalid fd and sets
// `err` to errno on failure.
util::UniqueFd open_dir(int dirfd, const char* path, int& err);

class FileBuffer {
  public:
    explicit FileBuffer(std::size_t initial_capacity = 16384);

    // Reads the whole file `name` (relative to `dirfd`; AT_FDCWD for plain paths). Returns 0 on
    // success, else the errno of the failing open/read; view() is empty after a failure.
    int read_at(int dirfd, const char* name);

    std::string_view view() const { return {m_data.get(), m_size}; }

  private:
    std::unique_ptr<char[]> m_data;
    std::size_t m_capacity = 0;
    std::size_t m_size = 0;
};

// Counts the entries of directory `name` under `dirfd` other than "." and "..", with
// getdents64 into a stack buffer (no allocation). Returns -errno on failure.
long count_dir_entries(int dirfd, const char* name);

}  // namespace leakhunt::proc::detail
