// Tests for the inspector client's guards that need no inspector: loopback only, and a port
// where nothing listens is one clear error, not a hang.
#include <gtest/gtest.h>

#include "capture/node/cdp_client.hpp"
#include "common/loopback_socket.hpp"
#include "util/error.hpp"

namespace leakhunt::capture::node {
namespace {

using std::chrono::milliseconds;

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const util::Error& e) {
        return e.what();
    }
    return "";
}

TEST(ListTargets, RefusesAddressesOffLoopback) {
    for (const char* address :
         {"10.0.0.1", "0.0.0.0", "::", "fe80::1", "localhost", "127.0.0.1 "}) {
        const std::string why = error_of([&] { list_targets({address, 9229}, milliseconds(200)); });
        EXPECT_NE(why.find("is not a loopback address"), std::string::npos)
            << address << ": " << why;
    }
    const std::string why = error_of([&] {
        CdpSession({"192.168.1.1", 9229}, "/x", milliseconds(200));
    });
    EXPECT_NE(why.find("is not a loopback address"), std::string::npos) << why;
}

TEST(ListTargets, ClosedPortIsOneError) {
    testing::LoopbackSocket socket(testing::LoopbackSocket::Mode::bound);
    const auto port = socket.port();
    socket.close();  // bound, never listened: nothing answers there now
    const std::string why = error_of([&] {
        list_targets({"127.0.0.1", port}, milliseconds(2000));
    });
    EXPECT_NE(why.find("cannot connect to the inspector at 127.0.0.1:"), std::string::npos) << why;
}

TEST(ListTargets, SilentPeerTimesOut) {
    // Listens but never answers: the wait ends at the timeout.
    testing::LoopbackSocket socket(testing::LoopbackSocket::Mode::listening);
    const std::string why = error_of([&] {
        list_targets({"127.0.0.1", socket.port()}, milliseconds(300));
    });
    EXPECT_NE(why.find("no reply within 0.3 s"), std::string::npos) << why;
}

TEST(ShortText, CutsLongText) {
    EXPECT_EQ(short_text("abc", 5), "abc");
    EXPECT_EQ(short_text("abcdefgh", 5), "abcde...");
}

}  // namespace
}  // namespace leakhunt::capture::node
