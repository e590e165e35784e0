// openat/read/close into a reused buffer, and getdents64 directory counting.
#include "proc/file_buffer.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace leakhunt::proc::detail {

util::UniqueFd open_dir(int dirfd, const char* path, int& err) {
    const int fd = ::openat(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) err = errno;
    return util::UniqueFd(fd);
}

FileBuffer::FileBuffer(std::size_t initial_capacity)
    : m_data(new char[initial_capacity]), m_capacity(initial_capacity) {}

int FileBuffer::read_at(int dirfd, const char* name) {
    m_size = 0;
    const util::UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errno;
    for (;;) {
        if (m_size == m_capacity) {
            // Rare: a file larger than any read so far (a huge cmdline). Grow and keep going.
            const std::size_t bigger = m_capacity * 2;
            std::unique_ptr<char[]> data(new char[bigger]);
            std::memcpy(data.get(), m_data.get(), m_size);
            m_data = std::move(data);
            m_capacity = bigger;
        }
        const ssize_t n = ::read(fd.get(), m_data.get() + m_size, m_capacity - m_size);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            m_size = 0;
            return err;
        }
        if (n == 0) return 0;
        m_size += static_cast<std::size_t>(n);
    }
}

long count_dir_entries(int dirfd, const char* name) {
    const util::UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return -errno;
    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    // (getdents64(2)). Fields are read with memcpy to stay clear of alignment assumptions.
    constexpr std::size_t k_reclen_offset = 16;
    constexpr std::size_t k_name_offset = 19;
    alignas(8) char buf[8192];
    long count = 0;
    for (;;) {
        const ssize_t n = ::getdents64(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) return count;
        const auto total = static_cast<std::size_t>(n);
        for (std::size_t off = 0; off + k_name_offset < total;) {
            unsigned short reclen = 0;
            std::memcpy(&reclen, buf + off + k_reclen_offset, sizeof reclen);
            if (reclen == 0) break;
            const char* entry_name = buf + off + k_name_offset;
            const bool dot =
                entry_name[0] == '.' &&
                (entry_name[1] == '\0' || (entry_name[1] == '.' && entry_name[2] == '\0'));
            if (!dot) ++count;
            off += reclen;
        }
    }
}

}  // namespace leakhunt::proc::detail
