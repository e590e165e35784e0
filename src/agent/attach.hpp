// An agent dlopen'ed into a running process (`leakhunt record --pid`, through a debugger): no
// LD_PRELOAD put its allocation functions first, so the loaded objects' GOT and PLT slots that
// bind them (the C functions and every operator new and delete) are pointed at the agent's, and
// put back at detach. Blocks allocated before the attach are unknown to the agent; their frees
// find no record and go to the allocator untouched. Called on one thread at a time (the attach
// request, then the writer thread). The agent itself stays mapped after detach (-z nodelete).
#pragma once

#include <cstddef>

namespace leakhunt::agent {

// Resolves the allocator the agent forwards to and patches every loaded object but the agent.
// Returns the number of slots patched; 0 with `msg` set if the allocator cannot be found.
std::size_t attach_redirect(char* msg, std::size_t msg_size);
// Patches objects loaded since the last call (cheap when none were: the loader's counter).
void attach_rescan();
// Puts every patched slot back; returns how many.
std::size_t attach_restore();
// The detach request (control socket, writer thread): the last snapshot (reason "detach"), the
// slots put back, recording off. `msg` gets the snapshot's path (or the error) and
// " restored=N". False if the agent was not attached or the snapshot failed.
bool detach_agent(char* msg, std::size_t msg_size);

}  // namespace leakhunt::agent
