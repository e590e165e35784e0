// The agent's life cycle: at load, read the configuration, keep or drop itself from LD_PRELOAD
// for programs that will be exec'd, start the writer; around fork, hold every lock so the child
// inherits none held by a thread that does not exist there, and give the child its own writer
// and output files; at exit, stop the writer and write the final snapshot. On an internal failure
// the agent disables itself with one line on stderr and never takes the program down. A program
// that a signal ends gets its exit snapshot too (see on_fatal_signal).
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "agent/attach.hpp"
#include "agent/config.hpp"
#include "agent/fence.hpp"
#include "agent/guard.hpp"
#include "agent/recorder.hpp"
#include "agent/unwind.hpp"
#include "agent/writer.hpp"

extern char** environ;

namespace leakhunt::agent {
namespace {

void say(const char* text) {
    char line[600];
    const int n =
        std::snprintf(line, sizeof line, "leakhunt agent (pid %d): %s\n", ::getpid(), text);
    ssize_t ignored = ::write(2, line, static_cast<std::size_t>(n));
    (void)ignored;
}

// Removes this library from LD_PRELOAD in our own environment (in place, no allocation), so that
// programs we exec run without the agent unless LEAKHUNT_FOLLOW_CHILDREN=1.
// True if the LD_PRELOAD entry [start, start + len) names the agent: the same file as this
// library (by device and inode, so a copy or a link under any name counts), or a bare name equal
// to this library's file name (ld.so searched the library path for it), or, when this library's
// file cannot be told, a name containing "libleakhunt_agent". No allocation.
bool is_agent_entry(const char* start, std::size_t len) {
    static struct stat self_stat;
    static const char* self_base = nullptr;
    static int self_known = -1;  // -1 not asked yet, 0 unknown, 1 known; set once at load
    if (self_known < 0) {
        Dl_info info{};
        self_known = 0;
        if (::dladdr(reinterpret_cast<void*>(&is_agent_entry), &info) != 0 &&
            info.dli_fname != nullptr && ::stat(info.dli_fname, &self_stat) == 0) {
            const char* slash = std::strrchr(info.dli_fname, '/');
            self_base = slash != nullptr ? slash + 1 : info.dli_fname;
            self_known = 1;
        }
    }
    char entry[4096];
    if (len == 0 || len >= sizeof entry) return false;
    std::memcpy(entry, start, len);
    entry[len] = '\0';
    if (self_known == 1) {
        if (std::memchr(entry, '/', len) == nullptr) return std::strcmp(entry, self_base) == 0;
        struct stat st;
        return ::stat(entry, &st) == 0 && st.st_dev == self_stat.st_dev &&
               st.st_ino == self_stat.st_ino;
    }
    return std::strstr(entry, "libleakhunt_agent") != nullptr;
}

// True if LD_PRELOAD names the agent: it was preloaded at start-up, not dlopen'ed into a running
// process by `record --pid`. (Asking which malloc the global scope finds does not tell: a program
// that takes malloc's address, as CPython and node do, makes its own PLT entry the canonical
// address, so dlsym finds the program.)
bool named_in_ld_preload() {
    const char* p = std::getenv("LD_PRELOAD");
    if (p == nullptr) return false;
    while (*p != '\0') {
        while (*p == ' ' || *p == ':') ++p;
        const char* start = p;
        while (*p != '\0' && *p != ' ' && *p != ':') ++p;
        if (p > start && is_agent_entry(start, static_cast<std::size_t>(p - start))) return true;
    }
    return false;
}

void drop_from_ld_preload() {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) continue;
        char* list = *e + 11;
        char* out = list;
        char* p = list;
        while (*p != '\0') {
            while (*p == ' ' || *p == ':') ++p;
            char* start = p;
            while (*p != '\0' && *p != ' ' && *p != ':') ++p;
            const std::size_t len = static_cast<std::size_t>(p - start);
            if (len == 0) break;
            const bool ours = is_agent_entry(start, len);
            if (!ours) {
                if (out != list) *out++ = ':';
                std::memmove(out, start, len);
                out += len;
            }
        }
        *out = '\0';
    }
}

// fork() from a signal handler that interrupted the agent on this thread (the agent itself never
// forks): this thread may hold the agent's locks, so taking them all would deadlock. The fork
// then goes ahead without them, the parent carries on where it was interrupted, and the child,
// whose copy of the agent's tables may be mid-update, runs without recording (quietly: its
// output is the program's).
thread_local bool t_fork_inside_agent __attribute__((tls_model("initial-exec"))) = false;

void before_fork() {
    if (t_in_agent) {
        t_fork_inside_agent = true;
        return;
    }
    t_in_agent = true;  // nothing this thread does until the fork returns is recorded
    unwind_gate_lock();
    stacks().lock_all();
    live().lock_all();
}

