#include "agent/agent_io.hpp"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace leakhunt::agent {

void build_id_hex(const dl_phdr_info* info, char* out, std::size_t out_size) {
    static const char digits[] = "0123456789abcdef";
    out[0] = '\0';
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_NOTE) continue;
        const auto* p = reinterpret_cast<const std::uint8_t*>(info->dlpi_addr + ph.p_vaddr);
        const std::uint8_t* end = p + ph.p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) nh;
            std::memcpy(&nh, p, sizeof nh);
            const std::uint8_t* name = p + sizeof nh;
            const std::uint8_t* desc = name + ((nh.n_namesz + 3) & ~3u);
            const std::uint8_t* next = desc + ((nh.n_descsz + 3) & ~3u);
            if (next > end) break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0) {
                std::size_t j = 0;
                for (std::uint32_t k = 0; k < nh.n_descsz && j + 2 < out_size; ++k) {
                    out[j++] = digits[desc[k] >> 4];
                    out[j++] = digits[desc[k] & 15];
                }
                out[j] = '\0';
                return;
            }
            p = next;
        }
    }
}

void object_path(const dl_phdr_info* info, char* out, std::size_t out_size) {
    const char* name = info->dlpi_name;
    if (name != nullptr && name[0] != '\0') {
        std::snprintf(out, out_size, "%s", name);
        return;
    }
    const ssize_t n = ::readlink("/proc/self/exe", out, out_size - 1);
    out[n > 0 ? n : 0] = '\0';
}

double now_s(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (w == 0) {
            errno = EIO;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool write_file_atomic(const char* path, const void* data, std::size_t n, char* msg,
                       std::size_t msg_size) {
    char tmp[4400];
    std::snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const int fd = ::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, data, n);
    int err = errno;
    if (fd >= 0 && ::close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && ::rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        std::snprintf(msg, msg_size, "cannot write %s: %s", path, std::strerror(err));
        ::unlink(tmp);
    }
    return ok;
}

}  // namespace leakhunt::agent
