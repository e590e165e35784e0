// Small file helpers: an owned file descriptor, whole-file reads that say why they failed, reads
// confined to one directory (for file names that come from another process), and atomic writes
// (temporary name + rename in the same directory) so a crash never leaves a half-written output
// file.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace leakhunt::util {

// An open file descriptor, closed on destruction.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    ~UniqueFd();

    int get() const { return m_fd; }
    bool valid() const { return m_fd >= 0; }

  private:
    int m_fd = -1;
};

// Opens `path` for reading (close-on-exec); throws Error "cannot open PATH: reason".
UniqueFd open_read_only(const std::filesystem::path& path);

// Reads a whole file; throws Error naming the path and the reason.
std::string read_file(const std::filesystem::path& path);

// Reads a whole file; returns nullopt (and the errno in *err if given) instead of throwing.
// For /proc files, which vanish when a process exits.
std::optional<std::string> try_read_file(const std::filesystem::path& path, int* err = nullptr);

// Reads the file `name` of the directory `dir` without leaving it: `name` must be one path
// component (no '/', not "." or ".."), a symbolic link there is not followed (O_NOFOLLOW), only a
// regular file is read (a FIFO or device is refused before it could block or feed the reader),
// and, when `owners` is not empty, the file must belong to one of those uids. For names that
// another process handed over, which must not lead to any other file. Throws Error naming `name`
// (not the directory) and the reason.
std::string read_file_in_dir(const std::filesystem::path& dir, std::string_view name,
                             std::span<const uid_t> owners = {});

// argv0 as execvp finds it: itself if it has a '/', else the first executable of that name in
// $PATH; argv0 unchanged when none is found.
std::filesystem::path resolve_program(const std::string& argv0);

// Writes `content` to `path` atomically: `path.tmp.<pid>` is written, fsynced and renamed.
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// An output file that appears under its final name only on commit(); destroyed uncommitted, the
// temporary is removed. Not thread-safe.
class AtomicFile {
  public:
    explicit AtomicFile(std::filesystem::path path);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile();

    void write(std::string_view data);
    void commit();
    const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
    std::filesystem::path m_tmp;
    int m_fd = -1;
};

}  // namespace leakhunt::util
