// /proc/net/tcp{,6} lines: "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout
// inode ...", the local address as HEXIP:HEXPORT; state 0A is LISTEN (include/net/tcp_states.h).
#include "proc/listeners.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "util/file.hpp"

namespace leakhunt::proc {
namespace fs = std::filesystem;

namespace {

bool parse_hex_u32(std::string_view hex, std::uint32_t& out) {
    const char* end = hex.data() + hex.size();
    return hex.size() == 8 && std::from_chars(hex.data(), end, out, 16).ptr == end;
}

// The kernel prints each 32-bit word of the address as it lies in memory, read as a host
// integer (net/ipv4/tcp_ipv4.c, get_tcp4_sock: "%08X"): copying the words back gives the bytes.
// IPv4 (tcp) addresses have 8 hex digits, IPv6 (tcp6) ones 32.
bool parse_address(std::string_view hex, ListeningSocket& s) {
    if (hex.size() != 8 && hex.size() != 32) return false;
    const bool ipv6 = hex.size() == 32;
    s.ipv6 = ipv6;
    const size_t words = ipv6 ? 4 : 1;
    unsigned char bytes[16] = {};
    for (size_t i = 0; i < words; ++i) {
        std::uint32_t w = 0;
        if (!parse_hex_u32(hex.substr(i * 8, 8), w)) return false;
        std::memcpy(bytes + i * 4, &w, 4);
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (::inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, text, sizeof text) == nullptr) return false;
    s.address = text;
    if (!ipv6) {
        s.reachable_on_loopback =
            bytes[0] == 127 || (bytes[0] | bytes[1] | bytes[2] | bytes[3]) == 0;
        return true;
    }
    static constexpr unsigned char k_any[16] = {};
    static constexpr unsigned char k_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr unsigned char k_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    s.reachable_on_loopback = std::memcmp(bytes, k_any, 16) == 0 ||
                              std::memcmp(bytes, k_loopback, 16) == 0 ||
                              (std::memcmp(bytes, k_mapped, 12) == 0 && bytes[12] == 127);
    return true;
}

}  // namespace

std::vector<ListeningSocket> parse_listening_sockets(std::string_view text) {
    std::vector<ListeningSocket> sockets;
    std::istringstream in{std::string(text)};
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
              timeout >> inode)) {
            continue;
        }
        if (state != "0A") continue;
        const size_t colon = local.rfind(':');
        if (colon == std::string::npos) continue;
        ListeningSocket s;
        unsigned p = 0;
        const char* begin = local.data() + colon + 1;
        const char* end = local.data() + local.size();
        if (std::from_chars(begin, end, p, 16).ptr != end || p > 0xffff) continue;
        s.port = static_cast<std::uint16_t>(p);
        if (std::from_chars(inode.data(), inode.data() + inode.size(), s.inode).ptr !=
                inode.data() + inode.size() ||
            s.inode == 0) {
            continue;
        }
        if (!parse_address(std::string_view(local).substr(0, colon), s)) continue;
        sockets.push_back(std::move(s));
    }
    return sockets;
}

std::vector<std::uint64_t> parse_listening_inodes(std::string_view text, std::uint16_t port) {
    std::vector<std::uint64_t> inodes;
    for (const auto& s : parse_listening_sockets(text)) {
        if (s.port == port) inodes.push_back(s.inode);
    }
    return inodes;
}

std::vector<std::uint64_t> socket_inodes_of(Pid pid) {
    std::vector<std::uint64_t> inodes;
    std::error_code ec;
    for (const auto& fd :
         fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "fd", ec)) {
        std::error_code link_ec;
        const std::string target = fs::read_symlink(fd.path(), link_ec).string();
        if (link_ec || !target.starts_with("socket:[") || !target.ends_with("]")) continue;
        std::uint64_t n = 0;
        const char* begin = target.data() + 8;
        const char* end = target.data() + target.size() - 1;
        if (std::from_chars(begin, end, n).ptr == end) inodes.push_back(n);
    }
    std::sort(inodes.begin(), inodes.end());
    return inodes;
}

std::vector<ListeningSocket> listening_sockets_of(Pid pid) {
    const std::vector<std::uint64_t> mine = socket_inodes_of(pid);
    std::vector<ListeningSocket> found;
    const fs::path net = fs::path("/proc") / std::to_string(pid) / "net";
    for (const char* table : {"tcp", "tcp6"}) {
        const auto text = util::try_read_file(net / table);
        if (!text) continue;
        for (auto& s : parse_listening_sockets(*text)) {
            if (std::binary_search(mine.begin(), mine.end(), s.inode))
                found.push_back(std::move(s));
        }
    }
    std::sort(found.begin(), found.end(),
              [](const ListeningSocket& a, const ListeningSocket& b) { return a.inode < b.inode; });
    return found;
}

std::optional<Pid> find_listener(std::uint16_t port) {
    std::vector<std::string> wanted;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        if (auto text = util::try_read_file(table)) {
            for (std::uint64_t inode : parse_listening_inodes(*text, port))
                wanted.push_back("socket:[" + std::to_string(inode) + "]");
        }
    }
    if (wanted.empty()) return std::nullopt;
    std::error_code ec;
    for (const auto& proc : fs::directory_iterator("/proc", ec)) {
        const std::string name = proc.path().filename().string();
        Pid pid = 0;
        if (std::from_chars(name.data(), name.data() + name.size(), pid).ptr !=
            name.data() + name.size()) {
            continue;
        }
        std::error_code fd_ec;
        for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
            std::error_code link_ec;
            const std::string target = fs::read_symlink(fd.path(), link_ec).string();
            if (link_ec) continue;
            for (const auto& w : wanted) {
                if (target == w) return pid;
            }
        }
    }
    return std::nullopt;
}

}  // namespace leakhunt::proc
