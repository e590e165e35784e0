// A TCP socket on 127.0.0.1 with a port the kernel chose, for unit tests that need a peer on
// loopback: bound only (nothing answers: a closed port once released), or listening (accepts
// connections into the backlog, never answers). Closed when it goes out of scope.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace leakhunt::testing {

class LoopbackSocket {
  public:
    enum class Mode { bound, listening };
    explicit LoopbackSocket(Mode mode) : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (m_fd < 0) throw std::runtime_error("LoopbackSocket: socket() failed");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
            (mode == Mode::listening && ::listen(m_fd, 1) != 0) ||
            ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            ::close(m_fd);
            throw std::runtime_error("LoopbackSocket: bind/listen on 127.0.0.1 failed");
        }
        m_port = ntohs(addr.sin_port);
    }
    ~LoopbackSocket() { close(); }
    LoopbackSocket(const LoopbackSocket&) = delete;
    LoopbackSocket& operator=(const LoopbackSocket&) = delete;

    uint16_t port() const { return m_port; }
    // Closes now (the port then has nothing behind it); idempotent.
    void close() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }

  private:
    int m_fd;
    uint16_t m_port = 0;
};

}  // namespace leakhunt::testing
