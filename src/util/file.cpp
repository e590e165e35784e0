// Whole-file reads and atomic writes.
#include "util/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"

namespace leakhunt::util {

std::optional<std::string> try_read_file(const std::filesystem::path& path, int* err) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err != nullptr) *err = errno;
        return std::nullopt;
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (err != nullptr) *err = errno;
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string read_file(const std::filesystem::path& path) {
    int err = 0;
    auto s = try_read_file(path, &err);
    if (!s) throw Error("cannot read {}: {}", path.string(), errno_text(err));
    return std::move(*s);
}

AtomicFile::AtomicFile(std::filesystem::path path) : m_path(std::move(path)) {
    m_tmp = m_path;
    m_tmp += ".tmp." + std::to_string(::getpid());
    m_fd = ::open(m_tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m_fd < 0) {
        throw Error("cannot write {}: {} (check that the directory exists and is writable)",
                    m_path.string(), errno_text(errno));
    }
}

AtomicFile::~AtomicFile() {
    if (m_fd >= 0) {
        ::close(m_fd);
        ::unlink(m_tmp.c_str());
    }
}

void AtomicFile::write(std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(m_fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error("cannot write {}: {}", m_path.string(), errno_text(errno));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
}

void AtomicFile::commit() {
    if (::fsync(m_fd) != 0 && errno != EINVAL) {
        throw Error("cannot write {}: {}", m_path.string(), errno_text(errno));
    }
    ::close(m_fd);
    m_fd = -1;
    if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
        int e = errno;
        ::unlink(m_tmp.c_str());
        throw Error("cannot rename {} to {}: {}", m_tmp.string(), m_path.string(), errno_text(e));
    }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content) {
    AtomicFile f(path);
    f.write(content);
    f.commit();
}

}  // namespace leakhunt::util
