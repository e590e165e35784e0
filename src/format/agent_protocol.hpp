// What the agent and the CLI agree on besides pprof: the control socket's address (an abstract
// unix socket named after the process) and the timeline file's columns. Header-only, libc only.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdio>

namespace leakhunt::format {

// Requests (one line): "snapshot", "snapshot scan", "status", "detach" (an agent attached with
// `record --pid`: last snapshot, slots put back, recording off). Replies (one line): "ok ..." or
// "error ...".
// Fills `addr` with the abstract address "\0leakhunt-agent.<pid>" and returns its length.
inline socklen_t control_socket_address(sockaddr_un& addr, int pid) {
    addr = sockaddr_un{};
    addr.sun_family = AF_UNIX;
    const int len =
        std::snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "leakhunt-agent.%d", pid);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                  static_cast<std::size_t>(len));
}

// timeline.<pid>.csv: one row per snapshot, a series CSV that `leakhunt classify` reads.
inline constexpr char k_timeline_header[] =
    "timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,agent_bytes,reason,snapshot\n";
// The agent's timeline in full mode (`record --all`): one counter more, the temporary
// allocations so far (heaptrack's: freed before their thread allocated again).
inline constexpr char k_timeline_full_header[] =
    "timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,agent_bytes,reason,snapshot,"
    "temporary_allocations\n";

}  // namespace leakhunt::format
