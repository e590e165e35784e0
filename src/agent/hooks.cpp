// Every interposed allocation function, in this one file. The C functions are listed once in
// LEAKHUNT_C_HOOKS; their originals are resolved with dlsym(RTLD_NEXT) into g_orig. Each
// replacement has the same shape: call the original, then record under a recursion guard; free
// and its kin record first, so the address cannot be handed out again before the record is gone.
// Allocations made before the originals are resolved (dlsym's own calloc) are served from a small
// static arena and recognised when freed. Every replacement is noexcept and never throws: the
// throwing operator new variants, on failure, defer to the original operator new, which runs the
// new-handler and throws std::bad_alloc as the program expects.
#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>

#include "agent/attach.hpp"
#include "agent/cfi_unwind.hpp"
#include "agent/deep_bind.hpp"
#include "agent/guard.hpp"
#include "agent/recorder.hpp"

#define LEAKHUNT_EXPORT extern "C" __attribute__((visibility("default")))

// name, return type, parameters
#define LEAKHUNT_C_HOOKS(X)                          \
    X(malloc, void*, (size_t))                       \
    X(free, void, (void*))                           \
    X(calloc, void*, (size_t, size_t))               \
    X(realloc, void*, (void*, size_t))               \
    X(reallocarray, void*, (void*, size_t, size_t))  \
    X(posix_memalign, int, (void**, size_t, size_t)) \
    X(aligned_alloc, void*, (size_t, size_t))        \
    X(memalign, void*, (size_t, size_t))             \
    X(valloc, void*, (size_t))                       \
    X(pvalloc, void*, (size_t))