void after_fork_parent() {
    if (t_fork_inside_agent) {
        t_fork_inside_agent = false;
        return;
    }
    live().unlock_all();
    stacks().unlock_all();
    unwind_gate_unlock();
    t_in_agent = false;
    left_agent();
}

void after_fork_child() {
    if (t_fork_inside_agent) {
        t_fork_inside_agent = false;
        g_active = false;  // the hooks pass every call straight through from now on
        return;
    }
    live().reset_in_child();
    stacks().unlock_all();
    unwind_gate_reset_in_child();
    live().set_biased(remote_fence_ready());
    t_in_agent = false;
    if (g_active) writer_after_fork_child();
    left_agent();
}

// ---- fatal signals: the exit snapshot of a program that a signal ends ----
//
// For each signal whose default action ends the process, a handler is installed at load only if
// the disposition is still SIG_DFL (a handler or SIG_IGN the program inherited is left alone, and
// a handler the program installs later replaces ours, as it would replace the default). The
// handler writes the exit snapshot once (no heap scan: stopping the threads from inside a signal
// handler is not safe), puts SIG_DFL back and lets the signal end the process as it would have
// without us: a fault the kernel raised (SIGSEGV, SIGBUS, ...) recurs when the handler returns
// and the instruction runs again; any other signal is raised again and delivered when the handler
// returns, so the exit status, the core dump and the parent's view are unchanged. The snapshot
// is put off when the signal interrupted the agent itself on this thread (its locks may be
// held): the handler notes it and returns, and the signal is raised again as soon as the thread
// leaves the agent (RecursionGuard); a fault inside the agent ends the process without a
// snapshot. The snapshot path takes no lock the program can hold except the loader's
// (dl_iterate_phdr), which is recursive, and allocates only with mmap.

constexpr int k_fatal_signals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGTRAP, SIGABRT,
                                   SIGBUS,  SIGFPE,  SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE,
                                   SIGALRM, SIGTERM, SIGXCPU, SIGXFSZ, SIGSYS};

std::atomic<bool> g_fatal_seen{false};

bool is_fault(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
           sig == SIGSYS;
}

void on_fatal_signal(int sig, siginfo_t* info, void*) {
    const int saved_errno = errno;
    const bool fault = is_fault(sig) && info != nullptr && info->si_code > 0;
    if (t_in_agent && !fault && t_pending_signal == 0) {
        // The agent's locks may be held on this thread: finish its work first (left_agent()
        // raises the signal again).
        t_pending_signal = sig;
        errno = saved_errno;
        return;
    }
    if (!g_fatal_seen.exchange(true) && g_active.load() && !t_in_agent) {
        char msg[4300];
        if (!write_snapshot("exit", msg, sizeof msg)) say(msg);
    }
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
    // A fault the kernel raised happens again on return; anything else (kill, raise, abort) is
    // sent again, pending until this handler returns and the signal mask is restored.
    if (!fault) ::raise(sig);
    errno = saved_errno;
}

}  // namespace

thread_local int t_pending_signal __attribute__((tls_model("initial-exec"))) = 0;

void raise_pending_signal() {
    const int sig = t_pending_signal;
    t_pending_signal = 0;
    ::raise(sig);
}

