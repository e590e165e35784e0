// Stopping the world for the heap scan, after LeakSanitizer's StopTheWorld: the calling thread
// clone()s a tracer task that shares our memory (CLONE_VM, its own mmap'd stack, not a thread of
// our group, since ptrace cannot attach to its own thread group), allows it with
// PR_SET_PTRACER where Yama needs that, and waits for it (a pidfd with a time limit; the tracer is
// killed past it, and the kernel detaches its tracees). The tracer PTRACE_SEIZEs and
// PTRACE_INTERRUPTs every other thread, listing /proc/PID/task until no new thread appears, reads
// their registers, makes sure none holds a lock of the agent's tables (else resumes everyone,
// waits a millisecond and tries again), copies the live blocks (tagging those the dynamic loader
// allocated), adds the threads that finished but were not joined (glibc's thread lists), lists
// the agent's own mappings, marks, and detaches. It blocks
// every signal, calls no malloc and takes no lock (ptrace(2), waitpid(2) "__WALL",
// PR_SET_PTRACER in prctl(2), Documentation/admin-guide/LSM/Yama.rst).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "agent/agent_io.hpp"
#include "agent/memory.hpp"
#include "agent/recorder.hpp"
#include "agent/scan_state.hpp"

namespace leakhunt::agent {
namespace {

constexpr std::size_t k_tracer_stack = 1u << 20;
constexpr int k_lock_retries = 200;
constexpr int k_scan_timeout_ms = 60 * 1000;

std::atomic<int> g_go{0};

std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void fail(ScanState& s, int err, const char* what) {
    if (s.error != 0) return;
    s.error = err == 0 ? EIO : err;
    std::snprintf(s.msg, sizeof s.msg, "%s", what);
}

// A decimal number into out (no snprintf in the tracer: glibc's may allocate for some formats).
char* put_num(char* out, unsigned long v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) *out++ = tmp[--n];
    *out = '\0';
    return out;
}

char* put_str(char* out, const char* s) {
    while (*s != '\0') *out++ = *s++;
    *out = '\0';
    return out;
}

// Reads a small /proc file into buf (NUL-terminated); bytes read or -1.
ssize_t read_small(const char* path, char* buf, std::size_t size) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    std::size_t got = 0;
    while (got + 1 < size) {
        const ssize_t n = ::read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    buf[got] = '\0';
    return static_cast<ssize_t>(got);
}

ScanThread* find_thread(ScanState& s, int tid) {
    for (std::size_t i = 0; i < s.nthreads; ++i) {
        if (s.threads[i].tid == tid) return &s.threads[i];
    }
    return nullptr;
}

// The thread's state letter from /proc/PID/task/TID/stat ('Z' zombie, 'X' dead), or 0.
char thread_state(int pid, int tid) {
    char path[96], buf[512];
    char* p = put_str(path, "/proc/");
    p = put_num(p, static_cast<unsigned long>(pid));
    p = put_str(p, "/task/");
    p = put_num(p, static_cast<unsigned long>(tid));
    put_str(p, "/stat");
    if (read_small(path, buf, sizeof buf) <= 0) return 0;
    const char* close = std::strrchr(buf, ')');
    return close != nullptr && close[1] == ' ' ? close[2] : 0;
}

void read_comm(int pid, int tid, char* out, std::size_t size) {
    char path[96];
    char* p = put_str(path, "/proc/");
    p = put_num(p, static_cast<unsigned long>(pid));
    p = put_str(p, "/task/");
    p = put_num(p, static_cast<unsigned long>(tid));
    put_str(p, "/comm");
    if (read_small(path, out, size) <= 0) out[0] = '\0';
    for (char* c = out; *c != '\0'; ++c) {
        if (*c == '\n') *c = '\0';
    }
}

// Seizes and interrupts one thread; waits until it is in a ptrace stop. Signals that arrive
// meanwhile are passed on (and the interrupt asked again). False if the thread is gone (not an
// error) or, with s.error set, if it cannot be traced.
bool stop_thread(ScanState& s, int tid) {
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
        const int e = errno;
        if (e == ESRCH) return false;
        const char st = thread_state(s.pid, tid);
        if (st == 'Z' || st == 'X' || st == 0) return false;  // exiting: nothing to scan there
        fail(s, e, "ptrace(PTRACE_SEIZE) of a thread failed");
        return false;
    }
    ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(tid, &status, __WALL);
        if (r < 0) {
            if (errno == EINTR) continue;
            return false;  // ECHILD: it exited and was reaped by the kernel
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) return false;
        if (!WIFSTOPPED(status)) continue;
        if ((status >> 16) == PTRACE_EVENT_STOP) return true;
        // A signal-delivery stop: deliver it and stop the thread again.
        ::ptrace(PTRACE_CONT, tid, nullptr,
                 reinterpret_cast<void*>(static_cast<long>(WSTOPSIG(status))));
        ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    }
}