namespace leakhunt::agent {

thread_local bool t_in_agent __attribute__((tls_model("initial-exec"))) = false;

namespace {

struct Originals {
#define LEAKHUNT_DECLARE(name, ret, params) ret(*name) params = nullptr;
    LEAKHUNT_C_HOOKS(LEAKHUNT_DECLARE)
#undef LEAKHUNT_DECLARE
    // The throwing operator new variants, used only when our allocation failed.
    void* (*new_plain)(size_t) = nullptr;
    void* (*new_aligned)(size_t, std::align_val_t) = nullptr;
};

Originals g_orig;
std::atomic<int> g_resolve_state{0};  // 0 not yet, 1 in progress, 2 done

// ---- bootstrap arena: dlsym may allocate before the originals exist ----

constexpr std::size_t k_arena_bytes = 1 << 20;
alignas(64) std::uint8_t g_arena[k_arena_bytes];
std::atomic<std::size_t> g_arena_used{0};

bool in_arena(const void* p) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    return b >= g_arena && b < g_arena + k_arena_bytes;
}

// Blocks are [size_t size][padding][data], data 16-aligned (or `align`-aligned).
__attribute__((noinline, cold)) void* arena_alloc(std::size_t n, std::size_t align = 16) {
    if (align < 16) align = 16;
    std::size_t used = g_arena_used.load(std::memory_order_relaxed);
    for (;;) {
        const std::size_t start = (used + sizeof(std::size_t) + align - 1) & ~(align - 1);
        const std::size_t end = start + n;
        if (end > k_arena_bytes) return nullptr;
        if (g_arena_used.compare_exchange_weak(used, end)) {
            std::memcpy(g_arena + start - sizeof(std::size_t), &n, sizeof n);
            return g_arena + start;
        }
    }
}

std::size_t arena_size(const void* p) {
    std::size_t n = 0;
    std::memcpy(&n, static_cast<const std::uint8_t*>(p) - sizeof n, sizeof n);
    return n;
}

__attribute__((noinline, cold)) bool resolve() {
    int expected = 0;
    if (!g_resolve_state.compare_exchange_strong(expected, 1)) {
        // Another call is resolving (possibly this thread, from inside dlsym).
        while (g_resolve_state.load() == 1) {
            if (t_in_agent) return false;  // our own dlsym: use the arena
        }
        return true;
    }
    {
        RecursionGuard guard;
#define LEAKHUNT_RESOLVE(name, ret, params) \
    g_orig.name = reinterpret_cast<ret(*) params>(dlsym(RTLD_NEXT, #name));
        LEAKHUNT_C_HOOKS(LEAKHUNT_RESOLVE)
#undef LEAKHUNT_RESOLVE
        g_orig.new_plain = reinterpret_cast<void* (*)(size_t)>(dlsym(RTLD_NEXT, "_Znwm"));
        g_orig.new_aligned = reinterpret_cast<void* (*)(size_t, std::align_val_t)>(
            dlsym(RTLD_NEXT, "_ZnwmSt11align_val_t"));
    }
    g_resolve_state.store(2);
    return g_orig.malloc != nullptr && g_orig.free != nullptr;
}

inline bool ready() {
    return g_resolve_state.load(std::memory_order_acquire) == 2 || resolve();
}

inline bool should_record() {
    return g_active.load(std::memory_order_relaxed) && !t_in_agent;
}

// Out of line and called in tail position (`return after_alloc(...)`), so that at unwind time
// the only frame of the agent between the program and libunwind is this one: every frame of
// the agent is unwound and then thrown away, at ~7 ns each. record_alloc and the stack capture
// are inlined into it (flatten). Its bigger frame leaves addresses of blocks behind on the dead
// stack; the exit-time heap scan starts the calling thread's root above the agent's frames.
__attribute__((noinline, flatten)) void* record_and_return(void* p, std::size_t size) {
    RecursionGuard guard;
    record_alloc(p, size);
    return p;
}

// A block the sampler chose: recorded unless the allocation failed or this thread must not record.
inline void* keep_sampled(void* p, std::size_t size) {
    if (p == nullptr || !should_record()) return p;
    return record_and_return(p, size);
}

// Returns p, recorded if it is to be. The sampler first: it says no to almost every call, in
// one subtraction on thread-local memory, before anything else is read.
inline void* after_alloc(void* p, std::size_t size) {
    if (!should_sample(size)) [[likely]]
        return p;
    return keep_sampled(p, size);
}

// malloc once the sampler has chosen this call (every call in full mode).
__attribute__((noinline)) void* malloc_sampled(std::size_t n) {
    return keep_sampled(g_orig.malloc(n), n);
}

// The fast path of malloc and operator new: the sampler decides before the call, so that an
// unsampled call is a tail call to the allocator, with no frame of its own.
inline void* do_malloc(std::size_t n) {
    if (!ready()) [[unlikely]]
        return arena_alloc(n);
    if (!should_sample(n)) [[likely]]
        return g_orig.malloc(n);
    return malloc_sampled(n);
}

// free of a block the filter could not rule out (every free in full mode).
__attribute__((noinline)) void free_maybe_recorded(void* p) {
    if (p != nullptr && should_record()) {
        RecursionGuard guard;
        record_free(p);
    }
    g_orig.free(p);
}

// The fast path of free and operator delete: one filter load, then a tail call to the allocator.
inline void do_free(void* p) {
    if (in_arena(p)) [[unlikely]]
        return;
    if (!ready()) [[unlikely]]
        return;  // cannot happen: before resolution all came from the arena
    if (maybe_recorded(p)) [[unlikely]]
        return free_maybe_recorded(p);
    g_orig.free(p);
}

void* do_aligned(std::size_t align, std::size_t n) {
    if (!ready()) return arena_alloc(n, align);
    void* p = nullptr;
    if (g_orig.posix_memalign(&p, align, n) != 0) return nullptr;
    return after_alloc(p, n);
}

}  // namespace
}  // namespace leakhunt::agent

using namespace leakhunt::agent;  // NOLINT: this file only defines C entry points

LEAKHUNT_EXPORT void* malloc(size_t n) noexcept {
    return do_malloc(n);
}

LEAKHUNT_EXPORT void free(void* p) noexcept {
    do_free(p);
}

LEAKHUNT_EXPORT void* calloc(size_t count, size_t size) noexcept {
    size_t total = 0;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return nullptr;
    }
    if (!ready()) return arena_alloc(total);  // the arena is zeroed static memory
    void* p = g_orig.calloc(count, size);
    return after_alloc(p, total);
}

LEAKHUNT_EXPORT void* realloc(void* old, size_t n) noexcept {
    if (old != nullptr && in_arena(old)) {
        void* p = do_malloc(n);
        if (p != nullptr) {
            const size_t keep = arena_size(old) < n ? arena_size(old) : n;
            std::memcpy(p, old, keep);
        }
        return p;
    }
    if (!ready()) return arena_alloc(n);
    if (old == nullptr) return do_malloc(n);
    // Take the old record first; give it back if the realloc fails and the old block stays.
    std::uint64_t old_size = 0;
    std::uint32_t old_stack = 0;
    bool had = false;
    if (should_record() && maybe_recorded(old)) {
        RecursionGuard guard;
        had = record_take(old, old_size, old_stack);
    }
    void* p = g_orig.realloc(old, n);
    if (p == nullptr && n != 0) {
        if (had) {
            RecursionGuard guard;
            record_restore(old, old_size, old_stack);
        }
        return nullptr;
    }
    if (had) {
        RecursionGuard guard;
        count_free(old_size, old_stack);
    }
    return after_alloc(p, n);  // realloc(p, 0) may return NULL (glibc frees p): nothing to record
}

