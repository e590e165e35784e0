// The module agent_deepbind opens with RTLD_DEEPBIND: it frees the blocks the program allocated,
// half through a direct call (a lazily bound PLT slot) and half through a function pointer the
// code loads from the GOT (a GLOB_DAT slot). With deep binding both resolve to the C library's free
// first, past the preloaded agent, unless the agent patched them.
#include <cstddef>
#include <cstdlib>

extern "C" __attribute__((visibility("default"))) void deepbind_release(void** blocks,
                                                                        std::size_t count) {
    void (*volatile free_pointer)(void*) = &std::free;
    for (std::size_t i = 0; i < count; ++i) {
        if (i % 2 == 0) {
            std::free(blocks[i]);
        } else {
            free_pointer(blocks[i]);
        }
        blocks[i] = nullptr;
    }
}