void detach_all(ScanState& s) {
    for (std::size_t i = 0; i < s.nthreads; ++i) {
        ScanThread& t = s.threads[i];
        if (!t.attached) continue;
        ::ptrace(PTRACE_DETACH, t.tid, nullptr, nullptr);
        t.attached = false;
    }
}

// Attaches every thread but the caller, listing the tasks until a pass finds no new one.
bool stop_all(ScanState& s) {
    char path[64];
    put_num(put_str(path, "/proc/"), static_cast<unsigned long>(s.pid));
    char* end = path + std::strlen(path);
    put_str(end, "/task");
    for (int pass = 0; pass < 1000; ++pass) {
        const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
            fail(s, errno, "cannot list /proc/PID/task");
            return false;
        }
        bool added = false;
        alignas(8) char buf[8192];
        for (;;) {
            const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
            if (n <= 0) break;
            for (long off = 0; off < n;) {
                auto* d = reinterpret_cast<dirent64*>(buf + off);
                off += d->d_reclen;
                if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
                int tid = 0;
                for (const char* c = d->d_name; *c >= '0' && *c <= '9'; ++c)
                    tid = tid * 10 + (*c - '0');
                if (tid == s.caller_tid || find_thread(s, tid) != nullptr) continue;
                if (s.nthreads == s.cap_threads) {
                    ::close(fd);
                    fail(s, E2BIG, "too many threads for the scan");
                    return false;
                }
                ScanThread& t = s.threads[s.nthreads];
                t = ScanThread{};
                t.tid = tid;
                t.attached = stop_thread(s, tid);
                if (s.error != 0) {
                    ::close(fd);
                    return false;
                }
                ++s.nthreads;  // a thread that is gone stays listed (unattached) so it is skipped
                added = true;
            }
        }
        ::close(fd);
        if (!added) return true;
    }
    fail(s, EAGAIN, "threads kept appearing while the world was being stopped");
    return false;
}

void read_registers(ScanThread& t) {
#if defined(__x86_64__)
    user_regs_struct regs{};
    if (::ptrace(PTRACE_GETREGS, t.tid, nullptr, &regs) != 0) return;
    static_assert(sizeof regs / 8 <= sizeof t.regs / sizeof t.regs[0]);
    std::memcpy(t.regs, &regs, sizeof regs);
    t.nregs = sizeof regs / 8;
    t.have_regs = true;
    t.sp = regs.rsp;
    t.pc = regs.rip;
    t.fs = regs.fs_base;
#else
    (void)t;  // other architectures: stacks are not scanned (no SP); globals and the heap are
#endif
}

// k_map_anonymous if a maps line, from its permissions on, is "rw?p offset dev 0" with no
// path or an [anon:NAME]; else 0.
std::uint32_t anonymous_private_writable(const char* perms, const char* end) {
    if (end - perms < 4 || perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p') return 0;
    const char* p = perms;
    for (int field = 0; field < 3; ++field) {  // perms, offset, dev
        while (p < end && *p != ' ') ++p;
        while (p < end && *p == ' ') ++p;
    }
    if (p >= end || *p != '0' || (p + 1 < end && p[1] != ' ')) return 0;  // inode 0
    ++p;
    while (p < end && *p == ' ') ++p;
    if (p == end) return k_map_anonymous;
    return end - p >= 6 && std::memcmp(p, "[anon:", 6) == 0 ? k_map_anonymous : 0;
}

bool read_maps(ScanState& s) {
    char path[64];
    put_str(put_num(put_str(path, "/proc/"), static_cast<unsigned long>(s.pid)), "/maps");
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(s, errno, "cannot read /proc/PID/maps");
        return false;
    }
    s.nmaps = 0;
    char buf[16384];
    std::size_t have = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 && have == 0) break;
        have += n > 0 ? static_cast<std::size_t>(n) : 0;
        std::size_t line = 0;
        for (std::size_t i = 0; i < have; ++i) {
            if (buf[i] != '\n') continue;
            // "start-end perms ..."
            std::uint64_t a = 0, b = 0;
            std::size_t k = line;
            auto hexval = [](char c) {
                return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            };
            while (k < i && hexval(buf[k]) >= 0)
                a = a * 16 + static_cast<std::uint64_t>(hexval(buf[k++]));
            ++k;
            while (k < i && hexval(buf[k]) >= 0)
                b = b * 16 + static_cast<std::uint64_t>(hexval(buf[k++]));
            ++k;
            const bool readable = k < i && buf[k] == 'r';
            // [vvar] and device mappings are not memory one may read word by word.
            const bool special = ::memmem(buf + line, i - line, "[vvar", 5) != nullptr ||
                                 ::memmem(buf + line, i - line, " /dev/", 6) != nullptr;
            // Kept one per mapping (not merged), so a stack's mapping can be told from its
            // neighbours.
            if (readable && !special && a < b && s.nmaps < s.cap_maps) {
                s.maps[s.nmaps++] = MapRange{a, b, anonymous_private_writable(buf + k, buf + i)};
            }
            line = i + 1;
        }
        std::memmove(buf, buf + line, have - line);
        have -= line;
        if (n <= 0) break;
    }
    ::close(fd);
    return true;
}

