// Tests for parse_listening_inodes (/proc/net/tcp text) and find_listener on a socket of ours.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc/listeners.hpp"

namespace leakhunt::proc {

TEST(ParseListeningInodes, OnlyListenStateOnThePort) {
    const std::string text =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:17AC 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        "
        "0 4242 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:17AC 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        "
        "0 4343 1 0000000000000000 20 4 30 10 -1\n"
        "   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
        "0 99 1 0000000000000000 100 0 0 10 0\n"
        "garbage\n";
    EXPECT_EQ(parse_listening_inodes(text, 6060), (std::vector<std::uint64_t>{4242}));
    EXPECT_EQ(parse_listening_inodes(text, 80), (std::vector<std::uint64_t>{99}));
    EXPECT_TRUE(parse_listening_inodes(text, 81).empty());
}

TEST(FindListener, FindsThisProcess) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const auto pid = find_listener(ntohs(addr.sin_port));
    ::close(fd);
    EXPECT_EQ(pid, ::getpid());
}

}  // namespace leakhunt::proc