LEAKHUNT_EXPORT void* reallocarray(void* old, size_t count, size_t size) noexcept {
    size_t total = 0;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return nullptr;
    }
    return realloc(old, total);
}

LEAKHUNT_EXPORT int posix_memalign(void** out, size_t align, size_t n) noexcept {
    if (!ready()) {
        *out = arena_alloc(n, align);
        return *out != nullptr ? 0 : ENOMEM;
    }
    const int r = g_orig.posix_memalign(out, align, n);
    if (r == 0) (void)after_alloc(*out, n);
    return r;
}

LEAKHUNT_EXPORT void* aligned_alloc(size_t align, size_t n) noexcept {
    if (!ready()) return arena_alloc(n, align);
    void* p = g_orig.aligned_alloc(align, n);
    return after_alloc(p, n);
}

LEAKHUNT_EXPORT void* memalign(size_t align, size_t n) noexcept {
    if (!ready()) return arena_alloc(n, align);
    void* p = g_orig.memalign(align, n);
    return after_alloc(p, n);
}

// valloc and pvalloc are built from the next allocator's posix_memalign rather than its own
// valloc/pvalloc: jemalloc and others export no pvalloc, and dlsym would then find glibc's, whose
// blocks the other allocator's free cannot take.
LEAKHUNT_EXPORT void* valloc(size_t n) noexcept {
    return do_aligned(static_cast<size_t>(::sysconf(_SC_PAGESIZE)), n);
}

LEAKHUNT_EXPORT void* pvalloc(size_t n) noexcept {
    const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t rounded = 0;
    if (__builtin_add_overflow(n, page - 1, &rounded)) {
        errno = ENOMEM;
        return nullptr;
    }
    rounded &= ~(page - 1);
    return do_aligned(page, rounded == 0 ? page : rounded);
}

// ---- dlclose: the stack walker's cached rules for the unloaded code must go ----

LEAKHUNT_EXPORT int dlclose(void* handle) noexcept {
    using Fn = int (*)(void*);
    static std::atomic<Fn> next{nullptr};
    Fn f = next.load(std::memory_order_acquire);
    if (f == nullptr) {
        f = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "dlclose"));
        if (f == nullptr) return -1;  // cannot happen: libc exports it
        next.store(f, std::memory_order_release);
    }
    const int r = f(handle);
    cfi_forget_rules();  // after the unmapping: a library loaded later may reuse the range
    return r;
}

// ---- dlopen: a library opened with RTLD_DEEPBIND binds malloc/free past us; patch its GOT ----
//
// dlopen looks at its caller's return address (the calling object's DT_RUNPATH, $ORIGIN, its
// namespace), so an interposer that calls it from its own frame would change what it finds. Our
// dlopen is therefore a stub that asks leakhunt_dlopen_route where to go and jumps there with the
// caller's return address untouched: straight to the real dlopen for every ordinary call, and to
// dlopen_deep (which calls dlopen from the agent, then patches) only for RTLD_DEEPBIND with a
// path that contains '/' and no '$', where the caller plays no part in finding the file.

