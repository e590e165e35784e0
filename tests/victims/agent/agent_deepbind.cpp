// agent_deepbind: 1,000 blocks allocated by the program (deepbind_site_alloc) are freed where
// the agent's free is bypassed, then the program waits for a snapshot and ends. --mode says how:
//   deepbind  the module agent_deepbind_module, opened with RTLD_DEEPBIND (absolute path, or
//             --module PATH), frees them: its free binds to the C library's first
//   bypass    the program calls the C library's free directly (found with dlsym on libc.so.6),
//             then allocates 1,000 blocks of the same size again (deepbind_site_again), which the
//             allocator serves from the freed ones
//   runpath   dlopen()s the module by its bare file name, plainly and with RTLD_DEEPBIND: only
//             the program's own DT_RUNPATH (the module's directory) finds it, so an interposed
//             dlopen must keep the caller's return address; prints "deepbind: mode=runpath
//             found=2" and frees nothing
// Otherwise prints "deepbind: mode=MODE freed=1000" and exits 0. Under the agent in full mode the
// allocation site deepbind_site_alloc must show nothing in use at exit.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

#ifndef AGENT_DEEPBIND_MODULE_PATH
#define AGENT_DEEPBIND_MODULE_PATH ""
#endif

constexpr std::size_t k_blocks = 1000;

LEAKHUNT_SITE void* deepbind_site_alloc(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x5d, size);
    escape(block);
    return block;
}

LEAKHUNT_SITE void* deepbind_site_again(std::size_t size) {
    return deepbind_site_alloc(size);
}

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags(
        {argv, static_cast<std::size_t>(argc)},
        "usage: agent_deepbind --mode deepbind|bypass|runpath [--module PATH]");
    const std::string mode = flags.text("mode", "deepbind");
    const std::string module = flags.text("module", AGENT_DEEPBIND_MODULE_PATH);
    flags.reject_unknown();

    if (mode == "runpath") {
        int found = 0;
        for (int how : {RTLD_NOW, RTLD_NOW | RTLD_DEEPBIND}) {
            if (dlopen("libagent_deepbind_module.so", how) != nullptr) ++found;
        }
        std::printf("deepbind: mode=runpath found=%d\n", found);
        return 0;
    }
    void* blocks[k_blocks];
    for (std::size_t i = 0; i < k_blocks; ++i) blocks[i] = deepbind_site_alloc(48);
    if (mode == "deepbind") {
        void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_DEEPBIND);
        if (handle == nullptr) {
            std::fprintf(stderr, "agent_deepbind: %s\n", dlerror());
            return 1;
        }
        auto release =
            reinterpret_cast<void (*)(void**, std::size_t)>(dlsym(handle, "deepbind_release"));
        if (release == nullptr) return 1;
        release(blocks, k_blocks);
    } else if (mode == "bypass") {
        void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        auto libc_free =
            reinterpret_cast<void (*)(void*)>(libc != nullptr ? dlsym(libc, "free") : nullptr);
        if (libc_free == nullptr) return 1;
        // Reserved first: a large request in between would make glibc merge the freed chunks.
        std::vector<void*> again;
        again.reserve(k_blocks);
        for (void*& b : blocks) libc_free(b);
        for (std::size_t i = 0; i < k_blocks; ++i) again.push_back(deepbind_site_again(48));
        for (void* b : again) std::free(b);
    } else {
        std::fprintf(stderr, "error: unknown --mode %s\n", mode.c_str());
        return 2;
    }
    std::printf("deepbind: mode=%s freed=%zu\n", mode.c_str(), k_blocks);
    return 0;
}
