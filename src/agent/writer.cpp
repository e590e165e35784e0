// Snapshots (pprof), the timeline, the control socket and the writer thread.
#include "agent/writer.hpp"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "agent/agent_io.hpp"
#include "agent/attach.hpp"
#include "agent/config.hpp"
#include "agent/guard.hpp"
#include "agent/heap_scan.hpp"
#include "agent/memory.hpp"
#include "agent/recorder.hpp"
#include "format/agent_protocol.hpp"
#include "format/gzip.hpp"
#include "format/pprof_encoder.hpp"

namespace leakhunt::agent {
namespace {

// A typed array in mmap'd memory.
template <typename T>
struct MappedArray {
    T* data = nullptr;
    std::size_t n = 0;
    explicit MappedArray(std::size_t count) : n(count) {
        if (count > 0) data = static_cast<T*>(map_memory(sizeof(T) * count));
    }
    MappedArray(const MappedArray&) = delete;
    MappedArray& operator=(const MappedArray&) = delete;
    ~MappedArray() { unmap_memory(data, sizeof(T) * n); }
    bool ok() const { return n == 0 || data != nullptr; }
};

// ---- the module map ----

struct Module {
    std::uint64_t start, limit, offset;
    char path[512];
    char build_id[130];
};

constexpr std::size_t k_max_modules = 1024;

struct ModuleList {
    Module* items;
    std::size_t count;
};

int collect_module(dl_phdr_info* info, size_t, void* data) {
    auto* list = static_cast<ModuleList*>(data);
    char path[512];
    object_path(info, path, sizeof path);
    char build_id[130];
    build_id_hex(info, build_id, sizeof build_id);
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    for (int i = 0; i < info->dlpi_phnum && list->count < k_max_modules; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
        Module& m = list->items[list->count++];
        const std::uint64_t start = info->dlpi_addr + ph.p_vaddr;
        m.start = start & ~(page - 1);
        m.limit = start + ph.p_memsz;
        m.offset = ph.p_offset - (start - m.start);
        std::snprintf(m.path, sizeof m.path, "%s", path);
        std::snprintf(m.build_id, sizeof m.build_id, "%s", build_id);
    }
    return 0;
}

// ---- snapshot ----

struct Totals {
    std::int64_t inuse_bytes = 0, inuse_objects = 0;
};

// Go's un-sampling (runtime/pprof scaleHeapSample); see sampler.hpp.
void scale(std::uint64_t count, std::uint64_t bytes, std::int64_t& out_count,
           std::int64_t& out_bytes) {
    if (count == 0 || bytes == 0) {
        out_count = static_cast<std::int64_t>(count);
        out_bytes = static_cast<std::int64_t>(bytes);
        return;
    }
    if (g_config.sample_interval <= 1) {
        out_count = static_cast<std::int64_t>(count);
        out_bytes = static_cast<std::int64_t>(bytes);
        return;
    }
    const double avg = static_cast<double>(bytes) / static_cast<double>(count);
    const double s = 1.0 / (1.0 - std::exp(-avg / static_cast<double>(g_config.sample_interval)));
    out_count = static_cast<std::int64_t>(static_cast<double>(count) * s);
    out_bytes = static_cast<std::int64_t>(static_cast<double>(bytes) * s);
}

std::uint64_t rss_bytes() {
    char buf[128];
    const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

double g_start_s = 0;
unsigned g_seq = 0;
pthread_mutex_t g_snapshot_mutex = PTHREAD_MUTEX_INITIALIZER;

void append_timeline(const char* reason, const char* file, const Totals& t) {
    char path[4200];
    std::snprintf(path, sizeof path, "%s/timeline.%d.csv", g_config.out_dir, ::getpid());
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    const bool full = g_config.full();
    if (::lseek(fd, 0, SEEK_END) == 0) {
        if (full) {
            write_all(fd, format::k_timeline_full_header,
                      sizeof format::k_timeline_full_header - 1);
        } else {
            write_all(fd, format::k_timeline_header, sizeof format::k_timeline_header - 1);
        }
    }
    char line[1024];
    int n = std::snprintf(line, sizeof line, "%.3f,%llu,%lld,%lld,%llu,%s,%s",
                          now_s(CLOCK_REALTIME), static_cast<unsigned long long>(rss_bytes()),
                          static_cast<long long>(t.inuse_bytes),
                          static_cast<long long>(t.inuse_objects),
                          static_cast<unsigned long long>(agent_memory_bytes()), reason, file);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof line - 32) {
        ::close(fd);
        return;
    }
    n += full ? std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), ",%llu\n",
                              static_cast<unsigned long long>(temporary_allocations()))
              : std::snprintf(line + n, sizeof line - static_cast<std::size_t>(n), "\n");
    write_all(fd, line, static_cast<std::size_t>(n));
    ::close(fd);
}

