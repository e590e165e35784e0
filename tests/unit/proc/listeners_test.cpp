// Tests for parse_listening_inodes (/proc/net/tcp text) and find_listener on a socket of ours.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/loopback_socket.hpp"
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

TEST(ParseListeningSockets, AddressesAndLoopbackReach) {
    const std::string v4 =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode\n"
        "   0: 0100007F:2405 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
        "0 11 1 0000000000000000 100 0 0 10 0\n"
        "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
        "0 12 1 0000000000000000 100 0 0 10 0\n"
        "   2: 0A00000A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        "
        "0 13 1 0000000000000000 100 0 0 10 0\n";
    const auto s4 = parse_listening_sockets(v4);
    ASSERT_EQ(s4.size(), 3u);
    EXPECT_EQ(s4[0].address, "127.0.0.1");
    EXPECT_EQ(s4[0].port, 9221);
    EXPECT_EQ(s4[0].inode, 11u);
    EXPECT_FALSE(s4[0].ipv6);
    EXPECT_TRUE(s4[0].reachable_on_loopback);
    EXPECT_EQ(s4[1].address, "0.0.0.0");
    EXPECT_TRUE(s4[1].reachable_on_loopback);
    EXPECT_EQ(s4[2].address, "10.0.0.10");
    EXPECT_FALSE(s4[2].reachable_on_loopback);

    const std::string v6 =
        "  sl  local_address                         remote_address                        st "
        "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:2405 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 21 1 0000000000000000 100 0 0 10 0\n"
        "   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 22 1 0000000000000000 100 0 0 10 0\n"
        "   2: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 23 1 0000000000000000 100 0 0 10 0\n"
        "   3: 000080FE00000000FF005450B6AD1DFE:0052 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000     0        0 24 1 0000000000000000 100 0 0 10 "
        "0\n";
    const auto s6 = parse_listening_sockets(v6);
    ASSERT_EQ(s6.size(), 4u);
    EXPECT_TRUE(s6[0].ipv6);
    EXPECT_EQ(s6[0].address, "::1");
    EXPECT_TRUE(s6[0].reachable_on_loopback);
    EXPECT_EQ(s6[1].address, "::");
    EXPECT_TRUE(s6[1].reachable_on_loopback);
    EXPECT_EQ(s6[2].address, "::ffff:127.0.0.1");
    EXPECT_TRUE(s6[2].reachable_on_loopback);
    EXPECT_EQ(s6[3].address, "fe80::5054:ff:fe1d:adb6");
    EXPECT_FALSE(s6[3].reachable_on_loopback);
}

TEST(ListeningSocketsOf, FindsOnlyThisProcessesSockets) {
    testing::LoopbackSocket socket(testing::LoopbackSocket::Mode::listening);
    const auto mine = listening_sockets_of(::getpid());
    socket.close();
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].port, socket.port());
    EXPECT_EQ(mine[0].address, "127.0.0.1");
    EXPECT_TRUE(listening_sockets_of(::getpid()).empty());
}

TEST(FindListener, FindsThisProcess) {
    testing::LoopbackSocket socket(testing::LoopbackSocket::Mode::listening);
    const auto pid = find_listener(socket.port());
    socket.close();
    EXPECT_EQ(pid, ::getpid());
}

}  // namespace leakhunt::proc