namespace {

using DlopenFn = void* (*)(const char*, int) noexcept;
std::atomic<DlopenFn> g_next_dlopen{nullptr};

DlopenFn next_dlopen() {
    DlopenFn f = g_next_dlopen.load(std::memory_order_acquire);
    if (f == nullptr) {
        f = reinterpret_cast<DlopenFn>(dlsym(RTLD_NEXT, "dlopen"));
        g_next_dlopen.store(f, std::memory_order_release);
    }
    return f;
}

void* dlopen_unavailable(const char*, int) noexcept {
    return nullptr;
}

void* dlopen_deep(const char* file, int mode) noexcept {
    void* handle = next_dlopen()(file, mode);
    if (handle == nullptr || !ready() || !g_active.load()) return handle;
    RecursionGuard guard;
    const HookTarget targets[] = {
#define LEAKHUNT_TARGET(name, ret, params) \
    {#name, reinterpret_cast<void*>(&::name), reinterpret_cast<void*>(g_orig.name)},
        LEAKHUNT_C_HOOKS(LEAKHUNT_TARGET)
#undef LEAKHUNT_TARGET
    };
    (void)redirect_deep_bound(handle, targets, sizeof targets / sizeof targets[0]);
    return handle;
}

}  // namespace

extern "C" __attribute__((used, visibility("hidden"))) void* leakhunt_dlopen_route(
    const char* file, int mode) noexcept {
    const DlopenFn next = next_dlopen();
    if (next == nullptr) return reinterpret_cast<void*>(&dlopen_unavailable);
    const bool deep = (mode & RTLD_DEEPBIND) != 0 && file != nullptr &&
                      std::strchr(file, '/') != nullptr && std::strchr(file, '$') == nullptr;
    return reinterpret_cast<void*>(deep ? &dlopen_deep : next);
}

#if defined(__x86_64__)
// dlopen(file, mode): keep the arguments across the call (16-byte stack alignment at the call),
// then tail-jump to the routed function.
asm(R"(
    .text
    .globl dlopen
    .type dlopen, @function
    .p2align 4
dlopen:
    .cfi_startproc
    pushq %rdi
    .cfi_adjust_cfa_offset 8
    pushq %rsi
    .cfi_adjust_cfa_offset 8
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    call leakhunt_dlopen_route
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %rsi
    .cfi_adjust_cfa_offset -8
    popq %rdi
    .cfi_adjust_cfa_offset -8
    jmp *%rax
    .cfi_endproc
    .size dlopen, .-dlopen
)");
#endif

// ---- attached to a running process: patch every loaded object's slots ----

namespace {

// Every operator new and delete variant, by its (Itanium ABI) symbol.
constexpr const char* k_cxx_hooks[] = {"_Znwm",
                                       "_Znam",
                                       "_ZnwmRKSt9nothrow_t",
                                       "_ZnamRKSt9nothrow_t",
                                       "_ZnwmSt11align_val_t",
                                       "_ZnamSt11align_val_t",
                                       "_ZnwmSt11align_val_tRKSt9nothrow_t",
                                       "_ZnamSt11align_val_tRKSt9nothrow_t",
                                       "_ZdlPv",
                                       "_ZdaPv",
                                       "_ZdlPvm",
                                       "_ZdaPvm",
                                       "_ZdlPvSt11align_val_t",
                                       "_ZdaPvSt11align_val_t",
                                       "_ZdlPvmSt11align_val_t",
                                       "_ZdaPvmSt11align_val_t",
                                       "_ZdlPvRKSt9nothrow_t",
                                       "_ZdaPvRKSt9nothrow_t",
                                       "_ZdlPvSt11align_val_tRKSt9nothrow_t",
                                       "_ZdaPvSt11align_val_tRKSt9nothrow_t"};

constexpr std::size_t k_c_hook_count = 0
#define LEAKHUNT_COUNT(name, ret, params) +1
    LEAKHUNT_C_HOOKS(LEAKHUNT_COUNT)
#undef LEAKHUNT_COUNT
    ;
constexpr std::size_t k_attach_targets =
    k_c_hook_count + sizeof k_cxx_hooks / sizeof k_cxx_hooks[0];

HookTarget g_attach_targets[k_attach_targets];
std::size_t g_attach_target_count = 0;
std::uintptr_t g_self_base = 0;
PatchLog g_patch_log;
unsigned long long g_loaded_seen = 0;

int count_adds(dl_phdr_info* info, size_t, void* data) {
    *static_cast<unsigned long long*>(data) = info->dlpi_adds;
    return 1;
}

unsigned long long loader_adds() {
    unsigned long long adds = 0;
    dl_iterate_phdr(count_adds, &adds);
    return adds;
}

}  // namespace

std::size_t leakhunt::agent::attach_redirect(char* msg, std::size_t msg_size) {
    RecursionGuard guard;
    if (!ready()) {
        std::snprintf(msg, msg_size, "cannot find the C library's malloc and free");
        return 0;
    }
    // Our own definitions, by asking our own object (a plain &::malloc here would go through our
    // GOT, which the loader bound to the C library's: we are not in the global scope).
    Dl_info self{};
    if (dladdr(reinterpret_cast<void*>(&attach_rescan), &self) == 0 || self.dli_fname == nullptr) {
        std::snprintf(msg, msg_size, "cannot find the agent's own object");
        return 0;
    }
    g_self_base = reinterpret_cast<std::uintptr_t>(self.dli_fbase);
    void* own = dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (own == nullptr) {
        std::snprintf(msg, msg_size, "cannot open the agent's own object");
        return 0;
    }
    std::size_t n = 0;
    const auto add = [&](const char* name, void* next) {
        void* ours = dlsym(own, name);
        if (ours != nullptr && next != nullptr && ours != next)
            g_attach_targets[n++] = {name, ours, next};
    };
#define LEAKHUNT_ATTACH_TARGET(name, ret, params) add(#name, reinterpret_cast<void*>(g_orig.name));
    LEAKHUNT_C_HOOKS(LEAKHUNT_ATTACH_TARGET)
#undef LEAKHUNT_ATTACH_TARGET
    for (const char* name : k_cxx_hooks) add(name, dlsym(RTLD_DEFAULT, name));
    dlclose(own);  // only drops the count dlopen added (the agent is -z nodelete)
    g_attach_target_count = n;
    g_loaded_seen = loader_adds();
    return redirect_loaded(g_attach_targets, n, g_self_base, g_patch_log);
}

void leakhunt::agent::attach_rescan() {
    if (g_attach_target_count == 0) return;
    const unsigned long long adds = loader_adds();
    if (adds == g_loaded_seen) return;
    g_loaded_seen = adds;
    RecursionGuard guard;
    (void)redirect_loaded(g_attach_targets, g_attach_target_count, g_self_base, g_patch_log);
}

std::size_t leakhunt::agent::attach_restore() {
    const std::size_t n = restore_patches(g_patch_log);
    g_attach_target_count = 0;
    return n;
}

// ---- operator new and delete: every variant ----

namespace {

// Out of memory in operator new: the original runs the new-handler and throws std::bad_alloc.
__attribute__((noinline, cold)) void* new_failed(std::size_t n) {
    return g_orig.new_plain != nullptr ? after_alloc(g_orig.new_plain(n), n) : nullptr;
}

inline void* new_or_throw(std::size_t n) {
    void* p = do_malloc(n == 0 ? 1 : n);
    if (p == nullptr) [[unlikely]]
        return new_failed(n);
    return p;
}

void* new_aligned_or_throw(std::size_t n, std::align_val_t a) {
    void* p = do_aligned(static_cast<std::size_t>(a), n == 0 ? 1 : n);
    if (p == nullptr && g_orig.new_aligned != nullptr) {
        p = after_alloc(g_orig.new_aligned(n, a), n);
    }
    return p;
}

}  // namespace

#define LEAKHUNT_NEW __attribute__((visibility("default")))
LEAKHUNT_NEW void* operator new(size_t n) {
    return new_or_throw(n);
}
LEAKHUNT_NEW void* operator new[](size_t n) {
    return new_or_throw(n);
}
LEAKHUNT_NEW void* operator new(size_t n, const std::nothrow_t&) noexcept {
    return do_malloc(n == 0 ? 1 : n);
}
LEAKHUNT_NEW void* operator new[](size_t n, const std::nothrow_t&) noexcept {
    return do_malloc(n == 0 ? 1 : n);
}
LEAKHUNT_NEW void* operator new(size_t n, std::align_val_t a) {
    return new_aligned_or_throw(n, a);
}
LEAKHUNT_NEW void* operator new[](size_t n, std::align_val_t a) {
    return new_aligned_or_throw(n, a);
}
LEAKHUNT_NEW void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return do_aligned(static_cast<size_t>(a), n == 0 ? 1 : n);
}
LEAKHUNT_NEW void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return do_aligned(static_cast<size_t>(a), n == 0 ? 1 : n);
}
LEAKHUNT_NEW void operator delete(void* p) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete[](void* p) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete(void* p, size_t) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete[](void* p, size_t) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete(void* p, std::align_val_t) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete[](void* p, std::align_val_t) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete(void* p, size_t, std::align_val_t) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete[](void* p, size_t, std::align_val_t) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete(void* p, const std::nothrow_t&) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete[](void* p, const std::nothrow_t&) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    do_free(p);
}
LEAKHUNT_NEW void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
    do_free(p);
}
