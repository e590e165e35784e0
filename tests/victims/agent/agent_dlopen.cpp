// agent_dlopen: dlopen/dlclose of agent_dlopen_module.so in a loop (default 200 cycles). Each
// cycle calls the module's agent_module_allocate; every 20th block is kept past dlclose (so the
// agent must cope with stacks into an unmapped module), the others are released through the
// module. Flags: --cycles N (default 200), --module PATH (default: the build's module).
// Prints "dlopen: cycles=N kept=K kept_bytes=B" and exits 0; 1 if dlopen or dlsym fails.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent_victim_support.hpp"

#ifndef AGENT_DLOPEN_MODULE_PATH
#error "AGENT_DLOPEN_MODULE_PATH must name agent_dlopen_module.so"
#endif

using leakhunt::victims::agent::escape;

int main(int argc, char** argv) {
    leakhunt::victims::agent::Flags flags(
        {argv, static_cast<std::size_t>(argc)},
        "usage: agent_dlopen [--cycles N=200] [--module PATH=<build>/agent_dlopen_module.so]");
    const unsigned long cycles = flags.count("cycles", 200);
    const std::string module = flags.text("module", AGENT_DLOPEN_MODULE_PATH);
    flags.reject_unknown();

    using Allocate = void* (*)(std::size_t);
    using Release = void (*)(void*);
    unsigned long kept = 0;
    std::size_t kept_bytes = 0;
    for (unsigned long i = 0; i < cycles; ++i) {
        void* handle = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            std::fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        // POSIX: dlsym returns void*, converted to a function pointer (conditionally supported).
        auto allocate = reinterpret_cast<Allocate>(dlsym(handle, "agent_module_allocate"));
        auto release = reinterpret_cast<Release>(dlsym(handle, "agent_module_release"));
        if (allocate == nullptr || release == nullptr) {
            std::fprintf(stderr, "dlsym: %s\n", dlerror());
            return 1;
        }
        const std::size_t size = 256 + i;
        void* block = allocate(size);
        if (i % 20 == 0) {
            escape(block);  // outlives the module: a leak whose frames are unmapped
            ++kept;
            kept_bytes += size;
        } else {
            release(block);
        }
        if (dlclose(handle) != 0) {
            std::fprintf(stderr, "dlclose: %s\n", dlerror());
            return 1;
        }
    }
    std::printf("dlopen: cycles=%lu kept=%lu kept_bytes=%zu\n", cycles, kept, kept_bytes);
    return 0;
}
