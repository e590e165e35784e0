// Small helpers the agent's writer, heap scan and thread stopper share: the loaded objects'
// identity (build ID, the program's path), clocks, the thread pointer, and atomic file writes.
// libc only; no allocation.
#pragma once

#include <link.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

// The GNU build ID (lowercase hex) from the object's PT_NOTE segments, which are mapped in
// memory; "" when it has none. `out` holds at least one byte.
void build_id_hex(const dl_phdr_info* info, char* out, std::size_t out_size);

// The object's path: dlpi_name, or the program's own (/proc/self/exe) for the nameless main
// object. "" when neither is known.
void object_path(const dl_phdr_info* info, char* out, std::size_t out_size);

// Seconds on `clock`.
double now_s(clockid_t clock);

// This thread's pointer (%fs base on x86-64: where its TLS block and TCB are); 0 elsewhere.
inline std::uint64_t thread_pointer() {
#if defined(__x86_64__)
    std::uint64_t fs = 0;
    asm volatile("mov %%fs:0, %0" : "=r"(fs));
    return fs;
#else
    return 0;
#endif
}

// Writes all of `n` bytes, retrying on EINTR; false on an error (errno set).
bool write_all(int fd, const void* data, std::size_t n);

// Writes `path` atomically (PATH.tmp, then rename). On failure, removes the temporary, puts
// "cannot write PATH: REASON" into `msg` and returns false.
bool write_file_atomic(const char* path, const void* data, std::size_t n, char* msg,
                       std::size_t msg_size);

}  // namespace leakhunt::agent