bool encode_snapshot(format::Buffer& pprof, Totals& totals) {
    StackTable& st = stacks();
    const std::uint32_t n = st.count();
    std::size_t frames = 0;
    for (std::uint32_t id = 1; id <= n; ++id) frames += st.get(id)->depth;

    // Unique addresses, sorted: location id = index + 1.
    MappedArray<std::uint64_t> addrs(frames);
    MappedArray<Module> modules(k_max_modules);
    MappedArray<std::uint64_t> ids(k_max_depth);
    if (!addrs.ok() || !modules.ok() || !ids.ok()) return false;
    std::size_t k = 0;
    for (std::uint32_t id = 1; id <= n; ++id) {
        const StackRecord* rec = st.get(id);
        for (std::uint32_t i = 0; i < rec->depth; ++i) addrs.data[k++] = rec->ips()[i];
    }
    std::sort(addrs.data, addrs.data + k);
    const std::size_t unique =
        static_cast<std::size_t>(std::unique(addrs.data, addrs.data + k) - addrs.data);

    ModuleList list{modules.data, 0};
    dl_iterate_phdr(collect_module, &list);
    std::sort(list.items, list.items + list.count,
              [](const Module& a, const Module& b) { return a.start < b.start; });

    MappedBuffer strings;
    format::HeapProfileEncoder enc(pprof, strings.b);
    const double now = now_s(CLOCK_REALTIME);
    enc.header(static_cast<std::int64_t>(now * 1e9),
               static_cast<std::int64_t>((now_s(CLOCK_MONOTONIC) - g_start_s) * 1e9),
               static_cast<std::int64_t>(g_config.sample_interval));
    for (std::size_t i = 0; i < list.count; ++i) {
        const Module& m = list.items[i];
        enc.mapping({i + 1, m.start, m.limit, m.offset, m.path, m.build_id});
    }
    for (std::size_t i = 0; i < unique; ++i) {
        const std::uint64_t a = addrs.data[i];
        // The last module starting at or below a, if a is inside it.
        Module* end = list.items + list.count;
        Module* it = std::upper_bound(list.items, end, a,
                                      [](std::uint64_t x, const Module& m) { return x < m.start; });
        std::uint64_t mapping = 0;
        if (it != list.items && a < (it - 1)->limit) {
            mapping = static_cast<std::uint64_t>(it - list.items);
        }
        enc.location(i + 1, mapping, a);
    }
    for (std::uint32_t id = 1; id <= n; ++id) {
        const StackRecord* rec = st.get(id);
        const std::uint64_t ac = rec->alloc_count();
        if (ac == 0) continue;
        const std::uint64_t ab = rec->alloc_bytes();
        const std::uint64_t fc = rec->free_count();
        const std::uint64_t fb = rec->free_bytes();
        std::int64_t values[format::k_heap_values];
        scale(ac, ab, values[format::k_alloc_objects], values[format::k_alloc_space]);
        scale(ac >= fc ? ac - fc : 0, ab >= fb ? ab - fb : 0, values[format::k_inuse_objects],
              values[format::k_inuse_space]);
        totals.inuse_objects += values[format::k_inuse_objects];
        totals.inuse_bytes += values[format::k_inuse_space];
        for (std::uint32_t i = 0; i < rec->depth; ++i) {
            ids.data[i] = static_cast<std::uint64_t>(
                std::lower_bound(addrs.data, addrs.data + unique, rec->ips()[i]) - addrs.data + 1);
        }
        enc.sample(ids.data, rec->depth, values);
    }
    enc.comment(g_config.full() ? "leakhunt agent: every allocation recorded"
                                : "leakhunt agent: sampled allocations, values un-sampled");
    if (g_config.attached) {
        char note[200];
        std::snprintf(note, sizeof note,
                      "leakhunt agent: attached to the running process at %.3f (unix time); only "
                      "allocations made after the attach are seen",
                      g_config.attached_at_unix);
        enc.comment(note);
    }
    if (const std::uint64_t stale = stale_records_retired(); stale > 0) {
        char note[200];
        std::snprintf(note, sizeof note,
                      "leakhunt agent: %llu blocks were freed past the agent (seen when the "
                      "allocator handed their addresses out again) and counted as freed then",
                      static_cast<unsigned long long>(stale));
        enc.comment(note);
    }
    enc.finish();
    return !pprof.failed && !strings.b.failed;
}

// ---- the thread and the control socket ----

pthread_t g_thread;
bool g_running = false;
int g_stop_fd = -1;
int g_listen_fd = -1;
ino_t g_listen_ino = 0;
std::atomic<bool> g_stop{false};

