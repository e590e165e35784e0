// /proc/net/tcp{,6} lines: "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout
// inode ...", the local address as HEXIP:HEXPORT; state 0A is LISTEN (include/net/tcp_states.h).
#include "proc/listeners.hpp"

#include <charconv>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "util/file.hpp"

namespace leakhunt::proc {
namespace fs = std::filesystem;

std::vector<std::uint64_t> parse_listening_inodes(std::string_view text, std::uint16_t port) {
    std::vector<std::uint64_t> inodes;
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
        unsigned p = 0;
        const char* begin = local.data() + colon + 1;
        const char* end = local.data() + local.size();
        if (std::from_chars(begin, end, p, 16).ptr != end || p != port) continue;
        std::uint64_t n = 0;
        if (std::from_chars(inode.data(), inode.data() + inode.size(), n).ptr ==
                inode.data() + inode.size() &&
            n != 0) {
            inodes.push_back(n);
        }
    }
    return inodes;
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