bool copy_blocks(ScanState& s) {
    s.nblocks = 0;
    s.total_bytes = 0;
    const StackTable& table = stacks();
    const std::uint32_t nstacks = table.count();
    live().for_each([&](std::uint64_t ptr, std::uint64_t size, std::uint32_t stack) {
        if (s.nblocks < s.cap_blocks) {
            // The immediate caller of the allocator: the first frame kept (the agent's are not).
            std::uint32_t flags = 0;
            if (stack >= 1 && stack <= nstacks && s.loader_lo < s.loader_hi) {
                const StackRecord* rec = table.get(stack);
                if (rec != nullptr && rec->depth > 0 && rec->ips()[0] >= s.loader_lo &&
                    rec->ips()[0] < s.loader_hi) {
                    flags |= k_block_loader;
                }
            }
            s.blocks[s.nblocks] = ScanBlock{ptr, size, stack, flags};
        }
        ++s.nblocks;
        s.total_bytes += size;
    });
    if (s.nblocks > s.cap_blocks) {
        s.need_more_blocks = true;
        return false;
    }
    return true;
}

// Threads that finished but were not joined: glibc keeps their descriptors on its lists of
// threads in use until pthread_join, and the start argument and return value live there. Each
// becomes a thread of the scan without registers or stack, whose descriptor and static TLS are
// scanned as a live thread's are. A list that looks damaged (a stopped thread may be changing
// it) is left alone.
void add_finished_threads(ScanState& s) {
    const ThreadLists& l = s.thread_lists;
    const std::size_t live_threads = s.nthreads;
    for (const std::uint64_t head : l.heads) {
        if (head == 0 || !readable(s, head, 16)) continue;
        std::uint64_t at = word_at(head);
        for (int steps = 0; at != head && steps < 1 << 16; ++steps) {
            if ((at & 7) != 0 || !readable(s, at, 16) || word_at(at + 8) == 0) break;
            const std::uint64_t pd = at - l.list_offset;
            bool alive = false;
            for (std::size_t t = 0; t < live_threads && !alive; ++t) alive = s.threads[t].fs == pd;
            // The kernel clears the descriptor's tid when the thread exits (CLONE_CHILD_CLEARTID):
            // a tid that is still set is a thread that runs (the one that asked for the scan) or
            // is exiting right now.
            std::int32_t tid = -1;
            if (readable(s, pd + l.tid_offset, 4)) {
                std::memcpy(&tid, reinterpret_cast<const void*>(pd + l.tid_offset), 4);
            }
            if (!alive && tid == 0 && s.nthreads < s.cap_threads &&
                readable(s, pd, s.tls_tcb_bytes)) {
                ScanThread& t = s.threads[s.nthreads++];
                t = ScanThread{};
                put_str(t.name, "finished, unjoined");
                t.fs = pd;
                ++s.finished_threads;
            }
            at = word_at(at);
        }
    }
}

// The agent's mappings, sorted: no root is read from them.
void list_agent_mappings(ScanState& s) {
    const std::size_t n = agent_mappings(s.own_tmp, s.own_tmp + s.cap_own_maps, s.cap_own_maps);
    for (std::size_t i = 0; i < n; ++i) {
        s.own_maps[i] = MapRange{s.own_tmp[i], s.own_tmp[s.cap_own_maps + i], 0};
    }
    s.nown_maps = n;
    std::sort(s.own_maps, s.own_maps + n,
              [](const MapRange& x, const MapRange& y) { return x.start < y.start; });
}