// The program may close every descriptor (daemons do) and reuse the numbers. Ours are moved high,
// and checked before use: the socket by its inode, the eventfd by what /proc says it is.
int move_high(int fd) {
    if (fd < 0) return fd;
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 700);
    if (high < 0) return fd;
    ::close(fd);
    return high;
}

bool still_our_socket(int fd) {
    struct stat st {};
    return fd >= 0 && ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == g_listen_ino;
}

bool still_an_eventfd(int fd) {
    char path[64], target[64];
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(path, target, sizeof target - 1);
    if (n <= 0) return false;
    target[n] = '\0';
    return std::strcmp(target, "anon_inode:[eventfd]") == 0;
}

void close_fds() {
    if (g_stop_fd >= 0 && still_an_eventfd(g_stop_fd)) ::close(g_stop_fd);
    if (still_our_socket(g_listen_fd)) ::close(g_listen_fd);
    g_stop_fd = g_listen_fd = -1;
}

int open_control_socket() {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_un addr;
    // Abstract namespace: no file to clean up.
    const socklen_t size = format::control_socket_address(addr, ::getpid());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), size) != 0 || ::listen(fd, 4) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// True once a detach request was served: the thread ends after replying.
bool g_detached = false;

void serve_client(int listen_fd) {
    const int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    ucred cred{};
    socklen_t len = sizeof cred;
    char reply[4400];
    if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != ::getuid())) {
        std::snprintf(reply, sizeof reply, "error permission denied\n");
    } else {
        pollfd p{c, POLLIN, 0};
        char cmd[64] = {};
        if (::poll(&p, 1, 2000) == 1) {
            const ssize_t n = ::read(c, cmd, sizeof cmd - 1);
            cmd[n > 0 ? n : 0] = '\0';
        }
        if (std::strncmp(cmd, "snapshot", 8) == 0) {
            char msg[4300];
            const bool scan = std::strncmp(cmd, "snapshot scan", 13) == 0;
            const bool ok = write_snapshot("request", msg, sizeof msg,
                                           scan ? SnapshotScan::yes : SnapshotScan::no);
            std::snprintf(reply, sizeof reply, "%s %s\n", ok ? "ok" : "error", msg);
        } else if (std::strncmp(cmd, "detach", 6) == 0) {
            char msg[4300];
            const bool ok = detach_agent(msg, sizeof msg);
            g_detached = ok || g_config.attached;
            std::snprintf(reply, sizeof reply, "%s %s\n", ok ? "ok" : "error", msg);
        } else if (std::strncmp(cmd, "status", 6) == 0) {
            std::snprintf(reply, sizeof reply, "ok pid=%d interval=%llu attached=%d out=%s\n",
                          ::getpid(), static_cast<unsigned long long>(g_config.sample_interval),
                          g_config.attached ? 1 : 0, g_config.out_dir);
        } else {
            std::snprintf(reply, sizeof reply,
                          "error unknown command (try: snapshot, status, detach)\n");
        }
    }
    // send(MSG_NOSIGNAL): a client that went away must not raise SIGPIPE in the host program.
    ssize_t ignored = ::send(c, reply, std::strlen(reply), MSG_NOSIGNAL);
    (void)ignored;
    ::close(c);
}

void* writer_main(void*) {
    t_in_agent = true;  // everything this thread allocates is the agent's own
    double next =
        g_config.snapshot_every_s > 0 ? now_s(CLOCK_MONOTONIC) + g_config.snapshot_every_s : 0;
    while (!g_stop.load()) {
        // Woken by the eventfd at once; the 1 s cap only matters if the program closed it.
        int timeout = 1000;
        if (next > 0) {
            const double left = next - now_s(CLOCK_MONOTONIC);
            const int until = left <= 0 ? 0 : static_cast<int>(left * 1000) + 1;
            if (until < timeout) timeout = until;
        }
        if (g_listen_fd >= 0 && !still_our_socket(g_listen_fd)) g_listen_fd = -1;  // not ours now
        pollfd fds[2] = {{g_stop_fd, POLLIN, 0}, {g_listen_fd, POLLIN, 0}};
        const int r = ::poll(fds, 2, timeout);
        if (r < 0 && errno != EINTR) break;
        if ((fds[0].revents & POLLIN) != 0 || g_stop.load()) break;
        if ((fds[0].revents & POLLNVAL) != 0) g_stop_fd = -1;  // closed by the program
        if ((fds[1].revents & POLLNVAL) != 0) g_listen_fd = -1;
        // poll() keeps a descriptor's file alive while it waits, so re-check that the number is
        // still our socket before accepting on it.
        if (r > 0 && g_listen_fd >= 0 && (fds[1].revents & POLLIN) != 0 &&
            still_our_socket(g_listen_fd)) {
            serve_client(g_listen_fd);
            if (g_detached) break;
        }
        // Attached: objects the program loaded since are patched too.
        if (g_config.attached && g_active.load()) attach_rescan();
        if (next > 0 && now_s(CLOCK_MONOTONIC) >= next) {
            char msg[4300];
            write_snapshot("periodic", msg, sizeof msg);
            next += g_config.snapshot_every_s;
            if (next < now_s(CLOCK_MONOTONIC))
                next = now_s(CLOCK_MONOTONIC) + g_config.snapshot_every_s;
        }
    }
    if (g_detached) {
        // Detached: nobody joins this thread; it ends here and its descriptors go with it.
        close_fds();
        g_running = false;
        pthread_detach(pthread_self());
    }
    return nullptr;
}

}  // namespace

