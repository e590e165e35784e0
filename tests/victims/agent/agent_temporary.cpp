// Temporary allocations by construction, for the agent's count (heaptrack's definition: a block
// freed before its thread allocates again): `--alone N` blocks allocated and freed at once (N
// temporary), `--pairs M` pairs where a is allocated, then b, then a and b are freed (b is
// temporary, a is not: b was allocated after it), and as many blocks kept until the end (none
// temporary). Two runs with other N and M differ by exactly the difference of N + M.
#include <cstdlib>
#include <vector>

#include "agent_victim_support.hpp"

using leakhunt::victims::agent::escape;
using leakhunt::victims::agent::Flags;

LEAKHUNT_SITE void* temporary_block() {
    void* p = std::malloc(64);
    escape(p);
    return p;
}

int main(int argc, char** argv) {
    Flags flags(std::span<char* const>(argv, static_cast<std::size_t>(argc)),
                "agent_temporary --alone N --pairs M");
    const auto alone = static_cast<long>(flags.number("alone", 1000));
    const auto pairs = static_cast<long>(flags.number("pairs", 500));
    std::vector<void*> kept;
    kept.reserve(static_cast<std::size_t>(alone + pairs));
    for (long i = 0; i < alone; ++i) {
        void* p = temporary_block();
        std::free(p);
        kept.push_back(temporary_block());  // kept: the next allocation is not a temporary's
    }
    for (long i = 0; i < pairs; ++i) {
        void* a = temporary_block();
        void* b = temporary_block();
        std::free(a);
        std::free(b);
    }
    for (void* p : kept) std::free(p);
    return 0;
}
