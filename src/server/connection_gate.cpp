// The gate: waiting for request heads without workers, and the stream the workers parse.
#include "server/connection_gate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <vector>

namespace leakhunt::server {
namespace {

using Clock = std::chrono::steady_clock;

int millis_until(Clock::time_point t) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 60000));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, millis_until(deadline));
        if (r < 0 && errno == EINTR) continue;
        return r == 1 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
    }
}

void address_of(const sockaddr_storage& a, std::string& ip, int& port) {
    char text[INET6_ADDRSTRLEN] = "";
    if (a.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
        ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
        port = ntohs(v4.sin_port);
    } else if (a.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
        ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        port = ntohs(v6.sin6_port);
    }
    ip = text;
}

// What httplib's parser reads and writes through for one request: first the bytes the gate
// read ahead, then the socket, all of it before the request's deadline; writes before the
// response's deadline. Bytes left unread (a pipelined next request) stay in `buffered`.
class ConnectionStream final : public httplib::Stream {
  public:
    ConnectionStream(GatedServer::Connection& c, const GateLimits& limits)
        : m_c(c),
          m_read_deadline(Clock::now() + limits.request_timeout),
          m_write_budget(limits.response_timeout) {}

    bool is_readable() const override {
        return m_offset < m_c.buffered.size() || wait_for(m_c.fd, POLLIN, m_read_deadline);
    }
    bool is_writable() const override { return wait_for(m_c.fd, POLLOUT, write_deadline()); }
    ssize_t read(char* ptr, size_t size) override {
        if (m_offset < m_c.buffered.size()) {
            const size_t n = std::min(size, m_c.buffered.size() - m_offset);
            std::memcpy(ptr, m_c.buffered.data() + m_offset, n);
            m_offset += n;
            return static_cast<ssize_t>(n);
        }
        if (!wait_for(m_c.fd, POLLIN, m_read_deadline)) return -1;
        ssize_t n;
        do {
            n = ::recv(m_c.fd, ptr, size, MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        return n;
    }
    ssize_t write(const char* ptr, size_t size) override {
        size_t done = 0;
        while (done < size) {
            if (!wait_for(m_c.fd, POLLOUT, write_deadline())) return -1;
            const ssize_t n = ::send(m_c.fd, ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n < 0) return -1;
            done += static_cast<size_t>(n);
        }
        return static_cast<ssize_t>(done);
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = m_c.ip;
        port = m_c.port;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        ip.clear();
        port = 0;
        if (::getsockname(m_c.fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
            address_of(a, ip, port);
        }
    }
    socket_t socket() const override { return m_c.fd; }

    // Drops the bytes the parser consumed from the read-ahead buffer.
    void keep_unread() { m_c.buffered.erase(0, m_offset); }

  private:
    // The response's time starts with its first write.
    Clock::time_point write_deadline() const {
        if (!m_write_started) {
            m_write_started = true;
            m_write_deadline = Clock::now() + m_write_budget;
        }
        return m_write_deadline;
    }

    GatedServer::Connection& m_c;
    size_t m_offset = 0;
    Clock::time_point m_read_deadline;
    std::chrono::milliseconds m_write_budget;
    mutable bool m_write_started = false;
    mutable Clock::time_point m_write_deadline{};
};

void close_fd(int fd) {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
}

}  // namespace

GatedServer::GatedServer(GateLimits limits) : m_limits(limits) {
    // Room for the connections below the descriptor limit (a descriptor each, plus files).
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
        m_limits.max_connections =
            std::min<std::size_t>(m_limits.max_connections, nofile.rlim_cur / 2);
    }
    m_limits.max_connections = std::max<std::size_t>(m_limits.max_connections, 4);
    m_limits.per_client = std::min(m_limits.per_client, m_limits.max_connections);
    m_wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

GatedServer::~GatedServer() {
    if (m_wake >= 0) ::close(m_wake);
}

void GatedServer::stop_serving() {
    m_stop.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(m_wake, &one, sizeof one);
}

void GatedServer::hand_back(Connection c) {
    {
        std::lock_guard lock(m_mutex);
        m_returned.push_back(std::move(c));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(m_wake, &one, sizeof one);
}

void GatedServer::answer(Connection c) {
    bool closed = false;
    bool ok = false;
    {
        ConnectionStream stream(c, m_limits);
        ok = process_request(stream, m_stop.load(), closed, nullptr);
        stream.keep_unread();
    }
    c.keep = ok && !closed && !m_stop.load();
    hand_back(std::move(c));
}

bool GatedServer::serve() {
    const int listen_fd = svr_sock_;
    if (listen_fd < 0 || m_wake < 0) return false;
    // Non-blocking: a connection reset between poll() and accept() must not block the gate.
    ::fcntl(listen_fd, F_SETFL, ::fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    m_pool = std::make_unique<httplib::ThreadPool>(m_limits.workers);
    // Connections waiting for a request head, oldest first; and the open ones per client.
    std::list<Connection> waiting;
    std::map<std::string, std::size_t> open_per_client;
    std::size_t open = 0;
    bool ok = true;
    Clock::time_point accept_paused_until{};

    const auto drop = [&](const Connection& c) {
        close_fd(c.fd);
        --open;
        if (--open_per_client[c.ip] == 0) open_per_client.erase(c.ip);
    };
    // Frees a place by closing the oldest waiting connection (of `ip` only, when given).
    const auto evict_oldest = [&](const std::string* ip) {
        for (auto it = waiting.begin(); it != waiting.end(); ++it) {
            if (ip == nullptr || it->ip == *ip) {
                drop(*it);
                waiting.erase(it);
                return true;
            }
        }
        return false;
    };
    const auto accept_one = [&] {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&a), &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                if (!evict_oldest(nullptr)) {
                    accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
                }
                return;
            }
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED && errno != EPERM) {
                ok = false;
            }
            return;
        }
        Connection c;
        c.fd = fd;
        address_of(a, c.ip, c.port);
        if (open >= m_limits.max_connections && !evict_oldest(nullptr)) return close_fd(fd);
        if (open_per_client[c.ip] >= m_limits.per_client && !evict_oldest(&c.ip)) {
            if (open_per_client[c.ip] == 0) open_per_client.erase(c.ip);
            return close_fd(fd);
        }
        ++open;
        ++open_per_client[c.ip];
        c.deadline = Clock::now() + m_limits.request_timeout;
        waiting.push_back(std::move(c));
    };
    const auto head_complete = [](const std::string& b) {
        return b.find("\r\n\r\n") != std::string::npos || b.find("\n\n") != std::string::npos;
    };
    const auto dispatch = [&](Connection c) {
        m_pool->enqueue([this, conn = std::move(c)]() mutable { answer(std::move(conn)); });
    };

