// Libraries opened with RTLD_DEEPBIND look symbols up in their own dependency scope before the
// global one, so their calls to malloc and free bind to the C library's and bypass the preloaded
// agent (a free there leaves a stale record: the profile shows blocks in use that were freed).
// After such a dlopen, redirect_deep_bound points the relocated slots (GOT and PLT GOT) of the
// opened object that bind an allocation function to the allocator the agent wraps, at the
// agent's function instead, as heaptrack's and memray's injectors patch a library's GOT. Only
// slots whose target is exactly the allocator the agent forwards to are changed, so a library
// that brings its own allocator keeps it. x86-64 (RELA, JUMP_SLOT/GLOB_DAT); elsewhere nothing is
// patched. Not thread-safe against a concurrent dlclose of the same handle (as dlsym is not).
#pragma once

#include <cstddef>
#include <cstdint>

namespace leakhunt::agent {

struct HookTarget {
    const char* name;  // the symbol, e.g. "free"
    void* ours;        // the agent's replacement
    void* next;        // the function the agent forwards to (dlsym RTLD_NEXT)
};

// For the object `handle` (from dlopen) and the objects loaded after it: slots bound to a
// target's `next` now hold its `ours`; unresolved lazy slots of the opened object itself are
// patched where dlsym(handle, name) is that `next`. Returns the number of slots patched.
std::size_t redirect_deep_bound(void* handle, const HookTarget* targets, std::size_t count);

// The slots an attach patched, to be put back at detach: mmap'd, appended to by one thread at a
// time (the attach, then the writer thread's rescans).
struct PatchLog {
    struct Entry {
        void** slot;
        void* old_value;
        void* new_value;
        bool read_only;  // inside PT_GNU_RELRO
    };
    Entry* entries = nullptr;
    std::size_t count = 0;
    std::size_t capacity = 0;
};

// An agent dlopen'ed into a running process (`record --pid`): the same redirection in every
// loaded object except `skip_base`'s (the agent's own load address), lazy slots included where
// the global scope binds the name to `next`. Idempotent: a slot already patched no longer holds
// `next`, so a rescan (after the program loaded more objects) changes only the new ones. Each
// change is appended to `log`. Not thread-safe against itself.
std::size_t redirect_loaded(const HookTarget* targets, std::size_t count, std::uintptr_t skip_base,
                            PatchLog& log);
// Puts back every slot in `log` that still holds what the attach stored; returns how many.
std::size_t restore_patches(const PatchLog& log);

}  // namespace leakhunt::agent
