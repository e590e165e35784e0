// Which local process listens on a TCP port: /proc/net/tcp and tcp6 map a listening socket's port
// to its inode, and the /proc/PID/fd links "socket:[INODE]" map the inode to a process. Used by
// `record --pprof-url` to find a local Go service's PID (and so its RSS) from its URL. Only the
// processes whose fd directory we may read are found (our own user's, or all as root).
// Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "proc/proc_files.hpp"

namespace leakhunt::proc {

// Inodes of the sockets listening on `port` in a /proc/net/tcp or tcp6 text (state 0A).
std::vector<std::uint64_t> parse_listening_inodes(std::string_view text, std::uint16_t port);

// The process that has a socket listening on TCP `port` open, or nullopt when none is found
// (nothing listens, or it belongs to a user whose /proc/PID/fd we cannot read).
std::optional<Pid> find_listener(std::uint16_t port);

}  // namespace leakhunt::proc