bool write_snapshot(const char* reason, char* msg, std::size_t msg_size, SnapshotScan scan,
                    std::uint64_t caller_root_sp) {
    RecursionGuard guard;
    pthread_mutex_lock(&g_snapshot_mutex);
    const unsigned seq = g_seq++;
    // The scan first (the pprof then counts the same stacks); the snapshot is written even if the
    // scan fails, and the reply says why.
    char scan_note[4300] = "";
    if (scan == SnapshotScan::yes) {
        char scan_path[4200], scan_msg[4000];
        std::snprintf(scan_path, sizeof scan_path, "%s/heap.%d.%04u.scan", g_config.out_dir,
                      ::getpid(), seq);
        ScanFigures fig;
        if (!g_config.full()) {
            std::snprintf(scan_note, sizeof scan_note,
                          " scan-error=the heap scan needs full mode (record --all, "
                          "LEAKHUNT_SAMPLE_INTERVAL=1)");
        } else if (write_heap_scan(scan_path, reason, caller_root_sp, fig, scan_msg,
                                   sizeof scan_msg)) {
            std::snprintf(scan_note, sizeof scan_note,
                          " scan=%s pause_ms=%.1f blocks=%llu direct_leaks=%llu direct_bytes=%llu "
                          "indirect_leaks=%llu indirect_bytes=%llu",
                          scan_path, fig.pause_ms, static_cast<unsigned long long>(fig.blocks),
                          static_cast<unsigned long long>(fig.direct_count),
                          static_cast<unsigned long long>(fig.direct_bytes),
                          static_cast<unsigned long long>(fig.indirect_count),
                          static_cast<unsigned long long>(fig.indirect_bytes));
        } else {
            std::snprintf(scan_note, sizeof scan_note, " scan-error=%s", scan_msg);
        }
    }
    MappedBuffer pprof, gz;
    Totals totals;
    bool ok = encode_snapshot(pprof.b, totals);
    char path[4200];
    std::snprintf(path, sizeof path, "%s/heap.%d.%04u.pb.gz", g_config.out_dir, ::getpid(), seq);
    if (ok) {
        format::gzip_stored(pprof.b.data, pprof.b.size, gz.b);
        ok = !gz.b.failed;
    }
    if (ok) {
        ok = write_file_atomic(path, gz.b.data, gz.b.size, msg, msg_size);
    } else {
        std::snprintf(msg, msg_size, "out of memory while encoding the snapshot");
    }
    if (ok) {
        std::snprintf(msg, msg_size, "%s%s", path, scan_note);
        const char* base = std::strrchr(path, '/');
        append_timeline(reason, base != nullptr ? base + 1 : path, totals);
    }
    pthread_mutex_unlock(&g_snapshot_mutex);
    return ok;
}

void start_writer() {
    RecursionGuard guard;
    if (g_start_s == 0) g_start_s = now_s(CLOCK_MONOTONIC);
    g_stop.store(false);
    g_stop_fd = move_high(::eventfd(0, EFD_CLOEXEC));
    g_listen_fd = move_high(open_control_socket());
    struct stat st {};
    g_listen_ino = g_listen_fd >= 0 && ::fstat(g_listen_fd, &st) == 0 ? st.st_ino : 0;
    if (g_stop_fd < 0) {
        close_fds();
        return;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    g_running = pthread_create(&g_thread, nullptr, writer_main, nullptr) == 0;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (!g_running) close_fds();
}

void stop_writer() {
    if (!g_running) return;
    g_stop.store(true);
    if (g_stop_fd >= 0 && still_an_eventfd(g_stop_fd)) {
        const std::uint64_t one = 1;
        ssize_t ignored = ::write(g_stop_fd, &one, sizeof one);
        (void)ignored;
    }
    pthread_join(g_thread, nullptr);
    g_running = false;
    close_fds();
}

void writer_after_fork_child() {
    // The parent's thread and descriptors belong to the parent: forget them, start afresh.
    g_running = false;
    close_fds();
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    g_snapshot_mutex = fresh;
    g_seq = 0;
    start_writer();
}

}  // namespace leakhunt::agent
