// The module agent_dlopen loads and unloads: it allocates in its constructor, frees in its
// destructor and exports agent_module_allocate/agent_module_release. Blocks allocated by
// agent_module_allocate may outlive the module (the victim keeps some after dlclose), so the
// agent must symbolize stacks whose frames point into a module that is no longer mapped.
#include <cstdlib>
#include <cstring>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;

namespace {

void* g_constructor_block = nullptr;

}  // namespace

LEAKHUNT_SITE void* module_site_allocate(std::size_t size) {
    void* block = std::malloc(size);
    if (block == nullptr) std::abort();
    std::memset(block, 0x77, size);
    escape(block);
    return block;
}

__attribute__((constructor)) static void module_constructor() {
    g_constructor_block = module_site_allocate(1024);
}

__attribute__((destructor)) static void module_destructor() {
    std::free(g_constructor_block);
    g_constructor_block = nullptr;
}

extern "C" __attribute__((visibility("default"))) void* agent_module_allocate(std::size_t size) {
    void* block = module_site_allocate(size);
    escape(block);
    return block;
}

extern "C" __attribute__((visibility("default"))) void agent_module_release(void* block) {
    std::free(block);
}
