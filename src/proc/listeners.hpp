// Which local process listens on a TCP port: /proc/net/tcp and tcp6 map a listening socket's port
// to its inode, and the /proc/PID/fd links "socket:[INODE]" map the inode to a process. Used by
// `record --pprof-url` to find a local Go service's PID (and so its RSS) from its URL, and by the
// node capture to find the port of a process's inspector (and to check that the port it connects
// to belongs to that process). Only the processes whose fd directory we may read are found (our
// own user's, or all as root). Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proc/proc_files.hpp"

namespace leakhunt::proc {

// A socket in state LISTEN (0A) of a /proc/net/tcp or tcp6 text.
struct ListeningSocket {
    bool ipv6 = false;
    std::string address;  // "127.0.0.1", "::1", "0.0.0.0", "::", "::ffff:127.0.0.1", ...
    std::uint16_t port = 0;
    std::uint64_t inode = 0;
    // Bound to a loopback address or to every address (0.0.0.0, ::): reachable on loopback.
    bool reachable_on_loopback = false;
};

// The listening sockets of a /proc/net/tcp or tcp6 text (told apart by the address's length);
// lines that do not parse are skipped.
std::vector<ListeningSocket> parse_listening_sockets(std::string_view text);

// Inodes of the sockets listening on `port` in a /proc/net/tcp or tcp6 text (state 0A).
std::vector<std::uint64_t> parse_listening_inodes(std::string_view text, std::uint16_t port);

// The "socket:[INODE]" inodes among the open files of `pid` (empty when it has ended or its fd
// directory cannot be read).
std::vector<std::uint64_t> socket_inodes_of(Pid pid);

// The TCP sockets `pid` listens on: those of its network namespace's tables
// (/proc/PID/net/tcp, tcp6) whose inode is one of its open files. Sorted by inode.
std::vector<ListeningSocket> listening_sockets_of(Pid pid);

// The process that has a socket listening on TCP `port` open, or nullopt when none is found
// (nothing listens, or it belongs to a user whose /proc/PID/fd we cannot read).
std::optional<Pid> find_listener(std::uint16_t port);

}  // namespace leakhunt::proc