    std::vector<pollfd> fds;
    while (!m_stop.load() && ok) {
        fds.clear();
        const bool accepting = Clock::now() >= accept_paused_until;
        fds.push_back({m_wake, POLLIN, 0});
        fds.push_back({accepting ? listen_fd : -1, POLLIN, 0});
        int timeout = accepting ? 60000 : millis_until(accept_paused_until);
        for (const auto& c : waiting) {
            fds.push_back({c.fd, POLLIN, 0});
            timeout = std::min(timeout, millis_until(c.deadline));
        }
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            ok = false;
            break;
        }
        if ((fds[0].revents & POLLIN) != 0) {
            std::uint64_t n = 0;
            [[maybe_unused]] const ssize_t r = ::read(m_wake, &n, sizeof n);
            std::deque<Connection> back;
            {
                std::lock_guard lock(m_mutex);
                back.swap(m_returned);
            }
            for (auto& c : back) {
                if (!c.keep) {
                    drop(c);
                } else if (head_complete(c.buffered)) {
                    dispatch(std::move(c));  // a pipelined request, already here
                } else {
                    c.deadline = Clock::now() + m_limits.request_timeout;
                    waiting.push_back(std::move(c));
                }
            }
        }
        if (m_stop.load()) break;
        // The waiting connections polled above are the first fds.size() - 2 of `waiting` (new
        // ones are appended after them).
        const auto now = Clock::now();
        auto it = waiting.begin();
        for (size_t i = 2; i < fds.size(); ++i) {
            Connection& c = *it;
            bool gone = false;
            bool ready = false;
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                char buf[4096];
                const size_t room = m_limits.max_head_bytes - c.buffered.size();
                const ssize_t n = ::recv(c.fd, buf, std::min(room, sizeof buf), MSG_DONTWAIT);
                if (n > 0) {
                    c.buffered.append(buf, static_cast<size_t>(n));
                    ready = head_complete(c.buffered);
                    // A head larger than any browser sends: answered by nobody, dropped.
                    gone = !ready && c.buffered.size() >= m_limits.max_head_bytes;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    gone = true;
                }
            }
            if (!ready && !gone && now >= c.deadline) gone = true;  // too slow: slowloris
            if (ready) {
                dispatch(std::move(c));
                it = waiting.erase(it);
            } else if (gone) {
                drop(c);
                it = waiting.erase(it);
            } else {
                ++it;
            }
        }
        if ((fds[1].revents & POLLIN) != 0) accept_one();
    }

    for (const auto& c : waiting) drop(c);
    waiting.clear();
    m_pool->shutdown();  // the workers finish the requests they have
    m_pool.reset();
    {
        std::lock_guard lock(m_mutex);
        for (const auto& c : m_returned) close_fd(c.fd);
        m_returned.clear();
    }
    const int sock = svr_sock_.exchange(INVALID_SOCKET);
    if (sock >= 0) close_fd(sock);
    return ok;
}

}  // namespace leakhunt::server
