// An owned file descriptor, whole-file reads, confined reads and atomic writes.
#include "util/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "util/error.hpp"

namespace leakhunt::util {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = o.m_fd;
        o.m_fd = -1;
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (m_fd >= 0) ::close(m_fd);
}

UniqueFd open_read_only(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) throw Error("cannot open {}: {}", path.string(), errno_text(errno));
    return fd;
}

namespace {

// Reads `fd` to its end; returns false with errno set on a read error.
bool read_all(int fd, std::string& out) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) return true;
        out.append(buf, static_cast<size_t>(n));
    }
}

// Closes a descriptor when it goes out of scope.
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

std::optional<std::string> try_read_file(const std::filesystem::path& path, int* err) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (err != nullptr) *err = errno;
        return std::nullopt;
    }
    std::string out;
    const bool ok = read_all(fd, out);
    if (!ok && err != nullptr) *err = errno;
    ::close(fd);  // after errno was taken
    if (!ok) return std::nullopt;
    return out;
}

std::string read_file_in_dir(const std::filesystem::path& dir, std::string_view name,
                             std::span<const uid_t> owners) {
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
        throw Error("refusing to read \"{}\": not a plain file name", name);
    }
    const FdCloser d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) throw Error("cannot open the directory of {}: {}", name, errno_text(errno));
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
    const FdCloser f{::openat(d.fd, std::string(name).c_str(),
                              O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)};
    if (f.fd < 0) {
        const int e = errno;
        if (e == ELOOP) throw Error("refusing to read {}: it is a symbolic link", name);
        throw Error("cannot read {}: {}", name, errno_text(e));
    }
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw Error("cannot read {}: {}", name, errno_text(errno));
    if (!S_ISREG(st.st_mode)) throw Error("refusing to read {}: not a regular file", name);
    if (!owners.empty() && std::find(owners.begin(), owners.end(), st.st_uid) == owners.end()) {
        throw Error(
            "refusing to read {}: it belongs to uid {}, not to the user of the process "
            "that named it",
            name, st.st_uid);
    }
    std::string out;
    if (!read_all(f.fd, out)) throw Error("cannot read {}: {}", name, errno_text(errno));
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

std::filesystem::path resolve_program(const std::string& argv0) {
    if (argv0.find('/') != std::string::npos) return argv0;
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const size_t colon = dirs.find(':');
        const std::string dir(dirs.substr(0, colon));
        const std::filesystem::path candidate =
            std::filesystem::path(dir.empty() ? "." : dir) / argv0;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) return argv0;
        dirs.remove_prefix(colon + 1);
    }
}

}  // namespace leakhunt::util