namespace {

void install_fatal_handlers() {
    for (int sig : k_fatal_signals) {
        struct sigaction old {};
        if (::sigaction(sig, nullptr, &old) != 0) continue;
        if ((old.sa_flags & SA_SIGINFO) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction ours {};
        ours.sa_sigaction = on_fatal_signal;
        ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&ours.sa_mask);
        ::sigaction(sig, &ours, nullptr);
    }
}

// Starts recording with g_config; false (and `msg`) if it cannot.
bool start_recording(char* msg, std::size_t msg_size) {
    init_unwind();
    init_stack_cache();
    live().set_full(g_config.full());
    live().set_biased(remote_fence_ready());
    if (pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0) {
        std::snprintf(msg, msg_size, "cannot register fork handlers; the agent is disabled");
        return false;
    }
    start_writer();
    return true;
}

__attribute__((constructor(101))) void agent_init() {
    RecursionGuard guard;
    // Dlopen'ed into a running process: nothing until leakhunt_attach says how to record.
    if (!named_in_ld_preload()) return;
    read_config(g_config);
    if (!g_config.follow_children) drop_from_ld_preload();
    if (!g_config.enabled()) return;
    char msg[200];
    if (!start_recording(msg, sizeof msg)) {
        say(msg);
        return;
    }
    g_active = true;
    install_fatal_handlers();
}

// The stack pointer, after the call, of the function that called exit() on this thread: the frames
// below it (exit's own, the dead frames of whatever main or the exiting thread had called and
// returned from) are not live, so the exit scan's root on this stack starts there, as
// LeakSanitizer's exit-time check does. Found by unwinding from here to the frame whose return
// address lies in the C library's exit (with libunwind: this runs once, at exit). 0 if exit is
// not on this thread's stack (the destructors run from elsewhere) or the unwind fails.
std::uint64_t exit_caller_sp() {
    void* exit_fn = dlsym(RTLD_NEXT, "exit");
    Dl_info info{};
    void* entry = nullptr;  // the ElfW(Sym) of exit
    if (exit_fn == nullptr || dladdr1(exit_fn, &info, &entry, RTLD_DL_SYMENT) == 0 ||
        entry == nullptr) {
        return 0;
    }
    const auto* sym = static_cast<const ElfW(Sym)*>(entry);
    if (sym->st_size == 0) return 0;
    const auto lo = reinterpret_cast<unw_word_t>(exit_fn);
    const unw_word_t hi = lo + sym->st_size;
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
    for (int depth = 0; depth < 64 && unw_step(&cursor) > 0; ++depth) {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0) return 0;
        // A return address: exit's call is its last instruction (it does not return), so the
        // address after it may be exit's end.
        if (ip - 1 < lo || ip - 1 >= hi) continue;
        unw_word_t sp = 0;
        if (unw_step(&cursor) <= 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) != 0) return 0;
        return sp;
    }
    return 0;
}

__attribute__((destructor(101))) void agent_fini() {
    if (!g_active) return;
    // From here on a fatal signal must not write a second exit snapshot.
    if (g_fatal_seen.exchange(true)) return;
    // The heap scan's root on this thread's stack starts where exit() was called, or failing
    // that here: the frames below and the dead stack they reuse may still hold addresses of
    // blocks the program has leaked.
    RecursionGuard guard;
    std::uint64_t root_sp = g_config.leak_check ? exit_caller_sp() : 0;
    if (root_sp == 0) root_sp = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
    stop_writer();
    char msg[4300];
    const SnapshotScan scan = g_config.leak_check ? SnapshotScan::yes : SnapshotScan::no;
    if (!write_snapshot("exit", msg, sizeof msg, scan, root_sp))
        say(msg);
    else if (const char* err = std::strstr(msg, " scan-error="); err != nullptr)
        say(err + 1);
    report_unwind_check();
    // Hooks keep working for later destructors; only the writing is over.
}

std::atomic<int> g_attach_state{0};  // 0 never attached, 1 attached, 2 detached

}  // namespace

bool detach_agent(char* msg, std::size_t msg_size) {
    int expected = 1;
    if (!g_attach_state.compare_exchange_strong(expected, 2)) {
        std::snprintf(msg, msg_size, "the agent was not attached with record --pid");
        return false;
    }
    RecursionGuard guard;
    const bool ok = write_snapshot("detach", msg, msg_size);
    const std::size_t restored = attach_restore();
    g_active = false;  // a hook still running finishes; later ones (none reach us) only forward
    const std::size_t used = std::strlen(msg);
    std::snprintf(msg + used, msg_size - used, " restored=%zu", restored);
    return ok;
}

}  // namespace leakhunt::agent

// The entry point of an attach: `leakhunt record --pid` dlopens the agent into the running
// process through a debugger and calls this with the configuration (read_attach_config). Returns
// 0 when recording started; otherwise a code (1 bad configuration, 2 already recording,
// 3 cannot start) and one line on stderr.
extern "C" __attribute__((visibility("default"))) int leakhunt_attach(const char* spec) noexcept {
    using namespace leakhunt::agent;
    RecursionGuard guard;
    int expected = 0;
    if (g_active.load() || !g_attach_state.compare_exchange_strong(expected, 1)) {
        say("already recording in this process; leakhunt record --pid attaches once");
        return 2;
    }
    Config c;
    if (!read_attach_config(c, spec)) {
        say("malformed attach request; nothing is recorded");
        g_attach_state = 0;
        return 1;
    }
    c.attached = true;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    c.attached_at_unix = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
    g_config = c;
    char msg[300];
    if (!g_config.enabled() || !start_recording(msg, sizeof msg)) {
        if (g_config.enabled()) say(msg);
        g_attach_state = 2;
        return 3;
    }
    g_active = true;
    msg[0] = '\0';
    if (attach_redirect(msg, sizeof msg) == 0 && msg[0] != '\0') {
        say(msg);
        g_active = false;
        stop_writer();
        g_attach_state = 2;
        return 3;
    }
    return 0;
}