int tracer_main(void* arg) {
    auto& s = *static_cast<ScanState*>(arg);
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    while (g_go.load() == 0) ::syscall(SYS_futex, &g_go, FUTEX_WAIT_PRIVATE, 0, nullptr);
    for (int attempt = 0;; ++attempt) {
        s.nthreads = 0;
        const std::uint64_t t0 = now_ns();
        if (!stop_all(s)) {
            detach_all(s);
            return 1;
        }
        if (live().any_locked() || stacks().any_locked()) {
            detach_all(s);
            if (attempt == k_lock_retries) {
                fail(s, EBUSY, "a thread kept holding a lock of the agent's tables");
                return 1;
            }
            timespec ms{0, 1000 * 1000};
            ::nanosleep(&ms, nullptr);
            continue;
        }
        for (std::size_t i = 0; i < s.nthreads; ++i) {
            ScanThread& t = s.threads[i];
            if (t.attached) read_registers(t);
            read_comm(s.pid, t.tid, t.name, sizeof t.name);
        }
        // The caller is listed last (it is not stopped: it waits for us).
        if (s.nthreads < s.cap_threads && s.caller_sp != 0) {
            ScanThread& c = s.threads[s.nthreads++];
            c = ScanThread{};
            c.tid = s.caller_tid;
            c.caller = true;
            c.sp = s.caller_sp;
            c.fs = s.caller_fs;
            read_comm(s.pid, c.tid, c.name, sizeof c.name);
        }
        const bool ok = read_maps(s) && copy_blocks(s);
        if (ok) {
            s.finished_threads = 0;
            add_finished_threads(s);
            list_agent_mappings(s);
            s.pagemap_fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
            const std::uint64_t m0 = now_ns();
            if (!build_block_index(s)) {
                fail(s, ENOMEM, "the block directory did not fit");
            } else {
                mark_all(s);
                classify_unreachable(s);
            }
            if (s.pagemap_fd >= 0) ::close(s.pagemap_fd);
            s.mark_ns = now_ns() - m0;
        }
        detach_all(s);
        s.pause_ns = now_ns() - t0;
        return ok && s.error == 0 ? 0 : 1;
    }
}

bool yama_needs_ptracer() {
    char buf[16];
    return read_small("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof buf) > 0 && buf[0] == '1';
}

}  // namespace

bool run_stopped_scan(ScanState& s) {
    s.caller_tid = static_cast<int>(::syscall(SYS_gettid));
    s.pid = ::getpid();
    s.caller_fs = s.caller_sp != 0 ? thread_pointer() : 0;
    s.error = 0;
    s.msg[0] = '\0';
    s.need_more_blocks = false;
    void* stack = map_memory(k_tracer_stack);
    if (stack == nullptr) {
        fail(s, ENOMEM, "no memory for the tracer's stack");
        return false;
    }
    g_go.store(0);
    const int tracer = ::clone(tracer_main, static_cast<char*>(stack) + k_tracer_stack,
                               CLONE_VM | CLONE_UNTRACED, &s);
    if (tracer < 0) {
        unmap_memory(stack, k_tracer_stack);
        fail(s, errno, "clone() of the tracer failed");
        return false;
    }
    const bool ptracer = yama_needs_ptracer();
    if (ptracer) ::prctl(PR_SET_PTRACER, tracer, 0, 0, 0);
    g_go.store(1);
    ::syscall(SYS_futex, &g_go, FUTEX_WAKE_PRIVATE, 1, nullptr);
    // Wait with a time limit: a pidfd (Linux 5.3) polls; without one, waitpid blocks.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, tracer, 0));
    if (pidfd >= 0) {
        pollfd p{pidfd, POLLIN, 0};
        int r;
        do {
            r = ::poll(&p, 1, k_scan_timeout_ms);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
            ::kill(tracer, SIGKILL);  // its tracees are detached by the kernel and run again
            fail(s, ETIMEDOUT, "the scan did not finish in time and was stopped");
        }
        ::close(pidfd);
    }
    int status = 0;
    while (::waitpid(tracer, &status, __WALL) < 0 && errno == EINTR) {
    }
    if (ptracer) ::prctl(PR_SET_PTRACER, 0, 0, 0, 0);
    unmap_memory(stack, k_tracer_stack);
    if (WIFSIGNALED(status)) fail(s, EFAULT, "the tracer died (a fault while reading memory)");
    return s.error == 0 && !s.need_more_blocks && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace leakhunt::agent
